//! Stored billing state of claims: the current state, every move between states, and
//! the X12 interchanges written.

use chrono::{DateTime, Utc};

/// A claim's row: its short number (for CLM01) and current billing state, as text
/// (`billing::lifecycle::BillingState` gives it meaning).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimStateRow {
    pub id: i64,
    pub claim_id: String,
    pub state: String,
    pub updated_at: DateTime<Utc>,
}

/// One move of a claim between states.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub claim_id: String,
    /// `None` for the first state a claim is given.
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    /// JSON text.
    pub details: Option<String>,
    pub at: DateTime<Utc>,
}
