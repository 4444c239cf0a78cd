//! The durable job queue (issue 6, item 5): work that must be done even when the
//! node that asked for it stops — claim submission, status syncs, ERA fetches,
//! webhook deliveries — kept in the database and claimed under leases, so that
//! several nodes share the work and never run one job at once (see migration
//! 000010 for the lease and its fencing). Failures are retried with backoff; a job
//! whose attempts are spent, or whose failure is final, is dead until an admin
//! requeues it.
//!
//! Other modules use it through three things:
//! - `JobRegistry` (in `Application::build`): `handle(kind, handler)` to run a kind,
//!   `every(kind, interval, payload)` to enqueue one each period;
//! - `JobQueue::enqueue(NewJob::new(kind, payload).dedupe_key(…))`, or
//!   `enqueue_in(&mut session, …)` inside a transaction of their own;
//! - `JobHandler` (or any async closure `Fn(Job) -> Result<(), JobError>`).

pub mod backoff;
pub mod handler;
pub mod job;
pub mod queue;
pub mod registry;
pub mod routes;
pub mod runner;
pub mod scheduler;
pub mod wake;

pub use crate::store::jobs::{JobFilter, JobId, JobStatus, Lease};
pub use handler::{JobError, JobHandler};
pub use job::{Job, NewJob, DEFAULT_MAX_ATTEMPTS};
pub use queue::{enqueue_in, AfterFailure, Enqueued, JobQueue, KindStatus, QueueError, QueueSettings};
pub use registry::{JobRegistry, Schedule};
pub use runner::{JobRunner, RunnerSettings};
pub use scheduler::Scheduler;
pub use wake::JobWake;
