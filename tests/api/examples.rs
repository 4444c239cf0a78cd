//! The official R4 examples survive a create → read round trip unchanged, modulo
//! the id and the server's meta.versionId / meta.lastUpdated.

use serde_json::Value;

use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(official_examples_round_trip);

fn without_server_fields(mut resource: Value) -> Value {
    let object = resource.as_object_mut().unwrap();
    object.remove("id");
    if let Some(Value::Object(meta)) = object.get_mut("meta") {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            object.remove("meta");
        }
    }
    resource
}

async fn official_examples_round_trip(app: &TestApp) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir-examples");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let original: Value = serde_json::from_str(&text).unwrap();
        let resource_type = original["resourceType"].as_str().unwrap();
        let response = app.post(resource_type, &original).await;
        let status = response.status();
        let created = fhir_json(response).await;
        assert_eq!(status, 201, "{}: {created}", path.display());
        let id = created["id"].as_str().unwrap();
        let read = app
            .get(&format!("{resource_type}/{id}"))
            .await
            .text()
            .await
            .unwrap();
        let read: Value = serde_json::from_str(&read).unwrap();
        // serde_json is built with arbitrary_precision here: numbers compare as text,
        // so 75.00 read back as 75.0 would fail.
        assert_eq!(
            without_server_fields(read),
            without_server_fields(original),
            "{}",
            path.display()
        );
        count += 1;
    }
    assert_eq!(count, 42);

    // And explicitly: a decimal keeps its trailing zeros.
    let claim: Value =
        serde_json::from_str(include_str!("../fixtures/fhir-examples/Claim-960150.json")).unwrap();
    let created = app.create(&claim).await;
    let text = app
        .get(&format!("Claim/{}", created["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("125.00"), "125.00 lost its trailing zeros: {text}");
}
