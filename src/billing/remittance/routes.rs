//! Remittance posting over HTTP: `POST /api/billing/remittance` takes an 835 as its
//! body and answers with a report per remittance; `GET /api/billing/remittance`
//! lists what was posted, newest first, and `GET /api/billing/remittance/{id}`
//! answers one remittance's report again; `GET /api/billing/remittance/unmatched`
//! lists the claim payments that found no claim.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::billing::paging::{next_before, page_size};
use crate::billing::period::{Period, PeriodError};
use crate::billing::remittance::money::{from_cents, json_amount};
use crate::billing::remittance::posting::{post_835, RemittanceError};
use crate::billing::routes::billing_status;
use crate::billing::service::BillingError;
use crate::fhir::outcome::FhirError;
use crate::fhir::routes::{read_body, FhirContext};
use crate::store::remittance::{RemittanceFilter, RemittanceSummary, UnmatchedClaim};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/remittance", web::post().to(post))
        .route("/api/billing/remittance", web::get().to(list))
        // Before `{id}`, which it would otherwise match.
        .route("/api/billing/remittance/unmatched", web::get().to(unmatched))
        .route("/api/billing/remittance/{id}", web::get().to(show));
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error("no remittance {0}")]
    NotFound(i64),
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
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_)
            | ApiError::Period(_)
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
struct ListQuery {
    payer: Option<String>,
    /// Received on or after this day (UTC).
    from: Option<String>,
    /// Received on or before this day (UTC).
    to: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list(fhir: web::Data<FhirContext>, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let received = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    let limit = page_size(query.limit);
    let filter = RemittanceFilter {
        payer_id: query.payer.as_deref(),
        received_from: received.start(),
        received_before: received.end(),
        before_id: query.before,
        limit,
    };
    let found = crate::billing::remittance::list(&fhir.service, &filter).await?;
    let next = next_before(found.len(), limit, found.last().map(|r| r.id));
    let items: Vec<Value> = found.iter().map(summary_json).collect();
    Ok(HttpResponse::Ok().json(json!({"remittances": items, "nextBefore": next})))
}

fn summary_json(remittance: &RemittanceSummary) -> Value {
    json!({
        "id": remittance.id,
        "payer": {"id": remittance.payer_id, "name": remittance.payer_name},
        "traceNumber": remittance.trace_number,
        "paymentAmount": json_amount(from_cents(remittance.payment_cents)),
        "paymentDate": remittance.payment_date,
        "receivedAt": crate::fhir::instant(remittance.received_at),
        "claimsPosted": remittance.posted_claims,
        "claimsUnmatched": remittance.unmatched_claims,
    })
}

/// The report the remittance's posting answered with, as it was stored.
async fn show(fhir: web::Data<FhirContext>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let report = crate::billing::remittance::stored_report(&fhir.service, id)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    Ok(HttpResponse::Ok().content_type("application/json").body(report))
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
    let limit = page_size(query.limit);
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
