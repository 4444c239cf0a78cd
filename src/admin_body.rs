//! The admin API's JSON bodies (`/admin/integrations`, `/admin/webhooks`), read field
//! by field rather than through a derived type, so that a wrong value is an error
//! naming its field (a 422 with `field`), as a bad vendor or URL is.

use std::fmt::Display;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

/// A field that is missing or malformed; each admin API turns it into its own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }

    pub fn missing(field: &'static str) -> Self {
        FieldError::new(field, "is required")
    }

    /// The 422 that names the field.
    pub fn answer(&self, api: &'static str) -> HttpResponse {
        error_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            &self.message,
            Some((self.field, &self.message)),
            api,
        )
    }
}

/// A request body's fields.
pub struct Body(Map<String, Value>);

impl Body {
    pub fn of(body: Value) -> Result<Body, FieldError> {
        match body {
            Value::Object(map) => Ok(Body(map)),
            _ => Err(FieldError::new("body", "must be a JSON object")),
        }
    }

    /// A field present and not null.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|value| !value.is_null())
    }

    pub fn string(&self, field: &'static str) -> Result<Option<String>, FieldError> {
        self.get(field)
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| FieldError::new(field, "must be a string"))
            })
            .transpose()
    }

    pub fn boolean(&self, field: &'static str) -> Result<Option<bool>, FieldError> {
        self.get(field)
            .map(|value| {
                value
                    .as_bool()
                    .ok_or_else(|| FieldError::new(field, "must be true or false"))
            })
            .transpose()
    }

    /// `tenant`, when given, not blank.
    pub fn tenant(&self) -> Result<Option<String>, FieldError> {
        match self.string("tenant")? {
            Some(tenant) if tenant.trim().is_empty() => Err(FieldError::new("tenant", "must not be empty")),
            tenant => Ok(tenant),
        }
    }
}

/// An admin API's error as its answer: `{"error", "field"}` when a field is at fault
/// (`invalid`: the field and what is wrong with it), else `{"error"}`. Server errors
/// are logged as `api`; admin errors carry key ids and database errors, never a
/// secret.
pub fn error_answer(
    status: StatusCode,
    error: &dyn Display,
    invalid: Option<(&str, &str)>,
    api: &'static str,
) -> HttpResponse {
    if status.is_server_error() {
        tracing::error!(error = %error, "{api}");
    }
    let body = match invalid {
        Some((field, message)) => json!({"error": message, "field": field}),
        None => json!({"error": error.to_string()}),
    };
    HttpResponse::build(status).json(body)
}

/// A read of one record: 200 with its JSON, 404 (`missing` says what) when there is
/// none, 503 when the store fails.
pub fn read_answer<T, E: Display>(
    found: Result<Option<T>, E>,
    to_json: impl FnOnce(&T) -> Value,
    missing: &str,
    api: &'static str,
) -> HttpResponse {
    match found {
        Ok(Some(record)) => HttpResponse::Ok().json(to_json(&record)),
        Ok(None) => error_answer(StatusCode::NOT_FOUND, &missing, None, api),
        Err(error) => error_answer(StatusCode::SERVICE_UNAVAILABLE, &error, None, api),
    }
}

/// A removal: 204, 404 (`missing`) when there was nothing to remove, 503 when the
/// store fails.
pub fn delete_answer<E: Display>(deleted: Result<bool, E>, missing: &str, api: &'static str) -> HttpResponse {
    match deleted {
        Ok(true) => HttpResponse::NoContent().finish(),
        Ok(false) => error_answer(StatusCode::NOT_FOUND, &missing, None, api),
        Err(error) => error_answer(StatusCode::SERVICE_UNAVAILABLE, &error, None, api),
    }
}
