//! The audit trail's writer: requests hand their records to a bounded queue and one
//! background task stores them in batches, many events per transaction.
//!
//! Why a queue and a task: an AuditEvent per read must not cost a read a database
//! round trip of its own. On the request path a read pays one channel send; the
//! task gathers what arrives within [`FLUSH_INTERVAL`] (or up to [`MAX_BATCH`]
//! events) and writes it with one multi-row INSERT per table in one transaction.
//!
//! When the queue is full the sender waits (backpressure) rather than dropping the
//! event or writing it on its own: an audit record is never lost silently, and a
//! database that cannot keep up slows the requests down instead of letting the
//! trail fall behind without bound. The wait is counted
//! (`claimbridge_audit_queue_full_total`).
//!
//! Writes wait for their record to be committed ([`Auditor::record_durably`]): a
//! write the server acknowledged has its AuditEvent stored. A durable record makes
//! the task flush at once, so the cost is one audit transaction per write, shared
//! by every write that arrives meanwhile (group commit), not the flush interval.
//! What is not promised: the record and the change it describes are two commits,
//! so a crash between them loses that one record — for a write whose answer never
//! reached its client. Making them one commit would thread the audit trail through
//! every write path of the store (resources, Bundles, billing); the window is the
//! few milliseconds between the two. HL7 messages received over MLLP, the busiest
//! write path, do make it one commit: ingestion writes their events itself, in the
//! message's transaction (`crate::hl7::ingest`). Reads are recorded without
//! waiting: a crash loses at most the last [`FLUSH_INTERVAL`] of read events.
//!
//! A batch that cannot be written is tried again ([`FLUSH_ATTEMPTS`] in all), then
//! logged (counts only, no content) and counted
//! (`claimbridge_audit_write_failures_total`); its durable senders learn it failed.
//! On shutdown the task writes whatever is queued before it ends.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::event::{AuditRecord, Observer};
use crate::observability::metrics;
use crate::store::audit::NewAuditEvent;
use crate::store::{Store, StoreError};

/// How long a read's record may wait for others to share its transaction.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// Events written in one transaction, at most.
pub const MAX_BATCH: usize = 512;
/// Records queued, at most, before senders wait.
pub const QUEUE_CAPACITY: usize = 8192;
/// Tries per batch before it is given up (logged and counted).
pub const FLUSH_ATTEMPTS: u32 = 3;

struct Queued {
    record: AuditRecord,
    /// Told whether the record was committed, for a durable one.
    done: Option<oneshot::Sender<bool>>,
}

/// Where requests send their records: cheap to clone, one per worker.
#[derive(Clone)]
pub struct Auditor {
    queue: mpsc::Sender<Queued>,
}

impl Auditor {
    /// Queues a record (waiting only while the queue is full).
    pub async fn record(&self, record: AuditRecord) {
        self.enqueue(Queued { record, done: None }).await;
    }

    /// Queues a record and waits until it is committed; `false` when it could not
    /// be written (already logged and counted).
    pub async fn record_durably(&self, record: AuditRecord) -> bool {
        let (done, committed) = oneshot::channel();
        if !self
            .enqueue(Queued {
                record,
                done: Some(done),
            })
            .await
        {
            return false;
        }
        committed.await.unwrap_or(false)
    }

    async fn enqueue(&self, queued: Queued) -> bool {
        let queued = match self.queue.try_send(queued) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Full(queued)) => {
                metrics::audit_queue_full();
                queued
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return stopped(),
        };
        match self.queue.send(queued).await {
            Ok(()) => true,
            Err(_) => stopped(),
        }
    }
}

/// The writer is gone (the server is stopping): the record cannot be kept.
fn stopped() -> bool {
    tracing::error!("an audit event arrived after the audit writer stopped; it was not recorded");
    metrics::audit_write_failed(1);
    false
}

/// The background task; `finish` writes what is queued and waits for it to end.
pub struct AuditWriter {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AuditWriter {
    /// Starts the task on the current runtime, writing through `store`.
    pub fn start(store: Store, observer: Observer) -> (Auditor, AuditWriter) {
        let (queue, received) = mpsc::channel(QUEUE_CAPACITY);
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(run(received, stopping, store, observer));
        (Auditor { queue }, AuditWriter { stop, task })
    }

    /// Stops taking records once those queued are written, and waits for that.
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the audit writer failed");
        }
    }
}

async fn run(
    mut received: mpsc::Receiver<Queued>,
    mut stop: watch::Receiver<bool>,
    store: Store,
    observer: Observer,
) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    while !stopping {
        let first = tokio::select! {
            queued = received.recv() => queued,
            // A dropped `AuditWriter` stops the task too.
            _ = stop.changed() => None,
        };
        let Some(first) = first else { break };
        let mut urgent = first.done.is_some();
        batch.push(first);
        let deadline = tokio::time::Instant::now() + FLUSH_INTERVAL;
        while !urgent && batch.len() < MAX_BATCH {
            tokio::select! {
                queued = received.recv() => match queued {
                    Some(queued) => {
                        urgent = queued.done.is_some();
                        batch.push(queued);
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stop.changed() => {
                    stopping = true;
                    break;
                }
            }
        }
        // What else is queued already shares the transaction.
        while batch.len() < MAX_BATCH {
            match received.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        flush(&store, &observer, &mut batch).await;
    }
    // Stopping: nothing new is taken, what is queued is written.
    received.close();
    while let Some(queued) = received.recv().await {
        batch.push(queued);
        if batch.len() == MAX_BATCH {
            flush(&store, &observer, &mut batch).await;
        }
    }
    flush(&store, &observer, &mut batch).await;
}

async fn flush(store: &Store, observer: &Observer, batch: &mut Vec<Queued>) {
    if batch.is_empty() {
        return;
    }
    let events: Vec<NewAuditEvent> = batch
        .iter()
        .map(|queued| queued.record.to_new_event(observer))
        .collect();
    let mut written = false;
    for attempt in 1..=FLUSH_ATTEMPTS {
        match write(store, &events).await {
            Ok(()) => {
                written = true;
                break;
            }
            Err(error) if attempt < FLUSH_ATTEMPTS => {
                tracing::warn!(%error, events = events.len(), attempt, "audit events not written yet; retrying");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(error) => {
                tracing::error!(%error, events = events.len(), "audit events could not be written");
            }
        }
    }
    if written {
        metrics::audit_written(events.len());
    } else {
        metrics::audit_write_failed(events.len());
    }
    for queued in batch.drain(..) {
        if let Some(done) = queued.done {
            let _ = done.send(written);
        }
    }
}

async fn write(store: &Store, events: &[NewAuditEvent]) -> Result<(), StoreError> {
    let mut transaction = store.begin().await?;
    transaction.insert_audit_events(events).await?;
    transaction.commit().await
}
