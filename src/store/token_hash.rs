//! Fixed-width hashes of token values, so that the three common token predicates
//! (`code`, `system|code`, `system|`) are each one seek on a narrow integer index.

use xxhash_rust::xxh3::xxh3_64;

/// Separates the hashed parts; it cannot occur in a FHIR parameter name.
const SEPARATOR: u8 = 0x1f;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHashes {
    pub code: i64,
    pub system_code: i64,
    pub system: i64,
}

impl TokenHashes {
    pub fn new(param: &str, system: Option<&str>, code: Option<&str>) -> Self {
        let system = system.unwrap_or("");
        let code = code.unwrap_or("");
        TokenHashes {
            code: hash(&[param, code]),
            system_code: hash(&[param, system, code]),
            system: hash(&[param, system, ""]),
        }
    }
}

fn hash(parts: &[&str]) -> i64 {
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for part in parts {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(SEPARATOR);
    }
    // Stored as BIGINT: the bit pattern matters, not the sign.
    xxh3_64(&bytes) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_differ_and_are_stable() {
        let a = TokenHashes::new("identifier", Some("http://hospital.org/mrn"), Some("123"));
        let b = TokenHashes::new("identifier", Some("http://hospital.org/mrn"), Some("123"));
        assert_eq!(a, b);
        assert_ne!(a.code, a.system_code);
        assert_ne!(a.system, a.system_code);
        // "system|" must not equal "|code" for the same strings moved around.
        let moved = TokenHashes::new("identifier", Some(""), Some("http://hospital.org/mrn"));
        assert_ne!(moved.system_code, a.system);
    }
}
