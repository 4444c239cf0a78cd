//! What an admin asks of a configured integration besides its configuration:
//! `POST …/{id}/test` (does this configuration work — the plugin makes an
//! authenticated call that changes nothing; the result goes into the attempt
//! log), `GET …/{id}/health` (does the vendor answer now, and the state of its
//! circuit), and the attempt log, per integration and per claim.

use actix_web::{web, HttpResponse};
use claimbridge_plugin_sdk::HealthStatus;
use serde::Deserialize;
use serde_json::{json, Value};

use super::routes::{Answer, IntegrationsContext};
use crate::billing::paging::{next_before, page_size};
use crate::store::attempts::{AttemptFilter, AttemptRecord};

/// Tests the stored configuration ([`super::orchestrator::Orchestrator::test_connection`]).
/// A failed test is still an answer (200 with `ok: false` and why): the request
/// worked, the configuration did not.
pub(super) async fn test_connection(
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
) -> Answer {
    let record = context.registry.record(&id).await?;
    let test = context
        .orchestrator
        .test_connection(&record.tenant, &record)
        .await;
    let latency_ms = test.latency.as_millis() as u64;
    Ok(HttpResponse::Ok().json(match test.error {
        None => json!({"ok": true, "detail": test.detail, "latencyMs": latency_ms}),
        Some(error) => json!({
            "ok": false,
            "errorClass": error.class().as_str(),
            "error": error.to_string(),
            "latencyMs": latency_ms,
        }),
    }))
}

pub(super) async fn health(context: web::Data<IntegrationsContext>, id: web::Path<String>) -> Answer {
    let record = context.registry.record(&id).await?;
    let circuit = context.orchestrator.breaker_state(&record.id).as_str();
    let health = match context.orchestrator.host().handler(&record).await {
        Ok(handler) => handler.health_check().await,
        Err(error) => claimbridge_plugin_sdk::Health {
            status: HealthStatus::Unhealthy,
            detail: Some(error.to_string()),
        },
    };
    Ok(HttpResponse::Ok().json(json!({
        "id": record.id,
        "vendor": record.vendor,
        "enabled": record.enabled,
        "status": health.status,
        "detail": health.detail,
        "circuit": circuit,
    })))
}

/// `?limit=50&before=ID`, as the billing lists page.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    limit: Option<i64>,
    before: Option<i64>,
}

pub(super) async fn integration_attempts(
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Answer {
    let filter = AttemptFilter {
        integration_id: Some(id.into_inner()),
        before: query.before,
        limit: page_size(query.limit),
        ..AttemptFilter::default()
    };
    attempts_page(&context, filter).await
}

/// The attempts made for one claim: its submissions, status checks, failovers.
pub(super) async fn claim_attempts(
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Answer {
    let filter = AttemptFilter {
        subject: Some(format!("Claim/{id}")),
        before: query.before,
        limit: page_size(query.limit),
        ..AttemptFilter::default()
    };
    attempts_page(&context, filter).await
}

async fn attempts_page(context: &IntegrationsContext, filter: AttemptFilter) -> Answer {
    let limit = filter.limit;
    let attempts = context
        .orchestrator
        .attempts(&filter)
        .await
        .map_err(super::registry::RegistryError::from)?;
    let next = next_before(
        attempts.len(),
        limit,
        attempts.last().and_then(|attempt| attempt.id),
    );
    Ok(HttpResponse::Ok().json(json!({
        "attempts": attempts.iter().map(render).collect::<Vec<_>>(),
        "nextBefore": next,
    })))
}

fn render(attempt: &AttemptRecord) -> Value {
    json!({
        "id": attempt.id,
        "integrationId": attempt.integration_id,
        "vendor": attempt.vendor,
        "operation": attempt.operation,
        "subject": attempt.subject,
        "outcome": attempt.outcome,
        "error": attempt.error,
        "latencyMicros": attempt.latency_micros,
        "failover": attempt.failover,
        "attemptedAt": attempt.attempted_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "submissionId": attempt.submission_id,
    })
}
