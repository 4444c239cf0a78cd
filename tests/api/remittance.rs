//! Posting 835 remittances as a billing office meets it: claims are billed through
//! the API (their 837P gives each its patient control number), the payer's 835 is
//! posted, and the money, the ClaimResponse and the claim's state are read back.

use serde_json::Value;

use crate::billing::claim_for_new_patient;
use crate::helpers::{fhir_json, TestApp};

crate::on_both_backends!(
    a_payment_in_full_pays_the_claim_once,
    the_same_payment_posted_twice_at_once_posts_once,
    a_partial_payment_leaves_the_patient_share,
    claim_payments_for_unknown_claims_are_kept_unmatched,
    a_malformed_835_is_refused_and_nothing_is_stored,
    every_sample_835_posts,
    a_remittance_that_fails_half_way_leaves_nothing,
    a_payment_for_a_deleted_claim_waits_unmatched_and_the_rest_post,
    a_claim_all_to_the_deductible_is_the_patient_s_not_denied,
    a_reversal_takes_the_decision_back_and_the_correction_decides_again,
    a_denied_claim_paid_on_reprocessing_is_paid_and_its_denial_settled,
);

/// The envelope of the guide's sample files.
const ISA: &str = "ISA*03*9876543210*01*9876543210*30*000000005      *30*12345          *131031*1147*^*00501*000000907*1*T*:~";

/// An interchange with one 835 transaction set per body (the segments between ST
/// and SE).
pub(crate) fn interchange(bodies: &[String]) -> String {
    let mut text = format!("{ISA}GS*HP*000000005*54321*20260110*1200*1*X*005010X221A1~");
    for (index, body) in bodies.iter().enumerate() {
        let control = format!("{:04}", index + 1);
        let segments = body.matches('~').count() + 2;
        text.push_str(&format!("ST*835*{control}~{body}SE*{segments}*{control}~"));
    }
    text.push_str(&format!("GE*{}*1~IEA*1*000000907~", bodies.len()));
    text
}

/// A check from Acme Health (payer id ACME01) for `claims` (CLP loops), then `rest`
/// (PLB segments).
pub(crate) fn payment(trace: &str, amount: &str, claims: &[String], rest: &str) -> String {
    format!(
        "BPR*I*{amount}*C*CHK************20260110~TRN*1*{trace}*1999999999~DTM*405*20260109~\
         N1*PR*ACME HEALTH~REF*2U*ACME01~N1*PE*GOOD CLINIC*XX*1234567893~LX*1~{}{rest}",
        claims.concat()
    )
}

/// A claim paid in full, both lines of `claim_for_new_patient`.
pub(crate) fn paid_in_full(patient_control_number: &str) -> String {
    format!(
        "CLP*{patient_control_number}*1*146.00*146.00**12*ICN-FULL~NM1*QC*1*DOE*JANE****MI*M123~\
         SVC*HC:99213:25*125.00*125.00**1~DTM*472*20260101~SVC*HC:36415*21.00*21.00**1~DTM*472*20260101~"
    )
}

pub(crate) async fn post_835(app: &TestApp, text: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.server_url("/api/billing/remittance"))
        .header("Content-Type", "application/edi-x12")
        .body(text.to_owned())
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

pub(crate) async fn api_get(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.server_url(path)).send().await.expect("GET");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("JSON body")
}

pub(crate) async fn post_json(app: &TestApp, path: &str, body: Value) -> Value {
    let response = app
        .client
        .post(app.server_url(path))
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("JSON body")
}

/// A stored, scrubbed claim (`ready_to_submit`) and the patient control number its
/// 837P gave it.
pub(crate) async fn billed_claim(app: &TestApp) -> (String, String) {
    let stored = app.create(&claim_for_new_patient(app).await).await;
    let id = stored["id"].as_str().expect("id").to_owned();
    let checked = post_json(app, &format!("/api/billing/claims/{id}/validate"), Value::Null).await;
    assert_eq!(checked["status"], "ready_to_submit", "{checked}");
    let document = app
        .client
        .get(app.server_url(&format!("/api/billing/claims/{id}/837")))
        .send()
        .await
        .expect("GET 837")
        .text()
        .await
        .expect("837 text");
    let clm = document
        .split('~')
        .map(str::trim)
        .find(|segment| segment.starts_with("CLM*"))
        .expect("a CLM segment");
    let patient_control_number = clm.split('*').nth(1).expect("CLM01").to_owned();
    (id, patient_control_number)
}

pub(crate) async fn claim_view(app: &TestApp, id: &str) -> Value {
    api_get(app, &format!("/api/billing/claims/{id}")).await
}

async fn claim_responses(app: &TestApp, claim_id: &str) -> Vec<Value> {
    let bundle = fhir_json(app.get(&format!("ClaimResponse?request=Claim/{claim_id}")).await).await;
    bundle["entry"]
        .as_array()
        .map(|entries| entries.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

async fn unmatched(app: &TestApp) -> Vec<Value> {
    let list = api_get(app, "/api/billing/remittance/unmatched").await;
    list["unmatched"].as_array().expect("unmatched list").clone()
}

fn totals(view: &Value) -> [String; 3] {
    ["paid", "patientResponsibility", "adjustments"].map(|total| view[total].to_string())
}

async fn a_payment_in_full_pays_the_claim_once(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let file = interchange(&[payment("TRACE-FULL", "146.00", &[paid_in_full(&number)], "")]);

    let (status, first) = post_835(app, &file).await;
    assert_eq!(status, 200, "{first}");
    let remittance = &first["remittances"][0];
    assert_eq!(remittance["duplicate"], false);
    assert_eq!(remittance["traceNumber"], "TRACE-FULL");
    assert_eq!(remittance["payer"]["id"], "ACME01");
    assert_eq!(remittance["paymentAmount"].to_string(), "146.00");
    assert_eq!(remittance["imbalances"], Value::Array(vec![]), "{remittance}");
    let posted = &remittance["posted"][0];
    assert_eq!(posted["claimId"], id.as_str());
    assert_eq!(posted["paid"].to_string(), "146.00");
    assert_eq!(posted["state"], "paid", "{posted}");

    // The claim was ready to submit: the remittance walked it through the states it
    // skipped, each move recorded with the trace number.
    let view = claim_view(app, &id).await;
    assert_eq!(view["status"], "paid");
    assert_eq!(totals(&view), ["146.00", "0.00", "0.00"]);
    let moves: Vec<(&str, &str)> = view["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["actor"] == "remittance")
        .map(|m| (m["to"].as_str().unwrap(), m["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(moves.len(), 3, "{view}");
    assert_eq!(
        moves.iter().map(|m| m.0).collect::<Vec<_>>(),
        ["submitted", "accepted", "paid"]
    );
    assert!(moves.iter().all(|m| m.1.contains("TRACE-FULL")), "{moves:?}");

    let responses = claim_responses(app, &id).await;
    assert_eq!(responses.len(), 1);
    let response = &responses[0];
    assert_eq!(response["id"], posted["claimResponseId"]);
    assert_eq!(response["outcome"], "complete");
    assert_eq!(response["use"], "claim");
    assert_eq!(response["payment"]["amount"]["value"].as_f64(), Some(146.0));
    assert_eq!(response["item"].as_array().map(Vec::len), Some(2));
    // The insurer is the payor of the claim's Coverage.
    let insurer = response["insurer"]["reference"].as_str().unwrap_or_default();
    assert!(insurer.starts_with("Organization/"), "{response}");

    // The same file again: recognised, answered as the first time, nothing changed.
    let (status, again) = post_835(app, &file).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["remittances"][0]["duplicate"], true);
    assert_eq!(again["remittances"][0]["posted"], remittance["posted"]);
    let view_again = claim_view(app, &id).await;
    assert_eq!(totals(&view_again), totals(&view));
    assert_eq!(view_again["statusHistory"], view["statusHistory"]);
    assert_eq!(claim_responses(app, &id).await.len(), 1);
}

async fn the_same_payment_posted_twice_at_once_posts_once(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let file = interchange(&[payment("TRACE-RACE", "146.00", &[paid_in_full(&number)], "")]);
    let ((first_status, first), (second_status, second)) =
        tokio::join!(post_835(app, &file), post_835(app, &file));
    assert_eq!((first_status, second_status), (200, 200), "{first} {second}");
    let mut duplicates = [first, second].map(|body| body["remittances"][0]["duplicate"].clone());
    duplicates.sort_by_key(Value::to_string);
    assert_eq!(duplicates, [Value::Bool(false), Value::Bool(true)]);
    assert_eq!(totals(&claim_view(app, &id).await)[0], "146.00");
    assert_eq!(claim_responses(app, &id).await.len(), 1);
}

async fn a_partial_payment_leaves_the_patient_share(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let sent = serde_json::json!({"to": "submitted", "actor": "biller-1"});
    post_json(app, &format!("/api/billing/claims/{id}/transitions"), sent).await;
    // 146 charged; the office visit pays 90 (25 deductible, 10 over the fee
    // schedule), the draw 10 (5 coinsurance, 6 over the fee schedule); 2.50 interest
    // is added to the check.
    let claim = format!(
        "CLP*{number}*1*146.00*100.00*30.00*12*ICN-PART~\
         SVC*HC:99213:25*125.00*90.00**1~DTM*472*20260101~CAS*PR*1*25.00~CAS*CO*45*10.00~AMT*B6*115.00~LQ*HE*N130~\
         SVC*HC:36415*21.00*10.00**1~DTM*472*20260101~CAS*PR*2*5.00~CAS*CO*45*6.00~"
    );
    let file = interchange(&[payment(
        "TRACE-PART",
        "102.50",
        &[claim],
        "PLB*1234567893*20261231*L6*-2.50~",
    )]);

    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let remittance = &body["remittances"][0];
    assert_eq!(remittance["imbalances"], Value::Array(vec![]), "{remittance}");
    assert_eq!(remittance["providerAdjustments"][0]["reason"], "L6");
    assert_eq!(
        remittance["providerAdjustments"][0]["amount"].to_string(),
        "-2.50"
    );
    let posted = &remittance["posted"][0];
    assert_eq!(posted["state"], "partially_paid", "{posted}");
    assert_eq!(posted["patientResponsibility"].to_string(), "30.00");

    let view = claim_view(app, &id).await;
    assert_eq!(view["status"], "partially_paid");
    assert_eq!(totals(&view), ["100.00", "30.00", "16.00"]);

    let responses = claim_responses(app, &id).await;
    assert_eq!(responses.len(), 1);
    let response = &responses[0];
    assert_eq!(response["outcome"], "partial");
    let visit = &response["item"][0];
    assert_eq!(visit["itemSequence"], 1);
    let adjudication = visit["adjudication"].as_array().unwrap();
    let category = |a: &Value| {
        a["category"]["coding"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        adjudication.iter().map(category).collect::<Vec<_>>(),
        ["submitted", "eligible", "benefit"]
    );
    assert_eq!(adjudication[1]["amount"]["value"].as_f64(), Some(115.0));
    let reasons: Vec<(&str, &str)> = adjudication[2]["reason"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["system"].as_str().unwrap(), c["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("https://x12.org/codes/claim-adjustment-reason-codes", "1"),
            ("https://x12.org/codes/claim-adjustment-reason-codes", "45"),
            ("https://x12.org/codes/remittance-advice-remark-codes", "N130"),
        ]
    );
}

async fn claim_payments_for_unknown_claims_are_kept_unmatched(app: &TestApp) {
    let claims = [
        paid_in_full("OTHER-SYSTEM-7"),
        // Our prefix, but no claim has that number.
        "CLP*CB999999*4*80.00*0.00**12*ICN-DENIED~CAS*CO*29*80.00~".to_owned(),
    ];
    let file = interchange(&[payment("TRACE-UNKNOWN", "146.00", &claims, "")]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let remittance = &body["remittances"][0];
    assert_eq!(remittance["posted"], Value::Array(vec![]));
    let reported: Vec<&str> = remittance["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["patientControlNumber"].as_str().unwrap())
        .collect();
    assert_eq!(reported, ["OTHER-SYSTEM-7", "CB999999"]);
    // A number written otherwise than our 837P writes it is nobody's claim.
    let (_, control_number) = billed_claim(app).await;
    let padded = control_number.replacen("CB", "CB0", 1);
    let file = interchange(&[payment("TRACE-PADDED", "146.00", &[paid_in_full(&padded)], "")]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remittances"][0]["posted"], Value::Array(vec![]), "{body}");
    assert_eq!(
        body["remittances"][0]["unmatched"][0]["patientControlNumber"],
        padded.as_str()
    );

    let listed = unmatched(app).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    // Newest first.
    let denied = &listed[1];
    assert_eq!(denied["patientControlNumber"], "CB999999");
    assert_eq!(denied["payerClaimControlNumber"], "ICN-DENIED");
    assert_eq!(denied["traceNumber"], "TRACE-UNKNOWN");
    assert_eq!(denied["charge"].to_string(), "80.00");
    assert_eq!(denied["paid"].to_string(), "0.00");
    assert_eq!(denied["detail"]["adjustments"][0]["reason"], "29");
    assert_eq!(listed[2]["detail"]["lines"][0]["procedure"]["code"], "99213");
    assert_eq!(listed[2]["detail"]["patient"]["name"], "DOE");
}

async fn a_malformed_835_is_refused_and_nothing_is_stored(app: &TestApp) {
    let good = interchange(&[payment("TRACE-BAD", "146.00", &[paid_in_full("OTHER-1")], "")]);

    let broken = good.replace("CLP*OTHER-1*1*146.00", "CLP*OTHER-1*1*ONE HUNDRED");
    let (status, body) = post_835(app, &broken).await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("CLP03"), "{body}");

    let (status, body) = post_835(app, "this is not X12").await;
    assert_eq!(status, 400, "{body}");

    // An amount longer than X12 allows (18 digits), which no sum could hold.
    let huge = good.replace("SVC*HC:36415*21.00", "SVC*HC:36415*79228162514264337593543950335");
    let (status, body) = post_835(app, &huge).await;
    assert_eq!(status, 400, "{body}");

    // An adjustment amount without its reason cannot be posted as anything.
    let reasonless = good.replace(
        "DTM*472*20260101~SVC*HC:36415",
        "CAS*PR*1*0.00***20.00~DTM*472*20260101~SVC*HC:36415",
    );
    let (status, body) = post_835(app, &reasonless).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("CAS05"),
        "{body}"
    );

    // A fraction of a cent cannot be posted exactly.
    let sub_cent = good.replace("BPR*I*146.00", "BPR*I*146.005");
    let (status, body) = post_835(app, &sub_cent).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("146.005"),
        "{body}"
    );

    assert_eq!(unmatched(app).await, Vec::<Value>::new());
    // Nothing was recorded under the trace number either.
    let (status, body) = post_835(app, &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remittances"][0]["duplicate"], false);
}

/// The payer adjudicated the claim and paid nothing because all of it went to
/// the patient's deductible: the patient owes it, and no denial is worked.
async fn a_claim_all_to_the_deductible_is_the_patient_s_not_denied(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let claim = format!("CLP*{number}*1*146.00*0.00*146.00*12*ICN-DED~CAS*PR*1*146.00~");
    let file = interchange(&[payment("TRACE-DED", "0.00", &[claim], "")]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let posted = &body["remittances"][0]["posted"][0];
    assert_eq!(posted["state"], "partially_paid", "{posted}");
    assert_eq!(posted["patientResponsibility"].to_string(), "146.00");
    let status = api_get(app, &format!("/api/claims/{id}/status")).await;
    assert_eq!(status["denials"], Value::Array(vec![]), "{status}");

    // The same claim not covered by the plan (PR 204) is a denial the patient
    // pays for.
    let (_, other) = billed_claim(app).await;
    let claim = format!("CLP*{other}*1*146.00*0.00*146.00*12*ICN-NC~CAS*PR*204*146.00~");
    let file = interchange(&[payment("TRACE-NC", "0.00", &[claim], "")]);
    let (_, body) = post_835(app, &file).await;
    assert_eq!(body["remittances"][0]["posted"][0]["state"], "denied", "{body}");
}

/// The payer reprocesses a paid claim: CLP02 22 takes back the first payment, and
/// the correction after it pays less.
async fn a_reversal_takes_the_decision_back_and_the_correction_decides_again(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let file = interchange(&[payment("TRACE-FIRST", "146.00", &[paid_in_full(&number)], "")]);
    assert_eq!(post_835(app, &file).await.0, 200);
    assert_eq!(claim_view(app, &id).await["status"], "paid");

    let reversal = format!("CLP*{number}*22*-146.00*-146.00**12*ICN-FULL~NM1*QC*1*DOE*JANE****MI*M123~");
    let correction =
        format!("CLP*{number}*1*146.00*120.00**12*ICN-CORR~CAS*CO*45*26.00~NM1*QC*1*DOE*JANE****MI*M123~");
    // Written correction first, against the guide's order: the reversal is still
    // posted first. The check also pays another claim, so the net is a payment.
    let (other_id, other) = billed_claim(app).await;
    let file = interchange(&[payment(
        "TRACE-REDO",
        "120.00",
        &[correction, reversal, paid_in_full(&other)],
        "",
    )]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let remittance = &body["remittances"][0];
    assert_eq!(remittance["imbalances"], Value::Array(vec![]), "{body}");
    let states: Vec<&str> = remittance["posted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|posted| posted["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["accepted", "partially_paid", "paid"], "{body}");

    let view = claim_view(app, &id).await;
    assert_eq!(view["status"], "partially_paid", "{view}");
    assert_eq!(totals(&view)[0], "120.00", "{view}");
    let moves: Vec<(&str, &str)> = view["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| (step["from"].as_str().unwrap_or(""), step["to"].as_str().unwrap()))
        .collect();
    assert!(
        moves.ends_with(&[
            ("accepted", "paid"),
            ("paid", "accepted"),
            ("accepted", "partially_paid")
        ]),
        "{moves:?}"
    );
    assert_eq!(claim_view(app, &other_id).await["status"], "paid");
    // Only an 835 takes a decision back: by hand, the move is refused.
    let response = app
        .client
        .post(app.server_url(&format!("/api/billing/claims/{other_id}/transitions")))
        .json(&serde_json::json!({"to": "accepted"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 409);

    // A reversal of part of a payment leaves the claim's decision standing.
    let partial = format!("CLP*{number}*22*-146.00*-20.00**12*ICN-CORR~CAS*CO*45*-126.00~");
    let file = interchange(&[payment(
        "TRACE-PART",
        "0.00",
        &[partial],
        "PLB*1999999999*20261231*WO:ICN-CORR*-20.00~",
    )]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let posted = &body["remittances"][0]["posted"][0];
    assert_eq!(posted["state"], "partially_paid", "{posted}");
    assert!(
        posted["stateNotMoved"]
            .as_str()
            .unwrap_or("")
            .contains("100.00 paid"),
        "{posted}"
    );
}

/// A denial the payer overturns by reprocessing: the claim is paid, with no appeal
/// recorded here, and its denial is settled by the payment.
async fn a_denied_claim_paid_on_reprocessing_is_paid_and_its_denial_settled(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let denied = format!("CLP*{number}*4*146.00*0.00**12*ICN-DEN~CAS*CO*50*146.00~");
    let file = interchange(&[payment("TRACE-DENY", "0.00", &[denied], "")]);
    let (_, body) = post_835(app, &file).await;
    assert_eq!(body["remittances"][0]["posted"][0]["state"], "denied", "{body}");
    let status = api_get(app, &format!("/api/claims/{id}/status")).await;
    assert_eq!(status["denials"][0]["status"], "open", "{status}");

    let file = interchange(&[payment(
        "TRACE-REPROCESSED",
        "146.00",
        &[paid_in_full(&number)],
        "",
    )]);
    let (_, body) = post_835(app, &file).await;
    assert_eq!(body["remittances"][0]["posted"][0]["state"], "paid", "{body}");
    let status = api_get(app, &format!("/api/claims/{id}/status")).await;
    assert_eq!(status["status"], "paid", "{status}");
    let denial = &status["denials"][0];
    assert_eq!(denial["status"], "resolved", "{status}");
    assert!(
        denial["resolution"]["note"]
            .as_str()
            .unwrap_or("")
            .contains("TRACE-REPROCESSED"),
        "{denial}"
    );
}

/// A claim deleted through the FHIR API after it was billed: its payment has no
/// Claim to answer, so it waits in the unmatched queue, and the other claims of
/// the same check are posted.
async fn a_payment_for_a_deleted_claim_waits_unmatched_and_the_rest_post(app: &TestApp) {
    let (deleted_id, deleted) = billed_claim(app).await;
    let (kept_id, kept) = billed_claim(app).await;
    let response = app
        .client
        .delete(app.url(&format!("Claim/{deleted_id}")))
        .send()
        .await
        .expect("DELETE");
    assert!(response.status().is_success(), "{}", response.status());
    let file = interchange(&[payment(
        "TRACE-DELETED",
        "292.00",
        &[paid_in_full(&deleted), paid_in_full(&kept)],
        "",
    )]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let remittance = &body["remittances"][0];
    assert_eq!(remittance["posted"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(
        remittance["unmatched"][0]["patientControlNumber"],
        deleted.as_str()
    );
    assert_eq!(claim_view(app, &kept_id).await["status"], "paid");
    assert_eq!(unmatched(app).await[0]["patientControlNumber"], deleted.as_str());
}

async fn every_sample_835_posts(app: &TestApp) {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/x12");
    let mut samples: Vec<_> = std::fs::read_dir(&directory)
        .expect("tests/fixtures/x12")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "835"))
        .collect();
    samples.sort();
    assert_eq!(samples.len(), 3);
    let mut claims = 0;
    for path in &samples {
        let text = std::fs::read_to_string(path).expect("sample 835");
        let (status, body) = post_835(app, &text).await;
        assert_eq!(status, 200, "{}: {body}", path.display());
        for remittance in body["remittances"].as_array().unwrap() {
            assert_eq!(remittance["posted"], Value::Array(vec![]));
            claims += remittance["unmatched"].as_array().unwrap().len();
        }
        let (_, again) = post_835(app, &text).await;
        assert_eq!(again["remittances"][0]["duplicate"], true, "{}", path.display());
    }
    assert_eq!(unmatched(app).await.len(), claims);
    assert_eq!(claims, 6);
}

async fn a_remittance_that_fails_half_way_leaves_nothing(app: &TestApp) {
    let (earlier, earlier_number) = billed_claim(app).await;
    let (kept, kept_number) = billed_claim(app).await;
    let (refused, refused_number) = billed_claim(app).await;
    // The database refuses the third claim's ledger entries, as a full disk or a
    // lost connection would fail a write half way through a remittance.
    app.refuse_inserts(
        "ledger_entries",
        &format!("NEW.claim_id = '{refused}'"),
        "ledger refused",
    )
    .await;

    // The first payment posts; in the second, an unmatched claim payment and a
    // posted claim come before the claim whose write fails.
    let first = payment("TRACE-OK", "146.00", &[paid_in_full(&earlier_number)], "");
    let claims = [
        paid_in_full("OTHER-SYSTEM-9"),
        paid_in_full(&kept_number),
        paid_in_full(&refused_number),
    ];
    let second = payment("TRACE-FAILS", "438.00", &claims, "");
    let file = interchange(&[first, second]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("TRACE-FAILS"),
        "{body}"
    );
    let committed = body["remittances"].as_array().unwrap();
    assert_eq!(committed.len(), 1);
    assert_eq!(committed[0]["traceNumber"], "TRACE-OK");

    assert_eq!(claim_view(app, &earlier).await["status"], "paid");
    let view = claim_view(app, &kept).await;
    assert_eq!(view["status"], "ready_to_submit");
    assert_eq!(totals(&view), ["0.00", "0.00", "0.00"]);
    assert_eq!(claim_responses(app, &kept).await.len(), 0);
    assert_eq!(unmatched(app).await, Vec::<Value>::new());

    // Posting again: the first payment is recognised, the second fails the same way.
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["remittances"][0]["duplicate"], true);
    assert_eq!(claim_responses(app, &earlier).await.len(), 1);
}
