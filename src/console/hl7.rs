//! `/console/hl7`: the HL7 v2 messages received, newest first, filtered by status
//! and type; one message with its segments and fields named, its error and ACK;
//! and reprocessing a message in error. The list and the reprocessing are HL7
//! ingestion's own (`Ingest::messages`, `Ingest::reprocess_stored`), as
//! `/api/hl7/messages` uses them.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::access::{Permission, Viewer};
use super::hl7_fields::segments;
use super::layout::{self, Section};
use crate::billing::paging::next_before;
use crate::hl7::ingest::ReprocessError;
use crate::hl7::routes::Hl7Context;
use crate::store::messages::{MessageFilter, MessageStatus, StoredMessage};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/hl7", web::get().to(list))
        .route("/hl7/messages/{id}", web::get().to(show))
        .route("/hl7/messages/{id}/reprocess", web::post().to(reprocess));
}

const PAGE: i64 = 50;

const STATUSES: [MessageStatus; 5] = [
    MessageStatus::Error,
    MessageStatus::Rejected,
    MessageStatus::Applied,
    MessageStatus::Stored,
    MessageStatus::Processing,
];

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    message_type: Option<String>,
    before: Option<i64>,
}

fn status_badge(status: MessageStatus) -> Markup {
    let class = match status {
        MessageStatus::Applied | MessageStatus::Stored => "ok",
        MessageStatus::Processing => "neutral",
        MessageStatus::Error => "bad",
        MessageStatus::Rejected => "warn",
    };
    html! { span class={ "badge " (class) } { (status.as_str()) } }
}

fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The list's query string for these filters (and page).
fn list_query(status: Option<&str>, message_type: Option<&str>, before: Option<i64>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(status) = status {
        query.append_pair("status", status);
    }
    if let Some(message_type) = message_type {
        query.append_pair("type", message_type);
    }
    if let Some(before) = before {
        query.append_pair("before", &before.to_string());
    }
    query.finish()
}

fn unavailable(viewer: &Viewer, error: &dyn std::fmt::Display) -> HttpResponse {
    layout::server_error(Some(viewer), "reading HL7 messages", error)
}

async fn list(
    viewer: Viewer,
    context: web::Data<Hl7Context>,
    query: web::Query<ListQuery>,
    request: HttpRequest,
) -> HttpResponse {
    let status_text = query.status.as_deref().filter(|s| !s.is_empty());
    let status = match status_text.map(MessageStatus::parse) {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            return layout::message(
                Some(&viewer),
                StatusCode::BAD_REQUEST,
                "Unknown status",
                "Choose a status from the list.",
                Some(("/console/hl7", "All messages")),
            )
        }
    };
    let message_type = query
        .message_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_uppercase);
    let filter = MessageFilter {
        status,
        message_type: message_type.clone(),
        before_id: query.before,
        limit: PAGE,
    };
    let messages = match context.ingest.messages(&filter).await {
        Ok(messages) => messages,
        Err(error) => return unavailable(&viewer, &error),
    };
    let older = next_before(messages.len(), PAGE, messages.last().map(|m| m.id));
    let results = html! {
        div id="messages" {
            @if messages.is_empty() {
                p class="muted" { "No messages match." }
            } @else {
                div class="table-wrap" {
                    table {
                        caption { "Messages, newest first" }
                        thead {
                            tr {
                                th scope="col" { "Message" }
                                th scope="col" { "Received" }
                                th scope="col" { "Type" }
                                th scope="col" { "Sender" }
                                th scope="col" { "Control ID" }
                                th scope="col" { "Status" }
                                th scope="col" { "Error" }
                            }
                        }
                        tbody {
                            @for message in &messages {
                                tr {
                                    th scope="row" { a href={ "/console/hl7/messages/" (message.id) } { "#" (message.id) } }
                                    td { (when(&message.received_at)) }
                                    td { code { (message.message_type) } }
                                    td { (message.sending_application) " / " (message.sending_facility) }
                                    td class="break" { (message.control_id.as_deref().unwrap_or("—")) }
                                    td { (status_badge(message.status)) }
                                    td class="break" { (message.error.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(older) = older {
                nav class="pager" aria-label="Message pages" {
                    a href={ "/console/hl7?" (list_query(status_text, message_type.as_deref(), Some(older))) } { "Older messages" }
                }
            }
        }
    };
    if layout::is_htmx(&request) {
        return layout::answer(StatusCode::OK, results);
    }
    let content = html! {
        form class="filters" method="get" action="/console/hl7" role="search"
            hx-get="/console/hl7" hx-target="#messages" hx-swap="outerHTML" hx-push-url="true" {
            div {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Any" }
                    @for candidate in STATUSES {
                        option value=(candidate.as_str()) selected[status == Some(candidate)] { (candidate.as_str()) }
                    }
                }
            }
            div {
                label for="type" { "Type (e.g. ADT^A01)" }
                input id="type" name="type" type="text" value=(message_type.as_deref().unwrap_or("")) autocomplete="off";
            }
            button type="submit" { "Filter" }
        }
        (results)
    };
    layout::answer(
        StatusCode::OK,
        layout::page(Some(&viewer), Some(Section::Hl7), "HL7 messages", content),
    )
}

#[derive(Deserialize)]
struct ShowQuery {
    /// Set after a reprocessing, to say so.
    reprocessed: Option<String>,
}

async fn show(
    viewer: Viewer,
    context: web::Data<Hl7Context>,
    id: web::Path<i64>,
    query: web::Query<ShowQuery>,
) -> HttpResponse {
    let id = id.into_inner();
    let message = match context.ingest.message(id).await {
        Ok(Some(message)) => message,
        Ok(None) => return missing(&viewer, id),
        Err(error) => return unavailable(&viewer, &error),
    };
    let content = message_view(&viewer, &message, query.reprocessed.is_some());
    layout::answer(
        StatusCode::OK,
        layout::page(
            Some(&viewer),
            Some(Section::Hl7),
            &format!("HL7 message #{id}"),
            content,
        ),
    )
}

fn missing(viewer: &Viewer, id: i64) -> HttpResponse {
    layout::message(
        Some(viewer),
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("No stored message has id {id}."),
        Some(("/console/hl7", "Back to the messages")),
    )
}

fn message_view(viewer: &Viewer, message: &StoredMessage, reprocessed: bool) -> Markup {
    let summary = [
        ("Type", message.message_type.clone()),
        ("Version", message.version.clone()),
        ("Received", when(&message.received_at)),
        (
            "Processed",
            message
                .processed_at
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "—".into()),
        ),
        ("Sending application", message.sending_application.clone()),
        ("Sending facility", message.sending_facility.clone()),
        (
            "Control ID",
            message.control_id.clone().unwrap_or_else(|| "—".into()),
        ),
    ];
    html! {
        p { a href="/console/hl7" { "← All messages" } }
        @if reprocessed {
            p class="notice" role="status" { "Reprocessed: the message is now " strong { (message.status.as_str()) } "." }
        }
        dl class="summary" {
            dt { "Status" } dd { (status_badge(message.status)) }
            @for (term, value) in &summary {
                dt { (term) } dd { (value) }
            }
        }
        @if let Some(error) = &message.error {
            section class="problem" aria-labelledby="error-heading" {
                h2 id="error-heading" { "Why it failed" }
                p class="break" { (error) }
            }
        }
        @if message.status == MessageStatus::Error && viewer.may(Permission::ReprocessHl7) {
            form method="post" action={ "/console/hl7/messages/" (message.id) "/reprocess" } {
                p {
                    button type="submit" class="primary" { "Reprocess this message" }
                    " " span class="muted" { "Applies it again, after the cause was fixed." }
                }
            }
        }
        h2 { "Segments" }
        @for (index, segment) in segments(&message.raw).iter().enumerate() {
            section class="segment" aria-labelledby={ "segment-" (index) } {
                h3 id={ "segment-" (index) } {
                    (segment.id)
                    @if let Some(name) = segment.name { " — " (name) }
                }
                div class="table-wrap" {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Field" }
                                th scope="col" { "Name" }
                                th scope="col" { "Value" }
                            }
                        }
                        tbody {
                            @for field in &segment.fields {
                                tr {
                                    th scope="row" class="mono" { (field.position) }
                                    td { (field.name.unwrap_or("")) }
                                    td class="mono break" { (field.value) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Raw message" }
        pre class="raw" { (message.raw.replace('\r', "\n")) }
        h2 { "Acknowledgement sent" }
        pre class="raw" { (message.ack.replace('\r', "\n")) }
    }
}

async fn reprocess(viewer: Viewer, context: web::Data<Hl7Context>, id: web::Path<i64>) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ReprocessHl7) {
        return refused;
    }
    let id = id.into_inner();
    match context.ingest.reprocess_stored(id).await {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((LOCATION, format!("/console/hl7/messages/{id}?reprocessed=1")))
            .finish(),
        Err(ReprocessError::NotFound(id)) => missing(&viewer, id),
        Err(refused @ ReprocessError::NotInError { .. }) => {
            let back = format!("/console/hl7/messages/{id}");
            layout::message(
                Some(&viewer),
                StatusCode::CONFLICT,
                "Not reprocessed",
                &refused.to_string(),
                Some((&back, "Back to the message")),
            )
        }
        Err(ReprocessError::Unavailable(error)) => unavailable(&viewer, &error),
    }
}
