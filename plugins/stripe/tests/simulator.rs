//! The simulator spoken to directly, as any Stripe client would: its state
//! machine, idempotency, authentication and errors, and the plugin's connection
//! test and health check against it.

mod common;

use std::time::Duration;

use claimbridge_plugin_sdk::{ErrorClass, HealthStatus, PluginHandler};
use claimbridge_plugin_stripe::simulator::{self, SIMULATOR_SECRET_KEY};
use claimbridge_simulator_kit::Fault;
use common::*;
use serde_json::{json, Value};

struct Raw {
    base: String,
    client: reqwest::Client,
}

impl Raw {
    fn new(base: String) -> Raw {
        Raw {
            base,
            client: claimbridge_plugin_sdk::http_client::client(Duration::from_secs(2)).unwrap(),
        }
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        key: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(SIMULATOR_SECRET_KEY)
            .form(form);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        (status, headers, answer.json().await.unwrap())
    }

    async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let answer = request.send().await.unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }
}

#[tokio::test]
async fn a_payment_intent_moves_through_its_states() {
    let simulator = simulator().await;
    let raw = Raw::new(simulator.base_url());
    let (status, _, created) = raw
        .post(
            "/v1/payment_intents",
            &[("amount", "2500"), ("currency", "usd")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "requires_payment_method");
    let id = created["id"].as_str().unwrap();

    // Redirect-capable methods cannot be confirmed without somewhere to return to.
    let (status, _, refused) = raw
        .post(
            &format!("/v1/payment_intents/{id}/confirm"),
            &[("payment_method", "pm_card_visa")],
            None,
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("return_url"));

    let (status, _, confirmed) = raw
        .post(
            &format!("/v1/payment_intents/{id}/confirm"),
            &[
                ("payment_method", "pm_card_visa"),
                ("return_url", "https://example.test/done"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["status"], "succeeded");
    assert_eq!(confirmed["amount_received"], 2500);
    assert!(confirmed["latest_charge"].as_str().unwrap().starts_with("ch_"));

    let (status, _, again) = raw
        .post(&format!("/v1/payment_intents/{id}/cancel"), &[], None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(again["error"]["code"], "payment_intent_unexpected_state");
    let (status, fetched) = raw
        .get(&format!("/v1/payment_intents/{id}"), Some(SIMULATOR_SECRET_KEY))
        .await;
    assert_eq!((status, fetched["status"].clone()), (200, json!("succeeded")));
}

#[tokio::test]
async fn a_decline_returns_the_intent_to_requires_payment_method_and_a_cancel_ends_it() {
    let simulator = simulator().await;
    let raw = Raw::new(simulator.base_url());
    let form = [
        ("amount", "900"),
        ("currency", "usd"),
        ("payment_method", "pm_card_chargeDeclined"),
        ("payment_method_types[]", "card"),
    ];
    let (status, _, created) = raw.post("/v1/payment_intents", &form, None).await;
    assert_eq!(created["status"], "requires_confirmation", "{status} {created}");
    let id = created["id"].as_str().unwrap();
    let (status, _, declined) = raw
        .post(&format!("/v1/payment_intents/{id}/confirm"), &[], None)
        .await;
    assert_eq!(status, 402);
    assert_eq!(declined["error"]["type"], "card_error");
    assert_eq!(declined["error"]["code"], "card_declined");
    assert_eq!(declined["error"]["decline_code"], "generic_decline");
    assert_eq!(
        declined["error"]["payment_intent"]["status"],
        "requires_payment_method"
    );
    let (status, _, canceled) = raw
        .post(
            &format!("/v1/payment_intents/{id}/cancel"),
            &[("cancellation_reason", "abandoned")],
            None,
        )
        .await;
    assert_eq!((status, canceled["status"].clone()), (200, json!("canceled")));
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_other_parameters() {
    let simulator = simulator().await;
    let raw = Raw::new(simulator.base_url());
    let form = [
        ("name", "Test Patient"),
        ("metadata[patient_id]", "Patient/synthetic-2"),
    ];
    let (status, first_headers, first) = raw.post("/v1/customers", &form, Some("key-1")).await;
    assert_eq!(status, 200);
    assert!(first_headers.get("idempotent-replayed").is_none());
    let (status, headers, replayed) = raw.post("/v1/customers", &form, Some("key-1")).await;
    assert_eq!(status, 200);
    assert_eq!(replayed, first);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(headers["original-request"], first_headers["request-id"]);
    assert_eq!(simulator.customers().len(), 1);

    let (status, _, conflict) = raw
        .post("/v1/customers", &[("name", "Someone Else")], Some("key-1"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(conflict["error"]["type"], "idempotency_error");

    // A request refused in validation saves nothing: corrected, the key works.
    let (status, _, _) = raw
        .post("/v1/payment_intents", &[("currency", "usd")], Some("key-2"))
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = raw
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "usd")],
            Some("key-2"),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn stripe_errors_come_in_stripes_error_object() {
    let simulator = simulator().await;
    let raw = Raw::new(simulator.base_url());
    let (status, missing_key) = raw.get("/v1/balance", None).await;
    assert_eq!(status, 401);
    assert_eq!(missing_key["error"]["type"], "invalid_request_error");
    let (status, wrong_key) = raw.get("/v1/balance", Some("sk_test_wrongwrongwrong")).await;
    assert_eq!(status, 401);
    assert!(wrong_key["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid API Key provided"));
    assert!(!wrong_key["error"]["message"]
        .as_str()
        .unwrap()
        .contains("wrongwrongwrong"));

    let (status, _, unknown) = raw
        .post("/v1/customers", &[("favourite_colour", "blue")], None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(unknown["error"]["code"], "parameter_unknown");
    assert_eq!(unknown["error"]["param"], "favourite_colour");

    let (status, absent) = raw
        .get("/v1/payment_intents/pi_missing", Some(SIMULATOR_SECRET_KEY))
        .await;
    assert_eq!(status, 404);
    assert_eq!(absent["error"]["code"], "resource_missing");
    let (status, unrouted) = raw.get("/v1/nothing_here", Some(SIMULATOR_SECRET_KEY)).await;
    assert_eq!(status, 404);
    assert!(unrouted["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Unrecognized request URL"));

    simulator.kit().set_fault(Fault::Reject, Some(1));
    let (status, _, rejected) = raw.post("/v1/customers", &[], None).await;
    assert_eq!(status, 400);
    assert_eq!(rejected["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn the_connection_test_proves_the_key_and_health_follows_the_vendor() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let check = plugin.test_connection().await.unwrap();
    assert!(check.detail.contains("test mode"), "{}", check.detail);
    assert_eq!(plugin.health_check().await.status, HealthStatus::Healthy);

    let wrong = plugin_with(
        &simulator.base_url(),
        json!({}),
        credentials(&[("secretKey", "sk_test_not_the_simulators")]),
    )
    .await;
    let refused = wrong.test_connection().await.unwrap_err();
    assert_eq!(refused.class(), ErrorClass::Final, "{refused}");
    assert!(refused.to_string().contains("Invalid API Key"), "{refused}");
    assert_eq!(wrong.health_check().await.status, HealthStatus::Unhealthy);

    simulator
        .kit()
        .set_fault(Fault::RateLimited { retry_after_secs: 1 }, Some(1));
    assert_eq!(plugin.health_check().await.status, HealthStatus::Degraded);
    simulator
        .kit()
        .set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(plugin.health_check().await.status, HealthStatus::Unhealthy);
}

#[tokio::test]
async fn the_documented_start_function_serves_stripe_on_the_given_address() {
    let kit = simulator::start("127.0.0.1:0".parse().unwrap(), Some("5xx*1"))
        .await
        .unwrap();
    let raw = Raw::new(kit.base_url());
    let client = &raw.client;
    let first = client
        .get(format!("{}/v1/balance", kit.base_url()))
        .bearer_auth(SIMULATOR_SECRET_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 500);
    let (status, balance) = raw.get("/v1/balance", Some(SIMULATOR_SECRET_KEY)).await;
    assert_eq!(status, 200);
    assert_eq!(balance["object"], "balance");
    kit.stop().await;
}
