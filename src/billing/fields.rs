//! Reading the plain JSON requests of the billing API (eligibility checks, prior
//! authorizations): each problem names the field to fix.

use chrono::NaiveDate;
use serde_json::Value;

/// A request field that is missing, malformed, or names something unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    /// As the request names it: `patientId`, `procedures[1].code`.
    pub field: String,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A non-empty string, trimmed.
pub fn required_text(body: &Value, field: &str) -> Result<String, InvalidInput> {
    match body.get(field).and_then(Value::as_str).map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(InvalidInput::new(field, "is required (a non-empty string)")),
    }
}

/// A date written `YYYY-MM-DD`, when given.
pub fn optional_date(body: &Value, field: &str) -> Result<Option<NaiveDate>, InvalidInput> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .map(Some)
            .ok_or_else(|| InvalidInput::new(field, format!("{value} is not a date written YYYY-MM-DD"))),
    }
}
