//! `_summary` and `_elements`: returning part of each resource, marked SUBSETTED.

use serde_json::{json, Map, Value};

use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::params::Summary;

/// Elements every subset keeps.
const ALWAYS: [&str; 4] = ["resourceType", "id", "meta", "implicitRules"];

/// The summary elements (Σ) of each stored type, transcribed from the R4
/// specification's resource content tables (https://hl7.org/fhir/R4/<type>.html).
/// Choice elements are listed in their JSON forms.
fn summary_elements(resource_type: ResourceType) -> &'static [&'static str] {
    match resource_type {
        ResourceType::Patient => &[
            "identifier",
            "active",
            "name",
            "telecom",
            "gender",
            "birthDate",
            "deceasedBoolean",
            "deceasedDateTime",
            "address",
            "managingOrganization",
            "link",
        ],
        ResourceType::Practitioner => &[
            "identifier",
            "active",
            "name",
            "telecom",
            "address",
            "gender",
            "birthDate",
        ],
        ResourceType::Organization => &["identifier", "active", "type", "name", "partOf"],
        ResourceType::Location => &[
            "identifier",
            "status",
            "operationalStatus",
            "name",
            "description",
            "mode",
            "type",
            "physicalType",
            "managingOrganization",
        ],
        ResourceType::Encounter => &[
            "identifier",
            "status",
            "class",
            "type",
            "serviceType",
            "subject",
            "episodeOfCare",
            "participant",
            "appointment",
            "reasonCode",
            "reasonReference",
            "diagnosis",
        ],
        ResourceType::Coverage => &[
            "identifier",
            "status",
            "type",
            "policyHolder",
            "subscriber",
            "subscriberId",
            "beneficiary",
            "dependent",
            "period",
            "payor",
            "order",
            "network",
        ],
        ResourceType::Claim => &[
            "identifier",
            "status",
            "type",
            "use",
            "patient",
            "billablePeriod",
            "created",
            "insurer",
            "provider",
            "priority",
            "insurance",
            "total",
        ],
        ResourceType::ClaimResponse => &[
            "identifier",
            "status",
            "type",
            "use",
            "patient",
            "created",
            "insurer",
            "request",
            "outcome",
            "total",
        ],
        ResourceType::CoverageEligibilityRequest => &["status", "purpose", "patient", "created", "insurer"],
        ResourceType::CoverageEligibilityResponse => &[
            "status", "purpose", "patient", "created", "request", "outcome", "insurer",
        ],
    }
}

/// What part of each resource to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subset {
    Whole,
    Summary,
    /// Everything but the narrative (`_summary=data`).
    Data,
    /// The narrative and identity only (`_summary=text`).
    Text,
    Elements(Vec<String>),
}

impl Subset {
    pub fn new(summary: Summary, elements: Option<&[String]>) -> Self {
        match (summary, elements) {
            (Summary::True, _) => Subset::Summary,
            (Summary::Data, _) => Subset::Data,
            (Summary::Text, _) => Subset::Text,
            (_, Some(elements)) => Subset::Elements(elements.to_vec()),
            _ => Subset::Whole,
        }
    }

    /// The part of `body` (a stored resource) to return, tagged SUBSETTED.
    pub fn apply(&self, resource_type: ResourceType, body: &str) -> Result<String, serde_json::Error> {
        let keep: Box<dyn Fn(&str) -> bool> = match self {
            Subset::Whole => return Ok(body.to_owned()),
            Subset::Summary => Box::new(move |k| summary_elements(resource_type).contains(&k)),
            Subset::Data => Box::new(|k| k != "text"),
            Subset::Text => Box::new(|k| k == "text"),
            Subset::Elements(elements) => Box::new(move |k| elements.iter().any(|e| e == k)),
        };
        let mut resource: Map<String, Value> = serde_json::from_str(body)?;
        // Identity first, whatever order the database kept the keys in.
        let mut subset: Map<String, Value> = ALWAYS
            .iter()
            .filter_map(|k| resource.remove(*k).map(|v| (k.to_string(), v)))
            .collect();
        subset.extend(resource.into_iter().filter(|(k, _)| keep(k)));
        let meta = subset.entry("meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            let tags = meta.entry("tag").or_insert_with(|| json!([]));
            if let Some(tags) = tags.as_array_mut() {
                tags.push(json!({
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                    "code": "SUBSETTED",
                    "display": "subsetted"
                }));
            }
        }
        serde_json::to_string(&subset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATIENT: &str = r#"{"resourceType":"Patient","id":"p","meta":{"versionId":"1"},"text":{"status":"generated","div":"<div/>"},"name":[{"family":"X"}],"photo":[{"title":"me"}],"gender":"male"}"#;

    #[test]
    fn summary_keeps_summary_elements_and_tags() {
        let out: Value =
            serde_json::from_str(&Subset::Summary.apply(ResourceType::Patient, PATIENT).unwrap()).unwrap();
        assert!(out.get("name").is_some() && out.get("gender").is_some());
        assert!(out.get("photo").is_none() && out.get("text").is_none());
        assert_eq!(out["meta"]["tag"][0]["code"], "SUBSETTED");
        assert_eq!(out["meta"]["versionId"], "1");
    }

    #[test]
    fn elements_and_data() {
        let out: Value = serde_json::from_str(
            &Subset::Elements(vec!["gender".into()])
                .apply(ResourceType::Patient, PATIENT)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            out.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["resourceType", "id", "meta", "gender"]
        );
        let data: Value =
            serde_json::from_str(&Subset::Data.apply(ResourceType::Patient, PATIENT).unwrap()).unwrap();
        assert!(data.get("text").is_none() && data.get("photo").is_some());
        assert_eq!(
            Subset::Whole.apply(ResourceType::Patient, PATIENT).unwrap(),
            PATIENT
        );
    }
}
