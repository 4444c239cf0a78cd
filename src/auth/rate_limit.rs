//! Requests per client: each client id may make `per_second` requests a second on
//! average, with bursts of `burst` (GCRA), counted on this node (the `governor`
//! crate) or, with `redis_url` set, in Redis for every node at once
//! ([`super::redis_limits`]). Over the limit the gate answers 429 with
//! `Retry-After`.
//!
//! A Redis outage must not fail requests nor hold them: a check Redis does not
//! answer within its timeout is counted in process instead (each node then allows
//! the rate on its own, as without Redis), with a metric, one warning a minute,
//! and Redis left alone for a second before it is asked again, so that an outage
//! costs one slow check a second per node, not one per request.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::redis_limits::{RedisLimits, SharedLimitError};

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

/// How long Redis is left alone after it failed a check.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The least time between two warnings about Redis.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The gate's limits: in Redis when configured, in process otherwise and whenever
/// Redis does not answer.
pub struct RequestLimits {
    local: ClientRateLimits,
    shared: Option<SharedLimits>,
}

struct SharedLimits {
    redis: RedisLimits,
    /// Times below are milliseconds since this.
    started: Instant,
    /// Redis is not asked before this, after a failure.
    retry_at_ms: AtomicU64,
    /// No warning before this.
    next_warning_ms: AtomicU64,
    /// Checks counted in process since the last warning.
    fallbacks: AtomicU64,
}

impl RequestLimits {
    /// `None` when `per_second` is 0 (no limit). With `redis_url`, counted in Redis
    /// under `{redis_key_prefix}:ratelimit:`; the connection is made in the
    /// background, and a Redis that is down at start-up only means counting in
    /// process until it is up.
    pub fn new(
        per_second: u32,
        burst: u32,
        redis_url: Option<&str>,
        redis_key_prefix: &str,
    ) -> Result<Option<Self>, redis::RedisError> {
        let Some(local) = ClientRateLimits::new(per_second, burst) else {
            return Ok(None);
        };
        let shared = match redis_url {
            None => None,
            Some(url) => Some(SharedLimits {
                redis: RedisLimits::new(url, redis_key_prefix, per_second, burst)?,
                started: Instant::now(),
                retry_at_ms: AtomicU64::new(0),
                next_warning_ms: AtomicU64::new(0),
                fallbacks: AtomicU64::new(0),
            }),
        };
        Ok(Some(RequestLimits { local, shared }))
    }

    /// Whether the limits are counted in Redis (when it answers).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Connects to Redis now and says so in the log (a warning if it is not there).
    pub async fn connect(&self) {
        let Some(shared) = &self.shared else { return };
        match shared.redis.connect().await {
            Ok(()) => tracing::info!("request rate limits are counted in Redis, shared by every node"),
            Err(error) => {
                shared.failed(&SharedLimitError::Redis(error));
            }
        }
    }

    /// Counts one request of `client_id`; over the limit, how long until the next
    /// one is allowed.
    pub async fn check(&self, client_id: &str) -> Result<(), Duration> {
        if let Some(shared) = &self.shared {
            if shared.now_ms() >= shared.retry_at_ms.load(Ordering::Relaxed) {
                match shared.redis.check(client_id).await {
                    Ok(answer) => return answer,
                    Err(error) => shared.failed(&error),
                }
            }
            crate::observability::metrics::rate_limit_redis_fallback();
            shared.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        self.local.check(client_id)
    }
}

impl SharedLimits {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Leaves Redis alone for a while; warns unless it did lately.
    fn failed(&self, error: &SharedLimitError) {
        let now = self.now_ms();
        self.retry_at_ms
            .store(now + REDIS_RETRY_AFTER.as_millis() as u64, Ordering::Relaxed);
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
                counted_in_process = self.fallbacks.swap(0, Ordering::Relaxed),
                "Redis is not answering rate limit checks; this node counts requests on its own until it does \
                 (at most one warning a minute; see claimbridge_rate_limit_redis_fallbacks_total)"
            );
        }
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

    #[tokio::test]
    async fn without_redis_the_node_counts_alone() {
        // Nothing listens on port 1: every check is counted in process, and the
        // limit still holds.
        let limits = RequestLimits::new(2, 3, Some("redis://127.0.0.1:1"), "claimbridge-test")
            .unwrap()
            .unwrap();
        assert!(limits.is_shared());
        for _ in 0..3 {
            assert_eq!(limits.check("a").await, Ok(()));
        }
        assert!(limits.check("a").await.is_err());
        assert!(RequestLimits::new(0, 10, None, "claimbridge").unwrap().is_none());
    }
}
