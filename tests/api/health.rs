//! The probes a load balancer or Kubernetes uses: liveness, and readiness that
//! fails, naming why, when the database is behind this binary's migrations or
//! Redis does not answer.

use serde_json::Value;

use crate::helpers::{TestApp, TestOptions, TestRedis};

crate::on_both_backends!(
    a_serving_node_is_live_and_ready,
    a_database_behind_the_migrations_is_not_ready,
);

async fn probe(app: &TestApp, path: &str) -> (u16, Value) {
    // No token: probes are open.
    let answer = reqwest::get(app.server_url(path)).await.unwrap();
    let status = answer.status().as_u16();
    assert_eq!(answer.headers()["content-type"], "application/health+json");
    (
        status,
        serde_json::from_str(&answer.text().await.unwrap()).unwrap(),
    )
}

async fn a_serving_node_is_live_and_ready(app: &TestApp) {
    let (status, live) = probe(app, "/health/live").await;
    assert_eq!((status, live["status"].as_str()), (200, Some("pass")));
    let (status, ready) = probe(app, "/health/ready").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"]["database"][0]["status"], "pass");
    assert_eq!(ready["checks"]["mllp"][0]["status"], "pass");
    assert!(ready["checks"].get("redis").is_none(), "no Redis configured");
}

async fn a_database_behind_the_migrations_is_not_ready(app: &TestApp) {
    // As if the binary were newer than the database: its newest migration is missing.
    let forget = "DELETE FROM __diesel_schema_migrations \
                  WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)";
    app.execute_sql(forget, forget).await;
    let (status, ready) = probe(app, "/health/ready").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "fail");
    let why = ready["checks"]["database"][0]["output"].as_str().unwrap();
    assert!(why.contains("migrations pending"), "{why}");
    // Liveness does not depend on it: restarting would not help.
    assert_eq!(probe(app, "/health/live").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_redis_does_not_answer_is_not_ready() {
    let options = TestOptions {
        redis: Some(TestRedis {
            url: "redis://127.0.0.1:1",
            key_prefix: "claimbridge-test-health",
        }),
        ..TestOptions::default()
    };
    let app = TestApp::sqlite(options).await;
    let (status, ready) = probe(&app, "/health/ready").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["checks"]["redis"][0]["status"], "fail");
    assert_eq!(ready["checks"]["database"][0]["status"], "pass");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_its_redis_is_ready() {
    let Some(redis) = TestRedis::from_env() else {
        return;
    };
    let app = TestApp::sqlite(TestOptions {
        redis: Some(redis),
        ..TestOptions::default()
    })
    .await;
    let (status, ready) = probe(&app, "/health/ready").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"]["redis"][0]["status"], "pass");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::sqlite(TestOptions::default()).await;
    let client = reqwest::Client::new();
    let echoed = client
        .get(app.server_url("/health/live"))
        .header("X-Request-Id", "lb-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "lb-42.a_b");
    // A refused request has one too (the gate answers before any handler).
    let refused = client.get(app.url("Patient")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let generated = refused.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32);
    let forged = client
        .get(app.server_url("/health/live"))
        .header("X-Request-Id", "x\" injected=1")
        .send()
        .await
        .unwrap();
    assert_ne!(forged.headers()["x-request-id"], "x\" injected=1");
    app.finish().await;
}
