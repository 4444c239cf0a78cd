//! The resource server's gate, in front of every route: a request to `/fhir`,
//! `/api`, `/hl7` or `/admin` needs a bearer token the embedded server (or a
//! trusted external issuer) issued and that has not expired, and scopes that allow
//! what it asks. The verified
//! [`Principal`] goes into the request's extensions for handlers that look further
//! (Bundle entries, compartments).
//!
//! - missing or bad token: 401 with `WWW-Authenticate: Bearer` (and
//!   `error="invalid_token"` when one was given);
//! - `/admin`: the `admin` role; `/api` and `/hl7`: `admin` or `biller`; all three
//!   only for clients of the default tenant (billing, HL7 ingest and administration
//!   work in the default tenant; `/fhir` serves each client's own tenant);
//! - `/fhir`: a scope allowing that interaction on that resource type
//!   ([`super::policy`]); a FHIR refusal is a 403 OperationOutcome;
//! - over its request rate ([`super::rate_limit`]), a client gets 429 with
//!   `Retry-After`.
//!
//! The console (`/console`) is not behind this gate: its session cookie carries
//! the token, which [`admit`] checks as the gate checks a bearer token
//! ([`crate::console::session`]).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use serde_json::json;

use super::access_token::{Principal, TokenError};
use super::policy::{self, FhirRequest, Reach};
use super::scopes::{Interaction, Role};
use super::{AuthContext, AuthMode};
use crate::fhir::format::FHIR_JSON;
use crate::fhir::outcome::{operation_outcome, Issue};

/// What part of the server a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Fhir,
    Api,
    Hl7,
    Admin,
    Open,
}

fn area(path: &str) -> Area {
    // No allocation: this runs for every request.
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if path == "/fhir/metadata" || path.starts_with("/fhir/.well-known/") {
        Area::Open
    } else if under("/fhir") {
        Area::Fhir
    } else if under("/api") {
        Area::Api
    } else if under("/hl7") {
        Area::Hl7
    } else if under("/admin") {
        Area::Admin
    } else {
        Area::Open
    }
}

pub async fn gate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mode = request
        .app_data::<web::Data<AuthMode>>()
        .map(|mode| *mode.get_ref());
    if mode == Some(AuthMode::Disabled) {
        request.extensions_mut().insert(Principal::unrestricted());
        request.extensions_mut().insert(Reach::Everything);
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    }
    let area = area(request.path());
    if area == Area::Open {
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    }
    // Required, or not said: closed unless the authorization server is there.
    let Some(context) = request.app_data::<web::Data<AuthContext>>().cloned() else {
        tracing::error!("authorization is required but the authorization server is not configured");
        let answer = refusal(
            area,
            StatusCode::SERVICE_UNAVAILABLE,
            "exception",
            "authorization is unavailable",
        );
        return Ok(request.into_response(answer));
    };
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(|token| token.trim().to_owned());
    let Some(token) = bearer else {
        let answer = unauthorized(area, None);
        return Ok(request.into_response(answer));
    };
    let principal = match admit(&context, &token).await {
        Ok(principal) => principal,
        Err(Refused::Unavailable(error)) => {
            tracing::error!(%error, "checking a bearer token");
            let answer = refusal(
                area,
                StatusCode::SERVICE_UNAVAILABLE,
                "transient",
                "the token could not be checked; try again",
            );
            return Ok(request.into_response(answer));
        }
        Err(Refused::Invalid(error)) => {
            let answer = unauthorized(area, Some(&error.to_string()));
            return Ok(request.into_response(answer));
        }
        Err(Refused::TooMany { principal, wait }) => {
            let answer = too_many(area, wait);
            // Refused, but known: the audit trail records who asked.
            request.extensions_mut().insert(*principal);
            return Ok(request.into_response(answer));
        }
    };
    let reach = match permitted(area, request.method(), request.path(), &principal) {
        Ok(reach) => reach,
        Err(why) => {
            let answer = forbidden(area, &why);
            request.extensions_mut().insert(principal);
            return Ok(request.into_response(answer));
        }
    };
    request.extensions_mut().insert(principal);
    request.extensions_mut().insert(reach);
    next.call(request).await.map(ServiceResponse::map_into_boxed_body)
}

/// Why a bearer token did not let its request in.
#[derive(Debug)]
pub enum Refused {
    /// Not a token this server accepts (unknown, expired, revoked…): 401.
    Invalid(TokenError),
    /// Whether it is could not be checked now: 503.
    Unavailable(TokenError),
    /// A good token whose client is over its request rate: 429.
    TooMany {
        principal: Box<Principal>,
        wait: std::time::Duration,
    },
}

/// Checks a bearer token as every protected request's is checked: verified (and
/// not revoked), then counted against its client's request rate. The gate and the
/// console's session (whose cookie carries the token) share it.
pub async fn admit(context: &AuthContext, token: &str) -> Result<Principal, Refused> {
    let principal = match context.tokens.verify(token).await {
        Ok(principal) => principal,
        Err(error @ TokenError::Unavailable(_)) => return Err(Refused::Unavailable(error)),
        Err(error) => return Err(Refused::Invalid(error)),
    };
    if let Some(limits) = &context.limits {
        if let Err(wait) = limits.check(&principal.client_id).await {
            return Err(Refused::TooMany {
                principal: Box::new(principal),
                wait,
            });
        }
    }
    Ok(principal)
}

/// Whether the principal's scopes allow the request, and how far it reaches; why
/// not otherwise.
fn permitted(area: Area, method: &Method, path: &str, principal: &Principal) -> Result<Reach, String> {
    let default_tenant = principal.tenant == crate::store::model::Tenant::DEFAULT;
    let role = |allowed: bool, why: &str| {
        if allowed {
            Ok(Reach::Everything)
        } else {
            Err(why.to_owned())
        }
    };
    match area {
        Area::Open => Ok(Reach::Everything),
        // They read and write the default tenant's data whoever asks; another
        // tenant's client would see it (and an admin could register clients of
        // any tenant).
        Area::Admin | Area::Api | Area::Hl7 if !default_tenant => Err(format!(
            "the admin, billing and HL7 APIs serve the default tenant only; this client is of tenant {:?}",
            principal.tenant
        )),
        Area::Admin => role(
            principal.has_role(Role::Admin),
            "the admin API needs the admin role (scope `admin`)",
        ),
        Area::Api | Area::Hl7 => role(
            principal.has_role(Role::Admin) || principal.has_role(Role::Biller),
            "the billing and HL7 APIs need the `biller` or `admin` role",
        ),
        Area::Fhir => policy::check_fhir(
            &principal.scopes,
            principal.patient.as_deref(),
            fhir_request(method, path),
        ),
    }
}

/// What a FHIR request asks for, from its method and path (the routes of
/// `fhir::routes`).
fn fhir_request<'a>(method: &Method, path: &'a str) -> FhirRequest<'a> {
    let parts: Vec<&str> = path
        .trim_start_matches("/fhir")
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    let is = |m: &Method| method == m;
    use FhirRequest::OnType;
    match parts.as_slice() {
        [] => FhirRequest::Bundle,
        ["_history"] => FhirRequest::SystemHistory,
        [kind] if is(&Method::POST) => OnType(kind, Interaction::Create),
        // Conditional update and delete find their target by search.
        [kind] if is(&Method::PUT) => OnType(kind, Interaction::Update),
        [kind] if is(&Method::DELETE) => OnType(kind, Interaction::Delete),
        [kind] | [kind, "_search"] => OnType(kind, Interaction::Search),
        [kind, "_history"] => OnType(kind, Interaction::HistoryType),
        [kind, "$validate"] => OnType(kind, Interaction::ValidateType),
        [kind, _, "$validate"] => OnType(kind, Interaction::ValidateInstance),
        [kind, _] if is(&Method::PUT) => OnType(kind, Interaction::Update),
        [kind, _] if is(&Method::PATCH) => OnType(kind, Interaction::Patch),
        [kind, _] if is(&Method::DELETE) => OnType(kind, Interaction::Delete),
        [kind, _] => OnType(kind, Interaction::Read),
        [kind, _, "_history"] => OnType(kind, Interaction::HistoryInstance),
        [kind, _, "_history", _] => OnType(kind, Interaction::Vread),
        [kind, ..] => OnType(kind, Interaction::Operation),
    }
}

fn unauthorized(area: Area, problem: Option<&str>) -> HttpResponse {
    let challenge = match problem {
        Some(problem) => format!(
            "Bearer realm=\"claimbridge\", error=\"invalid_token\", error_description=\"{}\"",
            problem.replace(['"', '\\'], "'")
        ),
        None => "Bearer realm=\"claimbridge\"".to_owned(),
    };
    let message = problem.unwrap_or("a bearer access token is required");
    let mut answer = refusal(area, StatusCode::UNAUTHORIZED, "login", message);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        answer.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    answer
}

fn forbidden(area: Area, why: &str) -> HttpResponse {
    let mut answer = refusal(area, StatusCode::FORBIDDEN, "forbidden", why);
    answer.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"claimbridge\", error=\"insufficient_scope\""),
    );
    answer
}

fn too_many(area: Area, wait: std::time::Duration) -> HttpResponse {
    // Whole seconds, rounded up: a client waiting that long is let in.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut answer = refusal(
        area,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        &format!("too many requests from this client; retry in {seconds} s"),
    );
    answer
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    answer
}

/// An OperationOutcome under `/fhir`, `{"error"}` elsewhere.
fn refusal(area: Area, status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    match area {
        Area::Fhir => HttpResponse::build(status)
            .content_type(FHIR_JSON)
            .json(operation_outcome(&[Issue::error(code, message)])),
        _ => HttpResponse::build(status).json(json!({"error": message})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_their_areas() {
        assert_eq!(area("/fhir/Patient/1"), Area::Fhir);
        assert_eq!(area("/fhir"), Area::Fhir);
        assert_eq!(area("/fhir/metadata"), Area::Open);
        assert_eq!(area("/fhir/.well-known/smart-configuration"), Area::Open);
        assert_eq!(area("/fhirx"), Area::Open);
        assert_eq!(area("/api/billing/claims"), Area::Api);
        assert_eq!(area("/hl7/v2"), Area::Hl7);
        assert_eq!(area("/admin/clients"), Area::Admin);
        assert_eq!(area("/auth/token"), Area::Open);
        assert_eq!(area("/webhooks/stripe/1"), Area::Open);
    }

    #[test]
    fn fhir_requests_name_their_interaction() {
        use FhirRequest::OnType;
        let of = |method: Method, path: &'static str| fhir_request(&method, path);
        assert_eq!(
            of(Method::GET, "/fhir/Patient/1"),
            OnType("Patient", Interaction::Read)
        );
        assert_eq!(
            of(Method::GET, "/fhir/Patient"),
            OnType("Patient", Interaction::Search)
        );
        assert_eq!(
            of(Method::POST, "/fhir/Patient/_search"),
            OnType("Patient", Interaction::Search)
        );
        assert_eq!(
            of(Method::POST, "/fhir/Patient"),
            OnType("Patient", Interaction::Create)
        );
        assert_eq!(
            of(Method::PUT, "/fhir/Patient/1"),
            OnType("Patient", Interaction::Update)
        );
        assert_eq!(
            of(Method::PATCH, "/fhir/Patient/1"),
            OnType("Patient", Interaction::Patch)
        );
        assert_eq!(
            of(Method::DELETE, "/fhir/Patient/1"),
            OnType("Patient", Interaction::Delete)
        );
        assert_eq!(
            of(Method::GET, "/fhir/Patient/1/_history/2"),
            OnType("Patient", Interaction::Vread)
        );
        assert_eq!(
            of(Method::GET, "/fhir/Patient/1/_history"),
            OnType("Patient", Interaction::HistoryInstance)
        );
        assert_eq!(
            of(Method::GET, "/fhir/Claim/_history"),
            OnType("Claim", Interaction::HistoryType)
        );
        assert_eq!(
            of(Method::POST, "/fhir/Claim/1/$validate"),
            OnType("Claim", Interaction::ValidateInstance)
        );
        assert_eq!(
            of(Method::POST, "/fhir/Claim/$validate"),
            OnType("Claim", Interaction::ValidateType)
        );
        assert_eq!(of(Method::POST, "/fhir"), FhirRequest::Bundle);
        assert_eq!(of(Method::GET, "/fhir/_history"), FhirRequest::SystemHistory);
    }
}
