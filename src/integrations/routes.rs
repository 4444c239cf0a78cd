//! `/admin/integrations`: the registry over HTTP, JSON in camelCase. Credentials are
//! write-only: answers name each one set (`{"apiKey": "set"}`), never its value.
//!
//! Bodies are read field by field rather than through a derived type, so that a
//! wrong value is a 422 naming its field, as a bad vendor or URL is.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::orchestrator::Orchestrator;
use super::registry::{
    CredentialMap, Integration, IntegrationPatch, NewIntegration, Registry, RegistryError, DEFAULT_TENANT,
};
use super::{Category, Vendor};
use crate::admin_body::{error_answer, Body, FieldError};

/// What answers show in place of each credential.
const SHOWN_SECRET: &str = "set";

pub struct IntegrationsContext {
    pub registry: Registry,
    pub orchestrator: Arc<Orchestrator>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/integrations")
            .app_data(web::JsonConfig::default().error_handler(|error, _| {
                actix_web::error::InternalError::from_response(
                    error.to_string(),
                    HttpResponse::BadRequest().json(json!({"error": error.to_string()})),
                )
                .into()
            }))
            .route("", web::post().to(create))
            .route("", web::get().to(list))
            .route("/reorder", web::post().to(reorder))
            .route("/{id}", web::get().to(read))
            .route("/{id}", web::put().to(update))
            .route("/{id}", web::patch().to(update))
            .route("/{id}", web::delete().to(delete))
            .route("/{id}/enable", web::post().to(enable))
            .route("/{id}/disable", web::post().to(disable))
            .route("/{id}/test", web::post().to(super::checks::test_connection))
            .route("/{id}/health", web::get().to(super::checks::health))
            .route(
                "/{id}/attempts",
                web::get().to(super::checks::integration_attempts),
            ),
    );
    cfg.route(
        "/api/billing/claims/{id}/attempts",
        web::get().to(super::checks::claim_attempts),
    );
}

/// A registry error as an HTTP answer.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(super) struct ApiError(#[from] RegistryError);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            RegistryError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            RegistryError::NameTaken { .. } => StatusCode::CONFLICT,
            RegistryError::NotFound => StatusCode::NOT_FOUND,
            RegistryError::NoKey => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::Secrets(_) | RegistryError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let invalid = match &self.0 {
            RegistryError::Invalid { field, message } => Some((*field, message.as_str())),
            _ => None,
        };
        error_answer(self.status_code(), &self.0, invalid, "integration registry")
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError(error.into())
    }
}

pub(super) type Answer = Result<HttpResponse, ApiError>;

#[derive(Deserialize)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn create(context: web::Data<IntegrationsContext>, body: web::Json<Value>) -> Answer {
    let fields = Fields::of(body.into_inner())?;
    let vendor = fields.vendor()?.ok_or_else(|| missing("vendor"))?;
    let new = NewIntegration {
        tenant: fields.tenant()?.unwrap_or_else(|| DEFAULT_TENANT.to_owned()),
        vendor,
        name: fields.string("name")?.ok_or_else(|| missing("name"))?,
        category: fields.category()?,
        priority: fields.priority()?,
        enabled: fields.boolean("enabled")?.unwrap_or(true),
        base_url: fields.base_url()?.ok_or_else(|| missing("baseUrl"))?,
        settings: fields.settings()?.unwrap_or_default(),
        credentials: fields.credentials()?.unwrap_or_default(),
    };
    let created = context.registry.create(new).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/integrations/{}", created.id)))
        .json(render(&context, &created)))
}

async fn list(context: web::Data<IntegrationsContext>, query: web::Query<TenantQuery>) -> Answer {
    let tenant = query.tenant.as_deref().unwrap_or(DEFAULT_TENANT);
    let integrations = context.registry.list(tenant).await?;
    Ok(HttpResponse::Ok().json(render_list(&context, tenant, &integrations)))
}

async fn read(context: web::Data<IntegrationsContext>, id: web::Path<String>) -> Answer {
    Ok(HttpResponse::Ok().json(render(&context, &context.registry.get(&id).await?)))
}

/// PUT and PATCH alike: fields left out stay as they are (credentials too).
async fn update(
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Answer {
    let fields = Fields::of(body.into_inner())?;
    if let Some(tenant) = fields.tenant()? {
        let current = context.registry.get(&id).await?;
        if tenant != current.tenant {
            return Err(
                RegistryError::invalid("tenant", "an integration cannot move to another tenant").into(),
            );
        }
    }
    let patch = IntegrationPatch {
        vendor: fields.vendor()?,
        name: fields.string("name")?,
        category: fields.category()?,
        priority: fields.priority()?,
        enabled: fields.boolean("enabled")?,
        base_url: fields.base_url()?,
        settings: fields.settings()?,
        credentials: fields.credentials()?,
        credential_changes: None,
    };
    Ok(HttpResponse::Ok().json(render(&context, &context.registry.update(&id, patch).await?)))
}

async fn enable(context: web::Data<IntegrationsContext>, id: web::Path<String>) -> Answer {
    switch(&context, &id, true).await
}

async fn disable(context: web::Data<IntegrationsContext>, id: web::Path<String>) -> Answer {
    switch(&context, &id, false).await
}

async fn switch(context: &IntegrationsContext, id: &str, enabled: bool) -> Answer {
    let patch = IntegrationPatch {
        enabled: Some(enabled),
        ..IntegrationPatch::default()
    };
    Ok(HttpResponse::Ok().json(render(context, &context.registry.update(id, patch).await?)))
}

/// `{"tenant": "default", "category": "clearinghouse", "ids": [first, second, …]}`.
async fn reorder(context: web::Data<IntegrationsContext>, body: web::Json<Value>) -> Answer {
    let fields = Fields::of(body.into_inner())?;
    let tenant = fields.tenant()?.unwrap_or_else(|| DEFAULT_TENANT.to_owned());
    let category = fields.category()?.ok_or_else(|| missing("category"))?;
    let ids = match fields.get("ids") {
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| id.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    }
    .ok_or_else(|| RegistryError::invalid("ids", "must be an array of integration ids"))?;
    let integrations = context.registry.reorder(&tenant, category, &ids).await?;
    Ok(HttpResponse::Ok().json(render_list(&context, &tenant, &integrations)))
}

async fn delete(context: web::Data<IntegrationsContext>, id: web::Path<String>) -> Answer {
    context.registry.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn missing(field: &'static str) -> RegistryError {
    RegistryError::invalid(field, "is required")
}

/// A request body's fields: the admin API's common readers ([`Body`]) and this API's
/// own.
struct Fields(Body);

impl std::ops::Deref for Fields {
    type Target = Body;

    fn deref(&self) -> &Body {
        &self.0
    }
}

impl Fields {
    fn of(body: Value) -> Result<Fields, RegistryError> {
        Ok(Fields(Body::of(body)?))
    }

    fn vendor(&self) -> Result<Option<Vendor>, RegistryError> {
        self.string("vendor")?
            .map(|vendor| {
                Vendor::parse(&vendor).ok_or_else(|| {
                    let known: Vec<&str> = Vendor::ALL.iter().map(|v| v.as_str()).collect();
                    RegistryError::invalid(
                        "vendor",
                        format!("unknown vendor {vendor:?}; known: {}", known.join(", ")),
                    )
                })
            })
            .transpose()
    }

    fn category(&self) -> Result<Option<Category>, RegistryError> {
        self.string("category")?
            .map(|category| {
                Category::parse(&category)
                    .ok_or_else(|| RegistryError::invalid("category", "must be clearinghouse or payments"))
            })
            .transpose()
    }

    fn priority(&self) -> Result<Option<i32>, RegistryError> {
        self.get("priority")
            .map(|value| {
                value
                    .as_i64()
                    .and_then(|p| i32::try_from(p).ok())
                    .ok_or_else(|| RegistryError::invalid("priority", "must be an integer"))
            })
            .transpose()
    }

    /// The registry checks it is an absolute http(s) URL.
    fn base_url(&self) -> Result<Option<String>, RegistryError> {
        Ok(self.string("baseUrl")?)
    }

    fn settings(&self) -> Result<Option<Map<String, Value>>, RegistryError> {
        self.get("settings")
            .map(|value| match value {
                Value::Object(map) => Ok(map.clone()),
                _ => Err(RegistryError::invalid("settings", "must be a JSON object")),
            })
            .transpose()
    }

    /// An object of strings. A value of `"set"` is refused: that is how answers show a
    /// secret, so it is an answer sent back, which would overwrite the real secret.
    fn credentials(&self) -> Result<Option<CredentialMap>, RegistryError> {
        let Some(value) = self.get("credentials") else {
            return Ok(None);
        };
        let credentials = value
            .as_object()
            .and_then(|map| {
                map.iter()
                    .map(|(name, secret)| Some((name.clone(), secret.as_str()?.to_owned())))
                    .collect::<Option<CredentialMap>>()
            })
            .ok_or_else(|| RegistryError::invalid("credentials", "must be an object of strings"))?;
        if credentials.values().any(|secret| secret == SHOWN_SECRET) {
            return Err(RegistryError::invalid(
                "credentials",
                "\"set\" stands for a secret in answers; leave credentials out to keep them",
            ));
        }
        Ok(Some(credentials))
    }
}

fn render_list(context: &IntegrationsContext, tenant: &str, integrations: &[Integration]) -> Value {
    json!({
        "tenant": tenant,
        "integrations": integrations.iter().map(|integration| render(context, integration)).collect::<Vec<_>>(),
    })
}

/// An integration as answers show it: each credential only as `"set"`, and the
/// state of its circuit on this node.
fn render(context: &IntegrationsContext, integration: &Integration) -> Value {
    let credentials: Map<String, Value> = integration
        .credential_names
        .iter()
        .map(|name| (name.clone(), Value::from(SHOWN_SECRET)))
        .collect();
    let instant =
        |at: &chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "id": integration.id,
        "tenant": integration.tenant,
        "vendor": integration.vendor,
        "name": integration.name,
        "category": integration.category,
        "priority": integration.priority,
        "enabled": integration.enabled,
        "baseUrl": integration.base_url,
        "settings": integration.settings,
        "credentials": credentials,
        "keyId": integration.key_id,
        "createdAt": instant(&integration.created_at),
        "updatedAt": instant(&integration.updated_at),
        "circuit": context.orchestrator.breaker_state(&integration.id).as_str(),
    })
}
