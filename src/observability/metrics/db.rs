//! Database connection pools: how long checkouts wait for a connection (a
//! histogram, recorded as they happen), and how many connections each kind of
//! pool has in use, idle and at most (read from the pools when scraped).

use std::sync::LazyLock;

use prometheus::{register_histogram_vec, Histogram, HistogramVec, IntGaugeVec, Opts, Registry};

use crate::store::Database;

/// A checkout usually finds a free connection in microseconds; the upper buckets
/// are a pool too small for its load.
const WAIT_BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

static POOL_WAIT: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "claimbridge_db_pool_wait_seconds",
        "Time a session waited for a pooled database connection, by pool",
        &["pool"],
        WAIT_BUCKETS.to_vec()
    )
    .expect("metric registered once")
});

/// The wait histogram of the pools serving `purpose`.
pub fn pool_wait(purpose: &str) -> Histogram {
    POOL_WAIT.with_label_values(&[purpose])
}

/// The pool gauges of one server.
pub(super) struct PoolGauges {
    connections: IntGaugeVec,
    max: IntGaugeVec,
    waiting: IntGaugeVec,
}

impl PoolGauges {
    pub(super) fn register(registry: &Registry) -> Self {
        let gauges = PoolGauges {
            connections: IntGaugeVec::new(
                Opts::new(
                    "claimbridge_db_pool_connections",
                    "Database connections by pool and state (in_use: held by a session; idle: open and free)",
                ),
                &["pool", "state"],
            )
            .expect("valid metric"),
            max: IntGaugeVec::new(
                Opts::new(
                    "claimbridge_db_pool_max_connections",
                    "The most connections the pools of a purpose may open",
                ),
                &["pool"],
            )
            .expect("valid metric"),
            waiting: IntGaugeVec::new(
                Opts::new(
                    "claimbridge_db_pool_waiting",
                    "Sessions waiting for a connection, by pool",
                ),
                &["pool"],
            )
            .expect("valid metric"),
        };
        for gauge in [&gauges.connections, &gauges.max, &gauges.waiting] {
            registry
                .register(Box::new(gauge.clone()))
                .expect("metric registered once");
        }
        gauges
    }

    pub(super) fn refresh(&self, database: &Database) {
        for (pool, figures) in database.pool_figures() {
            let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            self.connections
                .with_label_values(&[pool, "in_use"])
                .set(count(figures.in_use));
            self.connections
                .with_label_values(&[pool, "idle"])
                .set(count(figures.idle));
            self.max.with_label_values(&[pool]).set(count(figures.max));
            self.waiting
                .with_label_values(&[pool])
                .set(count(figures.waiting));
        }
    }
}
