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

/// What a claim's patient control number (CLM01) starts with; its row id follows.
pub const CONTROL_NUMBER_PREFIX: &str = "CB";

impl ClaimStateRow {
    /// CLM01 of the claim's 837P, echoed by payers in 277CA and 835 (CLP01).
    pub fn patient_control_number(&self) -> String {
        patient_control_number(self.id)
    }
}

/// The patient control number of the billing row `row_id`: what the 837P sends as
/// CLM01 and what people see as the claim's number.
pub fn patient_control_number(row_id: i64) -> String {
    format!("{CONTROL_NUMBER_PREFIX}{row_id}")
}

/// The row id a patient control number names, if it is one of ours: exactly as
/// `patient_control_number` writes it (no sign, no leading zero), so `CB0007`
/// or `CB+7` is nobody's claim rather than row 7's.
pub fn row_id_of(patient_control_number: &str) -> Option<i64> {
    let digits = patient_control_number.strip_prefix(CONTROL_NUMBER_PREFIX)?;
    let canonical = digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten()
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

/// A claim billing sees for the first time, with the state its intake put it in.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBillingClaim {
    pub claim_id: String,
    pub state: String,
    pub at: DateTime<Utc>,
    pub charge_cents: Option<i64>,
    /// The payer Organization's name, when billing could resolve it.
    pub payer: Option<String>,
}
