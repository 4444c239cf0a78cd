//! Stripe's webhook signature, scheme `v1`: the hex HMAC-SHA256 of `"{t}.{raw body}"`
//! keyed with the endpoint's signing secret (`whsec_…`, used as-is, not decoded),
//! sent as `Stripe-Signature: t=<unix seconds>,v1=<hex>`. One module for both sides,
//! so the simulator signs exactly what the plugin verifies — and tests can sign too.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The only scheme Stripe signs live events with; others (`v0`, test-only) are ignored.
pub const SCHEME: &str = "v1";

/// The `Stripe-Signature` header value Stripe sends for `body` signed with `secret` at
/// `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},{SCHEME}={}", hex(&digest))
}

/// Whether `candidate_hex` is the `v1` signature of `body` at `timestamp` under
/// `secret`, compared in constant time (a timing side channel would let a forger
/// find the signature byte by byte). A value that is not hex matches nothing.
pub(crate) fn matches(secret: &str, timestamp: i64, body: &[u8], candidate_hex: &str) -> bool {
    match unhex(candidate_hex) {
        Some(candidate) => mac(secret, timestamp, body).verify_slice(&candidate).is_ok(),
        None => false,
    }
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body_in_lowercase_hex() {
        // Computed independently:
        // printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
        let header = sign("whsec_test", 1_700_000_000, br#"{"id":"evt_1"}"#);
        assert_eq!(
            header,
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn a_signature_matches_only_its_secret_timestamp_and_body() {
        let header = sign("whsec_a", 42, b"body");
        let v1 = header.split_once(",v1=").unwrap().1;
        assert!(matches("whsec_a", 42, b"body", v1));
        assert!(!matches("whsec_b", 42, b"body", v1));
        assert!(!matches("whsec_a", 43, b"body", v1));
        assert!(!matches("whsec_a", 42, b"bodY", v1));
        assert!(!matches("whsec_a", 42, b"body", "zz"));
        assert!(!matches("whsec_a", 42, b"body", &v1[1..]));
    }
}
