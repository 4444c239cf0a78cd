//! Has this service been billed already? The answer lives in the database, which the
//! scrubber does not touch: a caller supplies a [`DuplicateCheck`].
//!
//! Scrubbing is synchronous and runs in microseconds, so a database-backed check is
//! expected to load what it needs first (for example every service billed for the
//! patient on the claim's dates of service, in one query) and answer from memory.

use chrono::NaiveDate;

/// One billed service, as duplicates are matched: same patient, billing provider,
/// date of service and procedure code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BilledService<'a> {
    /// The claim being scrubbed; it does not count as its own duplicate.
    pub claim_id: &'a str,
    /// The FHIR Patient id.
    pub patient_id: &'a str,
    pub billing_provider_npi: &'a str,
    pub service_date: NaiveDate,
    pub code: &'a str,
}

/// Finds earlier claims for the same service.
pub trait DuplicateCheck {
    /// The id of another claim (not `service.claim_id`) that bills `service`, if any.
    fn earlier_claim(&self, service: &BilledService<'_>) -> Option<String>;
}
