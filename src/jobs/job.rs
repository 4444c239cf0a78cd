//! A job as the queue's users see it, and a job to enqueue.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::store::jobs::{JobId, JobRecord, JobStatus, Lease, NewJobRecord};
use crate::store::StoreError;

/// Attempts a job gets unless its `NewJob` says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// A stored job; answers show it in camelCase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: Value,
    pub dedupe_key: Option<String>,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// The claim a running job is under: what its outcome is recorded with.
    pub fn lease(&self) -> Option<Lease> {
        match (self.status, &self.lease_owner) {
            (JobStatus::Running, Some(owner)) => Some(Lease {
                job_id: self.id,
                owner: owner.clone(),
                attempt: self.attempts,
            }),
            _ => None,
        }
    }
}

impl TryFrom<JobRecord> for Job {
    type Error = StoreError;

    fn try_from(record: JobRecord) -> Result<Self, StoreError> {
        let payload = serde_json::from_str(&record.payload)
            .map_err(|e| StoreError::Corrupt(format!("payload of job {}: {e}", record.id)))?;
        Ok(Job {
            id: record.id,
            kind: record.kind,
            payload,
            dedupe_key: record.dedupe_key,
            status: record.status,
            attempts: record.attempts,
            max_attempts: record.max_attempts,
            run_at: record.run_at,
            lease_owner: record.lease_owner,
            lease_until: record.lease_until,
            last_error: record.last_error,
            created_at: record.created_at,
            updated_at: record.updated_at,
            finished_at: record.finished_at,
        })
    }
}

/// A job to enqueue: `NewJob::new(kind, payload)`, then what differs from the
/// defaults (no dedupe key, due now, `DEFAULT_MAX_ATTEMPTS`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    /// While a job with this key is queued or running, enqueueing another finds it
    /// instead ("the submission of claim X").
    pub dedupe_key: Option<String>,
    /// Not run before this; `None` is now.
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before a job that keeps failing is dead (at least 1).
    pub max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            dedupe_key: None,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The row to store at `now`; `Err` names what is wrong with the job.
    pub(super) fn record(&self, now: DateTime<Utc>) -> Result<NewJobRecord, String> {
        if self.kind.trim().is_empty() {
            return Err("a job needs a kind".into());
        }
        if self.max_attempts < 1 {
            return Err(format!("max_attempts {} is under 1", self.max_attempts));
        }
        if self
            .dedupe_key
            .as_deref()
            .is_some_and(|key| key.trim().is_empty())
        {
            return Err("a dedupe key cannot be blank".into());
        }
        Ok(NewJobRecord {
            kind: self.kind.clone(),
            payload: self.payload.to_string(),
            dedupe_key: self.dedupe_key.clone(),
            max_attempts: self.max_attempts,
            run_at: self.run_at.unwrap_or(now),
            created_at: now,
        })
    }
}
