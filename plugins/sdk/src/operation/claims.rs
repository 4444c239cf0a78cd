//! Claims out and their status back. A submission carries Claimbridge's own id so
//! that, when an upload ends without an answer, a status check can find out whether
//! the vendor took it before the claim goes anywhere else: no clearinghouse offers
//! idempotency keys, so this is what keeps a claim from being billed twice.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An 837P interchange to hand to the clearinghouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSubmission {
    /// Claimbridge's id for this submission, sent where the vendor keeps one (the
    /// uploaded file's name, a batch id) so the status check can look it up.
    pub submission_id: String,
    /// The 005010X222A1 interchange, as Claimbridge wrote it.
    pub interchange_837p: String,
}

/// The clearinghouse took the interchange. Its own edits may already have judged
/// each claim; the payer's verdict comes later (277CA, 835).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionReceipt {
    /// The vendor's id for the batch (or the file name it stored it under), to quote
    /// when asking about it.
    pub vendor_batch_id: String,
    /// The claims it read from the interchange; empty when it reports none yet.
    pub claims: Vec<SubmittedClaim>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedClaim {
    /// CLM01, which ties the vendor's claim to Claimbridge's.
    pub patient_control_number: String,
    pub vendor_claim_id: Option<String>,
    /// `pending` until the vendor's edits have run.
    pub status: ClaimStatusKind,
    pub messages: Vec<String>,
}

/// Where a claim stands, as far as the vendor knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatusKind {
    /// Received, not yet judged (277 categories P0–P5).
    Pending,
    /// Accepted for processing by the clearinghouse or payer (A1, A2).
    Accepted,
    /// Refused, to be corrected and sent again (A3, A4, A6–A8).
    Rejected,
    /// Adjudicated (F0–F4): paid or denied, which the 835 details.
    Finalized,
}

/// Asks where one claim stands. Carries what the strictest vendor needs to find a
/// claim (Availity's claim statuses ask for payer, provider, subscriber and dates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatusRequest {
    /// The submission that carried the claim, when it went through this vendor.
    pub submission_id: Option<String>,
    /// CLM01.
    pub patient_control_number: String,
    pub vendor_claim_id: Option<String>,
    pub payer_id: String,
    pub billing_provider_npi: String,
    pub billing_provider_tax_id: String,
    pub member_id: String,
    pub subscriber: Person,
    /// The patient when not the subscriber.
    pub patient: Option<Person>,
    pub service_from: NaiveDate,
    pub service_to: NaiveDate,
    /// The claim's total charge (CLM02).
    pub charge: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub last_name: String,
    pub first_name: String,
    pub birth_date: Option<NaiveDate>,
}

/// What the vendor knows of the claim asked about. No statuses means it has no
/// record of it — after an ambiguous submission, what allows sending it elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatusReport {
    pub statuses: Vec<ClaimStatusUpdate>,
}

/// One status of one claim, from a [`ClaimStatusReport`] or the status feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatusUpdate {
    pub patient_control_number: String,
    pub vendor_claim_id: Option<String>,
    /// The payer's claim number (ICN), once it has one.
    pub payer_claim_number: Option<String>,
    pub status: ClaimStatusKind,
    /// The X12 277 category code (`A3`, `F1`) when the vendor gives one.
    pub category_code: Option<String>,
    pub messages: Vec<String>,
    pub effective_date: Option<NaiveDate>,
}
