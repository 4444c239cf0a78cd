//! Patient payments as a billing front desk takes them: `POST /api/billing/payments`
//! with a card token and an Idempotency-Key, through the payments integration
//! (Stripe, against its simulator over HTTP); the processor's signed webhook then
//! posts the payment to the claim.

use std::time::Duration;

use claimbridge_plugin_stripe::simulator as stripe;
use claimbridge_simulator_kit::Simulator;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::submission::ready_claim;

crate::on_both_backends!(
    with crate::helpers::TestOptions::INTEGRATIONS;
    a_card_payment_is_charged_once_and_posted_to_its_claim_by_the_webhook,
    a_declined_card_is_402_and_a_missing_key_400,
    a_payment_is_never_failed_over_after_the_processor_failed,
    a_payment_throttled_for_longer_than_the_backoff_cap_stays_with_its_processor,
);

async fn add_stripe(app: &TestApp, name: &str, simulator: &Simulator) -> String {
    let (status, body) = app
        .api_post(
            "/admin/integrations",
            &json!({
                "vendor": "stripe",
                "name": name,
                "baseUrl": simulator.base_url(),
                "settings": {"timeoutSecs": 2},
                "credentials": {
                    "secretKey": stripe::SIMULATOR_SECRET_KEY,
                    "webhookSecret": stripe::SIMULATOR_WEBHOOK_SECRET,
                },
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn pay(app: &TestApp, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!(
            "{}/api/billing/payments",
            app.base.trim_end_matches("/fhir")
        ))
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// How many PaymentIntents were created at the simulator.
async fn intents_created(simulator: &Simulator) -> u64 {
    let served: Value = app_client()
        .get(format!("{}/__simulator/requests", simulator.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    served["/v1/payment_intents"].as_u64().unwrap_or(0)
}

fn app_client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn a_card_payment_is_charged_once_and_posted_to_its_claim_by_the_webhook(app: &TestApp) {
    let simulator = stripe::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    let integration = add_stripe(app, "Stripe", &simulator).await;
    let webhook = format!(
        "{}/webhooks/stripe/{integration}",
        app.base.trim_end_matches("/fhir")
    );
    let endpoint = app_client()
        .put(format!("{}/__simulator/webhook-endpoint", simulator.base_url()))
        .json(&json!({"url": webhook}))
        .send()
        .await
        .unwrap();
    assert!(endpoint.status().is_success(), "{}", endpoint.status());
    let claim_id = ready_claim(app).await;
    let payment = json!({
        "claimId": claim_id,
        "patientId": "pat-1",
        "amount": 25.50,
        "currency": "usd",
        "paymentMethod": "pm_card_visa",
    });

    let (status, paid) = pay(app, Some("copay-visit-1"), &payment).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(
        (&paid["status"], &paid["vendor"]),
        (&json!("succeeded"), &json!("stripe"))
    );
    assert_eq!(paid["amount"].to_string(), "25.50", "money is exact");
    // The front desk's retry of the same charge: the same payment, charged once.
    let (status, again) = pay(app, Some("copay-visit-1"), &payment).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["vendorPaymentId"], paid["vendorPaymentId"]);

    let mut posted = Vec::new();
    for _ in 0..100 {
        let (_, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
        posted = claim["patientPayments"].as_array().cloned().unwrap_or_default();
        if !posted.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(posted.len(), 1, "the webhook posts the payment once: {posted:?}");
    assert_eq!(
        (&posted[0]["amountMinor"], &posted[0]["externalId"]),
        (&json!(2550), &paid["vendorPaymentId"])
    );
    simulator.stop().await;
}

async fn a_declined_card_is_402_and_a_missing_key_400(app: &TestApp) {
    let simulator = stripe::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    add_stripe(app, "Stripe", &simulator).await;
    let payment = json!({"patientId": "pat-2", "amount": "10.00", "paymentMethod": "pm_card_chargeDeclined"});
    let (status, declined) = pay(app, Some("declined-1"), &payment).await;
    assert_eq!(status, 402, "{declined}");
    assert!(
        declined["error"].as_str().unwrap().contains("declined"),
        "{declined}"
    );
    let (status, _) = pay(app, None, &payment).await;
    assert_eq!(status, 400);
    let (status, invalid) = pay(
        app,
        Some("k"),
        &json!({"patientId": "p", "amount": -1, "paymentMethod": "pm_card_visa"}),
    )
    .await;
    assert_eq!((status, &invalid["field"]), (422, &json!("amount")));
    simulator.stop().await;
}

async fn a_payment_is_never_failed_over_after_the_processor_failed(app: &TestApp) {
    let primary = stripe::start("127.0.0.1:0".parse().unwrap(), Some("5xx"))
        .await
        .unwrap();
    let secondary = stripe::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    add_stripe(app, "Stripe primary", &primary).await;
    add_stripe(app, "Stripe secondary", &secondary).await;
    let payment = json!({"patientId": "pat-3", "amount": 40, "paymentMethod": "pm_card_visa"});
    let (status, answer) = pay(app, Some("visit-3"), &payment).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        intents_created(&secondary).await,
        0,
        "another processor could charge twice"
    );
    primary.stop().await;
    secondary.stop().await;
}

async fn a_payment_throttled_for_longer_than_the_backoff_cap_stays_with_its_processor(app: &TestApp) {
    // Retry-After 30 s is beyond the test server's 100 ms backoff cap: the turn ends
    // at once, and still the payment is not handed to another processor.
    let primary = stripe::start("127.0.0.1:0".parse().unwrap(), Some("429=30"))
        .await
        .unwrap();
    let secondary = stripe::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    add_stripe(app, "Stripe primary", &primary).await;
    add_stripe(app, "Stripe secondary", &secondary).await;
    let payment = json!({"patientId": "pat-4", "amount": 15, "paymentMethod": "pm_card_visa"});
    let (status, answer) = pay(app, Some("visit-4"), &payment).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(intents_created(&secondary).await, 0);
    primary.stop().await;
    secondary.stop().await;
}
