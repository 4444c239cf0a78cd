//! The billers' worklist over HTTP:
//!
//! - `GET /api/billing/claims?status=denied&payer=…&assignee=…&from=YYYY-MM-DD&to=…&denialCategory=…&limit=50&before=ID`:
//!   the claims billing knows of, newest first, a page at a time;
//! - `GET /api/billing/claims/export.csv?…` (the same filters): all of them as CSV;
//! - `POST /api/billing/claims/assign` `{"claimIds": [...], "assignee": "…"}`;
//! - `POST /api/billing/claims/{id}/resolve` `{"note": "…", "close": true}`;
//! - `POST /api/billing/claims/{id}/resubmit` `{"lines": [...], "diagnoses": [...]}`:
//!   correct, scrub and send again (`corrections::Corrections`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{export, Resubmission, ResubmitError, WorklistQuery};
use crate::billing::corrections::Corrections;
use crate::billing::paging::{next_before, page_size};
use crate::billing::remittance::money::from_cents;
use crate::billing::routes::{billing_status, scrub_json, status_json, BillingContext, API_ACTOR};
use crate::billing::service::BillingError;
use crate::billing::submission::SubmissionError;
use crate::fhir::routes::FhirContext;
use crate::store::worklist::WorklistRow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/claims", web::get().to(list))
        .route("/api/billing/claims/export.csv", web::get().to(export_csv))
        .route("/api/billing/claims/assign", web::post().to(assign))
        .route("/api/billing/claims/{id}/resolve", web::post().to(resolve))
        .route("/api/billing/claims/{id}/resubmit", web::post().to(resubmit));
}

#[derive(Debug, thiserror::Error)]
enum WorklistError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Resubmit(#[from] ResubmitError),
}

impl ResponseError for WorklistError {
    fn status_code(&self) -> StatusCode {
        match self {
            WorklistError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WorklistError::Billing(error) => billing_status(error),
            WorklistError::Resubmit(ResubmitError::Correction(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            WorklistError::Resubmit(ResubmitError::Submission(SubmissionError::Billing(error))) => {
                billing_status(error)
            }
            WorklistError::Resubmit(ResubmitError::Submission(SubmissionError::Gateway(error))) => {
                crate::billing::gateway::routes::gateway_status(error)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut body = json!({"error": self.to_string()});
        if status.is_server_error() {
            tracing::error!(error = %self, "worklist request failed");
            body["error"] = json!("the claim could not be worked now; try again");
        }
        if let WorklistError::Resubmit(ResubmitError::Correction(error)) = self {
            body["path"] = json!(error.path);
        }
        HttpResponse::build(status).json(body)
    }
}

/// The query string's filters, as both the list and the export read them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filters {
    status: Option<String>,
    payer: Option<String>,
    assignee: Option<String>,
    from: Option<String>,
    to: Option<String>,
    denial_category: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

impl Filters {
    fn query(&self) -> Result<WorklistQuery, WorklistError> {
        WorklistQuery::parse(
            self.status.as_deref(),
            self.payer.as_deref(),
            self.assignee.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            self.denial_category.as_deref(),
            self.before,
            page_size(self.limit),
        )
        .map_err(|error| WorklistError::BadRequest(error.to_string()))
    }
}

fn row_json(row: &WorklistRow) -> Value {
    json!({
        "claimId": row.claim_id,
        "number": row.patient_control_number(),
        "status": row.state,
        "payer": row.payer,
        "assignee": row.assignee,
        "charge": row.charge_cents.map(|cents| crate::billing::remittance::money::json_amount(from_cents(cents))),
        "createdAt": crate::fhir::instant(row.created_at),
        "updatedAt": crate::fhir::instant(row.updated_at),
    })
}

async fn list(
    fhir: web::Data<FhirContext>,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, WorklistError> {
    let query = filters.query()?;
    let rows = super::list(&fhir.service, &query).await?;
    let next = next_before(rows.len(), query.limit, rows.last().map(|r| r.id));
    let claims: Vec<Value> = rows.iter().map(row_json).collect();
    Ok(HttpResponse::Ok().json(json!({"claims": claims, "nextBefore": next})))
}

async fn export_csv(
    fhir: web::Data<FhirContext>,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, WorklistError> {
    let text = export::csv(&fhir.service, &filters.query()?).await?;
    Ok(export::response(text))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignRequest {
    claim_ids: Vec<String>,
    /// Blank or absent: nobody.
    #[serde(default)]
    assignee: String,
}

async fn assign(fhir: web::Data<FhirContext>, body: web::Bytes) -> Result<HttpResponse, WorklistError> {
    let request: AssignRequest = json_body(&body)?;
    if request.claim_ids.is_empty() {
        return Err(WorklistError::BadRequest(
            "claimIds must name at least one claim".into(),
        ));
    }
    let assigned = super::assign(&fhir.service, &request.claim_ids, &request.assignee).await?;
    Ok(HttpResponse::Ok().json(json!({"assigned": assigned, "assignee": request.assignee.trim()})))
}

#[derive(Deserialize)]
struct ResolveRequest {
    note: String,
    #[serde(default)]
    close: bool,
    actor: Option<String>,
}

async fn resolve(
    fhir: web::Data<FhirContext>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WorklistError> {
    let request: ResolveRequest = json_body(&body)?;
    let note = request.note.trim();
    if note.is_empty() {
        return Err(WorklistError::BadRequest(
            "note must say how the claim was resolved".into(),
        ));
    }
    let actor = request.actor.unwrap_or_else(|| API_ACTOR.into());
    let resolved = super::resolve(&fhir.service, &id, note, &actor, request.close).await?;
    let mut answer = status_json(&resolved.status);
    answer["denialsResolved"] = json!(resolved.denials);
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize)]
struct ResubmitRequest {
    #[serde(flatten)]
    corrections: Corrections,
    actor: Option<String>,
}

async fn resubmit(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WorklistError> {
    let request: ResubmitRequest = json_body(&body)?;
    let actor = request.actor.unwrap_or_else(|| API_ACTOR.into());
    let outcome = super::fix_and_resubmit(&fhir.service, &billing, &id, &request.corrections, &actor).await?;
    Ok(match outcome {
        Resubmission::Submitted(status) => HttpResponse::Ok().json(status_json(&status)),
        Resubmission::Queued(status, job) => {
            let mut answer = status_json(&status);
            answer["submission"] = json!({"status": "pending", "jobId": job.id, "job": job.status});
            HttpResponse::Accepted().json(answer)
        }
        Resubmission::NotClean(status, report) => {
            let mut answer = status_json(&status);
            answer["scrubResults"] = scrub_json(&report);
            HttpResponse::UnprocessableEntity().json(answer)
        }
        Resubmission::NoGateway(status) => {
            let mut answer = status_json(&status);
            answer["error"] =
                json!("the claim is ready to submit, but no integration is configured to send it");
            HttpResponse::ServiceUnavailable().json(answer)
        }
    })
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WorklistError> {
    serde_json::from_slice(body)
        .map_err(|error| WorklistError::BadRequest(format!("the body is not what this takes: {error}")))
}
