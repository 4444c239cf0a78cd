//! The denial work list and its one action:
//! - `GET /api/billing/denials?status=open&action=manual_review&assignee=appeals&category=authorization&limit=50&before=ID`
//!   — denials, newest first, a page at a time;
//! - `POST /api/billing/denials/{id}/resolve` `{"note": "…", "actor": "…"}` — marks
//!   one resolved (409 when it already is).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{denial_json, OPEN, RESOLVED, RESUBMIT_QUEUED};
use crate::billing::paging::{next_before, page_size};
use crate::fhir::outcome::FhirError;
use crate::fhir::routes::FhirContext;
use crate::store::denials::{DenialFilter, Resolution};
use crate::store::model::Tenant;

const STATUSES: [&str; 3] = [OPEN, RESUBMIT_QUEUED, RESOLVED];
const ACTIONS: [&str; 3] = ["auto_resubmit", "manual_review", "notify"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/denials", web::get().to(list)).service(
        web::resource("/api/billing/denials/{id}/resolve")
            .app_data(
                web::JsonConfig::default()
                    .error_handler(|error, _| DenialApiError::BadRequest(error.to_string()).into()),
            )
            .route(web::post().to(resolve)),
    );
}

#[derive(Debug, thiserror::Error)]
enum DenialApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no denial {0}")]
    NotFound(i64),
    #[error("denial {0} is resolved already")]
    Resolved(i64),
    #[error(transparent)]
    Store(#[from] FhirError),
}

impl From<crate::store::StoreError> for DenialApiError {
    fn from(error: crate::store::StoreError) -> Self {
        DenialApiError::Store(error.into())
    }
}

impl ResponseError for DenialApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            DenialApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DenialApiError::NotFound(_) => StatusCode::NOT_FOUND,
            DenialApiError::Resolved(_) => StatusCode::CONFLICT,
            DenialApiError::Store(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(json!({"error": self.to_string()}))
    }
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    action: Option<String>,
    assignee: Option<String>,
    category: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

fn one_of(name: &str, value: Option<String>, allowed: &[&str]) -> Result<Option<String>, DenialApiError> {
    match value {
        Some(value) if !allowed.contains(&value.as_str()) => Err(DenialApiError::BadRequest(format!(
            "unknown {name} {value:?}; it is one of {}",
            allowed.join(", ")
        ))),
        value => Ok(value),
    }
}

async fn list(
    fhir: web::Data<FhirContext>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, DenialApiError> {
    let query = query.into_inner();
    let filter = DenialFilter {
        status: one_of("status", query.status, &STATUSES)?,
        action: one_of("action", query.action, &ACTIONS)?,
        assignee: query.assignee,
        category: query.category,
        before: query.before,
        limit: page_size(query.limit),
    };
    let mut session = fhir.service.session(&Tenant::default()).await?;
    let records = session.list_denials(&filter).await?;
    let next = next_before(records.len(), filter.limit, records.last().map(|r| r.id));
    let denials: Vec<_> = records.iter().map(denial_json).collect();
    Ok(HttpResponse::Ok().json(json!({"denials": denials, "nextBefore": next})))
}

#[derive(Deserialize)]
struct ResolveRequest {
    note: String,
    actor: Option<String>,
}

async fn resolve(
    fhir: web::Data<FhirContext>,
    id: web::Path<i64>,
    request: web::Json<ResolveRequest>,
) -> Result<HttpResponse, DenialApiError> {
    let id = id.into_inner();
    let request = request.into_inner();
    let note = request.note.trim();
    if note.is_empty() {
        return Err(DenialApiError::BadRequest(
            "note must say how the denial was resolved".into(),
        ));
    }
    let actor = request
        .actor
        .unwrap_or_else(|| crate::billing::routes::API_ACTOR.into());
    let resolution = Resolution {
        by: &actor,
        note,
        at: Utc::now(),
    };
    let mut session = fhir.service.session(&Tenant::default()).await?;
    match session.resolve_denial(id, &resolution).await? {
        Some(record) => Ok(HttpResponse::Ok().json(denial_json(&record))),
        None => match session.denial(id).await? {
            Some(_) => Err(DenialApiError::Resolved(id)),
            None => Err(DenialApiError::NotFound(id)),
        },
    }
}
