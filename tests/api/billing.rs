//! Billing checks as an EHR or biller meets them: a Claim and the resources it
//! references are stored through the FHIR API, then `Claim/{id}/$validate` answers
//! with the scrub findings as an OperationOutcome.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{fhir_json, Server, TestApp};

crate::on_both_backends!(
    a_clean_claim_passes_every_rule,
    a_faulty_claim_gets_each_problem_with_its_path,
    the_same_service_billed_twice_is_a_duplicate,
    pointers_name_diagnoses_by_sequence_and_periods_end_on_their_last_day,
    a_claim_moves_through_its_states_and_is_written_as_837p,
    a_claim_with_errors_goes_to_review,
    the_worklist_pages_claims_by_status,
);

const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
const TAX_ID: &str = "urn:oid:2.16.840.1.113883.4.4";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const POS: &str = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";

/// Stores a patient, payer, clinic (billing provider), doctor and coverage; returns
/// a Claim body referring to them, dated ten days ago.
pub(crate) async fn claim_for_new_patient(app: &impl Server) -> Value {
    let id = |resource: Value| resource["id"].as_str().unwrap().to_owned();
    let patient = id(app
        .create(
            &json!({"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Jane"]}],
                         "birthDate": "1980-02-29", "gender": "female",
                         "address": [{"line": ["1 Elm St"], "city": "Durham", "state": "NC", "postalCode": "27701"}]}),
        )
        .await);
    let payer = id(app
        .create(&json!({"resourceType": "Organization", "name": "Acme Health",
                         "identifier": [{"system": "urn:payer-id", "value": "ACME01"}]}))
        .await);
    let clinic = id(app
        .create(&json!({"resourceType": "Organization", "name": "Good Clinic",
                         "identifier": [{"system": NPI, "value": "1234567893"},
                                        {"system": TAX_ID, "value": "12-3456789"}],
                         "address": [{"line": ["100 Main St"], "city": "Durham", "state": "NC", "postalCode": "277010000"}]}))
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

    // Lines dated only through the claim's billable period are the same services.
    let mut undated = claim_for_new_patient(app).await;
    let served = undated["item"][0]["servicedDate"].clone();
    undated["billablePeriod"] = json!({"start": served, "end": served});
    for item in undated["item"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("servicedDate");
    }
    assert_eq!(findings(&validate(app, &undated).await), []);
    let found = findings(&validate(app, &undated).await);
    assert!(
        found.iter().any(|(_, code)| code == "DUPLICATE_SERVICE"),
        "{found:?}"
    );

    // A unit price times a count past what a decimal holds is a line without a
    // charge, reported, not a failed request.
    let mut absurd = claim_for_new_patient(app).await;
    let item = absurd["item"][0].as_object_mut().unwrap();
    item.remove("net");
    item.insert(
        "unitPrice".into(),
        json!({"value": 1_000_000_000_000_000_u64, "currency": "USD"}),
    );
    item.insert("quantity".into(), json!({"value": 100_000_000_000_000_u64}));
    let found = findings(&validate(app, &absurd).await);
    assert!(
        found.iter().any(|(path, _)| path.starts_with("Claim.item[0]")),
        "{found:?}"
    );
}

async fn pointers_name_diagnoses_by_sequence_and_periods_end_on_their_last_day(app: &TestApp) {
    // The problem list's SNOMED CT code comes first and is not billed; the lines
    // point at the ICD-10-CM diagnoses by the sequences written on them.
    let claim_with_a_problem_list = |mut claim: Value| {
        claim["diagnosis"] = json!([
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}},
            {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "E11.9"}]}},
            {"sequence": 5, "diagnosisCodeableConcept": {"coding": [{"system": ICD10, "code": "I10"}]}}
        ]);
        claim["item"][0]["diagnosisSequence"] = json!([2, 5]);
        claim["item"][1]["diagnosisSequence"] = json!([5]);
        claim
    };
    let claim = claim_with_a_problem_list(claim_for_new_patient(app).await);
    let outcome = validate(app, &claim).await;
    assert_eq!(findings(&outcome), [], "{outcome}");

    let mut claim = claim_with_a_problem_list(claim_for_new_patient(app).await);
    // Pointing at the SNOMED CT diagnosis points at nothing an 837P can carry.
    claim["item"][1]["diagnosisSequence"] = json!([1]);
    // A period of service that runs to tomorrow is not over.
    let served = claim["item"][0]["servicedDate"].clone();
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();
    let item = claim["item"][0].as_object_mut().unwrap();
    item.remove("servicedDate");
    item.insert("servicedPeriod".into(), json!({"start": served, "end": tomorrow}));
    let found = findings(&validate(app, &claim).await);
    assert_eq!(
        found,
        [
            (
                "Claim.item[1].diagnosisSequence[0]".to_owned(),
                "DIAGNOSIS_POINTER_NO_DIAGNOSIS".to_owned()
            ),
            (
                "Claim.item[0].servicedPeriod".to_owned(),
                "SERVICE_DATE_IN_FUTURE".to_owned()
            ),
        ]
    );
}

/// A server whose operator has changed the shipped scrub rules (`billing_scrub_rules`).
mod operator_rules {
    use serde_json::json;

    use crate::helpers::{TestApp, TestOptions};

    /// Duplicates are errors for everyone; Acme takes claims for 5 days only and
    /// does not mind a misplaced modifier 25.
    const CHANGED: TestOptions = TestOptions {
        scrub_rules: Some(
            r#"{"rules": [
                {"id": "duplicate-claim", "severity": "error"},
                {"id": "timely-filing", "payers": {"ACME01": {"days": 5}}},
                {"id": "modifier-25-with-em", "payers": {"ACME01": {"enabled": false}}}
            ]}"#,
        ),
        ..TestOptions::SANDBOX
    };

    crate::on_both_backends!(with super::CHANGED; the_operators_rules_are_applied);

    async fn the_operators_rules_are_applied(app: &TestApp) {
        let mut claim = super::claim_for_new_patient(app).await;
        claim["item"][1]["modifier"] = json!([{"coding": [{"code": "25"}]}]);
        let outcome = super::validate(app, &claim).await;
        // Ten days ago is past Acme's five; the 25 on a draw passes for Acme.
        assert_eq!(
            super::findings(&outcome),
            [
                (
                    "Claim.item[0].servicedDate".to_owned(),
                    "TIMELY_FILING_EXPIRED".to_owned()
                ),
                (
                    "Claim.item[1].servicedDate".to_owned(),
                    "TIMELY_FILING_EXPIRED".to_owned()
                ),
            ],
            "{outcome}"
        );
        let outcome = super::validate(app, &claim).await;
        let duplicate = outcome["issue"]
            .as_array()
            .unwrap()
            .iter()
            .find(|issue| issue["details"]["coding"][0]["code"] == "DUPLICATE_SERVICE")
            .unwrap_or_else(|| panic!("no duplicate in {outcome}"));
        assert_eq!(duplicate["severity"], "error", "{outcome}");
    }
}

async fn billing_json(response: reqwest::Response, expected: u16) -> Value {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, expected, "{body}");
    body
}

async fn billing_post(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.server_url(path))
        .json(body)
        .send()
        .await
        .expect("POST")
}

async fn a_claim_moves_through_its_states_and_is_written_as_837p(app: &TestApp) {
    let stored = app.create(&claim_for_new_patient(app).await).await;
    let id = stored["id"].as_str().unwrap();
    let api = |rest: &str| format!("/api/billing/claims/{id}{rest}");
    let get = |path: String| async move { app.client.get(app.server_url(&path)).send().await.unwrap() };

    let status = billing_json(get(api("")).await, 200).await;
    assert_eq!(status["status"], "draft");

    let refused = billing_json(
        billing_post(app, &api("/transitions"), &json!({"to": "paid"})).await,
        409,
    )
    .await;
    assert_eq!(refused["state"], "draft");
    assert!(
        refused["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("ready_to_submit")),
        "{refused}"
    );
    billing_json(
        billing_post(app, &api("/transitions"), &json!({"to": "lost"})).await,
        400,
    )
    .await;

    let checked = billing_json(
        billing_post(app, &api("/validate"), &json!({"actor": "biller-1"})).await,
        200,
    )
    .await;
    assert_eq!(checked["cleanClaim"], true, "{checked}");
    assert_eq!(checked["status"], "ready_to_submit");
    let moves: Vec<(Value, Value)> = checked["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].clone(), m["to"].clone()))
        .collect();
    assert_eq!(
        moves,
        [
            (Value::Null, json!("draft")),
            (json!("draft"), json!("ready_to_submit"))
        ]
    );
    assert_eq!(checked["statusHistory"][1]["actor"], "biller-1");

    let response = get(api("/837")).await;
    let status = response.status();
    let document = response.text().await.unwrap();
    assert_eq!(status, 200, "{document}");
    let summary = claimbridge::x12::check_envelope(&document).expect("counts and control numbers agree");
    assert_eq!(summary.groups[0].functional_id, "HC");
    for expected in [
        "*005010X222A1~",
        "NM1*85*2*Good Clinic*****XX*1234567893~",
        "SV1*HC:99213:25*125*UN*1***1:2~",
        "HI*ABK:E119*ABF:I10~",
    ] {
        assert!(document.contains(expected), "{expected} not in {document}");
    }
    let clm = document
        .split('~')
        .find(|s| s.trim_start().starts_with("CLM*"))
        .unwrap();
    assert!(clm.trim_start().starts_with("CLM*CB"), "{clm}");
    // Each document gets its own interchange control number.
    let again = get(api("/837")).await.text().await.unwrap();
    let again = claimbridge::x12::check_envelope(&again).unwrap();
    assert_ne!(again.control_number, summary.control_number);

    // What only the server records (a submission a receipt or an admin settled).
    billing_json(
        billing_post(
            app,
            &api("/transitions"),
            &json!({"to": "submitted", "details": {"submissionId": "cb-1"}}),
        )
        .await,
        400,
    )
    .await;
    let sent = json!({"to": "submitted", "actor": "biller-1", "reason": "sent to the clearinghouse"});
    let moved = billing_json(billing_post(app, &api("/transitions"), &sent).await, 200).await;
    assert_eq!(moved["status"], "submitted");
    assert_eq!(moved["fhirStatus"], "active");
    assert_eq!(moved["statusHistory"][2]["reason"], "sent to the clearinghouse");
    billing_json(
        billing_post(app, &api("/transitions"), &json!({"to": "draft"})).await,
        409,
    )
    .await;

    let missing = app
        .client
        .get(app.server_url("/api/billing/claims/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

async fn a_claim_with_errors_goes_to_review(app: &TestApp) {
    let mut claim = claim_for_new_patient(app).await;
    claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] = json!("E11");
    let stored = app.create(&claim).await;
    let id = stored["id"].as_str().unwrap();
    let checked = billing_json(
        billing_post(app, &format!("/api/billing/claims/{id}/validate"), &json!({})).await,
        200,
    )
    .await;
    assert_eq!(checked["cleanClaim"], false);
    assert_eq!(checked["status"], "needs_review");
    assert_eq!(
        checked["scrubResults"][0]["code"], "DIAGNOSIS_NOT_BILLABLE",
        "{checked}"
    );
    assert_eq!(
        checked["statusHistory"][1]["details"][0]["code"],
        "DIAGNOSIS_NOT_BILLABLE"
    );
    // FHIR readers see a claim being prepared.
    let fhir = fhir_json(app.get(&format!("Claim/{id}")).await).await;
    assert_eq!(fhir["status"], "draft");
}

async fn the_worklist_pages_claims_by_status(app: &TestApp) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        let stored = app.create(&claim_for_new_patient(app).await).await;
        let id = stored["id"].as_str().unwrap().to_owned();
        billing_json(
            billing_post(app, &format!("/api/billing/claims/{id}/validate"), &json!({})).await,
            200,
        )
        .await;
        ids.push(id);
    }
    let sent = json!({"to": "submitted"});
    billing_json(
        billing_post(app, &format!("/api/billing/claims/{}/transitions", ids[0]), &sent).await,
        200,
    )
    .await;

    let list = |query: &str| {
        let url = app.server_url(&format!("/api/billing/claims{query}"));
        async move { app.client.get(url).send().await.unwrap() }
    };
    let ready = billing_json(list("?status=ready_to_submit&limit=1").await, 200).await;
    assert_eq!(ready["claims"].as_array().unwrap().len(), 1);
    assert_eq!(ready["claims"][0]["claimId"], ids[2].as_str(), "newest first");
    let before = ready["nextBefore"].as_i64().unwrap();
    let next = billing_json(
        list(&format!("?status=ready_to_submit&limit=1&before={before}")).await,
        200,
    )
    .await;
    assert_eq!(next["claims"][0]["claimId"], ids[1].as_str());
    let submitted = billing_json(list("?status=submitted").await, 200).await;
    assert_eq!(submitted["claims"].as_array().unwrap().len(), 1);
    assert_eq!(submitted["claims"][0]["claimId"], ids[0].as_str());
    assert!(submitted["claims"][0]["number"]
        .as_str()
        .unwrap()
        .starts_with("CB"));
    billing_json(list("?status=lost").await, 400).await;
}
