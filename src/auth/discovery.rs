//! What the authorization server tells clients about itself: the SMART
//! configuration (`/.well-known/smart-configuration`, at the server root and under
//! `/fhir`), the JWKS its tokens verify against, and the CapabilityStatement's
//! `rest.security`, and the OpenID Connect discovery document at the issuer
//! (`/auth/.well-known/openid-configuration`). Each lists only what this server
//! does today: SMART Backend Services (`client_credentials`) and App Launch
//! (authorization code with PKCE S256, EHR and standalone launch, refresh tokens,
//! OpenID Connect id tokens, introspection, revocation), with `patient/` scopes
//! confined to the launch patient's compartment.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::{AuthContext, Endpoints};

/// Space the scopes a client can be granted are drawn from (examples; any SMART
/// v1 or v2 resource scope of the `system/` context parses).
const SCOPES_SUPPORTED: [&str; 19] = [
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "patient/*.cruds",
    "user/*.cruds",
    "user/*.rs",
    "system/*.cruds",
    "system/*.rs",
    "system/*.*",
    "system/*.read",
    "user/*.read",
    "admin",
    "biller",
    "auditor",
];

const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
const GRANT_TYPES: [&str; 3] = ["authorization_code", "client_credentials", "refresh_token"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/smart-configuration",
        web::get().to(smart_configuration),
    )
    .route(
        "/fhir/.well-known/smart-configuration",
        web::get().to(smart_configuration),
    )
    .route(
        "/auth/.well-known/openid-configuration",
        web::get().to(openid_configuration),
    )
    .route("/auth/jwks", web::get().to(jwks))
    .route("/auth/token", web::post().to(super::token_endpoint::token));
}

async fn smart_configuration(context: web::Data<AuthContext>) -> HttpResponse {
    HttpResponse::Ok().json(smart_document(&context.endpoints))
}

async fn openid_configuration(context: web::Data<AuthContext>) -> HttpResponse {
    HttpResponse::Ok().json(openid_document(&context.endpoints))
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
        "authorization_endpoint": endpoints.authorize(),
        "token_endpoint": endpoints.token(),
        "introspection_endpoint": endpoints.introspect(),
        "revocation_endpoint": endpoints.revoke(),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": GRANT_TYPES,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "capabilities": [
            "launch-ehr",
            "launch-standalone",
            "authorize-post",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "context-ehr-patient",
            "context-ehr-encounter",
            "context-standalone-patient",
            "sso-openid-connect",
            "permission-offline",
            "permission-online",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
            "context-banner",
        ],
    })
}

/// OpenID Connect Discovery 1.0 for the issuer: what an OIDC client library needs
/// to sign users in here and check their id tokens.
pub fn openid_document(endpoints: &Endpoints) -> Value {
    json!({
        "issuer": endpoints.issuer,
        "authorization_endpoint": endpoints.authorize(),
        "token_endpoint": endpoints.token(),
        "jwks_uri": endpoints.jwks(),
        "introspection_endpoint": endpoints.introspect(),
        "revocation_endpoint": endpoints.revoke(),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [super::keys::SIGNING_ALG],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"],
    })
}

/// The CapabilityStatement's `rest.security` for a server that requires tokens.
pub fn capability_security(endpoints: &Endpoints) -> Value {
    json!({
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                {"url": "token", "valueUri": endpoints.token()},
                {"url": "authorize", "valueUri": endpoints.authorize()},
                {"url": "introspect", "valueUri": endpoints.introspect()},
                {"url": "revoke", "valueUri": endpoints.revoke()},
            ],
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
