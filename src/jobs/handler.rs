//! What a job kind's code implements: run one job, and say whether a failure is
//! worth retrying.

use std::future::Future;

use futures_util::future::BoxFuture;

use super::job::Job;

/// Why a job failed. Retryable failures (a timeout, a 503) run again after a backoff
/// until the job's attempts are spent; the others (data a vendor rejects) make the
/// job dead at once, for an admin to look at and requeue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    /// Stored as the job's `lastError` and shown to admins; never logged, since a
    /// vendor's answer may name a patient.
    pub message: String,
    pub retryable: bool,
}

impl JobError {
    /// A failure that may pass: the job runs again after a backoff.
    pub fn transient(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that another attempt would repeat: the job is dead at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Runs the jobs of one kind. A handler may run more than once for one job (a node
/// that stops mid-job leaves it to be claimed again), so what it does must be safe
/// to repeat, or check first whether it was done.
///
/// Any `Fn(Job) -> impl Future<Output = Result<(), JobError>>` is a handler, so a
/// closure does for a small one.
pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, job: Job) -> BoxFuture<'_, Result<(), JobError>>;
}

impl<F, Fut> JobHandler for F
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    fn run(&self, job: Job) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(self(job))
    }
}
