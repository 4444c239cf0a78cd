//! Claim submission as a biller meets it: `POST /api/billing/claims/{id}/submit`
//! sends a claim that is ready as an 837P to the sandbox clearinghouse and moves it
//! to `submitted` with the receipt; any other claim is refused, and a claim the
//! clearinghouse did not take stays where it was.

use serde_json::{json, Value};

use crate::billing::claim_for_new_patient;
use crate::bundles::post_bundle;
use crate::helpers::{fhir_json, Server, TestApp};

crate::on_both_backends!(
    with crate::helpers::TestOptions::SANDBOX;
    a_ready_claim_is_sent_and_moves_to_submitted,
    only_a_ready_claim_is_sent,
    a_claim_the_clearinghouse_did_not_take_stays_ready,
    two_submissions_at_once_send_the_claim_once,
    an_ehrs_change_that_makes_a_ready_claim_dirty_holds_it_for_review,
);

/// A stored claim that scrubbed clean: `ready_to_submit`. Returns its id.
pub(crate) async fn ready_claim(app: &impl Server) -> String {
    let id = draft_claim(app).await;
    let (status, body) = app
        .api_post(&format!("/api/billing/claims/{id}/validate"), &json!({}))
        .await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("ready_to_submit")),
        "{body}"
    );
    id
}

async fn draft_claim(app: &impl Server) -> String {
    let stored = app.create(&claim_for_new_patient(app).await).await;
    stored["id"].as_str().unwrap().to_owned()
}

async fn submit(app: &TestApp, claim_id: &str) -> (u16, Value) {
    app.api_post(
        &format!("/api/billing/claims/{claim_id}/submit"),
        &json!({"actor": "biller-1"}),
    )
    .await
}

async fn status(app: &TestApp, claim_id: &str) -> Value {
    let (status, body) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Gives the claim's coverage another member id: the sandbox reads it from the 837P.
async fn change_member_id(app: &TestApp, claim_id: &str, member_id: &str) {
    let claim = fhir_json(app.get(&format!("Claim/{claim_id}")).await).await;
    let coverage_path = claim["insurance"][0]["coverage"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut coverage = fhir_json(app.get(&coverage_path).await).await;
    coverage["subscriberId"] = json!(member_id);
    assert_eq!(app.put(&coverage_path, &coverage).await.status(), 200);
}

async fn a_ready_claim_is_sent_and_moves_to_submitted(app: &TestApp) {
    let id = ready_claim(app).await;
    let (code, submitted) = submit(app, &id).await;
    assert_eq!(code, 200, "{submitted}");
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["fhirStatus"], "active");
    let last = submitted["statusHistory"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (&last["from"], &last["to"]),
        (&json!("ready_to_submit"), &json!("submitted"))
    );
    assert_eq!(last["actor"], "biller-1");
    assert_eq!(last["reason"], "sent to the sandbox clearinghouse");
    let details = &last["details"];
    assert!(
        details["receiptId"].as_str().unwrap().starts_with("SBX-"),
        "{details}"
    );
    assert_eq!(details["claimsInInterchange"], 1);
    // The interchange the clearinghouse read is one this server wrote and kept.
    let control_number = details["interchangeControlNumber"].as_str().unwrap();
    assert_eq!(control_number.len(), 9, "{details}");
    assert_eq!(status(app, &id).await["status"], "submitted");
    let claim = fhir_json(app.get(&format!("Claim/{id}")).await).await;
    assert_eq!(claim["status"], "active");
}

async fn only_a_ready_claim_is_sent(app: &TestApp) {
    let draft = draft_claim(app).await;
    let (code, refused) = submit(app, &draft).await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["state"], "draft");
    assert!(
        refused["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("ready_to_submit")),
        "{refused}"
    );
    assert_eq!(status(app, &draft).await["status"], "draft");

    let sent = ready_claim(app).await;
    assert_eq!(submit(app, &sent).await.0, 200);
    let (code, again) = submit(app, &sent).await;
    assert_eq!(code, 409, "{again}");
    assert_eq!(again["state"], "submitted");

    let (code, _) = submit(app, "no-such-claim").await;
    assert_eq!(code, 404);
}

async fn a_claim_the_clearinghouse_did_not_take_stays_ready(app: &TestApp) {
    for (member_id, expected, kind) in [
        ("DOWN-7", 503, "transient"),
        ("SILENT-7", 504, "ambiguous"),
        ("REFUSE-7", 502, "final"),
    ] {
        let id = ready_claim(app).await;
        let before = status(app, &id).await;
        change_member_id(app, &id, member_id).await;
        let (code, answer) = submit(app, &id).await;
        assert_eq!(code, expected, "{answer}");
        assert_eq!(answer["gatewayError"], kind);
        let after = status(app, &id).await;
        assert_eq!(after["status"], "ready_to_submit");
        assert_eq!(
            after["statusHistory"], before["statusHistory"],
            "no move was recorded"
        );
    }
    // Once the clearinghouse is back, the same claim goes.
    let id = ready_claim(app).await;
    change_member_id(app, &id, "DOWN-8").await;
    assert_eq!(submit(app, &id).await.0, 503);
    change_member_id(app, &id, "M123").await;
    assert_eq!(submit(app, &id).await.0, 200);
}

async fn two_submissions_at_once_send_the_claim_once(app: &TestApp) {
    let id = ready_claim(app).await;
    let (first, second) = tokio::join!(submit(app, &id), submit(app, &id));
    let mut codes = [first.0, second.0];
    codes.sort();
    assert_eq!(codes, [200, 409], "{first:?} {second:?}");
    let history = status(app, &id).await["statusHistory"]
        .as_array()
        .unwrap()
        .clone();
    let submissions = history.iter().filter(|m| m["to"] == "submitted").count();
    assert_eq!(submissions, 1);
}

/// An EHR changes a claim that is ready to be sent through the FHIR API. A clean
/// change leaves it ready; one the scrub finds errors in holds it for review in
/// the same transaction, so no submission sends it as it is.
async fn an_ehrs_change_that_makes_a_ready_claim_dirty_holds_it_for_review(app: &TestApp) {
    let id = ready_claim(app).await;
    let path = format!("Claim/{id}");
    let mut claim = fhir_json(app.get(&path).await).await;
    claim["priority"]["coding"][0]["code"] = json!("stat");
    assert_eq!(app.put(&path, &claim).await.status(), 200);
    assert_eq!(status(app, &id).await["status"], "ready_to_submit");

    claim["total"]["value"] = json!(1);
    let response = app.put(&path, &claim).await;
    assert_eq!(response.status(), 200);
    // The move mirrored in Claim.status wrote a further version: the answer is
    // that one, whose ETag the client's next change names.
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let current = fhir_json(app.get(&path).await).await;
    assert_eq!(current["status"], "draft");
    assert_eq!(
        etag,
        format!("W/\"{}\"", current["meta"]["versionId"].as_str().unwrap())
    );
    let held = status(app, &id).await;
    assert_eq!(held["status"], "needs_review", "{held}");
    let last = held["statusHistory"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "fhir-api", "{last}");
    assert!(last["details"].to_string().contains("TOTAL_MISMATCH"), "{last}");
    let (code, refused) = submit(app, &id).await;
    assert_eq!(code, 409, "{refused}");

    // The same through a transaction Bundle, whose entry answers with the version
    // that ends up current; and a change that leaves the claim unbillable (its
    // provider resolves to nothing) is held for review too, not refused.
    for change in ["total", "provider"] {
        let id = ready_claim(app).await;
        let path = format!("Claim/{id}");
        let mut claim = fhir_json(app.get(&path).await).await;
        match change {
            "total" => claim["total"]["value"] = json!(1),
            _ => claim["provider"]["reference"] = json!("Practitioner/no-such-practitioner"),
        }
        let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": claim, "request": {"method": "PUT", "url": path}},
            {"request": {"method": "GET", "url": path}}]});
        let answer = fhir_json(post_bundle(app, &transaction).await).await;
        assert!(
            answer["entry"][0]["response"]["status"]
                .as_str()
                .unwrap()
                .starts_with("200"),
            "{answer}"
        );
        let current = fhir_json(app.get(&path).await).await;
        assert_eq!(
            answer["entry"][0]["response"]["etag"],
            json!(format!(
                "W/\"{}\"",
                current["meta"]["versionId"].as_str().unwrap()
            )),
            "{change}: {answer}"
        );
        // The read in the same Bundle sees what followed the change.
        assert_eq!(answer["entry"][1]["resource"], current, "{change}: {answer}");
        let held = status(app, &id).await;
        assert_eq!(held["status"], "needs_review", "{change}");
        let reason = held["statusHistory"].as_array().unwrap().last().unwrap()["reason"].clone();
        let expected = match change {
            "total" => "scrub found errors",
            _ => "the changed claim cannot be billed",
        };
        assert!(reason.as_str().unwrap().starts_with(expected), "{reason}");
    }
}
