//! Stored denials: what an 835 denied on a claim and what its playbook made of it.
//! Codes, actions and statuses are text here (`billing::denials` gives them meaning).

use chrono::{DateTime, Utc};

/// A denial being recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDenialRecord {
    pub claim_id: String,
    pub remittance_id: i64,
    /// The deciding reason, CAS group and CARC: `CO-197`.
    pub code: String,
    /// JSON: every reason the payer gave.
    pub reasons: String,
    /// Remark codes, space separated.
    pub rarcs: String,
    pub amount_cents: i64,
    pub category: Option<String>,
    pub playbook_id: Option<String>,
    /// auto_resubmit | manual_review | notify
    pub action: String,
    pub assignee: Option<String>,
    /// JSON array of instructions.
    pub instructions: String,
    pub attempt: i32,
    /// open | resubmit_queued | resolved
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// A recorded denial, with how it was resolved once it is.
#[derive(Debug, Clone, PartialEq)]
pub struct DenialRecord {
    pub id: i64,
    pub new: NewDenialRecord,
    /// JSON, once resolved: `{"at", "by", "note"}`.
    pub resolution: Option<String>,
}

/// Which denials a work list shows.
#[derive(Debug, Clone, Default)]
pub struct DenialFilter {
    pub status: Option<String>,
    pub action: Option<String>,
    pub assignee: Option<String>,
    pub category: Option<String>,
    /// Newer than nothing, older than this id (keyset paging, newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

/// How a denial was resolved.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub at: DateTime<Utc>,
    pub by: &'a str,
    pub note: &'a str,
}
