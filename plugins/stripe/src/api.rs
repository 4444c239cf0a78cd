//! Stripe's transport: `{baseUrl}/v1/…`, the secret key as a Bearer token,
//! `Stripe-Version` pinned on every request, form-encoded bodies with Stripe's
//! bracket notation, an `Idempotency-Key` on every POST, JSON answers.

use claimbridge_plugin_sdk::http_client::{client, send_error};
use claimbridge_plugin_sdk::{Idempotency, IdempotencyKey, PluginError, Secret};
use serde::de::DeserializeOwned;

use crate::error;
use crate::settings::Settings;

/// Header on a replayed answer: Stripe answered from the first request with this key.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// A POST body: `application/x-www-form-urlencoded` pairs, nested parameters
/// written the way Stripe reads them (`metadata[claim_id]=…`).
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.to_owned(), value.into()));
        self
    }

    pub fn set_optional(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self,
        }
    }

    /// `name[key]=value` for each entry.
    pub fn nested<'a>(
        mut self,
        name: &str,
        entries: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Self {
        for (key, value) in entries {
            self.0.push((format!("{name}[{key}]"), value.clone()));
        }
        self
    }
}

/// A 2xx answer read as `T`, and whether Stripe replayed it from an earlier request
/// with the same idempotency key (its state then is the state of that time).
pub(crate) struct Answer<T> {
    pub object: T,
    pub replayed: bool,
}

pub(crate) struct StripeApi {
    http: reqwest::Client,
    base_url: String,
    secret_key: Secret,
    version: String,
}

impl StripeApi {
    pub fn new(base_url: &str, secret_key: Secret, settings: &Settings) -> Result<Self, PluginError> {
        let base_url = match base_url.trim().trim_end_matches('/') {
            "" => "https://api.stripe.com",
            url => url,
        };
        Ok(StripeApi {
            http: client(settings.timeout())?,
            base_url: base_url.trim_end_matches("/v1").to_owned(),
            secret_key,
            version: settings.stripe_version.clone(),
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// `POST /v1/{path}` with `key`: sending it again (a retry after no answer)
    /// makes Stripe replay the first answer instead of acting twice.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form,
        key: &IdempotencyKey,
        what: &str,
    ) -> Result<Answer<T>, PluginError> {
        let request = self
            .http
            .post(self.url(path))
            .header("Idempotency-Key", &key.0)
            .form(&form.0);
        self.send(request, what).await
    }

    /// `GET /v1/{path}?{query}`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Answer<T>, PluginError> {
        let request = self.http.get(self.url(path)).query(query);
        self.send(request, what).await
    }

    /// The status of an authenticated read that changes nothing (`GET /v1/balance`),
    /// for health checks, which care about the status and not the answer.
    pub async fn probe(&self) -> Result<reqwest::StatusCode, reqwest::Error> {
        Ok(self
            .http
            .get(self.url("balance"))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", &self.version)
            .send()
            .await?
            .status())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base_url)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Answer<T>, PluginError> {
        let response = request
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", &self.version)
            .send()
            .await
            .map_err(|e| with_context(send_error(&e, Idempotency::Idempotent), what))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| with_context(send_error(&e, Idempotency::Idempotent), what))?;
        if !status.is_success() {
            return Err(error::classify(status, &headers, &body, what));
        }
        let object = serde_json::from_slice(&body).map_err(|e| {
            // Stripe acted; asking again with the same key replays the same answer,
            // which may read next time if it was cut short.
            PluginError::transient(format!("{what}: Stripe's answer does not read: {e}"))
        })?;
        let replayed = headers
            .get(IDEMPOTENT_REPLAYED)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"));
        if let Some(request_id) = headers.get("request-id").and_then(|v| v.to_str().ok()) {
            tracing::debug!(request_id, replayed, "stripe: {what}");
        }
        Ok(Answer { object, replayed })
    }
}

fn with_context(error: PluginError, what: &str) -> PluginError {
    match error {
        PluginError::Transient { message, retry_after } => PluginError::Transient {
            message: format!("{what}: {message}"),
            retry_after,
        },
        PluginError::Ambiguous { message } => PluginError::ambiguous(format!("{what}: {message}")),
        PluginError::Final { message } => PluginError::rejected(format!("{what}: {message}")),
    }
}
