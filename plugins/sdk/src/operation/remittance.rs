//! Remittance advice as the payer sent it: the 835 goes to Claimbridge's own reader
//! and posting, which dedupe by its trace number.

use serde::{Deserialize, Serialize};

/// One remittance of a [`crate::FeedPage`] read by `fetch_remittance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remittance {
    /// The vendor's id for it (Claim.MD's `eraid`).
    pub vendor_remittance_id: String,
    /// The 005010X221A1 835 interchange.
    pub interchange_835: String,
}
