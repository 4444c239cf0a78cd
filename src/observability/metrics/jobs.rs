//! Job runs, by kind and outcome (how the attempt was recorded).

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

static RUNS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_job_runs_total",
        "Job attempts run on this node, by kind and outcome (succeeded, retrying, dead, lease_lost, not_recorded)",
        &["kind", "outcome"]
    )
    .expect("metric registered once")
});

/// An attempt of a job of `kind` ended; `kind` is one this node has a handler for.
pub fn run(kind: &str, outcome: &str) {
    RUNS.with_label_values(&[kind, outcome]).inc();
}
