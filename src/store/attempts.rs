//! Stored integration attempts: the orchestrator's log of every call it made to a
//! vendor. Outcomes and operations are text here (`integrations::orchestrator` gives
//! them meaning).

use chrono::{DateTime, Utc};

/// One call to one integration, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// `None` until stored.
    pub id: Option<i64>,
    pub tenant: String,
    pub integration_id: String,
    pub vendor: String,
    pub operation: String,
    /// What it was about (`Claim/123`).
    pub subject: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
    pub latency_micros: i64,
    /// Tried because an integration before it failed or was skipped.
    pub failover: bool,
    pub attempted_at: DateTime<Utc>,
    /// The submission it sent or asked about (`cb-<job id>`), for claim uploads
    /// and the status checks about them.
    pub submission_id: Option<String>,
}

/// Which attempts to list: of a tenant, a subject, an integration and/or an
/// operation, newest first, before an id (keyset pages). Each filter has an index
/// that leads with it (with the operation: after the integration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttemptFilter {
    pub tenant: Option<String>,
    pub subject: Option<String>,
    pub integration_id: Option<String>,
    /// `test_connection`, `submit_claim`, …
    pub operation: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
    /// Submissions whose attempts are left out (those a claim's history records),
    /// so that `limit` counts only the attempts still weighed.
    pub except_submissions: Vec<String>,
}
