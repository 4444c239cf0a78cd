//! Extracts the searchable values of a resource at write time, for the index tables
//! written in the same transaction: every parameter of the resource's type, by
//! walking its compiled element paths and reading each value the way its FHIR type
//! and the parameter's kind call for.

use serde_json::{Map, Value};

use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::definitions::{ElementPath, ParamKind, Registry, SearchParam, StepFilter};
use crate::fhir::search::values::{normalize_string, truncate_chars, DateRange, Decimal};
use crate::store::model::{
    DateEntry, QuantityEntry, ReferenceEntry, SearchIndexEntries, StringEntry, TokenEntry, UriEntry,
};

/// Longest token code or display kept in the index.
const MAX_TOKEN_TEXT: usize = 500;

/// Every index entry of `resource`. `base_url` is this server's FHIR base: absolute
/// references under it are indexed as the local references they are.
pub fn extract(
    resource_type: ResourceType,
    resource: &Map<String, Value>,
    base_url: &str,
) -> SearchIndexEntries {
    let mut entries = SearchIndexEntries::default();
    for param in Registry::get().params(resource_type).values() {
        // Another parameter's rows hold the values of one stored under its code.
        if param.is_column() || param.stored_as != param.code {
            continue;
        }
        for path in &param.paths {
            for node in walk(resource, path) {
                add_entries(&mut entries, param, path, node, base_url);
            }
        }
    }
    entries
}

/// The elements `path` reaches in `resource`, arrays flattened.
pub fn walk<'a>(resource: &'a Map<String, Value>, path: &ElementPath) -> Vec<&'a Value> {
    let mut nodes: Vec<&Value> = Vec::new();
    for (at, step) in path.steps.iter().enumerate() {
        let children = |value: Option<&'a Value>, into: &mut Vec<&'a Value>| match value {
            Some(Value::Array(items)) => into.extend(items.iter()),
            Some(value) => into.push(value),
            None => {}
        };
        let mut next = Vec::new();
        if at == 0 {
            children(resource.get(&step.field), &mut next);
        } else {
            for node in nodes {
                children(node.get(&step.field), &mut next);
            }
        }
        if let Some(filter) = &step.filter {
            next.retain(|node| passes(node, filter));
        }
        nodes = next;
    }
    nodes
}

fn passes(node: &Value, filter: &StepFilter) -> bool {
    match filter {
        StepFilter::FieldEquals { field, literal } => {
            node.get(field).and_then(Value::as_str) == Some(literal)
        }
        StepFilter::ReferenceTo(target) => node
            .get("reference")
            .and_then(Value::as_str)
            .and_then(|r| parse_reference(r, ""))
            .is_some_and(|local| local.target_type.as_deref() == Some(target.as_str())),
    }
}

fn add_entries(
    entries: &mut SearchIndexEntries,
    param: &SearchParam,
    path: &ElementPath,
    node: &Value,
    base_url: &str,
) {
    let code = || param.code.clone();
    if path.present_and_not_false {
        let value = node.as_bool().unwrap_or(true);
        entries
            .tokens
            .push(token(code(), None, Some(value.to_string()), None));
        return;
    }
    let text = |field: &str| node.get(field).and_then(Value::as_str);
    match param.kind {
        ParamKind::String => {
            let mut push = |value: &str| {
                if !value.trim().is_empty() {
                    entries.strings.push(StringEntry {
                        param: code(),
                        normalized: normalize_string(value),
                        exact: truncate_chars(value, 1000),
                    });
                }
            };
            match path.type_name.as_str() {
                "HumanName" | "Address" => {
                    for part in [
                        "text",
                        "family",
                        "given",
                        "prefix",
                        "suffix",
                        "line",
                        "city",
                        "district",
                        "state",
                        "postalCode",
                        "country",
                    ] {
                        match node.get(part) {
                            Some(Value::String(s)) => push(s),
                            Some(Value::Array(items)) => {
                                items.iter().filter_map(Value::as_str).for_each(&mut push)
                            }
                            _ => {}
                        }
                    }
                }
                _ => node.as_str().into_iter().for_each(push),
            }
        }
        ParamKind::Token => match path.type_name.as_str() {
            "boolean" => {
                if let Some(value) = node.as_bool() {
                    entries
                        .tokens
                        .push(token(code(), None, Some(value.to_string()), None));
                }
            }
            "Coding" => entries.tokens.extend(coding_token(&param.code, node, None)),
            "CodeableConcept" => {
                let concept_text = text("text");
                let codings: Vec<TokenEntry> = node
                    .get("coding")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|coding| coding_token(&param.code, coding, concept_text))
                    .collect();
                if codings.is_empty() {
                    if let Some(concept_text) = concept_text {
                        entries
                            .tokens
                            .push(token(code(), None, None::<&str>, Some(concept_text)));
                    }
                } else {
                    entries.tokens.extend(codings);
                }
            }
            "Identifier" => {
                let value = text("value");
                if value.is_some() || text("system").is_some() {
                    entries.tokens.push(token(
                        code(),
                        text("system"),
                        value,
                        node.at("/type/text").and_then(Value::as_str),
                    ));
                }
                // `identifier:of-type=system|code|value` matches on the identifier's
                // type coding and value together: indexed under its own name.
                let type_codings = node.at("/type/coding").and_then(Value::as_array);
                if let Some(value) = value {
                    for coding in type_codings.into_iter().flatten() {
                        if let Some(type_code) = coding.get("code").and_then(Value::as_str) {
                            let system = coding.get("system").and_then(Value::as_str);
                            let of_type = format!("{}:of-type", param.code);
                            entries.tokens.push(token(
                                of_type,
                                system,
                                Some(format!("{type_code}|{value}")),
                                None,
                            ));
                        }
                    }
                }
            }
            "ContactPoint" => {
                if let Some(value) = text("value") {
                    entries
                        .tokens
                        .push(token(code(), text("system"), Some(value), None));
                }
            }
            _ => {
                if let Some(value) = node.as_str() {
                    entries.tokens.push(token(code(), None, Some(value), None));
                }
            }
        },
        ParamKind::Reference => {
            if let Some(mut entry) = text("reference").and_then(|r| parse_reference(r, base_url)) {
                entry.param = code();
                entries.references.push(entry);
            }
            if let Some(identifier) = node.get("identifier") {
                let field = |f: &str| identifier.get(f).and_then(Value::as_str).map(str::to_owned);
                if field("value").is_some() {
                    entries.references.push(ReferenceEntry {
                        param: code(),
                        identifier_system: field("system"),
                        identifier_value: field("value"),
                        ..ReferenceEntry::default()
                    });
                }
            }
        }
        ParamKind::Date => {
            let range = match path.type_name.as_str() {
                "Period" => {
                    let start = text("start").and_then(DateRange::parse);
                    let end = text("end").and_then(DateRange::parse);
                    (start.is_some() || end.is_some()).then(|| DateRange {
                        low: start.map_or_else(DateRange::unbounded_low, |s| s.low),
                        high: end.map_or_else(DateRange::unbounded_high, |e| e.high),
                    })
                }
                _ => node.as_str().and_then(DateRange::parse),
            };
            if let Some(range) = range {
                entries.dates.push(DateEntry {
                    param: code(),
                    low: range.low,
                    high: range.high,
                });
            }
        }
        ParamKind::Number | ParamKind::Quantity => {
            let (number, system, unit_code, unit) = match node {
                Value::Number(n) => (Some(n.to_string()), None, None, None),
                _ => (
                    node.get("value").map(Value::to_string),
                    text("system"),
                    text("code"),
                    text("unit"),
                ),
            };
            if let Some(decimal) = number.as_deref().and_then(Decimal::parse) {
                entries.quantities.push(QuantityEntry {
                    param: code(),
                    value: decimal.value,
                    system: system.map(str::to_owned),
                    code: unit_code.map(str::to_owned),
                    unit: unit.map(str::to_owned),
                });
            }
        }
        ParamKind::Uri => {
            if let Some(uri) = node.as_str() {
                entries.uris.push(UriEntry {
                    param: code(),
                    uri: uri.to_owned(),
                });
            }
        }
    }
}

fn token(
    param: String,
    system: Option<&str>,
    code: Option<impl AsRef<str>>,
    display: Option<&str>,
) -> TokenEntry {
    TokenEntry {
        param,
        system: system.map(str::to_owned),
        code: code.map(|c| truncate_chars(c.as_ref(), MAX_TOKEN_TEXT)),
        display: display.map(|d| truncate_chars(d, MAX_TOKEN_TEXT)),
    }
}

fn coding_token(param: &str, coding: &Value, concept_text: Option<&str>) -> Option<TokenEntry> {
    let field = |f: &str| coding.get(f).and_then(Value::as_str);
    (field("code").is_some() || field("system").is_some()).then(|| {
        token(
            param.to_owned(),
            field("system"),
            field("code"),
            field("display").or(concept_text),
        )
    })
}

/// What a reference string points at: `Type/id` (optionally versioned) or an
/// absolute URL under `base_url` become a local target; any other absolute URL (or
/// `urn:`) is kept as a URL. Contained references (`#x`) are not indexed.
pub fn parse_reference(reference: &str, base_url: &str) -> Option<ReferenceEntry> {
    if reference.starts_with('#') || reference.is_empty() {
        return None;
    }
    let local = (!base_url.is_empty())
        .then(|| reference.strip_prefix(base_url).and_then(|r| r.strip_prefix('/')))
        .flatten()
        .unwrap_or(reference);
    if local.contains(':') {
        return Some(ReferenceEntry {
            target_url: Some(reference.to_owned()),
            ..ReferenceEntry::default()
        });
    }
    let parts: Vec<&str> = local.split('/').collect();
    let well_formed = match parts.as_slice() {
        [_, _] => true,
        [_, _, "_history", version] => !version.is_empty(),
        _ => false,
    };
    let (target_type, target_id) = (parts[0], *parts.get(1)?);
    let valid_type = target_type.starts_with(|c: char| c.is_ascii_uppercase());
    (well_formed && valid_type && !target_id.is_empty()).then(|| ReferenceEntry {
        target_type: Some(target_type.to_owned()),
        target_id: Some(target_id.to_owned()),
        ..ReferenceEntry::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(resource_type: ResourceType, resource: Value) -> SearchIndexEntries {
        extract(
            resource_type,
            resource.as_object().unwrap(),
            "http://cb.example/fhir",
        )
    }

    #[test]
    fn patient_values_land_in_the_right_tables() {
        let e = entries(
            ResourceType::Patient,
            json!({
                "resourceType": "Patient",
                "identifier": [{"system": "http://hospital.org/mrn", "value": "123",
                                "type": {"text": "MRN", "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
                "active": true,
                "name": [{"family": "Müller", "given": ["Anna", "Maria"]}],
                "telecom": [{"system": "phone", "value": "555-0100"}, {"system": "email", "value": "a@example.org"}],
                "gender": "female",
                "birthDate": "1980-04",
                "deceasedBoolean": false,
                "managingOrganization": {"reference": "http://cb.example/fhir/Organization/org1"},
                "generalPractitioner": [{"reference": "Practitioner/pr1/_history/3"}, {"reference": "https://elsewhere.org/Practitioner/9"}]
            }),
        );
        let token = |param: &str| e.tokens.iter().filter(|t| t.param == param).collect::<Vec<_>>();
        assert_eq!(token("identifier")[0].code.as_deref(), Some("123"));
        assert_eq!(token("identifier:of-type")[0].code.as_deref(), Some("MR|123"));
        assert_eq!(token("active")[0].code.as_deref(), Some("true"));
        assert_eq!(token("gender")[0].code.as_deref(), Some("female"));
        assert_eq!(token("phone").len(), 1);
        assert_eq!(token("email")[0].code.as_deref(), Some("a@example.org"));
        assert_eq!(token("telecom").len(), 2);
        assert_eq!(token("deceased")[0].code.as_deref(), Some("false"));

        let family: Vec<&str> = e
            .strings
            .iter()
            .filter(|s| s.param == "family")
            .map(|s| s.normalized.as_str())
            .collect();
        assert_eq!(family, ["muller"]);
        assert_eq!(e.strings.iter().filter(|s| s.param == "name").count(), 3);
        // `phonetic` reads `name`'s rows: it has none of its own.
        assert_eq!(e.strings.iter().filter(|s| s.param == "phonetic").count(), 0);

        let birth = e.dates.iter().find(|d| d.param == "birthdate").unwrap();
        assert_eq!(birth.low.to_rfc3339(), "1980-04-01T00:00:00+00:00");
        assert_eq!(birth.high.to_rfc3339(), "1980-04-30T23:59:59.999999+00:00");

        let org = e.references.iter().find(|r| r.param == "organization").unwrap();
        assert_eq!(
            (org.target_type.as_deref(), org.target_id.as_deref()),
            (Some("Organization"), Some("org1"))
        );
        let gps: Vec<_> = e
            .references
            .iter()
            .filter(|r| r.param == "general-practitioner")
            .collect();
        assert_eq!(gps[0].target_id.as_deref(), Some("pr1"));
        assert_eq!(
            gps[1].target_url.as_deref(),
            Some("https://elsewhere.org/Practitioner/9")
        );
        assert_eq!(gps[1].target_id, None);
    }

    #[test]
    fn encounter_periods_quantities_and_typed_references() {
        let e = entries(
            ResourceType::Encounter,
            json!({
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "period": {"start": "2024-01-05T09:00:00Z"},
                "length": {"value": 45, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"},
                "subject": {"reference": "Patient/p1"},
                "participant": [{"individual": {"reference": "Practitioner/d1"}}, {"individual": {"reference": "RelatedPerson/r1"}}]
            }),
        );
        let date = e.dates.iter().find(|d| d.param == "date").unwrap();
        assert_eq!(date.high, DateRange::unbounded_high());
        let length = e.quantities.iter().find(|q| q.param == "length").unwrap();
        assert_eq!((length.value, length.code.as_deref()), (45.0, Some("min")));
        let practitioners: Vec<_> = e
            .references
            .iter()
            .filter(|r| r.param == "practitioner")
            .collect();
        assert_eq!(practitioners.len(), 1, "only the Practitioner participant");
        assert!(e
            .references
            .iter()
            .any(|r| r.param == "patient" && r.target_id.as_deref() == Some("p1")));
        assert!(e
            .tokens
            .iter()
            .any(|t| t.param == "class" && t.code.as_deref() == Some("AMB")));
    }

    #[test]
    fn references_parse_strictly() {
        assert!(parse_reference("#contained", "").is_none());
        assert!(parse_reference("patient/1", "").is_none());
        assert!(parse_reference("Patient/1/extra", "").is_none());
        assert_eq!(
            parse_reference("urn:uuid:abc", "").unwrap().target_url.as_deref(),
            Some("urn:uuid:abc")
        );
    }
}
