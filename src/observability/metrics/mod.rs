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

use prometheus::{register_int_counter, IntCounter};

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
