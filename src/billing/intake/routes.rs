//! The intake API: `POST /api/claims` stores one claim, `POST /api/claims/batch`
//! one per NDJSON line, and `GET /api/claims/{id}/status` says where a claim stands.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::billing::intake::batch::Batch;
use crate::billing::intake::{self, Intake, IntakeError};
use crate::billing::remittance::money::json_amount;
use crate::billing::routes::{billing_status, scrub_json, status_json, BillingContext};
use crate::billing::service::{self, BillingError};
use crate::fhir::outcome::FhirError;
use crate::fhir::routes::{read_body, FhirContext};

/// The most claims one batch may hold; the body limit bounds their size.
const MAX_BATCH_LINES: usize = 100_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The seed's paths, and the same under the billing API.
    cfg.route("/api/claims", web::post().to(create))
        .route("/api/claims/batch", web::post().to(batch))
        .route("/api/claims/{id}/status", web::get().to(status))
        .route("/api/billing/claims", web::post().to(create))
        .route("/api/billing/claims/batch", web::post().to(batch))
        .route("/api/billing/claims/{id}/status", web::get().to(status));
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Body(#[from] FhirError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Body(error) => error.status_code(),
            ApiError::Intake(error) => intake_status(error),
            ApiError::Billing(error) => billing_status(error),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({"error": self.to_string()});
        if let ApiError::Intake(error) = self {
            body["field"] = json!(error.field());
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

fn intake_status(error: &IntakeError) -> StatusCode {
    match error {
        IntakeError::Invalid(_) | IntakeError::Missing { .. } | IntakeError::Unpriceable(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        IntakeError::Billing(error) => billing_status(error),
        IntakeError::NotStored(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn create(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bytes = read_body(&request, body, fhir.body_limit).await?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::BadRequest(format!("the body is not JSON: {error}")))?;
    let intake = intake::submit(&fhir.service, &billing.rules, &billing.fee_schedules, &body).await?;
    Ok(HttpResponse::Created().json(intake_json(&intake)))
}

/// Claims are stored a chunk at a time (`intake::batch`): a refused line is
/// reported in its result and the others are stored regardless.
async fn batch(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bytes = read_body(&request, body, fhir.body_limit).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::BadRequest("the batch is not UTF-8 text".into()))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    if lines.len() > MAX_BATCH_LINES {
        return Err(ApiError::BadRequest(format!(
            "the batch has {} claims; at most {MAX_BATCH_LINES} are taken at once",
            lines.len()
        )));
    }
    let mut results: Vec<(usize, Value)> = Vec::with_capacity(lines.len());
    let mut claims = Vec::with_capacity(lines.len());
    for (number, line) in lines {
        match serde_json::from_str::<Value>(line) {
            Ok(claim) => claims.push((number, claim)),
            Err(error) => results.push((
                number,
                json!({"line": number, "error": format!("the line is not JSON: {error}")}),
            )),
        }
    }
    let mut batch = Batch::new(&fhir.service, &billing.rules, &billing.fee_schedules);
    let chunk_size = billing.batch_chunk.max(1);
    let mut claims = claims.into_iter().peekable();
    let chunks = std::iter::from_fn(|| {
        claims.peek()?;
        Some(claims.by_ref().take(chunk_size).collect::<Vec<_>>())
    });
    for (number, outcome) in batch.submit(chunks).await {
        let result = match outcome {
            Ok(intake) => json!({
                "line": number,
                "claimId": intake.claim_id,
                "status": intake.state.as_str(),
                "cleanClaim": intake.report.clean_claim,
            }),
            Err(error) => json!({"line": number, "error": error.to_string(), "field": error.field()}),
        };
        results.push((number, result));
    }
    results.sort_by_key(|(number, _)| *number);
    let results: Vec<Value> = results.into_iter().map(|(_, result)| result).collect();
    Ok(HttpResponse::Ok().json(results))
}

async fn status(fhir: web::Data<FhirContext>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let status = service::status(&fhir.service, &id).await?;
    Ok(HttpResponse::Ok().json(status_json(&status)))
}

fn intake_json(intake: &Intake) -> Value {
    json!({
        "claimId": intake.claim_id,
        "status": intake.state.as_str(),
        "scrubResults": scrub_json(&intake.report),
        "cleanClaim": intake.report.clean_claim,
        "pricing": {
            "allowedTotal": json_amount(intake.pricing.allowed_total),
            "patientEstimate": json_amount(intake.pricing.patient_estimate_total),
            "payerEstimate": json_amount(intake.pricing.payer_estimate_total),
        },
        "nextSteps": next_steps(intake),
    })
}

/// What to do now: each distinct suggestion the scrub made, or to submit a clean
/// claim.
fn next_steps(intake: &Intake) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    for finding in &intake.report.findings {
        if !finding.suggestion.is_empty() && !steps.contains(&finding.suggestion) {
            steps.push(finding.suggestion.clone());
        }
    }
    if intake.report.clean_claim {
        steps.push(format!(
            "submit the claim: its 837P is at /api/billing/claims/{}/837",
            intake.claim_id
        ));
    }
    steps
}
