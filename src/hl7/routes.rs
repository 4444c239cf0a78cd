//! HL7 over HTTP (`POST /hl7/v2`: an ER7 message in, its ACK out) and the operations
//! API for stored messages (`/api/hl7/messages`).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use crate::hl7::ingest::{Ingest, IngestError, ReprocessError};
use crate::store::messages::{MessageFilter, MessageStatus, StoredMessage};

/// The media type of HL7 v2 ER7 ("pipe and hat") text.
const ER7: &str = "x-application/hl7-v2+er7";
const PAGE: i64 = 50;

/// `POST /hl7/v2` bodies are bounded by the app's `PayloadConfig` (the MLLP frame
/// limit): a larger one is refused with 413 before it reaches the handler.
pub struct Hl7Context {
    pub ingest: Arc<Ingest>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/hl7/v2", web::post().to(receive))
        .route("/api/hl7/messages", web::get().to(list))
        .route("/api/hl7/messages/{id}", web::get().to(show))
        .route("/api/hl7/messages/{id}/reprocess", web::post().to(reprocess));
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no stored message has id {0}")]
    NotFound(i64),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Unavailable(#[from] IngestError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(serde_json::json!({"error": self.to_string()}))
    }
}

async fn receive(
    request: HttpRequest,
    context: web::Data<Hl7Context>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::BadRequest("the message is not UTF-8 text".into()))?;
    // Audited by the middleware, from what is noted here.
    let reply = context.ingest.receive(&text, None).await?;
    crate::audit::note(&request, |note| {
        note.hl7 = Some(crate::audit::Hl7Note::of(&reply));
        note.references = reply.written.clone();
    });
    // One response holds one message: the application ACK when MSH-16 asks for
    // one (it says what the commit ACK does and more), else the commit or
    // original-mode ACK.
    Ok(match reply.acks.into_iter().next_back() {
        Some(ack) => HttpResponse::Ok().content_type(ER7).body(ack),
        None => HttpResponse::NoContent().finish(),
    })
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    /// `ADT^A01`
    #[serde(rename = "type")]
    message_type: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

/// A stored message as the API shows it; `raw` and `ack` only on the single view.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageView {
    id: i64,
    received_at: chrono::DateTime<chrono::Utc>,
    sending_application: String,
    sending_facility: String,
    control_id: Option<String>,
    message_type: String,
    version: String,
    status: &'static str,
    error: Option<String>,
    processed_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack: Option<String>,
}

impl MessageView {
    fn new(message: StoredMessage, full: bool) -> Self {
        MessageView {
            id: message.id,
            received_at: message.received_at,
            sending_application: message.sending_application,
            sending_facility: message.sending_facility,
            control_id: message.control_id,
            message_type: message.message_type,
            version: message.version,
            status: message.status.as_str(),
            error: message.error,
            processed_at: message.processed_at,
            raw: full.then_some(message.raw),
            ack: full.then_some(message.ack),
        }
    }
}

async fn list(
    context: web::Data<Hl7Context>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(MessageStatus::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status {text:?} is not one of processing, applied, stored, error, rejected"
            ))
        })?),
    };
    let limit = query.limit.unwrap_or(PAGE);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be between 1 and 1000".into()));
    }
    let filter = MessageFilter {
        status,
        message_type: query.message_type.clone(),
        before_id: query.before,
        limit,
    };
    let messages = context.ingest.messages(&filter).await?;
    let next = (messages.len() as i64 == limit)
        .then(|| messages.last().map(|m| m.id))
        .flatten()
        .map(|last| {
            let mut next = url::form_urlencoded::Serializer::new(String::new());
            next.append_pair("before", &last.to_string())
                .append_pair("limit", &limit.to_string());
            if let Some(status) = &query.status {
                next.append_pair("status", status);
            }
            if let Some(message_type) = &query.message_type {
                next.append_pair("type", message_type);
            }
            format!("/api/hl7/messages?{}", next.finish())
        });
    let views: Vec<MessageView> = messages.into_iter().map(|m| MessageView::new(m, false)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"messages": views, "next": next})))
}

async fn show(context: web::Data<Hl7Context>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let message = context.ingest.message(id).await?.ok_or(ApiError::NotFound(id))?;
    Ok(HttpResponse::Ok().json(MessageView::new(message, true)))
}

async fn reprocess(context: web::Data<Hl7Context>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let message = context
        .ingest
        .reprocess_stored(id.into_inner())
        .await
        .map_err(|error| match error {
            ReprocessError::NotFound(id) => ApiError::NotFound(id),
            refused @ ReprocessError::NotInError { .. } => ApiError::Conflict(refused.to_string()),
            ReprocessError::Unavailable(error) => ApiError::Unavailable(error),
        })?;
    Ok(HttpResponse::Ok().json(MessageView::new(message, true)))
}
