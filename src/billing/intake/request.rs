//! The intake request: its JSON shape, read field by field so that every refusal
//! names the field at fault, and its conversion to a FHIR Claim.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::billing::remittance::money::json_amount;
use crate::fhir::resource_type::ResourceType;

const ICD10_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const POS_SYSTEM: &str =
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";
const CLAIM_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/claim-type";
const PRIORITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/processpriority";
const CARE_TEAM_ROLE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/claimcareteamrole";
const INFORMATION_CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/claiminformationcategory";

/// What a document may say about itself: the FHIR Attachment fields a biller sends.
const DOCUMENT_FIELDS: &[&str] = &["contentType", "language", "data", "url", "title", "creation"];

/// A field of the request that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    /// Where in the request, as `procedures[0].charge`.
    pub field: String,
    pub message: String,
}

impl InvalidField {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A reference the request makes, checked for its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The request field it came from, for errors about what it points at.
    pub field: &'static str,
    pub resource_type: ResourceType,
    pub id: String,
}

impl Reference {
    fn to_json(&self) -> Value {
        json!({"reference": format!("{}/{}", self.resource_type, self.id)})
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    pub code: String,
    pub modifiers: Vec<String>,
    pub units: u32,
    pub charge: Decimal,
    pub service_date: NaiveDate,
    pub diagnosis_pointers: Vec<u32>,
    pub place_of_service: Option<String>,
}

/// A claim as a biller submits it, its values parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeRequest {
    pub patient: Reference,
    pub provider: Reference,
    pub coverage: Reference,
    pub rendering: Option<Reference>,
    pub diagnoses: Vec<String>,
    pub procedures: Vec<Procedure>,
    /// FHIR Attachments, kept as Claim.supportingInfo.
    pub documents: Vec<Map<String, Value>>,
    /// The sum of the procedures' charges.
    pub total: Decimal,
}

impl IntakeRequest {
    pub fn parse(body: &Value) -> Result<Self, InvalidField> {
        let fields = object(body, "request")?;
        let diagnoses = array(fields, "diagnoses", "diagnoses")?
            .iter()
            .enumerate()
            .map(|(index, code)| text(code, &format!("diagnoses[{index}]")).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let procedures = array(fields, "procedures", "procedures")?;
        if procedures.is_empty() {
            return Err(InvalidField::new(
                "procedures",
                "at least one procedure is needed",
            ));
        }
        let procedures = procedures
            .iter()
            .enumerate()
            .map(|(index, procedure)| parse_procedure(procedure, &format!("procedures[{index}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let total = procedures
            .iter()
            .try_fold(Decimal::ZERO, |sum, p| sum.checked_add(p.charge))
            .ok_or_else(|| InvalidField::new("procedures", "the charges are too large to add up"))?;
        Ok(IntakeRequest {
            patient: reference(fields, "patient", ResourceType::Patient)?,
            provider: reference(fields, "provider", ResourceType::Organization)?,
            coverage: reference(fields, "coverage", ResourceType::Coverage)?,
            rendering: match fields.get("rendering") {
                None | Some(Value::Null) => None,
                Some(_) => Some(reference(fields, "rendering", ResourceType::Practitioner)?),
            },
            diagnoses,
            procedures,
            documents: documents(fields)?,
            total,
        })
    }

    /// Every resource the claim will refer to.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        [&self.patient, &self.provider, &self.coverage]
            .into_iter()
            .chain(self.rendering.as_ref())
    }

    /// The professional Claim this request asks for, created on `created`, with the
    /// FHIR `status` it will be stored with.
    pub fn to_claim(&self, created: NaiveDate, status: &str) -> Value {
        // `json!` copies each value an expression hands it (it serializes it
        // again), a deep copy of every item: what is built here already goes in
        // afterwards, into the place its `null` keeps in the element order.
        let mut claim = json!({
            "resourceType": "Claim",
            "status": status,
            "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional"}]},
            "use": "claim",
            "patient": null,
            "created": created.to_string(),
            "provider": null,
            "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": true, "coverage": null}],
            "item": null,
            "total": {"value": json_amount(self.total), "currency": "USD"},
        });
        claim["patient"] = self.patient.to_json();
        claim["provider"] = self.provider.to_json();
        claim["insurance"][0]["coverage"] = self.coverage.to_json();
        claim["item"] = self
            .procedures
            .iter()
            .enumerate()
            .map(|(index, p)| item(index, p))
            .collect();
        if let Some(rendering) = &self.rendering {
            claim["careTeam"] = json!([{
                "sequence": 1,
                "provider": rendering.to_json(),
                "role": {"coding": [{"system": CARE_TEAM_ROLE_SYSTEM, "code": "primary"}]},
            }]);
        }
        if !self.diagnoses.is_empty() {
            let diagnoses: Vec<Value> = self
                .diagnoses
                .iter()
                .enumerate()
                .map(|(index, code)| {
                    json!({
                        "sequence": index + 1,
                        "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": code}]},
                    })
                })
                .collect();
            claim["diagnosis"] = Value::Array(diagnoses);
        }
        if !self.documents.is_empty() {
            let documents: Vec<Value> = self
                .documents
                .iter()
                .enumerate()
                .map(|(index, attachment)| {
                    json!({
                        "sequence": index + 1,
                        "category": {"coding": [{"system": INFORMATION_CATEGORY_SYSTEM, "code": "attachment"}]},
                        "valueAttachment": attachment,
                    })
                })
                .collect();
            claim["supportingInfo"] = Value::Array(documents);
        }
        claim
    }
}

fn item(index: usize, procedure: &Procedure) -> Value {
    // No coding system: a code may be CPT or HCPCS Level II, which billing tells
    // apart by its shape.
    let mut item = json!({
        "sequence": index + 1,
        "productOrService": {"coding": [{"code": procedure.code}]},
        "servicedDate": procedure.service_date.to_string(),
        "quantity": {"value": procedure.units},
        "net": {"value": json_amount(procedure.charge), "currency": "USD"},
    });
    if !procedure.modifiers.is_empty() {
        let modifiers: Vec<Value> = procedure
            .modifiers
            .iter()
            .map(|m| json!({"coding": [{"code": m}]}))
            .collect();
        item["modifier"] = Value::Array(modifiers);
    }
    if !procedure.diagnosis_pointers.is_empty() {
        item["diagnosisSequence"] = json!(procedure.diagnosis_pointers);
    }
    if let Some(place) = &procedure.place_of_service {
        item["locationCodeableConcept"] = json!({"coding": [{"system": POS_SYSTEM, "code": place}]});
    }
    item
}

fn parse_procedure(value: &Value, field: &str) -> Result<Procedure, InvalidField> {
    let fields = object(value, field)?;
    let at = |key: &str| format!("{field}.{key}");
    let units = match fields.get("units") {
        None | Some(Value::Null) => 1,
        Some(units) => positive(units, &at("units"))?,
    };
    Ok(Procedure {
        code: text(required(fields, "code", field)?, &at("code"))?.to_owned(),
        modifiers: optional_array(fields, "modifiers", field)?
            .iter()
            .enumerate()
            .map(|(index, m)| text(m, &format!("{field}.modifiers[{index}]")).map(str::to_owned))
            .collect::<Result<_, _>>()?,
        units,
        charge: money(required(fields, "charge", field)?, &at("charge"))?,
        service_date: date(required(fields, "serviceDate", field)?, &at("serviceDate"))?,
        diagnosis_pointers: optional_array(fields, "diagnosisPointers", field)?
            .iter()
            .enumerate()
            .map(|(index, p)| positive(p, &format!("{field}.diagnosisPointers[{index}]")))
            .collect::<Result<_, _>>()?,
        place_of_service: match fields.get("placeOfService") {
            None | Some(Value::Null) => None,
            Some(place) => Some(text(place, &at("placeOfService"))?.to_owned()),
        },
    })
}

/// The documents as FHIR Attachments, refusing fields an Attachment does not have
/// rather than storing a Claim that fails validation.
fn documents(fields: &Map<String, Value>) -> Result<Vec<Map<String, Value>>, InvalidField> {
    optional_array(fields, "documents", "")?
        .iter()
        .enumerate()
        .map(|(index, document)| {
            let field = format!("documents[{index}]");
            let attachment = object(document, &field)?;
            for (key, value) in attachment {
                if !DOCUMENT_FIELDS.contains(&key.as_str()) {
                    let known = DOCUMENT_FIELDS.join(", ");
                    return Err(InvalidField::new(
                        format!("{field}.{key}"),
                        format!("not a document field; documents have {known}"),
                    ));
                }
                text(value, &format!("{field}.{key}"))?;
            }
            Ok(attachment.clone())
        })
        .collect()
}

fn object<'v>(value: &'v Value, field: &str) -> Result<&'v Map<String, Value>, InvalidField> {
    value
        .as_object()
        .ok_or_else(|| InvalidField::new(field, "must be a JSON object"))
}

/// `key` of `fields`, whose own name is `parent` (empty at the top).
fn required<'v>(fields: &'v Map<String, Value>, key: &str, parent: &str) -> Result<&'v Value, InvalidField> {
    match fields.get(key) {
        None | Some(Value::Null) => Err(InvalidField::new(child(parent, key), "is required")),
        Some(value) => Ok(value),
    }
}

fn array<'v>(fields: &'v Map<String, Value>, key: &str, field: &str) -> Result<&'v Vec<Value>, InvalidField> {
    required(fields, key, "")?
        .as_array()
        .ok_or_else(|| InvalidField::new(field, "must be an array"))
}

fn optional_array<'v>(
    fields: &'v Map<String, Value>,
    key: &str,
    parent: &str,
) -> Result<&'v [Value], InvalidField> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(values)) => Ok(values),
        Some(_) => Err(InvalidField::new(child(parent, key), "must be an array")),
    }
}

fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn text<'v>(value: &'v Value, field: &str) -> Result<&'v str, InvalidField> {
    match value.as_str().map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(InvalidField::new(field, "must be a non-empty string")),
    }
}

fn positive(value: &Value, field: &str) -> Result<u32, InvalidField> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| InvalidField::new(field, "must be a positive whole number"))
}

/// `{"reference": "Type/id"}` to a resource of `expected` type.
fn reference(
    fields: &Map<String, Value>,
    key: &'static str,
    expected: ResourceType,
) -> Result<Reference, InvalidField> {
    let value = required(fields, key, "")?;
    let field = format!("{key}.reference");
    let reference = text(
        value
            .get("reference")
            .ok_or_else(|| InvalidField::new(&field, "is required"))?,
        &field,
    )?;
    match reference.split_once('/') {
        Some((resource_type, id))
            if resource_type == expected.to_string() && !id.is_empty() && !id.contains('/') =>
        {
            Ok(Reference {
                field: key,
                resource_type: expected,
                id: id.to_owned(),
            })
        }
        _ => Err(InvalidField::new(field, format!("must be {expected}/{{id}}"))),
    }
}

/// Dollars as a string ("125.00") or a number, never negative, in whole cents:
/// payers are billed in cents, and a fraction of one would be rounded silently.
fn money(value: &Value, field: &str) -> Result<Decimal, InvalidField> {
    let written = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return Err(InvalidField::new(field, "must be an amount such as \"125.00\"")),
    };
    let amount = Decimal::from_str(&written)
        .map_err(|_| InvalidField::new(field, format!("{written:?} is not an amount such as \"125.00\"")))?;
    if amount.is_sign_negative() {
        return Err(InvalidField::new(field, "must not be negative"));
    }
    if amount.normalize().scale() > 2 {
        return Err(InvalidField::new(field, "must be in whole cents"));
    }
    Ok(amount)
}

fn date(value: &Value, field: &str) -> Result<NaiveDate, InvalidField> {
    let written = text(value, field)?;
    NaiveDate::parse_from_str(written, "%Y-%m-%d")
        .map_err(|_| InvalidField::new(field, format!("{written:?} is not a date such as \"2026-11-01\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({
            "patient": {"reference": "Patient/p1"},
            "provider": {"reference": "Organization/o1"},
            "coverage": {"reference": "Coverage/c1"},
            "diagnoses": ["E11.9"],
            "procedures": [
                {"code": "99213", "modifiers": ["25"], "charge": "125.00", "serviceDate": "2026-11-01",
                 "diagnosisPointers": [1], "placeOfService": "11"},
                {"code": "36415", "units": 2, "charge": 10.5, "serviceDate": "2026-11-01"}
            ]
        })
    }

    fn refusal(body: &Value) -> String {
        IntakeRequest::parse(body).expect_err("refused").field
    }

    #[test]
    fn a_request_becomes_a_claim_with_the_summed_total() {
        let parsed = IntakeRequest::parse(&request()).expect("parses");
        let date = NaiveDate::from_ymd_opt(2026, 11, 2).expect("a date");
        let claim = parsed.to_claim(date, "active");
        assert_eq!(claim["total"]["value"].to_string(), "135.50");
        assert_eq!(claim["item"][1]["quantity"]["value"], 2);
        assert_eq!(claim["item"][0]["modifier"][0]["coding"][0]["code"], "25");
        assert_eq!(claim["diagnosis"][0]["sequence"], 1);
        assert!(claim.get("careTeam").is_none());
    }

    #[test]
    fn each_refusal_names_its_field() {
        let mut body = request();
        body.as_object_mut().expect("object").remove("patient");
        assert_eq!(refusal(&body), "patient");
        let mut body = request();
        body["procedures"][1]["charge"] = json!("ten dollars");
        assert_eq!(refusal(&body), "procedures[1].charge");
        body["procedures"][1]["charge"] = json!("1.005");
        assert_eq!(refusal(&body), "procedures[1].charge");
        let mut body = request();
        body["procedures"][0]["serviceDate"] = json!("11/01/2026");
        assert_eq!(refusal(&body), "procedures[0].serviceDate");
        let mut body = request();
        body["coverage"] = json!({"reference": "Patient/p1"});
        assert_eq!(refusal(&body), "coverage.reference");
        let mut body = request();
        body["documents"] = json!([{"title": "note", "body": "x"}]);
        assert_eq!(refusal(&body), "documents[0].body");
    }
}
