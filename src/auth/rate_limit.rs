//! Requests per client: each client id may make `per_second` requests a second on
//! average, with bursts of `burst` (GCRA, the `governor` crate), counted on this
//! node. Over the limit the gate answers 429 with `Retry-After`. Counters shared
//! across nodes (Redis) come with the multi-node work; until then N nodes allow N
//! times the rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Clients remembered before the idle ones are forgotten.
const TRACKED_CLIENTS: usize = 10_000;

pub struct ClientRateLimits {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl ClientRateLimits {
    /// `None` when `per_second` is 0 (no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(ClientRateLimits {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
        })
    }

    /// `per_minute` on average, bursts of `burst` (for password attempts).
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        ClientRateLimits {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `client_id`; over the limit, how long until the next
    /// one is allowed.
    pub fn check(&self, client_id: &str) -> Result<(), Duration> {
        if self.limiter.len() > TRACKED_CLIENTS {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client_id.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let limits = ClientRateLimits::new(2, 3).unwrap();
        for _ in 0..3 {
            assert!(limits.check("a").is_ok());
        }
        let wait = limits.check("a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(limits.check("b").is_ok());
        assert!(ClientRateLimits::new(0, 10).is_none());
    }
}
