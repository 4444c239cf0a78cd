//! HL7 v2 messages to FHIR resources, after the HL7 v2-to-FHIR implementation
//! guide's message and segment maps. Every change of one message is made in the
//! caller's transaction, so a message is applied whole or not at all.

mod adt;
pub mod datatypes;
mod dft;

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::Value;

use crate::fhir::conditional::{criteria_query, CriteriaAuthor};
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::hl7::ack::{ErrorCode, ErrorLocation, Problem};
use crate::hl7::message::{Header, Parsed};
use crate::store::model::FoundResource;
use crate::store::{Lookup, Session};

pub use datatypes::AuthoritySystems;

/// Why a message was not applied.
#[derive(Debug)]
pub enum MappingError {
    /// The message type or event is not one this server maps.
    Unsupported(Problem),
    /// The message's content cannot be applied (AE): missing or malformed data.
    Invalid(Problem),
    /// The store failed (AE with an internal-error code; the sender may resend).
    Fhir(FhirError),
}

impl From<FhirError> for MappingError {
    fn from(error: FhirError) -> Self {
        MappingError::Fhir(error)
    }
}

/// What a message mapping needs: the FHIR service, the open transaction, settings.
pub struct MappingContext<'a> {
    pub fhir: &'a ResourceService,
    pub session: &'a mut Session,
    pub systems: &'a AuthoritySystems,
    /// Today in the practice's time zone: the day new claims are dated.
    pub today: NaiveDate,
    /// Parts of the message that were not used, reported in the ACK (ERR, severity W).
    pub warnings: Vec<Problem>,
    /// What the message's key lookups found, made before mapping (see `lookups`),
    /// by `{type}?{criteria}`; each is used once, and dropped when a resource of
    /// its type is written first.
    prefetched: HashMap<String, Prefetched>,
    /// Resources this message created, by the criteria they were created under.
    created: HashMap<String, String>,
    /// Ids minted by this message and not yet referred to by anything stored before
    /// it: nobody else knows them, so only what this message made can refer to them.
    fresh: HashSet<String>,
    /// Every resource this message created or changed (`Type/id`), for the audit
    /// trail.
    pub written: Vec<String>,
}

/// What one of the message's key lookups found.
struct Prefetched {
    found: Vec<FoundResource>,
    /// Whether the key's lock was taken before the lookup (see `upsert`).
    locked: bool,
}

impl<'a> MappingContext<'a> {
    pub fn new(
        fhir: &'a ResourceService,
        session: &'a mut Session,
        systems: &'a AuthoritySystems,
        today: NaiveDate,
    ) -> Self {
        MappingContext {
            fhir,
            session,
            systems,
            today,
            warnings: Vec::new(),
            prefetched: HashMap::new(),
            created: HashMap::new(),
            fresh: HashSet::new(),
            written: Vec::new(),
        }
    }

    /// Hands the results of `lookups` (found in the same order) to the mapping.
    pub fn use_lookups(&mut self, lookups: &[MessageLookup], found: Vec<Vec<FoundResource>>) {
        for (lookup, found) in lookups.iter().zip(found) {
            let prefetched = Prefetched {
                found,
                locked: lookup.lookup.lock.is_some(),
            };
            self.prefetched.insert(lookup.key.clone(), prefetched);
        }
    }
}

/// A lookup of one of a message's keys (its patient, visit, payers), made before the
/// message is applied, together with the others in one round trip.
pub struct MessageLookup {
    key: String,
    pub lookup: Lookup,
}

/// The keys `message` will look up when applied: the patient (PID-3) and visit
/// (PV1-19), each after taking its lock — a message about a patient waits for
/// another one being applied about the same patient — and the payers (IN1-3/4),
/// without: most exist, and every admission names one of a few, so locking them
/// would make the connections take turns. Criteria the search parser refuses are
/// left to the mapping, which looks them up itself.
pub fn lookups(
    fhir: &ResourceService,
    header: &Header,
    message: &Parsed<'_>,
    systems: &AuthoritySystems,
) -> Vec<MessageLookup> {
    let mut keys = Vec::new();
    let mapped = matches!(
        (header.message_type.as_str(), header.trigger_event.as_str()),
        ("ADT", "A01" | "A04" | "A05" | "A08" | "A03" | "A11") | ("DFT", "P03")
    );
    if !mapped {
        return Vec::new();
    }
    if let Some(query) = message
        .segment("PID")
        .and_then(|pid| adt::patient_key(&pid, systems))
    {
        keys.push((ResourceType::Patient, query, true));
    }
    if let Some(query) = message
        .segment("PV1")
        .and_then(|pv1| adt::visit_key(&pv1, systems))
    {
        keys.push((ResourceType::Encounter, query, true));
    }
    for in1 in message.segments("IN1") {
        if let Some(query) = adt::payer_key(&in1, systems) {
            keys.push((ResourceType::Organization, query, false));
        }
    }
    let mut lookups: Vec<MessageLookup> = Vec::with_capacity(keys.len());
    for (resource_type, query, lock) in keys {
        let key = format!("{resource_type}?{query}");
        // Two IN1 of one payer: the second looks again, after the first's write.
        if lookups.iter().any(|l| l.key == key) {
            continue;
        }
        let Ok(search) = criteria_query(resource_type, &query, fhir.base_url(), 2, CriteriaAuthor::Server)
        else {
            continue;
        };
        lookups.push(MessageLookup {
            lookup: Lookup {
                query: search,
                lock: lock.then(|| key.clone()),
            },
            key,
        });
    }
    lookups
}

/// Applies `message` to the FHIR store within the context's transaction.
pub async fn apply(
    context: &mut MappingContext<'_>,
    header: &Header,
    message: &Parsed<'_>,
) -> Result<(), MappingError> {
    match (header.message_type.as_str(), header.trigger_event.as_str()) {
        ("ADT", event @ ("A01" | "A04" | "A05" | "A08" | "A03" | "A11")) => {
            adt::admit_or_update(context, event, message).await
        }
        ("ADT", "A40") => adt::merge_patients(context, message).await,
        ("ADT", event) => Err(unsupported_event("ADT", event)),
        ("DFT", "P03") => dft::post_charges(context, message).await,
        ("DFT", event) => Err(unsupported_event("DFT", event)),
        (other, _) => Err(MappingError::Unsupported(Problem::new(
            ErrorCode::UnsupportedMessageType,
            Some(ErrorLocation::component("MSH", 1, 9, 1)),
            format!("message type {other:?} is not mapped"),
        ))),
    }
}

fn unsupported_event(message_type: &str, event: &str) -> MappingError {
    MappingError::Unsupported(Problem::new(
        ErrorCode::UnsupportedEvent,
        Some(ErrorLocation::component("MSH", 1, 9, 2)),
        format!("event {message_type}^{event} is not mapped"),
    ))
}

/// A required field is empty.
fn missing(segment: &'static str, field: usize, what: &str) -> MappingError {
    MappingError::Invalid(Problem::new(
        ErrorCode::RequiredFieldMissing,
        Some(ErrorLocation::field(segment, 1, field)),
        format!("{segment}-{field} ({what}) is empty"),
    ))
}

/// Finds the one resource matching `query` (or none), lets `build` derive the new
/// body from the current one, and writes it under the found or a fresh id.
async fn upsert(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    query: &str,
    build: impl FnOnce(Option<Value>) -> Value,
) -> Result<String, MappingError> {
    upsert_keyed(context, resource_type, query, false, build).await
}

/// `upsert`; with `made_here_only`, the criteria name a resource this message
/// created (see `MappingContext::fresh`), so nothing stored before can match and the
/// database is not asked.
async fn upsert_keyed(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    query: &str,
    made_here_only: bool,
    build: impl FnOnce(Option<Value>) -> Value,
) -> Result<String, MappingError> {
    let key = format!("{resource_type}?{query}");
    let existing = if made_here_only {
        context.created.get(&key).cloned().map(Current::Unread)
    } else {
        find_for_upsert(context, resource_type, query, &key).await?
    };
    let creating = existing.is_none();
    let id = write_current(context, resource_type, existing, build).await?;
    if creating {
        context.created.insert(key, id.clone());
    }
    Ok(id)
}

/// The resource an upsert writes over: from the message's lookups when they looked
/// for `key`, else searched for.
async fn find_for_upsert(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    query: &str,
    key: &str,
) -> Result<Option<Current>, MappingError> {
    let (found, locked) = match context.prefetched.remove(key) {
        Some(prefetched) => (prefetched.found, prefetched.locked),
        None => {
            let search = criteria_query(
                resource_type,
                query,
                context.fhir.base_url(),
                2,
                CriteriaAuthor::Server,
            )?;
            (
                context.session.search(&search).await.map_err(FhirError::from)?,
                false,
            )
        }
    };
    if let Some(found) = single(found, resource_type, query)? {
        return Ok(Some(Current::Found(found)));
    }
    if locked {
        return Ok(None);
    }
    // A message on another connection may be creating the same payer or patient
    // right now: take turns on the key and look again before creating it.
    context.session.lock_before_next_search(key);
    let search = criteria_query(
        resource_type,
        query,
        context.fhir.base_url(),
        2,
        CriteriaAuthor::Server,
    )?;
    let found = context.session.search(&search).await.map_err(FhirError::from)?;
    Ok(single(found, resource_type, query)?.map(Current::Found))
}

/// The one match, none, or an error for several (as `single_match_by` answers).
fn single(
    mut found: Vec<FoundResource>,
    resource_type: ResourceType,
    query: &str,
) -> Result<Option<FoundResource>, FhirError> {
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(FhirError::PreconditionFailed(format!(
            "more than one {resource_type} matches {query:?}"
        ))),
    }
}

/// A resource to write over: its id only, or as a lookup found it.
enum Current {
    Unread(String),
    Found(FoundResource),
}

/// Writes `build(current)` over resource `id` (its current body read first), or as
/// a new resource under a fresh id when there is no `id`.
async fn write_over(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    id: Option<String>,
    build: impl FnOnce(Option<Value>) -> Value,
) -> Result<String, MappingError> {
    write_current(context, resource_type, id.map(Current::Unread), build).await
}

async fn write_current(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    existing: Option<Current>,
    build: impl FnOnce(Option<Value>) -> Value,
) -> Result<String, MappingError> {
    // What the message's lookups found of this type may no longer be so.
    let of_type = format!("{resource_type}?");
    context.prefetched.retain(|key, _| !key.starts_with(&of_type));
    let (id, body) = match existing {
        None => {
            // A new resource: created under a fresh id and staged, to go to the
            // database with the message's other writes in one batch.
            let id = crate::fhir::new_id();
            let mut resource = build(None);
            resource["id"] = Value::String(id.clone());
            context
                .fhir
                .create_built(context.session, resource_type, resource, &id)
                .await?;
            context.fresh.insert(id.clone());
            context.note_written(resource_type, &id);
            return Ok(id);
        }
        Some(Current::Found(found)) => (found.id, found.body),
        Some(Current::Unread(id)) => {
            let body = context.fhir.read(context.session, resource_type, &id).await?.body;
            (id, body)
        }
    };
    let current: Value = serde_json::from_str(&body).map_err(|e| FhirError::Internal(e.to_string()))?;
    let mut resource = build(Some(current.clone()));
    resource["id"] = Value::String(id.clone());
    // A message that says nothing new (the payer of every admission, a repeated
    // A08) writes no new version.
    if same_content(&current, &resource) {
        return Ok(id);
    }
    context
        .fhir
        .update_built(context.session, resource_type, &id, resource)
        .await?;
    context.note_written(resource_type, &id);
    Ok(id)
}

impl MappingContext<'_> {
    fn note_written(&mut self, resource_type: ResourceType, id: &str) {
        let reference = format!("{resource_type}/{id}");
        if !self.written.contains(&reference) {
            self.written.push(reference);
        }
    }
}

/// Equal but for `meta`, which the server sets on every write.
fn same_content(stored: &Value, built: &Value) -> bool {
    match (stored.as_object(), built.as_object()) {
        (Some(stored), Some(built)) => {
            let without_meta = |object: &serde_json::Map<String, Value>| {
                object
                    .iter()
                    .filter(|(key, _)| key.as_str() != "meta")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<std::collections::BTreeMap<_, _>>()
            };
            without_meta(stored) == without_meta(built)
        }
        _ => false,
    }
}

/// A token search value `system|value`, escaped for a search URL.
fn token_query(parameter: &str, identifier: &Value) -> String {
    let system = identifier
        .get("system")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = identifier
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let escape = |text: &str| {
        text.replace('\\', "\\\\")
            .replace('|', "\\|")
            .replace(',', "\\,")
            .replace('$', "\\$")
    };
    let token = format!("{}|{}", escape(system), escape(value));
    format!(
        "{parameter}={}",
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    )
}
