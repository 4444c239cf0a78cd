//! The FHIR layer's error type and its one mapping to HTTP: every error leaves
//! /fhir as an OperationOutcome with the status the FHIR RESTful API prescribes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::fhir::format::FHIR_JSON;
use crate::store::StoreError;

/// One `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    /// An `issue-type` code (http://hl7.org/fhir/valueset-issue-type.html).
    pub code: &'static str,
    pub diagnostics: String,
    /// FHIRPath of the offending element, e.g. `Patient.name[0].given`.
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

impl Issue {
    pub fn error(code: &'static str, diagnostics: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    pub fn warning(code: &'static str, diagnostics: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn information(diagnostics: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Information,
            code: "informational",
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Information => "information",
            },
            "code": self.code,
            "diagnostics": self.diagnostics,
        });
        if let Some(expression) = &self.expression {
            issue["expression"] = json!([expression]);
        }
        issue
    }
}

/// An OperationOutcome resource listing `issues`.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(Issue::to_json).collect::<Vec<_>>(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// The request content is not acceptable; each issue names its path.
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<Issue>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    MethodNotAllowed { allow: &'static str, message: String },
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Conflict(String),
    /// The token's scopes do not reach what the request touches.
    #[error("{0}")]
    Forbidden(String),
    /// Well-formed but cannot be applied (e.g. a JSON Patch whose `test` fails).
    #[error("cannot apply: {}", summary(.0))]
    Unprocessable(Vec<Issue>),
    #[error("internal error: {0}")]
    Internal(String),
}

fn summary(issues: &[Issue]) -> String {
    issues.first().map(|i| i.diagnostics.clone()).unwrap_or_default()
}

impl FhirError {
    /// A 400 with a single issue at `expression`.
    /// Whether the request (not the server) is at fault: a 4xx.
    pub fn is_client_error(&self) -> bool {
        actix_web::ResponseError::status_code(self).is_client_error()
    }

    pub fn invalid_at(
        code: &'static str,
        expression: impl Into<String>,
        diagnostics: impl Into<String>,
    ) -> Self {
        FhirError::Invalid(vec![Issue::error(code, diagnostics).at(expression)])
    }

    pub fn invalid(code: &'static str, diagnostics: impl Into<String>) -> Self {
        FhirError::Invalid(vec![Issue::error(code, diagnostics)])
    }

    /// The same error, its messages prefixed with the Bundle entry that caused it.
    pub fn for_entry(self, index: usize) -> Self {
        let prefix = |message: String| format!("Bundle.entry[{index}]: {message}");
        let prefix_issues = |issues: Vec<Issue>| {
            issues
                .into_iter()
                .map(|mut issue| {
                    issue.diagnostics = prefix(issue.diagnostics);
                    issue
                })
                .collect()
        };
        match self {
            FhirError::Invalid(issues) => FhirError::Invalid(prefix_issues(issues)),
            FhirError::Unprocessable(issues) => FhirError::Unprocessable(prefix_issues(issues)),
            FhirError::NotFound(m) => FhirError::NotFound(prefix(m)),
            FhirError::Gone(m) => FhirError::Gone(prefix(m)),
            FhirError::MethodNotAllowed { allow, message } => FhirError::MethodNotAllowed {
                allow,
                message: prefix(message),
            },
            FhirError::NotAcceptable(m) => FhirError::NotAcceptable(prefix(m)),
            FhirError::UnsupportedMediaType(m) => FhirError::UnsupportedMediaType(prefix(m)),
            FhirError::PreconditionFailed(m) => FhirError::PreconditionFailed(prefix(m)),
            FhirError::Conflict(m) => FhirError::Conflict(prefix(m)),
            FhirError::Forbidden(m) => FhirError::Forbidden(prefix(m)),
            other @ (FhirError::PayloadTooLarge(_) | FhirError::Internal(_)) => other,
        }
    }

    pub fn issues(&self) -> Vec<Issue> {
        let single = |code| vec![Issue::error(code, self.to_string())];
        match self {
            FhirError::Invalid(issues) | FhirError::Unprocessable(issues) => issues.clone(),
            FhirError::NotFound(_) => single("not-found"),
            FhirError::Gone(_) => single("deleted"),
            FhirError::MethodNotAllowed { .. }
            | FhirError::NotAcceptable(_)
            | FhirError::UnsupportedMediaType(_) => single("not-supported"),
            FhirError::PayloadTooLarge(_) => single("too-costly"),
            FhirError::PreconditionFailed(_) | FhirError::Conflict(_) => single("conflict"),
            FhirError::Forbidden(_) => single("forbidden"),
            // Internal details stay in the log; the client gets a generic message.
            FhirError::Internal(_) => vec![Issue::error("exception", "internal server error")],
        }
    }
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        match self {
            FhirError::Invalid(_) => StatusCode::BAD_REQUEST,
            FhirError::NotFound(_) => StatusCode::NOT_FOUND,
            FhirError::Gone(_) => StatusCode::GONE,
            FhirError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            FhirError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            FhirError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FhirError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FhirError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            FhirError::Conflict(_) => StatusCode::CONFLICT,
            FhirError::Forbidden(_) => StatusCode::FORBIDDEN,
            FhirError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            FhirError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            FhirError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            // Record what was refused by issue code only: diagnostics quote submitted
            // values, and expressions name what the client wrote — an unknown
            // element's key, an unknown search parameter — either of which may be
            // PHI (the client has both in the OperationOutcome).
            FhirError::Invalid(issues) | FhirError::Unprocessable(issues) => {
                let refused: Vec<&str> = issues.iter().map(|issue| issue.code).collect();
                tracing::info!(status = self.status_code().as_u16(), issues = ?refused, "request refused");
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let FhirError::MethodNotAllowed { allow, .. } = self {
            response.insert_header(("Allow", *allow));
        }
        response
            .content_type(FHIR_JSON)
            .body(operation_outcome(&self.issues()).to_string())
    }
}

impl From<StoreError> for FhirError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => FhirError::NotFound("resource not found".into()),
            StoreError::VersionMismatch { current: Some(v) } => {
                FhirError::PreconditionFailed(format!("If-Match does not name the current version ({v})"))
            }
            StoreError::VersionMismatch { current: None } => FhirError::PreconditionFailed(
                "If-Match names a version of a resource that does not exist".into(),
            ),
            StoreError::WriteRace => FhirError::Conflict(
                "the resource was changed by another request at the same time; retry".into(),
            ),
            StoreError::IdTaken => {
                FhirError::Conflict("the id is in use: choose another id or let the server assign one".into())
            }
            // To the writer, another tenant's resource does not exist.
            error @ StoreError::ForeignReference { .. } => {
                FhirError::Invalid(vec![Issue::error("not-found", error.to_string())])
            }
            other => FhirError::Internal(other.to_string()),
        }
    }
}
