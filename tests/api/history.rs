use serde_json::{json, Value};

use crate::helpers::{assert_history_empty, fhir_json, TestApp};

crate::on_both_backends!(
    history_pages_through_every_version,
    history_parameters_are_checked
);

/// Follows `next` links from `path`, returning every entry in order.
async fn all_pages(app: &TestApp, path: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut url = app.url(path);
    loop {
        let page = fhir_json(app.client.get(&url).send().await.unwrap()).await;
        assert_eq!(page["type"], "history");
        entries.extend(page["entry"].as_array().cloned().unwrap_or_default());
        match page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => url = next["url"].as_str().unwrap().to_owned(),
            None => return entries,
        }
    }
}

async fn history_pages_through_every_version(app: &TestApp) {
    for n in 0..5 {
        let body = json!({"resourceType": "Patient", "id": "h-1", "birthDate": format!("197{n}-01-01")});
        app.put("Patient/h-1", &body).await;
    }
    app.create(&json!({"resourceType": "Organization", "name": "Acme"}))
        .await;

    let instance = all_pages(app, "Patient/h-1/_history?_count=2").await;
    let versions: Vec<&str> = instance
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["5", "4", "3", "2", "1"]);
    assert_eq!(instance[4]["request"]["method"], "PUT");
    assert_eq!(instance[0]["response"]["etag"], "W/\"5\"");

    let patients = all_pages(app, "Patient/_history?_count=2").await;
    assert_eq!(patients.len(), 5);
    assert!(patients
        .iter()
        .all(|e| e["resource"]["resourceType"] == "Patient"));
    let everything = all_pages(app, "_history?_count=4").await;
    assert_eq!(everything.len(), 6);
    assert_eq!(everything[0]["resource"]["resourceType"], "Organization");
    assert_eq!(everything[0]["request"]["method"], "POST");

    assert_history_empty(app, "_history?_since=2999-01-01T00:00:00Z").await;
}

async fn history_parameters_are_checked(app: &TestApp) {
    for bad in [
        "_history?_count=0",
        "_history?_since=yesterday",
        "_history?_at=2026",
    ] {
        let response = app.get(bad).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(fhir_json(response).await["resourceType"], "OperationOutcome");
    }
    assert_eq!(app.get("Patient/nobody/_history").await.status(), 404);
}
