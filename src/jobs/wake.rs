//! How job runners learn that jobs were queued without waiting for their next
//! poll: the session that queued them, once committed, wakes this node's runner
//! and, with Redis, every other node's (a [`Signal::JobsQueued`]). A wake-up only
//! makes a runner look sooner; which runner gets a job is still the database's
//! claim (`FOR UPDATE SKIP LOCKED` under a lease), and a lost wake-up costs at
//! most a poll interval.

use std::sync::{Arc, Weak};

use tokio::sync::{broadcast, Notify};

use crate::cluster::{Signal, Signals};

pub struct JobWake {
    local: Notify,
    signals: Option<Arc<Signals>>,
}

impl JobWake {
    /// Wakes this node's runner only.
    pub fn local() -> Arc<Self> {
        Arc::new(JobWake {
            local: Notify::new(),
            signals: None,
        })
    }

    /// Wakes every node's runner through `signals` (and hears theirs); inside a
    /// Tokio runtime.
    pub fn shared(signals: Arc<Signals>) -> Arc<Self> {
        let heard = signals.subscribe();
        let wake = Arc::new(JobWake {
            local: Notify::new(),
            signals: Some(signals),
        });
        tokio::spawn(forward(heard, Arc::downgrade(&wake)));
        wake
    }

    /// Jobs were queued and committed.
    pub async fn queued(&self) {
        self.local.notify_one();
        if let Some(signals) = &self.signals {
            signals.publish(&Signal::JobsQueued).await;
        }
    }

    /// Returns once jobs were queued since the last return (at once if they were
    /// while nobody waited).
    pub async fn wait(&self) {
        self.local.notified().await;
    }
}

/// Turns other nodes' wake-ups into this node's, until the `JobWake` is dropped.
async fn forward(mut heard: broadcast::Receiver<Signal>, wake: Weak<JobWake>) {
    loop {
        let signal = heard.recv().await;
        let Some(wake) = wake.upgrade() else { return };
        match signal {
            Ok(Signal::JobsQueued) | Err(broadcast::error::RecvError::Lagged(_)) => wake.local.notify_one(),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
