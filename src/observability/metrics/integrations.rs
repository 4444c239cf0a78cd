//! Calls to vendors through the integration orchestrator: every call by vendor,
//! operation and outcome (the outcomes of the attempt log), retries, failovers,
//! and each vendor's circuit-breaker state (read when scraped).
//!
//! `claimbridge_integration_circuit_state` is 0 when closed, 1 half-open (the next
//! call is a probe), 2 open (calls skip the vendor); a vendor with several
//! integrations shows the worst of their states.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::integrations::breaker::BreakerState;
use crate::integrations::orchestrator::Orchestrator;
use crate::integrations::Vendor;

static CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_integration_calls_total",
        "Calls to integrations by vendor, operation and outcome (circuit_open and misconfigured: skipped, nothing sent)",
        &["vendor", "operation", "outcome"]
    )
    .expect("metric registered once")
});

static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_integration_retries_total",
        "Calls repeated on the same integration after a transient failure, by vendor and operation",
        &["vendor", "operation"]
    )
    .expect("metric registered once")
});

static FAILOVERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_integration_failovers_total",
        "Operations moved on to the next integration, by the vendor given up on and the operation",
        &["vendor", "operation"]
    )
    .expect("metric registered once")
});

/// A vendor name as stored, bounded to the vendors there are plugins for.
fn vendor_label(vendor: &str) -> &'static str {
    Vendor::parse(vendor).map_or("other", Vendor::as_str)
}

/// One call ended (or was skipped) with `outcome`.
pub fn call(vendor: &str, operation: &str, outcome: &str) {
    CALLS
        .with_label_values(&[vendor_label(vendor), operation, outcome])
        .inc();
}

/// A call is about to be made again on the same integration.
pub fn retry(vendor: &str, operation: &str) {
    RETRIES
        .with_label_values(&[vendor_label(vendor), operation])
        .inc();
}

/// The operation left `vendor`'s integration for the next one.
pub fn failover(vendor: &str, operation: &str) {
    FAILOVERS
        .with_label_values(&[vendor_label(vendor), operation])
        .inc();
}

/// The gauge of one server's breakers.
pub(super) struct BreakerGauge(IntGaugeVec);

impl BreakerGauge {
    pub(super) fn register(registry: &Registry) -> Self {
        let gauge = IntGaugeVec::new(
            Opts::new(
                "claimbridge_integration_circuit_state",
                "Circuit breaker state by vendor on this node: 0 closed, 1 half-open, 2 open (the worst of the vendor's integrations)",
            ),
            &["vendor"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(gauge.clone()))
            .expect("metric registered once");
        BreakerGauge(gauge)
    }

    pub(super) fn refresh(&self, orchestrator: &Orchestrator) {
        let mut worst = Vendor::ALL.map(|vendor| (vendor, 0));
        for (vendor, state) in orchestrator.breaker_states() {
            if let Some((_, value)) = worst.iter_mut().find(|(v, _)| v.as_str() == vendor) {
                *value = (*value).max(severity(state));
            }
        }
        for (vendor, value) in worst {
            self.0.with_label_values(&[vendor.as_str()]).set(value);
        }
    }
}

fn severity(state: BreakerState) -> i64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}
