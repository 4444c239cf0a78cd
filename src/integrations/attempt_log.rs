//! Writes the orchestrator's attempt records to the database in the background, in
//! batches, so recording an attempt costs a channel send on the call's path rather
//! than a database round trip. Readers [`AttemptLog::flush`] first, so an answer
//! always shows every attempt this node made before it. A claim submission's
//! attempts are written before the submission returns ([`AttemptLog::record_now`]):
//! an unanswered upload must be on record before anything else happens to the claim.

use tokio::sync::{mpsc, oneshot};

use crate::store::attempts::AttemptRecord;
use crate::store::Store;

/// The most attempts one insert carries.
const BATCH: usize = 500;

enum Entry {
    /// With whom to tell whether it was stored, if anyone waits.
    Attempt(Box<AttemptRecord>, Option<oneshot::Sender<bool>>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AttemptLog {
    entries: mpsc::UnboundedSender<Entry>,
}

impl AttemptLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (entries, received) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, received));
        AttemptLog { entries }
    }

    pub fn record(&self, attempt: AttemptRecord) {
        // The writer only stops with the runtime.
        let _ = self.entries.send(Entry::Attempt(Box::new(attempt), None));
    }

    /// Records `attempt` and waits until it is stored, with every attempt recorded
    /// before it; `false` when it could not be (the error is logged).
    pub async fn record_now(&self, attempt: AttemptRecord) -> bool {
        let (done, stored) = oneshot::channel();
        if self
            .entries
            .send(Entry::Attempt(Box::new(attempt), Some(done)))
            .is_err()
        {
            return false;
        }
        stored.await.unwrap_or(false)
    }

    /// Waits until every attempt recorded before the call is stored (or its batch
    /// failed and was logged).
    pub async fn flush(&self) {
        let (done, stored) = oneshot::channel();
        if self.entries.send(Entry::Flush(done)).is_ok() {
            let _ = stored.await;
        }
    }
}

async fn write_batches(store: Store, mut received: mpsc::UnboundedReceiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    // Told whether their own attempt's batch was stored.
    let mut stored_waiting = Vec::new();
    let mut waiting = Vec::new();
    while let Some(first) = received.recv().await {
        let mut next = Some(first);
        while let Some(entry) = next.take() {
            match entry {
                Entry::Attempt(attempt, done) => {
                    batch.push(*attempt);
                    stored_waiting.extend(done);
                }
                Entry::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH {
                next = received.try_recv().ok();
            }
        }
        let stored = match insert(&store, &batch).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, attempts = batch.len(), "integration attempts not recorded");
                false
            }
        };
        batch.clear();
        for done in stored_waiting.drain(..) {
            let _ = done.send(stored);
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn insert(store: &Store, batch: &[AttemptRecord]) -> Result<(), crate::store::StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    tx.insert_attempts(batch).await?;
    tx.commit().await
}
