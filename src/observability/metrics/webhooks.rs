//! Webhooks: deliveries to subscribers, and vendors' webhooks received.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

static DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_webhook_deliveries_total",
        "Webhook delivery attempts by outcome (delivered, refused: a non-2xx answer, timeout, unreachable, broken_off)",
        &["outcome"]
    )
    .expect("metric registered once")
});

static RECEIVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_webhooks_received_total",
        "Vendor webhooks received, by vendor and outcome",
        &["vendor", "outcome"]
    )
    .expect("metric registered once")
});

/// One delivery attempt ended with `outcome`.
pub fn delivery(outcome: &str) {
    DELIVERIES.with_label_values(&[outcome]).inc();
}

/// A webhook for `vendor` (one there is a plugin for, else `other`) was answered.
pub fn received(vendor: &str, outcome: &str) {
    let vendor = crate::integrations::Vendor::parse(vendor).map_or("other", |v| v.as_str());
    RECEIVED.with_label_values(&[vendor, outcome]).inc();
}
