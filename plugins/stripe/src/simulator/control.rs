//! The Stripe simulator's own control plane under `/__simulator/` (beside the
//! kit's faults and request counts): where webhooks go, what was received and
//! sent, and the customer's side of 3-D Secure.

use actix_web::web::{self, Json, Path, ServiceConfig};
use actix_web::HttpResponse;
use serde_json::json;

use super::payment_intent;
use super::webhooks::WebhookEndpoint;
use super::Shared;

pub(crate) fn routes(config: &mut ServiceConfig) {
    config
        .route("/__simulator/webhook-endpoint", web::put().to(put_endpoint))
        .route("/__simulator/webhook-endpoint", web::delete().to(delete_endpoint))
        .route("/__simulator/webhook-endpoint", web::get().to(get_endpoint))
        .route("/__simulator/webhook-deliveries", web::get().to(deliveries))
        .route("/__simulator/request-log", web::get().to(request_log))
        .route("/__simulator/payment-intents", web::get().to(payment_intents))
        .route(
            "/__simulator/payment-intents/{id}/authenticate",
            web::post().to(authenticate),
        );
}

/// `PUT {"url": "…", "secret": "whsec_…"}` (secret optional).
async fn put_endpoint(shared: web::Data<Shared>, endpoint: Json<WebhookEndpoint>) -> HttpResponse {
    shared.lock().set_webhook_endpoint(Some(endpoint.into_inner()));
    HttpResponse::NoContent().finish()
}

async fn delete_endpoint(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().set_webhook_endpoint(None);
    HttpResponse::NoContent().finish()
}

/// The URL only: the secret stays with whoever configured it.
async fn get_endpoint(shared: web::Data<Shared>) -> HttpResponse {
    let url = shared
        .lock()
        .webhook_endpoint()
        .map(|endpoint| endpoint.url.clone());
    HttpResponse::Ok().json(json!({ "url": url }))
}

async fn deliveries(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&shared.lock().deliveries)
}

async fn request_log(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.lock().requests())
}

async fn payment_intents(shared: web::Data<Shared>) -> HttpResponse {
    let store = shared.lock();
    let all: Vec<_> = store
        .payment_intents
        .values()
        .map(|intent| intent.to_json())
        .collect();
    HttpResponse::Ok().json(all)
}

/// The customer completes 3-D Secure: the PaymentIntent succeeds and
/// `payment_intent.succeeded` is sent.
async fn authenticate(shared: web::Data<Shared>, id: Path<String>) -> HttpResponse {
    match shared.authenticate(&id) {
        None => HttpResponse::NotFound().json(json!({"error": format!("no PaymentIntent {id}")})),
        Some(Err(why)) => HttpResponse::Conflict().json(json!({ "error": why })),
        Some(Ok(intent)) => HttpResponse::Ok().json(intent),
    }
}

impl Shared {
    fn authenticate(&self, id: &str) -> Option<Result<serde_json::Value, String>> {
        let mut store = self.lock();
        let result = payment_intent::complete_authentication(&mut store, id)?;
        if let Ok(intent) = &result {
            let call = super::wire::Call {
                params: Default::default(),
                request_id: store.new_id("req"),
                idempotency_key: None,
                api_version: crate::DEFAULT_STRIPE_VERSION.to_owned(),
            };
            let event = store.record_event("payment_intent.succeeded", intent.clone(), &call);
            if let Some(endpoint) = store.webhook_endpoint().cloned() {
                drop(store);
                super::webhooks::deliver(self.clone(), endpoint, event);
            }
        }
        Some(result)
    }
}
