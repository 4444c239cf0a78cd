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
    Attempt(Box<AttemptRecord>),
    /// Told whether every batch since the last flush was answered was stored.
    Flush(oneshot::Sender<bool>),
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
        let _ = self.entries.send(Entry::Attempt(Box::new(attempt)));
    }

    /// Records `attempt` and waits until it is stored; `false` when it could not be
    /// (the error is logged).
    pub async fn record_now(&self, attempt: AttemptRecord) -> bool {
        self.record(attempt);
        self.flush().await
    }

    /// Waits until every attempt recorded before the call is stored, or its batch
    /// failed and was logged (`false`).
    pub async fn flush(&self) -> bool {
        let (done, stored) = oneshot::channel();
        if self.entries.send(Entry::Flush(done)).is_err() {
            return false;
        }
        stored.await.unwrap_or(false)
    }
}

async fn write_batches(store: Store, mut received: mpsc::UnboundedReceiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    // An attempt recorded just before its flush may have gone in the batch before
    // the flush's: a flush answers for every batch since the last one answered.
    let mut all_stored = true;
    while let Some(first) = received.recv().await {
        let mut next = Some(first);
        while let Some(entry) = next.take() {
            match entry {
                Entry::Attempt(attempt) => batch.push(*attempt),
                Entry::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH {
                next = received.try_recv().ok();
            }
        }
        if let Err(error) = insert(&store, &batch).await {
            tracing::error!(%error, attempts = batch.len(), "integration attempts not recorded");
            all_stored = false;
        }
        batch.clear();
        if !waiting.is_empty() {
            for done in waiting.drain(..) {
                let _ = done.send(all_stored);
            }
            all_stored = true;
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
