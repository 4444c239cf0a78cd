//! HL7 v2 messages to FHIR resources, after the HL7 v2-to-FHIR implementation
//! guide's message and segment maps. Every change of one message is made in the
//! caller's transaction, so a message is applied whole or not at all.

mod adt;
pub mod datatypes;
mod dft;

use serde_json::Value;

use crate::fhir::conditional::CriteriaAuthor;
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::hl7::ack::{ErrorCode, ErrorLocation, Problem};
use crate::hl7::message::{Header, Parsed};
use crate::store::Session;

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
    /// Parts of the message that were not used, reported in the ACK (ERR, severity W).
    pub warnings: Vec<Problem>,
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
    let mut existing = context
        .fhir
        .single_match_by(context.session, resource_type, query, CriteriaAuthor::Server)
        .await?;
    if existing.is_none() {
        // A message on another connection may be creating the same payer or patient
        // right now: take turns on the key and look again before creating it.
        context
            .session
            .lock_before_next_search(&format!("{resource_type}?{query}"));
        existing = context
            .fhir
            .single_match_by(context.session, resource_type, query, CriteriaAuthor::Server)
            .await?;
    }
    write_over(context, resource_type, existing, build).await
}

/// Writes `build(current)` over resource `id` (its current body read first), or as
/// a new resource under a fresh id when there is no `id`.
async fn write_over(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    id: Option<String>,
    build: impl FnOnce(Option<Value>) -> Value,
) -> Result<String, MappingError> {
    let Some(id) = id else {
        // A new resource: created under a fresh id and staged, to go to the database
        // with the message's other writes in one batch.
        let id = uuid::Uuid::new_v4().to_string();
        let mut resource = build(None);
        resource["id"] = Value::String(id.clone());
        context
            .fhir
            .create_with_id(context.session, resource_type, resource, None, &id)
            .await?;
        return Ok(id);
    };
    let version = context.fhir.read(context.session, resource_type, &id).await?;
    let current: Value =
        serde_json::from_str(&version.body).map_err(|e| FhirError::Internal(e.to_string()))?;
    let mut resource = build(Some(current.clone()));
    resource["id"] = Value::String(id.clone());
    // A message that says nothing new (the payer of every admission, a repeated
    // A08) writes no new version.
    if same_content(&current, &resource) {
        return Ok(id);
    }
    context
        .fhir
        .update(context.session, resource_type, &id, resource, None)
        .await?;
    Ok(id)
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
