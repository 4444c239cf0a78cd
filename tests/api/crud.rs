use serde_json::{json, Value};

use crate::helpers::{assert_issue_at, fhir_json, TestApp};

crate::on_both_backends!(
    create_answers_location_etag_and_stored_body,
    prefer_header_chooses_the_response_body,
    update_keeps_every_version_readable,
    if_match_refuses_a_stale_version,
    update_with_a_foreign_id_changes_nothing,
    conditional_create_returns_the_existing_match,
    conditional_update_finds_by_identifier,
    delete_is_logical_and_history_keeps_it,
    json_patch_makes_a_new_validated_version,
    concurrent_updates_get_distinct_versions,
    xml_is_read_and_written,
);

fn patient(id: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "name": [{"family": "Chalmers"}]})
}

async fn create_answers_location_etag_and_stored_body(app: &TestApp) {
    let response = app
        .post("Patient", &json!({"resourceType": "Patient", "gender": "female"}))
        .await;
    assert_eq!(response.status(), 201);
    let headers = response.headers().clone();
    let body = fhir_json(response).await;
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        headers["location"],
        app.url(&format!("Patient/{id}/_history/1")).as_str()
    );
    assert_eq!(headers["etag"], "W/\"1\"");
    assert!(headers.contains_key("last-modified"));
    assert_eq!(body["meta"]["versionId"], "1");
    assert!(body["meta"]["lastUpdated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["gender"], "female");
}

async fn prefer_header_chooses_the_response_body(app: &TestApp) {
    let minimal = app
        .client
        .post(app.url("Patient"))
        .header("Content-Type", "application/fhir+json")
        .header("Prefer", "return=minimal")
        .body(json!({"resourceType": "Patient"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(minimal.status(), 201);
    assert!(minimal.headers().contains_key("location"));
    assert!(minimal.bytes().await.unwrap().is_empty());

    let outcome = app
        .client
        .put(app.url("Patient/pref-1"))
        .header("Content-Type", "application/fhir+json")
        .header("Prefer", "return=OperationOutcome")
        .body(patient("pref-1").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(outcome.status(), 201);
    assert_eq!(fhir_json(outcome).await["resourceType"], "OperationOutcome");
}

async fn update_keeps_every_version_readable(app: &TestApp) {
    assert_eq!(app.put("Patient/pat-1", &patient("pat-1")).await.status(), 201);
    let mut second = patient("pat-1");
    second["gender"] = json!("male");
    let response = app.put("Patient/pat-1", &second).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "W/\"2\"");

    let current = fhir_json(app.get("Patient/pat-1").await).await;
    assert_eq!(current["meta"]["versionId"], "2");
    assert_eq!(current["gender"], "male");
    let first = fhir_json(app.get("Patient/pat-1/_history/1").await).await;
    assert_eq!(first["meta"]["versionId"], "1");
    assert!(first.get("gender").is_none());
    assert_eq!(app.get("Patient/pat-1/_history/99").await.status(), 404);
    assert_eq!(app.get("Patient/nobody").await.status(), 404);
}

async fn if_match_refuses_a_stale_version(app: &TestApp) {
    app.put("Patient/pat-2", &patient("pat-2")).await;
    app.put("Patient/pat-2", &patient("pat-2")).await;
    let put_if_match = |etag: &'static str| {
        app.client
            .put(app.url("Patient/pat-2"))
            .header("Content-Type", "application/fhir+json")
            .header("If-Match", etag)
            .body(patient("pat-2").to_string())
            .send()
    };
    let stale = put_if_match("W/\"1\"").await.unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(fhir_json(stale).await["resourceType"], "OperationOutcome");
    assert_eq!(put_if_match("W/\"2\"").await.unwrap().status(), 200);
}

async fn update_with_a_foreign_id_changes_nothing(app: &TestApp) {
    app.put("Patient/pat-3", &patient("pat-3")).await;
    let mut other = patient("someone-else");
    other["gender"] = json!("male");
    let response = app.put("Patient/pat-3", &other).await;
    assert_eq!(response.status(), 400);
    assert_issue_at(&fhir_json(response).await, "Patient.id");

    let wrong_type = app
        .put("Patient/pat-3", &json!({"resourceType": "Claim", "id": "pat-3"}))
        .await;
    assert_eq!(wrong_type.status(), 400);
    let bad_id = app.put("Patient/bad_id", &patient("bad_id")).await;
    assert_eq!(bad_id.status(), 400);

    let current = fhir_json(app.get("Patient/pat-3").await).await;
    assert_eq!(current["meta"]["versionId"], "1");
    assert!(current.get("gender").is_none());
}

async fn conditional_create_returns_the_existing_match(app: &TestApp) {
    let body = json!({"resourceType": "Patient",
        "identifier": [{"system": "http://hospital.org/mrn", "value": "123"}]});
    let create = || {
        app.client
            .post(app.url("Patient"))
            .header("Content-Type", "application/fhir+json")
            .header("If-None-Exist", "identifier=http://hospital.org/mrn|123")
            .body(body.to_string())
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), 201);
    let first = fhir_json(first).await;
    let again = create().await.unwrap();
    assert_eq!(again.status(), 200);
    let again = fhir_json(again).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["meta"]["versionId"], "1");

    // A second resource with the same identifier makes the criteria ambiguous.
    app.create(&body).await;
    assert_eq!(create().await.unwrap().status(), 412);
}

async fn conditional_update_finds_by_identifier(app: &TestApp) {
    let body = json!({"resourceType": "Patient",
        "identifier": [{"system": "http://hospital.org/mrn", "value": "456"}]});
    let path = "Patient?identifier=http%3A%2F%2Fhospital.org%2Fmrn%7C456";
    let created = app.put(path, &body).await;
    assert_eq!(created.status(), 201);
    let created = fhir_json(created).await;
    let updated = app.put(path, &body).await;
    assert_eq!(updated.status(), 200);
    let updated = fhir_json(updated).await;
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["meta"]["versionId"], "2");

    app.create(&body).await;
    assert_eq!(app.put(path, &body).await.status(), 412);
}

async fn delete_is_logical_and_history_keeps_it(app: &TestApp) {
    app.put("Patient/pat-4", &patient("pat-4")).await;
    let delete = || app.client.delete(app.url("Patient/pat-4")).send();
    assert_eq!(delete().await.unwrap().status(), 204);
    let gone = app.get("Patient/pat-4").await;
    assert_eq!(gone.status(), 410);
    assert_eq!(fhir_json(gone).await["resourceType"], "OperationOutcome");
    assert_eq!(app.get("Patient/pat-4/_history/1").await.status(), 200);
    assert_eq!(app.get("Patient/pat-4/_history/2").await.status(), 410);
    assert_eq!(delete().await.unwrap().status(), 204);
    let unknown = app
        .client
        .delete(app.url("Patient/never-was"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let history = fhir_json(app.get("Patient/pat-4/_history").await).await;
    assert_eq!(history["entry"][0]["request"]["method"], "DELETE");
    assert!(history["entry"][0].get("resource").is_none());

    let back = app.put("Patient/pat-4", &patient("pat-4")).await;
    assert_eq!(back.status(), 201);
    assert_eq!(fhir_json(back).await["meta"]["versionId"], "3");
}

async fn json_patch_makes_a_new_validated_version(app: &TestApp) {
    app.put("Patient/pat-5", &patient("pat-5")).await;
    let patch = |ops: Value, content_type: &'static str| {
        app.client
            .patch(app.url("Patient/pat-5"))
            .header("Content-Type", content_type)
            .body(ops.to_string())
            .send()
    };
    let json_patch = "application/json-patch+json";
    let ok = patch(
        json!([{"op": "add", "path": "/active", "value": true}]),
        json_patch,
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let ok = fhir_json(ok).await;
    assert_eq!(ok["active"], true);
    assert_eq!(ok["meta"]["versionId"], "2");

    let failed_test = patch(
        json!([{"op": "test", "path": "/active", "value": false}]),
        json_patch,
    );
    assert_eq!(failed_test.await.unwrap().status(), 422);
    let invalid = patch(json!([{"op": "add", "path": "/bogus", "value": 1}]), json_patch)
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    assert_issue_at(&fhir_json(invalid).await, "Patient.bogus");
    let wrong_type = patch(json!([]), "application/fhir+json").await.unwrap();
    assert_eq!(wrong_type.status(), 415);

    let current = fhir_json(app.get("Patient/pat-5").await).await;
    assert_eq!(current["meta"]["versionId"], "2");
}

async fn concurrent_updates_get_distinct_versions(app: &TestApp) {
    app.put("Patient/pat-6", &patient("pat-6")).await;
    let body = patient("pat-6");
    let updates = (0..8).map(|_| app.put("Patient/pat-6", &body));
    for response in futures_util::future::join_all(updates).await {
        assert_eq!(response.status(), 200);
    }
    let current = fhir_json(app.get("Patient/pat-6").await).await;
    assert_eq!(current["meta"]["versionId"], "9");
    let history = fhir_json(app.get("Patient/pat-6/_history?_count=50").await).await;
    let mut versions: Vec<String> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap().to_owned())
        .collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), 9);
}

async fn xml_is_read_and_written(app: &TestApp) {
    let xml = r#"<Patient xmlns="http://hl7.org/fhir"><id value="xml-1"/><name><family value="Windsor"/></name></Patient>"#;
    let created = app
        .client
        .put(app.url("Patient/xml-1"))
        .header("Content-Type", "application/fhir+xml")
        .header("Accept", "application/fhir+xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let text = created.text().await.unwrap();
    assert!(
        text.contains(r#"<Patient xmlns="http://hl7.org/fhir">"#),
        "{text}"
    );
    assert!(text.contains(r#"<family value="Windsor"/>"#), "{text}");

    let json = fhir_json(
        app.client
            .get(app.url("Patient/xml-1?_format=json"))
            .header("Accept", "application/fhir+xml")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json["name"][0]["family"], "Windsor");
    let pretty = app.get("Patient/xml-1?_pretty=true").await.text().await.unwrap();
    assert!(pretty.contains("\n  \"id\""), "{pretty}");

    let broken = app
        .client
        .post(app.url("Patient"))
        .header("Content-Type", "application/fhir+xml")
        .body("<Patient xmlns=\"http://hl7.org/fhir\"><bogus/></Patient>")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
}
