//! Verifying a webhook Stripe sent (docs.stripe.com/webhooks#verify-manually):
//!
//! 1. split `Stripe-Signature` on `,` and each part on its first `=`; keep `t` and
//!    every `v1`, ignore other schemes (`v0`);
//! 2. each `v1` is compared, in constant time, with the HMAC-SHA256 of
//!    `"{t}.{raw body}"` under the endpoint secret — and under the previous secret
//!    while one is being rolled, since Stripe then signs with both;
//! 3. one match is enough, and `t` must be within the tolerance of now, so a
//!    captured delivery cannot be replayed later.
//!
//! Only then is the body read as an event.

use claimbridge_plugin_sdk::http::HeaderMap;
use claimbridge_plugin_sdk::{Secret, WebhookEvent, WebhookOutcome, WebhookRejection};
use serde_json::Value;

use crate::signature::{self, SCHEME};

const HEADER: &str = "stripe-signature";

pub(crate) struct WebhookVerifier {
    /// The current secret first, then the previous one if set.
    secrets: Vec<Secret>,
    tolerance_secs: i64,
}

impl WebhookVerifier {
    pub fn new(secrets: Vec<Secret>, tolerance_secs: u64) -> Self {
        WebhookVerifier {
            secrets,
            tolerance_secs: i64::try_from(tolerance_secs).unwrap_or(i64::MAX),
        }
    }

    /// What to make of a delivery received at `now` (Unix seconds).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> WebhookOutcome {
        match self.authenticate(headers, body, now) {
            Ok(()) => read_event(body),
            Err(why) => WebhookOutcome::Rejected(WebhookRejection::Unauthenticated(why)),
        }
    }

    fn authenticate(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), String> {
        let header = headers
            .get(HEADER)
            .ok_or("no Stripe-Signature header")?
            .to_str()
            .map_err(|_| "Stripe-Signature is not text")?;
        let (timestamp, signatures) = parse(header)?;
        let signed = signatures.iter().any(|candidate| {
            self.secrets
                .iter()
                .any(|secret| signature::matches(secret.expose(), timestamp, body, candidate))
        });
        if !signed {
            return Err("no v1 signature matches the body under the endpoint's secret".into());
        }
        if now.abs_diff(timestamp) > self.tolerance_secs.unsigned_abs() {
            return Err(format!(
                "the signature's timestamp is {}s from now, beyond the {}s tolerance",
                now.abs_diff(timestamp),
                self.tolerance_secs
            ));
        }
        Ok(())
    }
}

/// The timestamp and the `v1` signatures of a `Stripe-Signature` value.
fn parse(header: &str) -> Result<(i64, Vec<&str>), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        match name.trim() {
            "t" if timestamp.is_none() => timestamp = Some(value.trim()),
            scheme if scheme == SCHEME => signatures.push(value.trim()),
            _ => {}
        }
    }
    let timestamp = timestamp
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or("Stripe-Signature has no readable timestamp")?;
    if signatures.is_empty() {
        return Err("Stripe-Signature has no v1 signature".into());
    }
    Ok((timestamp, signatures))
}

fn read_event(body: &[u8]) -> WebhookOutcome {
    let malformed = |why: &str| WebhookOutcome::Rejected(WebhookRejection::Malformed(why.to_owned()));
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return malformed("the body is not JSON");
    };
    let (Some(id), Some(event_type)) = (payload["id"].as_str(), payload["type"].as_str()) else {
        return malformed("the body is not a Stripe event (no id or type)");
    };
    WebhookOutcome::Verified(WebhookEvent {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use claimbridge_plugin_sdk::http::HeaderValue;

    use super::*;
    use crate::signature::sign;

    const NOW: i64 = 1_750_000_000;
    const SECRET: &str = "whsec_current";
    const OLD: &str = "whsec_previous";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#;

    fn verifier(secrets: &[&str]) -> WebhookVerifier {
        WebhookVerifier::new(secrets.iter().map(|s| Secret::new(*s)).collect(), 300)
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn rejected_as_unauthenticated(outcome: WebhookOutcome) -> String {
        match outcome {
            WebhookOutcome::Rejected(WebhookRejection::Unauthenticated(why)) => why,
            other => panic!("expected unauthenticated, got {other:?}"),
        }
    }

    #[test]
    fn a_signed_event_is_verified_with_its_id_and_type() {
        let outcome = verifier(&[SECRET]).verify(&headers(&sign(SECRET, NOW, BODY)), BODY, NOW + 10);
        let WebhookOutcome::Verified(event) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.event_type, "payment_intent.succeeded");
        assert_eq!(event.payload["data"]["object"]["id"], "pi_1");
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused_even_when_signed() {
        let stale = verifier(&[SECRET]).verify(&headers(&sign(SECRET, NOW - 301, BODY)), BODY, NOW);
        assert!(rejected_as_unauthenticated(stale).contains("tolerance"));
        let future = verifier(&[SECRET]).verify(&headers(&sign(SECRET, NOW + 301, BODY)), BODY, NOW);
        assert!(rejected_as_unauthenticated(future).contains("tolerance"));
        let edge = verifier(&[SECRET]).verify(&headers(&sign(SECRET, NOW - 300, BODY)), BODY, NOW);
        assert!(matches!(edge, WebhookOutcome::Verified(_)));
    }

    #[test]
    fn another_secret_does_not_verify() {
        let outcome = verifier(&[SECRET]).verify(&headers(&sign("whsec_other", NOW, BODY)), BODY, NOW);
        assert!(rejected_as_unauthenticated(outcome).contains("no v1 signature matches"));
    }

    #[test]
    fn during_a_roll_either_signature_verifies_under_either_secret() {
        let new = sign(SECRET, NOW, BODY);
        let old = sign(OLD, NOW, BODY);
        let old_v1 = old.split_once(",v1=").unwrap().1;
        let both = format!("{new},v1={old_v1}");
        // Stripe signs with both; the plugin still configured with only the old one.
        assert!(matches!(
            verifier(&[OLD]).verify(&headers(&both), BODY, NOW),
            WebhookOutcome::Verified(_)
        ));
        // Already moved to the new secret, keeping the old as previous.
        assert!(matches!(
            verifier(&[SECRET, OLD]).verify(&headers(&old), BODY, NOW),
            WebhookOutcome::Verified(_)
        ));
        // Neither secret known.
        assert!(matches!(
            verifier(&["whsec_x"]).verify(&headers(&both), BODY, NOW),
            WebhookOutcome::Rejected(_)
        ));
    }

    #[test]
    fn a_body_changed_by_one_byte_does_not_verify() {
        let header = sign(SECRET, NOW, BODY);
        let mut tampered = BODY.to_vec();
        let at = tampered.iter().position(|&b| b == b'1').unwrap();
        tampered[at] = b'2';
        let outcome = verifier(&[SECRET]).verify(&headers(&header), &tampered, NOW);
        assert!(rejected_as_unauthenticated(outcome).contains("no v1 signature matches"));
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused() {
        let missing = verifier(&[SECRET]).verify(&HeaderMap::new(), BODY, NOW);
        assert!(rejected_as_unauthenticated(missing).contains("no Stripe-Signature"));
        let v1 = sign(SECRET, NOW, BODY).split_once(",v1=").unwrap().1.to_owned();
        for (header, why) in [
            (format!("v1={v1}"), "timestamp"),
            (format!("t=yesterday,v1={v1}"), "timestamp"),
            (format!("t={NOW}"), "no v1"),
            (format!("t={NOW},v0={v1}"), "no v1"),
            ("garbage".to_owned(), "timestamp"),
        ] {
            let outcome = verifier(&[SECRET]).verify(&headers(&header), BODY, NOW);
            let text = rejected_as_unauthenticated(outcome);
            assert!(text.contains(why), "{header}: {text}");
        }
    }

    #[test]
    fn other_schemes_and_spaces_are_tolerated() {
        let header = sign(SECRET, NOW, BODY).replace(',', ", ");
        let with_v0 = format!("{header},v0=deadbeef");
        assert!(matches!(
            verifier(&[SECRET]).verify(&headers(&with_v0), BODY, NOW),
            WebhookOutcome::Verified(_)
        ));
    }

    #[test]
    fn a_signed_body_that_is_no_event_is_malformed() {
        for body in [&b"not json"[..], br#"{"object":"event"}"#] {
            let outcome = verifier(&[SECRET]).verify(&headers(&sign(SECRET, NOW, body)), body, NOW);
            assert!(
                matches!(outcome, WebhookOutcome::Rejected(WebhookRejection::Malformed(_))),
                "{outcome:?}"
            );
        }
    }
}
