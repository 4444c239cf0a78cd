//! Remittance posting over HTTP: `POST /api/billing/remittance` takes an 835 as its
//! body and answers with a report per remittance; `GET
//! /api/billing/remittance/unmatched` lists the claim payments that found no claim.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::billing::remittance::money::{from_cents, json_amount};
use crate::billing::remittance::posting::{post_835, RemittanceError};
use crate::billing::routes::billing_status;
use crate::billing::service::BillingError;
use crate::fhir::outcome::FhirError;
use crate::fhir::routes::{read_body, FhirContext};
use crate::store::remittance::UnmatchedClaim;

/// Unmatched claim payments per page, unless asked otherwise, and at most.
const PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/remittance", web::post().to(post))
        .route("/api/billing/remittance/unmatched", web::get().to(unmatched));
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Body(#[from] FhirError),
    #[error(transparent)]
    Remittance(#[from] RemittanceError),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::Remittance(
                RemittanceError::Unreadable(_) | RemittanceError::NoRemittance | RemittanceError::SubCent(_),
            ) => StatusCode::BAD_REQUEST,
            ApiError::Body(error) => error.status_code(),
            ApiError::Remittance(RemittanceError::NotPosted { source, .. }) | ApiError::Billing(source) => {
                billing_status(source)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({"error": self.to_string()});
        // Remittances before the failed one were committed: say which.
        if let ApiError::Remittance(RemittanceError::NotPosted { posted, .. }) = self {
            body["remittances"] = json!(posted);
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

async fn post(
    fhir: web::Data<FhirContext>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bytes = read_body(&request, body, fhir.body_limit).await?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| ApiError::BadRequest("the 835 is not UTF-8 text".into()))?;
    let reports = post_835(&fhir.service, text).await?;
    Ok(HttpResponse::Ok().json(json!({"remittances": reports})))
}

#[derive(Deserialize)]
struct UnmatchedQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

async fn unmatched(
    fhir: web::Data<FhirContext>,
    query: web::Query<UnmatchedQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let found = crate::billing::remittance::unmatched(&fhir.service, query.before, limit).await?;
    let items: Vec<Value> = found.iter().map(unmatched_json).collect();
    Ok(HttpResponse::Ok().json(json!({"unmatched": items})))
}

fn unmatched_json(claim: &UnmatchedClaim) -> Value {
    json!({
        "id": claim.id,
        "remittanceId": claim.remittance_id,
        "traceNumber": claim.trace_number,
        "payer": {"id": claim.payer_id, "name": claim.payer_name},
        "receivedAt": crate::fhir::instant(claim.received_at),
        "patientControlNumber": claim.patient_control_number,
        "payerClaimControlNumber": claim.payer_claim_control_number,
        "charge": json_amount(from_cents(claim.charge_cents)),
        "paid": json_amount(from_cents(claim.paid_cents)),
        "detail": serde_json::from_str::<Value>(&claim.detail).unwrap_or(Value::Null),
    })
}
