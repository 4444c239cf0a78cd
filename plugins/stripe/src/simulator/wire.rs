//! What every vendor request goes through, in Stripe's order: a request id,
//! authentication, the `Stripe-Version` check, idempotency (a replay of the first
//! answer, or `idempotency_error` for a key reused with other parameters), the
//! scripted `reject` fault, and only then the endpoint itself.
//!
//! As Stripe documents (docs.stripe.com/api/idempotent_requests): an answer is
//! saved for its key only once the endpoint began executing — a request refused in
//! validation saves nothing and may be corrected and sent again with its key.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::params::Params;
use super::store::{Saved, Store};
use super::Shared;
use super::{webhooks, SIMULATOR_SECRET_KEY};

/// One request as an endpoint sees it.
pub(crate) struct Call {
    pub params: Params,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    pub api_version: String,
}

/// An endpoint's answer, and the events it caused.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// Whether the idempotency layer keeps it for the key.
    pub saved: bool,
    pub events: Vec<(&'static str, Value)>,
}

impl Reply {
    pub fn ok(object: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: object,
            saved: true,
            events: Vec::new(),
        }
    }

    /// Refused in validation: nothing done, nothing saved.
    pub fn invalid(status: StatusCode, message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
        Reply {
            status,
            body: error_body("invalid_request_error", message, code, param),
            saved: false,
            events: Vec::new(),
        }
    }

    pub fn bad_request(message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
        Reply::invalid(StatusCode::BAD_REQUEST, message, code, param)
    }

    /// `No such payment_intent: 'pi_…'` as Stripe words it.
    pub fn no_such(kind: &str, id: &str, param: Option<&str>) -> Reply {
        let status = if param.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::NOT_FOUND
        };
        Reply::invalid(
            status,
            &format!("No such {kind}: '{id}'"),
            Some("resource_missing"),
            param,
        )
    }

    pub fn with_event(mut self, event_type: &'static str, object: Value) -> Reply {
        self.events.push((event_type, object));
        self
    }
}

/// `{"error": {...}}`.
pub(crate) fn error_body(kind: &str, message: &str, code: Option<&str>, param: Option<&str>) -> Value {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    json!({ "error": error })
}

/// The parts of a request the steps read.
struct Incoming {
    path: String,
    is_post: bool,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    stripe_version: Option<String>,
    /// The form body of a POST, the query of anything else.
    parameters: String,
}

impl Incoming {
    fn read(request: &HttpRequest, body: &[u8]) -> Incoming {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let is_post = request.method() == Method::POST;
        Incoming {
            path: request.path().to_owned(),
            is_post,
            authorization: header("authorization"),
            // Stripe ignores the header on anything but a POST.
            idempotency_key: header("idempotency-key").filter(|_| is_post),
            stripe_version: header("stripe-version"),
            parameters: if is_post {
                String::from_utf8_lossy(body).into_owned()
            } else {
                request.query_string().to_owned()
            },
        }
    }
}

/// Runs `endpoint` for `request` (its parameters in `body` for a POST, in the query
/// for a GET) through the steps above.
pub(crate) fn serve(
    request: &HttpRequest,
    body: &[u8],
    shared: &Shared,
    endpoint: impl FnOnce(&mut Store, &Call) -> Reply,
) -> HttpResponse {
    let incoming = Incoming::read(request, body);
    let mut store = shared.lock();
    let request_id = store.new_id("req");
    store.log_request(
        request.method().as_str(),
        &incoming.path,
        incoming.idempotency_key.clone(),
        incoming.stripe_version.clone(),
    );
    let call = match admit(&store, shared, &incoming, &request_id) {
        Ok(call) => call,
        Err(instead) => {
            return respond(
                instead.status,
                &instead.body,
                &request_id,
                instead.replay_of.as_deref(),
            )
        }
    };
    let reply = endpoint(&mut store, &call);
    if let (Some(key), true) = (&call.idempotency_key, reply.saved) {
        store.save(
            key.clone(),
            Saved {
                path: incoming.path.clone(),
                params: call.params.fingerprint(),
                status: reply.status,
                body: reply.body.clone(),
                request_id: request_id.clone(),
            },
        );
    }
    let events: Vec<Value> = reply
        .events
        .into_iter()
        .map(|(event_type, object)| store.record_event(event_type, object, &call))
        .collect();
    let endpoint_address = store.webhook_endpoint().cloned();
    drop(store);
    if let Some(endpoint_address) = endpoint_address {
        for event in events {
            webhooks::deliver(shared.clone(), endpoint_address.clone(), event);
        }
    }
    respond(reply.status, &reply.body, &request_id, None)
}

/// An answer given instead of running the endpoint: a refusal, or the replay of a
/// saved answer (naming the request first answered so).
struct Instead {
    status: StatusCode,
    body: Value,
    replay_of: Option<String>,
}

/// Everything before the endpoint: the call to run, or the answer given instead.
fn admit(store: &Store, shared: &Shared, incoming: &Incoming, request_id: &str) -> Result<Call, Instead> {
    let refuse = |status: StatusCode, kind: &str, message: &str, code: Option<&str>| Instead {
        status,
        body: error_body(kind, message, code, None),
        replay_of: None,
    };
    let invalid = "invalid_request_error";
    match incoming
        .authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        Some(key) if key == SIMULATOR_SECRET_KEY => {}
        Some(key) => {
            let message = format!("Invalid API Key provided: {}", masked(key));
            return Err(refuse(StatusCode::UNAUTHORIZED, invalid, &message, None));
        }
        None => {
            let message = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";
            return Err(refuse(StatusCode::UNAUTHORIZED, invalid, message, None));
        }
    }
    let api_version = match &incoming.stripe_version {
        Some(version) if !looks_like_a_version(version) => {
            let message = format!("Invalid Stripe API version: {version}");
            return Err(refuse(StatusCode::BAD_REQUEST, invalid, &message, None));
        }
        Some(version) => version.clone(),
        None => crate::DEFAULT_STRIPE_VERSION.to_owned(),
    };
    let Some(params) = Params::read(&incoming.parameters) else {
        let message = "Invalid request: the parameters are not application/x-www-form-urlencoded";
        return Err(refuse(StatusCode::BAD_REQUEST, invalid, message, None));
    };
    if let Some(key) = &incoming.idempotency_key {
        if let Some(saved) = store.saved(key) {
            if saved.path != incoming.path || saved.params != params.fingerprint() {
                let message = format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                );
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    &message,
                    None,
                ));
            }
            return Err(Instead {
                status: saved.status,
                body: saved.body.clone(),
                replay_of: Some(saved.request_id.clone()),
            });
        }
    }
    if incoming.is_post && shared.faults.take_reject() {
        let message = "The simulator was told to reject this request (fault `reject`).";
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            invalid,
            message,
            Some("parameter_invalid_empty"),
        ));
    }
    Ok(Call {
        params,
        request_id: request_id.to_owned(),
        idempotency_key: incoming.idempotency_key.clone(),
        api_version,
    })
}

/// `sk_test_****mper`: the start and the last four characters, as Stripe shows a
/// key it refused.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let head: String = chars.iter().take(8).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{head}****{tail}")
}

/// `2024-06-20` or `2026-09-30.endive`: a date, then optionally a name.
fn looks_like_a_version(version: &str) -> bool {
    let date = version.split('.').next().unwrap_or("");
    date.len() == 10
        && date.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The answer, with Stripe's `Request-Id`; a replay also says so and names the
/// request that was first answered this way.
fn respond(status: StatusCode, body: &Value, request_id: &str, replay_of: Option<&str>) -> HttpResponse {
    let mut answer = HttpResponse::build(status);
    answer.insert_header(("Request-Id", request_id));
    if let Some(original) = replay_of {
        answer.insert_header(("Idempotent-Replayed", "true"));
        answer.insert_header(("Original-Request", original));
    }
    answer
        .content_type("application/json")
        .body(serde_json::to_string_pretty(body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dates_with_an_optional_name() {
        for good in ["2024-06-20", "2026-09-30.endive"] {
            assert!(looks_like_a_version(good), "{good}");
        }
        for bad in ["latest", "2024-6-20", "20240620", ""] {
            assert!(!looks_like_a_version(bad), "{bad}");
        }
    }
}
