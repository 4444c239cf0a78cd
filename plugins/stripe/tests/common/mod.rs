//! What the Stripe tests share: a simulator on a free port, a plugin configured
//! against it, synthetic payments, and a webhook receiver.

#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::str::FromStr;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use claimbridge_plugin_sdk::http::{HeaderMap, HeaderName, HeaderValue};
use claimbridge_plugin_sdk::{
    Credentials, Customer, IdempotencyKey, Money, Operation, OperationOutput, PaymentRequest, PaymentResult,
    PluginConfig, PluginError, PluginHandler, RefundRequest, RefundResult, Secret,
};
use claimbridge_plugin_stripe::simulator::{
    self, SimulatorOptions, StripeSimulator, SIMULATOR_SECRET_KEY, SIMULATOR_WEBHOOK_SECRET,
};
use claimbridge_plugin_stripe::StripePlugin;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio::sync::mpsc;

pub async fn simulator() -> StripeSimulator {
    simulator::start_with_options("127.0.0.1:0".parse().unwrap(), None, SimulatorOptions::default())
        .await
        .unwrap()
}

pub fn credentials(pairs: &[(&str, &str)]) -> Credentials {
    let mut credentials = Credentials::default();
    for (name, value) in pairs {
        credentials.insert(*name, Secret::new(*value));
    }
    credentials
}

pub async fn plugin_with(base_url: &str, settings: Value, credentials: Credentials) -> StripePlugin {
    let mut plugin = StripePlugin::new();
    plugin
        .initialize(PluginConfig {
            base_url: base_url.to_owned(),
            settings,
            credentials,
        })
        .await
        .unwrap();
    plugin
}

/// A plugin with the simulator's documented credentials and a 1 s timeout.
pub async fn plugin(simulator: &StripeSimulator) -> StripePlugin {
    plugin_with(
        &simulator.base_url(),
        json!({"timeoutSecs": 1}),
        credentials(&[
            ("secretKey", SIMULATOR_SECRET_KEY),
            ("webhookSecret", SIMULATOR_WEBHOOK_SECRET),
        ]),
    )
    .await
}

pub fn usd(amount: &str) -> Money {
    Money {
        amount: Decimal::from_str(amount).unwrap(),
        currency: "USD".into(),
    }
}

/// A payment by a synthetic patient.
pub fn payment(amount: &str, payment_method: &str, key: &str) -> PaymentRequest {
    PaymentRequest {
        amount: usd(amount),
        customer: Customer {
            patient_id: "Patient/synthetic-1".into(),
            vendor_customer_id: None,
            name: Some("Test Patient".into()),
            email: Some("test.patient@example.test".into()),
        },
        payment_method: payment_method.into(),
        description: Some("Statement S-1".into()),
        metadata: BTreeMap::from([("claim_id".to_owned(), "C-1".to_owned())]),
        idempotency_key: IdempotencyKey(key.into()),
    }
}

pub fn refund(payment_id: &str, amount: Option<&str>, key: &str) -> RefundRequest {
    RefundRequest {
        vendor_payment_id: payment_id.into(),
        amount: amount.map(usd),
        reason: Some("requested_by_customer".into()),
        idempotency_key: IdempotencyKey(key.into()),
    }
}

pub async fn pay(plugin: &StripePlugin, request: &PaymentRequest) -> Result<PaymentResult, PluginError> {
    match plugin
        .execute(&Operation::PatientPayment(request.clone()))
        .await?
    {
        OperationOutput::PatientPayment(result) => Ok(result),
        other => panic!("answered {other:?}"),
    }
}

pub async fn refund_with(
    plugin: &StripePlugin,
    request: &RefundRequest,
) -> Result<RefundResult, PluginError> {
    match plugin.execute(&Operation::Refund(request.clone())).await? {
        OperationOutput::Refund(result) => Ok(result),
        other => panic!("answered {other:?}"),
    }
}

/// A webhook endpoint on a free port; each delivery arrives on the channel as the
/// headers and raw body the plugin is given.
pub async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let server = HttpServer::new(move || {
        let sender = sender.clone();
        App::new().route(
            "/stripe",
            web::post().to(move |request: HttpRequest, body: web::Bytes| {
                let sender = sender.clone();
                async move {
                    let mut headers = HeaderMap::new();
                    for (name, value) in request.headers() {
                        headers.append(
                            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                        );
                    }
                    let _ = sender.send((headers, body.to_vec()));
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let address = server.addrs()[0];
    tokio::spawn(server.run());
    (format!("http://{address}/stripe"), receiver)
}
