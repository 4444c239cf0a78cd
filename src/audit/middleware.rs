//! The audit middleware, wrapped around every route outside the gate: it sees each
//! request before the gate and after the handler, so refusals (401, 403, 429) are
//! recorded like everything else, with whoever the gate could verify.
//!
//! On the request path it classifies the method and path (string work, no I/O)
//! and, once answered, hands the record to the [`Auditor`]: a channel send for a
//! read; for a successful write, a wait until its record is committed (see
//! [`super::writer`]).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::LOCATION;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use super::classify::{classify, AuditNote, Completion};
use super::event::Outcome;
use super::writer::Auditor;
use crate::auth::Principal;

/// Adds to what a handler tells the audit trail about its request (see
/// [`AuditNote`]); a request not audited ignores it.
pub fn note(request: &HttpRequest, change: impl FnOnce(&mut AuditNote)) {
    let mut extensions = request.extensions_mut();
    if extensions.get::<AuditNote>().is_none() {
        extensions.insert(AuditNote::default());
    }
    if let Some(note) = extensions.get_mut::<AuditNote>() {
        change(note);
    }
}

pub async fn audit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let auditor = request.app_data::<web::Data<Auditor>>().cloned();
    let pending = classify(request.method(), request.path(), request.query_string());
    let (Some(auditor), Some(pending)) = (auditor, pending) else {
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    };
    let method = request.method().clone();
    let address = request.peer_addr().map(|peer| peer.ip());
    let answered = next.call(request).await;
    let (record, answered) = match answered {
        Ok(response) => {
            let record = {
                let http = response.request();
                let extensions = http.extensions();
                let (route, params) = if pending.wants_route() {
                    let params: Vec<(&str, &str)> = http.match_info().iter().collect();
                    (http.match_pattern(), params)
                } else {
                    (None, Vec::new())
                };
                pending.complete(Completion {
                    method: &method,
                    status: response.status().as_u16(),
                    principal: extensions.get::<Principal>(),
                    address,
                    route: route.as_deref(),
                    params: &params,
                    location: response
                        .headers()
                        .get(LOCATION)
                        .and_then(|value| value.to_str().ok()),
                    note: extensions.get::<AuditNote>(),
                })
            };
            (record, Ok(response.map_into_boxed_body()))
        }
        // An error no handler turned into an answer (rare: those become responses
        // inside the route); the request went with it, so less is known.
        Err(error) => {
            let status = error.as_response_error().status_code().as_u16();
            let record = pending.complete(Completion {
                method: &method,
                status,
                principal: None,
                address,
                route: None,
                params: &[],
                location: None,
                note: None,
            });
            (record, Err(error))
        }
    };
    if let Some(record) = record {
        if record.action.writes() && record.outcome == Outcome::Success {
            auditor.record_durably(record).await;
        } else {
            auditor.record(record).await;
        }
    }
    answered
}
