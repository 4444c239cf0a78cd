//! How deliveries are signed, after Stripe's scheme so that subscribers can reuse
//! what they know: `Claimbridge-Signature: t=<unix seconds>,v1=<hex>`, where the
//! hex is the HMAC-SHA256 of `"<t>.<body>"` keyed with the subscription's secret
//! (the string as given at creation, its UTF-8 bytes). The timestamp is signed too,
//! so a subscriber that refuses old timestamps also refuses replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Claimbridge-Signature";

/// The header value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body_in_lowercase_hex() {
        // Computed independently: Python's hmac.new(b"whsec",
        // b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest().
        assert_eq!(
            signature("whsec", 1_700_000_000, br#"{"id":"evt_1"}"#),
            "t=1700000000,v1=e7e846cdb96220c3674ade89e534304fc91f6f15064facee1e7a7096f5f57f62"
        );
        let signed = signature("whsec", 1_700_000_000, b"{}");
        assert_ne!(signed, signature("other", 1_700_000_000, b"{}"));
        assert_ne!(signed, signature("whsec", 1_700_000_001, b"{}"));
    }
}
