//! Prior authorization as a referral coordinator meets it: `POST
//! /api/billing/prior-auth/submit` asks the payer (the sandbox clearinghouse) about
//! planned services and keeps the request as a Claim (`use = preauthorization`)
//! and the decision as a ClaimResponse; `GET /api/billing/prior-auth?patient=` lists
//! them.

use serde_json::{json, Value};

use crate::billing::claim_for_new_patient;
use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(
    with crate::helpers::TestOptions::SANDBOX;
    a_prior_authorization_is_decided_kept_and_listed,
    denied_pended_and_failed_requests,
);

/// The ids a planned claim for a new patient refers to.
pub struct Planned {
    pub patient: String,
    pub coverage: String,
    pub provider: String,
    /// The claim the services will be billed on, not stored yet.
    pub claim: Value,
}

pub async fn planned(app: &TestApp) -> Planned {
    let claim = claim_for_new_patient(app).await;
    let reference = |pointer: &str| claim.pointer(pointer).and_then(Value::as_str).unwrap().to_owned();
    Planned {
        patient: reference("/patient/reference")
            .trim_start_matches("Patient/")
            .to_owned(),
        coverage: reference("/insurance/0/coverage/reference")
            .trim_start_matches("Coverage/")
            .to_owned(),
        provider: reference("/provider/reference"),
        claim,
    }
}

pub fn request(planned: &Planned) -> Value {
    let served = planned.claim["item"][0]["servicedDate"].clone();
    json!({"patientId": planned.patient, "coverageId": planned.coverage,
           "provider": {"reference": planned.provider},
           "diagnoses": ["E11.9"],
           "procedures": [{"code": "99213", "units": 1, "serviceDate": served}]})
}

pub async fn set_member_id(app: &TestApp, coverage_id: &str, member_id: &str) {
    let path = format!("Coverage/{coverage_id}");
    let mut coverage = fhir_json(app.get(&path).await).await;
    coverage["subscriberId"] = json!(member_id);
    assert_eq!(app.put(&path, &coverage).await.status(), 200);
}

pub async fn list(app: &TestApp, patient: &str) -> Vec<Value> {
    let (status, body) = app
        .api_get(&format!("/api/billing/prior-auth?patient={patient}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["priorAuths"].as_array().unwrap().clone()
}

async fn a_prior_authorization_is_decided_kept_and_listed(app: &TestApp) {
    let planned = planned(app).await;
    let (status, approved) = app
        .api_post("/api/billing/prior-auth/submit", &request(&planned))
        .await;
    assert_eq!(status, 201, "{approved}");
    assert_eq!(approved["decision"], "approved");
    let reference = approved["preAuthRef"].as_str().unwrap();
    assert!(reference.starts_with("SBX-PA-"), "{approved}");
    let served = planned.claim["item"][0]["servicedDate"].as_str().unwrap();
    assert_eq!(approved["preAuthPeriod"]["start"], served);
    assert_eq!(approved["disposition"], "approved: approved as requested");

    let claim_id = approved["claimId"].as_str().unwrap();
    let claim = fhir_json(app.get(&format!("Claim/{claim_id}")).await).await;
    assert_eq!(claim["use"], "preauthorization");
    assert_eq!(claim["item"][0]["productOrService"]["coding"][0]["code"], "99213");
    assert_eq!(
        claim["insurance"][0]["coverage"]["reference"],
        format!("Coverage/{}", planned.coverage)
    );
    let response_id = approved["responseId"].as_str().unwrap();
    let response = fhir_json(app.get(&format!("ClaimResponse/{response_id}")).await).await;
    assert_eq!(response["request"]["reference"], format!("Claim/{claim_id}"));
    assert_eq!(
        (&response["outcome"], &response["preAuthRef"]),
        (&json!("complete"), &json!(reference))
    );

    // The same services asked about again get the same authorization number.
    let (_, again) = app
        .api_post("/api/billing/prior-auth/submit", &request(&planned))
        .await;
    assert_eq!(again["preAuthRef"], reference);
    let listed = list(app, &planned.patient).await;
    assert_eq!(listed, [again.clone(), approved.clone()], "newest first");

    // Authorizing a service is not billing it: the claim for it is no duplicate.
    let stored = app.create(&planned.claim).await;
    let id = stored["id"].as_str().unwrap();
    let (status, checked) = app
        .api_post(&format!("/api/billing/claims/{id}/validate"), &json!({}))
        .await;
    assert_eq!((status, &checked["cleanClaim"]), (200, &json!(true)), "{checked}");
}

async fn denied_pended_and_failed_requests(app: &TestApp) {
    let planned = planned(app).await;
    set_member_id(app, &planned.coverage, "DENY-3").await;
    let (status, denied) = app
        .api_post("/api/billing/prior-auth/submit", &request(&planned))
        .await;
    assert_eq!(status, 201, "{denied}");
    assert_eq!(
        (&denied["decision"], &denied["preAuthRef"]),
        (&json!("denied"), &Value::Null)
    );
    set_member_id(app, &planned.coverage, "PEND-3").await;
    let (_, pended) = app
        .api_post("/api/billing/prior-auth/submit", &request(&planned))
        .await;
    assert_eq!(pended["decision"], "pended");
    let response_id = pended["responseId"].as_str().unwrap();
    let response = fhir_json(app.get(&format!("ClaimResponse/{response_id}")).await).await;
    assert_eq!(response["outcome"], "queued");

    // The status sync asks the sandbox again, whose reviewer has approved it since.
    assert_eq!(app.run_job("prior_auth_status_sync").await["status"], "succeeded");
    let response = fhir_json(app.get(&format!("ClaimResponse/{response_id}")).await).await;
    assert_eq!(
        (&response["outcome"], &response["meta"]["versionId"]),
        (&json!("complete"), &json!("2")),
        "{response}"
    );
    assert!(
        response["preAuthRef"].as_str().unwrap().starts_with("SBX-PA-"),
        "{response}"
    );

    set_member_id(app, &planned.coverage, "DOWN-3").await;
    let (status, failed) = app
        .api_post("/api/billing/prior-auth/submit", &request(&planned))
        .await;
    assert_eq!(
        (status, &failed["gatewayError"]),
        (503, &json!("transient")),
        "{failed}"
    );
    let decisions: Vec<Value> = list(app, &planned.patient)
        .await
        .iter()
        .map(|p| p["decision"].clone())
        .collect();
    assert_eq!(
        decisions,
        [json!("approved"), json!("denied")],
        "the failed request left nothing"
    );

    let mut bad = request(&planned);
    bad["procedures"][0]["code"] = json!("992");
    let (status, refused) = app.api_post("/api/billing/prior-auth/submit", &bad).await;
    assert_eq!(
        (status, &refused["field"]),
        (422, &json!("procedures[0].code")),
        "{refused}"
    );
    let (status, _) = app.api_get("/api/billing/prior-auth").await;
    assert_eq!(status, 400);
    let (status, _) = app.api_get("/api/billing/prior-auth?patient=nobody").await;
    assert_eq!(status, 404);
}
