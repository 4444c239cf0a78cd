//! How long a failed job waits before its next attempt: exponential backoff with
//! full jitter (a uniformly random wait between zero and the exponential ceiling),
//! so jobs that failed together — every submission while a clearinghouse was down —
//! spread their retries out instead of returning together.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling after the first attempt; it doubles with each attempt after that.
    pub base: Duration,
    /// The ceiling never exceeds this.
    pub cap: Duration,
}

impl Backoff {
    /// The longest wait after attempt `attempt` (counted from 1): base × 2^(attempt−1),
    /// at most `cap`.
    pub fn ceiling(&self, attempt: i32) -> Duration {
        let doublings = attempt.saturating_sub(1).clamp(0, 31) as u32;
        self.base
            .checked_mul(1 << doublings)
            .map_or(self.cap, |ceiling| ceiling.min(self.cap))
    }

    /// The wait after attempt `attempt` for a random `unit` in [0, 1).
    pub fn delay_at(&self, attempt: i32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// A random wait after attempt `attempt`, within [0, ceiling].
    pub fn delay(&self, attempt: i32) -> Duration {
        self.delay_at(attempt, unit_random())
    }
}

/// A uniform number in [0, 1) from a version 4 UUID's randomness, which the server
/// already draws from the operating system: no generator of its own to seed. The low
/// 53 bits of the UUID are all random (its version and variant bits lie above).
fn unit_random() -> f64 {
    let (_, low) = uuid::Uuid::new_v4().as_u64_pair();
    (low & ((1 << 53) - 1)) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(60),
    };

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        assert_eq!(BACKOFF.ceiling(1), Duration::from_secs(2));
        assert_eq!(BACKOFF.ceiling(2), Duration::from_secs(4));
        assert_eq!(BACKOFF.ceiling(5), Duration::from_secs(32));
        assert_eq!(BACKOFF.ceiling(6), Duration::from_secs(60));
        assert_eq!(BACKOFF.ceiling(1_000), Duration::from_secs(60), "no overflow");
        assert_eq!(BACKOFF.ceiling(0), Duration::from_secs(2));
        assert_eq!(BACKOFF.ceiling(-3), Duration::from_secs(2));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        assert_eq!(BACKOFF.delay_at(3, 0.0), Duration::ZERO);
        assert_eq!(BACKOFF.delay_at(3, 0.5), Duration::from_secs(4));
        assert!(BACKOFF.delay_at(3, 0.999_999) < Duration::from_secs(8));
        assert_eq!(
            BACKOFF.delay_at(3, 7.0),
            Duration::from_secs(8),
            "out-of-range units are clamped"
        );
    }

    #[test]
    fn random_delays_stay_within_bounds_and_vary() {
        for attempt in 1..=8 {
            let delays: Vec<Duration> = (0..200).map(|_| BACKOFF.delay(attempt)).collect();
            assert!(
                delays.iter().all(|d| *d <= BACKOFF.ceiling(attempt)),
                "attempt {attempt}"
            );
            let lowest = delays.iter().min().unwrap();
            let highest = delays.iter().max().unwrap();
            // 200 uniform draws all within one quarter of the range: odds ~1e-24.
            assert!(
                *highest - *lowest > BACKOFF.ceiling(attempt) / 4,
                "attempt {attempt}: jittered"
            );
        }
    }

    #[test]
    fn the_unit_is_within_zero_and_one() {
        assert!((0..1_000).map(|_| unit_random()).all(|u| (0.0..1.0).contains(&u)));
    }
}
