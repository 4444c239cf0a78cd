//! Requests per client: a client over its rate gets 429 with `Retry-After`, another
//! client is not held back by it, and after the wait the first gets in again. With
//! Redis, one budget per client for every node; without an answer from Redis, each
//! node counts on its own and requests still go through.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{bearer_client, client_credentials_token, TestApp, TestOptions, TestRedis};

/// Three requests a second, in bursts of three.
const THROTTLED: TestOptions = TestOptions {
    rate_limit: Some(3),
    ..TestOptions::SANDBOX
};

crate::on_both_backends!(
    with crate::rate_limit::THROTTLED;
    a_client_over_its_rate_waits_and_others_do_not,
);

async fn a_client_over_its_rate_waits_and_others_do_not(app: &TestApp) {
    // Another client, registered before the admin's burst is spent.
    let (status, other) = app
        .api_post(
            "/admin/clients",
            &json!({"name": "Other", "type": "confidential", "scopes": "system/Patient.rs"}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other_token = client_credentials_token(
        &app.base,
        other["clientId"].as_str().unwrap(),
        other["clientSecret"].as_str().unwrap(),
        None,
    )
    .await;

    let mut throttled = None;
    for _ in 0..10 {
        let answer = app.get("Patient").await;
        if answer.status() == 429 {
            throttled = Some(answer);
            break;
        }
    }
    let throttled = throttled.expect("the admin client is throttled within 10 requests");
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let outcome: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(outcome["issue"][0]["code"], "throttled");

    let other = bearer_client(&other_token);
    assert_eq!(other.get(app.url("Patient")).send().await.unwrap().status(), 200);

    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(app.get("Patient").await.status(), 200);
}

/// Spends the admin client's burst on `app`: the first 429.
async fn spend_burst(app: &TestApp) -> reqwest::Response {
    for _ in 0..10 {
        let answer = app.get("Patient").await;
        if answer.status() == 429 {
            return answer;
        }
        assert_eq!(answer.status(), 200);
    }
    panic!("the admin client is not throttled within 10 requests");
}

fn retry_after(answer: &reqwest::Response) -> u64 {
    answer.headers()["retry-after"].to_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_redis_share_a_clients_budget() {
    let Some(redis) = TestRedis::from_env() else {
        return;
    };
    // Two requests a second, in bursts of two, counted in one Redis namespace. Each
    // server has its own database, and in each the bootstrap admin has the same
    // client id: one client to Redis, as one client is to the nodes of a deployment.
    let options = TestOptions {
        rate_limit: Some(2),
        redis: Some(redis),
        ..TestOptions::SANDBOX
    };
    let a = TestApp::sqlite(options).await;
    let b = TestApp::sqlite(options).await;
    assert_eq!(a.admin_client_id, b.admin_client_id);

    spend_burst(&a).await;
    // Node B has not seen this client; it answers 429 all the same.
    let refused = b.get("Patient").await;
    assert_eq!(refused.status(), 429, "the burst spent on node A holds on node B");
    let wait = retry_after(&refused);
    assert_eq!(wait, 1, "half a second to wait at most, rounded up");
    let outcome: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(outcome["issue"][0]["code"], "throttled");

    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(b.get("Patient").await.status(), 200);
    a.finish().await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_requests_go_through_and_each_node_counts() {
    // Nothing listens on port 1.
    let options = TestOptions {
        rate_limit: Some(3),
        redis: Some(TestRedis {
            url: "redis://127.0.0.1:1",
            key_prefix: "claimbridge-test",
        }),
        ..TestOptions::SANDBOX
    };
    let app = TestApp::sqlite(options).await;
    let started = std::time::Instant::now();
    let answer = app.get("Patient").await;
    assert_eq!(answer.status(), 200, "a Redis outage does not fail requests");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "nor holds them: {:?}",
        started.elapsed()
    );
    // The node's own limit still holds.
    let throttled = spend_burst(&app).await;
    assert!((1..=2).contains(&retry_after(&throttled)));

    let metrics = reqwest::get(app.server_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fallbacks: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("claimbridge_rate_limit_redis_fallbacks_total "))
        .expect("the fallback counter is exported")
        .parse()
        .unwrap();
    assert!(fallbacks >= 4, "{fallbacks}");
    app.finish().await;
}
