//! The CapabilityStatement, generated from the same lists the router and the
//! validator use (resource types, interactions, profiles), so it cannot drift.

use serde_json::{json, Value};

use crate::fhir::resource_type::ResourceType;
use crate::fhir::routes::{SYSTEM_INTERACTIONS, TYPE_INTERACTIONS};
use crate::fhir::search::definitions::{ParamKind, Registry};
use crate::fhir::validation;

/// `security` is the `rest.security` of a server that requires tokens (`None` when
/// authorization is disabled).
pub fn capability_statement(
    base_url: &str,
    started: chrono::DateTime<chrono::Utc>,
    security: Option<Value>,
) -> Value {
    let mut resources: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|resource_type| {
            let own_profiles = validation::profile_urls(*resource_type);
            let mut resource = json!({
                "type": resource_type.as_str(),
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{resource_type}"),
                "interaction": TYPE_INTERACTIONS.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalRead": "not-supported",
                "conditionalUpdate": true,
                "conditionalDelete": "single",
                "searchParam": search_params(*resource_type),
                "operation": [{
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"
                }]
            });
            // FHIR JSON has no empty arrays: list only what exists.
            for (field, values) in [
                ("searchInclude", search_includes(*resource_type)),
                ("searchRevInclude", search_revincludes(*resource_type)),
            ] {
                if !values.is_empty() {
                    resource[field] = json!(values);
                }
            }
            if !own_profiles.is_empty() {
                resource["supportedProfile"] = json!(own_profiles);
            }
            resource
        })
        .collect();
    resources.push(audit_event_resource());
    let mut statement = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": crate::fhir::instant(started),
        "publisher": "Claimbridge",
        "kind": "instance",
        "software": { "name": "Claimbridge", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Claimbridge FHIR R4 server", "url": base_url },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": SYSTEM_INTERACTIONS.iter().map(|code| json!({"code": code})).collect::<Vec<_>>()
        }]
    });
    if let Some(security) = security {
        statement["rest"][0]["security"] = security;
    }
    statement
}

/// The audit trail (`crate::audit::routes`): read and search only, for auditors.
fn audit_event_resource() -> Value {
    let param = |name: &str, code: &str, kind: &str, documentation: &str| {
        json!({
            "name": name,
            "definition": format!("http://hl7.org/fhir/SearchParameter/{code}"),
            "type": kind,
            "documentation": documentation,
        })
    };
    json!({
        "type": "AuditEvent",
        "profile": "http://hl7.org/fhir/StructureDefinition/AuditEvent",
        "documentation": "The audit trail, recorded by the server for every access to PHI and every admin \
            change; readable with the auditor or admin role or a scope naming AuditEvent, within the \
            token's tenant. Never written through the API.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "readHistory": false,
        "updateCreate": false,
        "searchParam": [
            param("date", "AuditEvent-date", "date", "When recorded: eq, ge, gt, le, lt"),
            param("agent", "AuditEvent-agent", "token", "A client id, user subject or HL7 sender (APP^FACILITY)"),
            param("entity", "AuditEvent-entity", "reference", "A resource the event was about (Type/id)"),
            param("patient", "AuditEvent-patient", "reference", "A Patient among the event's entities"),
            param("action", "AuditEvent-action", "token", "C, R, U, D or E"),
            param("outcome", "AuditEvent-outcome", "token", "0, 4, 8 or 12"),
            param("type", "AuditEvent-type", "token", "rest, or a DICOM event type code"),
            param("subtype", "AuditEvent-subtype", "token", "A restful-interaction code, HL7 message type or route"),
        ],
    })
}

fn search_params(resource_type: ResourceType) -> Vec<Value> {
    Registry::get()
        .params(resource_type)
        .values()
        .map(|param| {
            let kind = match param.kind {
                ParamKind::String => "string",
                ParamKind::Token => "token",
                ParamKind::Reference => "reference",
                ParamKind::Date => "date",
                ParamKind::Number => "number",
                ParamKind::Quantity => "quantity",
                ParamKind::Uri => "uri",
            };
            json!({"name": param.code, "definition": param.url, "type": kind})
        })
        .collect()
}

/// `Type:param` for each reference parameter of `resource_type`.
fn search_includes(resource_type: ResourceType) -> Vec<String> {
    Registry::get()
        .params(resource_type)
        .values()
        .filter(|p| p.kind == ParamKind::Reference)
        .map(|p| format!("{resource_type}:{}", p.code))
        .collect()
}

/// `Source:param` for each reference parameter of any stored type that may point
/// to `resource_type`.
fn search_revincludes(resource_type: ResourceType) -> Vec<String> {
    ResourceType::ALL
        .iter()
        .flat_map(|source| {
            Registry::get()
                .params(*source)
                .values()
                .filter(|p| {
                    p.kind == ParamKind::Reference && p.targets.iter().any(|t| t == resource_type.as_str())
                })
                .map(move |p| format!("{source}:{}", p.code))
        })
        .collect()
}
