//! Webhooks vendors send: `POST /webhooks/{vendor}/{integrationId}`.
//!
//! The integration's plugin verifies the request (for Stripe, `Stripe-Signature`
//! with the integration's `webhookSecret`) before anything trusts it; a request it
//! refuses gets 401 (or 400 for an unreadable body) and changes nothing. A verified
//! event is stored with what applying it did in the same transaction, keyed by the
//! vendor's event id, so a redelivery is acknowledged (200) and not applied again.

mod apply;
pub mod routes;

pub use apply::CLAIM_METADATA;
