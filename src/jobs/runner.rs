//! Runs due jobs on this node: a task that claims jobs of the kinds it has handlers
//! for, runs up to `concurrency` at once, renews each one's lease while it runs (so a
//! lease can be short and a stopped node's jobs are soon taken over; a job whose
//! lease was taken over anyway is stopped), and records each outcome. It also
//! ticks the scheduler. On shutdown it stops claiming and lets running jobs finish
//! (still renewing their leases) for up to `SHUTDOWN_GRACE`; a job still running
//! then is dropped, its lease lapses, and another node takes it over.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::handler::{JobError, JobHandler};
use super::job::Job;
use super::queue::{AfterFailure, JobQueue, QueueError};
use super::registry::JobRegistry;
use super::scheduler::Scheduler;
use crate::config::Settings;
use crate::store::jobs::Lease;

/// A handler's panic, recorded as its job's error (a retryable one: the panic may
/// come from the state of the moment).
const PANICKED: &str = "the job's handler panicked";
const LEASE_LOST: &str = "stopped: another node took the job over";

/// How long a stopping runner waits for its running jobs: within the usual stop
/// grace period of a container (30 s on Kubernetes and Docker) less a margin.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerSettings {
    /// How long an idle runner waits before it looks for due jobs again.
    pub poll_interval: Duration,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim holds a job; renewed every third of it while the job runs.
    pub lease: Duration,
    /// Whether the runner enqueues its registry's recurring jobs.
    pub recurring: bool,
}

impl RunnerSettings {
    pub fn from_settings(settings: &Settings) -> Self {
        RunnerSettings {
            poll_interval: Duration::from_millis(settings.jobs_poll_interval_ms),
            concurrency: settings.jobs_concurrency,
            lease: Duration::from_secs(settings.jobs_lease_secs),
            recurring: settings.jobs_recurring_enabled,
        }
    }
}

pub struct JobRunner {
    queue: Arc<JobQueue>,
    registry: Arc<JobRegistry>,
    settings: RunnerSettings,
    /// This runner's name in the leases it takes: unique per process start, so a
    /// restarted node does not mistake its previous life's leases for its own.
    owner: String,
}

impl JobRunner {
    pub fn new(queue: JobQueue, registry: Arc<JobRegistry>, settings: RunnerSettings) -> Self {
        JobRunner {
            queue: Arc::new(queue),
            registry,
            settings,
            owner: format!("node-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Claims and runs jobs until `stopped` turns true (or its sender is dropped).
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        let kinds = self.registry.kinds();
        let schedules = self.registry.schedules().filter(|_| self.settings.recurring);
        let mut scheduler = Scheduler::new(schedules);
        let mut running = JoinSet::new();
        let wake = self.queue.wake();
        tracing::info!(owner = %self.owner, kinds = ?kinds, "job runner started");
        while !*stopped.borrow() {
            if let Err(error) = scheduler.tick(&self.queue, chrono::Utc::now()).await {
                tracing::error!(%error, "recurring jobs not enqueued; trying again");
            }
            let free = self.settings.concurrency.saturating_sub(running.len());
            if free > 0 {
                match self
                    .queue
                    .claim(&self.owner, &kinds, free, self.settings.lease)
                    .await
                {
                    Ok(jobs) => {
                        for job in jobs {
                            running.spawn(self.attempt(job));
                        }
                    }
                    Err(error) => tracing::error!(%error, "claiming jobs failed; trying again"),
                }
            }
            // A finished job frees a slot: claim again at once rather than after the
            // poll interval, so a backlog drains at the handlers' pace; and so do
            // jobs queued on this node or, with Redis, on another.
            tokio::select! {
                changed = stopped.changed() => if changed.is_err() { break },
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = wake.wait() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        let left = running.len();
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = running.len(),
                "job runner stopped with jobs still running: another node takes them over once their leases lapse"
            );
        }
        tracing::info!(owner = %self.owner, finished_while_stopping = left, "job runner stopped");
    }

    /// One attempt of `job`: its handler runs while the lease is renewed, then the
    /// outcome is recorded under the lease.
    fn attempt(&self, job: Job) -> impl std::future::Future<Output = ()> + Send + 'static {
        let queue = Arc::clone(&self.queue);
        let handler = self.registry.handler(&job.kind).map(Arc::clone);
        let lease_for = self.settings.lease;
        async move {
            let Some(lease) = job.lease() else {
                return;
            };
            let (id, kind) = (job.id, job.kind.clone());
            let outcome = match handler {
                Some(handler) => {
                    run_renewing(Arc::clone(&queue), handler.as_ref(), job, &lease, lease_for).await
                }
                // Claims name only kinds with handlers: a job of another kind never gets here.
                None => Err(JobError::permanent(format!("no handler for job kind {kind:?}"))),
            };
            let recorded = match &outcome {
                Ok(()) => queue.complete(&lease).await.map(|()| "succeeded"),
                Err(error) => queue.fail(&lease, error).await.map(|after| match after {
                    AfterFailure::Retrying(_) => "retrying",
                    AfterFailure::Dead => "dead",
                }),
            };
            // Ids, kinds and counts only: a job's payload and errors may name a patient.
            let counted = match recorded {
                Ok(state) => {
                    tracing::info!(job = %id, kind, attempt = lease.attempt, state, "job attempt ended");
                    state
                }
                Err(QueueError::LeaseLost(_)) => {
                    tracing::warn!(
                        job = %id,
                        kind,
                        attempt = lease.attempt,
                        "job attempt ended after its lease was taken over: its outcome is not recorded"
                    );
                    "lease_lost"
                }
                Err(error) => {
                    tracing::error!(
                        job = %id,
                        kind,
                        attempt = lease.attempt,
                        %error,
                        "job outcome not recorded: the job runs again once its lease lapses"
                    );
                    "not_recorded"
                }
            };
            crate::observability::metrics::jobs::run(&kind, counted);
        }
    }
}

/// Runs the handler while a task of its own renews the lease every third of its
/// length. The renewals run beside the handler, not between its steps: on SQLite a
/// renewal waits for the writer lock, which the handler may hold in a transaction
/// of its own. A panic is a retryable failure.
///
/// When a renewal finds the job taken over (this node was too slow to renew), the
/// handler is dropped at its next await: the job is the other node's run now, and
/// this one must not go on to do what that one will do (a claim upload this run
/// had begun is waited out by the other, see `Orchestrator::resolve_unanswered`).
/// An open transaction is rolled back as its connection is dropped.
async fn run_renewing(
    queue: Arc<JobQueue>,
    handler: &dyn JobHandler,
    job: Job,
    lease: &Lease,
    lease_for: Duration,
) -> Result<(), JobError> {
    let mut renewal = Renewal(tokio::spawn(renew(queue, lease.clone(), lease_for)));
    let run = AssertUnwindSafe(handler.run(job)).catch_unwind();
    tokio::select! {
        outcome = run => {
            // Stopped for good before the outcome is written, so that no renewal
            // lands after it (and reads as a lease taken over).
            renewal.0.abort();
            let _ = (&mut renewal.0).await;
            outcome.unwrap_or_else(|_| Err(JobError::transient(PANICKED)))
        }
        // The renewals end only when the lease is lost.
        _ = &mut renewal.0 => Err(JobError::transient(LEASE_LOST)),
    }
}

/// The renewal task, aborted when dropped: it must not outlive its attempt, even
/// one dropped unfinished by a runner whose shutdown grace ran out.
struct Renewal(tokio::task::JoinHandle<()>);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn renew(queue: Arc<JobQueue>, lease: Lease, lease_for: Duration) {
    let every = (lease_for / 3).max(Duration::from_millis(10));
    let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        renewals.tick().await;
        match queue.extend_lease(&lease, lease_for).await {
            Ok(()) => {}
            Err(QueueError::LeaseLost(_)) => {
                // Another node has the job: its outcome will be the one kept.
                tracing::warn!(job = %lease.job_id, "job lease taken over while running");
                return;
            }
            Err(error) => tracing::error!(job = %lease.job_id, %error, "job lease not renewed"),
        }
    }
}
