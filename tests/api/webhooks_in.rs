//! Webhooks as a payment processor sends them: signed Stripe events POSTed to
//! `/webhooks/stripe/{integrationId}`, verified by the Stripe plugin with the
//! integration's `webhookSecret`, stored before they are applied, and applied once.

use chrono::Utc;
use claimbridge_plugin_stripe::sign;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::submission::ready_claim;

crate::on_both_backends!(
    a_signed_payment_event_posts_once_to_its_claim,
    bad_signatures_change_nothing,
    a_rotated_secret_still_verifies,
    an_unknown_integration_or_vendor_is_404,
);

const SECRET: &str = "whsec_test_current";
const OLD_SECRET: &str = "whsec_test_previous";

async fn add_stripe(app: &TestApp) -> String {
    let (status, body) = app
        .api_post(
            "/admin/integrations",
            &json!({
                "vendor": "stripe",
                "name": "Stripe",
                "baseUrl": "http://127.0.0.1:9",
                "credentials": {
                    "secretKey": "sk_test_unused",
                    "webhookSecret": SECRET,
                    "previousWebhookSecret": OLD_SECRET,
                },
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn payment_event(event_id: &str, claim_id: &str, amount: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": Utc::now().timestamp(),
        "data": {"object": {
            "id": "pi_3Test0001",
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "currency": "usd",
            "status": "succeeded",
            "metadata": {"claim_id": claim_id},
        }},
    }))
    .unwrap()
}

async fn deliver(app: &TestApp, path: &str, signature: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}{path}", app.base.trim_end_matches("/fhir")))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn payments_of(app: &TestApp, claim_id: &str) -> Vec<Value> {
    let (status, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
    assert_eq!(status, 200, "{claim}");
    claim["patientPayments"].as_array().unwrap().clone()
}

async fn a_signed_payment_event_posts_once_to_its_claim(app: &TestApp) {
    let integration = add_stripe(app).await;
    let claim_id = ready_claim(app).await;
    let path = format!("/webhooks/stripe/{integration}");
    let body = payment_event("evt_1Test", &claim_id, 2550);
    let signature = sign(SECRET, Utc::now().timestamp(), &body);

    let (status, answer) = deliver(app, &path, Some(&signature), &body).await;
    assert_eq!((status, &answer["status"]), (200, &json!("applied")), "{answer}");
    let payments = payments_of(app, &claim_id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(
        (
            &payments[0]["kind"],
            &payments[0]["amountMinor"],
            &payments[0]["currency"]
        ),
        (&json!("payment"), &json!(2550), &json!("USD"))
    );

    // Stripe delivers again (it did not see our 200): acknowledged, not applied again.
    let (status, answer) = deliver(app, &path, Some(&signature), &body).await;
    assert_eq!((status, &answer["duplicate"]), (200, &json!(true)), "{answer}");
    assert_eq!(payments_of(app, &claim_id).await.len(), 1);
    let stored = app
        .select_texts("SELECT event_type || ':' || status AS text FROM webhook_events")
        .await;
    assert_eq!(stored, vec!["payment_intent.succeeded:applied".to_owned()]);
}

async fn bad_signatures_change_nothing(app: &TestApp) {
    let integration = add_stripe(app).await;
    let claim_id = ready_claim(app).await;
    let path = format!("/webhooks/stripe/{integration}");
    let body = payment_event("evt_2Test", &claim_id, 1000);
    let now = Utc::now().timestamp();
    let tampered = payment_event("evt_2Test", &claim_id, 100_000);
    for (signature, sent, why) in [
        (Some(sign(SECRET, now - 3600, &body)), &body, "stale timestamp"),
        (Some(sign("whsec_wrong", now, &body)), &body, "wrong secret"),
        (Some(sign(SECRET, now, &body)), &tampered, "tampered body"),
        (None, &body, "no signature"),
        (Some("t=abc,v1=zz".to_owned()), &body, "malformed header"),
    ] {
        let (status, answer) = deliver(app, &path, signature.as_deref(), sent).await;
        assert!(matches!(status, 400 | 401), "{why}: {status} {answer}");
    }
    assert!(payments_of(app, &claim_id).await.is_empty());
    let stored = app
        .select_texts("SELECT event_id AS text FROM webhook_events")
        .await;
    assert!(stored.is_empty(), "{stored:?}");
}

async fn a_rotated_secret_still_verifies(app: &TestApp) {
    let integration = add_stripe(app).await;
    let claim_id = ready_claim(app).await;
    let body = payment_event("evt_3Test", &claim_id, 4200);
    let now = Utc::now().timestamp();
    // During a rotation Stripe signs with both secrets; ours may still be the old one.
    let old = sign(OLD_SECRET, now, &body);
    let other = sign("whsec_someone_else", now, &body);
    let header = format!("{old},{}", other.split_once(',').unwrap().1);
    let (status, answer) = deliver(
        app,
        &format!("/webhooks/stripe/{integration}"),
        Some(&header),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(payments_of(app, &claim_id).await.len(), 1);
}

async fn an_unknown_integration_or_vendor_is_404(app: &TestApp) {
    let integration = add_stripe(app).await;
    let body = payment_event("evt_4Test", "none", 1);
    let signature = sign(SECRET, Utc::now().timestamp(), &body);
    let (status, _) = deliver(
        app,
        "/webhooks/stripe/no-such-integration",
        Some(&signature),
        &body,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = deliver(
        app,
        &format!("/webhooks/claimmd/{integration}"),
        Some(&signature),
        &body,
    )
    .await;
    assert_eq!(status, 404);
}
