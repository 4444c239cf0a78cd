//! Prior authorization through the integration registry, as a referral
//! coordinator meets it: the request goes to Availity's Service Reviews API (its
//! simulator; Claim.MD offers none), a payer that pends it leaves the decision
//! `pended`, and once the payer's reviewer decides, the `prior_auth_status_sync`
//! job (triggered here as an admin would) stores the decision.

use claimbridge_plugin_availity::simulator as availity;
use serde_json::{json, Value};

use crate::helpers::{fhir_json, TestApp};
use crate::prior_auth::{planned, request, set_member_id, Planned};

crate::on_both_backends!(
    with crate::helpers::TestOptions::INTEGRATIONS;
    a_pended_service_review_is_decided_by_the_status_sync,
);

/// The payer as the simulated Availity knows it.
async fn payer_known_to_availity(app: &TestApp, planned: &Planned) {
    let coverage = fhir_json(app.get(&format!("Coverage/{}", planned.coverage)).await).await;
    let path = coverage["payor"][0]["reference"].as_str().unwrap().to_owned();
    let mut payer = fhir_json(app.get(&path).await).await;
    payer["identifier"] = json!([{"system": "urn:payer-id", "value": "SIM001"}]);
    assert_eq!(app.put(&path, &payer).await.status(), 200);
}

async fn submit(app: &TestApp, planned: &Planned) -> Value {
    let (status, decided) = app
        .api_post("/api/billing/prior-auth/submit", &request(planned))
        .await;
    assert_eq!(status, 201, "{decided}");
    decided
}

async fn a_pended_service_review_is_decided_by_the_status_sync(app: &TestApp) {
    let simulator = availity::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .expect("the Availity simulator starts");
    let (status, body) = app
        .api_post(
            "/admin/integrations",
            &json!({
                "vendor": "availity",
                "name": "Availity",
                "baseUrl": simulator.base_url(),
                "settings": {"pollIntervalMillis": 20, "maxPolls": 3},
                "credentials": {"clientId": availity::CLIENT_ID, "clientSecret": availity::CLIENT_SECRET},
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let integration = body["id"].as_str().unwrap().to_owned();
    let planned = planned(app).await;
    payer_known_to_availity(app, &planned).await;

    // A member the payer approves at once: the certification number comes back.
    let approved = submit(app, &planned).await;
    assert_eq!(approved["decision"], "approved", "{approved}");
    assert!(
        approved["preAuthRef"].as_str().unwrap().starts_with("SIM-SR-"),
        "{approved}"
    );

    // A member whose request the payer pends.
    set_member_id(app, &planned.coverage, "PEND-7").await;
    let pended = submit(app, &planned).await;
    assert_eq!(
        (&pended["decision"], &pended["preAuthRef"]),
        (&json!("pended"), &Value::Null),
        "{pended}"
    );
    let response_id = pended["responseId"].as_str().unwrap();
    let response = fhir_json(app.get(&format!("ClaimResponse/{response_id}")).await).await;
    let tracking = &response["identifier"][0];
    assert_eq!(
        tracking["system"],
        format!("urn:claimbridge:prior-auth-tracking:{integration}")
    );
    let review_id = tracking["value"].as_str().unwrap().to_owned();

    // Still under review: the sync asks, and nothing changes.
    assert_eq!(app.run_job("prior_auth_status_sync").await["status"], "succeeded");
    let unchanged = fhir_json(app.get(&format!("ClaimResponse/{response_id}")).await).await;
    assert_eq!(
        (&unchanged["outcome"], &unchanged["meta"]["versionId"]),
        (&json!("queued"), &json!("1"))
    );

    // The payer's reviewer certifies it; the next sync stores the decision.
    let decided = reqwest::Client::new()
        .put(format!(
            "{}/__simulator/service-reviews/{review_id}",
            simulator.base_url()
        ))
        .json(&json!({"statusCode": "A1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 204);
    assert_eq!(app.run_job("prior_auth_status_sync").await["status"], "succeeded");
    let listed = crate::prior_auth::list(app, &planned.patient).await;
    let now = listed
        .iter()
        .find(|p| p["responseId"] == response_id)
        .expect("the request is still listed");
    assert_eq!(now["decision"], "approved", "{now}");
    assert_eq!(now["preAuthRef"], format!("SIM-SR-{review_id}"));
    assert_eq!(
        now["preAuthPeriod"]["start"],
        planned.claim["item"][0]["servicedDate"]
    );

    // Each status question went to Availity and is in its attempt log.
    let (status, log) = app
        .api_get(&format!("/admin/integrations/{integration}/attempts"))
        .await;
    assert_eq!(status, 200, "{log}");
    let asked = log["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["operation"] == "prior_auth_status" && a["outcome"] == "succeeded")
        .count();
    assert_eq!(asked, 2, "{log}");
    simulator.stop().await;
}
