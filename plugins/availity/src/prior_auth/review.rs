//! The `ServiceReview` of Availity's Swagger: written from the server's Da Vinci
//! PAS-shaped Bundle (a Claim with `use = preauthorization`, then its Patient,
//! Coverage, insurer and provider), and read back into a decision.
//!
//! Codes are the X12 278's, which the API carries: `requestTypeCode` `HS` (health
//! services review, UM01), `serviceTypeCode` `1` (medical care), procedure
//! qualifier `HC` (CPT/HCPCS), diagnosis qualifiers `ABK` (principal) and `ABF`,
//! relationship `18` (self) or `19` (child) / `G8` (other).

use chrono::NaiveDate;
use claimbridge_plugin_sdk::{PluginError, PriorAuthDecision, PriorAuthOutcome};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{describe_all, ValidationMessage};

const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";

/// What the plugin reads of a review.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceReview {
    pub id: String,
    pub status: Option<String>,
    pub status_code: Option<String>,
    pub certification_number: Option<String>,
    pub certification_effective_date: Option<String>,
    pub certification_expiration_date: Option<String>,
    pub status_reasons: Vec<CodeValue>,
    pub payer_notes: Vec<Note>,
    pub procedures: Vec<ReviewedProcedure>,
    pub validation_messages: Vec<ValidationMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CodeValue {
    pub code: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Note {
    pub message: Option<String>,
}

/// A procedure's own certification, when the payer certifies line by line.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewedProcedure {
    pub certification_number: Option<String>,
    pub certification_effective_date: Option<String>,
    pub certification_expiration_date: Option<String>,
}

/// The decision a review holds. `statusCode` is HCR01 (X12 code list 306): `A1`
/// certified in total, `A2` certified partial, `A6` modified — approved; `A3` not
/// certified — denied; `NA` no action required — approved with no number to quote;
/// `C` cancelled — denied; `R` the request was refused (its `validationMessages`
/// say why) — an error; anything else (`A4` pended, `CT` contact payer, `D`
/// deferred, still in progress) — pended, asked again later.
pub fn decision(id: &str, review: &ServiceReview) -> Result<PriorAuthDecision, PluginError> {
    let code = review.status_code.as_deref().unwrap_or("");
    if code == "R" {
        return Err(PluginError::rejected(format!(
            "Availity refused the service review: {}",
            describe_all(&review.validation_messages, review.status.as_deref())
        )));
    }
    let outcome = match code {
        "A1" | "A2" | "A6" | "NA" => PriorAuthOutcome::Approved,
        "A3" | "C" => PriorAuthOutcome::Denied,
        _ => PriorAuthOutcome::Pended,
    };
    let certified = review
        .procedures
        .iter()
        .find(|p| p.certification_number.is_some());
    let reference = review
        .certification_number
        .clone()
        .or_else(|| certified.and_then(|p| p.certification_number.clone()));
    let period = period(
        review.certification_effective_date.as_deref(),
        review.certification_expiration_date.as_deref(),
    )
    .or_else(|| {
        certified.and_then(|p| {
            period(
                p.certification_effective_date.as_deref(),
                p.certification_expiration_date.as_deref(),
            )
        })
    });
    Ok(PriorAuthDecision {
        outcome,
        reference: (outcome == PriorAuthOutcome::Approved)
            .then_some(reference)
            .flatten(),
        period: (outcome == PriorAuthOutcome::Approved)
            .then_some(period)
            .flatten(),
        note: note(review),
        tracking_id: (outcome == PriorAuthOutcome::Pended).then(|| id.to_owned()),
    })
}

fn period(start: Option<&str>, end: Option<&str>) -> Option<(NaiveDate, NaiveDate)> {
    let date = |text: Option<&str>| NaiveDate::parse_from_str(text?.get(..10)?, "%Y-%m-%d").ok();
    Some((date(start)?, date(end)?))
}

/// "Certified In Total; Medical necessity met; Valid for one course of therapy".
fn note(review: &ServiceReview) -> String {
    let parts: Vec<&str> = review
        .status
        .as_deref()
        .into_iter()
        .chain(review.status_reasons.iter().filter_map(|r| r.value.as_deref()))
        .chain(review.payer_notes.iter().filter_map(|n| n.message.as_deref()))
        .collect();
    if parts.is_empty() {
        format!("status {}", review.status_code.as_deref().unwrap_or("unknown"))
    } else {
        parts.join("; ")
    }
}

/// The `ServiceReview` to POST for a PAS Bundle; a missing part is a final error
/// naming it.
pub fn service_review(bundle: &Value) -> Result<Value, PluginError> {
    let resources: Vec<&Value> = bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("resource"))
        .collect();
    let missing = |what: &str| PluginError::rejected(format!("the prior authorization Bundle {what}"));
    let claim = resources
        .iter()
        .find(|r| r["resourceType"] == "Claim")
        .ok_or_else(|| missing("holds no Claim"))?;
    let referenced = |field: &str| {
        let reference = claim[field]["reference"].as_str()?;
        let (kind, id) = reference
            .rsplit_once('/')
            .map(|(k, i)| (k.rsplit('/').next().unwrap_or(k), i))?;
        resources
            .iter()
            .copied()
            .find(|r| r["resourceType"] == kind && r["id"] == id)
    };
    let patient = referenced("patient").ok_or_else(|| missing("holds no Patient for Claim.patient"))?;
    let insurer = referenced("insurer").ok_or_else(|| missing("holds no Organization for Claim.insurer"))?;
    let provider = referenced("provider").ok_or_else(|| missing("holds no provider for Claim.provider"))?;
    let coverage = resources
        .iter()
        .find(|r| r["resourceType"] == "Coverage")
        .ok_or_else(|| missing("holds no Coverage"))?;
    let payer_id = insurer["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|identifier| identifier["value"].as_str())
        .ok_or_else(|| missing("names no payer id (the insurer has no identifier)"))?;
    let member_id = coverage["subscriberId"]
        .as_str()
        .ok_or_else(|| missing("names no member id (Coverage.subscriberId)"))?;
    let npi = provider["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|identifier| identifier["system"] == NPI_SYSTEM)
        .and_then(|identifier| identifier["value"].as_str())
        .ok_or_else(|| missing("names no NPI for the requesting provider"))?;
    let (patient_first, patient_last) = person_name(patient);
    let birth_date = patient["birthDate"]
        .as_str()
        .ok_or_else(|| missing("gives no birth date for the patient"))?;
    let dates: Vec<&str> = claim["item"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["servicedDate"].as_str())
        .collect();
    let created = claim["created"].as_str().and_then(|c| c.get(..10));
    let from = dates
        .iter()
        .min()
        .copied()
        .or(created)
        .ok_or_else(|| missing("dates nothing"))?;
    let to = dates.iter().max().copied().unwrap_or(from);
    let relationship = match coverage["relationship"]["coding"][0]["code"].as_str() {
        None | Some("self") => "18",
        Some("child") => "19",
        Some(_) => "G8",
    };
    let mut review = json!({
        "requestTypeCode": "HS",
        "serviceTypeCode": "1",
        "placeOfServiceCode": "11",
        "fromDate": from,
        "toDate": to,
        "payer": {"id": payer_id},
        "requestingProvider": requesting_provider(provider, npi),
        "subscriber": {"memberId": member_id},
        "patient": {
            "firstName": patient_first,
            "lastName": patient_last,
            "birthDate": birth_date,
            "subscriberRelationshipCode": relationship,
        },
        "diagnoses": diagnoses(claim),
        "procedures": procedures(claim, from),
    });
    if relationship == "18" {
        review["subscriber"]["firstName"] = json!(patient_first);
        review["subscriber"]["lastName"] = json!(patient_last);
    }
    Ok(review)
}

fn person_name(person: &Value) -> (Option<&str>, Option<&str>) {
    let name = &person["name"][0];
    (name["given"][0].as_str(), name["family"].as_str())
}

fn requesting_provider(provider: &Value, npi: &str) -> Value {
    if provider["resourceType"] == "Organization" {
        return json!({"npi": npi, "lastName": provider["name"]});
    }
    let (first, last) = person_name(provider);
    json!({"npi": npi, "firstName": first, "lastName": last})
}

/// ICD-10-CM codes without their dot, the first as the principal diagnosis.
fn diagnoses(claim: &Value) -> Vec<Value> {
    claim["diagnosis"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["diagnosisCodeableConcept"]["coding"][0]["code"].as_str())
        .enumerate()
        .map(|(index, code)| {
            json!({
                "qualifierCode": if index == 0 { "ABK" } else { "ABF" },
                "code": code.replace('.', ""),
            })
        })
        .collect()
}

fn procedures(claim: &Value, default_date: &str) -> Vec<Value> {
    claim["item"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let date = item["servicedDate"].as_str().unwrap_or(default_date);
            json!({
                "qualifierCode": "HC",
                "code": item["productOrService"]["coding"][0]["code"],
                "quantity": item["quantity"]["value"].to_string(),
                "quantityTypeCode": "UN",
                "fromDate": date,
                "toDate": date,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Value {
        json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Claim", "id": "c1", "use": "preauthorization",
                "created": "2026-11-20T10:00:00Z",
                "patient": {"reference": "Patient/p1"}, "insurer": {"reference": "Organization/o1"},
                "provider": {"reference": "Practitioner/d1"},
                "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "M54.50"}]}}],
                "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "97110"}]},
                          "quantity": {"value": 12}, "servicedDate": "2026-12-01"}]}},
            {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-03",
                "name": [{"family": "Doe", "given": ["Jane"]}]}},
            {"resource": {"resourceType": "Coverage", "id": "cv1", "subscriberId": "M123"}},
            {"resource": {"resourceType": "Organization", "id": "o1",
                "identifier": [{"system": "urn:payer", "value": "SIM001"}]}},
            {"resource": {"resourceType": "Practitioner", "id": "d1",
                "identifier": [{"system": NPI_SYSTEM, "value": "1234567893"}],
                "name": [{"family": "Careful", "given": ["Adam"]}]}},
        ]})
    }

    #[test]
    fn the_bundle_becomes_a_health_services_review() {
        let review = service_review(&bundle()).unwrap();
        assert_eq!(review["requestTypeCode"], "HS");
        assert_eq!(review["payer"]["id"], "SIM001");
        assert_eq!(review["subscriber"]["memberId"], "M123");
        assert_eq!(review["subscriber"]["lastName"], "Doe");
        assert_eq!(review["patient"]["subscriberRelationshipCode"], "18");
        assert_eq!(review["requestingProvider"]["npi"], "1234567893");
        assert_eq!(
            review["diagnoses"][0],
            json!({"qualifierCode": "ABK", "code": "M5450"})
        );
        assert_eq!(review["procedures"][0]["code"], "97110");
        assert_eq!(review["procedures"][0]["quantity"], "12");
        assert_eq!(
            (review["fromDate"].as_str(), review["toDate"].as_str()),
            (Some("2026-12-01"), Some("2026-12-01"))
        );
    }

    #[test]
    fn a_missing_part_is_named() {
        let mut no_npi = bundle();
        no_npi["entry"][4]["resource"]["identifier"] = json!([]);
        let error = service_review(&no_npi).unwrap_err().to_string();
        assert!(error.contains("NPI"), "{error}");
        let mut no_birth_date = bundle();
        no_birth_date["entry"][1]["resource"]["birthDate"] = Value::Null;
        let error = service_review(&no_birth_date).unwrap_err().to_string();
        assert!(error.contains("birth date"), "{error}");
    }

    fn review(code: &str) -> ServiceReview {
        serde_json::from_value(json!({
            "id": "74", "status": "Certified In Total", "statusCode": code,
            "procedures": [{"certificationNumber": "AUTH-9",
                "certificationEffectiveDate": "2026-12-01", "certificationExpirationDate": "2027-02-28"}],
        }))
        .unwrap()
    }

    #[test]
    fn the_action_code_decides() {
        let approved = decision("74", &review("A1")).unwrap();
        assert_eq!(approved.outcome, PriorAuthOutcome::Approved);
        assert_eq!(approved.reference.as_deref(), Some("AUTH-9"));
        assert_eq!(
            approved.period,
            Some((
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()
            ))
        );
        assert_eq!(approved.tracking_id, None);
        let denied = decision("74", &review("A3")).unwrap();
        assert_eq!(
            (denied.outcome, denied.reference),
            (PriorAuthOutcome::Denied, None)
        );
        let pended = decision("74", &review("A4")).unwrap();
        assert_eq!(
            (pended.outcome, pended.tracking_id.as_deref()),
            (PriorAuthOutcome::Pended, Some("74"))
        );
        assert!(decision("74", &review("R")).is_err());
    }
}
