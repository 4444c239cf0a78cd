//! Prometheus metrics, served at `GET /metrics` in the text format.
//!
//! Names follow Prometheus conventions: the `claimbridge_` prefix, `_total` on
//! counters, base units (`_seconds`). Label values come from bounded sets only —
//! route templates, vendors, job kinds, outcomes — never ids, paths or anything a
//! patient could be found by, so that no series names a person and their number
//! stays small.
//!
//! Counters and histograms of events live in the process-wide default registry,
//! one module per area. Figures that describe this server's state (pools, circuit
//! breakers, queued jobs, claims by state) are read when `/metrics` is scraped,
//! into a registry of the server's own (`scrape`).

use std::sync::LazyLock;

use prometheus::{register_int_counter, IntCounter, IntCounterVec};

pub mod backlog;
pub mod db;
pub mod http;
pub mod integrations;
pub mod jobs;
pub mod mllp;
pub mod scrape;
pub mod webhooks;

/// Buckets of latencies, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static AUDIT_EVENTS_WRITTEN: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "claimbridge_audit_events_written_total",
        "AuditEvents committed to the audit trail"
    )
    .expect("metric registered once")
});

static AUDIT_WRITE_FAILURES: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "claimbridge_audit_write_failures_total",
        "AuditEvents that could not be written (after retries); each is also logged"
    )
    .expect("metric registered once")
});

static AUDIT_QUEUE_FULL: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "claimbridge_audit_queue_full_total",
        "Requests that waited because the audit queue was full"
    )
    .expect("metric registered once")
});

static RATE_LIMIT_REDIS_FALLBACKS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "claimbridge_rate_limit_redis_fallbacks_total",
        "Requests whose rate limit was counted on this node because Redis did not answer in time"
    )
    .expect("metric registered once")
});

/// `count` AuditEvents were committed.
pub fn audit_written(count: usize) {
    AUDIT_EVENTS_WRITTEN.inc_by(count as u64);
}

/// `count` AuditEvents could not be written.
pub fn audit_write_failed(count: usize) {
    AUDIT_WRITE_FAILURES.inc_by(count as u64);
}

/// A request found the audit queue full and waited.
pub fn audit_queue_full() {
    AUDIT_QUEUE_FULL.inc();
}

/// A request's rate limit was counted in process: Redis failed or was left alone
/// after failing.
pub fn rate_limit_redis_fallback() {
    RATE_LIMIT_REDIS_FALLBACKS.inc();
}

// The resource cache and the signals between nodes (issue 8, items 4 and 5).

static RESOURCE_CACHE_LOOKUPS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "claimbridge_resource_cache_lookups_total",
        "Reads by id that asked the resource cache, by result (hit: answered from it)",
        &["result"]
    )
    .expect("metric registered once")
});

static CACHE_REDIS_FALLBACKS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "claimbridge_cache_redis_fallbacks_total",
        "Resource cache operations done without Redis because it failed or did not answer in time, \
         by operation (read: served from the database; fill: not cached; invalidate: retried in the background)",
        &["operation"]
    )
    .expect("metric registered once")
});

static CACHE_PENDING_INVALIDATIONS: LazyLock<prometheus::IntGauge> = LazyLock::new(|| {
    prometheus::register_int_gauge!(
        "claimbridge_cache_pending_invalidations",
        "Resource cache invalidations Redis has not taken yet; while any is pending this node reads from the database"
    )
    .expect("metric registered once")
});

static REDIS_SIGNALS_LOST: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "claimbridge_redis_signals_lost_total",
        "Revocations and job wake-ups not published to the other nodes because Redis did not answer \
         (they act at their next recheck or poll instead)"
    )
    .expect("metric registered once")
});

/// A read by id asked the cache: `hit` when it answered.
pub fn resource_cache_lookup(hit: bool) {
    RESOURCE_CACHE_LOOKUPS
        .with_label_values(&[if hit { "hit" } else { "miss" }])
        .inc();
}

/// A cache operation (`read`, `fill`, `invalidate`) went without Redis.
pub fn cache_redis_fallback(operation: &'static str) {
    CACHE_REDIS_FALLBACKS.with_label_values(&[operation]).inc();
}

pub fn cache_pending_invalidations(count: usize) {
    CACHE_PENDING_INVALIDATIONS.set(i64::try_from(count).unwrap_or(i64::MAX));
}

pub fn redis_signal_lost() {
    REDIS_SIGNALS_LOST.inc();
}
