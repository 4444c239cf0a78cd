use std::time::Duration;

use claimbridge::store::jobs::{JobFilter, NewJobRecord};
use claimbridge::store::Database;
use serde_json::json;

use crate::helpers::{assert_history_empty, assert_issue_at, fhir_json, TestApp, TEST_BODY_LIMIT};

crate::on_both_backends!(
    bad_requests_get_operation_outcomes,
    a_refused_write_stores_nothing,
    a_transaction_an_error_abandons_writes_nothing_and_spares_its_connection
);

async fn bad_requests_get_operation_outcomes(app: &TestApp) {
    use reqwest::Method;
    const FHIR_JSON: &str = "application/fhir+json";
    let oversized = vec![b' '; TEST_BODY_LIMIT + 1];
    // (method, path, content type, body, expected status)
    let cases: [(Method, &str, &str, &[u8], u16); 9] = [
        (Method::POST, "Patient", FHIR_JSON, b"{\"resourceType\":", 400),
        (Method::POST, "Patient", FHIR_JSON, &oversized, 413),
        (Method::POST, "Patient", "text/plain", b"hello", 415),
        (Method::GET, "Observation/1", FHIR_JSON, b"", 404),
        (Method::POST, "Foo", FHIR_JSON, b"{}", 404),
        (Method::PATCH, "Patient", FHIR_JSON, b"", 405),
        (Method::DELETE, "Patient", FHIR_JSON, b"", 400),
        (Method::GET, "Patient/1/bogus/path/x", FHIR_JSON, b"", 404),
        (Method::GET, "metadata?_format=bogus", FHIR_JSON, b"", 406),
    ];
    for (method, path, content_type, body, status) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header("Content-Type", content_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        if status == 405 {
            assert!(response.headers().contains_key("allow"));
        }
        assert_eq!(fhir_json(response).await["resourceType"], "OperationOutcome");
    }
    let text_only = app
        .client
        .get(app.url("metadata"))
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(text_only.status(), 406);
}

async fn a_refused_write_stores_nothing(app: &TestApp) {
    let response = app
        .post(
            "Patient",
            &json!({"resourceType": "Patient", "bogus": 1, "birthDate": "x"}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let outcome = fhir_json(response).await;
    assert_issue_at(&outcome, "Patient.bogus");
    assert_issue_at(&outcome, "Patient.birthDate");
    assert_history_empty(app, "Patient/_history").await;
}

/// A handler that returns an error early drops its session mid-transaction. What the
/// transaction wrote is gone, and on PostgreSQL the connection goes back to the pool
/// rolled back rather than being closed, so a client's 404 or 409 costs no
/// reconnect. (SQLite closes it: its writer lock must not outlive the transaction.)
async fn a_transaction_an_error_abandons_writes_nothing_and_spares_its_connection(app: &TestApp) {
    let database = Database::open(&app.database_url)
        .await
        .expect("the database opens");
    let store = database.store_named("abandoned", 1).expect("a pool");
    let kind = "test.abandoned";
    let job = NewJobRecord {
        kind: kind.into(),
        payload: "{}".into(),
        dedupe_key: None,
        max_attempts: 1,
        run_at: chrono::Utc::now(),
        created_at: chrono::Utc::now(),
    };
    let mut session = store.begin().await.expect("a transaction");
    session.insert_job(&job).await.expect("the job is inserted");
    drop(session);

    let on_postgres = app.database_url.starts_with("postgres");
    let mut figures = database.pool_figures()["abandoned"];
    for _ in 0..500 {
        if !on_postgres || figures.idle == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        figures = database.pool_figures()["abandoned"];
    }
    let kept = if on_postgres { 1 } else { 0 };
    assert_eq!((figures.idle, figures.in_use), (kept, 0), "{figures:?}");

    let mut session = store.session().await.expect("a connection");
    let jobs = session
        .list_jobs(&JobFilter {
            status: None,
            kind: Some(kind.into()),
            before: None,
            limit: 10,
        })
        .await
        .expect("jobs are listed");
    assert!(jobs.is_empty(), "the abandoned insert was rolled back: {jobs:?}");
}
