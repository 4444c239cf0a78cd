//! Why an operation failed, classified by what doing it again would do — the only
//! thing the orchestrator needs to know to retry, check, fail over or stop. The
//! classes are those of the server's `GatewayError` (transient, ambiguous, final), so
//! one converts into the other; a transient failure here also carries the wait the
//! vendor asked for.
//!
//! The class depends on more than the status code: a 504 on an eligibility inquiry
//! can simply be asked again, while a 504 on a claim upload may hide a claim the
//! clearinghouse took — resending it could bill the payer twice, and no clearinghouse
//! takes idempotency keys. Hence the [`Idempotency`] of the request goes into every
//! classification of a failure that happened after sending.

use std::time::Duration;

use chrono::Utc;
use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::descriptor::Capability;
use crate::retry_after;

/// A failed operation, by what trying again would do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// Nothing was done (connection refused, throttled, service unavailable, or no
    /// answer to a request that is safe to repeat): the same request may be sent
    /// again — after `retry_after` when the vendor said how long to wait.
    #[error("the integration is unavailable, nothing was done: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Sent, but no usable answer came: the vendor may have acted on it, and sending
    /// it again could do it twice. Ask the vendor first.
    #[error("the integration did not answer; it may have acted on the request: {message}")]
    Ambiguous { message: String },
    /// Refused for what was sent (or for the configuration it was sent with): sending
    /// the same again, here or elsewhere, fails the same way.
    #[error("the integration refused the request: {message}")]
    Final { message: String },
}

/// [`PluginError`]'s class without its details, as recorded with each attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Transient,
    Ambiguous,
    Final,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Ambiguous => "ambiguous",
            ErrorClass::Final => "final",
        }
    }
}

/// Whether sending a request a second time can do its work a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it does the work at most once: reads, inquiries, and writes that
    /// carry an idempotency key the vendor honours (Stripe's `Idempotency-Key`).
    Idempotent,
    /// Repeating it may do the work twice: a claim upload, a prior authorization
    /// request.
    NotIdempotent,
}

impl PluginError {
    pub fn transient(message: impl Into<String>) -> Self {
        PluginError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn ambiguous(message: impl Into<String>) -> Self {
        PluginError::Ambiguous {
            message: message.into(),
        }
    }

    /// A final failure: the vendor (or the plugin, before sending) refused the request.
    pub fn rejected(message: impl Into<String>) -> Self {
        PluginError::Final {
            message: message.into(),
        }
    }

    /// An operation the plugin does not declare. Final: asking again cannot help, and
    /// the registry routes operations only to plugins that declare them, so reaching
    /// one is a routing mistake to surface rather than to hide by failing over.
    pub fn unsupported(vendor: &str, capability: Capability) -> Self {
        PluginError::rejected(format!("{vendor} does not offer {capability}"))
    }

    /// The request was sent and no answer came (a read timeout, a connection reset
    /// mid-response): harmless to repeat only if the request is idempotent.
    pub fn no_answer(idempotency: Idempotency, message: impl Into<String>) -> Self {
        match idempotency {
            Idempotency::Idempotent => PluginError::transient(message),
            Idempotency::NotIdempotent => PluginError::ambiguous(message),
        }
    }

    /// Classifies a vendor's answer whose status the plugin cannot use, with the
    /// answer's headers for `Retry-After`:
    ///
    /// - 408 (the request was not received in time), 429 (throttled) and 503
    ///   (unavailable): the vendor did not act on it — transient, waiting as long as
    ///   `Retry-After` says;
    /// - any other 5xx (the vendor failed while handling it, or a gateway in front of
    ///   it gave up waiting, 502 and 504): transient if the request is idempotent,
    ///   otherwise ambiguous;
    /// - everything else (4xx, and redirects a plugin does not follow): final.
    pub fn from_status(
        status: StatusCode,
        headers: &HeaderMap,
        idempotency: Idempotency,
        message: impl Into<String>,
    ) -> Self {
        let message = format!("HTTP {}: {}", status.as_u16(), message.into());
        let retry_after = || {
            headers
                .get(RETRY_AFTER)
                .and_then(|value| retry_after::parse(value, Utc::now()))
        };
        match status.as_u16() {
            408 | 429 | 503 => PluginError::Transient {
                message,
                retry_after: retry_after(),
            },
            500..=599 if idempotency == Idempotency::Idempotent => PluginError::Transient {
                message,
                retry_after: retry_after(),
            },
            500..=599 => PluginError::ambiguous(message),
            _ => PluginError::rejected(message),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            PluginError::Transient { .. } => ErrorClass::Transient,
            PluginError::Ambiguous { .. } => ErrorClass::Ambiguous,
            PluginError::Final { .. } => ErrorClass::Final,
        }
    }

    /// Whether the same integration may be asked again (with backoff, and not before
    /// [`PluginError::retry_after`]).
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// Whether the next integration may be tried once this one's retries are spent.
    /// Not after an ambiguous failure until [`PluginError::needs_status_check`] is
    /// answered (the first vendor may hold the claim), never after a final one (the
    /// next vendor would refuse the same data).
    pub fn may_fail_over(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// Whether the vendor must be asked whether it acted on the request before the
    /// request goes anywhere again.
    pub fn needs_status_check(&self) -> bool {
        self.class() == ErrorClass::Ambiguous
    }

    /// How long the vendor asked to be left alone, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PluginError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn classify(status: u16, retry_after: Option<&'static str>, idempotency: Idempotency) -> PluginError {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
        }
        PluginError::from_status(
            StatusCode::from_u16(status).unwrap(),
            &headers,
            idempotency,
            "vendor said no",
        )
    }

    #[test]
    fn throttling_with_retry_after_is_transient_and_keeps_the_wait() {
        let error = classify(429, Some("30"), Idempotency::NotIdempotent);
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
        assert!(error.is_retryable() && error.may_fail_over() && !error.needs_status_check());
    }

    #[test]
    fn throttling_without_retry_after_is_transient_without_a_wait() {
        let error = classify(429, None, Idempotency::NotIdempotent);
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(error.retry_after(), None);
    }

    #[test]
    fn an_unreadable_retry_after_is_no_wait_rather_than_a_failure() {
        assert_eq!(
            classify(429, Some("soon"), Idempotency::Idempotent).retry_after(),
            None
        );
    }

    #[test]
    fn unavailable_and_request_timeout_are_transient_even_for_a_claim_upload() {
        for status in [408, 503] {
            let error = classify(status, None, Idempotency::NotIdempotent);
            assert_eq!(error.class(), ErrorClass::Transient, "{status}");
        }
        assert_eq!(
            classify(503, Some("120"), Idempotency::NotIdempotent).retry_after(),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn server_errors_and_gateway_timeouts_are_transient_for_idempotent_requests() {
        for status in [500, 502, 504, 599] {
            let error = classify(status, None, Idempotency::Idempotent);
            assert_eq!(error.class(), ErrorClass::Transient, "{status}");
        }
    }

    #[test]
    fn server_errors_and_gateway_timeouts_are_ambiguous_for_a_claim_upload() {
        for status in [500, 502, 504] {
            let error = classify(status, None, Idempotency::NotIdempotent);
            assert_eq!(error.class(), ErrorClass::Ambiguous, "{status}");
            assert!(error.needs_status_check() && !error.is_retryable() && !error.may_fail_over());
        }
    }

    #[test]
    fn client_errors_are_final_and_never_fail_over() {
        for status in [400, 401, 403, 404, 409, 422] {
            let error = classify(status, Some("30"), Idempotency::Idempotent);
            assert_eq!(error.class(), ErrorClass::Final, "{status}");
            assert!(!error.is_retryable() && !error.may_fail_over() && !error.needs_status_check());
            assert_eq!(error.retry_after(), None);
        }
    }

    #[test]
    fn the_message_names_the_status() {
        let error = classify(422, None, Idempotency::Idempotent);
        assert_eq!(
            error.to_string(),
            "the integration refused the request: HTTP 422: vendor said no"
        );
    }

    #[test]
    fn no_answer_is_ambiguous_only_for_requests_that_are_not_idempotent() {
        assert_eq!(
            PluginError::no_answer(Idempotency::Idempotent, "read timed out").class(),
            ErrorClass::Transient
        );
        assert_eq!(
            PluginError::no_answer(Idempotency::NotIdempotent, "read timed out").class(),
            ErrorClass::Ambiguous
        );
    }

    #[test]
    fn classes_have_snake_case_names() {
        for class in [ErrorClass::Transient, ErrorClass::Ambiguous, ErrorClass::Final] {
            assert_eq!(serde_json::to_value(class).unwrap(), class.as_str());
        }
    }
}
