//! The clearinghouse's feeds, read by the recurring jobs (triggered here over the
//! jobs API as an admin would): Claim.MD's claim responses move the submitted claim
//! to `accepted`, its ERAs post as 835s and the claim is `paid`; reading again (a
//! cursor saved only after its page committed) changes nothing.

use std::time::Duration;

use claimbridge_plugin_claimmd::simulator as claimmd;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::submission::ready_claim;

crate::on_both_backends!(
    with crate::helpers::TestOptions::INTEGRATIONS;
    status_and_era_feeds_carry_a_claim_to_paid_once,
);

async fn claim(app: &TestApp, claim_id: &str) -> Value {
    let (status, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
    assert_eq!(status, 200, "{claim}");
    claim
}

async fn status_and_era_feeds_carry_a_claim_to_paid_once(app: &TestApp) {
    let simulator = claimmd::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let (status, body) = app
        .api_post(
            "/admin/integrations",
            &json!({
                "vendor": "claimmd",
                "name": "Claim.MD",
                "baseUrl": simulator.base_url(),
                "credentials": {"accountKey": claimmd::DEFAULT_ACCOUNT_KEY},
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let claim_id = ready_claim(app).await;
    let (status, _) = app
        .api_post(&format!("/api/billing/claims/{claim_id}/submit"), &json!({}))
        .await;
    assert_eq!(status, 202);
    for _ in 0..200 {
        if claim(app, &claim_id).await["status"] == "submitted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(claim(app, &claim_id).await["status"], "submitted");

    let job = app.run_job("claim_status_sync").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let accepted = claim(app, &claim_id).await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    let step = accepted["statusHistory"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(step["actor"], "clearinghouse-feed");

    let job = app.run_job("era_fetch").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let paid = claim(app, &claim_id).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    let paid_amount = paid["paid"].to_string();
    assert_ne!(paid_amount, "0");

    // Read both feeds again: nothing new, nothing applied twice.
    assert_eq!(app.run_job("claim_status_sync").await["status"], "succeeded");
    assert_eq!(app.run_job("era_fetch").await["status"], "succeeded");
    let again = claim(app, &claim_id).await;
    assert_eq!(
        (again["status"].clone(), again["paid"].to_string()),
        (json!("paid"), paid_amount)
    );
    let (_, remittances) = app.api_get("/api/billing/remittance").await;
    assert_eq!(
        remittances["remittances"].as_array().map(Vec::len),
        Some(1),
        "{remittances}"
    );
    simulator.stop().await;
}
