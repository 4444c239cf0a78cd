//! A simulator of Stripe's API for patient payments, speaking Stripe's wire
//! format: Bearer secret key, form-encoded bodies with bracket notation, JSON
//! answers, Stripe's error object, `Request-Id`, and idempotency keys replayed or
//! refused as Stripe documents. It is stateful — Customers, PaymentIntents with
//! their state machine, Refunds, Events — and sends signed webhooks to an endpoint
//! set with `PUT /__simulator/webhook-endpoint` or at start.
//!
//! Vendor routes: `POST/GET /v1/customers`, `GET /v1/customers/{id}`,
//! `POST /v1/payment_intents`, `GET /v1/payment_intents/{id}`,
//! `POST /v1/payment_intents/{id}/confirm`, `POST /v1/payment_intents/{id}/cancel`,
//! `POST /v1/refunds`, `GET /v1/refunds/{id}`, `GET /v1/balance`,
//! `GET /v1/events/{id}`. Control routes: the kit's (`/__simulator/fault`,
//! `/__simulator/requests`) and `webhook-endpoint`, `webhook-deliveries`,
//! `request-log`, `payment-intents`, `payment-intents/{id}/authenticate`.

mod account;
mod control;
mod customers;
mod params;
mod payment_intent;
mod refunds;
mod store;
mod webhooks;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::web::{self, Bytes, Path, ServiceConfig};
use actix_web::HttpRequest;
use claimbridge_simulator_kit::{Faults, Simulator, SimulatorError};
use serde_json::Value;

pub use store::{Delivery, LoggedRequest};
pub use webhooks::WebhookEndpoint;

/// The secret key the simulator accepts (`credentials.secretKey`); any other key
/// is answered 401 as Stripe answers it.
pub const SIMULATOR_SECRET_KEY: &str = "sk_test_claimbridge_simulator";

/// The secret webhooks are signed with unless the endpoint names another
/// (`credentials.webhookSecret`).
pub const SIMULATOR_WEBHOOK_SECRET: &str = "whsec_claimbridge_simulator";

/// How the simulator starts, beyond address and fault.
#[derive(Debug, Clone, Default)]
pub struct SimulatorOptions {
    /// Where to send events from the start (what a `--webhook-url` flag sets).
    pub webhook_endpoint: Option<WebhookEndpoint>,
}

/// Starts a Stripe simulator on `bind` showing `scripted_fault` (`5xx*2`, `down`,
/// `reject`, …), without a webhook endpoint.
pub async fn start(bind: SocketAddr, scripted_fault: Option<&str>) -> Result<Arc<Simulator>, SimulatorError> {
    Ok(
        start_with_options(bind, scripted_fault, SimulatorOptions::default())
            .await?
            .kit()
            .clone(),
    )
}

/// As [`start`], with options, returning a handle that can also inspect the
/// simulated account.
pub async fn start_with_options(
    bind: SocketAddr,
    scripted_fault: Option<&str>,
    options: SimulatorOptions,
) -> Result<StripeSimulator, SimulatorError> {
    let faults = Faults::default();
    let shared = Shared {
        store: Arc::new(Mutex::new(store::Store::new(options.webhook_endpoint))),
        faults: faults.clone(),
    };
    let routes_shared = shared.clone();
    let kit = Simulator::start_with(bind, faults, scripted_fault, move |config| {
        config.app_data(web::Data::new(routes_shared.clone()));
        control::routes(config);
        vendor_routes(config);
    })
    .await?;
    Ok(StripeSimulator { kit, shared })
}

/// A running Stripe simulator and its account.
pub struct StripeSimulator {
    kit: Arc<Simulator>,
    shared: Shared,
}

impl StripeSimulator {
    /// The kit's handle: address, faults, stop.
    pub fn kit(&self) -> &Arc<Simulator> {
        &self.kit
    }

    pub fn base_url(&self) -> String {
        self.kit.base_url()
    }

    /// Every PaymentIntent, as Stripe would show it.
    pub fn payment_intents(&self) -> Vec<Value> {
        self.shared
            .lock()
            .payment_intents
            .values()
            .map(|intent| intent.to_json())
            .collect()
    }

    pub fn customers(&self) -> Vec<Value> {
        self.shared.lock().customers.values().cloned().collect()
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.shared.lock().refunds.values().cloned().collect()
    }

    /// Every vendor request received, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().requests().to_vec()
    }

    /// Every webhook delivery attempt, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    pub fn set_webhook_endpoint(&self, endpoint: Option<WebhookEndpoint>) {
        self.shared.lock().set_webhook_endpoint(endpoint);
    }
}

/// The account and the faults, shared by every handler.
#[derive(Clone)]
pub(crate) struct Shared {
    store: Arc<Mutex<store::Store>>,
    faults: Faults,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn vendor_routes(config: &mut ServiceConfig) {
    config
        .route(
            "/v1/customers",
            web::post().to(|r: HttpRequest, b: Bytes, s: web::Data<Shared>| async move {
                wire::serve(&r, &b, &s, customers::create)
            }),
        )
        .route(
            "/v1/customers",
            web::get().to(|r: HttpRequest, s: web::Data<Shared>| async move {
                wire::serve(&r, b"", &s, customers::list)
            }),
        )
        .route(
            "/v1/customers/{id}",
            web::get().to(
                |r: HttpRequest, id: Path<String>, s: web::Data<Shared>| async move {
                    wire::serve(&r, b"", &s, |store, _| customers::retrieve(store, &id))
                },
            ),
        )
        .route(
            "/v1/payment_intents",
            web::post().to(|r: HttpRequest, b: Bytes, s: web::Data<Shared>| async move {
                wire::serve(&r, &b, &s, payment_intent::create)
            }),
        )
        .route(
            "/v1/payment_intents/{id}",
            web::get().to(
                |r: HttpRequest, id: Path<String>, s: web::Data<Shared>| async move {
                    wire::serve(&r, b"", &s, |store, _| payment_intent::retrieve(store, &id))
                },
            ),
        )
        .route(
            "/v1/payment_intents/{id}/confirm",
            web::post().to(
                |r: HttpRequest, b: Bytes, id: Path<String>, s: web::Data<Shared>| async move {
                    wire::serve(&r, &b, &s, |store, call| {
                        payment_intent::confirm(store, call, &id)
                    })
                },
            ),
        )
        .route(
            "/v1/payment_intents/{id}/cancel",
            web::post().to(
                |r: HttpRequest, b: Bytes, id: Path<String>, s: web::Data<Shared>| async move {
                    wire::serve(&r, &b, &s, |store, call| payment_intent::cancel(store, call, &id))
                },
            ),
        )
        .route(
            "/v1/refunds",
            web::post().to(|r: HttpRequest, b: Bytes, s: web::Data<Shared>| async move {
                wire::serve(&r, &b, &s, refunds::create)
            }),
        )
        .route(
            "/v1/refunds/{id}",
            web::get().to(
                |r: HttpRequest, id: Path<String>, s: web::Data<Shared>| async move {
                    wire::serve(&r, b"", &s, |store, _| refunds::retrieve(store, &id))
                },
            ),
        )
        .route(
            "/v1/balance",
            web::get().to(|r: HttpRequest, s: web::Data<Shared>| async move {
                wire::serve(&r, b"", &s, |store, _| account::balance(store))
            }),
        )
        .route(
            "/v1/events/{id}",
            web::get().to(
                |r: HttpRequest, id: Path<String>, s: web::Data<Shared>| async move {
                    wire::serve(&r, b"", &s, |store, _| account::event(store, &id))
                },
            ),
        )
        .default_service(web::to(|r: HttpRequest, s: web::Data<Shared>| async move {
            let path = format!("Unrecognized request URL ({}: {}).", r.method(), r.path());
            wire::serve(&r, b"", &s, move |_, _| {
                wire::Reply::invalid(actix_web::http::StatusCode::NOT_FOUND, &path, None, None)
            })
        }));
}
