//! The CapabilityStatement, generated from the same lists the router and the
//! validator use (resource types, interactions, profiles), so it cannot drift.

use serde_json::{json, Value};

use crate::fhir::resource_type::ResourceType;
use crate::fhir::routes::{SYSTEM_INTERACTIONS, TYPE_INTERACTIONS};
use crate::fhir::validation;

pub fn capability_statement(base_url: &str, started: chrono::DateTime<chrono::Utc>) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
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
                "conditionalDelete": "not-supported",
                "operation": [{
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"
                }]
            });
            if !own_profiles.is_empty() {
                resource["supportedProfile"] = json!(own_profiles);
            }
            resource
        })
        .collect();
    json!({
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
    })
}
