//! Prior authorization against the simulated Service Reviews API over real HTTP:
//! the PAS Bundle posted as a `ServiceReview`, polled to a decision; a pended
//! review tracked and asked about again; refusals and failures classified.

mod common;

use claimbridge_plugin_availity::simulator::SimulatorState;
use claimbridge_plugin_sdk::{
    ErrorClass, Operation, OperationOutput, PriorAuthDecision, PriorAuthOutcome, PriorAuthRequest,
    PriorAuthStatusRequest,
};
use claimbridge_simulator_kit::Fault;
use common::*;
use serde_json::{json, Value};

const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";

/// A PAS-shaped Bundle for a synthetic member of payer SIM001.
fn bundle(member_id: &str) -> Value {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Claim", "id": "c1", "use": "preauthorization",
            "created": "2026-11-20T10:00:00Z",
            "patient": {"reference": "Patient/p1"}, "insurer": {"reference": "Organization/payer"},
            "provider": {"reference": "Organization/clinic"},
            "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "M54.50"}]}}],
            "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "97110"}]},
                      "quantity": {"value": 12}, "servicedDate": "2026-12-01"}]}},
        {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-14",
            "name": [{"family": "Synthetic", "given": ["Sam"]}]}},
        {"resource": {"resourceType": "Coverage", "id": "cv1", "subscriberId": member_id}},
        {"resource": {"resourceType": "Organization", "id": "payer",
            "identifier": [{"system": "urn:payer-id", "value": "SIM001"}]}},
        {"resource": {"resourceType": "Organization", "id": "clinic", "name": "Example Clinic",
            "identifier": [{"system": NPI_SYSTEM, "value": "1234567893"}]}},
    ]})
}

fn prior_auth(member_id: &str) -> Operation {
    Operation::PriorAuth(PriorAuthRequest {
        bundle: bundle(member_id),
    })
}

fn decision(output: OperationOutput) -> PriorAuthDecision {
    match output {
        OperationOutput::PriorAuth(decision) | OperationOutput::PriorAuthStatus(decision) => decision,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_approved_review_comes_back_with_its_certification() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;

    let approved = decision(run(&plugin, prior_auth("SYN100200")).await.unwrap());

    assert_eq!(approved.outcome, PriorAuthOutcome::Approved, "{approved:?}");
    assert!(approved.reference.as_deref().unwrap().starts_with("SIM-SR-"));
    let (start, end) = approved.period.unwrap();
    assert_eq!(
        (start.to_string(), end.to_string()),
        ("2026-12-01".into(), "2027-02-28".into())
    );
    assert_eq!(approved.tracking_id, None);
    // One POST, a poll answered 202, and the decided review.
    assert_eq!(served(&vendor, "/v2/service-reviews"), 3);
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_pended_review_is_tracked_and_its_decision_asked_for_later() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;

    let pended = decision(run(&plugin, prior_auth("PEND-1")).await.unwrap());
    assert_eq!(pended.outcome, PriorAuthOutcome::Pended);
    assert!(
        pended.note.contains("Clinical review required"),
        "{}",
        pended.note
    );
    let id = pended.tracking_id.expect("a pended review is tracked");
    // Only one review was filed, however many polls it took.
    let posts = vendor.faults.served();
    assert_eq!(posts.get("/v2/service-reviews").copied(), Some(1), "{posts:?}");

    let status = Operation::PriorAuthStatus(PriorAuthStatusRequest {
        tracking_id: id.clone(),
    });
    let still = decision(run(&plugin, status.clone()).await.unwrap());
    assert_eq!(
        (still.outcome, still.tracking_id.as_deref()),
        (PriorAuthOutcome::Pended, Some(id.as_str()))
    );

    let decided = reqwest::Client::new()
        .put(format!(
            "{}/__simulator/service-reviews/{id}",
            vendor.http.base_url()
        ))
        .json(&json!({"statusCode": "A3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 204);
    let denied = decision(run(&plugin, status).await.unwrap());
    assert_eq!(
        (denied.outcome, denied.reference),
        (PriorAuthOutcome::Denied, None)
    );
    assert!(denied.note.contains("Not medically necessary"), "{}", denied.note);
    vendor.http.stop().await;
}

#[tokio::test]
async fn refusals_are_final_and_name_the_field() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;

    // Refused by the plugin before anything is sent: no NPI to request under.
    let mut no_npi = bundle("SYN1");
    no_npi["entry"][4]["resource"]["identifier"] = json!([]);
    let error = run(&plugin, Operation::PriorAuth(PriorAuthRequest { bundle: no_npi }))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("NPI"), "{error}");
    assert_eq!(served(&vendor, "/v2/service-reviews"), 0);

    // Refused by Availity: an unknown payer.
    let mut unknown_payer = bundle("SYN1");
    unknown_payer["entry"][3]["resource"]["identifier"][0]["value"] = json!("NOPE9");
    let error = run(
        &plugin,
        Operation::PriorAuth(PriorAuthRequest {
            bundle: unknown_payer,
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("payer.id"), "{error}");

    // A review Availity does not have.
    let error = run(
        &plugin,
        Operation::PriorAuthStatus(PriorAuthStatusRequest {
            tracking_id: "999".into(),
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_review_post_that_goes_unanswered_is_ambiguous_not_transient() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin_with(
        vendor.http.base_url(),
        json!({"pollIntervalMillis": 20, "maxPolls": 5, "timeoutSecs": 1}),
        credentials(claimbridge_plugin_availity::simulator::CLIENT_SECRET),
    )
    .await;
    // A token first, so that the fault meets the POST itself.
    decision(run(&plugin, prior_auth("SYN2")).await.unwrap());
    vendor.http.set_fault(Fault::TimeoutAfterAccepting, Some(1));

    let error = run(&plugin, prior_auth("SYN3")).await.unwrap_err();

    // Sending it again could file a second review: the caller must not fail over.
    assert_eq!(error.class(), ErrorClass::Ambiguous, "{error}");
    vendor.http.stop().await;
}
