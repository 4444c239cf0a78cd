//! Row types of the job queue: how `store::jobs` maps onto the `jobs` table.

use diesel::prelude::*;

use crate::store::jobs::{JobId, JobRecord, JobStatus, NewJobRecord};
use crate::store::schema::jobs;
use crate::store::sql_types::StoredInstant;
use crate::store::StoreError;

/// A row of `jobs`, read whole: by the query builder or from a `RETURNING` list
/// (the claim query is SQL text, hence `QueryableByName` too).
#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: StoredInstant,
    pub lease_owner: Option<String>,
    pub lease_until: Option<StoredInstant>,
    pub last_error: Option<String>,
    pub created_at: StoredInstant,
    pub updated_at: StoredInstant,
    pub finished_at: Option<StoredInstant>,
}

/// The columns of `JobRow`, in its order, for SQL written as text.
pub const JOB_COLUMNS: &str = "id, kind, payload, dedupe_key, status, attempts, max_attempts, run_at, \
     lease_owner, lease_until, last_error, created_at, updated_at, finished_at";

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        Ok(JobRecord {
            id: JobId(row.id),
            status: JobStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {:?}", row.status)))?,
            kind: row.kind,
            payload: row.payload,
            dedupe_key: row.dedupe_key,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at.0,
            lease_owner: row.lease_owner,
            lease_until: row.lease_until.map(|t| t.0),
            last_error: row.last_error,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            finished_at: row.finished_at.map(|t| t.0),
        })
    }
}

/// A new row: queued, never attempted.
#[derive(Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJobRow<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    pub dedupe_key: Option<&'a str>,
    pub status: &'static str,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: StoredInstant,
    pub created_at: StoredInstant,
    pub updated_at: StoredInstant,
}

impl<'a> From<&'a NewJobRecord> for NewJobRow<'a> {
    fn from(job: &'a NewJobRecord) -> Self {
        NewJobRow {
            kind: &job.kind,
            payload: &job.payload,
            dedupe_key: job.dedupe_key.as_deref(),
            status: JobStatus::Queued.as_str(),
            attempts: 0,
            max_attempts: job.max_attempts,
            run_at: StoredInstant(job.run_at),
            created_at: StoredInstant(job.created_at),
            updated_at: StoredInstant(job.created_at),
        }
    }
}

pub fn job_records(rows: Vec<JobRow>) -> Result<Vec<JobRecord>, StoreError> {
    rows.into_iter().map(JobRecord::try_from).collect()
}
