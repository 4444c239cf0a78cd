//! The claims intake API as a biller's system meets it: plain JSON claims in,
//! stored FHIR Claims with their billing state and scrub findings out.

use serde_json::{json, Value};

use crate::billing::claim_for_new_patient;
use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(
    a_clean_claim_is_stored_ready_to_submit,
    a_claim_with_a_bad_code_goes_to_review,
    a_refused_claim_stores_nothing,
    a_bad_batch_line_is_reported_and_the_others_stored,
    a_service_billed_twice_in_one_batch_is_found,
    a_batch_finds_services_billed_before_it_and_in_its_earlier_chunks,
    a_claim_sent_while_a_batch_bills_the_same_service_is_checked_against_it,
    the_billing_api_takes_claims_at_its_own_paths,
    a_chunk_the_database_refuses_is_reported_whole_and_leaves_nothing,
    claims_of_chunks_not_stored_are_not_duplicates_of_later_ones,
);

/// The batch tests whose outcome depends on how many chunks are in flight, again
/// with four connections per HTTP worker: three chunks in flight instead of two.
mod three_in_flight {
    use crate::helpers::{TestApp, TestOptions};

    const WIDER_POOL: TestOptions = TestOptions {
        pool_size: Some(8),
        ..TestOptions::SANDBOX
    };

    crate::on_both_backends!(
        with super::WIDER_POOL;
        a_chunk_the_database_refuses_is_reported_whole_and_leaves_nothing,
        claims_of_chunks_not_stored_are_not_duplicates_of_later_ones,
    );

    async fn a_chunk_the_database_refuses_is_reported_whole_and_leaves_nothing(app: &TestApp) {
        super::a_chunk_the_database_refuses_is_reported_whole_and_leaves_nothing(app).await;
    }

    async fn claims_of_chunks_not_stored_are_not_duplicates_of_later_ones(app: &TestApp) {
        super::claims_of_chunks_not_stored_are_not_duplicates_of_later_ones(app).await;
    }
}

/// Claims priced with configured fee schedules (`billing_fee_schedules`).
mod priced {
    use serde_json::Value;

    use crate::helpers::{TestApp, TestOptions};

    /// National RVUs in the default schedule; Acme's contract sets its own
    /// dollars per RVU and locality, and a fixed fee for the draw.
    const SCHEDULES: TestOptions = TestOptions {
        fee_schedules: Some(
            r#"{"default": {"fees": [{"code": "99213", "rvu": 2.0}, {"code": "36415", "amount": 5.00}]},
                "payers": {"ACME01": {"conversionFactor": 32.3465, "gpci": "1.05",
                                      "fees": [{"code": "36415", "amount": "3.00"}]}}}"#,
        ),
        ..TestOptions::SANDBOX
    };

    crate::on_both_backends!(with super::SCHEDULES; a_claim_is_priced_on_its_payer_s_contract);

    async fn a_claim_is_priced_on_its_payer_s_contract(app: &TestApp) {
        let request = super::intake_request(app).await;
        let (status, answer) = app.api_post("/api/claims", &request).await;
        assert_eq!(status, 201, "{answer}");
        // 99213: 2.0 RVU × 1.05 × $32.3465 = 67.92765 → 67.93; 36415: Acme's $3.00.
        let allowed: Value = answer["pricing"]["allowedTotal"].clone();
        assert_eq!(allowed.to_string(), "70.93", "{answer}");
    }
}

/// An intake request for the patient, clinic, doctor and coverage the billing
/// tests' clean claim refers to, with its two services.
async fn intake_request(app: &TestApp) -> Value {
    let claim = claim_for_new_patient(app).await;
    let served = claim["item"][0]["servicedDate"].clone();
    json!({
        "patient": claim["patient"],
        "provider": claim["provider"],
        "coverage": claim["insurance"][0]["coverage"],
        "rendering": claim["careTeam"][0]["provider"],
        "diagnoses": ["E11.9", "I10"],
        "procedures": [
            {"code": "99213", "modifiers": ["25"], "units": 1, "charge": "125.00", "serviceDate": served,
             "diagnosisPointers": [1, 2], "placeOfService": "11"},
            {"code": "36415", "charge": "21.00", "serviceDate": served, "diagnosisPointers": [1],
             "placeOfService": "11"}
        ]
    })
}

async fn post_claim(app: &TestApp, body: &Value, expected: u16) -> Value {
    let response = app
        .client
        .post(app.server_url("/api/claims"))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    let answer: Value = response.json().await.expect("JSON body");
    assert_eq!(status, expected, "{answer}");
    answer
}

/// The ids of the Claims stored for `patient` (a `Patient/{id}` reference).
async fn claims_of(app: &TestApp, patient: &Value) -> Vec<String> {
    let reference = patient["reference"].as_str().unwrap();
    let bundle = fhir_json(app.get(&format!("Claim?patient={reference}")).await).await;
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_clean_claim_is_stored_ready_to_submit(app: &TestApp) {
    let mut request = intake_request(app).await;
    request["documents"] = json!([{"contentType": "text/plain", "title": "visit note", "data": "dmlzaXQ="}]);
    let answer = post_claim(app, &request, 201).await;
    assert_eq!(answer["status"], "ready_to_submit");
    assert_eq!(answer["cleanClaim"], true);
    assert_eq!(answer["scrubResults"], json!([]));
    // The default schedule knows no fees: each line is estimated at its charge.
    assert_eq!(answer["pricing"]["allowedTotal"].as_f64(), Some(146.0));
    assert!(answer["nextSteps"][0]
        .as_str()
        .unwrap()
        .starts_with("submit the claim"));

    let id = answer["claimId"].as_str().unwrap();
    let stored = fhir_json(app.get(&format!("Claim/{id}")).await).await;
    assert_eq!(stored["total"]["value"].as_f64(), Some(146.0), "{stored}");
    assert_eq!(stored["status"], "active");
    assert_eq!(stored["meta"]["versionId"], "1");
    assert_eq!(stored["patient"], request["patient"]);
    assert_eq!(
        stored["supportingInfo"][0]["valueAttachment"]["title"],
        "visit note"
    );

    let response = app
        .client
        .get(app.server_url(&format!("/api/claims/{id}/status")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["status"], "ready_to_submit");
    assert_eq!(status["denials"], json!([]));
    let moves: Vec<&Value> = status["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["to"])
        .collect();
    assert_eq!(moves, [&json!("draft"), &json!("ready_to_submit")]);
}

async fn a_claim_with_a_bad_code_goes_to_review(app: &TestApp) {
    let mut request = intake_request(app).await;
    request["diagnoses"][0] = json!("E11");
    let answer = post_claim(app, &request, 201).await;
    assert_eq!(answer["status"], "needs_review");
    assert_eq!(answer["cleanClaim"], false);
    assert_eq!(
        answer["scrubResults"][0]["code"], "DIAGNOSIS_NOT_BILLABLE",
        "{answer}"
    );
    assert!(!answer["nextSteps"].as_array().unwrap().is_empty());
    let id = answer["claimId"].as_str().unwrap();
    let stored = fhir_json(app.get(&format!("Claim/{id}")).await).await;
    assert_eq!(stored["status"], "draft");
}

async fn a_refused_claim_stores_nothing(app: &TestApp) {
    let request = intake_request(app).await;

    let mut missing = request.clone();
    missing["coverage"] = json!({"reference": "Coverage/no-such-coverage"});
    let answer = post_claim(app, &missing, 422).await;
    assert_eq!(answer["field"], "coverage", "{answer}");

    let mut unpriced = request.clone();
    unpriced["procedures"][1]["charge"] = json!("twenty-one dollars");
    let answer = post_claim(app, &unpriced, 422).await;
    assert_eq!(answer["field"], "procedures[1].charge", "{answer}");

    let mut undated = request.clone();
    undated["procedures"][0]["serviceDate"] = json!("next Tuesday");
    let answer = post_claim(app, &undated, 422).await;
    assert_eq!(answer["field"], "procedures[0].serviceDate", "{answer}");

    assert_eq!(claims_of(app, &request["patient"]).await, Vec::<String>::new());

    let mut nobody = request.clone();
    nobody["patient"] = json!({"reference": "Patient/no-such-patient"});
    let answer = post_claim(app, &nobody, 422).await;
    assert_eq!(answer["field"], "patient", "{answer}");
    assert_eq!(claims_of(app, &nobody["patient"]).await, Vec::<String>::new());
}

async fn a_bad_batch_line_is_reported_and_the_others_stored(app: &TestApp) {
    let first = intake_request(app).await;
    let mut third = first.clone();
    third["procedures"] = json!([{"code": "99214", "charge": "180.00", "serviceDate": "2026-01-15",
                                  "diagnosisPointers": [1], "placeOfService": "11"}]);
    let batch = format!("{first}\n{{\"patient\": \n{third}\n");
    let response = app
        .client
        .post(app.server_url("/api/claims/batch"))
        .header("Content-Type", "application/x-ndjson")
        .body(batch)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let results: Value = response.json().await.unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[1]["line"], 2);
    assert!(results[1]["error"].as_str().unwrap().contains("not JSON"));
    assert!(results[1].get("claimId").is_none());

    let mut stored = Vec::new();
    for (result, line) in [(&results[0], 1), (&results[2], 3)] {
        assert_eq!(result["line"], line);
        assert!(result["status"].is_string(), "{result}");
        let id = result["claimId"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&format!("Claim/{id}")).await.status(), 200);
        stored.push(id);
    }
    let mut found = claims_of(app, &first["patient"]).await;
    found.sort();
    stored.sort();
    assert_eq!(found, stored);
}

/// Batch lines run several at a time; claims of one patient still take turns, so the
/// same service sent three times in one batch is found as a duplicate by the second
/// and third claim stored (the scrub findings are kept with the claim's first move).
async fn a_service_billed_twice_in_one_batch_is_found(app: &TestApp) {
    let line = intake_request(app).await;
    let results = post_batch(app, &format!("{line}\n{line}\n{line}\n")).await;
    let mut found_duplicate = 0;
    for result in results.as_array().unwrap() {
        let id = result["claimId"].as_str().expect("stored");
        found_duplicate += usize::from(duplicate_found(app, id).await);
    }
    assert_eq!(found_duplicate, 2, "{results}");
}

/// A batch is stored a chunk at a time (two claims on test servers): a claim stored
/// before the batch and the batch's own earlier chunks are both seen by the
/// duplicate check.
async fn a_batch_finds_services_billed_before_it_and_in_its_earlier_chunks(app: &TestApp) {
    let line = intake_request(app).await;
    let before = post_claim(app, &line, 201).await;
    let before = before["claimId"].as_str().unwrap();
    let results = post_batch(app, &format!("{line}\n").repeat(5)).await;
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(
        results.iter().all(|r| r["claimId"].is_string()),
        "every claim is stored"
    );
    let first = results[0]["claimId"].as_str().unwrap();
    let last = results[4]["claimId"].as_str().unwrap();
    assert!(!duplicate_found(app, before).await);
    assert!(
        duplicate_found(app, first).await,
        "the claim stored before the batch"
    );
    assert!(duplicate_found(app, last).await, "the first chunk's claims");
}

/// A single claim sent while a batch is stored, billing a service one of the
/// batch's claims also bills, for a patient the batch meets only there: whichever
/// of the two is stored second finds the other. (A chunk holds its patients' claim
/// locks from before it reads their earlier claims until it commits, and a single
/// intake reads under the same lock.) Nothing forces the two to overlap: each of
/// the three rounds, the batch's claim further down the batch, checks the guarantee
/// for however they met.
async fn a_claim_sent_while_a_batch_bills_the_same_service_is_checked_against_it(app: &TestApp) {
    let filler = intake_request(app).await;
    for position in [1, 5, 9] {
        let line = intake_request(app).await;
        let mut lines = vec![filler.to_string(); 12];
        lines[position] = line.to_string();
        let batch: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let (results, single) = tokio::join!(post_batch(app, &batch), post_claim(app, &line, 201));
        let in_batch = results[position]["claimId"].as_str().expect("stored");
        let single = single["claimId"].as_str().unwrap();
        let found = [
            duplicate_found(app, in_batch).await,
            duplicate_found(app, single).await,
        ];
        assert!(
            found.contains(&true),
            "neither claim found the other (line {position}): {found:?}"
        );
    }
}

async fn post_batch(app: &TestApp, batch: &str) -> Value {
    let response = app
        .client
        .post(app.server_url("/api/claims/batch"))
        .body(batch.to_owned())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Whether scrubbing the claim at intake found one of its services billed already.
async fn duplicate_found(app: &TestApp, claim_id: &str) -> bool {
    let (_, status) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
    let first_move = &status["statusHistory"][1]["details"];
    let findings = first_move.as_array().cloned().unwrap_or_default();
    findings.iter().any(|f| f["code"] == "DUPLICATE_SERVICE")
}

/// `/api/billing/claims` (create, batch, status) answers as the seed's `/api/claims`.
async fn the_billing_api_takes_claims_at_its_own_paths(app: &TestApp) {
    let request = intake_request(app).await;
    let response = app
        .client
        .post(app.server_url("/api/billing/claims"))
        .json(&request)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["claimId"].as_str().expect("a claim id");
    let status: Value = app
        .client
        .get(app.server_url(&format!("/api/billing/claims/{id}/status")))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], created["status"]);
    let batch = app
        .client
        .post(app.server_url("/api/billing/claims/batch"))
        .body(format!("{request}\nnot json\n"))
        .send()
        .await
        .expect("POST");
    let results: Value = batch.json().await.unwrap();
    assert!(results[0]["claimId"].is_string(), "{results}");
    assert!(
        results[1]["error"].as_str().unwrap().contains("not JSON"),
        "{results}"
    );
}

/// A chunk is one transaction: when the database refuses it (here a trigger refuses
/// any claim moved to `needs_review`), none of its claims is stored and each says
/// so; the chunks computed beside it, checked against claims that then were not
/// stored, are reported too; chunks before and after them stay stored, and the
/// duplicate check after them still knows the stored claims' services (the refused
/// claim billed one of them again); sent again, the refused ones store.
async fn a_chunk_the_database_refuses_is_reported_whole_and_leaves_nothing(app: &TestApp) {
    app.refuse_inserts(
        "billing_state_history",
        "NEW.to_state = 'needs_review'",
        "review refused",
    )
    .await;
    let mut requests = Vec::new();
    for _ in 0..6 {
        requests.push(intake_request(app).await);
    }
    // Line 3 bills line 1's services again, with a code that sends it to review.
    requests[2] = requests[0].clone();
    requests[2]["diagnoses"][0] = json!("E11");
    // Lines 7–8 may be computed while lines 3–4 are still being written; line 9,
    // after the refused chunk is known, bills line 1's services once more.
    requests.push(intake_request(app).await);
    requests.push(intake_request(app).await);
    requests.push(requests[0].clone());
    requests.push(intake_request(app).await);
    let batch: String = requests.iter().map(|r| format!("{r}\n")).collect();

    // Chunks of two: lines 1–2 store, 3–4 are refused, 5–6 were computed beside
    // them, and so were 7–8 if the refusal came late; 9–10 store.
    let results = post_batch(app, &batch).await;
    let results = results.as_array().unwrap();
    let stored = |r: &Value| r["claimId"].is_string();
    let not_stored = |r: &Value| r["error"].as_str().unwrap_or_default().starts_with("not stored");
    assert!(
        results[..2].iter().chain(&results[8..]).all(stored),
        "{results:?}"
    );
    assert!(results[2..6].iter().all(not_stored), "{results:?}");
    for result in &results[6..8] {
        let beside = result["error"] == "not stored: an earlier chunk of the batch could not be stored";
        assert!(stored(result) || beside, "{result}");
    }
    for request in &requests[3..6] {
        let patient = request["patient"]["reference"].as_str().unwrap();
        let found = fhir_json(app.get(&format!("Claim?patient={patient}&_summary=count")).await).await;
        assert_eq!(found["total"], 0, "nothing of a refused chunk is stored");
    }
    let line_9 = results[8]["claimId"].as_str().unwrap();
    assert!(
        duplicate_found(app, line_9).await,
        "line 1's services are still known after line 3 was not stored"
    );

    app.allow_inserts("billing_state_history").await;
    let again: String = requests[2..8]
        .iter()
        .zip(&results[2..8])
        .filter(|(_, result)| not_stored(result))
        .map(|(request, _)| format!("{request}\n"))
        .collect();
    let results = post_batch(app, &again).await;
    assert!(
        results
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["claimId"].is_string()),
        "{results}"
    );
}

/// Two chunks not stored, the second computed while the first was written and
/// billing the same service again: once both are taken back, the service is billed
/// by nothing, so a later claim billing it is no duplicate (it was when the first
/// chunk's entry was taken back before the second put the first's claim back).
async fn claims_of_chunks_not_stored_are_not_duplicates_of_later_ones(app: &TestApp) {
    app.refuse_inserts(
        "billing_state_history",
        "NEW.to_state = 'needs_review'",
        "review refused",
    )
    .await;
    let billed = intake_request(app).await;
    let mut to_review = intake_request(app).await;
    to_review["diagnoses"][0] = json!("E11");
    let requests = [
        billed.clone(),
        to_review,
        billed.clone(),
        intake_request(app).await,
        intake_request(app).await,
        intake_request(app).await,
        billed,
        intake_request(app).await,
    ];
    let batch: String = requests.iter().map(|r| format!("{r}\n")).collect();

    // Chunks of two: lines 1–2 are refused (line 2 goes to review), 3–4 were
    // computed beside them, 5–6 perhaps; line 7 bills line 1's service again.
    let results = post_batch(app, &batch).await;
    let results = results.as_array().unwrap();
    assert!(results[..4].iter().all(|r| r["claimId"].is_null()), "{results:?}");
    let line_7 = results[6]["claimId"].as_str().expect("line 7 is stored");
    assert!(
        !duplicate_found(app, line_7).await,
        "lines 1 and 3 were not stored: {results:?}"
    );
}
