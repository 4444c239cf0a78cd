//! `POST /v1/token`: OAuth 2.0 client credentials, the id and secret as form
//! fields. Tokens last 300 s (or the state's test lifetime); refusals are OAuth
//! error JSON (`invalid_client`, `unsupported_grant_type`), not Availity's envelope.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::http::{first, form};
use super::state::SimulatorState;
use super::{CLIENT_ID, CLIENT_SECRET};

pub async fn issue(request: HttpRequest, body: web::Bytes, state: web::Data<SimulatorState>) -> HttpResponse {
    let fields = match form(&request, &body) {
        Ok(fields) => fields,
        Err(refusal) => return *refusal,
    };
    if first(&fields, "grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if first(&fields, "client_id") != Some(CLIENT_ID)
        || first(&fields, "client_secret") != Some(CLIENT_SECRET)
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let (token, lifetime) = state.issue_token();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "scope": first(&fields, "scope").unwrap_or("healthcare-hipaa-transactions"),
            "consented_on": chrono::Utc::now().timestamp(),
        }))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": error, "error_description": description}))
}
