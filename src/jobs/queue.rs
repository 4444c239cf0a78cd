//! The queue's operations over the store: enqueue (deduplicated), claim under a
//! lease, and end an attempt — succeeded, retried after a backoff, or dead — only
//! while the lease is still the job's. Writes go through `Store::begin`, which on
//! SQLite takes the single writer lock, so a claim there is alone by construction.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::backoff::Backoff;
use super::handler::JobError;
use super::job::{Job, NewJob};
use crate::config::Settings;
use crate::store::jobs::{ClaimRequest, JobFilter, JobId, JobRecord, JobStatus, Lease, Settlement};
use crate::store::{LockMode, Session, Store, StoreError};

/// Longest `lastError` kept, in bytes: a vendor's whole error page is not useful.
const MAX_ERROR_LEN: usize = 2000;

/// Times an enqueue retries when the live job holding its dedupe key finished
/// between the insert that found it and the look-up of it.
const ENQUEUE_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The attempt's lease lapsed and another claim took the job over: this outcome
    /// is not recorded (the new owner's will be).
    #[error("the lease on job {0} is no longer held")]
    LeaseLost(JobId),
    #[error("no job has id {0}")]
    NotFound(JobId),
    #[error("job {id} is {}: only dead jobs are requeued", status.as_str())]
    NotDead { id: JobId, status: JobStatus },
    #[error("job {0} cannot be requeued while another job with its dedupe key is queued or running")]
    KeyInUse(JobId),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `enqueue` did: stored the job, or found the live one with its dedupe key.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub job: Job,
    pub created: bool,
}

/// How a failed attempt leaves its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Queued again, due at this time.
    Retrying(DateTime<Utc>),
    Dead,
}

/// One kind's jobs by status. `oldest_queued_secs` is how long the queued job due
/// first has been waiting past its `run_at` (0 when none is due yet), `None` with
/// nothing queued: the figure that shows a kind no node is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStatus {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub dead: i64,
    pub oldest_queued_secs: Option<i64>,
}

impl KindStatus {
    fn empty(kind: &str) -> Self {
        KindStatus {
            kind: kind.to_owned(),
            queued: 0,
            running: 0,
            succeeded: 0,
            dead: 0,
            oldest_queued_secs: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// The wait before a failed job's next attempt.
    pub retry: Backoff,
}

impl QueueSettings {
    pub fn from_settings(settings: &Settings) -> Self {
        QueueSettings {
            retry: Backoff {
                base: Duration::from_millis(settings.jobs_retry_base_ms),
                cap: Duration::from_secs(settings.jobs_retry_cap_secs),
            },
        }
    }
}

/// The job queue over one `Store` (so over one pool: make one per runtime, as
/// `Database` explains).
pub struct JobQueue {
    store: Store,
    settings: QueueSettings,
}

impl JobQueue {
    pub fn new(store: Store, settings: QueueSettings) -> Self {
        JobQueue { store, settings }
    }

    /// What tells this node's runner that jobs were queued (by any node).
    pub fn wake(&self) -> std::sync::Arc<super::JobWake> {
        std::sync::Arc::clone(self.store.job_wake())
    }

    /// Stores `job`, queued; with a dedupe key held by a live job, returns that job
    /// instead (`created: false`).
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, QueueError> {
        let mut tx = self.store.begin().await?;
        let enqueued = enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        Ok(enqueued)
    }

    /// Stores `job` unless any job, finished or not, ever had its dedupe key (which
    /// it must have); `false` when one had. How each period of a recurring job is
    /// enqueued once by however many nodes. The key's lock makes nodes enqueueing
    /// the same period take turns: without it, a node whose look-up ran just before
    /// another's insert committed would miss that job if it had also finished (the
    /// unique index covers live jobs only) and enqueue the period again.
    pub async fn enqueue_once(&self, job: NewJob) -> Result<bool, QueueError> {
        let record = job.record(Utc::now()).map_err(QueueError::Invalid)?;
        let key = record
            .dedupe_key
            .clone()
            .ok_or_else(|| QueueError::Invalid("enqueue_once needs a dedupe key".into()))?;
        let mut tx = self.store.begin().await?;
        tx.lock_keys(std::slice::from_ref(&key), LockMode::Exclusive)
            .await?;
        let inserted = tx.insert_job_unless_keyed(&record, &key).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Claims up to `limit` due jobs of `kinds` for `owner` for `lease`, oldest due
    /// first: queued jobs whose time has come, and running jobs whose lease lapsed
    /// (their node stopped) with attempts left. Running jobs whose lease lapsed on
    /// their last attempt are made dead on the way.
    pub async fn claim(
        &self,
        owner: &str,
        kinds: &[String],
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Job>, QueueError> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let request = ClaimRequest {
            owner,
            kinds,
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            now,
            lease_until: now + chrono_duration(lease)?,
        };
        if !self.store.session().await?.has_claimable_jobs(kinds, now).await? {
            return Ok(Vec::new());
        }
        let mut tx = self.store.begin().await?;
        let buried = tx.bury_lapsed_jobs(kinds, now).await?;
        let claimed = tx.claim_jobs(&request).await?;
        tx.commit().await?;
        if buried > 0 {
            tracing::warn!(buried, "jobs dead: their lease lapsed on their last attempt");
        }
        let mut jobs = jobs(claimed)?;
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    /// Records the attempt `lease` as succeeded; `LeaseLost` when the job was taken
    /// over, and then nothing changes.
    pub async fn complete(&self, lease: &Lease) -> Result<(), QueueError> {
        let mut tx = self.store.begin().await?;
        let settled = tx.settle_job(lease, Settlement::Succeeded, Utc::now()).await?;
        finish(tx, settled, lease).await
    }

    /// Records the attempt `lease` as failed: queued again after a backoff when the
    /// error is retryable and attempts are left, else dead. `LeaseLost` when the job
    /// was taken over, and then nothing changes.
    pub async fn fail(&self, lease: &Lease, error: &JobError) -> Result<AfterFailure, QueueError> {
        let now = Utc::now();
        let message = truncated(&error.message);
        let mut tx = self.store.begin().await?;
        let Some(job) = tx.job_for_update(lease.job_id).await? else {
            tx.rollback().await?;
            return Err(QueueError::LeaseLost(lease.job_id));
        };
        let (settlement, after) = if error.retryable && lease.attempt < job.max_attempts {
            let run_at = now + chrono_duration(self.settings.retry.delay(lease.attempt))?;
            (
                Settlement::Retry {
                    run_at,
                    error: message,
                },
                AfterFailure::Retrying(run_at),
            )
        } else {
            (Settlement::Dead { error: message }, AfterFailure::Dead)
        };
        let settled = tx.settle_job(lease, settlement, now).await?;
        finish(tx, settled, lease).await?;
        Ok(after)
    }

    /// Keeps the attempt `lease` the job's for `lease_for` from now (a long job's
    /// heartbeat); `LeaseLost` when it was taken over.
    pub async fn extend_lease(&self, lease: &Lease, lease_for: Duration) -> Result<(), QueueError> {
        let now = Utc::now();
        let until = now + chrono_duration(lease_for)?;
        let mut tx = self.store.begin().await?;
        let extended = tx.extend_job_lease(lease, until, now).await?;
        finish(tx, extended, lease).await
    }

    /// Queues a dead job again, due now, with all its attempts (an admin's decision
    /// once the cause is fixed).
    pub async fn requeue(&self, id: JobId) -> Result<Job, QueueError> {
        let mut tx = self.store.begin().await?;
        let job = match tx.job_for_update(id).await? {
            None => Err(QueueError::NotFound(id)),
            Some(job) if job.status != JobStatus::Dead => Err(QueueError::NotDead {
                id,
                status: job.status,
            }),
            Some(_) => Ok(()),
        };
        if let Err(refused) = job {
            tx.rollback().await?;
            return Err(refused);
        }
        if !tx.requeue_job(id, Utc::now()).await? {
            tx.rollback().await?;
            return Err(QueueError::KeyInUse(id));
        }
        let requeued = tx.job(id).await?.ok_or(QueueError::NotFound(id))?;
        tx.commit().await?;
        Ok(Job::try_from(requeued)?)
    }

    pub async fn get(&self, id: JobId) -> Result<Option<Job>, QueueError> {
        let record = self.store.session().await?.job(id).await?;
        Ok(record.map(Job::try_from).transpose()?)
    }

    /// A page of jobs, newest first.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, QueueError> {
        jobs(self.store.session().await?.list_jobs(filter).await?)
    }

    /// Counts by status of `kinds` (listed even without jobs) and of every other kind
    /// with jobs, in name order.
    pub async fn status(&self, kinds: &[String]) -> Result<Vec<KindStatus>, QueueError> {
        let mut session = self.store.session().await?;
        let counts = session.job_counts().await?;
        let oldest = session.oldest_queued_jobs().await?;
        let now = Utc::now();
        let mut by_kind: BTreeMap<String, KindStatus> = kinds
            .iter()
            .map(|kind| (kind.clone(), KindStatus::empty(kind)))
            .collect();
        for count in counts {
            let status = by_kind
                .entry(count.kind.clone())
                .or_insert_with(|| KindStatus::empty(&count.kind));
            *match count.status {
                JobStatus::Queued => &mut status.queued,
                JobStatus::Running => &mut status.running,
                JobStatus::Succeeded => &mut status.succeeded,
                JobStatus::Dead => &mut status.dead,
            } = count.count;
        }
        for (kind, run_at) in oldest {
            let waited = (now - run_at).num_seconds().max(0);
            by_kind
                .entry(kind.clone())
                .or_insert_with(|| KindStatus::empty(&kind))
                .oldest_queued_secs = Some(waited);
        }
        Ok(by_kind.into_values().collect())
    }
}

/// Enqueues `job` inside the caller's transaction, so that it is stored if and only
/// if the caller's other writes are (a claim moved to submitted-pending and the job
/// that submits it). With a dedupe key held by a live job, returns that job.
pub async fn enqueue_in(session: &mut Session, job: NewJob) -> Result<Enqueued, QueueError> {
    let record = job.record(Utc::now()).map_err(QueueError::Invalid)?;
    for _ in 0..ENQUEUE_ATTEMPTS {
        if let Some(created) = session.insert_job(&record).await? {
            return Ok(Enqueued {
                job: Job::try_from(created)?,
                created: true,
            });
        }
        // Only a dedupe key conflicts: ids are the database's serial numbers.
        let key = record.dedupe_key.as_deref().ok_or(StoreError::WriteRace)?;
        if let Some(live) = session.live_job_with_key(key).await? {
            return Ok(Enqueued {
                job: Job::try_from(live)?,
                created: false,
            });
        }
    }
    Err(StoreError::WriteRace.into())
}

/// Commits when the lease was still held, else rolls back and says so.
async fn finish(tx: Session, held: bool, lease: &Lease) -> Result<(), QueueError> {
    if held {
        tx.commit().await?;
        Ok(())
    } else {
        tx.rollback().await?;
        Err(QueueError::LeaseLost(lease.job_id))
    }
}

fn jobs(records: Vec<JobRecord>) -> Result<Vec<Job>, QueueError> {
    Ok(records.into_iter().map(Job::try_from).collect::<Result<_, _>>()?)
}

fn chrono_duration(duration: Duration) -> Result<chrono::Duration, QueueError> {
    chrono::Duration::from_std(duration)
        .map_err(|_| QueueError::Invalid(format!("{duration:?} is too long a time")))
}

/// The first `MAX_ERROR_LEN` bytes of `message`, cut at a character boundary.
fn truncated(message: &str) -> &str {
    if message.len() <= MAX_ERROR_LEN {
        return message;
    }
    let mut end = MAX_ERROR_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        let message = "é".repeat(MAX_ERROR_LEN);
        let kept = truncated(&message);
        assert!(kept.len() <= MAX_ERROR_LEN && kept.len() > MAX_ERROR_LEN - 2);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(truncated("timeout"), "timeout");
    }
}
