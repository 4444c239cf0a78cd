//! HTTP → FHIR interactions: parse the request, call `ResourceService`, render.

use std::str::FromStr;

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use fhirbolt::model::r4::Resource;
use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
use futures_util::StreamExt;
use serde_json::Value;

use crate::auth::access_token::Principal;
use crate::auth::policy::Reach;
use crate::billing::checks::scrub_claim;
use crate::billing::scrub::RuleSet;
use crate::fhir::change_guard::ChangeGuards;
use crate::fhir::format::{self, BodyKind, Format, ResponseFormat};
use crate::fhir::history::{history_bundle, HistoryParams};
use crate::fhir::outcome::{operation_outcome, FhirError, Issue};
use crate::fhir::pointer::Pointer;
use crate::fhir::reach;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::params::{ParseOptions, SearchRequest};
use crate::fhir::search::search_bundle_noting;
use crate::fhir::service::{ResourceService, VersionView, Written};
use crate::store::model::{HistoryQuery, HistoryScope, Tenant};
use crate::store::Session;

/// Interactions offered on every resource type (CapabilityStatement codes). The
/// routes below serve exactly these; a test walks the list against a live server.
pub const TYPE_INTERACTIONS: [&str; 9] = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
];
pub const SYSTEM_INTERACTIONS: [&str; 3] = ["history-system", "batch", "transaction"];

/// What the FHIR handlers share.
pub struct FhirContext {
    pub service: ResourceService,
    /// `{public url}/fhir`, as clients address it.
    pub base_url: String,
    pub body_limit: usize,
    /// Largest page a search returns, whatever `_count` asks.
    pub search_max_count: usize,
    /// The CapabilityStatement, built once at start-up.
    pub capability: std::sync::Arc<Value>,
    /// The billing scrub rules `Claim/$validate` applies after the structural checks.
    pub scrub_rules: std::sync::Arc<RuleSet>,
    /// Asked before a client updates, patches or deletes a resource they watch,
    /// and told after an update or patch.
    pub change_guards: ChangeGuards,
}

impl FhirContext {
    /// Runs a client's change of `resource_type` in its session: a transaction
    /// when a guard watches such changes, so that what the guard holds stays held
    /// until the change commits; ended with the change's outcome (`end_change`).
    async fn run_change<T>(
        &self,
        tenant: &Tenant,
        resource_type: ResourceType,
        change: impl AsyncFnOnce(&mut Session) -> Result<T, FhirError>,
    ) -> Result<T, FhirError> {
        let mut session = if self.change_guards.watch(resource_type) {
            self.service.begin(tenant).await?
        } else {
            self.service.session(tenant).await?
        };
        let outcome = change(&mut session).await;
        end_change(session, outcome).await
    }

    /// Tells the change guards of `resource_type` about a client's update or
    /// patch, in its transaction. What follows may write the resource again
    /// (billing's move mirrored in `Claim.status`): the client is answered with
    /// the version that is current then, whose ETag its next change must name.
    pub(crate) async fn after_write(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        mut written: Written,
    ) -> Result<Written, FhirError> {
        if !self.change_guards.watch(resource_type) {
            return Ok(written);
        }
        self.change_guards
            .after(&self.service, session, resource_type, &written.version.id)
            .await?;
        written.version = self
            .service
            .read(session, resource_type, &written.version.id)
            .await?;
        Ok(written)
    }
}

/// Ends a change's session with the change's `outcome`: its transaction, when it
/// has one, commits a change that succeeded and is rolled back for one that did
/// not (at once, rather than by the task a dropped session starts).
pub(crate) async fn end_change<T>(session: Session, outcome: Result<T, FhirError>) -> Result<T, FhirError> {
    if !session.in_transaction() {
        return outcome;
    }
    match outcome {
        Ok(value) => {
            session.commit().await?;
            Ok(value)
        }
        Err(error) => {
            let _ = session.rollback().await;
            Err(error)
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            // Before `/{type}`, which would take `/AuditEvent` for a stored type.
            .configure(crate::audit::routes::configure)
            .service(
                web::resource("/metadata")
                    .route(web::get().to(metadata))
                    .default_service(not_allowed("GET")),
            )
            .service(
                web::resource("/_history")
                    .route(web::get().to(system_history))
                    .default_service(not_allowed("GET")),
            )
            .service(
                web::resource("")
                    .route(web::post().to(bundle))
                    .default_service(not_allowed("POST")),
            )
            .service(
                web::resource("/{type}")
                    .route(web::get().to(search_type))
                    .route(web::post().to(create))
                    .route(web::put().to(conditional_update))
                    .route(web::delete().to(conditional_delete))
                    .default_service(not_allowed("GET, POST, PUT, DELETE")),
            )
            .service(
                web::resource("/{type}/_search")
                    .route(web::post().to(search_type_post))
                    .route(web::get().to(search_type))
                    .default_service(not_allowed("GET, POST")),
            )
            .service(
                web::resource("/{type}/_history")
                    .route(web::get().to(type_history))
                    .default_service(not_allowed("GET")),
            )
            .service(
                web::resource("/{type}/$validate")
                    .route(web::post().to(validate_type))
                    .default_service(not_allowed("POST")),
            )
            .service(
                web::resource("/{type}/{id}")
                    .route(web::get().to(read))
                    .route(web::put().to(update))
                    .route(web::patch().to(patch))
                    .route(web::delete().to(delete))
                    .default_service(not_allowed("GET, PUT, PATCH, DELETE")),
            )
            .service(
                web::resource("/{type}/{id}/_history")
                    .route(web::get().to(instance_history))
                    .default_service(not_allowed("GET")),
            )
            .service(
                web::resource("/{type}/{id}/_history/{version}")
                    .route(web::get().to(vread))
                    .default_service(not_allowed("GET")),
            )
            .service(
                web::resource("/{type}/{id}/$validate")
                    .route(web::post().to(validate_instance))
                    .default_service(not_allowed("POST")),
            )
            .default_service(web::to(unknown_path)),
    );
}

/// A FHIR request acts for the tenant its access token names (the authorization
/// gate puts the verified `Principal` into the request; with authorization disabled
/// it is the default tenant's). Without a principal the request is refused rather
/// than given a tenant it did not prove.
impl actix_web::FromRequest for Tenant {
    type Error = FhirError;
    type Future = std::future::Ready<Result<Tenant, FhirError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(request_tenant(request))
    }
}

fn request_tenant(request: &HttpRequest) -> Result<Tenant, FhirError> {
    request
        .extensions()
        .get::<crate::auth::access_token::Principal>()
        .map(|principal| Tenant::new(principal.tenant.as_str()))
        .ok_or_else(|| FhirError::Internal("no principal: the authorization gate did not run".into()))
}

/// With a limited reach, refuses to change a stored resource outside it (a
/// resource that does not exist yet is for the new version's check).
async fn guard_stored(
    ctx: &FhirContext,
    session: &mut Session,
    reach: &Reach,
    resource_type: ResourceType,
    id: &str,
) -> Result<(), FhirError> {
    if *reach == Reach::Everything {
        return Ok(());
    }
    match ctx.service.read(session, resource_type, id).await {
        Ok(stored) => reach::guard_text(reach, &stored.body, &ctx.base_url),
        Err(FhirError::NotFound(_) | FhirError::Gone(_)) => Ok(()),
        Err(error) => Err(error),
    }
}

fn not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |request: HttpRequest| async move {
        Err::<HttpResponse, _>(FhirError::MethodNotAllowed {
            allow,
            message: format!("{} is not supported on {}", request.method(), request.path()),
        })
    })
}

async fn unknown_path(request: HttpRequest) -> Result<HttpResponse, FhirError> {
    Err(FhirError::NotFound(format!(
        "no FHIR endpoint at {}",
        request.path()
    )))
}

fn resource_type(name: &str) -> Result<ResourceType, FhirError> {
    ResourceType::from_str(name).map_err(|_| {
        FhirError::NotFound(format!(
            "resource type {name:?} is not supported; supported: {}",
            ResourceType::ALL.map(ResourceType::as_str).join(", ")
        ))
    })
}

async fn metadata(request: HttpRequest, ctx: web::Data<FhirContext>) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    respond(HttpResponse::Ok(), format, ctx.capability.to_string())
}

async fn read(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<(String, String)>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let (type_name, id) = path.into_inner();
    let resource_type = resource_type(&type_name)?;
    let version = ctx.service.read_cached(&tenant, resource_type, &id).await?;
    reach::guard_text(&reach, &version.body, &ctx.base_url)?;
    guard_read_constraints(&ctx, &tenant, &reach, resource_type, &id).await?;
    respond_with_version(HttpResponse::Ok(), format, version)
}

/// A constrained scope's check of a resource read by id (the current version
/// decides whether it matches), in a session of its own: the read may have come
/// from the cache, without one.
async fn guard_read_constraints(
    ctx: &FhirContext,
    tenant: &Tenant,
    reach: &Reach,
    resource_type: ResourceType,
    id: &str,
) -> Result<(), FhirError> {
    if !matches!(reach, Reach::Constrained { .. }) {
        return Ok(());
    }
    let mut session = ctx.service.session(tenant).await?;
    reach::guard_constraints(&mut session, reach, resource_type, id, &ctx.base_url).await
}

async fn vread(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<(String, String, String)>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let (type_name, id, version) = path.into_inner();
    let resource_type = resource_type(&type_name)?;
    let version = ctx
        .service
        .vread_cached(&tenant, resource_type, &id, &version)
        .await?;
    reach::guard_text(&reach, &version.body, &ctx.base_url)?;
    guard_read_constraints(&ctx, &tenant, &reach, resource_type, &id).await?;
    respond_with_version(HttpResponse::Ok(), format, version)
}

async fn create(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<String>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let resource_type = resource_type(&path)?;
    let resource = read_resource(&request, body, ctx.body_limit).await?;
    let if_none_exist = header_str(request.headers(), "If-None-Exist")?;
    reach::guard(&reach, &resource, &ctx.base_url)?;
    if if_none_exist.is_some() {
        reach::only_unlimited(&reach, "a conditional create")?;
    }
    let mut session = ctx.service.session(&tenant).await?;
    let written = ctx
        .service
        .create(&mut session, resource_type, resource, if_none_exist)
        .await?;
    respond_with_write(&request, &ctx, resource_type, format, written)
}

async fn update(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<(String, String)>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let (type_name, id) = path.into_inner();
    let resource_type = resource_type(&type_name)?;
    let resource = read_resource(&request, body, ctx.body_limit).await?;
    let if_match = if_match(request.headers())?;
    reach::guard(&reach, &resource, &ctx.base_url)?;
    let written = ctx
        .run_change(&tenant, resource_type, async |session| {
            guard_stored(&ctx, session, &reach, resource_type, &id).await?;
            ctx.change_guards.check(session, resource_type, &id).await?;
            let written = ctx
                .service
                .update(session, resource_type, &id, resource, if_match)
                .await?;
            ctx.after_write(session, resource_type, written).await
        })
        .await?;
    respond_with_write(&request, &ctx, resource_type, format, written)
}

async fn conditional_update(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<String>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let resource_type = resource_type(&path)?;
    reach::only_unlimited(&reach, "a conditional update")?;
    let resource = read_resource(&request, body, ctx.body_limit).await?;
    let query = request.query_string();
    let written = ctx
        .run_change(&tenant, resource_type, async |session| {
            // Matching nothing, the update writes the body's id.
            let body_id = resource.get("id").and_then(Value::as_str);
            ctx.change_guards
                .check_matching(&ctx.service, session, resource_type, query, body_id)
                .await?;
            let written = ctx
                .service
                .conditional_update(session, resource_type, query, resource)
                .await?;
            ctx.after_write(session, resource_type, written).await
        })
        .await?;
    respond_with_write(&request, &ctx, resource_type, format, written)
}

async fn patch(
    request: HttpRequest,
    tenant: Tenant,
    path: web::Path<(String, String)>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let (type_name, id) = path.into_inner();
    let resource_type = resource_type(&type_name)?;
    if format::body_kind(&request)? != BodyKind::JsonPatch {
        return Err(FhirError::UnsupportedMediaType(format!(
            "PATCH takes {}; FHIRPath Patch is not supported",
            format::JSON_PATCH
        )));
    }
    let bytes = read_body(&request, body, ctx.body_limit).await?;
    let patch = parse_json(&bytes)?;
    let if_match = if_match(request.headers())?;
    let written = ctx
        .run_change(&tenant, resource_type, async |session| {
            ctx.change_guards.check(session, resource_type, &id).await?;
            let written = ctx
                .service
                .patch(session, resource_type, &id, patch, if_match)
                .await?;
            ctx.after_write(session, resource_type, written).await
        })
        .await?;
    respond_with_write(&request, &ctx, resource_type, format, written)
}

async fn delete(
    tenant: Tenant,
    reach: Reach,
    path: web::Path<(String, String)>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let (type_name, id) = path.into_inner();
    let resource_type = resource_type(&type_name)?;
    ctx.run_change(&tenant, resource_type, async |session| {
        guard_stored(&ctx, session, &reach, resource_type, &id).await?;
        ctx.change_guards.check(session, resource_type, &id).await?;
        ctx.service.delete(session, resource_type, &id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn conditional_delete(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<String>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    reach::only_unlimited(&reach, "a conditional delete")?;
    let resource_type = resource_type(&path)?;
    let query = request.query_string();
    ctx.run_change(&tenant, resource_type, async |session| {
        ctx.change_guards
            .check_matching(&ctx.service, session, resource_type, query, None)
            .await?;
        ctx.service
            .conditional_delete(session, resource_type, query)
            .await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn search_type(
    request: HttpRequest,
    path: web::Path<String>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let pairs = form_pairs(request.query_string().as_bytes());
    search(&request, &path, pairs, &ctx).await
}

/// `POST /fhir/{type}/_search`: parameters in a form-encoded body (and the URL).
async fn search_type_post(
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let content_type = header_str(request.headers(), "Content-Type")?.unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(FhirError::UnsupportedMediaType(
            "POST _search takes application/x-www-form-urlencoded parameters".into(),
        ));
    }
    let bytes = read_body(&request, body, ctx.body_limit).await?;
    let mut pairs = form_pairs(request.query_string().as_bytes());
    pairs.extend(form_pairs(&bytes));
    // The names only: the values are what the body kept out of the URL.
    let names = crate::audit::classify::parameter_names(&String::from_utf8_lossy(&bytes));
    crate::audit::note(&request, |note| {
        let parameters = note.parameters.get_or_insert_with(Vec::new);
        for name in crate::audit::classify::parameter_names(request.query_string())
            .into_iter()
            .chain(names)
        {
            if !parameters.contains(&name) {
                parameters.push(name);
            }
        }
    });
    search(&request, &path, pairs, &ctx).await
}

async fn search(
    request: &HttpRequest,
    type_name: &str,
    mut pairs: Vec<(String, String)>,
    ctx: &FhirContext,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(request)?;
    let resource_type = resource_type(type_name)?;
    let reach = reach::reach_of(request)?;
    reach::narrow_search(&reach, resource_type, &mut pairs)?;
    let options = ParseOptions {
        base_url: &ctx.base_url,
        max_count: ctx.search_max_count,
        lenient: prefers_lenient(request.headers()),
    };
    let search_request = SearchRequest::parse(resource_type, &pairs, options)?;
    let mut session = ctx.service.session(&request_tenant(request)?).await?;
    let self_url = format!("{}/{resource_type}", ctx.base_url);
    let mut returned = Vec::new();
    let bundle = search_bundle_noting(
        &mut session,
        &search_request,
        &ctx.base_url,
        &self_url,
        &mut returned,
    )
    .await?;
    crate::audit::note(request, |note| note.references = returned);
    let bundle = if reach::needs_filtering(&reach, &pairs) {
        let principal = request.extensions().get::<Principal>().cloned();
        reach::filter_searchset(bundle, &reach, principal.as_ref(), &ctx.base_url)?
    } else {
        bundle
    };
    respond(HttpResponse::Ok(), format, bundle)
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// `Prefer: handling=lenient`: ignore unknown or malformed search parameters.
fn prefers_lenient(headers: &HeaderMap) -> bool {
    headers
        .get_all("Prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == "handling=lenient")
}

/// `POST /fhir` with a batch or transaction Bundle.
async fn bundle(
    request: HttpRequest,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let tenant = request_tenant(&request)?;
    reach::only_unlimited(&reach::reach_of(&request)?, "a batch or transaction")?;
    let bundle = read_resource(&request, body, ctx.body_limit).await?;
    let interaction = match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => Some("transaction"),
        Some("batch") => Some("batch"),
        _ => None,
    };
    crate::audit::note(&request, |note| note.interaction = interaction);
    let scopes = request
        .extensions()
        .get::<Principal>()
        .map(|principal| principal.scopes.clone())
        .ok_or_else(|| FhirError::Internal("no principal: the authorization gate did not run".into()))?;
    let response = crate::fhir::bundle::process(&ctx, &tenant, &scopes, bundle).await?;
    // What the entries read and wrote, as their responses' locations name them.
    let locations: Vec<String> = response
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.at("/response/location").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    crate::audit::note(&request, |note| note.references = locations);
    respond(HttpResponse::Ok(), format, response.to_string())
}

async fn system_history(
    request: HttpRequest,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    history(&request, &ctx, HistoryScope::System).await
}

async fn type_history(
    request: HttpRequest,
    path: web::Path<String>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let resource_type = resource_type(&path)?;
    history(&request, &ctx, HistoryScope::Type(resource_type.as_str())).await
}

async fn instance_history(
    request: HttpRequest,
    tenant: Tenant,
    reach: Reach,
    path: web::Path<(String, String)>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let (type_name, id) = path.into_inner();
    let resource_type = resource_type(&type_name)?;
    if reach != Reach::Everything {
        // Its current version decides: a resource moved out of the compartment
        // takes its history with it.
        let mut session = ctx.service.session(&tenant).await?;
        let current = ctx.service.read(&mut session, resource_type, &id).await?;
        reach::guard_text(&reach, &current.body, &ctx.base_url)?;
        reach::guard_constraints(&mut session, &reach, resource_type, &id, &ctx.base_url).await?;
    }
    history(
        &request,
        &ctx,
        HistoryScope::Instance(resource_type.as_str(), &id),
    )
    .await
}

async fn history(
    request: &HttpRequest,
    ctx: &FhirContext,
    scope: HistoryScope<'_>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(request)?;
    let params = HistoryParams::parse(request.query_string())?;
    let query = HistoryQuery {
        scope,
        since: params.since,
        before_change: params.cursor,
        limit: params.count + 1,
    };
    let mut session = ctx.service.session(&request_tenant(request)?).await?;
    let mut entries = ctx.service.history(&mut session, query).await?;
    let has_next = entries.len() as i64 > params.count;
    entries.truncate(params.count as usize);
    crate::audit::note(request, |note| {
        note.references = entries
            .iter()
            .map(|entry| format!("{}/{}/_history/{}", entry.res_type, entry.id, entry.version_id))
            .collect();
    });
    let page_url = |query: &str| page_url(ctx, request, query);
    let self_url = page_url(request.query_string());
    let next_url = has_next
        .then(|| {
            entries
                .last()
                .map(|last| page_url(&params.next_page_query(last.change_seq)))
        })
        .flatten();
    let bundle = history_bundle(&ctx.base_url, self_url, next_url, &entries)?;
    respond(HttpResponse::Ok(), format, bundle)
}

/// `request`'s endpoint under the public base URL, with `query`.
fn page_url(ctx: &FhirContext, request: &HttpRequest, query: &str) -> String {
    let path = request.path().strip_prefix("/fhir").unwrap_or(request.path());
    if query.is_empty() {
        format!("{}{path}", ctx.base_url)
    } else {
        format!("{}{path}?{query}", ctx.base_url)
    }
}

async fn validate_type(
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    validate(request, &path, None, body, &ctx).await
}

async fn validate_instance(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let (type_name, id) = path.into_inner();
    validate(request, &type_name, Some(&id), body, &ctx).await
}

/// `$validate`: always 200 with an OperationOutcome listing every problem, or one
/// informational issue when there is none.
async fn validate(
    request: HttpRequest,
    type_name: &str,
    id: Option<&str>,
    body: web::Payload,
    ctx: &FhirContext,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let resource_type = resource_type(type_name)?;
    let body = read_resource(&request, body, ctx.body_limit).await?;
    let (resource, parameter_profile) = unwrap_parameters(body)?;
    reach::guard(&reach::reach_of(&request)?, &resource, &ctx.base_url)?;
    let query_profile = format::query_param(&request, "profile").map(|p| p.into_owned());
    let profile = query_profile.or(parameter_profile);
    let issues = ctx
        .service
        .validate(resource_type, &resource, id, profile.as_deref())?;
    // On a stored Claim (`Claim/{id}/$validate`) the billing checks run too; a Claim
    // validated on its own may name resources that do not exist yet.
    if let (ResourceType::Claim, Some(id), true) = (resource_type, id, issues.is_empty()) {
        let outcome = scrub_outcome(ctx, &request_tenant(&request)?, id, &resource).await?;
        return respond(HttpResponse::Ok(), format, outcome.to_string());
    }
    let issues = if issues.is_empty() {
        vec![Issue::information(format!("{resource_type} is valid"))]
    } else {
        issues
    };
    respond(HttpResponse::Ok(), format, operation_outcome(&issues).to_string())
}

/// A well-formed Claim is also checked as billing would before sending it: what it
/// references must exist, and the scrub rules must pass.
async fn scrub_outcome(
    ctx: &FhirContext,
    tenant: &Tenant,
    claim_id: &str,
    claim: &Value,
) -> Result<Value, FhirError> {
    let mut session = ctx.service.session(tenant).await?;
    match scrub_claim(&ctx.service, &mut session, &ctx.scrub_rules, claim_id, claim).await {
        Ok((_, report)) => Ok(report.to_operation_outcome()),
        Err(FhirError::Invalid(issues)) => Ok(operation_outcome(&issues)),
        Err(other) => Err(other),
    }
}

/// `$validate` accepts the resource itself or a Parameters with `resource` (and
/// optionally `profile`) parameters.
fn unwrap_parameters(body: Value) -> Result<(Value, Option<String>), FhirError> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Ok((body, None));
    }
    let parameters = body
        .get("parameter")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let named = |name: &str| {
        parameters
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    };
    let resource = named("resource")
        .and_then(|p| p.get("resource"))
        .cloned()
        .ok_or_else(|| {
            FhirError::invalid_at(
                "required",
                "Parameters.parameter",
                "Parameters must carry a 'resource' parameter",
            )
        })?;
    let profile = named("profile")
        .and_then(|p| p.get("valueUri").or_else(|| p.get("valueCanonical")))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((resource, profile))
}

/// Reads the request body, refusing more than `limit` bytes (413) without buffering them.
pub(crate) async fn read_body(
    request: &HttpRequest,
    mut body: web::Payload,
    limit: usize,
) -> Result<web::Bytes, FhirError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(FhirError::PayloadTooLarge(limit));
    }
    let mut bytes = web::BytesMut::with_capacity(declared.unwrap_or(8 * 1024).min(limit));
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| FhirError::invalid("invalid", format!("cannot read the request body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(FhirError::PayloadTooLarge(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// Reads and parses a resource body in JSON or XML into its JSON form.
async fn read_resource(request: &HttpRequest, body: web::Payload, limit: usize) -> Result<Value, FhirError> {
    let kind = format::body_kind(request)?;
    let bytes = read_body(request, body, limit).await?;
    if bytes.is_empty() {
        return Err(FhirError::invalid("required", "the request has no body"));
    }
    match kind {
        BodyKind::Resource(Format::Json) => parse_json(&bytes),
        BodyKind::Resource(Format::Xml) => {
            let strict = DeserializationConfig {
                mode: DeserializationMode::Strict,
            };
            let resource: Resource = fhirbolt::xml::from_slice(&bytes, Some(strict)).map_err(|e| {
                FhirError::invalid("structure", format!("not a valid FHIR R4 XML resource: {e}"))
            })?;
            fhirbolt::json::to_json_value(resource, None)
                .map_err(|e| FhirError::Internal(format!("cannot convert XML to JSON: {e}")))
        }
        BodyKind::JsonPatch => Err(FhirError::UnsupportedMediaType(format!(
            "{} is only accepted by PATCH",
            format::JSON_PATCH
        ))),
    }
}

fn parse_json(bytes: &[u8]) -> Result<Value, FhirError> {
    serde_json::from_slice(bytes).map_err(|e| FhirError::invalid("structure", format!("malformed JSON: {e}")))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, FhirError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| FhirError::invalid_at("value", name, format!("{name} is not text")))
        })
        .transpose()
}

/// `If-Match: W/"3"` (or `"3"`, or `3`) → 3.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, FhirError> {
    let Some(value) = header_str(headers, "If-Match")? else {
        return Ok(None);
    };
    let version = value.trim().trim_start_matches("W/").trim_matches('"');
    version.parse().map(Some).map_err(|_| {
        FhirError::invalid_at(
            "value",
            "If-Match",
            format!("If-Match {value:?} is not a version ETag"),
        )
    })
}

fn etag(version_id: i64) -> String {
    format!("W/\"{version_id}\"")
}

fn respond(
    mut builder: HttpResponseBuilder,
    format: ResponseFormat,
    json: String,
) -> Result<HttpResponse, FhirError> {
    let body = format.render(json)?;
    Ok(builder.content_type(format.content_type()).body(body))
}

fn respond_with_version(
    mut builder: HttpResponseBuilder,
    format: ResponseFormat,
    version: VersionView,
) -> Result<HttpResponse, FhirError> {
    builder
        .insert_header((header::ETAG, etag(version.version_id)))
        .insert_header((
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(version.last_updated.into()),
        ));
    respond(builder, format, version.body)
}

/// What `Prefer: return=…` asks a write to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReturnPreference {
    Minimal,
    Representation,
    OperationOutcome,
}

fn return_preference(headers: &HeaderMap) -> ReturnPreference {
    let prefer = headers
        .get("Prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    prefer
        .split(',')
        .find_map(|p| match p.trim() {
            "return=minimal" => Some(ReturnPreference::Minimal),
            "return=OperationOutcome" => Some(ReturnPreference::OperationOutcome),
            "return=representation" => Some(ReturnPreference::Representation),
            _ => None,
        })
        .unwrap_or(ReturnPreference::Representation)
}

fn respond_with_write(
    request: &HttpRequest,
    ctx: &FhirContext,
    resource_type: ResourceType,
    format: ResponseFormat,
    written: Written,
) -> Result<HttpResponse, FhirError> {
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let version = written.version;
    let mut builder = HttpResponse::build(status);
    builder.insert_header((
        header::LOCATION,
        format!(
            "{}/{resource_type}/{}/_history/{}",
            ctx.base_url, version.id, version.version_id
        ),
    ));
    match return_preference(request.headers()) {
        ReturnPreference::Representation => respond_with_version(builder, format, version),
        ReturnPreference::Minimal => {
            builder
                .insert_header((header::ETAG, etag(version.version_id)))
                .insert_header((
                    header::LAST_MODIFIED,
                    httpdate::fmt_http_date(version.last_updated.into()),
                ));
            Ok(builder.finish())
        }
        ReturnPreference::OperationOutcome => {
            builder.insert_header((header::ETAG, etag(version.version_id)));
            let verb = if written.created { "created" } else { "stored" };
            let message = format!(
                "{resource_type}/{} {verb} as version {}",
                version.id, version.version_id
            );
            respond(
                builder,
                format,
                operation_outcome(&[Issue::information(message)]).to_string(),
            )
        }
    }
}
