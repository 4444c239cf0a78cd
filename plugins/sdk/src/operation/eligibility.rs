//! Eligibility in X12, both ways: Claimbridge writes the 270 and reads the 271 with
//! its own X12 code, so a plugin only carries them (or translates a vendor's JSON
//! API to and from them).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityRequest {
    /// A 005010X279A1 270 interchange for one patient.
    pub inquiry_270: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityResponse {
    /// The 271 interchange answering the inquiry.
    pub response_271: String,
    /// The vendor's id for the inquiry (Claim.MD's `eligid`), to quote to its support.
    pub vendor_reference: Option<String>,
}
