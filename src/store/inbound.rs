//! Stored inbound webhooks and the patient payments their events post. Types and
//! statuses are text here (`crate::webhooks` gives them meaning).

use chrono::{DateTime, Utc};

/// A verified vendor event, as stored before it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookEvent {
    pub integration_id: String,
    pub vendor: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    /// applied | ignored
    pub status: String,
    pub note: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// A patient payment or refund a processor reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientPayment {
    pub claim_id: Option<String>,
    pub integration_id: String,
    /// payment | refund
    pub kind: String,
    pub external_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub event_id: String,
    pub posted_at: DateTime<Utc>,
}
