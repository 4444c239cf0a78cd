//! How a node behaves while Redis does not answer one of its uses: the use falls
//! back to what works without Redis (the database, this node alone), Redis is left
//! alone for a moment so that an outage costs no waiting per request, and the log
//! gets one warning a minute saying how often it happened since the last one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long Redis is left alone after it failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The least time between two warnings about one use.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// One use's view of Redis's health.
pub struct Outage {
    /// What the warning says fell back, and to what.
    what: &'static str,
    /// Times below are milliseconds since this.
    started: Instant,
    /// Redis is not asked before this, after a failure.
    retry_at_ms: AtomicU64,
    /// No warning before this.
    next_warning_ms: AtomicU64,
    /// Fallbacks since the last warning.
    fallbacks: AtomicU64,
}

impl Outage {
    /// `what` completes "Redis is not answering …", e.g. "resource cache reads;
    /// they go to the database".
    pub fn new(what: &'static str) -> Self {
        Outage {
            what,
            started: Instant::now(),
            retry_at_ms: AtomicU64::new(0),
            next_warning_ms: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// Whether Redis may be asked now (it has not failed within the last second).
    pub fn may_ask(&self) -> bool {
        self.now_ms() >= self.retry_at_ms.load(Ordering::Relaxed)
    }

    /// One operation did without Redis.
    pub fn fell_back(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// Redis failed: it is left alone for a while; a warning unless one was given
    /// within the minute.
    pub fn failed(&self, error: &dyn std::fmt::Display) {
        let now = self.now_ms();
        self.retry_at_ms
            .store(now + RETRY_AFTER.as_millis() as u64, Ordering::Relaxed);
        let due = self.next_warning_ms.load(Ordering::Relaxed);
        let next = now + WARNING_INTERVAL.as_millis() as u64;
        if now >= due
            && self
                .next_warning_ms
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %error,
                fallbacks = self.fallbacks.swap(0, Ordering::Relaxed),
                "Redis is not answering {} (at most one warning a minute)",
                self.what
            );
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_leaves_redis_alone_for_a_moment() {
        let outage = Outage::new("a test");
        assert!(outage.may_ask());
        outage.failed(&"refused");
        assert!(!outage.may_ask());
    }
}
