//! When to call an integration again after a transient failure: exponential
//! backoff with full jitter (a random wait between zero and the exponential
//! bound, so clients that failed together do not retry together), never sooner
//! than the vendor's `Retry-After`, and not at all when the vendor asks for longer
//! than the cap — then the next integration is tried instead of waiting.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls to one integration for one operation, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry), or `None`
    /// when the vendor's `retry_after` is longer than the policy will wait.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let bound = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.cap);
        let jittered = bound.mul_f64(fastrand::f64());
        match retry_after {
            Some(asked) if asked > self.cap => None,
            Some(asked) => Some(jittered.max(asked)),
            None => Some(jittered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        attempts: 5,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(1000),
    };

    #[test]
    fn the_bound_doubles_each_retry_up_to_the_cap_and_jitter_stays_under_it() {
        for (retry, bound) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (30, 1000)] {
            let delays: Vec<Duration> = (0..200).map(|_| POLICY.delay(retry, None).unwrap()).collect();
            assert!(
                delays.iter().all(|d| *d <= Duration::from_millis(bound)),
                "retry {retry}"
            );
            // Full jitter: the waits spread over the range rather than sitting at the bound.
            assert!(
                delays.iter().any(|d| *d < Duration::from_millis(bound / 2)),
                "retry {retry}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_unless_longer_than_the_cap() {
        let asked = Duration::from_millis(700);
        assert!(POLICY.delay(1, Some(asked)).unwrap() >= asked);
        assert_eq!(POLICY.delay(1, Some(Duration::from_secs(30))), None);
    }
}
