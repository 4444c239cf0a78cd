//! Prometheus metrics, registered once in the process-wide default registry and
//! served at `GET /metrics` in the text format.

use std::sync::LazyLock;

use prometheus::{
    register_int_counter, register_int_counter_vec, Encoder, IntCounter, IntCounterVec, TextEncoder,
};

static MLLP_FRAMES_REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_mllp_frames_refused_total",
        "MLLP frames refused, by reason; the connection is closed",
        &["reason"]
    )
    .expect("metric registered once")
});

static MLLP_MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_mllp_messages_total",
        "HL7 v2 messages received, by message type and outcome",
        &["type", "outcome"]
    )
    .expect("metric registered once")
});

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

/// A frame over `mllp_max_frame` closed its connection.
pub fn mllp_oversize_frame() {
    MLLP_FRAMES_REFUSED.with_label_values(&["oversize"]).inc();
}

/// One message processed: `message_type` is MSH-9.1 (a bounded set of values).
pub fn mllp_message(message_type: &str, outcome: &str) {
    MLLP_MESSAGES.with_label_values(&[message_type, outcome]).inc();
}

/// Every registered metric in the Prometheus text format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&prometheus::gather(), &mut buffer)
        .expect("the text encoder writes to memory");
    String::from_utf8(buffer).expect("the text format is UTF-8")
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
