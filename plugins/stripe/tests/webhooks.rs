//! Webhooks end to end: the simulator sends signed events as Stripe does, the
//! plugin verifies them; and the plugin's verification through its handler, with
//! the secrets it was configured with.

mod common;

use std::time::Duration;

use chrono::Utc;
use claimbridge_plugin_sdk::http::{HeaderMap, HeaderValue};
use claimbridge_plugin_sdk::{ErrorClass, PluginHandler, WebhookOutcome, WebhookRejection};
use claimbridge_plugin_stripe::sign;
use claimbridge_plugin_stripe::simulator::{WebhookEndpoint, SIMULATOR_SECRET_KEY, SIMULATOR_WEBHOOK_SECRET};
use common::*;
use serde_json::json;

const BODY: &[u8] = br#"{"id":"evt_1Test","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1Test","object":"payment_intent"}}}"#;

fn signed(header: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("stripe-signature", HeaderValue::from_str(header).unwrap());
    headers
}

fn now() -> i64 {
    Utc::now().timestamp()
}

async fn plugin_with_secrets(secrets: &[(&str, &str)]) -> claimbridge_plugin_stripe::StripePlugin {
    let mut pairs = vec![("secretKey", SIMULATOR_SECRET_KEY)];
    pairs.extend_from_slice(secrets);
    plugin_with("http://127.0.0.1:9", json!({}), credentials(&pairs)).await
}

async fn outcome(
    plugin: &claimbridge_plugin_stripe::StripePlugin,
    headers: &HeaderMap,
    body: &[u8],
) -> WebhookOutcome {
    plugin.handle_webhook(headers, body).await.unwrap()
}

fn unauthenticated(outcome: WebhookOutcome) -> String {
    match outcome {
        WebhookOutcome::Rejected(rejection @ WebhookRejection::Unauthenticated(_)) => {
            assert_eq!(rejection.status(), 401);
            rejection.to_string()
        }
        other => panic!("expected a 401 rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn the_simulators_webhooks_verify_with_the_plugins_own_verification() {
    let simulator = simulator().await;
    let (url, mut deliveries) = webhook_receiver().await;
    simulator.set_webhook_endpoint(Some(WebhookEndpoint::new(url)));
    let plugin = plugin(&simulator).await;

    let paid = pay(&plugin, &payment("88.00", "pm_card_visa", "pay-hook"))
        .await
        .unwrap();
    refund_with(
        &plugin,
        &refund(&paid.vendor_payment_id, Some("8.00"), "refund-hook"),
    )
    .await
    .unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
            .await
            .expect("the simulator delivers its events")
            .unwrap();
        assert!(headers["stripe-signature"].to_str().unwrap().starts_with("t="));
        let WebhookOutcome::Verified(event) = outcome(&plugin, &headers, &body).await else {
            panic!("the plugin refused a delivery of its simulator");
        };
        assert!(event.id.starts_with("evt_"));
        seen.push(event);
    }
    let succeeded = seen
        .iter()
        .find(|e| e.event_type == "payment_intent.succeeded")
        .unwrap();
    assert_eq!(
        succeeded.payload["data"]["object"]["id"],
        paid.vendor_payment_id.as_str()
    );
    assert_eq!(succeeded.payload["data"]["object"]["amount"], 8800);
    assert_eq!(succeeded.payload["request"]["idempotency_key"], "pay-hook");
    let refunded = seen.iter().find(|e| e.event_type == "refund.created").unwrap();
    assert_eq!(refunded.payload["data"]["object"]["amount"], 800);
    assert!(seen.iter().any(|e| e.event_type == "customer.created"));
    // Recorded as delivered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        simulator.deliveries().iter().all(|d| d.outcome == "200"),
        "{:?}",
        simulator.deliveries()
    );
}

#[tokio::test]
async fn an_endpoint_set_over_http_with_its_own_secret_signs_with_that_secret() {
    let simulator = simulator().await;
    let (url, mut deliveries) = webhook_receiver().await;
    let client = claimbridge_plugin_sdk::http_client::client(Duration::from_secs(2)).unwrap();
    let answer = client
        .put(format!("{}/__simulator/webhook-endpoint", simulator.base_url()))
        .json(&json!({"url": url, "secret": "whsec_rotated_in"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    pay(
        &plugin(&simulator).await,
        &payment("5.00", "pm_card_visa", "pay-secret"),
    )
    .await
    .unwrap();
    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
        .await
        .unwrap()
        .unwrap();

    let with_new = plugin_with_secrets(&[("webhookSecret", "whsec_rotated_in")]).await;
    assert!(matches!(
        outcome(&with_new, &headers, &body).await,
        WebhookOutcome::Verified(_)
    ));
    let with_simulators = plugin_with_secrets(&[("webhookSecret", SIMULATOR_WEBHOOK_SECRET)]).await;
    unauthenticated(outcome(&with_simulators, &headers, &body).await);
}

#[tokio::test]
async fn a_valid_signature_is_verified() {
    let plugin = plugin_with_secrets(&[("webhookSecret", "whsec_live")]).await;
    let WebhookOutcome::Verified(event) =
        outcome(&plugin, &signed(&sign("whsec_live", now(), BODY)), BODY).await
    else {
        panic!("not verified")
    };
    assert_eq!(event.id, "evt_1Test");
    assert_eq!(event.event_type, "payment_intent.succeeded");
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_and_the_tolerance_is_a_setting() {
    let plugin = plugin_with_secrets(&[("webhookSecret", "whsec_live")]).await;
    let ten_minutes_ago = sign("whsec_live", now() - 600, BODY);
    assert!(unauthenticated(outcome(&plugin, &signed(&ten_minutes_ago), BODY).await).contains("tolerance"));

    let lenient = plugin_with(
        "http://127.0.0.1:9",
        json!({"webhookToleranceSecs": 900}),
        credentials(&[
            ("secretKey", SIMULATOR_SECRET_KEY),
            ("webhookSecret", "whsec_live"),
        ]),
    )
    .await;
    assert!(matches!(
        outcome(&lenient, &signed(&ten_minutes_ago), BODY).await,
        WebhookOutcome::Verified(_)
    ));
}

#[tokio::test]
async fn a_wrong_secret_is_refused() {
    let plugin = plugin_with_secrets(&[("webhookSecret", "whsec_live")]).await;
    let forged = sign("whsec_guessed", now(), BODY);
    assert!(
        unauthenticated(outcome(&plugin, &signed(&forged), BODY).await).contains("no v1 signature matches")
    );
}

#[tokio::test]
async fn during_a_secret_roll_the_previous_secret_and_either_signature_verify() {
    let t = now();
    let new = sign("whsec_new", t, BODY);
    let old = sign("whsec_old", t, BODY);
    let both = format!("{new},v1={}", old.split_once(",v1=").unwrap().1);

    let rolled = plugin_with_secrets(&[
        ("webhookSecret", "whsec_new"),
        ("previousWebhookSecret", "whsec_old"),
    ])
    .await;
    for header in [&new, &old, &both] {
        assert!(
            matches!(
                outcome(&rolled, &signed(header), BODY).await,
                WebhookOutcome::Verified(_)
            ),
            "{header}"
        );
    }
    let not_yet_rolled = plugin_with_secrets(&[("webhookSecret", "whsec_old")]).await;
    assert!(matches!(
        outcome(&not_yet_rolled, &signed(&both), BODY).await,
        WebhookOutcome::Verified(_)
    ));
    let previous_dropped = plugin_with_secrets(&[("webhookSecret", "whsec_new")]).await;
    unauthenticated(outcome(&previous_dropped, &signed(&old), BODY).await);
}

#[tokio::test]
async fn a_tampered_body_is_refused() {
    let plugin = plugin_with_secrets(&[("webhookSecret", "whsec_live")]).await;
    let header = sign("whsec_live", now(), BODY);
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("pi_1Test", "pi_2Test");
    unauthenticated(outcome(&plugin, &signed(&header), tampered.as_bytes()).await);
}

#[tokio::test]
async fn a_missing_or_malformed_header_is_refused() {
    let plugin = plugin_with_secrets(&[("webhookSecret", "whsec_live")]).await;
    assert!(unauthenticated(outcome(&plugin, &HeaderMap::new(), BODY).await).contains("no Stripe-Signature"));
    for header in ["t=,v1=", "v1=abc", "t=1700000000", "nonsense"] {
        unauthenticated(outcome(&plugin, &signed(header), BODY).await);
    }
}

#[tokio::test]
async fn without_a_webhook_secret_deliveries_fail_so_stripe_sends_them_again() {
    let plugin = plugin_with_secrets(&[]).await;
    let error = plugin
        .handle_webhook(&signed(&sign("whsec_live", now(), BODY)), BODY)
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("webhookSecret"), "{error}");
}
