//! `POST /fhir` with a `batch` or `transaction` Bundle
//! (http://hl7.org/fhir/R4/http.html#transaction).
//!
//! A transaction runs in one database transaction: ids are assigned and conditional
//! URLs resolved first, `urn:uuid:` fullUrls and conditional references are rewritten
//! into real references, then entries run in the spec's order (DELETE, POST,
//! PUT/PATCH, GET) and either all commit or, at the first failure, none does. A batch
//! runs each entry on its own and reports each outcome.

use std::collections::HashMap;
use std::str::FromStr;

use actix_web::http::StatusCode;
use actix_web::ResponseError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::auth::policy::check_entry;
use crate::auth::scopes::{Interaction, Scopes};
use crate::fhir::outcome::{operation_outcome, FhirError};
use crate::fhir::resource_type::ResourceType;
use crate::fhir::routes::{end_change, FhirContext};
use crate::fhir::search::params::{ParseOptions, SearchRequest};
use crate::fhir::search::search_bundle;
use crate::fhir::service::{VersionView, Written};
use crate::store::model::Tenant;
use crate::store::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Delete,
    Post,
    Put,
    Patch,
    Get,
}

impl FromStr for Method {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        Ok(match text {
            "DELETE" => Method::Delete,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "GET" | "HEAD" => Method::Get,
            _ => return Err(()),
        })
    }
}

impl Method {
    /// The interaction an entry performs, for the scope check.
    fn interaction(self, target: &Target) -> Interaction {
        match (self, &target.id, &target.version) {
            (Method::Delete, _, _) => Interaction::Delete,
            (Method::Post, _, _) => Interaction::Create,
            (Method::Put, _, _) => Interaction::Update,
            (Method::Patch, _, _) => Interaction::Patch,
            (Method::Get, Some(_), Some(_)) => Interaction::Vread,
            (Method::Get, Some(_), None) => Interaction::Read,
            (Method::Get, None, _) => Interaction::Search,
        }
    }

    /// PUT and PATCH run together, in entry order.
    fn phase(self) -> u8 {
        match self {
            Method::Delete => 0,
            Method::Post => 1,
            Method::Put | Method::Patch => 2,
            Method::Get => 3,
        }
    }
}

/// An entry's request target: `Type`, `Type/id`, `Type/id/_history/v`, or a type
/// with search criteria.
#[derive(Debug, Clone)]
struct Target {
    resource_type: ResourceType,
    id: Option<String>,
    version: Option<String>,
    query: Option<String>,
}

#[derive(Debug)]
struct EntryRequest {
    index: usize,
    method: Method,
    target: Target,
    full_url: Option<String>,
    resource: Option<Value>,
    if_none_exist: Option<String>,
    if_match: Option<i64>,
    /// The id a transaction decided this entry writes (minted or resolved).
    assigned_id: Option<String>,
}

/// One entry of the response Bundle.
struct EntryResponse {
    status: StatusCode,
    location: Option<String>,
    version: Option<VersionView>,
    resource: Option<Value>,
    outcome: Option<Value>,
}

/// Runs `bundle` for `tenant`: every entry reads and writes that tenant's resources,
/// and conditional URLs and references resolve among them only. Each entry must be
/// allowed by `scopes` as what it does: a transaction with one entry refused is
/// refused whole (403), a batch answers that entry 403 and runs the rest.
pub async fn process(
    ctx: &FhirContext,
    tenant: &Tenant,
    scopes: &Scopes,
    bundle: Value,
) -> Result<Value, FhirError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(FhirError::invalid_at(
            "invalid",
            "resourceType",
            "POST /fhir takes a Bundle",
        ));
    }
    let kind = bundle.get("type").and_then(Value::as_str).unwrap_or_default();
    let transaction = match kind {
        "transaction" => true,
        "batch" => false,
        other => {
            return Err(FhirError::invalid_at(
                "invalid",
                "Bundle.type",
                format!("Bundle.type must be batch or transaction, not {other:?}"),
            ))
        }
    };
    let entries = match bundle.get("entry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(_) => {
            return Err(FhirError::invalid_at(
                "structure",
                "Bundle.entry",
                "Bundle.entry must be an array",
            ))
        }
    };
    let parsed: Vec<Result<EntryRequest, FhirError>> = entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let request = parse_entry(index, entry, &ctx.base_url)?;
            let interaction = request.method.interaction(&request.target);
            check_entry(scopes, request.target.resource_type.as_str(), interaction)
                .map_err(|why| FhirError::Forbidden(format!("Bundle.entry[{index}]: {why}")))?;
            Ok(request)
        })
        .collect();
    if transaction {
        let requests = parsed.into_iter().collect::<Result<Vec<_>, _>>()?;
        run_transaction(ctx, tenant, requests).await
    } else {
        run_batch(ctx, tenant, parsed).await
    }
}

fn parse_entry(index: usize, mut entry: Value, base_url: &str) -> Result<EntryRequest, FhirError> {
    let at = |field: &str| format!("Bundle.entry[{index}].{field}");
    let resource = entry.as_object_mut().and_then(|e| e.remove("resource"));
    let request = entry
        .get("request")
        .ok_or_else(|| FhirError::invalid_at("required", at("request"), "each entry needs a request"))?;
    let text = |field: &str| request.get(field).and_then(Value::as_str).map(str::to_owned);
    let method: Method = text("method")
        .as_deref()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| {
            FhirError::invalid_at(
                "value",
                at("request.method"),
                "method must be GET, HEAD, POST, PUT, PATCH or DELETE",
            )
        })?;
    let url = text("url")
        .ok_or_else(|| FhirError::invalid_at("required", at("request.url"), "request.url is required"))?;
    let target = parse_target(&url, base_url).ok_or_else(|| {
        FhirError::invalid_at(
            "value",
            at("request.url"),
            format!("{url:?} is not a resource URL this server serves"),
        )
    })?;
    let if_match = text("ifMatch")
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"').parse::<i64>())
        .transpose()
        .map_err(|_| {
            FhirError::invalid_at("value", at("request.ifMatch"), "ifMatch is not a version ETag")
        })?;
    let needs_resource = matches!(method, Method::Post | Method::Put | Method::Patch);
    if needs_resource && resource.is_none() {
        return Err(FhirError::invalid_at(
            "required",
            at("resource"),
            format!("a {method:?} entry needs a resource"),
        ));
    }
    let shape_ok = match method {
        Method::Post => target.id.is_none() && target.query.is_none(),
        Method::Put => target.id.is_some() != target.query.is_some() && target.version.is_none(),
        Method::Patch => target.id.is_some() && target.version.is_none(),
        Method::Delete => target.id.is_some() != target.query.is_some() && target.version.is_none(),
        Method::Get => true,
    };
    if !shape_ok {
        return Err(FhirError::invalid_at(
            "value",
            at("request.url"),
            format!("{url:?} does not fit a {method:?}"),
        ));
    }
    Ok(EntryRequest {
        index,
        method,
        target,
        full_url: entry.get("fullUrl").and_then(Value::as_str).map(str::to_owned),
        resource,
        if_none_exist: text("ifNoneExist"),
        if_match,
        assigned_id: None,
    })
}

fn parse_target(url: &str, base_url: &str) -> Option<Target> {
    let relative = url
        .strip_prefix(base_url)
        .map_or(url, |r| r.trim_start_matches('/'));
    let (path, query) = match relative.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (relative, None),
    };
    let mut parts = path.split('/');
    let resource_type: ResourceType = parts.next()?.parse().ok()?;
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let version = match (parts.next(), parts.next()) {
        (Some("_history"), Some(v)) => Some(v.to_owned()),
        (None, None) => None,
        _ => return None,
    };
    if parts.next().is_some() || (id.is_some() && query.is_some()) {
        return None;
    }
    Some(Target {
        resource_type,
        id,
        version,
        query,
    })
}

async fn run_transaction(
    ctx: &FhirContext,
    tenant: &Tenant,
    mut requests: Vec<EntryRequest>,
) -> Result<Value, FhirError> {
    let mut session = ctx.service.begin(tenant).await?;
    let responses = match run_entries(ctx, &mut session, &mut requests).await {
        Ok(responses) => responses,
        Err(error) => {
            // Rolled back here rather than left to the pool: a connection returned
            // mid-transaction would keep its locks until it is recycled.
            let _ = session.rollback().await;
            return Err(error);
        }
    };
    session.commit().await?;
    Ok(response_bundle(
        "transaction-response",
        &ctx.base_url,
        responses
            .into_iter()
            .map(|r| r.expect("every entry ran"))
            .collect(),
    ))
}

async fn run_batch(
    ctx: &FhirContext,
    tenant: &Tenant,
    parsed: Vec<Result<EntryRequest, FhirError>>,
) -> Result<Value, FhirError> {
    let mut responses = Vec::with_capacity(parsed.len());
    // One session for the entries, checked out when first needed.
    let mut shared: Option<Session> = None;
    for entry in parsed {
        let outcome = match entry {
            Ok(mut request) if guarded(ctx, &request) => {
                // In a transaction of its own, which the guard's checks are part of;
                // the shared session's connection goes back to the pool first, so
                // that batches waiting for a second one cannot starve each other.
                shared = None;
                match ctx.service.begin(tenant).await {
                    Ok(mut own) => {
                        let outcome = match execute(ctx, &mut own, &mut request).await {
                            Ok(response) => {
                                let mut answered = [Some(response)];
                                after_entries(ctx, &mut own, std::slice::from_ref(&request), &mut answered)
                                    .await
                                    .map(|()| answered[0].take().expect("answered above"))
                            }
                            Err(error) => Err(error),
                        };
                        end_change(own, outcome).await
                    }
                    Err(error) => Err(error),
                }
            }
            Ok(mut request) => match shared {
                Some(ref mut session) => execute(ctx, session, &mut request).await,
                None => match ctx.service.session(tenant).await {
                    Ok(session) => execute(ctx, shared.insert(session), &mut request).await,
                    Err(error) => Err(error),
                },
            },
            Err(error) => Err(error),
        };
        responses.push(outcome.unwrap_or_else(|error| EntryResponse {
            status: error.status_code(),
            location: None,
            version: None,
            resource: None,
            outcome: Some(operation_outcome(&error.issues())),
        }));
    }
    Ok(response_bundle("batch-response", &ctx.base_url, responses))
}

/// Decides the id each write will have, resolving conditional create and update
/// against what is stored, and returns how each entry's fullUrl maps to its
/// `Type/id`.
async fn assign_ids(
    ctx: &FhirContext,
    session: &mut Session,
    requests: &mut [EntryRequest],
) -> Result<HashMap<String, String>, FhirError> {
    let mut references = HashMap::new();
    for request in requests.iter_mut() {
        let resource_type = request.target.resource_type;
        let id = match (request.method, &request.target.id, &request.target.query) {
            (Method::Post, _, _) => {
                let existing = match &request.if_none_exist {
                    Some(query) => ctx
                        .service
                        .single_match(session, resource_type, query)
                        .await
                        .map_err(|e| e.for_entry(request.index))?,
                    None => None,
                };
                Some(existing.unwrap_or_else(crate::fhir::new_id))
            }
            (Method::Put, Some(id), _) => Some(id.clone()),
            (Method::Put, None, Some(query)) => {
                let existing = ctx
                    .service
                    .single_match(session, resource_type, query)
                    .await
                    .map_err(|e| e.for_entry(request.index))?;
                let body_id = request
                    .resource
                    .as_ref()
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Some(existing.or(body_id).unwrap_or_else(crate::fhir::new_id))
            }
            _ => None,
        };
        if let (Some(id), Some(full_url)) = (&id, &request.full_url) {
            references.insert(full_url.clone(), format!("{resource_type}/{id}"));
        }
        request.assigned_id = id;
    }
    Ok(references)
}

/// Replaces references to other entries' fullUrls with their `Type/id`, and
/// conditional references (`Patient?identifier=…`) with the one resource they
/// match. `urn:uuid:`/`urn:oid:` fullUrls are replaced wherever they occur.
async fn rewrite_references(
    ctx: &FhirContext,
    session: &mut Session,
    resource: &mut Value,
    references: &HashMap<String, String>,
) -> Result<(), FhirError> {
    let mut conditional = Vec::new();
    replace_strings(resource, references, &mut conditional, false);
    if conditional.is_empty() {
        return Ok(());
    }
    let mut resolved = HashMap::new();
    for reference in conditional {
        let (type_name, query) = reference.split_once('?').expect("collected with a '?'");
        let resource_type: ResourceType = type_name.parse().map_err(|_| {
            FhirError::invalid(
                "invalid",
                format!("conditional reference {reference:?} names no stored type"),
            )
        })?;
        let id = ctx
            .service
            .single_match(session, resource_type, query)
            .await?
            .ok_or_else(|| {
                FhirError::PreconditionFailed(format!("conditional reference {reference:?} matches nothing"))
            })?;
        resolved.insert(reference, format!("{resource_type}/{id}"));
    }
    replace_strings(resource, &resolved, &mut Vec::new(), true);
    Ok(())
}

fn replace_strings(
    value: &mut Value,
    map: &HashMap<String, String>,
    conditional: &mut Vec<String>,
    in_reference: bool,
) {
    match value {
        Value::String(text) => {
            let urn = text.starts_with("urn:uuid:") || text.starts_with("urn:oid:");
            if in_reference || urn {
                if let Some(replacement) = map.get(text.as_str()) {
                    *text = replacement.clone();
                    return;
                }
            }
            let conditional_form = text
                .split_once('?')
                .is_some_and(|(type_name, _)| type_name.parse::<ResourceType>().is_ok());
            if in_reference && conditional_form {
                conditional.push(text.clone());
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_strings(v, map, conditional, false)),
        Value::Object(object) => {
            for (key, v) in object.iter_mut() {
                replace_strings(v, map, conditional, key == "reference");
            }
        }
        _ => {}
    }
}

/// Whether `request` changes a resource a change guard watches.
fn guarded(ctx: &FhirContext, request: &EntryRequest) -> bool {
    matches!(request.method, Method::Put | Method::Patch | Method::Delete)
        && ctx.change_guards.watch(request.target.resource_type)
}

/// Asks the change guards about an entry's update, patch or delete, in the
/// transaction it runs in.
async fn guard_entry(
    ctx: &FhirContext,
    session: &mut Session,
    request: &EntryRequest,
) -> Result<(), FhirError> {
    if !guarded(ctx, request) {
        return Ok(());
    }
    let (guards, resource_type) = (&ctx.change_guards, request.target.resource_type);
    match (&request.assigned_id, &request.target.id, &request.target.query) {
        (Some(id), _, _) | (None, Some(id), _) => guards.check(session, resource_type, id).await,
        (None, None, Some(query)) => {
            // A conditional update that matches nothing writes the body's id.
            let body_id = match request.method {
                Method::Put => request.resource.as_ref().and_then(|r| r["id"].as_str()),
                _ => None,
            };
            guards
                .check_matching(&ctx.service, session, resource_type, query, body_id)
                .await
        }
        (None, None, None) => Ok(()),
    }
}

/// Runs one entry, its change guards asked first.
async fn execute(
    ctx: &FhirContext,
    session: &mut Session,
    request: &mut EntryRequest,
) -> Result<EntryResponse, FhirError> {
    guard_entry(ctx, session, request).await?;
    execute_entry(ctx, session, request).await
}

/// Tells the change guards about the entries' updates and patches, once for each
/// resource and after every entry ran: what follows from a change (billing's
/// scrub of a Claim) then sees the transaction's other changes, and takes its
/// locks only once each entry's guard has taken its own. Each such entry then
/// answers with the version that ends up current.
async fn after_entries(
    ctx: &FhirContext,
    session: &mut Session,
    requests: &[EntryRequest],
    responses: &mut [Option<EntryResponse>],
) -> Result<(), FhirError> {
    let mut told: Vec<(ResourceType, String)> = Vec::new();
    for (request, response) in requests.iter().zip(responses.iter_mut()) {
        if !guarded(ctx, request) || request.method == Method::Delete {
            continue;
        }
        let Some(response) = response.as_mut() else {
            continue;
        };
        let Some(version) = response.version.as_mut() else {
            continue;
        };
        let resource_type = request.target.resource_type;
        let changed = (resource_type, version.id.clone());
        if !told.contains(&changed) {
            ctx.change_guards
                .after(&ctx.service, session, resource_type, &version.id)
                .await
                .map_err(|e| e.for_entry(request.index))?;
            told.push(changed);
        }
        *version = ctx
            .service
            .read(session, resource_type, &version.id)
            .await
            .map_err(|e| e.for_entry(request.index))?;
        response.location = Some(format!(
            "{resource_type}/{}/_history/{}",
            version.id, version.version_id
        ));
    }
    Ok(())
}

async fn execute_entry(
    ctx: &FhirContext,
    session: &mut Session,
    request: &mut EntryRequest,
) -> Result<EntryResponse, FhirError> {
    let service = &ctx.service;
    let resource_type = request.target.resource_type;
    let written = |written: Written| EntryResponse {
        status: if written.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        location: Some(format!(
            "{resource_type}/{}/_history/{}",
            written.version.id, written.version.version_id
        )),
        version: Some(written.version),
        resource: None,
        outcome: None,
    };
    let no_content = || EntryResponse {
        status: StatusCode::NO_CONTENT,
        location: None,
        version: None,
        resource: None,
        outcome: None,
    };
    match request.method {
        Method::Post => {
            let resource = request.resource.take().expect("checked when parsed");
            let id = request.assigned_id.clone().unwrap_or_else(crate::fhir::new_id);
            let result = service
                .create_with_id(
                    session,
                    resource_type,
                    resource,
                    request.if_none_exist.as_deref(),
                    &id,
                )
                .await?;
            Ok(written(result))
        }
        Method::Put => {
            let mut resource = request.resource.take().expect("checked when parsed");
            match (&request.assigned_id, &request.target.query) {
                (Some(id), Some(_)) => {
                    if let Some(object) = resource.as_object_mut() {
                        object.entry("id").or_insert_with(|| Value::String(id.clone()));
                    }
                    Ok(written(
                        service.update(session, resource_type, id, resource, None).await?,
                    ))
                }
                (_, Some(query)) => Ok(written(
                    service
                        .conditional_update(session, resource_type, query, resource)
                        .await?,
                )),
                _ => {
                    let id = request.target.id.clone().expect("checked when parsed");
                    Ok(written(
                        service
                            .update(session, resource_type, &id, resource, request.if_match)
                            .await?,
                    ))
                }
            }
        }
        Method::Patch => {
            let id = request.target.id.clone().expect("checked when parsed");
            let patch = json_patch_of(request.resource.take().expect("checked when parsed"))?;
            Ok(written(
                service
                    .patch(session, resource_type, &id, patch, request.if_match)
                    .await?,
            ))
        }
        Method::Delete => {
            match (&request.target.id, &request.target.query) {
                (Some(id), _) => service.delete(session, resource_type, id).await?,
                (None, Some(query)) => service.conditional_delete(session, resource_type, query).await?,
                _ => unreachable!("checked when parsed"),
            }
            Ok(no_content())
        }
        Method::Get => {
            let resource = match (&request.target.id, &request.target.version) {
                (Some(id), Some(version)) => {
                    body_of(service.vread(session, resource_type, id, version).await?)?
                }
                (Some(id), None) => body_of(service.read(session, resource_type, id).await?)?,
                (None, _) => {
                    let query = request.target.query.as_deref().unwrap_or_default();
                    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect();
                    let options = ParseOptions {
                        base_url: &ctx.base_url,
                        max_count: ctx.search_max_count,
                        lenient: false,
                    };
                    let search = SearchRequest::parse(resource_type, &pairs, options)?;
                    let self_url = format!("{}/{resource_type}", ctx.base_url);
                    let bundle = search_bundle(session, &search, &ctx.base_url, &self_url).await?;
                    serde_json::from_str(&bundle).map_err(|e| FhirError::Internal(e.to_string()))?
                }
            };
            Ok(EntryResponse {
                status: StatusCode::OK,
                location: None,
                version: None,
                resource: Some(resource),
                outcome: None,
            })
        }
    }
}

fn body_of(version: VersionView) -> Result<Value, FhirError> {
    serde_json::from_str(&version.body)
        .map_err(|e| FhirError::Internal(format!("stored resource is not JSON: {e}")))
}

/// A PATCH entry carries its JSON Patch as a Binary (`contentType`
/// application/json-patch+json, base64 `data`).
fn json_patch_of(resource: Value) -> Result<Value, FhirError> {
    let is_binary = resource.get("resourceType").and_then(Value::as_str) == Some("Binary");
    let content_type = resource
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !is_binary || !content_type.starts_with("application/json-patch+json") {
        return Err(FhirError::UnsupportedMediaType(
            "a PATCH entry takes a Binary of application/json-patch+json; FHIRPath Patch is not supported"
                .into(),
        ));
    }
    let data = resource.get("data").and_then(Value::as_str).unwrap_or_default();
    let bytes = STANDARD
        .decode(data)
        .map_err(|_| FhirError::invalid_at("value", "Binary.data", "Binary.data is not base64"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| FhirError::invalid_at("value", "Binary.data", format!("not a JSON Patch: {e}")))
}

fn response_bundle(kind: &str, base_url: &str, responses: Vec<EntryResponse>) -> Value {
    let entries: Vec<Value> = responses
        .into_iter()
        .map(|r| {
            let mut response = Map::new();
            let status = format!(
                "{} {}",
                r.status.as_u16(),
                r.status.canonical_reason().unwrap_or_default()
            );
            response.insert("status".into(), Value::String(status));
            if let Some(location) = &r.location {
                response.insert("location".into(), Value::String(location.clone()));
            }
            if let Some(version) = &r.version {
                response.insert(
                    "etag".into(),
                    Value::String(format!("W/\"{}\"", version.version_id)),
                );
                response.insert(
                    "lastModified".into(),
                    Value::String(crate::fhir::instant(version.last_updated)),
                );
            }
            if let Some(outcome) = r.outcome {
                response.insert("outcome".into(), outcome);
            }
            let mut entry = Map::new();
            if let (Some(location), Some(_)) = (&r.location, &r.version) {
                let without_version = location.split("/_history/").next().unwrap_or(location);
                entry.insert(
                    "fullUrl".into(),
                    Value::String(format!("{base_url}/{without_version}")),
                );
            }
            if let Some(resource) = r.resource {
                entry.insert("resource".into(), resource);
            }
            entry.insert("response".into(), Value::Object(response));
            Value::Object(entry)
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": kind,
        "entry": entries,
    })
}

/// Runs a transaction's entries in the spec's order; the first failure stops it.
async fn run_entries(
    ctx: &FhirContext,
    session: &mut Session,
    requests: &mut [EntryRequest],
) -> Result<Vec<Option<EntryResponse>>, FhirError> {
    let references = assign_ids(ctx, session, requests).await?;
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| (requests[i].method.phase(), i));
    let mut responses: Vec<Option<EntryResponse>> = (0..requests.len()).map(|_| None).collect();
    let mut changes_told = false;
    for i in order {
        if requests[i].method == Method::Get && !changes_told {
            // Reads come last and see what followed the changes.
            after_entries(ctx, session, requests, &mut responses).await?;
            changes_told = true;
        }
        let request = &mut requests[i];
        // Conditional references resolve when their entry runs, so they can match
        // what earlier entries of the same transaction created.
        if let Some(resource) = &mut request.resource {
            rewrite_references(ctx, session, resource, &references)
                .await
                .map_err(|e| e.for_entry(request.index))?;
        }
        let response = execute(ctx, session, request)
            .await
            .map_err(|e| e.for_entry(request.index))?;
        responses[i] = Some(response);
    }
    if !changes_told {
        after_entries(ctx, session, requests, &mut responses).await?;
    }
    Ok(responses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_every_url_form() {
        let base = "http://cb.example/fhir";
        let t = parse_target("Patient", base).unwrap();
        assert!(t.id.is_none() && t.query.is_none());
        let t = parse_target("http://cb.example/fhir/Patient/1/_history/2", base).unwrap();
        assert_eq!((t.id.as_deref(), t.version.as_deref()), (Some("1"), Some("2")));
        let t = parse_target("Patient?identifier=a|b", base).unwrap();
        assert_eq!(t.query.as_deref(), Some("identifier=a|b"));
        assert!(parse_target("Observation/1", base).is_none());
        assert!(parse_target("Patient/1/extra", base).is_none());
    }

    #[test]
    fn urn_references_are_replaced_everywhere_and_conditionals_collected() {
        let mut resource = json!({
            "subject": {"reference": "urn:uuid:1"},
            "extension": [{"valueUri": "urn:uuid:1"}],
            "insurer": {"reference": "Organization?identifier=x|y"},
            "text": {"div": "urn:uuid:1 in prose stays"}
        });
        let map = HashMap::from([("urn:uuid:1".to_owned(), "Patient/abc".to_owned())]);
        let mut conditional = Vec::new();
        replace_strings(&mut resource, &map, &mut conditional, false);
        assert_eq!(resource["subject"]["reference"], "Patient/abc");
        assert_eq!(resource["extension"][0]["valueUri"], "Patient/abc");
        assert_eq!(conditional, ["Organization?identifier=x|y"]);
    }

    #[test]
    fn methods_order_as_the_spec_says() {
        let mut methods = [
            Method::Get,
            Method::Put,
            Method::Post,
            Method::Delete,
            Method::Patch,
        ];
        methods.sort_by_key(|m| m.phase());
        assert_eq!(methods[0], Method::Delete);
        assert_eq!(methods[1], Method::Post);
        assert_eq!(methods[4], Method::Get);
    }
}
