//! The payers a clearinghouse reaches, and for what: picking the payer id to put on
//! a claim, and knowing before sending whether a payer takes eligibility inquiries
//! or sends ERAs through this vendor.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::descriptor::Capability;

/// Narrows the list; with neither set, the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayerListRequest {
    pub payer_id: Option<String>,
    /// Part of the payer's name, matched as the vendor matches it.
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayerList {
    pub payers: Vec<Payer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payer {
    /// The vendor's payer id, as it goes on claims and inquiries sent through it.
    pub payer_id: String,
    pub name: String,
    /// What this payer can be reached for through this vendor (`eligibility`,
    /// `submit_claim`, `claim_status`, `fetch_remittance`).
    pub capabilities: BTreeSet<Capability>,
}
