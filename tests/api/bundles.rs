use serde_json::{json, Value};

use std::time::Duration;

use crate::helpers::{assert_history_empty, fhir_json, TestApp, TestOptions};
use crate::submission::ready_claim;

crate::on_both_backends!(
    transaction_resolves_placeholders_and_commits_together,
    failing_entry_rolls_back_everything,
    conditional_operations_inside_transactions,
    batch_entries_succeed_or_fail_alone,
    official_and_synthea_transactions_load,
);

pub(crate) async fn post_bundle(app: &TestApp, bundle: &Value) -> reqwest::Response {
    app.client
        .post(&app.base)
        .header("Content-Type", "application/fhir+json")
        .body(bundle.to_string())
        .send()
        .await
        .unwrap()
}

fn entry(full_url: Option<&str>, method: &str, url: &str, resource: Option<Value>) -> Value {
    let mut entry = json!({"request": {"method": method, "url": url}});
    if let Some(full_url) = full_url {
        entry["fullUrl"] = json!(full_url);
    }
    if let Some(resource) = resource {
        entry["resource"] = resource;
    }
    entry
}

fn transaction(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

fn claim_for(patient: &str, coverage: &str) -> Value {
    json!({
        "resourceType": "Claim", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim", "patient": {"reference": patient}, "created": "2024-05-01",
        "provider": {"reference": "Organization/prov"}, "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": coverage}}]
    })
}

async fn transaction_resolves_placeholders_and_commits_together(app: &TestApp) {
    let patient = "urn:uuid:4f6a30a8-2a5c-4f2b-9d1e-0c1c7c0d0001";
    let coverage = "urn:uuid:4f6a30a8-2a5c-4f2b-9d1e-0c1c7c0d0002";
    let bundle = transaction(vec![
        // Listed before what it refers to: order in the Bundle must not matter.
        entry(None, "POST", "Claim", Some(claim_for(patient, coverage))),
        entry(
            Some(coverage),
            "POST",
            "Coverage",
            Some(json!({
                "resourceType": "Coverage", "status": "active",
                "beneficiary": {"reference": patient}, "payor": [{"reference": "Organization/payer"}]
            })),
        ),
        entry(
            Some(patient),
            "POST",
            "Patient",
            Some(json!({
                "resourceType": "Patient", "identifier": [{"system": "http://hospital.org/mrn", "value": "T-1"}],
                "name": [{"family": "Trans"}]
            })),
        ),
        entry(
            None,
            "PUT",
            "Organization/prov",
            Some(json!({"resourceType": "Organization", "id": "prov", "name": "Clinic"})),
        ),
        entry(
            None,
            "GET",
            "Patient?identifier=http://hospital.org/mrn|T-1",
            None,
        ),
    ]);
    let response = post_bundle(app, &bundle).await;
    assert_eq!(response.status(), 200);
    let result = fhir_json(response).await;
    assert_eq!(result["type"], "transaction-response");
    let entries = result["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    for created in &entries[0..3] {
        assert_eq!(created["response"]["status"], "201 Created", "{created}");
        assert_eq!(created["response"]["etag"], "W/\"1\"");
        assert!(created["response"]["lastModified"].is_string());
    }
    assert_eq!(entries[3]["response"]["status"], "201 Created");
    let location = |i: usize| entries[i]["response"]["location"].as_str().unwrap().to_owned();
    let patient_id = location(2).split('/').nth(1).unwrap().to_owned();
    // GET ran last and saw the transaction's own writes.
    assert_eq!(entries[4]["resource"]["total"], 1, "{}", entries[4]);

    let claim = fhir_json(app.get(&location(0).replace("/_history/1", "")).await).await;
    assert_eq!(claim["patient"]["reference"], format!("Patient/{patient_id}"));
    assert!(claim["insurance"][0]["coverage"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("Coverage/"));
    let found = fhir_json(app.get(&format!("Claim?patient={patient_id}")).await).await;
    assert_eq!(found["total"], 1);
}

async fn failing_entry_rolls_back_everything(app: &TestApp) {
    let bundle = transaction(vec![
        entry(
            Some("urn:uuid:a"),
            "POST",
            "Patient",
            Some(json!({"resourceType": "Patient", "name": [{"family": "Lost"}]})),
        ),
        entry(
            None,
            "PUT",
            "Organization/keep",
            Some(json!({"resourceType": "Organization", "id": "keep", "name": "X"})),
        ),
        // Invalid: gender is not a code of the value set.
        entry(
            None,
            "POST",
            "Patient",
            Some(json!({"resourceType": "Patient", "gender": 12})),
        ),
    ]);
    let response = post_bundle(app, &bundle).await;
    assert_eq!(response.status(), 400);
    let outcome = fhir_json(response).await;
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(outcome.to_string().contains("Bundle.entry[2]"), "{outcome}");
    assert_history_empty(app, "_history").await;
    assert_eq!(app.get("Organization/keep").await.status(), 404);

    // A conditional reference that matches nothing fails the transaction too.
    let bundle = transaction(vec![
        entry(
            None,
            "PUT",
            "Organization/keep",
            Some(json!({"resourceType": "Organization", "id": "keep", "name": "X"})),
        ),
        entry(
            None,
            "POST",
            "Claim",
            Some(claim_for(
                "Patient?identifier=http://hospital.org/mrn|nobody",
                "Coverage/c",
            )),
        ),
    ]);
    assert_eq!(post_bundle(app, &bundle).await.status(), 412);
    assert_history_empty(app, "_history").await;

    // Structural errors name the entry.
    let bad = transaction(vec![json!({"resource": {"resourceType": "Patient"}})]);
    let response = post_bundle(app, &bad).await;
    assert_eq!(response.status(), 400);
    crate::helpers::assert_issue_at(&fhir_json(response).await, "Bundle.entry[0].request");
    let not_a_bundle = json!({"resourceType": "Bundle", "type": "collection"});
    assert_eq!(post_bundle(app, &not_a_bundle).await.status(), 400);
}

async fn conditional_operations_inside_transactions(app: &TestApp) {
    let mrn = "http://hospital.org/mrn|C-1";
    let create_once = |name: &str| {
        let mut e = entry(
            Some("urn:uuid:p"),
            "POST",
            "Patient",
            Some(json!({
                "resourceType": "Patient", "identifier": [{"system": "http://hospital.org/mrn", "value": "C-1"}],
                "name": [{"family": name}]
            })),
        );
        e["request"]["ifNoneExist"] = json!(format!("identifier={mrn}"));
        e
    };
    let first = fhir_json(post_bundle(app, &transaction(vec![create_once("First")])).await).await;
    assert_eq!(first["entry"][0]["response"]["status"], "201 Created");
    let again = transaction(vec![
        create_once("Second"),
        // A conditional reference to the patient, and a claim through the placeholder.
        entry(None, "POST", "Claim", Some(claim_for("urn:uuid:p", "Coverage/c"))),
        entry(
            None,
            "POST",
            "Claim",
            Some(claim_for(&format!("Patient?identifier={mrn}"), "Coverage/c")),
        ),
    ]);
    let result = fhir_json(post_bundle(app, &again).await).await;
    assert_eq!(result["entry"][0]["response"]["status"], "200 OK", "{result}");
    let patients = fhir_json(app.get(&format!("Patient?identifier={mrn}")).await).await;
    assert_eq!(patients["total"], 1);
    let patient_id = patients["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(patients["entry"][0]["resource"]["name"][0]["family"], "First");
    let claims = fhir_json(app.get(&format!("Claim?patient={patient_id}")).await).await;
    assert_eq!(claims["total"], 2, "both claims point at the one patient");

    // Conditional update and conditional delete in one transaction.
    let update = transaction(vec![
        entry(
            None,
            "PUT",
            &format!("Patient?identifier={mrn}"),
            Some(json!({
                "resourceType": "Patient", "identifier": [{"system": "http://hospital.org/mrn", "value": "C-1"}],
                "name": [{"family": "Updated"}]
            })),
        ),
        entry(
            None,
            "DELETE",
            &format!(
                "Claim?patient={patient_id}&_id={}",
                claims["entry"][0]["resource"]["id"].as_str().unwrap()
            ),
            None,
        ),
    ]);
    let result = fhir_json(post_bundle(app, &update).await).await;
    assert_eq!(result["entry"][0]["response"]["status"], "200 OK", "{result}");
    assert_eq!(result["entry"][1]["response"]["status"], "204 No Content");
    let patient = fhir_json(app.get(&format!("Patient/{patient_id}")).await).await;
    assert_eq!(patient["name"][0]["family"], "Updated");
    assert_eq!(patient["meta"]["versionId"], "2");
    let claims = fhir_json(app.get(&format!("Claim?patient={patient_id}")).await).await;
    assert_eq!(claims["total"], 1);
}

async fn batch_entries_succeed_or_fail_alone(app: &TestApp) {
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        entry(None, "PUT", "Organization/b1", Some(json!({"resourceType": "Organization", "id": "b1", "name": "Kept"}))),
        entry(None, "GET", "Organization/missing", None),
        entry(None, "POST", "Patient", Some(json!({"resourceType": "Patient", "birthDate": "not a date"}))),
        entry(None, "GET", "Organization/b1", None),
        json!({"request": {"method": "TRACE", "url": "Patient"}}),
    ]});
    let response = post_bundle(app, &batch).await;
    assert_eq!(response.status(), 200);
    let result = fhir_json(response).await;
    assert_eq!(result["type"], "batch-response");
    let status = |i: usize| {
        result["entry"][i]["response"]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(0), "201 Created");
    assert!(status(1).starts_with("404"));
    assert!(status(2).starts_with("400"));
    assert_eq!(
        result["entry"][2]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(status(3), "200 OK");
    assert_eq!(result["entry"][3]["resource"]["name"], "Kept");
    assert!(status(4).starts_with("400"));
    assert_eq!(app.get("Organization/b1").await.status(), 200);
}

async fn official_and_synthea_transactions_load(app: &TestApp) {
    // The official example uses types this server does not store; every entry of a
    // stored type is checked by the Synthea bundle below instead.
    let official: Value =
        serde_json::from_str(include_str!("../fixtures/bundles/Bundle-bundle-transaction.json")).unwrap();
    let response = post_bundle(app, &official).await;
    assert!(
        response.status().is_client_error(),
        "entries of unsupported types are refused"
    );
    assert_history_empty(app, "_history").await;

    let synthea: Value = serde_json::from_str(include_str!(
        "../fixtures/bundles/synthea-patient-stored-types.json"
    ))
    .unwrap();
    let expected = synthea["entry"].as_array().unwrap().len();
    let response = post_bundle(app, &synthea).await;
    assert_eq!(response.status(), 200);
    let result = fhir_json(response).await;
    assert_eq!(result["entry"].as_array().unwrap().len(), expected);
    let patients = fhir_json(app.get("Patient?family=keeling").await).await;
    assert_eq!(patients["total"], 1);
    let patient_id = patients["entry"][0]["resource"]["id"].as_str().unwrap();
    let encounters = fhir_json(
        app.get(&format!("Encounter?subject=Patient/{patient_id}&_summary=count"))
            .await,
    )
    .await;
    assert!(encounters["total"].as_i64().unwrap() > 0);
    let claims = fhir_json(
        app.get(&format!(
            "Claim?patient={patient_id}&_count=1&_include=Claim:patient"
        ))
        .await,
    )
    .await;
    assert_eq!(claims["entry"][1]["search"]["mode"], "include");
}

/// One connection per HTTP worker (a pool of two, split between the two).
mod one_connection {
    use super::*;

    const ONE_CONNECTION: TestOptions = TestOptions {
        pool_size: Some(2),
        ..TestOptions::SANDBOX
    };

    crate::on_both_backends!(
        with super::ONE_CONNECTION;
        a_batch_of_guarded_claim_changes_needs_one_connection,
    );

    /// A batch Bundle's entries share one connection, but a Claim's change takes a
    /// transaction of its own (its submission fence holds the claim's rows until it
    /// commits). The shared connection goes back to the pool first, so with one
    /// connection to the worker's name the batch answers rather than waits for itself.
    async fn a_batch_of_guarded_claim_changes_needs_one_connection(app: &TestApp) {
        let (first, second) = (ready_claim(app).await, ready_claim(app).await);
        let stored = |id: String| async move { fhir_json(app.get(&format!("Claim/{id}")).await).await };
        let (first_body, second_body) = (stored(first.clone()).await, stored(second.clone()).await);
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            entry(None, "GET", &format!("Claim/{first}"), None),
            entry(None, "PUT", &format!("Claim/{first}"), Some(first_body)),
            entry(None, "POST", "Organization", Some(json!({"resourceType": "Organization", "name": "Beside"}))),
            entry(None, "PUT", &format!("Claim/{second}"), Some(second_body)),
            entry(None, "GET", &format!("Claim/{second}"), None),
        ]});
        let response = tokio::time::timeout(Duration::from_secs(20), post_bundle(app, &batch))
            .await
            .expect("the batch answers rather than wait for the connection it holds");
        assert_eq!(response.status(), 200);
        let result = fhir_json(response).await;
        let statuses: Vec<&str> = result["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["response"]["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["200 OK", "200 OK", "201 Created", "200 OK", "200 OK"],
            "{result}"
        );
        assert_eq!(
            result["entry"][4]["resource"]["meta"]["versionId"],
            result["entry"][3]["response"]["etag"]
                .as_str()
                .unwrap()
                .trim_start_matches("W/")
                .trim_matches('"'),
            "the read after the change sees it"
        );
    }
}
