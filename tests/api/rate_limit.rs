//! Requests per client: a client over its rate gets 429 with `Retry-After`, another
//! client is not held back by it, and after the wait the first gets in again.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{bearer_client, client_credentials_token, TestApp, TestOptions};

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
