//! What the authorization server tells clients about itself: the SMART
//! configuration (`/.well-known/smart-configuration`, at the server root and under
//! `/fhir`), the JWKS its tokens verify against, and the CapabilityStatement's
//! `rest.security`. Each lists only what this server does today: the
//! `client_credentials` grant of SMART Backend Services.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::{AuthContext, Endpoints};

/// Space the scopes a client can be granted are drawn from (examples; any SMART
/// v1 or v2 resource scope of the `system/` context parses).
const SCOPES_SUPPORTED: [&str; 7] = [
    "system/*.cruds",
    "system/*.rs",
    "system/*.*",
    "system/*.read",
    "admin",
    "biller",
    "auditor",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/smart-configuration",
        web::get().to(smart_configuration),
    )
    .route(
        "/fhir/.well-known/smart-configuration",
        web::get().to(smart_configuration),
    )
    .route("/auth/jwks", web::get().to(jwks))
    .route("/auth/token", web::post().to(super::token_endpoint::token));
}

async fn smart_configuration(context: web::Data<AuthContext>) -> HttpResponse {
    HttpResponse::Ok().json(smart_document(&context.endpoints))
}

async fn jwks(context: web::Data<AuthContext>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(context.keys.jwks())
}

pub fn smart_document(endpoints: &Endpoints) -> Value {
    json!({
        "issuer": endpoints.issuer,
        "jwks_uri": endpoints.jwks(),
        "token_endpoint": endpoints.token(),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": SCOPES_SUPPORTED,
        "capabilities": [
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "permission-v1",
            "permission-v2",
        ],
    })
}

/// The CapabilityStatement's `rest.security` for a server that requires tokens.
pub fn capability_security(endpoints: &Endpoints) -> Value {
    json!({
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [{"url": "token", "valueUri": endpoints.token()}],
        }],
        "service": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR",
            }],
            "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
        }],
        "description": "Bearer access tokens from the embedded authorization server; see /.well-known/smart-configuration",
    })
}
