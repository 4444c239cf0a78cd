//! The billing API for one claim (`/api/billing/claims/{id}`): its state, history
//! and ledger totals, moves between states, scrubbing, and its 837P. Handlers parse,
//! call `billing::service`, and render. Remittance posting has its own routes
//! (`billing::remittance::routes`), and so do the operations that go through the
//! billing gateway (`billing::gateway::routes`), configured from here.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::access_token::Principal;
use crate::billing::dispatch;
use crate::billing::gateway::BillingGateway;
use crate::billing::lifecycle::BillingState;
use crate::billing::remittance::money::json_amount;
use crate::billing::scrub::{RuleSet, ScrubReport};
use crate::billing::service::{self, BillingError, ClaimStatus, Move};
use crate::fhir::routes::FhirContext;
use crate::x12::claim_837p::ClaimSubmissionConfig;
use crate::x12::eligibility_inquiry::EligibilityConfig;

pub struct BillingContext {
    pub rules: Arc<RuleSet>,
    pub submission: ClaimSubmissionConfig,
    /// Claims of a batch stored per transaction (`intake::batch`).
    pub batch_chunk: usize,
    /// What claims are priced with (`billing_fee_schedules`).
    pub fee_schedules: Arc<crate::billing::pricing::FeeSchedules>,
    /// The 270s eligibility checks write.
    pub eligibility: EligibilityConfig,
    /// Where submissions, eligibility checks and prior authorizations go; `None`
    /// when no integration is configured.
    pub gateway: Option<Arc<dyn BillingGateway>>,
    /// Submissions are queued as jobs through the integration registry
    /// (`billing::dispatch`) rather than sent during the request.
    pub queue_submissions: bool,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The worklist first: its fixed paths (`claims/export.csv`, `claims/assign`)
    // must match before `claims/{id}` would take them for ids.
    cfg.configure(crate::billing::worklist::routes::configure)
        .route("/api/billing/claims/{id}", web::get().to(show))
        .route("/api/billing/claims/{id}/transitions", web::post().to(transition))
        .route("/api/billing/claims/{id}/validate", web::post().to(validate))
        .route("/api/billing/claims/{id}/837", web::get().to(document_837))
        .route(
            "/admin/claims/{id}/submissions/{submission_id}/abandon",
            web::post().to(abandon_submission),
        )
        .configure(crate::billing::remittance::routes::configure)
        .configure(crate::billing::dashboard::routes::configure)
        .configure(crate::billing::denied::routes::configure)
        .configure(crate::billing::gateway::routes::configure);
}

/// The HTTP status of a billing failure.
pub(crate) fn billing_status(error: &BillingError) -> StatusCode {
    match error {
        BillingError::Fhir(error) => error.status_code(),
        BillingError::Illegal(_) => StatusCode::CONFLICT,
        BillingError::Unbillable(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Billing(error) => billing_status(error),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({"error": self.to_string()});
        if let ApiError::Billing(BillingError::Illegal(illegal)) = self {
            let allowed: Vec<&str> = illegal.from.next_states().iter().map(|s| s.as_str()).collect();
            body["state"] = json!(illegal.from.as_str());
            body["allowed"] = json!(allowed);
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransitionRequest {
    to: String,
    actor: Option<String>,
    reason: Option<String>,
    details: Option<Value>,
}

#[derive(Deserialize, Default)]
struct ValidateRequest {
    actor: Option<String>,
}

/// Keys of a move's details that only the server writes (`dispatch`'s receipts
/// and abandonments).
const SERVER_DETAILS: [&str; 3] = ["submissionId", "jobId", "abandoned"];

/// Who a move is recorded as when the request does not say (until sign-in exists).
pub(crate) const API_ACTOR: &str = "api";

async fn show(fhir: web::Data<FhirContext>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let status = service::status(&fhir.service, &id).await?;
    Ok(HttpResponse::Ok().json(status_json(&status)))
}

async fn transition(
    fhir: web::Data<FhirContext>,
    id: web::Path<String>,
    request: web::Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let to = BillingState::parse(&request.to).ok_or_else(|| {
        let known: Vec<&str> = BillingState::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::BadRequest(format!(
            "unknown state {:?}; states are {}",
            request.to,
            known.join(", ")
        ))
    })?;
    if let Some(key) = request
        .details
        .as_ref()
        .and_then(|details| SERVER_DETAILS.iter().find(|key| details.get(**key).is_some()))
    {
        // A submission the history names is settled: jobs would stop asking the
        // clearinghouse about it, which only a receipt or an admin may decide.
        return Err(ApiError::BadRequest(format!(
            "details.{key} is recorded by the server, not given in a move"
        )));
    }
    let step = Move {
        to,
        actor: request.actor.unwrap_or_else(|| API_ACTOR.into()),
        reason: request.reason,
        details: request.details,
    };
    let status = service::move_claim(&fhir.service, &id, step).await?;
    Ok(HttpResponse::Ok().json(status_json(&status)))
}

async fn validate(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    id: web::Path<String>,
    request: Option<web::Json<ValidateRequest>>,
) -> Result<HttpResponse, ApiError> {
    let actor = request
        .and_then(|r| r.into_inner().actor)
        .unwrap_or_else(|| API_ACTOR.into());
    let (status, report) = service::validate(&fhir.service, &billing.rules, &id, &actor).await?;
    let mut body = status_json(&status);
    body["cleanClaim"] = json!(report.clean_claim);
    body["scrubResults"] = scrub_json(&report);
    Ok(HttpResponse::Ok().json(body))
}

async fn document_837(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = service::claim_837p(&fhir.service, &billing.submission, &id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/edi-x12")
        .body(document))
}

#[derive(Deserialize)]
struct AbandonRequest {
    reason: Option<String>,
}

/// An admin declares an earlier upload of the claim abandoned
/// (`dispatch::abandon_submission`), recorded under the admin's name.
async fn abandon_submission(
    fhir: web::Data<FhirContext>,
    http: HttpRequest,
    path: web::Path<(String, String)>,
    request: web::Json<AbandonRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, submission_id) = path.into_inner();
    let reason = request
        .into_inner()
        .reason
        .filter(|reason| !reason.trim().is_empty())
        .ok_or_else(|| {
            ApiError::BadRequest(
                "reason is required: how is it known that the clearinghouse does not hold the upload?".into(),
            )
        })?;
    let actor = http
        .extensions()
        .get::<Principal>()
        .map_or_else(|| API_ACTOR.to_owned(), |principal| principal.subject.clone());
    let status = dispatch::abandon_submission(&fhir.service, &id, &submission_id, &actor, &reason).await?;
    Ok(HttpResponse::Ok().json(status_json(&status)))
}

pub(crate) fn status_json(status: &ClaimStatus) -> Value {
    let history: Vec<Value> = status
        .history
        .iter()
        .map(|change| {
            json!({
                "from": change.from_state,
                "to": change.to_state,
                "actor": change.actor,
                "reason": change.reason,
                "details": change.details.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()),
                "at": crate::fhir::instant(change.at),
            })
        })
        .collect();
    json!({
        "claimId": status.claim_id,
        "status": status.state.as_str(),
        "fhirStatus": status.state.fhir_status(),
        "statusHistory": history,
        "paid": json_amount(status.totals.paid()),
        "patientResponsibility": json_amount(status.totals.patient_responsibility()),
        "adjustments": json_amount(status.totals.adjustments()),
        "denials": status.denials.iter().map(crate::billing::denied::denial_json).collect::<Vec<_>>(),
        "patientPayments": status.patient_payments.iter().map(|payment| json!({
            "kind": payment.kind,
            "externalId": payment.external_id,
            "amountMinor": payment.amount_minor,
            "currency": payment.currency,
            "postedAt": crate::fhir::instant(payment.posted_at),
        })).collect::<Vec<_>>(),
    })
}

pub(crate) fn scrub_json(report: &ScrubReport) -> Value {
    report
        .findings
        .iter()
        .map(|f| {
            json!({
                "severity": f.severity.as_str(),
                "path": f.path,
                "code": f.code.as_str(),
                "rule": f.rule_id,
                "message": f.message,
                "suggestion": f.suggestion,
            })
        })
        .collect()
}
