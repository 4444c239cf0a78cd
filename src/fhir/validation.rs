//! Resource validation: the official R4 JSON schema (one compiled validator per
//! resource type, so listing errors stays cheap), fhirbolt's strict R4 model, and
//! the project's profiles in `fhir-profiles/profiles`.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use fhirbolt::model::r4::Resource;
use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::fhir::outcome::{FhirError, Issue};
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;

const R4_SCHEMA: &str = include_str!("../../fhir-profiles/fhir.schema.json");

/// Profiles shipped with the server (JSON schemas whose `$id` is the canonical URL).
const PROFILES: [&str; 2] = [
    include_str!("../../fhir-profiles/profiles/claim-professional.schema.json"),
    include_str!("../../fhir-profiles/profiles/patient-billing.schema.json"),
];

pub(crate) static R4_SCHEMA_JSON: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(R4_SCHEMA).expect("the embedded R4 schema is JSON"));

/// One validator per resource type, compiled on first use and kept for the life of
/// the process. Checking against the type's own definition, rather than the whole
/// schema's `oneOf` over every type, is what keeps listing errors cheap.
static R4_VALIDATORS: LazyLock<HashMap<ResourceType, OnceLock<Validator>>> = LazyLock::new(|| {
    ResourceType::ALL
        .into_iter()
        .map(|t| (t, OnceLock::new()))
        .collect()
});

fn r4_validator(resource_type: ResourceType) -> &'static Validator {
    R4_VALIDATORS[&resource_type].get_or_init(|| {
        let mut schema = R4_SCHEMA_JSON.clone();
        let root = schema.as_object_mut().expect("the R4 schema is an object");
        root.remove("oneOf");
        root.remove("discriminator");
        root.insert(
            "$ref".into(),
            Value::String(format!("#/definitions/{resource_type}")),
        );
        jsonschema::validator_for(&schema).expect("the embedded R4 schema compiles")
    })
}

/// Compiles every type's validator now rather than on the first write of each type.
pub fn warm_up() {
    ResourceType::ALL.into_iter().for_each(|t| {
        r4_validator(t);
    });
}

/// A project profile: the type it constrains and its compiled schema.
struct Profile {
    resource_type: ResourceType,
    validator: Validator,
}

static PROFILE_VALIDATORS: LazyLock<HashMap<String, Profile>> = LazyLock::new(|| {
    PROFILES
        .iter()
        .map(|text| {
            let schema: Value = serde_json::from_str(text).expect("an embedded profile is JSON");
            let url = schema["$id"]
                .as_str()
                .expect("an embedded profile has an $id")
                .to_owned();
            let resource_type = schema
                .at("/properties/resourceType/const")
                .and_then(Value::as_str)
                .and_then(|name| name.parse().ok())
                .expect("an embedded profile fixes resourceType to a supported type");
            let validator = jsonschema::validator_for(&schema).expect("an embedded profile compiles");
            (
                url,
                Profile {
                    resource_type,
                    validator,
                },
            )
        })
        .collect()
});

/// Canonical URLs of the profiles `$validate?profile=` accepts for `resource_type`,
/// sorted.
pub fn profile_urls(resource_type: ResourceType) -> Vec<&'static str> {
    let mut urls: Vec<&str> = PROFILE_VALIDATORS
        .iter()
        .filter(|(_, profile)| profile.resource_type == resource_type)
        .map(|(url, _)| url.as_str())
        .collect();
    urls.sort_unstable();
    urls
}

/// Every problem with `resource` as an R4 `resource_type`: the schema's errors with
/// their paths, or, when the schema is satisfied, fhirbolt's strict model's verdict.
pub fn validate_resource(resource_type: ResourceType, resource: &Value) -> Vec<Issue> {
    let issues = schema_issues(resource_type, r4_validator(resource_type), resource);
    if !issues.is_empty() {
        return issues;
    }
    model_issues(resource_type, resource)
}

/// Every problem with a resource the server built itself (an HL7 message's
/// Patient, a Claim from an intake request): the schema's errors only. What such a
/// resource carries from its input (codes, names, dates, amounts) is text or a
/// number the schema checks; its shape is the builder's code, which fhirbolt's
/// strict model would only check again, at two thirds of the cost of validating.
/// Debug builds, the test suite's, do check it again, so a builder that writes
/// something the model refuses fails the tests.
pub fn validate_built(resource_type: ResourceType, resource: &Value) -> Vec<Issue> {
    let issues = schema_issues(resource_type, r4_validator(resource_type), resource);
    debug_assert!(
        !issues.is_empty() || model_issues(resource_type, resource).is_empty(),
        "a {resource_type} the server built is not valid R4: {:?}",
        model_issues(resource_type, resource)
    );
    issues
}

/// fhirbolt's strict R4 model's verdict on `resource`.
fn model_issues(resource_type: ResourceType, resource: &Value) -> Vec<Issue> {
    let strict = DeserializationConfig {
        mode: DeserializationMode::Strict,
    };
    match fhirbolt::json::from_json_value::<Resource>(resource.clone(), Some(strict)) {
        Ok(_) => Vec::new(),
        Err(error) => vec![
            Issue::error("structure", format!("not a valid R4 {resource_type}: {error}"))
                .at(resource_type.as_str()),
        ],
    }
}

/// Problems with `resource` against the profile with canonical URL `profile`.
pub fn validate_profile(
    resource_type: ResourceType,
    profile: &str,
    resource: &Value,
) -> Result<Vec<Issue>, FhirError> {
    let profile = PROFILE_VALIDATORS
        .get(profile)
        .filter(|p| p.resource_type == resource_type)
        .ok_or_else(|| {
            FhirError::invalid_at(
                "not-supported",
                "profile",
                format!(
                    "unknown profile {profile:?} for {resource_type}; known: [{}]",
                    profile_urls(resource_type).join(", ")
                ),
            )
        })?;
    Ok(schema_issues(resource_type, &profile.validator, resource))
}

fn schema_issues(resource_type: ResourceType, validator: &Validator, resource: &Value) -> Vec<Issue> {
    validator
        .iter_errors(resource)
        .flat_map(|error| issues_of(resource_type, &error))
        .collect()
}

fn issues_of(resource_type: ResourceType, error: &ValidationError<'_>) -> Vec<Issue> {
    let path = fhir_path(resource_type, error.instance_path().as_str());
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                Issue::error("structure", format!("unknown element {name:?}")).at(format!("{path}.{name}"))
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![
                Issue::error("required", format!("missing required element {name:?}"))
                    .at(format!("{path}.{name}")),
            ]
        }
        _ => vec![Issue::error("value", error.to_string()).at(path)],
    }
}

/// Turns a JSON pointer such as `/name/0/given` into the FHIRPath-style location
/// `Patient.name[0].given` that OperationOutcome.issue.expression expects.
fn fhir_path(resource_type: ResourceType, pointer: &str) -> String {
    let mut path = resource_type.as_str().to_owned();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) && !segment.is_empty() {
            path.push_str(&format!("[{segment}]"));
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_becomes_fhir_path() {
        assert_eq!(
            fhir_path(ResourceType::Patient, "/name/0/given"),
            "Patient.name[0].given"
        );
        assert_eq!(fhir_path(ResourceType::Claim, ""), "Claim");
    }

    #[test]
    fn schema_errors_name_their_paths() {
        let claim = json!({
            "resourceType": "Claim",
            "status": "active",
            "created": "not-a-date",
            "bogus": 1
        });
        let issues = validate_resource(ResourceType::Claim, &claim);
        let paths: Vec<_> = issues.iter().filter_map(|i| i.expression.as_deref()).collect();
        assert!(paths.contains(&"Claim.bogus"), "{issues:?}");
        assert!(paths.contains(&"Claim.created"), "{issues:?}");
    }

    /// The schema takes any JSON number for an integer; fhirbolt's model holds it
    /// to 32 bits. A client's resource gets the model's verdict; a built one only
    /// the schema's, and in debug builds the model's as a bug in the builder.
    #[test]
    fn only_a_clients_resource_gets_the_models_verdict() {
        let patient = json!({"resourceType": "Patient", "multipleBirthInteger": 5_000_000_000_i64});
        let issues = validate_resource(ResourceType::Patient, &patient);
        assert!(
            issues
                .iter()
                .any(|i| i.diagnostics.contains("not a valid R4 Patient")),
            "{issues:?}"
        );
        let built = std::panic::catch_unwind(|| validate_built(ResourceType::Patient, &patient));
        assert_eq!(built.is_err(), cfg!(debug_assertions));
        let dated = json!({"resourceType": "Patient", "birthDate": "1980-13-01"});
        let issues = validate_built(ResourceType::Patient, &dated);
        assert!(
            issues
                .iter()
                .any(|i| i.expression.as_deref() == Some("Patient.birthDate")),
            "{issues:?}"
        );
    }

    #[test]
    fn official_example_is_valid() {
        let patient =
            json!({"resourceType": "Patient", "name": [{"family": "Chalmers"}], "birthDate": "1974-12-25"});
        assert!(validate_resource(ResourceType::Patient, &patient).is_empty());
    }
}
