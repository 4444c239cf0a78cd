//! Figures of the billing dashboard, each one aggregate the database computes over
//! an index range (migration 000008 keeps the dates and charges on the rows summed),
//! so a dashboard over 100,000 claims reads indexes, never claims. Which states and
//! ledger kinds count is the caller's (`billing::dashboard` defines the figures);
//! here they are text.

use chrono::{DateTime, Utc};

/// A period and what counts in it.
#[derive(Debug, Clone)]
pub struct KpiQuery<'a> {
    /// The first instant of the period.
    pub start: DateTime<Utc>,
    /// The first instant after it.
    pub end: DateTime<Utc>,
    /// Ledger kinds whose amounts, summed, are the money collected.
    pub collected_kinds: &'a [&'a str],
    /// States a claim reaches when its payer adjudicates it.
    pub adjudicated_states: &'a [&'a str],
    pub denied_state: &'a str,
}

/// The sums and counts of a period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KpiFigures {
    /// Charges of the claims first submitted in the period.
    pub billed_cents: i64,
    /// Ledger amounts of the collected kinds posted in the period.
    pub collected_cents: i64,
    /// Claims that reached an adjudicated state in the period.
    pub adjudicated_claims: i64,
    /// Of those, the claims that reached the denied state in it.
    pub denied_claims: i64,
    /// Claims whose first payment was posted in the period.
    pub paid_claims: i64,
    /// For those, the seconds from submission (or, never submitted, from when billing
    /// first saw them) to that payment, summed.
    pub seconds_to_pay: i64,
    /// Claims billing first saw in the period, by their current state.
    pub claims_by_state: Vec<(String, i64)>,
}

/// One day of the dashboard's trend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayFigures {
    /// The day's first instant.
    pub start: DateTime<Utc>,
    /// Charges of the claims first submitted that day.
    pub billed_cents: i64,
    /// Ledger amounts of the collected kinds posted that day.
    pub collected_cents: i64,
}
