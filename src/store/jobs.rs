//! Stored jobs: the rows of the durable job queue as the store sees them. Kinds are
//! names and payloads JSON text here; `crate::jobs` gives them meaning.

use chrono::{DateTime, Utc};
use diesel::sqlite::SqliteConnection;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

/// A job's id: the row's serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life: queued → running → succeeded, or back to queued for a
/// retry, or dead once its attempts are spent or a failure is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Dead,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One job's row.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    /// JSON text.
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub status: JobStatus,
    /// Claims so far; the current attempt's number while running.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    /// The node that claimed it last.
    pub lease_owner: Option<String>,
    /// Set while running: another node may claim it after this.
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job to store, queued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJobRecord {
    pub kind: String,
    /// JSON text.
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One claim of a job: only its holder may record the attempt's outcome or extend
/// it. The attempt number tells a node's current claim from an earlier one of its
/// own whose lease lapsed and was taken over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: JobId,
    pub owner: String,
    pub attempt: i32,
}

/// Due jobs to claim for `owner` until `lease_until`.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    pub owner: &'a str,
    pub kinds: &'a [String],
    pub limit: i64,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// How an attempt ends.
#[derive(Debug, Clone, Copy)]
pub enum Settlement<'a> {
    Succeeded,
    /// Queued again, not to be claimed before `run_at`.
    Retry {
        run_at: DateTime<Utc>,
        error: &'a str,
    },
    Dead {
        error: &'a str,
    },
}

/// Which jobs to list, newest first, before an id (keyset pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    pub before: Option<JobId>,
    pub limit: i64,
}

/// The queued jobs of one kind, as the metrics show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJobs {
    pub kind: String,
    /// Waiting to run, due or not (a retry waits for its backoff).
    pub queued: i64,
    /// When the longest-waiting due job fell due; `None` when none is due.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// How many jobs of a kind are in a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub status: JobStatus,
    pub count: i64,
}

/// The clause the claim query ends its choice of rows with. On PostgreSQL the rows
/// are locked, and rows another node is claiming at that moment are skipped rather
/// than waited for, so concurrent claimers split the due jobs between them. SQLite
/// has no row locks and needs none: `Store::begin` runs one writer at a time.
pub(crate) trait ClaimLocking {
    const SKIP_LOCKED: &'static str;
}

impl ClaimLocking for AsyncPgConnection {
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
}

impl ClaimLocking for SyncConnectionWrapper<SqliteConnection> {
    const SKIP_LOCKED: &'static str = "";
}
