//! The client-side throttle over HTTP: with the budget spent, requests are refused
//! before they reach Claim.MD (transient, with the wait), and the health check does
//! not spend what operations need.

mod common;

use std::time::{Duration, Instant};

use claimbridge_plugin_claimmd::simulator::DEFAULT_ACCOUNT_KEY;
use claimbridge_plugin_sdk::{ErrorClass, HealthStatus, Operation, PayerListRequest, PluginHandler};
use common::harness_with;
use serde_json::json;

#[tokio::test]
async fn a_spent_budget_refuses_at_once_with_the_wait_and_sends_nothing() {
    let h = harness_with(
        None,
        json!({"timeoutSecs": 1, "requestsPerMinute": 2}),
        DEFAULT_ACCOUNT_KEY,
    )
    .await;
    let list = || h.run(Operation::PayerList(PayerListRequest::default()));
    list().await.unwrap();
    list().await.unwrap();

    let started = Instant::now();
    let error = list().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no wait beyond the timeout"
    );
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    let retry_after = error.retry_after().expect("the wait is given");
    assert!(retry_after > Duration::from_secs(55), "{retry_after:?}");
    assert_eq!(h.served("/services/payerlist/").await, 2, "the third never left");

    // The health check, too, is within the budget, and says so without sending.
    let health = h.plugin.health_check().await;
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    assert_eq!(h.served("/services/payerlist/").await, 2);
    h.simulator.stop().await;
}

#[tokio::test]
async fn the_budget_is_the_handlers_across_operations() {
    let h = harness_with(
        None,
        json!({"timeoutSecs": 1, "requestsPerMinute": 1}),
        DEFAULT_ACCOUNT_KEY,
    )
    .await;
    h.run(Operation::PayerList(PayerListRequest::default()))
        .await
        .unwrap();
    let error = h
        .run(Operation::ClaimStatusFeed(common::feed_after(None)))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert_eq!(h.served("/services/response/").await, 0);
    h.simulator.stop().await;
}
