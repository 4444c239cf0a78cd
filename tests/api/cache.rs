//! The read cache as clients meet it: a read by id right after any kind of write
//! sees that write — an update, a patch, a transaction Bundle, an HL7 message, a
//! claim's billing move, a delete — whether the cache is in process (SQLite) or in
//! Redis (PostgreSQL with `redis_url`); and a Redis that does not answer costs
//! speed, never an error or an old version.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::billing::claim_for_new_patient;
use crate::helpers::{fhir_json, TestApp, TestOptions, TestRedis};
use crate::hl7::{admit, field, MllpClient, MRN};

crate::on_both_backends!(
    with crate::cache::cached();
    every_kind_of_write_is_read_at_once,
);

/// In process on SQLite; in Redis on PostgreSQL (when the suite has a Redis).
fn cached() -> TestOptions {
    TestOptions {
        redis: TestRedis::from_env(),
        ..TestOptions::SANDBOX
    }
}

/// Reads `path` twice (the second from the cache) and checks both agree.
async fn read_twice(app: &TestApp, path: &str) -> Value {
    let first = fhir_json(app.get(path).await).await;
    let second = fhir_json(app.get(path).await).await;
    assert_eq!(first, second, "{path}");
    first
}

async fn every_kind_of_write_is_read_at_once(app: &TestApp) {
    // An update, then a patch.
    let patient = app
        .create(&json!({"resourceType": "Patient", "name": [{"family": "First"}]}))
        .await;
    let path = format!("Patient/{}", patient["id"].as_str().unwrap());
    assert_eq!(read_twice(app, &path).await["name"][0]["family"], "First");
    let mut changed = patient.clone();
    changed["name"][0]["family"] = json!("Second");
    assert_eq!(app.put(&path, &changed).await.status(), 200);
    let read = read_twice(app, &path).await;
    assert_eq!(
        (&read["meta"]["versionId"], &read["name"][0]["family"]),
        (&json!("2"), &json!("Second"))
    );
    let patched = app
        .client
        .patch(app.url(&path))
        .header("Content-Type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/name/0/family", "value": "Third"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(read_twice(app, &path).await["name"][0]["family"], "Third");
    // The current version by number is the cached one; an older one is history.
    let vread = fhir_json(app.get(&format!("{path}/_history/3")).await).await;
    assert_eq!(vread["name"][0]["family"], "Third");
    let vread = fhir_json(app.get(&format!("{path}/_history/1")).await).await;
    assert_eq!(vread["name"][0]["family"], "First");

    // A transaction Bundle.
    changed["name"][0]["family"] = json!("Fourth");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": changed, "request": {"method": "PUT", "url": path}}
    ]});
    let committed = app
        .client
        .post(&app.base)
        .header("Content-Type", "application/fhir+json")
        .body(bundle.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(committed.status(), 200);
    let read = read_twice(app, &path).await;
    assert_eq!(
        (&read["meta"]["versionId"], &read["name"][0]["family"]),
        (&json!("4"), &json!("Fourth"))
    );

    // An HL7 message updating the patient it admitted.
    let admitted = MllpClient::connect(app.mllp)
        .await
        .exchange(&admit("CACHE-1", "C100", "CV100"))
        .await;
    assert_eq!(field(&admitted, "MSA", 1), "AA", "{admitted}");
    let found = fhir_json(app.get(&format!("Patient?identifier={MRN}|C100")).await).await;
    let hl7_path = format!(
        "Patient/{}",
        found["entry"][0]["resource"]["id"].as_str().unwrap()
    );
    assert_eq!(read_twice(app, &hl7_path).await["name"][0]["given"][0], "Ana");
    let update = admit("CACHE-2", "C100", "CV100")
        .replace("ADT^A01^ADT_A01", "ADT^A08^ADT_A01")
        .replace("^Ana^", "^Anna^");
    let updated = MllpClient::connect(app.mllp).await.exchange(&update).await;
    assert_eq!(field(&updated, "MSA", 1), "AA", "{updated}");
    assert_eq!(read_twice(app, &hl7_path).await["name"][0]["given"][0], "Anna");

    // A claim's billing move rewrites its FHIR status.
    let mut claim = claim_for_new_patient(app).await;
    claim["status"] = json!("draft");
    let claim = app.create(&claim).await;
    let claim_id = claim["id"].as_str().unwrap();
    let claim_path = format!("Claim/{claim_id}");
    assert_eq!(read_twice(app, &claim_path).await["status"], "draft");
    let (status, moved) = app
        .api_post(&format!("/api/billing/claims/{claim_id}/validate"), &json!({}))
        .await;
    assert_eq!(
        (status, &moved["status"]),
        (200, &json!("ready_to_submit")),
        "{moved}"
    );
    assert_eq!(read_twice(app, &claim_path).await["status"], "active");

    // A delete, and a re-creation.
    assert!(app
        .client
        .delete(app.url(&path))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    assert_eq!(app.get(&path).await.status(), 410);
    assert_eq!(app.get(&path).await.status(), 410);
    changed["name"][0]["family"] = json!("Again");
    assert_eq!(app.put(&path, &changed).await.status(), 201);
    assert_eq!(read_twice(app, &path).await["name"][0]["family"], "Again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_redis_gone_a_node_reads_and_writes_from_the_database() {
    // Nothing listens on port 1: on PostgreSQL the cache is in that Redis.
    let options = TestOptions {
        redis: Some(TestRedis {
            url: "redis://127.0.0.1:1",
            key_prefix: "claimbridge-test",
        }),
        ..TestOptions::SANDBOX
    };
    let Some(app) = TestApp::postgres(options).await else {
        return;
    };
    let mut patient = app
        .create(&json!({"resourceType": "Patient", "name": [{"family": "V1"}]}))
        .await;
    let path = format!("Patient/{}", patient["id"].as_str().unwrap());
    let started = Instant::now();
    for version in 2..=6 {
        patient["name"][0]["family"] = json!(format!("V{version}"));
        assert_eq!(app.put(&path, &patient).await.status(), 200, "writes go through");
        let read = fhir_json(app.get(&path).await).await;
        assert_eq!(read["name"][0]["family"], format!("V{version}"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "an outage does not hold requests: {:?}",
        started.elapsed()
    );
    let metrics = reqwest::get(app.server_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("claimbridge_cache_redis_fallbacks_total{operation=\"read\"}"),
        "{metrics}"
    );
    app.finish().await;
}
