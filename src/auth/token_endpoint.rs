//! `POST /auth/token` (RFC 6749 §3.2, form-encoded), the client authenticated by
//! its secret (`client_secret_basic`, `client_secret_post`), a signed assertion
//! (`private_key_jwt`) or, for a public client, its `client_id` alone:
//! - `client_credentials` (SMART Backend Services): the scopes asked for (or, when
//!   none are, all the client is registered for), each within what the client may
//!   have; without a user or a launch only `system/` scopes and roles make sense;
//! - `authorization_code` (SMART App Launch): the code from `/auth/authorize`,
//!   redeemed once, by the client it was issued to, with the PKCE verifier;
//! - `refresh_token`: rotated on every use ([`super::grants`]).
//!
//! Errors are RFC 6749's: `invalid_client` (401, with `WWW-Authenticate` when the
//! client tried Basic), `invalid_request`, `unsupported_grant_type`,
//! `unauthorized_client`, `invalid_scope` (400). Answers are never cached.

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::access_token::Grant;
use super::assertion::{self, ASSERTION_TYPE};
use super::clients::{Client, ClientType};
use super::grants::{wants_refresh_token, Authorized, GrantError};
use super::policy;
use super::scopes::{grant_requested_scopes, Scope, Scopes};
use super::AuthContext;

pub async fn token(context: web::Data<AuthContext>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let client = match authenticate(&context, &request, &form).await {
        Ok(client) => client,
        Err(refusal) => return refusal.into(),
    };
    let answer = match field(&form, "grant_type") {
        Some("client_credentials") => client_credentials(&context, &client, &form),
        Some("authorization_code") => authorization_code(&context, &client, &form).await,
        Some("refresh_token") => refresh_token(&context, &client, &form).await,
        Some(other) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("{other} is not a grant this server supports"),
        )),
        None => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        )),
    };
    answer.unwrap_or_else(HttpResponse::from)
}

fn client_credentials(
    context: &AuthContext,
    client: &Client,
    form: &[(String, String)],
) -> Result<HttpResponse, OAuthError> {
    if client.client_type == ClientType::Public {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "a public client cannot use client_credentials",
        ));
    }
    let requested = field(form, "scope").unwrap_or(&client.scopes);
    let granted = policy::grant_for_backend(requested, &client.scopes)
        .map_err(|why| oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &why))?;
    let issued = context
        .tokens
        .issue(&Grant {
            client_id: &client.client_id,
            subject: &client.client_id,
            tenant: &client.tenant,
            scope: &granted,
            patient: None,
            grant: None,
            fhir_user: None,
        })
        .map_err(server_error)?;
    Ok(no_store(HttpResponse::Ok()).json(json!({
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "scope": granted,
    })))
}

async fn authorization_code(
    context: &AuthContext,
    client: &Client,
    form: &[(String, String)],
) -> Result<HttpResponse, OAuthError> {
    let (Some(code), Some(verifier)) = (field(form, "code"), field(form, "code_verifier")) else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code and code_verifier are required",
        ));
    };
    let tokens = tokens_for_code(context, client, code, field(form, "redirect_uri"), verifier).await?;
    Ok(tokens.answer())
}

/// Redeems an authorization code for `client` (the token endpoint's
/// `authorization_code` grant, and the console's sign-in, which redeems its code
/// in process).
pub async fn tokens_for_code(
    context: &AuthContext,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: &str,
) -> Result<UserTokens, OAuthError> {
    let grant = context
        .grants
        .redeem_code(code, &client.client_id, redirect_uri, verifier)
        .await
        .map_err(grant_error)?;
    user_tokens(context, grant).await
}

async fn refresh_token(
    context: &AuthContext,
    client: &Client,
    form: &[(String, String)],
) -> Result<HttpResponse, OAuthError> {
    let Some(token) = field(form, "refresh_token") else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        ));
    };
    let tokens = tokens_for_refresh(context, client, token, field(form, "scope")).await?;
    Ok(tokens.answer())
}

/// Uses a refresh token of `client` (rotated: the answer carries the next one),
/// narrowed to `scope` when one is asked. The token endpoint's `refresh_token`
/// grant, and the console's, which keeps its session alive in process.
pub async fn tokens_for_refresh(
    context: &AuthContext,
    client: &Client,
    token: &str,
    scope: Option<&str>,
) -> Result<UserTokens, OAuthError> {
    let mut grant = context
        .grants
        .use_refresh_token(token, &client.client_id, |family| {
            context.tokens.forget_grant(family)
        })
        .await
        .map_err(grant_error)?;
    // RFC 6749 §6: a refresh may narrow the scope, never widen it.
    if let Some(asked) = scope {
        let asked = Scopes::parse(asked)
            .map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &e.to_string()))?;
        let narrowed = grant_requested_scopes(&asked, &Scopes::parse_lenient(&grant.scope).0);
        if let Some(wider) = narrowed.refused.first() {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                &format!("{wider} was not granted originally"),
            ));
        }
        grant.scope = narrowed.granted.to_string();
    }
    user_tokens(context, grant).await
}

/// What a user's grant yields: an access token, a refresh token when
/// `offline_access` or `online_access` was granted, an id token for `openid`, and
/// the launch context.
pub struct UserTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
}

impl UserTokens {
    /// The token endpoint's JSON answer (never cached).
    fn answer(self) -> HttpResponse {
        let mut answer = json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        });
        if let Some(token) = self.refresh_token {
            answer["refresh_token"] = json!(token);
        }
        if let Some(id_token) = self.id_token {
            answer["id_token"] = json!(id_token);
        }
        if let Some(patient) = self.patient {
            answer["patient"] = json!(patient);
            answer["need_patient_banner"] = json!(true);
        }
        if let Some(encounter) = self.encounter {
            answer["encounter"] = json!(encounter);
        }
        no_store(HttpResponse::Ok()).json(answer)
    }
}

async fn user_tokens(context: &AuthContext, grant: Authorized) -> Result<UserTokens, OAuthError> {
    let user = match context.users.user(&grant.user_id).await {
        Ok(Some(user)) if user.enabled => user,
        Ok(_) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the user is no longer enabled",
            ))
        }
        Err(error) => return Err(server_error(error)),
    };
    let scopes = Scopes::parse_lenient(&grant.scope).0;
    let refresh = if wants_refresh_token(&grant.scope) {
        Some(
            context
                .grants
                .issue_refresh_token(&grant)
                .await
                .map_err(server_error)?,
        )
    } else {
        None
    };
    let fhir_user = user
        .fhir_user
        .as_deref()
        .filter(|_| scopes.contains(&Scope::FhirUser));
    let issued = context
        .tokens
        .issue(&Grant {
            client_id: &grant.client_id,
            subject: &user.user_id,
            tenant: &user.tenant,
            scope: &grant.scope,
            patient: grant.patient.as_deref(),
            grant: refresh.as_ref().map(|(_, family)| family.as_str()),
            fhir_user,
        })
        .map_err(server_error)?;
    let id_token = if scopes.contains(&Scope::OpenId) {
        Some(
            context
                .tokens
                .id_token(&user.user_id, &grant.client_id, grant.nonce.as_deref(), fhir_user)
                .map_err(server_error)?,
        )
    } else {
        None
    };
    Ok(UserTokens {
        access_token: issued.token,
        expires_in: issued.expires_in,
        scope: grant.scope,
        refresh_token: refresh.map(|(token, _)| token),
        id_token,
        patient: grant.patient,
        encounter: grant.encounter,
    })
}

fn grant_error(error: GrantError) -> OAuthError {
    match error {
        GrantError::Store(error) => server_error(error),
        refused => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &refused.to_string()),
    }
}

fn server_error(error: impl std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "the token endpoint");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the token could not be issued",
    )
}

/// The first value of a form field.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The client the request authenticates, by whichever method it used (one only);
/// a public client, which has no credentials, names itself with `client_id`.
pub async fn authenticate(
    context: &AuthContext,
    request: &HttpRequest,
    form: &[(String, String)],
) -> Result<Client, OAuthError> {
    let field = |name: &str| field(form, name);
    let basic = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "));
    if let Some(credentials) = basic {
        let (id, secret) =
            basic_credentials(credentials).ok_or_else(|| bad_basic("the Basic credentials do not read"))?;
        return by_secret(context, &id, &secret)
            .await
            .map_err(|why| bad_basic(&why));
    }
    if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("client_assertion_type must be {ASSERTION_TYPE}"),
            ));
        }
        let token_endpoint = context.endpoints.token();
        return assertion::authenticate(assertion, &token_endpoint, &context.clients, &context.store)
            .await
            .map_err(|error| match error {
                assertion::AssertionError::Internal(_) | assertion::AssertionError::KeysUnavailable(_) => {
                    tracing::warn!(%error, "client assertion not checked");
                    oauth_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        &error.to_string(),
                    )
                }
                _ => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &error.to_string()),
            });
    }
    match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => by_secret(context, id, secret)
            .await
            .map_err(|why| oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &why)),
        (Some(id), None) => match context.clients.client(id).await {
            Ok(Some(client)) if client.enabled && client.client_type == ClientType::Public => Ok(client),
            Ok(_) => Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client, or one that must authenticate",
            )),
            Err(error) => Err(server_error(error)),
        },
        _ => Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "authenticate with HTTP Basic, client_secret or a client assertion",
        )),
    }
}

async fn by_secret(context: &AuthContext, client_id: &str, secret: &str) -> Result<Client, String> {
    let client = context
        .clients
        .client(client_id)
        .await
        .map_err(|e| e.to_string())?;
    match client {
        Some(client) if client.enabled && client.secret_matches(secret) => Ok(client),
        // One answer for an unknown client and a wrong secret: nothing to probe.
        _ => Err("unknown client or wrong secret".into()),
    }
}

/// `client_id:client_secret`, each form-urlencoded (RFC 6749 §2.3.1).
fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |text: &str| -> Option<String> {
        url::form_urlencoded::parse(format!("v={text}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn bad_basic(why: &str) -> OAuthError {
    OAuthError {
        basic_challenge: true,
        ..oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why)
    }
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    builder
}

/// An error answer of RFC 6749 §5.2 (and of RFC 7009 and 7662), before it is
/// rendered.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Answer `WWW-Authenticate: Basic` (the client tried HTTP Basic).
    basic_challenge: bool,
}

pub fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> OAuthError {
    OAuthError {
        status,
        error,
        description: description.to_owned(),
        basic_challenge: false,
    }
}

/// `invalid_grant: the code is unknown, expired or already used`.
impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl From<OAuthError> for HttpResponse {
    fn from(refusal: OAuthError) -> Self {
        let mut answer = no_store(HttpResponse::build(refusal.status))
            .json(json!({"error": refusal.error, "error_description": refusal.description}));
        if refusal.basic_challenge {
            answer.headers_mut().insert(
                WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Basic realm=\"claimbridge\""),
            );
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = STANDARD.encode("my%20app:s%3Acret+x");
        assert_eq!(
            basic_credentials(&encoded),
            Some(("my app".to_owned(), "s:cret x".to_owned()))
        );
        assert_eq!(basic_credentials("not base64!"), None);
        assert_eq!(basic_credentials(&STANDARD.encode("no-colon")), None);
    }
}
