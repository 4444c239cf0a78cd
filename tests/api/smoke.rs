use serde_json::json;

use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(created_patient_reads_back);

async fn created_patient_reads_back(app: &TestApp) {
    let created = app
        .create(&json!({"resourceType": "Patient", "birthDate": "1974-12-25"}))
        .await;
    let id = created["id"].as_str().unwrap();
    let read = fhir_json(app.get(&format!("Patient/{id}")).await).await;
    assert_eq!(read, created);
}
