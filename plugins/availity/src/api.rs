//! Authenticated calls to Availity's REST API and the reading of its answers:
//! the bearer token on every call (once more with a fresh token after a 401), the
//! optional customer id, and Availity's error envelope turned into a
//! [`PluginError`] that names the fields it complains about.

use claimbridge_plugin_sdk::http_client::send_error;
use claimbridge_plugin_sdk::{Idempotency, PluginError};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::token::TokenSource;

/// The response header naming the exchange for Availity's support.
const TRANSACTION_ID: &str = "X-Availity-Transaction-ID";

pub struct Api {
    pub http: reqwest::Client,
    /// `{baseUrl}{apiPath}`, e.g. `https://api.availity.com/v1`.
    pub root: String,
    pub tokens: TokenSource,
    pub customer_id: Option<String>,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.root, path.trim_start_matches('/'))
    }

    /// Sends the request `build` makes, with a bearer token. A 401 means the token
    /// died early (Availity revoked it, or clocks disagree): it is dropped and the
    /// request sent once more with a new one; a second 401 is the answer.
    pub async fn send(
        &self,
        idempotency: Idempotency,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, PluginError> {
        let mut retried = false;
        loop {
            let token = self.tokens.bearer().await?;
            let mut request = build(&self.http).bearer_auth(token.expose());
            if let Some(customer) = &self.customer_id {
                request = request.header("X-Availity-Customer-Id", customer);
            }
            let answer = request.send().await.map_err(|e| send_error(&e, idempotency))?;
            if answer.status() == StatusCode::UNAUTHORIZED && !retried {
                tracing::info!("Availity refused the token; fetching a new one");
                self.tokens.discard(&token).await;
                retried = true;
                continue;
            }
            return Ok(answer);
        }
    }
}

/// Reads a successful answer's JSON body.
pub async fn read_json<T: DeserializeOwned>(answer: Response, what: &str) -> Result<T, PluginError> {
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| send_error(&e, Idempotency::Idempotent))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PluginError::rejected(format!("Availity's {what} does not read: {e}")))
}

/// Availity's error envelope (not RFC 9457), on every 4xx and 5xx.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorResponse {
    pub user_message: Option<String>,
    pub developer_message: Option<String>,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldError {
    pub field: Option<String>,
    pub code: Option<serde_json::Value>,
    pub error_message: Option<String>,
}

impl ErrorResponse {
    /// "Invalid request. payerId: Payer not found (code 12)".
    pub fn describe(&self) -> String {
        let mut text = self
            .user_message
            .clone()
            .or_else(|| self.developer_message.clone())
            .unwrap_or_else(|| "no message".into());
        for error in &self.errors {
            text.push_str("; ");
            text.push_str(&describe_field(
                error.field.as_deref(),
                error.error_message.as_deref(),
                error.code.as_ref(),
            ));
        }
        text
    }
}

/// One complaint about one field: `payerId: Payer not found (code 12)`.
pub fn describe_field(
    field: Option<&str>,
    message: Option<&str>,
    code: Option<&serde_json::Value>,
) -> String {
    let mut text = String::new();
    if let Some(field) = field {
        text.push_str(field);
        text.push_str(": ");
    }
    text.push_str(message.unwrap_or("invalid"));
    match code {
        Some(serde_json::Value::String(code)) => text.push_str(&format!(" (code {code})")),
        Some(serde_json::Value::Number(code)) => text.push_str(&format!(" (code {code})")),
        _ => {}
    }
    text
}

/// One of the `validationMessages` of a coverage or claim status Availity refused.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidationMessage {
    pub field: Option<String>,
    pub error_message: Option<String>,
    pub code: Option<serde_json::Value>,
}

pub fn describe_all(messages: &[ValidationMessage], status: Option<&str>) -> String {
    if messages.is_empty() {
        return status.unwrap_or("no reason given").to_owned();
    }
    messages
        .iter()
        .map(|m| describe_field(m.field.as_deref(), m.error_message.as_deref(), m.code.as_ref()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The error for an answer whose status the plugin cannot use: classified by
/// status (429/503 transient with `Retry-After`, other 4xx final), described from
/// the envelope when the body is one.
pub async fn error_from(answer: Response, idempotency: Idempotency, what: &str) -> PluginError {
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    let mut detail = match serde_json::from_slice::<ErrorResponse>(&body) {
        Ok(envelope) => envelope.describe(),
        Err(_) => String::from_utf8_lossy(&body).chars().take(200).collect(),
    };
    // What Availity's support asks for.
    if let Some(id) = headers.get(TRANSACTION_ID).and_then(|value| value.to_str().ok()) {
        detail.push_str(&format!(" [{TRANSACTION_ID}: {id}]"));
    }
    PluginError::from_status(status, &headers, idempotency, format!("{what}: {detail}"))
}
