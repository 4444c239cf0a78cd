//! Billing checks as an EHR or biller meets them: a Claim and the resources it
//! references are stored through the FHIR API, then `Claim/{id}/$validate` answers
//! with the scrub findings as an OperationOutcome.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(
    a_clean_claim_passes_every_rule,
    a_faulty_claim_gets_each_problem_with_its_path,
    the_same_service_billed_twice_is_a_duplicate,
);

const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
const TAX_ID: &str = "urn:oid:2.16.840.1.113883.4.4";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const POS: &str = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";

/// Stores a patient, payer, clinic (billing provider), doctor and coverage; returns
/// a Claim body referring to them, dated ten days ago.
async fn claim_for_new_patient(app: &TestApp) -> Value {
    let id = |resource: Value| resource["id"].as_str().unwrap().to_owned();
    let patient = id(app
        .create(
            &json!({"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Jane"]}],
                         "birthDate": "1980-02-29", "gender": "female"}),
        )
        .await);
    let payer = id(app
        .create(&json!({"resourceType": "Organization", "name": "Acme Health",
                         "identifier": [{"system": "urn:payer-id", "value": "ACME01"}]}))
        .await);
    let clinic = id(app
        .create(&json!({"resourceType": "Organization", "name": "Good Clinic",
                         "identifier": [{"system": NPI, "value": "1234567893"},
                                        {"system": TAX_ID, "value": "12-3456789"}]}))
        .await);
    let doctor = id(app
        .create(
            &json!({"resourceType": "Practitioner", "name": [{"family": "Welby", "given": ["Marcus"]}],
                         "identifier": [{"system": NPI, "value": "1245319599"}]}),
        )
        .await);
    let coverage = id(app
        .create(
            &json!({"resourceType": "Coverage", "status": "active", "subscriberId": "M123",
                         "beneficiary": {"reference": format!("Patient/{patient}")},
                         "payor": [{"reference": format!("Organization/{payer}")}],
                         "period": {"start": "2020-01-01"}}),
        )
        .await);
    let served = (Utc::now() - Duration::days(10)).date_naive().to_string();
    json!({
        "resourceType": "Claim", "status": "active", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "created": Utc::now().date_naive().to_string(),
        "priority": {"coding": [{"code": "normal"}]},
        "patient": {"reference": format!("Patient/{patient}")},
        "provider": {"reference": format!("Organization/{clinic}")},
        "careTeam": [{"sequence": 1, "provider": {"reference": format!("Practitioner/{doctor}")},
                      "role": {"coding": [{"code": "primary"}]}}],
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": format!("Coverage/{coverage}")}}],
        "diagnosis": [
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "E11.9"}]}},
            {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "I10"}]}}
        ],
        "item": [
            {"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]},
             "modifier": [{"coding": [{"code": "25"}]}], "servicedDate": served,
             "quantity": {"value": 1}, "net": {"value": 125.00, "currency": "USD"}, "diagnosisSequence": [1, 2],
             "locationCodeableConcept": {"coding": [{"system": POS, "code": "11"}]}},
            {"sequence": 2, "productOrService": {"coding": [{"code": "36415"}]}, "servicedDate": served,
             "quantity": {"value": 1}, "net": {"value": 21.00, "currency": "USD"}, "diagnosisSequence": [1],
             "locationCodeableConcept": {"coding": [{"system": POS, "code": "11"}]}}
        ],
        "total": {"value": 146.00, "currency": "USD"}
    })
}

async fn validate(app: &TestApp, claim: &Value) -> Value {
    let stored = app.create(claim).await;
    let id = stored["id"].as_str().unwrap();
    let response = app.post(&format!("Claim/{id}/$validate"), &stored).await;
    assert_eq!(response.status(), 200);
    fhir_json(response).await
}

/// The finding codes of an outcome's issues, by expression.
fn findings(outcome: &Value) -> Vec<(String, String)> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] != "information")
        .map(|i| {
            (
                i["expression"][0].as_str().unwrap_or_default().to_owned(),
                i["details"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

async fn a_clean_claim_passes_every_rule(app: &TestApp) {
    let claim = claim_for_new_patient(app).await;
    let outcome = validate(app, &claim).await;
    assert_eq!(findings(&outcome), [], "{outcome}");
    assert_eq!(outcome["issue"][0]["severity"], "information");
}

async fn a_faulty_claim_gets_each_problem_with_its_path(app: &TestApp) {
    let mut claim = claim_for_new_patient(app).await;
    claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] = json!("E11");
    claim["item"][1]["productOrService"]["coding"][0]["code"] = json!("36415");
    claim["item"][1]["modifier"] = json!([{"coding": [{"code": "25"}]}]);
    claim["item"][1]["diagnosisSequence"] = json!([3]);
    claim["total"]["value"] = json!(150.00);
    let outcome = validate(app, &claim).await;
    let found = findings(&outcome);
    for expected in [
        (
            "Claim.diagnosis[0].diagnosisCodeableConcept",
            "DIAGNOSIS_NOT_BILLABLE",
        ),
        ("Claim.item[1].modifier[0]", "MODIFIER_25_WITHOUT_EM"),
        (
            "Claim.item[1].diagnosisSequence[0]",
            "DIAGNOSIS_POINTER_NO_DIAGNOSIS",
        ),
    ] {
        assert!(
            found
                .iter()
                .any(|(path, code)| (path.as_str(), code.as_str()) == expected),
            "{expected:?} not in {found:?}"
        );
    }
    assert!(
        found.iter().any(|(_, code)| code == "TOTAL_MISMATCH"),
        "{found:?}"
    );
    let errors = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error");
    assert!(errors.count() >= 4, "{outcome}");

    // A reference to nothing is named, not a server error.
    claim["provider"]["reference"] = json!("Organization/missing");
    let outcome = validate(app, &claim).await;
    assert_eq!(
        outcome["issue"][0]["expression"][0], "Claim.provider",
        "{outcome}"
    );
}

async fn the_same_service_billed_twice_is_a_duplicate(app: &TestApp) {
    let claim = claim_for_new_patient(app).await;
    assert_eq!(findings(&validate(app, &claim).await), []);
    let outcome = validate(app, &claim).await;
    let found = findings(&outcome);
    assert!(
        found
            .iter()
            .any(|(path, code)| path == "Claim.item[0]" && code == "DUPLICATE_SERVICE"),
        "{found:?}"
    );
}
