//! One exchange with a Claim.MD service: under the throttle, a POST to
//! `{baseUrl}/services/<service>/` with the AccountKey as a form field, JSON asked
//! for, every failure classified — send errors and unusable statuses by the SDK's
//! rules, `error` elements in a 200 by [`crate::vendor_error`].

use std::time::Duration;

use claimbridge_plugin_sdk::http_client::send_error;
use claimbridge_plugin_sdk::{Idempotency, PluginError, Secret};
use reqwest::header::ACCEPT;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::throttle::Throttle;
use crate::vendor_error;
use crate::wire::{one_or_many, WireError};

/// The form field every service takes.
const ACCOUNT_KEY_FIELD: &str = "AccountKey";

/// What is posted besides the AccountKey.
pub(crate) enum Body {
    /// `application/x-www-form-urlencoded` fields.
    Fields(Vec<(&'static str, String)>),
    /// `multipart/form-data`: a `File` part and fields beside it (upload, elig).
    File {
        fields: Vec<(&'static str, String)>,
        file_name: String,
        contents: String,
    },
}

/// A 200 answer: the JSON body and the `error` elements found in it.
#[derive(Debug)]
pub(crate) struct Answer {
    service: &'static str,
    idempotency: Idempotency,
    pub body: Value,
    pub errors: Vec<WireError>,
}

impl Answer {
    /// The body as `T` when Claim.MD reported no error; its errors classified
    /// otherwise.
    pub(crate) fn into_result<T: DeserializeOwned>(self) -> Result<T, PluginError> {
        if !self.errors.is_empty() {
            return Err(vendor_error::classify(self.service, &self.errors));
        }
        self.read()
    }

    /// The body as `T`, errors or not. A body of the wrong shape is no usable
    /// answer: Claim.MD may have acted on the request.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        T::deserialize(&self.body).map_err(|e| {
            PluginError::no_answer(
                self.idempotency,
                format!("Claim.MD {} answered in an unexpected shape: {e}", self.service),
            )
        })
    }

    pub(crate) fn error(&self) -> PluginError {
        vendor_error::classify(self.service, &self.errors)
    }
}

/// The HTTP side of one initialized handler.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    /// Without a trailing slash.
    base_url: String,
    account_key: Secret,
    throttle: Throttle,
    /// Also the longest wait for the throttle.
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(
        base_url: &str,
        account_key: Secret,
        timeout: Duration,
        requests_per_minute: u32,
    ) -> Result<Transport, PluginError> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| PluginError::rejected(format!("the base URL does not read: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(PluginError::rejected("the base URL must be http or https"));
        }
        Ok(Transport {
            http: claimbridge_plugin_sdk::http_client::client(timeout)?,
            base_url,
            account_key,
            throttle: Throttle::per_minute(requests_per_minute),
            timeout,
        })
    }

    pub(crate) fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Waits for the throttle (at most the timeout), then calls `service`.
    pub(crate) async fn call(
        &self,
        service: &'static str,
        body: Body,
        idempotency: Idempotency,
    ) -> Result<Answer, PluginError> {
        self.throttle.acquire(self.timeout).await?;
        self.send(service, body, idempotency).await
    }

    /// Calls `service` without asking the throttle (the caller did).
    pub(crate) async fn send(
        &self,
        service: &'static str,
        body: Body,
        idempotency: Idempotency,
    ) -> Result<Answer, PluginError> {
        let response = self
            .request(service, body)?
            .send()
            .await
            .map_err(|e| in_service(service, send_error(&e, idempotency)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(PluginError::from_status(
                status,
                response.headers(),
                idempotency,
                format!("Claim.MD {service}"),
            ));
        }
        let text = response
            .text()
            .await
            .map_err(|e| in_service(service, send_error(&e, idempotency)))?;
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            PluginError::no_answer(
                idempotency,
                format!("Claim.MD {service} answered 200 with something other than JSON"),
            )
        })?;
        Ok(Answer {
            service,
            idempotency,
            errors: errors_in(&body),
            body,
        })
    }

    /// Calls `service` for a health check, reporting what happened rather than
    /// classifying it (the caller asked the throttle).
    pub(crate) async fn probe(&self, service: &'static str, body: Body) -> Probe {
        let request = match self.request(service, body) {
            Ok(request) => request,
            Err(error) => return Probe::Unreachable(error.to_string()),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Probe::Unreachable(send_error(&error, Idempotency::Idempotent).to_string()),
        };
        let status = response.status();
        if !status.is_success() {
            return Probe::Status(status);
        }
        match response
            .text()
            .await
            .map(|text| serde_json::from_str::<Value>(&text))
        {
            Ok(Ok(body)) => Probe::Answered(errors_in(&body)),
            Ok(Err(_)) => Probe::Unreadable,
            Err(error) => Probe::Unreachable(send_error(&error, Idempotency::Idempotent).to_string()),
        }
    }

    fn request(&self, service: &str, body: Body) -> Result<reqwest::RequestBuilder, PluginError> {
        let request = self
            .http
            .post(format!("{}/services/{service}/", self.base_url))
            .header(ACCEPT, "application/json");
        let key = self.account_key.expose().to_owned();
        Ok(match body {
            Body::Fields(mut fields) => {
                fields.push((ACCOUNT_KEY_FIELD, key));
                request.form(&fields)
            }
            Body::File {
                fields,
                file_name,
                contents,
            } => {
                let file = Part::text(contents)
                    .file_name(file_name)
                    .mime_str("text/plain")
                    .map_err(|e| PluginError::rejected(format!("the file part cannot be built: {e}")))?;
                let form = fields
                    .into_iter()
                    .fold(Form::new().text(ACCOUNT_KEY_FIELD, key), |form, (name, value)| {
                        form.text(name, value)
                    })
                    .part("File", file);
                request.multipart(form)
            }
        })
    }
}

/// What a health probe saw.
#[derive(Debug)]
pub(crate) enum Probe {
    /// A JSON answer, with its `error` elements.
    Answered(Vec<WireError>),
    /// An HTTP status other than success.
    Status(StatusCode),
    /// A 200 that is not JSON.
    Unreadable,
    /// No answer: not connected, or none in time.
    Unreachable(String),
}

/// The `error` elements of an answer. An `error` that is neither an element nor a
/// list of them is still an error: its text is kept.
fn errors_in(body: &Value) -> Vec<WireError> {
    match body.get("error") {
        Some(error) => one_or_many(error.clone()).unwrap_or_else(|_| {
            vec![WireError {
                error_code: None,
                error_mesg: Some(error.to_string()),
            }]
        }),
        None => Vec::new(),
    }
}

/// Names the service in a send error (the SDK's message leaves the URL out).
fn in_service(service: &str, error: PluginError) -> PluginError {
    match error {
        PluginError::Transient { message, retry_after } => PluginError::Transient {
            message: format!("Claim.MD {service}: {message}"),
            retry_after,
        },
        PluginError::Ambiguous { message } => {
            PluginError::ambiguous(format!("Claim.MD {service}: {message}"))
        }
        PluginError::Final { message } => PluginError::rejected(format!("Claim.MD {service}: {message}")),
    }
}
