use serde_json::json;

use crate::helpers::{assert_issue_at, fhir_json, TestApp, TEST_BODY_LIMIT};

crate::on_both_backends!(
    bad_requests_get_operation_outcomes,
    a_refused_write_stores_nothing
);

async fn bad_requests_get_operation_outcomes(app: &TestApp) {
    let send = |method: reqwest::Method, path: &str, content_type: &str, body: Vec<u8>| {
        app.client
            .request(method, app.url(path))
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (
            send(
                reqwest::Method::POST,
                "Patient",
                "application/fhir+json",
                b"{\"resourceType\":".to_vec(),
            )
            .await,
            400,
        ),
        (
            send(
                reqwest::Method::POST,
                "Patient",
                "application/fhir+json",
                vec![b' '; TEST_BODY_LIMIT + 1],
            )
            .await,
            413,
        ),
        (
            send(reqwest::Method::POST, "Patient", "text/plain", b"hello".to_vec()).await,
            415,
        ),
        (
            send(
                reqwest::Method::GET,
                "Observation/1",
                "application/fhir+json",
                Vec::new(),
            )
            .await,
            404,
        ),
        (
            send(
                reqwest::Method::POST,
                "Foo",
                "application/fhir+json",
                b"{}".to_vec(),
            )
            .await,
            404,
        ),
        (
            send(
                reqwest::Method::DELETE,
                "Patient",
                "application/fhir+json",
                Vec::new(),
            )
            .await,
            405,
        ),
        (
            send(
                reqwest::Method::GET,
                "Patient/1/bogus/path/x",
                "application/fhir+json",
                Vec::new(),
            )
            .await,
            404,
        ),
        (
            send(
                reqwest::Method::GET,
                "metadata?_format=bogus",
                "application/fhir+json",
                Vec::new(),
            )
            .await,
            406,
        ),
    ];
    for (response, status) in cases {
        let response = response.unwrap();
        assert_eq!(response.status(), status, "{}", response.url());
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
    let history = fhir_json(app.get("Patient/_history").await).await;
    assert!(history
        .get("entry")
        .is_none_or(|e| e.as_array().unwrap().is_empty()));
}
