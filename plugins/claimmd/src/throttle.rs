//! The client-side throttle to Claim.MD's published request budget (100 requests a
//! minute per account). Claim.MD documents the limit but no throttled answer (no 429
//! or `Retry-After` is described), so the plugin keeps to it itself rather than finding
//! out from failures.
//!
//! A sliding window: at most `limit` requests start within any `window`. A request
//! over budget is given the next free start time and waits for it — unless that is
//! further away than the caller is willing to wait, in which case it is refused as
//! transient with the wait as `retry_after`, and nothing is reserved.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use claimbridge_plugin_sdk::PluginError;

/// One per handler, shared by all its operations: the budget is the account's.
#[derive(Debug)]
pub(crate) struct Throttle {
    limit: usize,
    window: Duration,
    /// Start times handed out (some possibly still ahead), oldest first.
    starts: Mutex<VecDeque<Instant>>,
}

impl Throttle {
    pub(crate) fn per_minute(limit: u32) -> Throttle {
        Throttle::new(limit, Duration::from_secs(60))
    }

    pub(crate) fn new(limit: u32, window: Duration) -> Throttle {
        Throttle {
            limit: limit.max(1) as usize,
            window,
            starts: Mutex::new(VecDeque::new()),
        }
    }

    /// Returns when a request may start, having waited at most `max_wait`; a request
    /// that would have to wait longer is refused (transient, with the wait).
    ///
    /// The start time is reserved before waiting, so concurrent callers queue in
    /// order; a caller dropped while waiting leaves its reservation spent, erring on
    /// the side of sending less.
    pub(crate) async fn acquire(&self, max_wait: Duration) -> Result<(), PluginError> {
        let wait = self
            .reserve(Instant::now(), max_wait)
            .map_err(|wait| PluginError::Transient {
                message: format!(
                    "Claim.MD's budget of {} requests per {} s is spent; the next request may start in {} ms",
                    self.limit,
                    self.window.as_secs(),
                    wait.as_millis()
                ),
                retry_after: Some(wait),
            })?;
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "waiting for Claim.MD's request budget"
            );
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Whether a request could start now without waiting (reserving it if so).
    pub(crate) fn try_acquire_now(&self) -> bool {
        self.reserve(Instant::now(), Duration::ZERO).is_ok()
    }

    /// Reserves the earliest start allowed at `now` and returns how far ahead it is,
    /// or, when that is beyond `max_wait`, the wait without reserving.
    fn reserve(&self, now: Instant, max_wait: Duration) -> Result<Duration, Duration> {
        let mut starts = self
            .starts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Starts a whole window ago no longer count against anything from now on.
        while starts.front().is_some_and(|start| *start + self.window <= now) {
            starts.pop_front();
        }
        let start = if starts.len() < self.limit {
            now
        } else {
            // The request `limit` places back must be a window old first. Reserved
            // starts never decrease, so the queue stays ordered.
            starts[starts.len() - self.limit] + self.window
        };
        let wait = start.saturating_duration_since(now);
        if wait > max_wait {
            return Err(wait);
        }
        starts.push_back(start);
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use claimbridge_plugin_sdk::ErrorClass;

    use super::*;

    #[test]
    fn the_budget_is_spent_within_a_window_and_comes_back_after_it() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(throttle.reserve(t0, Duration::ZERO), Ok(Duration::ZERO));
        assert_eq!(
            throttle.reserve(t0 + Duration::from_secs(10), Duration::ZERO),
            Ok(Duration::ZERO)
        );
        // The third must wait until the first is a minute old: 50 s from t0 + 10 s.
        assert_eq!(
            throttle.reserve(t0 + Duration::from_secs(10), Duration::ZERO),
            Err(Duration::from_secs(50))
        );
        // A refusal reserved nothing: at t0 + 60 s one start is free again.
        assert_eq!(
            throttle.reserve(t0 + Duration::from_secs(60), Duration::ZERO),
            Ok(Duration::ZERO)
        );
        assert!(throttle
            .reserve(t0 + Duration::from_secs(60), Duration::ZERO)
            .is_err());
    }

    #[test]
    fn callers_willing_to_wait_queue_one_window_apart_per_limit() {
        let throttle = Throttle::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        let patient = Duration::from_secs(10);
        assert_eq!(throttle.reserve(t0, patient), Ok(Duration::ZERO));
        assert_eq!(throttle.reserve(t0, patient), Ok(Duration::from_secs(1)));
        assert_eq!(throttle.reserve(t0, patient), Ok(Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn an_over_budget_request_waits_rather_than_fails_when_the_wait_fits() {
        let throttle = Throttle::new(2, Duration::from_millis(300));
        let started = Instant::now();
        for _ in 0..3 {
            throttle.acquire(Duration::from_secs(1)).await.unwrap();
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(290), "{waited:?}");
        assert!(waited < Duration::from_secs(1), "{waited:?}");
    }

    #[tokio::test]
    async fn a_wait_beyond_the_callers_patience_is_transient_with_retry_after() {
        let throttle = Throttle::new(1, Duration::from_secs(60));
        throttle.acquire(Duration::from_secs(1)).await.unwrap();
        let started = Instant::now();
        let error = throttle.acquire(Duration::from_secs(1)).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(100), "refused at once");
        assert_eq!(error.class(), ErrorClass::Transient);
        let retry_after = error.retry_after().unwrap();
        assert!(retry_after > Duration::from_secs(58) && retry_after <= Duration::from_secs(60));
    }
}
