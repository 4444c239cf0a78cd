//! The job queue over HTTP, JSON in camelCase: status counts by kind
//! (`GET /api/billing/jobs/status`), lists (`GET /api/billing/jobs?status=&kind=`),
//! a manual trigger per kind (`POST /api/billing/jobs/{kind}/run`) and the admin's
//! requeue of a dead job (`POST /admin/jobs/{id}/requeue`).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::job::NewJob;
use super::queue::{JobQueue, QueueError};
use super::registry::JobRegistry;
use crate::billing::paging::{next_before, page_size};
use crate::store::jobs::{JobFilter, JobId, JobStatus};

pub struct JobsContext {
    pub queue: JobQueue,
    pub registry: Arc<JobRegistry>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/jobs", web::get().to(list))
        .route("/api/billing/jobs/status", web::get().to(status))
        .route("/api/billing/jobs/{kind}/run", web::post().to(trigger))
        .route("/admin/jobs/{id}/requeue", web::post().to(requeue));
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no handler runs jobs of kind {0:?}")]
    UnknownKind(String),
    #[error("no job has id {0}")]
    NoJob(String),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Queue(QueueError::Invalid(_)) => StatusCode::BAD_REQUEST,
            ApiError::UnknownKind(_) | ApiError::NoJob(_) | ApiError::Queue(QueueError::NotFound(_)) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Queue(
                QueueError::NotDead { .. } | QueueError::KeyInUse(_) | QueueError::LeaseLost(_),
            ) => StatusCode::CONFLICT,
            ApiError::Queue(QueueError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "job queue");
        }
        HttpResponse::build(status).json(json!({"error": self.to_string()}))
    }
}

type Answer = Result<HttpResponse, ApiError>;

async fn status(context: web::Data<JobsContext>) -> Answer {
    let kinds = context.queue.status(&context.registry.kinds()).await?;
    Ok(HttpResponse::Ok().json(json!({"kinds": kinds})))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list(context: web::Data<JobsContext>, query: web::Query<ListQuery>) -> Answer {
    let query = query.into_inner();
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(JobStatus::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status {text:?} is none of queued, running, succeeded, dead"
            ))
        })?),
    };
    let limit = page_size(query.limit);
    let filter = JobFilter {
        status,
        kind: query.kind,
        before: query.before.map(JobId),
        limit,
    };
    let jobs = context.queue.list(&filter).await?;
    let next = next_before(jobs.len(), limit, jobs.last().map(|job| job.id.0));
    Ok(HttpResponse::Ok().json(json!({"jobs": jobs, "nextBefore": next})))
}

/// What a trigger may say; an empty body says nothing.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TriggerBody {
    payload: Option<Value>,
    dedupe_key: Option<String>,
}

/// Enqueues a job of `kind`, due now. Without a payload it is the kind's schedule's
/// (or `{}`), and the job is deduplicated per kind, so that a trigger sent twice
/// while the first job waits runs once; with a payload, only a given `dedupeKey`
/// deduplicates. 202 with the job, the one found when deduplicated.
async fn trigger(context: web::Data<JobsContext>, kind: web::Path<String>, body: web::Bytes) -> Answer {
    let kind = kind.into_inner();
    if context.registry.handler(&kind).is_none() {
        return Err(ApiError::UnknownKind(kind));
    }
    let body: TriggerBody = if body.iter().all(u8::is_ascii_whitespace) {
        TriggerBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the body: {e}")))?
    };
    let dedupe_key = match (&body.payload, body.dedupe_key) {
        (_, Some(key)) => Some(key),
        (None, None) => Some(format!("manual:{kind}")),
        (Some(_), None) => None,
    };
    let payload = body.payload.unwrap_or_else(|| {
        context
            .registry
            .schedule(&kind)
            .map_or_else(|| json!({}), |schedule| schedule.payload.clone())
    });
    let mut job = NewJob::new(kind, payload);
    if let Some(key) = dedupe_key {
        job = job.dedupe_key(key);
    }
    let enqueued = context.queue.enqueue(job).await?;
    Ok(HttpResponse::Accepted().json(enqueued.job))
}

async fn requeue(context: web::Data<JobsContext>, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    let number = id.parse().map_err(|_| ApiError::NoJob(id))?;
    Ok(HttpResponse::Ok().json(context.queue.requeue(JobId(number)).await?))
}
