//! `POST /webhooks/{vendor}/{integrationId}`.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use claimbridge_plugin_sdk::http::{HeaderMap, HeaderName, HeaderValue};
use claimbridge_plugin_sdk::{WebhookEvent, WebhookOutcome};
use serde_json::json;

use super::apply::{self, Applied};
use crate::integrations::orchestrator::Orchestrator;
use crate::integrations::Vendor;
use crate::store::inbound::NewWebhookEvent;
use crate::store::{Store, StoreError};

/// The largest webhook body accepted (Stripe's events are a few kilobytes).
const MAX_BODY: usize = 256 * 1024;

pub struct WebhooksContext {
    pub store: Store,
    pub orchestrator: Arc<Orchestrator>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/{vendor}/{integration}")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::post().to(receive)),
    );
}

async fn receive(
    context: web::Data<WebhooksContext>,
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (vendor, integration_id) = path.into_inner();
    let (outcome, response) = match handle(&context, &vendor, &integration_id, &request, &body).await {
        Ok(answered) => answered,
        Err(error) => {
            tracing::error!(%error, vendor, "webhook not stored");
            // 5xx: the vendor delivers it again later.
            (
                "error",
                HttpResponse::InternalServerError().json(json!({"error": "the event could not be stored"})),
            )
        }
    };
    crate::observability::metrics::webhooks::received(&vendor, outcome);
    response
}

/// The answer, with what became of the event for the metrics: `applied` or
/// `ignored` (stored), `duplicate`, `rejected` (the signature or the event),
/// `unverified` (the plugin could not check it), `unusable` (the integration
/// cannot be set up) or `not_found`.
async fn handle(
    context: &WebhooksContext,
    vendor: &str,
    integration_id: &str,
    request: &HttpRequest,
    body: &[u8],
) -> Result<(&'static str, HttpResponse), StoreError> {
    let not_found = || {
        (
            "not_found",
            HttpResponse::NotFound().json(json!({"error": "no such integration"})),
        )
    };
    let Some(record) = context.store.session().await?.integration(integration_id).await? else {
        return Ok(not_found());
    };
    if record.vendor != vendor || Vendor::parse(vendor).is_none() {
        return Ok(not_found());
    }
    let handler = match context.orchestrator.host().handler(&record).await {
        Ok(handler) => handler,
        Err(error) => {
            tracing::warn!(integration_id, %error, "webhook for an integration that cannot be set up");
            return Ok((
                "unusable",
                HttpResponse::ServiceUnavailable().json(json!({"error": "the integration is not usable"})),
            ));
        }
    };
    let event = match handler.handle_webhook(&headers(request), body).await {
        Ok(WebhookOutcome::Verified(event)) => event,
        Ok(WebhookOutcome::Rejected(rejection)) => {
            // Recorded without the body: it may carry payment details.
            tracing::warn!(integration_id, vendor, %rejection, "webhook refused");
            let status = actix_web::http::StatusCode::from_u16(rejection.status().as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
            return Ok((
                "rejected",
                HttpResponse::build(status).json(json!({"error": rejection.to_string()})),
            ));
        }
        Err(error) => {
            tracing::warn!(integration_id, vendor, %error, "webhook could not be verified");
            return Ok((
                "unverified",
                HttpResponse::ServiceUnavailable().json(json!({"error": error.to_string()})),
            ));
        }
    };
    let mut tx = context.store.begin().await?;
    let applied = match vendor {
        "stripe" => apply::stripe_event(&mut tx, integration_id, &event).await?,
        _ => Applied {
            status: "ignored",
            note: format!("{vendor} events are stored, not acted on"),
        },
    };
    let stored = tx
        .insert_webhook_event(&stored_event(&record.id, vendor, &event, &applied))
        .await?;
    if !stored {
        // A redelivery: what the first delivery applied stands; this one's work is dropped.
        tx.rollback().await?;
        return Ok((
            "duplicate",
            HttpResponse::Ok().json(json!({"received": true, "duplicate": true})),
        ));
    }
    tx.commit().await?;
    Ok((
        applied.status,
        HttpResponse::Ok().json(json!({"received": true, "status": applied.status, "note": applied.note})),
    ))
}

fn stored_event(
    integration_id: &str,
    vendor: &str,
    event: &WebhookEvent,
    applied: &Applied,
) -> NewWebhookEvent {
    NewWebhookEvent {
        integration_id: integration_id.to_owned(),
        vendor: vendor.to_owned(),
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        payload: event.payload.to_string(),
        status: applied.status.to_owned(),
        note: Some(applied.note.clone()),
        received_at: Utc::now(),
    }
}

/// actix-web's headers as the plugin contract's `http` types.
fn headers(request: &HttpRequest) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}
