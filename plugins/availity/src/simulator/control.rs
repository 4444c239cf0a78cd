//! Inspection routes under `/__simulator/` (no fault applies to them).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::state::SimulatorState;

/// `GET /__simulator/claims`: every claim received over SFTP.
pub async fn claims(state: web::Data<SimulatorState>) -> HttpResponse {
    HttpResponse::Ok().json(state.claims())
}

/// `GET /__simulator/tokens`: `{"issued": n}`.
pub async fn tokens(state: web::Data<SimulatorState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"issued": state.tokens_issued()}))
}

/// `POST /__simulator/tokens/revoke`: every token issued stops working.
pub async fn revoke(state: web::Data<SimulatorState>) -> HttpResponse {
    state.revoke_tokens();
    HttpResponse::NoContent().finish()
}
