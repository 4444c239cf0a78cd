//! FHIR interactions over the store: what create, read, update, patch, delete,
//! history and validate mean, independent of HTTP.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::fhir::conditional::{matching_ids, CriteriaAuthor};
use crate::fhir::outcome::{FhirError, Issue};
use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::extract;
use crate::fhir::validation;
use crate::store::messages::NewMessage;
use crate::store::model::{
    CurrentResource, FoundResource, HistoryEntry, HistoryQuery, NewVersion, RenderedVersion, Tenant,
    WriteMethod, WriteRequest,
};
use crate::store::{Lookup, Session, Store, StoreError};

/// A version of a resource as the client sees it.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub id: String,
    pub version_id: i64,
    pub last_updated: chrono::DateTime<chrono::Utc>,
    pub body: String,
}

/// The result of a write.
#[derive(Debug, Clone)]
pub struct Written {
    pub version: VersionView,
    /// True when a new resource came into being (201), false for an update or a
    /// conditional create that matched an existing resource (200).
    pub created: bool,
}

pub struct ResourceService {
    store: Store,
    /// `{public url}/fhir`: absolute references under it are indexed as local ones.
    base_url: String,
}

impl ResourceService {
    pub fn new(store: Store, base_url: String) -> Self {
        ResourceService { store, base_url }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The most connections the service's pool opens.
    pub fn max_connections(&self) -> usize {
        self.store.max_connections()
    }

    /// A connection for one request's interactions, on `tenant`'s resources only:
    /// every interaction below acts for the tenant of the session it is given.
    pub async fn session(&self, tenant: &Tenant) -> Result<Session, FhirError> {
        Ok(self.store.session_in(tenant).await?)
    }

    /// A session inside one database transaction (transaction Bundles), on
    /// `tenant`'s resources.
    pub async fn begin(&self, tenant: &Tenant) -> Result<Session, FhirError> {
        Ok(self.store.begin_in(tenant).await?)
    }

    /// A transaction begun together with recording an HL7 message and looking up
    /// its keys (see `Store::begin_recording`), on `tenant`'s resources.
    pub async fn begin_recording(
        &self,
        tenant: &Tenant,
        message: Option<&NewMessage>,
        lookups: &[Lookup],
    ) -> Result<(Session, Option<i64>, Vec<Vec<FoundResource>>), FhirError> {
        Ok(self.store.begin_recording(tenant, message, lookups).await?)
    }

    pub async fn read(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<VersionView, FhirError> {
        let current = session.read_current(resource_type.as_str(), id).await?;
        current_view(resource_type, id, current)
    }

    /// `read` outside any transaction, from the read cache when it holds the
    /// current version (`GET /fhir/{type}/{id}`): no session is taken then.
    pub async fn read_cached(
        &self,
        tenant: &Tenant,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<VersionView, FhirError> {
        let current = self
            .store
            .read_current_cached(tenant, resource_type.as_str(), id)
            .await?;
        current_view(resource_type, id, current)
    }

    /// `vread` outside any transaction: the current version from the read cache
    /// when it is the one asked for (versions never change), else the database.
    pub async fn vread_cached(
        &self,
        tenant: &Tenant,
        resource_type: ResourceType,
        id: &str,
        version: &str,
    ) -> Result<VersionView, FhirError> {
        if let Some(current) = self
            .store
            .cached_current(tenant, resource_type.as_str(), id)
            .await
        {
            if version.parse() == Ok(current.version_id) {
                if current.deleted {
                    return Err(deletion_version(resource_type, id, current.version_id));
                }
                return current_view(resource_type, id, Some(current));
            }
        }
        let mut session = self.session(tenant).await?;
        self.vread(&mut session, resource_type, id, version).await
    }

    pub async fn vread(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
        version: &str,
    ) -> Result<VersionView, FhirError> {
        let version_id: i64 = version
            .parse()
            .map_err(|_| FhirError::NotFound(format!("{resource_type}/{id} has no version {version:?}")))?;
        let entry = session
            .read_version(resource_type.as_str(), id, version_id)
            .await?
            .ok_or_else(|| {
                FhirError::NotFound(format!("{resource_type}/{id} has no version {version_id}"))
            })?;
        match entry.body {
            None => Err(deletion_version(resource_type, id, version_id)),
            Some(body) => Ok(VersionView {
                id: entry.id,
                version_id,
                last_updated: entry.last_updated,
                body,
            }),
        }
    }

    /// Create with a server-assigned id. With `if_none_exist` criteria, an existing
    /// single match is returned instead and nothing is written.
    pub async fn create(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        resource: Value,
        if_none_exist: Option<&str>,
    ) -> Result<Written, FhirError> {
        let id = crate::fhir::new_id();
        self.create_with_id(session, resource_type, resource, if_none_exist, &id)
            .await
    }

    /// Create with an id the caller minted (a transaction assigns ids up front so
    /// that entries can refer to each other).
    pub async fn create_with_id(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        resource: Value,
        if_none_exist: Option<&str>,
        id: &str,
    ) -> Result<Written, FhirError> {
        let resource = prepare_for_write(resource_type, resource, None, validation::validate_resource)?;
        if let Some(query) = if_none_exist {
            if let Some(existing) = self.single_match(session, resource_type, query).await? {
                return Ok(Written {
                    version: self.read(session, resource_type, &existing).await?,
                    created: false,
                });
            }
        }
        self.write(session, resource_type, id, WriteMethod::Create, None, resource)
            .await
    }

    /// Create, under an id the caller minted, of a resource the server built itself
    /// from input it checked (an HL7 message's map, a claim intake): validated as
    /// `validation::validate_built` says.
    pub async fn create_built(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        resource: Value,
        id: &str,
    ) -> Result<Written, FhirError> {
        let resource = prepare_for_write(resource_type, resource, None, validation::validate_built)?;
        self.write(session, resource_type, id, WriteMethod::Create, None, resource)
            .await
    }

    /// The one resource matching a client's conditional criteria, none, or 412 for
    /// several.
    pub async fn single_match(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        query: &str,
    ) -> Result<Option<String>, FhirError> {
        self.single_match_by(session, resource_type, query, CriteriaAuthor::Client)
            .await
    }

    pub async fn single_match_by(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        query: &str,
        author: CriteriaAuthor,
    ) -> Result<Option<String>, FhirError> {
        let mut ids = matching_ids(session, resource_type, query, &self.base_url, author).await?;
        match ids.len() {
            0 | 1 => Ok(ids.pop()),
            _ => Err(multiple_matches(resource_type, query)),
        }
    }

    /// Update, or create with the client's id when the resource does not exist yet.
    pub async fn update(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
        resource: Value,
        if_match: Option<i64>,
    ) -> Result<Written, FhirError> {
        check_id(id)?;
        let resource = prepare_for_write(resource_type, resource, Some(id), validation::validate_resource)?;
        self.write(
            session,
            resource_type,
            id,
            WriteMethod::Update,
            if_match,
            resource,
        )
        .await
    }

    /// Update of a resource the server built itself (see `create_built`).
    pub async fn update_built(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
        resource: Value,
    ) -> Result<Written, FhirError> {
        check_id(id)?;
        let resource = prepare_for_write(resource_type, resource, Some(id), validation::validate_built)?;
        self.write(session, resource_type, id, WriteMethod::Update, None, resource)
            .await
    }

    /// Update of the single resource matching `query`; creates when none matches.
    pub async fn conditional_update(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        query: &str,
        resource: Value,
    ) -> Result<Written, FhirError> {
        let body_id = resource.get("id").and_then(Value::as_str).map(str::to_owned);
        let id = match self.single_match(session, resource_type, query).await? {
            None => body_id.unwrap_or_else(crate::fhir::new_id),
            Some(existing) => match body_id {
                Some(body_id) if body_id != existing => {
                    return Err(FhirError::invalid_at(
                        "invalid",
                        format!("{resource_type}.id"),
                        format!(
                            "the body's id {body_id:?} is not the id of the matching resource {existing:?}"
                        ),
                    ))
                }
                _ => existing,
            },
        };
        check_id(&id)?;
        let mut resource = resource;
        if let Some(object) = resource.as_object_mut() {
            object.insert("id".into(), Value::String(id.clone()));
        }
        let resource = prepare_for_write(resource_type, resource, Some(&id), validation::validate_resource)?;
        self.write(session, resource_type, &id, WriteMethod::Update, None, resource)
            .await
    }

    /// Applies a JSON Patch (RFC 6902) to the current version and stores the result
    /// as a new version, validated like any update.
    pub async fn patch(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
        patch: Value,
        if_match: Option<i64>,
    ) -> Result<Written, FhirError> {
        let patch: json_patch::Patch = serde_json::from_value(patch)
            .map_err(|e| FhirError::invalid("invalid", format!("not a JSON Patch document: {e}")))?;
        let current = self.read(session, resource_type, id).await?;
        let mut resource: Value = serde_json::from_str(&current.body)
            .map_err(|e| FhirError::Internal(format!("stored {resource_type}/{id} is not JSON: {e}")))?;
        json_patch::patch(&mut resource, &patch).map_err(|e| {
            FhirError::Unprocessable(vec![Issue::error("processing", format!("patch failed: {e}"))])
        })?;
        let resource = prepare_for_write(resource_type, resource, Some(id), validation::validate_resource)?;
        // The patch was computed from `current`: write only if nobody changed it since.
        let expected = if_match.unwrap_or(current.version_id);
        self.write(
            session,
            resource_type,
            id,
            WriteMethod::Patch,
            Some(expected),
            resource,
        )
        .await
    }

    /// Logical delete: reads then answer 410, history keeps every version.
    pub async fn delete(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<(), FhirError> {
        let request = WriteRequest {
            res_type: resource_type.as_str(),
            id,
            method: WriteMethod::Delete,
            if_match: None,
        };
        match session.write(request, &|_| RenderedVersion::default()).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(not_found(resource_type, id)),
            Err(other) => Err(other.into()),
        }
    }

    /// Conditional delete: deletes the one resource matching `query`; no match is
    /// not an error, several are (412).
    pub async fn conditional_delete(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        query: &str,
    ) -> Result<(), FhirError> {
        match self.single_match(session, resource_type, query).await? {
            Some(id) => self.delete(session, resource_type, &id).await,
            None => Ok(()),
        }
    }

    pub async fn history(
        &self,
        session: &mut Session,
        query: HistoryQuery<'_>,
    ) -> Result<Vec<HistoryEntry>, FhirError> {
        if let crate::store::model::HistoryScope::Instance(res_type, id) = query.scope {
            if session.read_current(res_type, id).await?.is_none() {
                return Err(FhirError::NotFound(format!("{res_type}/{id} not found")));
            }
        }
        Ok(session.history(query).await?)
    }

    /// Every problem with `resource` as a `resource_type` (and, given, against
    /// `profile`). For `$validate` on an instance, `id` must match the body's id.
    pub fn validate(
        &self,
        resource_type: ResourceType,
        resource: &Value,
        id: Option<&str>,
        profile: Option<&str>,
    ) -> Result<Vec<Issue>, FhirError> {
        let mut issues = match check_identity(resource_type, resource, id) {
            Err(FhirError::Invalid(issues)) => return Ok(issues),
            Err(other) => return Err(other),
            Ok(()) => validation::validate_resource(resource_type, resource),
        };
        if let Some(profile) = profile {
            issues.extend(validation::validate_profile(resource_type, profile, resource)?);
        }
        Ok(issues)
    }

    async fn write(
        &self,
        session: &mut Session,
        resource_type: ResourceType,
        id: &str,
        method: WriteMethod,
        if_match: Option<i64>,
        resource: Map<String, Value>,
    ) -> Result<Written, FhirError> {
        let request = WriteRequest {
            res_type: resource_type.as_str(),
            id,
            method,
            if_match,
        };
        let base_url = &self.base_url;
        let outcome = session
            .write(request, &|version| {
                render_version(resource_type, &resource, id, version, base_url)
            })
            .await
            .map_err(|error| match error {
                StoreError::IdTaken => id_taken(resource_type, id),
                other => other.into(),
            })?;
        Ok(Written {
            version: VersionView {
                id: id.to_owned(),
                version_id: outcome.version_id,
                last_updated: outcome.last_updated,
                body: outcome.body.unwrap_or_default(),
            },
            created: outcome.created,
        })
    }
}

/// What a read answers for a resource's current row (or its absence).
fn current_view(
    resource_type: ResourceType,
    id: &str,
    current: Option<CurrentResource>,
) -> Result<VersionView, FhirError> {
    match current {
        None => Err(not_found(resource_type, id)),
        Some(current) if current.deleted => Err(FhirError::Gone(format!("{resource_type}/{id} was deleted"))),
        Some(CurrentResource {
            version_id,
            last_updated,
            body,
            ..
        }) => Ok(VersionView {
            id: id.to_owned(),
            version_id,
            last_updated,
            body,
        }),
    }
}

fn deletion_version(resource_type: ResourceType, id: &str, version_id: i64) -> FhirError {
    FhirError::Gone(format!(
        "version {version_id} of {resource_type}/{id} is a deletion"
    ))
}

fn not_found(resource_type: ResourceType, id: &str) -> FhirError {
    FhirError::NotFound(format!("{resource_type}/{id} not found"))
}

/// Ids are one pool for every tenant: an update creating `id` that another
/// tenant's resource has is refused, saying no more than that the id is taken.
fn id_taken(resource_type: ResourceType, id: &str) -> FhirError {
    FhirError::Conflict(format!(
        "{resource_type}/{id} cannot be created with this id: it is in use; \
         choose another id or let the server assign one (POST)"
    ))
}

fn multiple_matches(resource_type: ResourceType, query: &str) -> FhirError {
    FhirError::PreconditionFailed(format!("more than one {resource_type} matches {query:?}"))
}

/// FHIR ids: 1–64 of `A-Z a-z 0-9 - .`
fn check_id(id: &str) -> Result<(), FhirError> {
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(FhirError::invalid_at(
            "value",
            "id",
            format!("{id:?} is not a valid FHIR id"),
        ))
    }
}

/// The body is an object of the URL's type and, when the URL names an id, carries it.
fn check_identity(
    resource_type: ResourceType,
    resource: &Value,
    url_id: Option<&str>,
) -> Result<(), FhirError> {
    let object = resource.as_object().ok_or_else(|| {
        FhirError::invalid("structure", "the body must be a JSON object holding a resource")
    })?;
    match object.get("resourceType").and_then(Value::as_str) {
        Some(found) if found == resource_type.as_str() => {}
        Some(found) => {
            return Err(FhirError::invalid_at(
                "invalid",
                "resourceType",
                format!("resourceType is {found:?} but the URL is for {resource_type}"),
            ))
        }
        None => {
            return Err(FhirError::invalid_at(
                "required",
                "resourceType",
                "the body has no resourceType",
            ))
        }
    }
    if let Some(url_id) = url_id {
        match object.get("id").and_then(Value::as_str) {
            Some(body_id) if body_id == url_id => {}
            Some(body_id) => {
                return Err(FhirError::invalid_at(
                    "invalid",
                    format!("{resource_type}.id"),
                    format!("the body's id {body_id:?} does not match the URL's id {url_id:?}"),
                ))
            }
            None => {
                return Err(FhirError::invalid_at(
                    "required",
                    format!("{resource_type}.id"),
                    "an update must carry the resource id in the body",
                ))
            }
        }
    }
    Ok(())
}

/// Checks a body for a write and returns it as a JSON object: right type, matching
/// id, valid against the R4 schema and fhirbolt's model.
fn prepare_for_write(
    resource_type: ResourceType,
    resource: Value,
    url_id: Option<&str>,
    validate: fn(ResourceType, &Value) -> Vec<Issue>,
) -> Result<Map<String, Value>, FhirError> {
    check_identity(resource_type, &resource, url_id)?;
    let issues = validate(resource_type, &resource);
    if !issues.is_empty() {
        return Err(FhirError::Invalid(issues));
    }
    match resource {
        Value::Object(object) => Ok(object),
        _ => unreachable!("check_identity accepted only objects"),
    }
}

/// The stored form of a version: `resourceType`, `id` and `meta` first, with the
/// server's versionId and lastUpdated; everything else as the client sent it.
fn render_version(
    resource_type: ResourceType,
    resource: &Map<String, Value>,
    id: &str,
    version: NewVersion,
    base_url: &str,
) -> RenderedVersion {
    let mut meta = match resource.get("meta") {
        Some(Value::Object(meta)) => meta.clone(),
        _ => Map::new(),
    };
    meta.insert("versionId".into(), Value::String(version.version_id.to_string()));
    meta.insert(
        "lastUpdated".into(),
        Value::String(crate::fhir::instant(version.last_updated)),
    );
    let body =
        serde_json::to_string(&StoredForm { resource, id, meta }).expect("JSON values always serialize");
    RenderedVersion {
        index: extract::extract(resource_type, resource, base_url),
        body,
    }
}

/// Serializes a resource in its stored form without copying it.
struct StoredForm<'a> {
    resource: &'a Map<String, Value>,
    id: &'a str,
    meta: Map<String, Value>,
}

impl Serialize for StoredForm<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("resourceType", &self.resource["resourceType"])?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("meta", &self.meta)?;
        for (key, value) in self.resource {
            if !matches!(key.as_str(), "resourceType" | "id" | "meta") {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}
