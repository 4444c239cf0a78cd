//! A circuit breaker per integration: after `failures` failures within `window` it
//! opens, and calls skip the integration (failing over at once instead of waiting
//! on a dead vendor); after `open_for` one call is let through as a probe
//! (half-open), whose outcome closes the breaker or opens it again.
//!
//! Only failures that say the vendor is unwell count: transient and ambiguous
//! ones. A final error is the vendor answering — it refused the data — so it
//! counts as a success for the breaker. State is per node, kept in process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    pub failures: u32,
    pub window: Duration,
    pub open_for: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failures: 5,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// Whether a call may go to the integration now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// The one call of a half-open breaker; its outcome decides the state.
    Probe,
    /// The breaker is open (or its probe is out): skip the integration.
    Refused,
}

#[derive(Debug)]
struct Breaker {
    state: BreakerState,
    recent_failures: VecDeque<Instant>,
    opened_at: Instant,
    /// The integration's vendor, for the metrics (which show breakers by vendor).
    vendor: String,
}

impl Breaker {
    fn closed(vendor: String) -> Self {
        Breaker {
            state: BreakerState::Closed,
            recent_failures: VecDeque::new(),
            opened_at: Instant::now(),
            vendor,
        }
    }

    /// The state now (an open breaker whose time is up shows as half-open).
    fn current(&self, open_for: Duration) -> BreakerState {
        if self.state == BreakerState::Open && self.opened_at.elapsed() >= open_for {
            BreakerState::HalfOpen
        } else {
            self.state
        }
    }
}

/// The breakers of every integration this node has called.
#[derive(Debug, Default)]
pub struct Breakers {
    policy: BreakerPolicy,
    by_integration: Mutex<HashMap<String, Breaker>>,
}

impl Breakers {
    pub fn new(policy: BreakerPolicy) -> Self {
        Breakers {
            policy,
            by_integration: Mutex::default(),
        }
    }

    pub fn admit(&self, integration_id: &str) -> Admission {
        let mut breakers = self.lock();
        let Some(breaker) = breakers.get_mut(integration_id) else {
            return Admission::Allowed;
        };
        match breaker.state {
            BreakerState::Closed => Admission::Allowed,
            // A probe whose caller never reported (it was cancelled) is given up on
            // after the same time, so the breaker cannot stay half-open forever.
            BreakerState::Open | BreakerState::HalfOpen
                if breaker.opened_at.elapsed() >= self.policy.open_for =>
            {
                breaker.state = BreakerState::HalfOpen;
                breaker.opened_at = Instant::now();
                Admission::Probe
            }
            BreakerState::Open | BreakerState::HalfOpen => Admission::Refused,
        }
    }

    pub fn record_success(&self, integration_id: &str) {
        let mut breakers = self.lock();
        if let Some(breaker) = breakers.get_mut(integration_id) {
            if breaker.state != BreakerState::Closed {
                tracing::info!(integration_id, "circuit closed");
            }
            *breaker = Breaker::closed(std::mem::take(&mut breaker.vendor));
        }
    }

    /// Counts a failure of the integration (of `vendor`); returns the state after it.
    pub fn record_failure(&self, integration_id: &str, vendor: &str) -> BreakerState {
        let now = Instant::now();
        let mut breakers = self.lock();
        let breaker = breakers
            .entry(integration_id.to_owned())
            .or_insert_with(|| Breaker::closed(vendor.to_owned()));
        match breaker.state {
            BreakerState::HalfOpen => self.open(integration_id, breaker, now),
            BreakerState::Open => {}
            BreakerState::Closed => {
                breaker.recent_failures.push_back(now);
                while breaker
                    .recent_failures
                    .front()
                    .is_some_and(|at| now.duration_since(*at) > self.policy.window)
                {
                    breaker.recent_failures.pop_front();
                }
                if breaker.recent_failures.len() >= self.policy.failures as usize {
                    self.open(integration_id, breaker, now);
                }
            }
        }
        breaker.state
    }

    /// The state now, as a health answer shows it (an open breaker whose time is
    /// up shows as half-open: the next call probes).
    pub fn state(&self, integration_id: &str) -> BreakerState {
        self.lock()
            .get(integration_id)
            .map_or(BreakerState::Closed, |breaker| {
                breaker.current(self.policy.open_for)
            })
    }

    /// Each breaker's vendor and state now (as `state` shows it); integrations
    /// that never failed have none, and are closed.
    pub fn states(&self) -> Vec<(String, BreakerState)> {
        self.lock()
            .values()
            .map(|breaker| (breaker.vendor.clone(), breaker.current(self.policy.open_for)))
            .collect()
    }

    fn open(&self, integration_id: &str, breaker: &mut Breaker, now: Instant) {
        tracing::warn!(
            integration_id,
            open_for_ms = self.policy.open_for.as_millis() as u64,
            "circuit opened"
        );
        breaker.state = BreakerState::Open;
        breaker.opened_at = now;
        breaker.recent_failures.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Breaker>> {
        self.by_integration
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "claimmd-primary";
    const VENDOR: &str = "claimmd";

    fn breakers() -> Breakers {
        Breakers::new(BreakerPolicy {
            failures: 3,
            window: Duration::from_secs(10),
            open_for: Duration::from_secs(5),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn closed_opens_after_n_failures_within_the_window() {
        let breakers = breakers();
        assert_eq!(breakers.record_failure(ID, VENDOR), BreakerState::Closed);
        assert_eq!(breakers.record_failure(ID, VENDOR), BreakerState::Closed);
        assert_eq!(breakers.admit(ID), Admission::Allowed);
        assert_eq!(breakers.record_failure(ID, VENDOR), BreakerState::Open);
        assert_eq!(breakers.admit(ID), Admission::Refused);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_older_than_the_window_do_not_count() {
        let breakers = breakers();
        breakers.record_failure(ID, VENDOR);
        breakers.record_failure(ID, VENDOR);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(breakers.record_failure(ID, VENDOR), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_forgets_earlier_failures() {
        let breakers = breakers();
        breakers.record_failure(ID, VENDOR);
        breakers.record_failure(ID, VENDOR);
        breakers.record_success(ID);
        assert_eq!(breakers.record_failure(ID, VENDOR), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn open_lets_one_probe_through_after_its_time() {
        let breakers = breakers();
        for _ in 0..3 {
            breakers.record_failure(ID, VENDOR);
        }
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(breakers.admit(ID), Admission::Refused);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(breakers.state(ID), BreakerState::HalfOpen);
        assert_eq!(breakers.admit(ID), Admission::Probe);
        // Only one probe at a time.
        assert_eq!(breakers.admit(ID), Admission::Refused);
    }

    #[tokio::test(start_paused = true)]
    async fn states_name_each_breaker_s_vendor_as_the_health_answer_shows_it() {
        let breakers = breakers();
        assert!(breakers.states().is_empty(), "no breaker before a failure");
        for _ in 0..3 {
            breakers.record_failure(ID, VENDOR);
        }
        breakers.record_failure("availity-backup", "availity");
        let mut states = breakers.states();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            states,
            vec![
                ("availity".to_owned(), BreakerState::Closed),
                (VENDOR.to_owned(), BreakerState::Open),
            ]
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(breakers
            .states()
            .contains(&(VENDOR.to_owned(), BreakerState::HalfOpen)));
        breakers.record_success(ID);
        assert!(breakers
            .states()
            .contains(&(VENDOR.to_owned(), BreakerState::Closed)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_probe_closes_and_a_failed_one_reopens() {
        let breakers = breakers();
        for _ in 0..3 {
            breakers.record_failure(ID, VENDOR);
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(breakers.admit(ID), Admission::Probe);
        assert_eq!(breakers.record_failure(ID, VENDOR), BreakerState::Open);
        assert_eq!(breakers.admit(ID), Admission::Refused);

        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(breakers.admit(ID), Admission::Probe);
        breakers.record_success(ID);
        assert_eq!(breakers.state(ID), BreakerState::Closed);
        assert_eq!(breakers.admit(ID), Admission::Allowed);
    }
}
