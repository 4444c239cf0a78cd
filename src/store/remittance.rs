//! Stored remittances: the 835 payments posted, the ledger of money they moved, and
//! the claim payments that matched no claim. Amounts are whole cents; kinds and
//! parties are text here (`billing::remittance` gives them meaning).

use chrono::{DateTime, NaiveDate, Utc};

/// One 835 transaction set being recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRemittance<'a> {
    pub payer_id: &'a str,
    pub payer_name: &'a str,
    pub trace_number: &'a str,
    pub payment_cents: i64,
    pub payment_date: Option<NaiveDate>,
    /// The whole file as received.
    pub raw: &'a str,
    pub received_at: DateTime<Utc>,
}

/// One movement of money: on a claim, or on the provider's account (`claim_id`
/// `None`, from PLB).
#[derive(Debug, Clone, PartialEq)]
pub struct NewLedgerEntry {
    pub claim_id: Option<String>,
    pub remittance_id: i64,
    /// payment | adjustment | refund
    pub kind: &'static str,
    /// payer | patient
    pub party: &'static str,
    pub group_code: Option<String>,
    pub reason_code: Option<String>,
    pub amount_cents: i64,
    pub posted_at: DateTime<Utc>,
}

/// An amount of a claim's ledger, with what it is (for totals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAmount {
    pub kind: String,
    pub party: String,
    pub amount_cents: i64,
}

/// A claim payment whose patient control number names no claim here.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUnmatchedClaim {
    pub remittance_id: i64,
    pub patient_control_number: String,
    pub payer_claim_control_number: Option<String>,
    pub charge_cents: i64,
    pub paid_cents: i64,
    /// JSON text of the claim payment as read.
    pub detail: String,
}

/// An unmatched claim payment with the remittance that brought it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnmatchedClaim {
    pub id: i64,
    pub remittance_id: i64,
    pub payer_id: String,
    pub payer_name: String,
    pub trace_number: String,
    pub received_at: DateTime<Utc>,
    pub patient_control_number: String,
    pub payer_claim_control_number: Option<String>,
    pub charge_cents: i64,
    pub paid_cents: i64,
    pub detail: String,
}

/// Which remittances a list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct RemittanceFilter<'a> {
    pub payer_id: Option<&'a str>,
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before.
    pub received_before: Option<DateTime<Utc>>,
    /// The previous page's last id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// A posted remittance as a list shows it: the payment, not the file or the report.
#[derive(Debug, Clone, PartialEq)]
pub struct RemittanceSummary {
    pub id: i64,
    pub payer_id: String,
    pub payer_name: String,
    pub trace_number: String,
    pub payment_cents: i64,
    pub payment_date: Option<NaiveDate>,
    pub received_at: DateTime<Utc>,
    /// Claim payments posted to claims here.
    pub posted_claims: i64,
    /// Claim payments that matched no claim.
    pub unmatched_claims: i64,
}
