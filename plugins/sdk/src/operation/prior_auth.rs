//! Prior authorization in the shape the server's gateway already uses: a FHIR
//! preauthorization Claim in a Bundle (Da Vinci PAS) out, a decision back. A
//! pended decision carries the vendor's id for the request, and
//! [`PriorAuthStatusRequest`] asks the same vendor for the decision later.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorAuthRequest {
    /// A `collection` Bundle whose first entry is a Claim with
    /// `use = preauthorization`, followed by the resources it references.
    pub bundle: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorAuthDecision {
    pub outcome: PriorAuthOutcome,
    /// The authorization number to quote on the claim; given with an approval.
    pub reference: Option<String>,
    /// The days the authorization covers, both included.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The payer's explanation.
    pub note: String,
    /// The vendor's id for the request, to ask about it again: given with a
    /// pended decision by a vendor that can be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
}

/// Where a pended request stands now, asked of the vendor that took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorAuthStatusRequest {
    /// [`PriorAuthDecision::tracking_id`] as the vendor gave it.
    pub tracking_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorAuthOutcome {
    Approved,
    Denied,
    /// Under review: the decision comes later.
    Pended,
}
