//! DFT^P03 (post detail financial transactions): FT1 charges become the items of the
//! encounter's draft Claim — procedure code, modifiers, units, amounts, the DG1
//! diagnoses they point to. Charges of later DFTs for the same encounter are added to
//! the same draft; a charge already on it (same FT1-2 transaction id) is not added twice.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::adt::{upsert_coverages, upsert_encounter, upsert_patient};
use super::datatypes::date;
use super::{missing, upsert, write_over, MappingContext, MappingError};
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::hl7::ack::{ErrorCode, ErrorLocation, Problem};
use crate::hl7::message::{Parsed, Repetition, SegmentView};

/// Marks a Claim item with the FT1-2 transaction id it came from.
const FT1_TRANSACTION: &str = "http://claimbridge.org/fhir/StructureDefinition/hl7-ft1-transaction-id";
/// Where a charge item keeps its diagnosis codes until they become pointers.
const DIAGNOSIS_CODES: &str = "diagnosisCodes";
const CPT: &str = "http://www.ama-assn.org/go/cpt";
const HCPCS: &str = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";

pub async fn post_charges(
    context: &mut MappingContext<'_>,
    message: &Parsed<'_>,
) -> Result<(), MappingError> {
    let pid = message
        .segment("PID")
        .ok_or_else(|| missing("PID", 3, "patient segment"))?;
    let patient_id = upsert_patient(context, &pid).await?;
    let encounter_id = match message.segment("PV1") {
        Some(pv1) => upsert_encounter(context, "P03", &pv1, &patient_id).await?,
        None => None,
    };
    let coverages = upsert_coverages(context, message, &patient_id).await?;
    let coverage_id = match coverages.into_iter().next() {
        Some(id) => id,
        None => existing_coverage(context, &patient_id)
            .await?
            .ok_or_else(|| missing("IN1", 3, "insurance: the patient has no Coverage to bill"))?,
    };

    let diagnoses = diagnoses(message);
    let mut items = Vec::new();
    for (n, ft1) in message.segments("FT1").enumerate() {
        match ft1.value(6, 1).as_deref() {
            Some("CG") | None => items.push(charge_item(&ft1, n + 1, &diagnoses)?),
            // Credits, payments and adjustments are posted by billing, not charged.
            Some(other) => context.warnings.push(Problem::warning(
                ErrorCode::TableValueNotFound,
                Some(ErrorLocation::field("FT1", n + 1, 6)),
                format!(
                    "FT1 #{} is a {other:?} transaction, not a charge (CG): not added to the claim",
                    n + 1
                ),
            )),
        }
    }
    if items.is_empty() {
        return Err(missing("FT1", 6, "charge transactions"));
    }
    let provider = message
        .segments("FT1")
        .find_map(|ft1| ft1.first(20).or_else(|| ft1.first(21)))
        .map(|xcn| practitioner_reference(&xcn))
        .unwrap_or_else(|| json!({"display": "unknown provider"}));
    let inpatient = message.segment("PV1").and_then(|pv1| pv1.value(2, 1)).as_deref() == Some("I");
    let today = context.today;
    let build = |current: Option<Value>| {
        let mut claim = match current {
            Some(Value::Object(current)) => current,
            _ => new_claim(&patient_id, &coverage_id, provider, inpatient, today),
        };
        claim.remove("meta");
        merge_diagnoses(&mut claim, &diagnoses);
        append_items(&mut claim, items, encounter_id.as_deref());
        Value::Object(claim)
    };
    match &encounter_id {
        Some(id) => {
            let query = format!("encounter=Encounter/{id}&status=draft");
            upsert(context, ResourceType::Claim, &query, build).await?
        }
        // Without a visit there is nothing to gather charges on: one claim per message.
        None => write_over(context, ResourceType::Claim, None, build).await?,
    };
    Ok(())
}

async fn existing_coverage(
    context: &mut MappingContext<'_>,
    patient_id: &str,
) -> Result<Option<String>, MappingError> {
    let ids = crate::fhir::conditional::all_matching_ids(
        context.session,
        ResourceType::Coverage,
        &format!("beneficiary=Patient/{patient_id}&status=active"),
        context.fhir.base_url(),
        1,
    )
    .await?;
    Ok(ids.into_iter().next())
}

/// DG1 diagnoses in order: (code, display, system URL).
fn diagnoses(message: &Parsed<'_>) -> Vec<(String, Option<String>, String)> {
    message
        .segments("DG1")
        .filter_map(|dg1| {
            let code = dg1.first(3)?;
            Some((
                code.component(1)?,
                code.component(2),
                code_system(code.component(3).as_deref()),
            ))
        })
        .collect()
}

fn code_system(v2: Option<&str>) -> String {
    match v2 {
        Some("I10" | "I10C" | "ICD10" | "ICD10CM" | "I10-CM") => "http://hl7.org/fhir/sid/icd-10-cm".into(),
        Some("I9" | "I9C") => "http://hl7.org/fhir/sid/icd-9-cm".into(),
        Some("SCT" | "SNM") => "http://snomed.info/sct".into(),
        Some("C4" | "CPT" | "CPT4") => CPT.into(),
        Some("HCPCS" | "HCPC") => HCPCS.into(),
        Some(other) => format!("urn:claimbridge:hl7:coding-system:{other}"),
        None => "urn:claimbridge:hl7:coding-system:unknown".into(),
    }
}

/// A procedure code's system: the one named, else told from the code's shape
/// (CPT: five digits or four and a letter; HCPCS Level II: a letter and four digits).
fn procedure_system(code: &str, named: Option<&str>) -> String {
    if named.is_some() {
        return code_system(named);
    }
    let bytes = code.as_bytes();
    match bytes {
        [a, b, c, d, e] if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) && e.is_ascii_alphanumeric() => {
            CPT.into()
        }
        [a, rest @ ..]
            if a.is_ascii_alphabetic() && rest.len() == 4 && rest.iter().all(u8::is_ascii_digit) =>
        {
            HCPCS.into()
        }
        _ => code_system(None),
    }
}

fn money(value: &str) -> Option<Value> {
    let amount = Decimal::from_str(value.trim()).ok()?;
    let number = serde_json::Number::from_str(&amount.round_dp(2).to_string()).ok()?;
    Some(json!({"value": number, "currency": "USD"}))
}

fn charge_item(
    ft1: &SegmentView<'_>,
    occurrence: usize,
    diagnoses: &[(String, Option<String>, String)],
) -> Result<Map<String, Value>, MappingError> {
    let procedure = ft1.first(25).or_else(|| ft1.first(7)).ok_or_else(|| {
        MappingError::Invalid(Problem::new(
            ErrorCode::RequiredFieldMissing,
            Some(ErrorLocation::field("FT1", occurrence, 25)),
            format!("FT1 #{occurrence} has no procedure code (FT1-25) or transaction code (FT1-7)"),
        ))
    })?;
    let code = procedure.component(1).unwrap_or_default();
    let system = procedure_system(&code, procedure.component(3).as_deref());
    let mut coding = json!({"system": system, "code": code});
    if let Some(display) = procedure.component(2) {
        coding["display"] = Value::String(display);
    }
    let mut item = Map::new();
    item.insert("productOrService".into(), json!({"coding": [coding]}));
    let modifiers: Vec<Value> = ft1
        .repetitions(26)
        .iter()
        .filter_map(|m| m.component(1))
        .map(|m| json!({"coding": [{"system": CPT, "code": m}]}))
        .collect();
    if !modifiers.is_empty() {
        item.insert("modifier".into(), Value::Array(modifiers));
    }
    let units = ft1
        .value(10, 1)
        .and_then(|q| Decimal::from_str(&q).ok())
        .unwrap_or(Decimal::ONE);
    item.insert(
        "quantity".into(),
        json!({"value": serde_json::Number::from_str(&units.to_string()).ok()}),
    );
    // FT1-11 extended amount and FT1-12 unit amount are CP: price&currency first.
    let unit = ft1
        .first(12)
        .and_then(|cp| cp.subcomponent(1, 1))
        .and_then(|v| money(&v));
    let extended = ft1
        .first(11)
        .and_then(|cp| cp.subcomponent(1, 1))
        .and_then(|v| money(&v));
    let net = match (&extended, &unit) {
        (Some(extended), _) => Some(extended.clone()),
        (None, Some(unit)) => unit["value"]
            .as_number()
            .and_then(|n| Decimal::from_str(&n.to_string()).ok())
            // An absurd unit amount or count overflows: no amount, so refused below.
            .and_then(|price| price.checked_mul(units))
            .and_then(|amount| money(&amount.to_string())),
        (None, None) => None,
    };
    let net = net.ok_or_else(|| {
        MappingError::Invalid(Problem::new(
            ErrorCode::RequiredFieldMissing,
            Some(ErrorLocation::field("FT1", occurrence, 11)),
            format!("FT1 #{occurrence} has no amount that can be billed (FT1-11, or FT1-12 times FT1-10)"),
        ))
    })?;
    if let Some(unit) = unit {
        item.insert("unitPrice".into(), unit);
    }
    item.insert("net".into(), net);
    // FT1-4 is a date range (DR): a charge for days of service (a rental, a stay)
    // names its last day too.
    let first = ft1.value(4, 1).as_deref().and_then(date);
    let last = ft1.value(4, 2).as_deref().and_then(date);
    match (first, last) {
        (Some(first), Some(last)) if last > first => {
            item.insert("servicedPeriod".into(), json!({"start": first, "end": last}));
        }
        (Some(first), _) => {
            item.insert("servicedDate".into(), Value::String(first));
        }
        (None, _) => {}
    }
    // The diagnoses the charge is for: the DG1 codes FT1-19 names, else the first four.
    // Kept as codes until the item joins a claim, whose diagnosis list numbers them.
    let named: Vec<String> = ft1
        .repetitions(19)
        .iter()
        .filter_map(|c| c.component(1))
        .collect();
    let codes: Vec<Value> = diagnoses
        .iter()
        .filter(|(code, _, _)| named.is_empty() || named.contains(code))
        .take(4)
        .map(|(code, _, _)| Value::String(code.clone()))
        .collect();
    item.insert(DIAGNOSIS_CODES.into(), Value::Array(codes));
    if let Some(transaction) = ft1.value(2, 1) {
        item.insert(
            "extension".into(),
            json!([{"url": FT1_TRANSACTION, "valueString": transaction}]),
        );
    }
    Ok(item)
}

fn practitioner_reference(xcn: &Repetition<'_>) -> Value {
    let name: Vec<String> = [xcn.component(3), xcn.component(2)]
        .into_iter()
        .flatten()
        .collect();
    let mut reference = Map::new();
    if let Some(id) = xcn.component(1) {
        let npi = xcn.subcomponent(9, 2).as_deref() == Some("2.16.840.1.113883.4.6")
            || xcn.component(13).as_deref() == Some("NPI");
        let system = if npi {
            "http://hl7.org/fhir/sid/us-npi"
        } else {
            "urn:claimbridge:hl7:provider-id"
        };
        reference.insert("identifier".into(), json!({"system": system, "value": id}));
    }
    if !name.is_empty() {
        reference.insert("display".into(), Value::String(name.join(" ")));
    }
    Value::Object(reference)
}

fn new_claim(
    patient_id: &str,
    coverage_id: &str,
    provider: Value,
    inpatient: bool,
    today: NaiveDate,
) -> Map<String, Value> {
    let mut claim = Map::new();
    claim.insert("resourceType".into(), json!("Claim"));
    claim.insert("status".into(), json!("draft"));
    claim.insert(
        "type".into(),
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                           "code": if inpatient { "institutional" } else { "professional" }}]}),
    );
    claim.insert("use".into(), json!("claim"));
    claim.insert(
        "patient".into(),
        json!({"reference": format!("Patient/{patient_id}")}),
    );
    claim.insert("created".into(), json!(today.to_string()));
    claim.insert("provider".into(), provider);
    claim.insert(
        "priority".into(),
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]}),
    );
    claim.insert(
        "insurance".into(),
        json!([{"sequence": 1, "focal": true, "coverage": {"reference": format!("Coverage/{coverage_id}")}}]),
    );
    claim
}

fn merge_diagnoses(claim: &mut Map<String, Value>, diagnoses: &[(String, Option<String>, String)]) {
    let mut list = claim
        .get("diagnosis")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (code, display, system) in diagnoses {
        let known = list.iter().any(|d| {
            d.at("/diagnosisCodeableConcept/coding/0/code")
                .and_then(Value::as_str)
                == Some(code)
        });
        if !known {
            let mut coding = json!({"system": system, "code": code});
            if let Some(display) = display {
                coding["display"] = Value::String(display.clone());
            }
            list.push(json!({"sequence": list.len() + 1, "diagnosisCodeableConcept": {"coding": [coding]}}));
        }
    }
    if !list.is_empty() {
        claim.insert("diagnosis".into(), Value::Array(list));
    }
}

/// Adds the charges not on the claim yet (by FT1-2 transaction id), each pointing to
/// its diagnoses by their sequence on the claim and to the encounter (in R4 a Claim
/// reaches its encounter through `item.encounter`, which `Claim?encounter=` searches).
fn append_items(
    claim: &mut Map<String, Value>,
    new_items: Vec<Map<String, Value>>,
    encounter_id: Option<&str>,
) {
    let mut items = claim
        .get("item")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let known: Vec<String> = items
        .iter()
        .filter_map(|i| transaction_of(i).map(str::to_owned))
        .collect();
    let sequences: Vec<(String, Value)> = claim
        .get("diagnosis")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|d| {
                    let code = d.at("/diagnosisCodeableConcept/coding/0/code")?.as_str()?;
                    Some((code.to_owned(), d.get("sequence")?.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    for mut item in new_items {
        let codes = item.remove(DIAGNOSIS_CODES).unwrap_or_default();
        let item_value = Value::Object(item.clone());
        if transaction_of(&item_value).is_some_and(|t| known.iter().any(|k| k == t)) {
            continue;
        }
        let pointers: Vec<Value> = codes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|code| {
                sequences
                    .iter()
                    .find(|(known, _)| Some(known.as_str()) == code.as_str())
            })
            .map(|(_, sequence)| sequence.clone())
            .collect();
        if !pointers.is_empty() {
            item.insert("diagnosisSequence".into(), Value::Array(pointers));
        }
        if let Some(encounter) = encounter_id {
            item.insert(
                "encounter".into(),
                json!([{"reference": format!("Encounter/{encounter}")}]),
            );
        }
        item.insert("sequence".into(), json!(items.len() + 1));
        items.push(Value::Object(item));
    }
    let total: Decimal = items
        .iter()
        .filter_map(|i| i.at("/net/value").and_then(Value::as_number))
        .filter_map(|n| Decimal::from_str(&n.to_string()).ok())
        .sum();
    claim.insert("item".into(), Value::Array(items));
    if let Some(total) = money(&total.to_string()) {
        claim.insert("total".into(), total);
    }
}

fn transaction_of(item: &Value) -> Option<&str> {
    item.get("extension")?
        .as_array()?
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(FT1_TRANSACTION))?
        .get("valueString")?
        .as_str()
}
