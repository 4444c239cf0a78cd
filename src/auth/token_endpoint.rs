//! `POST /auth/token` (RFC 6749 §3.2, form-encoded): the `client_credentials`
//! grant of SMART Backend Services, the client authenticated by its secret
//! (`client_secret_basic`, `client_secret_post`) or a signed assertion
//! (`private_key_jwt`). The scopes granted are those asked for (or, when none are,
//! all the client is registered for), each within what the client may have;
//! without a user or a launch only `system/` scopes and roles make sense.
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
use super::policy;
use super::AuthContext;

pub async fn token(context: web::Data<AuthContext>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| field(&form, name);
    let client = match authenticate(&context, &request, &form).await {
        Ok(client) => client,
        Err(refusal) => return refusal,
    };
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("{other} is not a grant this server supports"),
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
    }
    if client.client_type == ClientType::Public {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "a public client cannot use client_credentials",
        );
    }
    let requested = field("scope").unwrap_or(&client.scopes);
    let granted = match policy::grant_for_backend(requested, &client.scopes) {
        Ok(granted) => granted,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &why),
    };
    let issued = context.tokens.issue(&Grant {
        client_id: &client.client_id,
        subject: &client.client_id,
        tenant: &client.tenant,
        scope: &granted,
        patient: None,
    });
    match issued {
        Ok(issued) => no_store(HttpResponse::Ok()).json(json!({
            "access_token": issued.token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": granted,
        })),
        Err(error) => {
            tracing::error!(%error, "issuing an access token");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be issued",
            )
        }
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The client the request authenticates, by whichever method it used (one only).
async fn authenticate(
    context: &AuthContext,
    request: &HttpRequest,
    form: &[(String, String)],
) -> Result<Client, HttpResponse> {
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

fn bad_basic(why: &str) -> HttpResponse {
    let mut answer = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why);
    answer.headers_mut().insert(
        WWW_AUTHENTICATE,
        actix_web::http::header::HeaderValue::from_static("Basic realm=\"claimbridge\""),
    );
    answer
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    builder
}

pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    no_store(HttpResponse::build(status)).json(json!({"error": error, "error_description": description}))
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
