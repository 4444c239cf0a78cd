//! The billing API's operations that go through the gateway: eligibility checks
//! and their history, claim submission, prior authorizations. Handlers parse, call
//! the domain (`billing::eligibility`, `billing::submission`, `billing::prior_auth`)
//! and render; with no gateway configured they answer 503.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::billing::dispatch;
use crate::billing::eligibility::{self, EligibilityCheck, EligibilityError, EligibilityRecord};
use crate::billing::fields::InvalidInput;
use crate::billing::gateway::{BillingGateway, GatewayError};
use crate::billing::prior_auth::{self, PriorAuthError, PriorAuthRecord, PriorAuthRequest};
use crate::billing::remittance::money::json_amount;
use crate::billing::routes::{billing_status, status_json, BillingContext, API_ACTOR};
use crate::billing::service::BillingError;
use crate::billing::submission::{self, SubmissionError};
use crate::fhir::outcome::FhirError;
use crate::fhir::routes::FhirContext;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/billing/eligibility/check",
        web::post().to(check_eligibility),
    )
    .route(
        "/api/billing/eligibility/history/{patient_id}",
        web::get().to(eligibility_history),
    )
    .route("/api/billing/claims/{id}/submit", web::post().to(submit_claim))
    .route(
        "/api/billing/prior-auth/submit",
        web::post().to(submit_prior_auth),
    )
    .route("/api/billing/prior-auth", web::get().to(list_prior_auths));
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no billing integration is configured: set CLAIMBRIDGE_BILLING_GATEWAY (sandbox is the one available)")]
    NotConfigured,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The clearinghouse answered with something unusable.
    #[error("{0}")]
    BadAnswer(String),
    /// Stored data X12 cannot carry.
    #[error("{0}")]
    Unwritable(String),
    #[error(transparent)]
    Fhir(#[from] FhirError),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

impl From<EligibilityError> for ApiError {
    fn from(error: EligibilityError) -> Self {
        match error {
            EligibilityError::Invalid(invalid) => ApiError::Invalid(invalid),
            EligibilityError::Gateway(gateway) => ApiError::Gateway(gateway),
            error @ EligibilityError::Unanswered(_) => ApiError::BadAnswer(error.to_string()),
            error @ EligibilityError::Unwritable(_) => ApiError::Unwritable(error.to_string()),
            EligibilityError::Fhir(fhir) => ApiError::Fhir(fhir),
        }
    }
}

impl From<PriorAuthError> for ApiError {
    fn from(error: PriorAuthError) -> Self {
        match error {
            PriorAuthError::Invalid(invalid) => ApiError::Invalid(invalid),
            PriorAuthError::Gateway(gateway) => ApiError::Gateway(gateway),
            PriorAuthError::Fhir(fhir) => ApiError::Fhir(fhir),
        }
    }
}

impl From<SubmissionError> for ApiError {
    fn from(error: SubmissionError) -> Self {
        match error {
            SubmissionError::Billing(billing) => ApiError::Billing(billing),
            SubmissionError::Gateway(gateway) => ApiError::Gateway(gateway),
        }
    }
}

/// What each kind of gateway failure tells the client: try later (503), find out
/// first (504), or it will not go through as it is (502).
pub(crate) fn gateway_status(error: &GatewayError) -> StatusCode {
    match error {
        GatewayError::Transient(_) => StatusCode::SERVICE_UNAVAILABLE,
        GatewayError::Ambiguous(_) => StatusCode::GATEWAY_TIMEOUT,
        GatewayError::Final(_) => StatusCode::BAD_GATEWAY,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Invalid(_) | ApiError::Unwritable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Gateway(error) => gateway_status(error),
            ApiError::BadAnswer(_) => StatusCode::BAD_GATEWAY,
            ApiError::Fhir(error) => error.status_code(),
            ApiError::Billing(error) => billing_status(error),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Fhir(FhirError::Internal(_))
            | ApiError::Billing(BillingError::Fhir(FhirError::Internal(_))) => {
                tracing::error!(error = %self, "billing request failed");
                "internal server error".to_owned()
            }
            _ => self.to_string(),
        };
        let mut body = json!({"error": message});
        match self {
            ApiError::Invalid(invalid) => body["field"] = json!(invalid.field),
            ApiError::Gateway(error) => {
                // The kind only: messages can quote what was sent.
                let kind = match error {
                    GatewayError::Transient(_) => "transient",
                    GatewayError::Ambiguous(_) => "ambiguous",
                    GatewayError::Final(_) => "final",
                };
                tracing::warn!(kind, "billing gateway failed");
                body["gatewayError"] = json!(kind);
            }
            ApiError::Billing(BillingError::Illegal(illegal)) => {
                let allowed: Vec<&str> = illegal.from.next_states().iter().map(|s| s.as_str()).collect();
                body["state"] = json!(illegal.from.as_str());
                body["allowed"] = json!(allowed);
            }
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

fn gateway(billing: &BillingContext) -> Result<&dyn BillingGateway, ApiError> {
    billing.gateway.as_deref().ok_or(ApiError::NotConfigured)
}

fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct PriorAuthQuery {
    patient: Option<String>,
    limit: Option<usize>,
}

fn limit(asked: Option<usize>) -> Result<usize, ApiError> {
    match asked.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        other => Err(ApiError::BadRequest(format!(
            "limit {other} is not between 1 and {MAX_LIMIT}"
        ))),
    }
}

async fn check_eligibility(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let gateway = gateway(&billing)?;
    let asked = EligibilityCheck::parse(&json_body(&body)?, billing.rules.today())?;
    let record = eligibility::check(&fhir.service, gateway, &billing.eligibility, &asked).await?;
    Ok(HttpResponse::Created().json(eligibility_json(&record)))
}

async fn eligibility_history(
    fhir: web::Data<FhirContext>,
    patient_id: web::Path<String>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let records = eligibility::history(&fhir.service, &patient_id, limit(page.limit)?).await?;
    let checks: Vec<Value> = records.iter().map(eligibility_json).collect();
    Ok(HttpResponse::Ok().json(json!({"patientId": patient_id.as_str(), "checks": checks})))
}

#[derive(Deserialize, Default)]
struct SubmitRequest {
    actor: Option<String>,
}

async fn submit_claim(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    id: web::Path<String>,
    request: Option<web::Json<SubmitRequest>>,
) -> Result<HttpResponse, ApiError> {
    let gateway = gateway(&billing)?;
    let actor = request
        .and_then(|r| r.into_inner().actor)
        .unwrap_or_else(|| API_ACTOR.into());
    if billing.queue_submissions {
        let (status, job) = dispatch::queue_submission(&fhir.service, &id, &actor).await?;
        let mut answer = status_json(&status);
        answer["submission"] = json!({"status": "pending", "jobId": job.id, "job": job.status});
        return Ok(HttpResponse::Accepted().json(answer));
    }
    let status = submission::submit(&fhir.service, gateway, &billing.submission, &id, &actor).await?;
    Ok(HttpResponse::Ok().json(status_json(&status)))
}

async fn submit_prior_auth(
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let gateway = gateway(&billing)?;
    let request = PriorAuthRequest::parse(&json_body(&body)?)?;
    let record = prior_auth::submit(&fhir.service, gateway, &request).await?;
    Ok(HttpResponse::Created().json(prior_auth_json(&record)))
}

async fn list_prior_auths(
    fhir: web::Data<FhirContext>,
    query: web::Query<PriorAuthQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let patient = query
        .patient
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::BadRequest("patient is required: ?patient={patient id}".into()))?;
    let records = prior_auth::list(&fhir.service, &patient, limit(query.limit)?).await?;
    let requests: Vec<Value> = records.iter().map(prior_auth_json).collect();
    Ok(HttpResponse::Ok().json(json!({"patientId": patient, "priorAuths": requests})))
}

fn eligibility_json(record: &EligibilityRecord) -> Value {
    let summary = &record.summary;
    let amount = |value: Option<rust_decimal::Decimal>| value.map_or(Value::Null, json_amount);
    let rejections: Vec<Value> = summary
        .rejections
        .iter()
        .map(|code| json!({"code": code, "description": eligibility::benefits::rejection_text(code)}))
        .collect();
    json!({
        "requestId": record.request_id,
        "responseId": record.response_id,
        "created": record.created,
        "serviceDate": record.service_date,
        "outcome": record.outcome,
        "disposition": record.disposition,
        "active": summary.active,
        "plan": summary.plan,
        "copay": amount(summary.copay),
        "coinsurance": amount(summary.coinsurance),
        "deductible": amount(summary.deductible),
        "deductibleRemaining": amount(summary.deductible_remaining),
        "rejections": rejections,
    })
}

fn prior_auth_json(record: &PriorAuthRecord) -> Value {
    json!({
        "claimId": record.claim_id,
        "responseId": record.response_id,
        "created": record.created,
        "decision": record.decision.as_str(),
        "preAuthRef": record.reference,
        "preAuthPeriod": record.period.as_ref().map(|(start, end)| json!({"start": start, "end": end})),
        "disposition": record.disposition,
    })
}
