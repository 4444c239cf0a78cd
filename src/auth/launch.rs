//! `POST /auth/launch`: an EHR about to launch a SMART app asks for a launch id
//! that stands for its context (the patient, and the encounter, on screen), then
//! opens the app with `?iss=…&launch=…`. The app's authorization request carries
//! the id back, and its token response tells it the patient and encounter
//! (`context-ehr-patient`, `context-ehr-encounter`).
//!
//! The EHR calls with its own bearer token: one with the `admin` role, or one that
//! may read any Patient (`system/Patient.read`, `user/Patient.rs`, …). The patient
//! and encounter must exist in the EHR client's tenant.

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use super::scopes::{Interaction, Role};
use super::AuthContext;
use crate::admin_body::{error_answer, Body};
use crate::fhir::resource_type::ResourceType;
use crate::store::auth::LaunchContextRow;
use crate::store::model::Tenant;
use crate::store::sql_types::StoredInstant;

/// How long the app has to come back with the launch id.
const LAUNCH_LIFETIME_SECS: i64 = 600;
const API: &str = "launch API";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/launch", web::post().to(create_launch));
}

async fn create_launch(
    context: web::Data<AuthContext>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = bearer else {
        return HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer realm=\"claimbridge\""))
            .json(json!({"error": "a bearer access token is required"}));
    };
    let principal = match context.tokens.verify(token.trim()).await {
        Ok(principal) => principal,
        Err(error) => {
            return HttpResponse::Unauthorized()
                .insert_header((
                    "WWW-Authenticate",
                    "Bearer realm=\"claimbridge\", error=\"invalid_token\"",
                ))
                .json(json!({"error": error.to_string()}))
        }
    };
    let reads_patients = principal
        .scopes
        .permission_for("Patient", Interaction::Read)
        .grants()
        .iter()
        .any(|grant| grant.is_unrestricted());
    if !principal.has_role(Role::Admin) && !reads_patients {
        return error_answer(
            StatusCode::FORBIDDEN,
            &"launching needs the admin role or a scope that reads any Patient",
            None,
            API,
        );
    }
    let fields = match Body::of(body.into_inner()) {
        Ok(fields) => fields,
        Err(invalid) => return invalid.answer(API),
    };
    let (patient, encounter) = match (fields.string("patient"), fields.string("encounter")) {
        (Ok(patient), Ok(encounter)) => (patient, encounter),
        (Err(invalid), _) | (_, Err(invalid)) => return invalid.answer(API),
    };
    for (field, kind, id) in [
        ("patient", ResourceType::Patient, &patient),
        ("encounter", ResourceType::Encounter, &encounter),
    ] {
        let Some(id) = id else { continue };
        match exists(&context, &Tenant::new(principal.tenant.as_str()), kind, id).await {
            Ok(true) => {}
            Ok(false) => {
                return error_answer(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("no {kind} {id}"),
                    Some((field, "does not exist")),
                    API,
                )
            }
            Err(error) => return error_answer(StatusCode::SERVICE_UNAVAILABLE, &error, None, API),
        }
    }
    let row = LaunchContextRow {
        launch_id: uuid::Uuid::new_v4().simple().to_string(),
        tenant: principal.tenant.clone(),
        patient,
        encounter,
        created_by: principal.client_id.clone(),
        expires_at: StoredInstant(Utc::now() + chrono::Duration::seconds(LAUNCH_LIFETIME_SECS)),
    };
    let stored = async { context.store.session().await?.insert_launch_context(&row).await }.await;
    match stored {
        Ok(()) => HttpResponse::Created().json(json!({
            "launch": row.launch_id,
            "expiresIn": LAUNCH_LIFETIME_SECS,
            "iss": context.endpoints.audience,
        })),
        Err(error) => error_answer(StatusCode::SERVICE_UNAVAILABLE, &error, None, API),
    }
}

/// Whether the resource exists (for the launch, and the patient a user picked).
pub async fn exists(
    context: &AuthContext,
    tenant: &Tenant,
    kind: ResourceType,
    id: &str,
) -> Result<bool, crate::fhir::outcome::FhirError> {
    let mut session = context.store.session_in(tenant).await?;
    let query = format!(
        "_id={}",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    let found = crate::fhir::search::find(&mut session, kind, &query, &context.endpoints.audience, 1).await?;
    Ok(!found.is_empty())
}
