//! What every simulated route shares: Availity's error envelope, the bearer-token
//! check, and reading form bodies (whose fields may repeat, like `serviceType`).

use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::state::SimulatorState;

/// `{"statusCode", "reasonCode", "userMessage", "developerMessage", "errors": [{"field", "code", "errorMessage"}]}`.
pub fn envelope(status: StatusCode, user_message: &str, errors: Vec<Value>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("X-Availity-Transaction-ID", transaction_id()))
        .json(json!({
            "statusCode": status.as_u16(),
            "reasonCode": 0,
            "userMessage": user_message,
            "developerMessage": user_message,
            "errors": errors,
        }))
}

pub fn field_error(field: &str, code: &str, message: &str) -> Value {
    json!({"field": field, "code": code, "errorMessage": message})
}

fn transaction_id() -> String {
    format!("sim-{}", chrono::Utc::now().timestamp_micros())
}

/// Refuses a request without a live bearer token, as Availity's gateway does.
pub fn authorize(request: &HttpRequest, state: &SimulatorState) -> Result<(), Box<HttpResponse>> {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match token {
        Some(token) if state.token_is_valid(token) => Ok(()),
        _ => Err(Box::new(envelope(
            StatusCode::UNAUTHORIZED,
            "The API client is not authorized to make this request.",
            vec![],
        ))),
    }
}

/// The fields of a form body, in order; a JSON body is refused with 415 (Availity
/// takes these POSTs as form data only).
pub fn form(request: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, Box<HttpResponse>> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Box::new(envelope(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The entity of the request is in a format not supported by the requested resource.",
            vec![],
        )));
    }
    Ok(String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect())
}

pub fn first<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_decoded() {
        assert_eq!(decode("payer.id%3DSIM+001%2B"), "payer.id=SIM 001+");
        assert_eq!(decode("100%"), "100%");
    }
}
