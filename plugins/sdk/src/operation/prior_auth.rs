//! Prior authorization in the shape the server's gateway already uses: a FHIR
//! preauthorization Claim in a Bundle (Da Vinci PAS) out, a decision back.

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorAuthOutcome {
    Approved,
    Denied,
    /// Under review: the decision comes later.
    Pended,
}
