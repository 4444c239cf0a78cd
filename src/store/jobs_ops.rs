// Storage of the durable job queue, written once for both backends (included into
// each backend module of `store/mod.rs`, like `ops.rs`). Every write that ends an
// attempt names the lease it holds (owner and attempt number) and changes nothing
// when that lease is no longer the job's current one.

use crate::store::jobs::{
    ClaimLocking, ClaimRequest, JobCount, JobFilter, JobId, JobRecord, JobStatus, Lease, NewJobRecord,
    QueuedJobs, Settlement,
};
use crate::store::jobs_rows::{job_records, JobRow, NewJobRow, JOB_COLUMNS};
use crate::store::schema::jobs;

/// What `bury_lapsed_jobs` records as a buried job's error.
const LAPSED_ON_LAST_ATTEMPT: &str =
    "the lease lapsed on the last attempt: the node running it stopped or lost the database";

#[derive(QueryableByName)]
struct OldestQueuedRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = crate::store::sql_types::UtcTimestamp)]
    oldest: StoredInstant,
}

#[derive(QueryableByName)]
struct QueuedJobsRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    queued: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<crate::store::sql_types::UtcTimestamp>)]
    oldest_due: Option<StoredInstant>,
}

/// Stores a queued job; `None` when a live job (queued or running) already has its
/// dedupe key. `ON CONFLICT DO NOTHING` rather than a caught unique violation, which
/// would abort the caller's transaction on PostgreSQL.
pub async fn insert_job(conn: &mut Conn, job: &NewJobRecord) -> Result<Option<JobRecord>, StoreError> {
    let row: Option<JobRow> = diesel::insert_into(jobs::table)
        .values(NewJobRow::from(job))
        .on_conflict_do_nothing()
        .returning(JobRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    row.map(JobRecord::try_from).transpose()
}

/// The live (queued or running) job with this dedupe key.
pub async fn live_job_with_key(conn: &mut Conn, key: &str) -> Result<Option<JobRecord>, StoreError> {
    let row: Option<JobRow> = jobs::table
        .filter(jobs::dedupe_key.eq(key))
        .filter(jobs::status.eq_any([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
        .select(JobRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(JobRecord::try_from).transpose()
}

/// Stores a queued job unless any job, finished or not, has its dedupe key: how a
/// recurring job's period is enqueued once by however many nodes. One statement, so
/// that the look-up and the insert see the same jobs.
pub async fn insert_job_unless_keyed(
    conn: &mut Conn,
    job: &NewJobRecord,
    key: &str,
) -> Result<bool, StoreError> {
    let mut insert = Statement::new(
        "INSERT INTO jobs (kind, payload, dedupe_key, status, attempts, max_attempts, run_at, created_at, \
         updated_at) SELECT ",
    );
    insert
        .bind(job.kind.as_str())
        .sql(", ")
        .bind(job.payload.as_str())
        .sql(", ")
        .bind(key)
        .sql(", 'queued', 0, ")
        .bind(i64::from(job.max_attempts))
        .sql(", ")
        .bind(job.run_at)
        .sql(", ")
        .bind(job.created_at)
        .sql(", ")
        .bind(job.created_at)
        .sql(" WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE dedupe_key = ")
        .bind(key)
        .sql(") ON CONFLICT DO NOTHING");
    Ok(insert.execute(conn).await? > 0)
}

/// Whether a job of `kinds` is due or has a lapsed lease: a read, so that an idle
/// node's polls lock nothing (on SQLite, the claim's transaction takes the single
/// write lock, which every other writer then waits for).
pub async fn has_claimable_jobs(
    conn: &mut Conn,
    kinds: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let now = StoredInstant(now);
    let due = jobs::status
        .eq(JobStatus::Queued.as_str())
        .and(jobs::run_at.le(now))
        .or(jobs::status
            .eq(JobStatus::Running.as_str())
            .and(jobs::lease_until.lt(now)));
    Ok(diesel::select(diesel::dsl::exists(
        jobs::table.filter(jobs::kind.eq_any(kinds)).filter(due),
    ))
    .get_result(conn)
    .await?)
}

/// Claims up to `limit` due jobs of `kinds`, oldest `run_at` first: queued ones due by
/// now, and running ones whose lease lapsed with attempts left. Each claim counts an
/// attempt and writes the lease. Returned in no particular order.
pub async fn claim_jobs(conn: &mut Conn, request: &ClaimRequest<'_>) -> Result<Vec<JobRecord>, StoreError> {
    let mut claim =
        Statement::new("UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ");
    claim
        .bind(request.owner)
        .sql(", lease_until = ")
        .bind(request.lease_until)
        .sql(", updated_at = ")
        .bind(request.now)
        .sql(" WHERE id IN (SELECT id FROM jobs WHERE kind IN ")
        .bind_list(request.kinds.iter())
        .sql(" AND ((status = 'queued' AND run_at <= ")
        .bind(request.now)
        .sql(") OR (status = 'running' AND lease_until < ")
        .bind(request.now)
        .sql(" AND attempts < max_attempts)) ORDER BY run_at, id LIMIT ")
        .bind(request.limit)
        .sql(<Conn as ClaimLocking>::SKIP_LOCKED)
        .sql(") RETURNING ")
        .sql(JOB_COLUMNS);
    job_records(claim.load::<JobRow>(conn).await?)
}

/// Marks dead the running jobs of `kinds` whose lease lapsed on their last attempt
/// (`claim_jobs` leaves them: they have no attempt left to claim).
pub async fn bury_lapsed_jobs(
    conn: &mut Conn,
    kinds: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::status.eq(JobStatus::Running.as_str()))
            .filter(jobs::lease_until.lt(StoredInstant(now)))
            .filter(jobs::attempts.ge(jobs::max_attempts))
            .filter(jobs::kind.eq_any(kinds)),
    )
    .set((
        jobs::status.eq(JobStatus::Dead.as_str()),
        jobs::last_error.eq(LAPSED_ON_LAST_ATTEMPT),
        jobs::lease_until.eq(None::<StoredInstant>),
        jobs::finished_at.eq(StoredInstant(now)),
        jobs::updated_at.eq(StoredInstant(now)),
    ))
    .execute(conn)
    .await?)
}

/// Records how the attempt `lease` ends; `false` when the lease is no longer the
/// job's (taken over after it lapsed), and then nothing changes.
pub async fn settle_job(
    conn: &mut Conn,
    lease: &Lease,
    settlement: Settlement<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let held = jobs::table
        .filter(jobs::id.eq(lease.job_id.0))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::lease_owner.eq(&lease.owner))
        .filter(jobs::attempts.eq(lease.attempt));
    let now = StoredInstant(now);
    let no_lease = jobs::lease_until.eq(None::<StoredInstant>);
    let updated = match settlement {
        Settlement::Succeeded => {
            diesel::update(held)
                .set((
                    jobs::status.eq(JobStatus::Succeeded.as_str()),
                    no_lease,
                    jobs::finished_at.eq(now),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)
                .await?
        }
        Settlement::Retry { run_at, error } => {
            diesel::update(held)
                .set((
                    jobs::status.eq(JobStatus::Queued.as_str()),
                    jobs::run_at.eq(StoredInstant(run_at)),
                    jobs::last_error.eq(error),
                    no_lease,
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)
                .await?
        }
        Settlement::Dead { error } => {
            diesel::update(held)
                .set((
                    jobs::status.eq(JobStatus::Dead.as_str()),
                    jobs::last_error.eq(error),
                    no_lease,
                    jobs::finished_at.eq(now),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(updated > 0)
}

/// Moves the lease's expiry to `until`; `false` when the lease is no longer the job's.
pub async fn extend_job_lease(
    conn: &mut Conn,
    lease: &Lease,
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        jobs::table
            .filter(jobs::id.eq(lease.job_id.0))
            .filter(jobs::status.eq(JobStatus::Running.as_str()))
            .filter(jobs::lease_owner.eq(&lease.owner))
            .filter(jobs::attempts.eq(lease.attempt)),
    )
    .set((
        jobs::lease_until.eq(StoredInstant(until)),
        jobs::updated_at.eq(StoredInstant(now)),
    ))
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

pub async fn job(conn: &mut Conn, id: JobId) -> Result<Option<JobRecord>, StoreError> {
    let row: Option<JobRow> = jobs::table
        .find(id.0)
        .select(JobRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(JobRecord::try_from).transpose()
}

/// The job, locked until the transaction ends (PostgreSQL), so that a requeue and a
/// claim do not interleave.
pub async fn job_for_update(conn: &mut Conn, id: JobId) -> Result<Option<JobRecord>, StoreError> {
    let row: Option<JobRow> = lock_rows!(jobs::table.find(id.0).select(JobRow::as_select()))
        .first(conn)
        .await
        .optional()?;
    row.map(JobRecord::try_from).transpose()
}

/// Queues a dead job again with all its attempts; `false` when it is not dead, or
/// when a live job holds its dedupe key (a unique violation, which aborts the
/// transaction on PostgreSQL: the caller rolls back).
pub async fn requeue_job(
    conn: &mut Conn,
    id: JobId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let now = StoredInstant(now);
    let result = diesel::update(
        jobs::table
            .find(id.0)
            .filter(jobs::status.eq(JobStatus::Dead.as_str())),
    )
    .set((
        jobs::status.eq(JobStatus::Queued.as_str()),
        jobs::attempts.eq(0),
        jobs::run_at.eq(now),
        jobs::lease_until.eq(None::<StoredInstant>),
        jobs::finished_at.eq(None::<StoredInstant>),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)
    .await;
    match result {
        Ok(updated) => Ok(updated > 0),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A page of jobs, newest first.
pub async fn list_jobs(conn: &mut Conn, filter: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
    let mut query = jobs::table.select(JobRow::as_select()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(jobs::status.eq(status.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(jobs::kind.eq(kind));
    }
    if let Some(before) = filter.before {
        query = query.filter(jobs::id.lt(before.0));
    }
    let rows: Vec<JobRow> = query
        .order(jobs::id.desc())
        .limit(filter.limit)
        .load(conn)
        .await?;
    job_records(rows)
}

/// How many jobs there are of each kind in each status (none: not listed).
pub async fn job_counts(conn: &mut Conn) -> Result<Vec<JobCount>, StoreError> {
    let rows: Vec<(String, String, i64)> = jobs::table
        .group_by((jobs::kind, jobs::status))
        .select((jobs::kind, jobs::status, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(kind, status, count)| {
            let status = JobStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {status:?}")))?;
            Ok(JobCount { kind, status, count })
        })
        .collect()
}

/// The earliest `run_at` among each kind's queued jobs.
pub async fn oldest_queued_jobs(
    conn: &mut Conn,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, StoreError> {
    let rows: Vec<OldestQueuedRow> =
        Statement::new("SELECT kind, MIN(run_at) AS oldest FROM jobs WHERE status = 'queued' GROUP BY kind")
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|row| (row.kind, row.oldest.0)).collect())
}

/// Each kind's queued jobs: how many, and since when the longest-waiting due one
/// has been due. One statement over the queued jobs only (`jobs_by_status` on
/// PostgreSQL), never the finished ones, which pile up.
pub async fn queued_jobs(
    conn: &mut Conn,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<QueuedJobs>, StoreError> {
    let mut query = Statement::new("SELECT kind, COUNT(*) AS queued, MIN(CASE WHEN run_at <= ");
    query
        .bind(now)
        .sql(" THEN run_at END) AS oldest_due FROM jobs WHERE status = 'queued' GROUP BY kind");
    let rows: Vec<QueuedJobsRow> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| QueuedJobs {
            kind: row.kind,
            queued: row.queued,
            oldest_due: row.oldest_due.map(|at| at.0),
        })
        .collect())
}
