//! What the authorization server says about the tokens it issued, and taking them
//! back:
//! - `POST /auth/introspect` (RFC 7662) for any authenticated confidential or
//!   backend client (a resource server checking a token): `{"active": false}` for
//!   anything expired, revoked, used or unknown, else what the token grants;
//! - `POST /auth/revoke` (RFC 7009) for the client the token was issued to: a
//!   refresh token revokes its whole grant (and the access tokens issued from it),
//!   an access token is refused from then on. Unknown tokens are not an error.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use super::clients::ClientType;
use super::token_endpoint::{authenticate, field, oauth_error, OAuthError};
use super::AuthContext;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/introspect", web::post().to(introspect))
        .route("/auth/revoke", web::post().to(revoke));
}

/// A token this server issued, as far as it can tell.
enum Known {
    /// Signed by this server for its FHIR audience, unexpired: its claims.
    Access(Value),
    /// Unused and unexpired.
    Refresh(crate::store::auth::RefreshTokenRow),
    Unknown,
}

async fn classify(context: &AuthContext, token: &str, hint: Option<&str>) -> Result<Known, OAuthError> {
    let as_access = async {
        context
            .tokens
            .decode::<Value>(token, &context.endpoints.audience)
            .await
            .ok()
            .map(Known::Access)
    };
    let as_refresh = async {
        match context.grants.live_refresh_token(token).await {
            Ok(row) => Ok(row.map(Known::Refresh)),
            Err(error) => Err(unavailable(error)),
        }
    };
    // The hint only orders the lookups (RFC 7009 §2.1).
    if hint == Some("refresh_token") {
        if let Some(known) = as_refresh.await? {
            return Ok(known);
        }
        return Ok(as_access.await.unwrap_or(Known::Unknown));
    }
    if let Some(known) = as_access.await {
        return Ok(known);
    }
    Ok(as_refresh.await?.unwrap_or(Known::Unknown))
}

fn unavailable(error: impl std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "token introspection or revocation");
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "try again",
    )
}

fn form_of(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn introspect(context: web::Data<AuthContext>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = form_of(&body);
    match answer_introspection(&context, &request, &form).await {
        Ok(answer) => answer,
        Err(refusal) => refusal.into(),
    }
}

async fn answer_introspection(
    context: &AuthContext,
    request: &HttpRequest,
    form: &[(String, String)],
) -> Result<HttpResponse, OAuthError> {
    let client = authenticate(context, request, form).await?;
    if client.client_type == ClientType::Public {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "introspection is for clients that authenticate",
        ));
    }
    let token = field(form, "token")
        .ok_or_else(|| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required"))?;
    let inactive = || Ok(HttpResponse::Ok().json(json!({"active": false})));
    match classify(context, token, field(form, "token_type_hint")).await? {
        Known::Access(claims) => {
            let jti = claims["jti"].as_str().unwrap_or_default();
            let revoked = context
                .tokens
                .is_revoked(jti, claims["grant"].as_str())
                .await
                .map_err(unavailable)?;
            if revoked {
                return inactive();
            }
            let mut answer = json!({"active": true, "token_type": "Bearer"});
            for name in [
                "scope",
                "client_id",
                "sub",
                "exp",
                "iat",
                "iss",
                "aud",
                "jti",
                "tenant",
                "patient",
                "fhirUser",
            ] {
                if let Some(value) = claims.get(name) {
                    answer[name] = value.clone();
                }
            }
            Ok(HttpResponse::Ok().json(answer))
        }
        Known::Refresh(row) => Ok(HttpResponse::Ok().json(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": row.user_id,
            "exp": row.expires_at.0.timestamp(),
            "iat": row.created_at.0.timestamp(),
            "iss": context.endpoints.issuer,
        }))),
        Known::Unknown => inactive(),
    }
}

async fn revoke(context: web::Data<AuthContext>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let form = form_of(&body);
    match answer_revocation(&context, &request, &form).await {
        Ok(answer) => answer,
        Err(refusal) => refusal.into(),
    }
}

async fn answer_revocation(
    context: &AuthContext,
    request: &HttpRequest,
    form: &[(String, String)],
) -> Result<HttpResponse, OAuthError> {
    let client = authenticate(context, request, form).await?;
    let token = field(form, "token")
        .ok_or_else(|| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required"))?;
    let not_yours = || {
        Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "the token was issued to another client",
        ))
    };
    match classify(context, token, field(form, "token_type_hint")).await? {
        Known::Access(claims) => {
            if claims["client_id"].as_str() != Some(client.client_id.as_str()) {
                return not_yours();
            }
            let jti = claims["jti"].as_str().unwrap_or_default();
            let expires_at = claims["exp"].as_i64().unwrap_or_else(|| Utc::now().timestamp());
            context
                .tokens
                .revoke(jti, expires_at)
                .await
                .map_err(unavailable)?;
        }
        Known::Refresh(row) => {
            if row.client_id != client.client_id {
                return not_yours();
            }
            context
                .grants
                .revoke_family(&row.family_id)
                .await
                .map_err(unavailable)?;
            context.tokens.forget_grant(&row.family_id);
        }
        Known::Unknown => {}
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}
