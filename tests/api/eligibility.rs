//! Eligibility checks as a front desk makes them: `POST /api/billing/eligibility/check`
//! writes a 270 from the stored patient and coverage, the sandbox clearinghouse reads
//! it and answers a 271 whose benefits follow from the member id it found there, and
//! the answer comes back as JSON and as FHIR resources.

use serde_json::{json, Value};

use crate::helpers::{fhir_json, TestApp};

mod sandbox {
    use super::*;

    crate::on_both_backends!(
        with crate::helpers::TestOptions::SANDBOX;
        a_check_answers_with_the_benefits_of_the_member_asked_about,
        a_dependent_is_checked_under_the_subscribers_member_id,
        history_lists_a_patients_checks_newest_first,
        inactive_and_unknown_members_are_answered_as_such,
        a_failed_check_keeps_nothing,
        bad_requests_name_their_field,
    );
}

crate::on_both_backends!(without_an_integration_checks_answer_503);

const NPI: &str = "http://hl7.org/fhir/sid/us-npi";

/// What a check needs: ids of the stored resources.
struct Insured {
    patient: String,
    coverage: String,
    clinic: String,
}

fn id(resource: &Value) -> String {
    resource["id"].as_str().unwrap().to_owned()
}

/// A patient of a clinic (their managing organization) insured by Acme under
/// `member_id`.
async fn insured_patient(app: &TestApp, member_id: &str) -> Insured {
    let payer = id(&app
        .create(&json!({"resourceType": "Organization", "name": "Acme Health",
                         "identifier": [{"system": "urn:payer-id", "value": "ACME01"}]}))
        .await);
    let clinic = id(&app
        .create(&json!({"resourceType": "Organization", "name": "Good Clinic",
                         "identifier": [{"system": NPI, "value": "1234567893"}]}))
        .await);
    let patient = id(&app
        .create(
            &json!({"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Jane"]}],
                         "birthDate": "1980-02-29", "gender": "female",
                         "managingOrganization": {"reference": format!("Organization/{clinic}")}}),
        )
        .await);
    let coverage = coverage(app, &patient, &payer, member_id).await;
    Insured {
        patient,
        coverage,
        clinic,
    }
}

async fn coverage(app: &TestApp, patient: &str, payer: &str, member_id: &str) -> String {
    id(&app
        .create(
            &json!({"resourceType": "Coverage", "status": "active", "subscriberId": member_id,
                         "beneficiary": {"reference": format!("Patient/{patient}")},
                         "payor": [{"reference": format!("Organization/{payer}")}]}),
        )
        .await)
}

async fn check(app: &TestApp, body: &Value) -> (u16, Value) {
    app.api_post("/api/billing/eligibility/check", body).await
}

async fn history(app: &TestApp, patient: &str) -> Vec<Value> {
    let (status, body) = app
        .api_get(&format!("/api/billing/eligibility/history/{patient}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["checks"].as_array().unwrap().clone()
}

/// A child on a parent's policy: the Coverage's subscriber is the parent, its
/// beneficiary the child. The 270 asks about the child as a dependent (HL 23, with
/// the question's trace number) under the parent's member id; the sandbox answers
/// at that level, so the benefits are found only if the question was asked there.
async fn a_dependent_is_checked_under_the_subscribers_member_id(app: &TestApp) {
    let parent = insured_patient(app, "M123").await;
    let child = id(&app
        .create(
            &json!({"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Mary"]}],
                         "birthDate": "2015-06-01", "gender": "female",
                         "managingOrganization": {"reference": format!("Organization/{}", parent.clinic)}}),
        )
        .await);
    let parents_coverage = fhir_json(app.get(&format!("Coverage/{}", parent.coverage)).await).await;
    let child_coverage = id(&app
        .create(
            &json!({"resourceType": "Coverage", "status": "active", "subscriberId": "M123",
                         "subscriber": {"reference": format!("Patient/{}", parent.patient)},
                         "beneficiary": {"reference": format!("Patient/{child}")},
                         "relationship": {"coding": [{"code": "child"}]},
                         "payor": parents_coverage["payor"]}),
        )
        .await);
    let (status, answer) = check(
        app,
        &json!({"patientId": child, "coverageId": child_coverage, "serviceDate": "2026-11-02"}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["active"], true);
    assert_eq!(answer["plan"], "GOLD PPO");
    assert_eq!(answer["copay"], json!(25), "{answer}");
    assert_eq!(answer["deductibleRemaining"], json!(2650));
    let response_id = answer["responseId"].as_str().unwrap();
    let response = fhir_json(
        app.get(&format!("CoverageEligibilityResponse/{response_id}"))
            .await,
    )
    .await;
    assert_eq!(response["patient"]["reference"], format!("Patient/{child}"));

    let sent = app
        .select_texts("SELECT document AS text FROM x12_interchanges WHERE kind = '270'")
        .await;
    let inquiry = sent.last().expect("the 270 is kept");
    let segments: Vec<&str> = inquiry.split('~').map(str::trim).collect();
    let at = |prefix: &str| segments.iter().position(|s| s.starts_with(prefix)).expect(prefix);
    assert!(segments.contains(&"HL*3*2*22*1"), "{inquiry}");
    assert!(segments.contains(&"HL*4*3*23*0"), "{inquiry}");
    assert!(
        at("NM1*IL*1*Doe*Jane") < at("HL*4*"),
        "the parent is the subscriber: {inquiry}"
    );
    assert!(
        at("NM1*03*1*Doe*Mary") > at("TRN*1*"),
        "the child is asked about: {inquiry}"
    );
    assert!(
        at("TRN*1*") > at("HL*4*"),
        "the question is the child's: {inquiry}"
    );
}

async fn a_check_answers_with_the_benefits_of_the_member_asked_about(app: &TestApp) {
    let insured = insured_patient(app, "M123").await;
    let (status, answer) = check(
        app,
        &json!({"patientId": insured.patient, "coverageId": insured.coverage,
                "serviceDate": "2026-11-02", "serviceTypeCodes": ["98"]}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // Member M123 (bytes summing to 227): GOLD PPO, $25 copay, $2,650 left of $3,000.
    assert_eq!(answer["active"], true);
    assert_eq!(answer["plan"], "GOLD PPO");
    assert_eq!(answer["copay"], json!(25));
    assert_eq!(answer["coinsurance"], json!(0.2));
    assert_eq!(answer["deductible"], json!(3000));
    assert_eq!(answer["deductibleRemaining"], json!(2650));
    assert_eq!(answer["outcome"], "complete");
    assert_eq!(answer["disposition"], "Coverage is active");
    assert_eq!(answer["serviceDate"], "2026-11-02");
    assert_eq!(answer["rejections"], json!([]));

    // The same answer, through FHIR.
    let response_id = answer["responseId"].as_str().unwrap();
    let response = fhir_json(
        app.get(&format!("CoverageEligibilityResponse/{response_id}"))
            .await,
    )
    .await;
    let request_id = answer["requestId"].as_str().unwrap();
    assert_eq!(
        response["request"]["reference"],
        format!("CoverageEligibilityRequest/{request_id}")
    );
    assert_eq!(
        response["patient"]["reference"],
        format!("Patient/{}", insured.patient)
    );
    assert_eq!(
        response["requestor"]["reference"],
        format!("Organization/{}", insured.clinic)
    );
    let insurance = &response["insurance"][0];
    assert_eq!(
        insurance["coverage"]["reference"],
        format!("Coverage/{}", insured.coverage)
    );
    assert_eq!(insurance["inforce"], true);
    let item = &insurance["item"][0];
    assert_eq!(item["category"]["coding"][0]["code"], "98");
    let benefit = |code: &str| {
        item["benefit"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"]["coding"][0]["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(benefit("copay")["allowedMoney"]["value"], json!(25));
    assert_eq!(benefit("deductible")["allowedMoney"]["value"], json!(3000));
    assert_eq!(benefit("deductible")["usedMoney"]["value"], json!(350));
    let request = fhir_json(app.get(&format!("CoverageEligibilityRequest/{request_id}")).await).await;
    assert_eq!(request["servicedDate"], "2026-11-02");
    assert_eq!(
        request["insurance"][0]["coverage"]["reference"],
        format!("Coverage/{}", insured.coverage)
    );
    let found = fhir_json(
        app.get(&format!(
            "CoverageEligibilityResponse?patient=Patient/{}&outcome=complete",
            insured.patient
        ))
        .await,
    )
    .await;
    assert_eq!(found["total"], 1);

    // Another member of the same plan gets other terms: the sandbox read the id
    // from the 270. A named provider asks instead of the managing organization.
    let payer = response["insurer"]["reference"]
        .as_str()
        .unwrap()
        .trim_start_matches("Organization/");
    let other = coverage(app, &insured.patient, payer, "W5550001").await;
    let doctor = id(&app
        .create(
            &json!({"resourceType": "Practitioner", "name": [{"family": "Welby"}],
                         "identifier": [{"system": NPI, "value": "1245319599"}]}),
        )
        .await);
    let (status, answer) = check(
        app,
        &json!({"patientId": insured.patient, "coverageId": other,
                "provider": {"reference": format!("Practitioner/{doctor}")}}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        (
            &answer["plan"],
            &answer["copay"],
            &answer["deductible"],
            &answer["deductibleRemaining"]
        ),
        (&json!("SILVER PPO"), &json!(35), &json!(1000), &json!(500))
    );
    let response_id = answer["responseId"].as_str().unwrap();
    let response = fhir_json(
        app.get(&format!("CoverageEligibilityResponse/{response_id}"))
            .await,
    )
    .await;
    assert_eq!(
        response["requestor"]["reference"],
        format!("Practitioner/{doctor}")
    );
    // No service type named: plan coverage (30) was asked about.
    assert_eq!(
        response["insurance"][0]["item"][0]["category"]["coding"][0]["code"],
        "30"
    );
}

async fn history_lists_a_patients_checks_newest_first(app: &TestApp) {
    let insured = insured_patient(app, "M123").await;
    assert_eq!(history(app, &insured.patient).await, Vec::<Value>::new());
    let mut made = Vec::new();
    for _ in 0..3 {
        let (status, answer) = check(
            app,
            &json!({"patientId": insured.patient, "coverageId": insured.coverage}),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        made.push(answer);
    }
    // Someone else's checks are not listed.
    let stranger = insured_patient(app, "X9").await;
    check(
        app,
        &json!({"patientId": stranger.patient, "coverageId": stranger.coverage}),
    )
    .await;

    let listed = history(app, &insured.patient).await;
    made.reverse();
    assert_eq!(listed, made, "newest first, each as the check answered");
    let (status, limited) = app
        .api_get(&format!(
            "/api/billing/eligibility/history/{}?limit=1",
            insured.patient
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(limited["checks"].as_array().unwrap().len(), 1);
    let (status, _) = app.api_get("/api/billing/eligibility/history/nobody").await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api_get(&format!(
            "/api/billing/eligibility/history/{}?limit=0",
            insured.patient
        ))
        .await;
    assert_eq!(status, 400);
}

async fn inactive_and_unknown_members_are_answered_as_such(app: &TestApp) {
    let inactive = insured_patient(app, "INACTIVE-42").await;
    let (status, answer) = check(
        app,
        &json!({"patientId": inactive.patient, "coverageId": inactive.coverage}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["active"], false);
    assert_eq!(answer["outcome"], "complete");
    assert_eq!(answer["disposition"], "Coverage is not active");
    assert_eq!(answer["copay"], Value::Null);

    let unknown = insured_patient(app, "UNKNOWN-42").await;
    let (status, answer) = check(
        app,
        &json!({"patientId": unknown.patient, "coverageId": unknown.coverage}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["active"], Value::Null);
    assert_eq!(answer["outcome"], "error");
    assert_eq!(
        answer["rejections"],
        json!([{"code": "75", "description": "subscriber not found"}])
    );
    let response_id = answer["responseId"].as_str().unwrap();
    let response = fhir_json(
        app.get(&format!("CoverageEligibilityResponse/{response_id}"))
            .await,
    )
    .await;
    assert_eq!(response["error"][0]["code"]["coding"][0]["code"], "75");
}

async fn a_failed_check_keeps_nothing(app: &TestApp) {
    for (member_id, status, kind) in [
        ("DOWN-1", 503, "transient"),
        ("SILENT-1", 504, "ambiguous"),
        ("REFUSE-1", 502, "final"),
    ] {
        let insured = insured_patient(app, member_id).await;
        let (answered, body) = check(
            app,
            &json!({"patientId": insured.patient, "coverageId": insured.coverage}),
        )
        .await;
        assert_eq!(answered, status, "{body}");
        assert_eq!(body["gatewayError"], kind);
        assert!(
            body["error"].as_str().unwrap().contains("clearinghouse"),
            "{body}"
        );
        assert_eq!(history(app, &insured.patient).await, Vec::<Value>::new());
    }
}

async fn bad_requests_name_their_field(app: &TestApp) {
    let insured = insured_patient(app, "M123").await;
    let stranger = insured_patient(app, "X9").await;
    let refused = |body: Value, field: &'static str| async move {
        let (status, answer) = check(app, &body).await;
        assert_eq!((status, answer["field"].as_str()), (422, Some(field)), "{answer}");
        answer["error"].as_str().unwrap().to_owned()
    };
    let error = refused(
        json!({"patientId": "nobody", "coverageId": insured.coverage}),
        "patientId",
    )
    .await;
    assert!(error.contains("Patient/nobody does not exist"), "{error}");
    refused(
        json!({"patientId": insured.patient, "coverageId": "none"}),
        "coverageId",
    )
    .await;
    let error = refused(
        json!({"patientId": insured.patient, "coverageId": stranger.coverage}),
        "coverageId",
    )
    .await;
    assert!(
        error.contains(&format!("covers Patient/{}", stranger.patient)),
        "{error}"
    );
    refused(json!({"patientId": insured.patient}), "coverageId").await;
    refused(
        json!({"patientId": insured.patient, "coverageId": insured.coverage, "serviceDate": "11/02/2026"}),
        "serviceDate",
    )
    .await;
    refused(
        json!({"patientId": insured.patient, "coverageId": insured.coverage, "serviceTypeCodes": ["office"]}),
        "serviceTypeCodes",
    )
    .await;
    let error = refused(
        json!({"patientId": insured.patient, "coverageId": insured.coverage,
               "provider": {"reference": format!("Organization/{}", insured.clinic.replace('-', ""))}}),
        "provider",
    )
    .await;
    assert!(error.contains("does not exist"), "{error}");

    // Without a managing organization, the request must name the provider.
    let mut patient = fhir_json(app.get(&format!("Patient/{}", insured.patient)).await).await;
    patient.as_object_mut().unwrap().remove("managingOrganization");
    assert_eq!(
        app.put(&format!("Patient/{}", insured.patient), &patient)
            .await
            .status(),
        200
    );
    let error = refused(
        json!({"patientId": insured.patient, "coverageId": insured.coverage}),
        "provider",
    )
    .await;
    assert!(error.contains("managingOrganization"), "{error}");

    let not_json = app
        .client
        .post(app.server_url("/api/billing/eligibility/check"))
        .header("Content-Type", "application/json")
        .body("{patientId")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert!(not_json.json::<Value>().await.unwrap()["error"].is_string());
}

async fn without_an_integration_checks_answer_503(app: &TestApp) {
    let insured = insured_patient(app, "M123").await;
    let (status, answer) = check(
        app,
        &json!({"patientId": insured.patient, "coverageId": insured.coverage}),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("CLAIMBRIDGE_BILLING_GATEWAY"),
        "{answer}"
    );
    for (path, body) in [
        ("/api/billing/claims/any/submit", json!({})),
        ("/api/billing/prior-auth/submit", json!({})),
    ] {
        let (status, answer) = app.api_post(path, &body).await;
        assert_eq!(status, 503, "{path}: {answer}");
    }
    // History needs no integration: it is read from FHIR.
    assert_eq!(history(app, &insured.patient).await, Vec::<Value>::new());
}
