//! CoverageEligibilityRequest and CoverageEligibilityResponse are stored, versioned,
//! searched and summarised like every other type.

use serde_json::{json, Value};

use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(eligibility_resources_are_stored_and_searched);

fn request(id: &str, created: &str) -> Value {
    json!({
        "resourceType": "CoverageEligibilityRequest", "id": id, "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"reference": "Patient/elig-pat"},
        "created": created,
        "provider": {"reference": "Organization/elig-clinic"},
        "insurer": {"reference": "Organization/elig-payer"},
        "insurance": [{"focal": true, "coverage": {"reference": "Coverage/elig-cov"}}]
    })
}

fn response(id: &str, request_id: &str, outcome: &str) -> Value {
    json!({
        "resourceType": "CoverageEligibilityResponse", "id": id, "status": "active",
        "purpose": ["validation"],
        "patient": {"reference": "Patient/elig-pat"},
        "created": "2026-11-20T10:00:00Z",
        "request": {"reference": format!("CoverageEligibilityRequest/{request_id}")},
        "outcome": outcome,
        "disposition": "Policy is in force",
        "insurer": {"reference": "Organization/elig-payer"},
        "insurance": [{"coverage": {"reference": "Coverage/elig-cov"}, "inforce": true}]
    })
}

/// The ids of a searchset's entries with the given mode, in order.
async fn ids(app: &TestApp, query: &str, mode: &str) -> Vec<String> {
    let bundle = fhir_json(app.get(query).await).await;
    assert_eq!(bundle["type"], "searchset", "{query}: {bundle}");
    bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn eligibility_resources_are_stored_and_searched(app: &TestApp) {
    for resource in [
        json!({"resourceType": "Patient", "id": "elig-pat"}),
        json!({"resourceType": "Organization", "id": "elig-clinic", "name": "Good Clinic"}),
        json!({"resourceType": "Organization", "id": "elig-payer", "name": "Acme Health"}),
        json!({"resourceType": "Coverage", "id": "elig-cov", "status": "active",
               "beneficiary": {"reference": "Patient/elig-pat"},
               "payor": [{"reference": "Organization/elig-payer"}]}),
        request("req-1", "2026-11-19T09:00:00Z"),
        request("req-2", "2026-11-20T09:00:00Z"),
        response("resp-1", "req-1", "complete"),
        response("resp-2", "req-2", "error"),
    ] {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        assert_eq!(app.put(&path, &resource).await.status(), 201, "{path}");
    }

    let mut changed = response("resp-2", "req-2", "complete");
    changed["disposition"] = json!("Answered on the second try");
    assert_eq!(
        app.put("CoverageEligibilityResponse/resp-2", &changed)
            .await
            .status(),
        200
    );
    let read = fhir_json(app.get("CoverageEligibilityResponse/resp-2").await).await;
    assert_eq!(read["meta"]["versionId"], "2");
    assert_eq!(read["outcome"], "complete");
    let first = fhir_json(app.get("CoverageEligibilityResponse/resp-2/_history/1").await).await;
    assert_eq!(first["outcome"], "error");

    assert_eq!(
        ids(
            app,
            "CoverageEligibilityResponse?patient=Patient/elig-pat&_sort=_id",
            "match"
        )
        .await,
        ["resp-1", "resp-2"]
    );
    assert_eq!(
        ids(
            app,
            "CoverageEligibilityResponse?request=CoverageEligibilityRequest/req-1",
            "match"
        )
        .await,
        ["resp-1"]
    );
    assert_eq!(
        ids(app, "CoverageEligibilityResponse?disposition=answered", "match").await,
        ["resp-2"]
    );
    assert_eq!(
        ids(
            app,
            "CoverageEligibilityRequest?provider=Organization/elig-clinic&created=ge2026-11-20",
            "match"
        )
        .await,
        ["req-2"]
    );
    assert_eq!(
        ids(
            app,
            "CoverageEligibilityRequest?patient=elig-pat&_sort=-created",
            "match"
        )
        .await,
        ["req-2", "req-1"]
    );
    let included = "CoverageEligibilityResponse?_id=resp-1&_include=CoverageEligibilityResponse:request";
    assert_eq!(ids(app, included, "include").await, ["req-1"]);
    let revincluded = "CoverageEligibilityRequest?_id=req-2&_revinclude=CoverageEligibilityResponse:request";
    assert_eq!(ids(app, revincluded, "include").await, ["resp-2"]);

    let summary = fhir_json(
        app.get("CoverageEligibilityResponse?_id=resp-1&_summary=true")
            .await,
    )
    .await;
    let summarised = &summary["entry"][0]["resource"];
    assert_eq!(summarised["outcome"], "complete");
    assert!(summarised.get("insurance").is_none() && summarised.get("disposition").is_none());

    // A response must say what it answers: `request` is required in R4.
    let mut unanswered = response("resp-3", "req-1", "complete");
    unanswered.as_object_mut().unwrap().remove("request");
    assert_eq!(
        app.put("CoverageEligibilityResponse/resp-3", &unanswered)
            .await
            .status(),
        400
    );

    let deleted = app
        .client
        .delete(app.url("CoverageEligibilityRequest/req-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get("CoverageEligibilityRequest/req-1").await.status(), 410);
}
