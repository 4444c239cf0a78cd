//! Stripe's error object (`{"error": {"type", "code", "decline_code", "message",
//! "param"}}`, docs.stripe.com/api/errors) and what each failure means for the
//! orchestrator.
//!
//! Every request this plugin sends is idempotent — reads by nature, every POST by
//! its `Idempotency-Key` — so a failure after sending is never ambiguous:
//!
//! - `Stripe-Should-Retry` decides when Stripe sends it (its own libraries obey it
//!   first): `true` transient, `false` final;
//! - 429 (rate limited) and 5xx (`api_error`): transient, with `Retry-After`;
//! - 409 for a key whose first request is still running (`idempotency_key_in_use`):
//!   transient, the retry will find the first request's answer;
//! - everything else — `card_error` (402), `invalid_request_error` (400, 404),
//!   `idempotency_error` (a key reused with other parameters), 401/403 — final.

use claimbridge_plugin_sdk::http::{HeaderMap, StatusCode};
use claimbridge_plugin_sdk::{Idempotency, PluginError};
use serde::Deserialize;

/// Stripe sends this to say whether retrying could help.
const SHOULD_RETRY: &str = "stripe-should-retry";

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct StripeError {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
    pub param: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: StripeError,
}

impl StripeError {
    /// The error object of an answer's body, if it has one.
    pub fn read(body: &[u8]) -> Option<StripeError> {
        serde_json::from_slice::<Envelope>(body)
            .ok()
            .map(|envelope| envelope.error)
    }

    /// `card_error card_declined (decline_code insufficient_funds): Your card has
    /// insufficient funds.` — what the attempt log shows. Stripe's messages are
    /// written to be shown to the payer and carry no card data.
    pub fn describe(&self) -> String {
        let mut text = self.kind.clone().unwrap_or_else(|| "error".to_owned());
        if let Some(code) = &self.code {
            text.push(' ');
            text.push_str(code);
        }
        if let Some(decline_code) = &self.decline_code {
            text.push_str(&format!(" (decline_code {decline_code})"));
        }
        if let Some(param) = &self.param {
            text.push_str(&format!(" [param {param}]"));
        }
        if let Some(message) = &self.message {
            text.push_str(": ");
            text.push_str(message);
        }
        text
    }
}

/// The class of a non-2xx answer from Stripe to `what` ("creating a PaymentIntent").
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8], what: &str) -> PluginError {
    let error = StripeError::read(body);
    let detail = match &error {
        Some(error) => error.describe(),
        None => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    };
    let request_id = headers
        .get("request-id")
        .and_then(|value| value.to_str().ok())
        .map(|id| format!(" (request {id})"))
        .unwrap_or_default();
    let message = format!("{what}: {detail}{request_id}");
    let transient = || {
        // from_status reads Retry-After; 503 stands in for "try again" whatever the
        // status was.
        let stand_in = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            status
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        PluginError::from_status(stand_in, headers, Idempotency::Idempotent, message.clone())
    };
    match headers.get(SHOULD_RETRY).and_then(|value| value.to_str().ok()) {
        Some("true") => return transient(),
        Some("false") => return PluginError::rejected(format!("HTTP {}: {message}", status.as_u16())),
        _ => {}
    }
    let key_in_use = status == StatusCode::CONFLICT
        && error
            .as_ref()
            .is_some_and(|error| error.code.as_deref() == Some("idempotency_key_in_use"));
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() || key_in_use {
        transient()
    } else {
        PluginError::from_status(status, headers, Idempotency::Idempotent, message)
    }
}

#[cfg(test)]
mod tests {
    use claimbridge_plugin_sdk::http::HeaderValue;
    use claimbridge_plugin_sdk::ErrorClass;
    use serde_json::json;

    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &'static str)], body: serde_json::Value) -> PluginError {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        classify(
            StatusCode::from_u16(status).unwrap(),
            &map,
            body.to_string().as_bytes(),
            "creating a PaymentIntent",
        )
    }

    #[test]
    fn a_decline_is_final_and_says_code_decline_code_and_message() {
        let error = answer(
            402,
            &[("request-id", "req_123")],
            json!({"error": {"type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}}),
        );
        assert_eq!(error.class(), ErrorClass::Final);
        let text = error.to_string();
        for part in [
            "card_error",
            "card_declined",
            "insufficient_funds",
            "insufficient funds.",
            "req_123",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn an_invalid_request_is_final_and_names_the_param() {
        let error = answer(
            400,
            &[],
            json!({"error": {"type": "invalid_request_error", "code": "parameter_unknown",
                "param": "foo", "message": "Received unknown parameter: foo"}}),
        );
        assert_eq!(error.class(), ErrorClass::Final);
        assert!(error.to_string().contains("[param foo]"), "{error}");
    }

    #[test]
    fn a_key_reused_with_other_parameters_is_final() {
        let error = answer(
            400,
            &[],
            json!({"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}),
        );
        assert_eq!(error.class(), ErrorClass::Final);
        assert!(error.to_string().contains("idempotency_error"));
    }

    #[test]
    fn throttling_and_server_errors_are_transient_because_every_post_has_a_key() {
        let throttled = answer(
            429,
            &[("retry-after", "2")],
            json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}),
        );
        assert_eq!(throttled.class(), ErrorClass::Transient);
        assert_eq!(throttled.retry_after(), Some(std::time::Duration::from_secs(2)));
        for status in [500, 502, 503, 504] {
            let error = answer(
                status,
                &[],
                json!({"error": {"type": "api_error", "message": "Something went wrong"}}),
            );
            assert_eq!(error.class(), ErrorClass::Transient, "{status}");
        }
    }

    #[test]
    fn a_key_still_in_use_is_transient_other_conflicts_final() {
        let in_use = answer(
            409,
            &[],
            json!({"error": {"type": "idempotency_error", "code": "idempotency_key_in_use", "message": "in use"}}),
        );
        assert_eq!(in_use.class(), ErrorClass::Transient);
        let other = answer(
            409,
            &[],
            json!({"error": {"type": "invalid_request_error", "message": "conflict"}}),
        );
        assert_eq!(other.class(), ErrorClass::Final);
    }

    #[test]
    fn stripe_should_retry_overrides_the_status() {
        let told_not_to = answer(
            500,
            &[("stripe-should-retry", "false")],
            json!({"error": {"type": "api_error"}}),
        );
        assert_eq!(told_not_to.class(), ErrorClass::Final);
        let told_to = answer(
            400,
            &[("stripe-should-retry", "true")],
            json!({"error": {"type": "invalid_request_error"}}),
        );
        assert_eq!(told_to.class(), ErrorClass::Transient);
    }

    #[test]
    fn an_answer_that_is_not_stripe_json_still_classifies_and_reads() {
        let error = classify(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>bad gateway</html>",
            "reading the balance",
        );
        assert_eq!(error.class(), ErrorClass::Transient);
        assert!(error.to_string().contains("bad gateway"), "{error}");
    }
}
