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

/// Runs `endpoint` for `request` (its parameters in `body` for a POST, in the query
/// for a GET) through the steps above.
pub(crate) fn serve(
    request: &HttpRequest,
    body: &[u8],
    shared: &Shared,
    endpoint: impl FnOnce(&mut Store, &Call) -> Reply,
) -> HttpResponse {
    let mut store = shared.lock();
    let request_id = store.new_id("req");
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let is_post = request.method() == Method::POST;
    let idempotency_key = header("idempotency-key").filter(|_| is_post);
    store.log_request(
        request.method().as_str(),
        request.path(),
        idempotency_key.clone(),
        header("stripe-version"),
    );

    let answer = |status: StatusCode, body: &Value| respond(status, body, &request_id, None);
    match header("authorization")
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        Some(key) if key == SIMULATOR_SECRET_KEY => {}
        Some(key) => {
            let shown: String = key
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let message = format!(
                "Invalid API Key provided: {}****{shown}",
                key.get(..8).unwrap_or("")
            );
            return answer(
                StatusCode::UNAUTHORIZED,
                &error_body("invalid_request_error", &message, None, None),
            );
        }
        None => {
            let message = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').";
            return answer(
                StatusCode::UNAUTHORIZED,
                &error_body("invalid_request_error", message, None, None),
            );
        }
    }
    let api_version = match header("stripe-version") {
        Some(version) if !looks_like_a_version(&version) => {
            let message = format!("Invalid Stripe API version: {version}");
            return answer(
                StatusCode::BAD_REQUEST,
                &error_body("invalid_request_error", &message, None, None),
            );
        }
        Some(version) => version,
        None => crate::DEFAULT_STRIPE_VERSION.to_owned(),
    };
    let text = if is_post {
        String::from_utf8_lossy(body).into_owned()
    } else {
        request.query_string().to_owned()
    };
    let Some(params) = Params::read(&text) else {
        let message = "Invalid request: the parameters are not application/x-www-form-urlencoded";
        return answer(
            StatusCode::BAD_REQUEST,
            &error_body("invalid_request_error", message, None, None),
        );
    };

    if let Some(key) = &idempotency_key {
        if let Some(saved) = store.saved(key) {
            if saved.path != request.path() || saved.params != params.fingerprint() {
                let message = format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                );
                return answer(
                    StatusCode::BAD_REQUEST,
                    &error_body("idempotency_error", &message, None, None),
                );
            }
            return respond(saved.status, &saved.body, &request_id, Some(&saved.request_id));
        }
    }
    if shared.faults.take_reject() {
        let message = "The simulator was told to reject this request (fault `reject`).";
        return answer(
            StatusCode::BAD_REQUEST,
            &error_body(
                "invalid_request_error",
                message,
                Some("parameter_invalid_empty"),
                None,
            ),
        );
    }

    let call = Call {
        params: params.clone(),
        request_id: request_id.clone(),
        idempotency_key: idempotency_key.clone(),
        api_version,
    };
    let reply = endpoint(&mut store, &call);
    if let (Some(key), true) = (&idempotency_key, reply.saved) {
        store.save(
            key.clone(),
            Saved {
                path: request.path().to_owned(),
                params: params.fingerprint(),
                status: reply.status,
                body: reply.body.clone(),
                request_id: request_id.clone(),
            },
        );
    }
    let deliveries = reply
        .events
        .into_iter()
        .map(|(event_type, object)| store.record_event(event_type, object, &call))
        .collect::<Vec<_>>();
    let endpoint_address = store.webhook_endpoint().cloned();
    drop(store);
    if let Some(endpoint_address) = endpoint_address {
        for event in deliveries {
            webhooks::deliver(shared.clone(), endpoint_address.clone(), event);
        }
    }
    respond(reply.status, &reply.body, &request_id, None)
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
