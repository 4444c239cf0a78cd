use serde_json::{json, Value};

use crate::helpers::{assert_history_empty, assert_issue_at, fhir_json, TestApp};

crate::on_both_backends!(
    validate_lists_every_problem_and_writes_nothing,
    metadata_describes_what_is_served
);

const CLAIM_PROFILE: &str = "http://claimbridge.org/fhir/StructureDefinition/claim-professional";

fn official_claim() -> Value {
    serde_json::from_str(include_str!("../fixtures/fhir-examples/Claim-100150.json")).unwrap()
}

async fn validate_lists_every_problem_and_writes_nothing(app: &TestApp) {
    let valid = fhir_json(app.post("Claim/$validate", &official_claim()).await).await;
    assert_eq!(valid["issue"].as_array().unwrap().len(), 1);
    assert_eq!(valid["issue"][0]["severity"], "information");

    let invalid = app
        .post(
            "Claim/$validate",
            &json!({"resourceType": "Claim", "created": "soon", "x": 1}),
        )
        .await;
    assert_eq!(invalid.status(), 200);
    let invalid = fhir_json(invalid).await;
    assert_issue_at(&invalid, "Claim.created");
    assert_issue_at(&invalid, "Claim.x");
    assert_issue_at(&invalid, "Claim.patient");

    let profiled = fhir_json(
        app.post(
            &format!("Claim/$validate?profile={CLAIM_PROFILE}"),
            &official_claim(),
        )
        .await,
    )
    .await;
    assert_issue_at(&profiled, "Claim.total");
    let parameters = json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": official_claim()},
        {"name": "profile", "valueUri": CLAIM_PROFILE}
    ]});
    assert_issue_at(
        &fhir_json(app.post("Claim/$validate", &parameters).await).await,
        "Claim.total",
    );
    assert_eq!(
        app.post("Claim/$validate?profile=http://nowhere/x", &official_claim())
            .await
            .status(),
        400
    );

    let mismatched = app
        .post(
            "Patient/p-1/$validate",
            &json!({"resourceType": "Patient", "id": "p-2"}),
        )
        .await;
    assert_issue_at(&fhir_json(mismatched).await, "Patient.id");

    assert_history_empty(app, "_history").await;
}

/// Every interaction the CapabilityStatement lists for a type answers on a live server.
async fn metadata_describes_what_is_served(app: &TestApp) {
    let statement = fhir_json(app.get("metadata").await).await;
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let resources = statement["rest"][0]["resource"].as_array().unwrap();
    // The ten stored types, and the audit trail.
    assert_eq!(resources.len(), 11);
    let audit = resources.iter().find(|r| r["type"] == "AuditEvent").unwrap();
    assert_eq!(
        audit["interaction"],
        json!([{"code": "read"}, {"code": "search-type"}])
    );
    let eligibility = resources
        .iter()
        .find(|r| r["type"] == "CoverageEligibilityResponse")
        .unwrap();
    let params: Vec<&str> = eligibility["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for code in ["patient", "request", "outcome", "insurer", "created"] {
        assert!(
            params.contains(&code),
            "CoverageEligibilityResponse lacks {code}: {params:?}"
        );
    }
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let body = json!({"resourceType": "Patient", "id": "cap-1"});
    app.put("Patient/cap-1", &body).await;
    for interaction in patient["interaction"].as_array().unwrap() {
        let code = interaction["code"].as_str().unwrap();
        let status = match code {
            "create" => app
                .post("Patient", &json!({"resourceType": "Patient"}))
                .await
                .status(),
            "update" => app.put("Patient/cap-1", &body).await.status(),
            "read" => app.get("Patient/cap-1").await.status(),
            "search-type" => app.get("Patient?_id=cap-1").await.status(),
            "vread" => app.get("Patient/cap-1/_history/1").await.status(),
            "history-instance" => app.get("Patient/cap-1/_history").await.status(),
            "history-type" => app.get("Patient/_history").await.status(),
            "patch" => app
                .client
                .patch(app.url("Patient/cap-1"))
                .header("Content-Type", "application/json-patch+json")
                .body(r#"[{"op":"add","path":"/active","value":true}]"#)
                .send()
                .await
                .unwrap()
                .status(),
            "delete" => app
                .client
                .delete(app.url("Patient/cap-1"))
                .send()
                .await
                .unwrap()
                .status(),
            other => panic!("the CapabilityStatement lists {other}, which this test does not know"),
        };
        assert!(status.is_success(), "{code}: {status}");
    }
    assert_eq!(statement["rest"][0]["interaction"][0]["code"], "history-system");
    let xml = app.get("metadata?_format=xml").await.text().await.unwrap();
    assert!(
        xml.contains("<CapabilityStatement xmlns=\"http://hl7.org/fhir\">"),
        "{xml}"
    );
}
