//! What a plugin makes of a webhook its vendor sent. Only the plugin knows how its
//! vendor signs (Stripe: HMAC-SHA256 over timestamp and body, several signatures
//! during a secret rotation), so it verifies and names the event; the server stores
//! the raw event before applying it and acknowledges a replayed event id without
//! applying it again.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The vendor sent it: store it, then apply it.
    Verified(WebhookEvent),
    /// Not from the vendor or not readable: answered with
    /// [`WebhookRejection::status`], nothing changes.
    Rejected(WebhookRejection),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The vendor's event id (`evt_…`): the key that makes a redelivery a no-op.
    pub id: String,
    /// The vendor's event type (`payment_intent.succeeded`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event as the vendor sent it.
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRejection {
    /// The signature is missing, wrong, or too old (a replay outside the tolerance).
    #[error("webhook not authenticated: {0}")]
    Unauthenticated(String),
    /// Authentic or not, the body is not an event the plugin can read.
    #[error("webhook not readable: {0}")]
    Malformed(String),
}

impl WebhookRejection {
    /// The answer to give the sender.
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRejection::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            WebhookRejection::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_signature_is_401_and_an_unreadable_body_400() {
        assert_eq!(
            WebhookRejection::Unauthenticated("stale timestamp".into()).status(),
            401
        );
        assert_eq!(WebhookRejection::Malformed("not JSON".into()).status(), 400);
    }

    #[test]
    fn an_event_serializes_its_type_as_type() {
        let event = WebhookEvent {
            id: "evt_1".into(),
            event_type: "charge.refunded".into(),
            payload: serde_json::json!({"object": "event"}),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "charge.refunded");
        assert_eq!(serde_json::from_value::<WebhookEvent>(json).unwrap(), event);
    }
}
