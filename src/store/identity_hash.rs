//! The identity hash that leads every search parameter index on PostgreSQL: one
//! 64-bit value for (tenant, resource type, parameter) in place of those three
//! text columns (migration `2026-11-27-000090_search_identity_hash`).
//!
//! It is PostgreSQL's own `hashtextextended(tenant || '|' || res_type || '|' ||
//! param, 0)`: the column was first a generated column with that expression, and
//! the rows stored then keep their values. The server now computes it (migration
//! `2026-11-27-000120`), because PostgreSQL rebuilt the generated expression at
//! the start of every INSERT into an index table — about 4% of its CPU per HL7
//! admission (BENCHMARKS.md, issue 4). So this is a port of `hash_bytes_extended`
//! (`src/common/hashfn.c`, Bob Jenkins' lookup3) with a zero seed, and a test holds
//! it to PostgreSQL's answers.

/// `hashtextextended(tenant || '|' || res_type || '|' || param, 0)`.
pub fn identity_hash(tenant: &str, res_type: &str, param: &str) -> i64 {
    let mut key = Vec::with_capacity(tenant.len() + res_type.len() + param.len() + 2);
    key.extend_from_slice(tenant.as_bytes());
    key.push(b'|');
    key.extend_from_slice(res_type.as_bytes());
    key.push(b'|');
    key.extend_from_slice(param.as_bytes());
    hash_bytes_extended(&key)
}

/// PostgreSQL's `hash_bytes_extended(k, len, 0)` on a little-endian machine (its
/// word-at-a-time and byte-at-a-time paths agree there), as a BIGINT.
fn hash_bytes_extended(key: &[u8]) -> i64 {
    let initial = 0x9e37_79b9_u32
        .wrapping_add(key.len() as u32)
        .wrapping_add(3_923_095);
    let (mut a, mut b, mut c) = (initial, initial, initial);
    let mut chunks = key.chunks_exact(12);
    for chunk in &mut chunks {
        a = a.wrapping_add(word(&chunk[0..4]));
        b = b.wrapping_add(word(&chunk[4..8]));
        c = c.wrapping_add(word(&chunk[8..12]));
        mix(&mut a, &mut b, &mut c);
    }
    let rest = chunks.remainder();
    let part = |from: usize, to: usize| word(&rest[from.min(rest.len())..to.min(rest.len())]);
    a = a.wrapping_add(part(0, 4));
    b = b.wrapping_add(part(4, 8));
    // The lowest byte of c is left for the length, which the initial value holds.
    c = c.wrapping_add(part(8, 11) << 8);
    finish(&mut a, &mut b, &mut c);
    (((b as u64) << 32) | c as u64) as i64
}

/// Up to four bytes, little-endian.
fn word(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .rev()
        .fold(0, |word, &byte| (word << 8) | u32::from(byte))
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3's `final`.
fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(14));
    *a = (*a ^ *c).wrapping_sub(c.rotate_left(11));
    *b = (*b ^ *a).wrapping_sub(a.rotate_left(25));
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(16));
    *a = (*a ^ *c).wrapping_sub(c.rotate_left(4));
    *b = (*b ^ *a).wrapping_sub(a.rotate_left(14));
    *c = (*c ^ *b).wrapping_sub(b.rotate_left(24));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SELECT s, hashtextextended(s, 0)` on PostgreSQL 15: every tail length up
    /// to a whole 12-byte block and beyond, and bytes above 0x7f. (The suite's
    /// search tests on PostgreSQL also compare this function with the database's;
    /// see `tests/api/search.rs`, `identity_hashes_match_postgresql`.)
    #[test]
    fn matches_postgresql_hashtextextended() {
        let known = [
            ("", -6939563903564495251),
            ("a", 3591986179850072241),
            ("ab", 2833316173711343549),
            ("abc", -6747756470228489321),
            ("abcd", -1038429303365892052),
            ("abcde", 3076356108696143428),
            ("default|Patient|name", 959813498050283939),
            ("default|Coverage|beneficiary", 6115093320125925266),
            (
                "tenant-é|Ω|identifier-with-a-much-longer-name-x",
                -224877886939834383,
            ),
        ];
        for (text, expected) in known {
            assert_eq!(hash_bytes_extended(text.as_bytes()), expected, "{text:?}");
        }
        assert_eq!(identity_hash("default", "Patient", "name"), 959813498050283939);
    }
}
