//! Claims leave through the integration registry as a biller and an admin meet it:
//! integrations configured over `/admin/integrations` against the vendors'
//! simulators (real HTTP in the vendors' wire formats), `POST …/submit` queuing
//! the claim as a job, and the attempt log explaining what happened. The
//! simulators count what they received, which is what proves "exactly once".

use std::sync::Arc;
use std::time::Duration;

use claimbridge_plugin_availity::simulator as availity;
use claimbridge_plugin_claimmd::simulator as claimmd;
use claimbridge_simulator_kit::{Fault, Simulator};
use serde_json::{json, Value};

use crate::bundles::post_bundle;
use crate::helpers::{TestApp, TEST_CALL_TIMEOUT_MS};
use crate::submission::ready_claim;

crate::on_both_backends!(
    with crate::helpers::TestOptions::INTEGRATIONS;
    a_queued_claim_goes_to_the_first_clearinghouse_once,
    with_the_primary_down_claims_fail_over_and_the_log_says_why,
    an_unanswered_upload_is_checked_not_sent_again,
    a_refused_configuration_is_not_failed_over_and_the_claim_stays_ready,
    test_and_health_answer_for_a_configured_integration,
    with_claimmd_down_claims_go_through_availitys_batch_channel,
    an_upload_a_stopped_node_left_unanswered_goes_nowhere_until_asked,
    an_answered_upload_whose_answer_was_not_recorded_is_asked_about_not_sent_again,
    an_answered_upload_the_clearinghouse_does_not_list_yet_is_waited_for,
    a_new_submission_asks_about_the_upload_a_dead_job_left_unanswered,
    a_new_submission_asks_about_the_upload_a_dead_job_took_but_never_recorded,
    an_unanswered_upload_behind_many_settled_attempts_is_still_asked_about,
    an_upload_whose_sending_mark_cannot_be_stored_is_not_begun,
    a_rejected_and_corrected_claim_is_sent_afresh_whatever_the_log_lost_of_the_first,
    a_correction_while_the_claim_may_be_with_the_clearinghouse_is_refused,
    a_correction_after_a_dead_jobs_taken_upload_is_refused,
    a_taken_upload_the_clearinghouse_cannot_find_holds_the_claim_until_an_admin_abandons_it,
);

pub(crate) async fn start_claimmd(fault: Option<&str>) -> Arc<Simulator> {
    claimmd::start("127.0.0.1:0".parse().unwrap(), fault)
        .await
        .expect("the Claim.MD simulator starts")
}

/// Adds a Claim.MD integration pointing at `simulator`; returns its id.
pub(crate) async fn add_claimmd(
    app: &TestApp,
    name: &str,
    simulator: &Simulator,
    account_key: &str,
) -> String {
    let (status, body) = app
        .api_post(
            "/admin/integrations",
            &json!({
                "vendor": "claimmd",
                "name": name,
                "baseUrl": simulator.base_url(),
                "settings": {"timeoutSecs": 1},
                "credentials": {"accountKey": account_key},
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Submits the claim and waits until its job has run: the claim left
/// `ready_to_submit`, or the job stopped (dead or retrying).
pub(crate) async fn submit_and_settle(app: &TestApp, claim_id: &str) -> Value {
    let (status, queued) = app
        .api_post(
            &format!("/api/billing/claims/{claim_id}/submit"),
            &json!({"actor": "biller-1"}),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["submission"]["status"], "pending", "{queued}");
    assert_eq!(
        queued["status"], "ready_to_submit",
        "the request itself sends nothing"
    );
    let job_id = queued["submission"]["jobId"].clone();
    for _ in 0..200 {
        let (_, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
        if claim["status"] != "ready_to_submit" {
            return claim;
        }
        let (_, jobs) = app.api_get("/api/billing/jobs?kind=claim_submission").await;
        let job = jobs["jobs"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|job| job["id"] == job_id))
            .cloned()
            .unwrap_or_default();
        if job["status"] == "dead" || job["attempts"].as_i64().unwrap_or(0) >= 2 {
            return claim;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the submission of {claim_id} never settled");
}

async fn attempts(app: &TestApp, claim_id: &str) -> Vec<Value> {
    let (status, body) = app
        .api_get(&format!("/api/billing/claims/{claim_id}/attempts"))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut attempts = body["attempts"].as_array().unwrap().clone();
    attempts.reverse(); // oldest first
    attempts
}

/// The attempts' integration, operation and outcome, without the `sending` mark
/// each upload leaves before it starts.
fn outcomes(attempts: &[Value]) -> Vec<(String, String, String)> {
    attempts
        .iter()
        .filter(|attempt| attempt["outcome"] != "sending")
        .map(|attempt| {
            (
                attempt["integrationId"].as_str().unwrap().to_owned(),
                attempt["operation"].as_str().unwrap().to_owned(),
                attempt["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// How many times the simulator received each claim, by CLM01.
async fn received(simulator: &Simulator) -> Vec<(String, u64)> {
    let client = reqwest::Client::new();
    let claims: Value = client
        .get(format!("{}/__simulator/claims", simulator.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    claims
        .as_array()
        .unwrap()
        .iter()
        .map(|claim| {
            (
                claim["pcn"].as_str().unwrap().to_owned(),
                claim["timesReceived"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn last_step(claim: &Value) -> Value {
    claim["statusHistory"].as_array().unwrap().last().unwrap().clone()
}

async fn a_queued_claim_goes_to_the_first_clearinghouse_once(app: &TestApp) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;

    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "submitted", "{claim}");
    let step = last_step(&claim);
    assert_eq!(step["actor"], "biller-1");
    assert_eq!(step["details"]["integrationId"], first.as_str());
    assert_eq!(step["details"]["failedOver"], false);

    let log = attempts(app, &claim_id).await;
    assert_eq!(log[0]["outcome"], "sending", "on record before the upload starts");
    let received = received(&primary).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].1, 1, "sent once");
    assert!(received_nothing(&secondary).await);
    assert_eq!(
        outcomes(&attempts(app, &claim_id).await),
        vec![(first, "submit_claim".into(), "succeeded".into())]
    );
    // Submitting again is refused: the claim has moved on.
    let (status, _) = app
        .api_post(&format!("/api/billing/claims/{claim_id}/submit"), &json!({}))
        .await;
    assert_eq!(status, 409);
    primary.stop().await;
    secondary.stop().await;
}

/// A primary Claim.MD and a secondary, configured in that order; their simulators
/// and integration ids.
pub(crate) async fn two_clearinghouses(app: &TestApp) -> (Arc<Simulator>, Arc<Simulator>, String, String) {
    let primary = start_claimmd(None).await;
    let secondary = start_claimmd(None).await;
    let first = add_claimmd(app, "Claim.MD primary", &primary, claimmd::DEFAULT_ACCOUNT_KEY).await;
    let second = add_claimmd(
        app,
        "Claim.MD secondary",
        &secondary,
        claimmd::DEFAULT_ACCOUNT_KEY,
    )
    .await;
    (primary, secondary, first, second)
}

async fn received_nothing(simulator: &Simulator) -> bool {
    received(simulator).await.is_empty()
}

async fn with_the_primary_down_claims_fail_over_and_the_log_says_why(app: &TestApp) {
    let (primary, secondary, first, second) = two_clearinghouses(app).await;
    primary.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The first claim finds the primary refusing connections: two tries (the
    // breaker opens), then the secondary.
    let claim_id = ready_claim(app).await;
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "submitted", "{claim}");
    assert_eq!(last_step(&claim)["details"]["integrationId"], second.as_str());
    assert_eq!(last_step(&claim)["details"]["failedOver"], true);
    let log: Vec<Value> = attempts(app, &claim_id)
        .await
        .into_iter()
        .filter(|attempt| attempt["outcome"] != "sending")
        .collect();
    assert_eq!(
        outcomes(&log),
        vec![
            (first.clone(), "submit_claim".into(), "transient".into()),
            (first.clone(), "submit_claim".into(), "transient".into()),
            (second.clone(), "submit_claim".into(), "succeeded".into()),
        ]
    );
    assert!(
        log[0]["error"].as_str().unwrap().contains("connect"),
        "{}",
        log[0]
    );
    assert_eq!(log[2]["failover"], true);

    // The next claim skips the open circuit without calling the primary at all.
    let (_, integration) = app.api_get(&format!("/admin/integrations/{first}")).await;
    assert_eq!(integration["circuit"], "open");
    let next = ready_claim(app).await;
    let started = std::time::Instant::now();
    let claim = submit_and_settle(app, &next).await;
    assert_eq!(claim["status"], "submitted", "{claim}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcomes(&attempts(app, &next).await),
        vec![
            (first, "submit_claim".into(), "circuit_open".into()),
            (second, "submit_claim".into(), "succeeded".into()),
        ]
    );
    assert_eq!(received(&secondary).await.len(), 2);
    primary.stop().await;
    secondary.stop().await;
}

async fn an_unanswered_upload_is_checked_not_sent_again(app: &TestApp) {
    // The primary takes the upload and never answers; the secondary is healthy.
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    primary.set_fault(Fault::TimeoutAfterAccepting, Some(1));
    let claim_id = ready_claim(app).await;

    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "submitted", "{claim}");
    let step = last_step(&claim);
    assert_eq!(step["details"]["integrationId"], first.as_str());
    assert_eq!(step["details"]["foundByStatusCheck"], true);
    assert_eq!(
        outcomes(&attempts(app, &claim_id).await),
        vec![
            (first.clone(), "submit_claim".into(), "ambiguous".into()),
            (first, "claim_status".into(), "found".into()),
        ]
    );
    sent_once_to_the_primary_alone(primary, secondary).await;
}

async fn a_refused_configuration_is_not_failed_over_and_the_claim_stays_ready(app: &TestApp) {
    let primary = start_claimmd(None).await;
    let secondary = start_claimmd(None).await;
    let first = add_claimmd(app, "Claim.MD primary", &primary, "not-the-account-key").await;
    add_claimmd(
        app,
        "Claim.MD secondary",
        &secondary,
        claimmd::DEFAULT_ACCOUNT_KEY,
    )
    .await;
    let claim_id = ready_claim(app).await;

    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "ready_to_submit", "{claim}");
    assert_eq!(
        outcomes(&attempts(app, &claim_id).await),
        vec![(first, "submit_claim".into(), "final".into())]
    );
    assert!(
        received_nothing(&secondary).await,
        "a final error is never failed over"
    );
    let (_, dead) = app
        .api_get("/api/billing/jobs?kind=claim_submission&status=dead")
        .await;
    let dead = dead["jobs"].as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0]["lastError"].as_str().unwrap().contains("refused"),
        "{}",
        dead[0]
    );
    primary.stop().await;
    secondary.stop().await;
}

async fn test_and_health_answer_for_a_configured_integration(app: &TestApp) {
    let simulator = start_claimmd(None).await;
    let good = add_claimmd(app, "Claim.MD", &simulator, claimmd::DEFAULT_ACCOUNT_KEY).await;
    let bad = add_claimmd(app, "Claim.MD wrong key", &simulator, "wrong").await;

    let (status, tested) = app
        .api_post(&format!("/admin/integrations/{good}/test"), &json!({}))
        .await;
    assert_eq!((status, &tested["ok"]), (200, &json!(true)), "{tested}");
    let (_, refused) = app
        .api_post(&format!("/admin/integrations/{bad}/test"), &json!({}))
        .await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["errorClass"], "final", "{refused}");
    assert!(
        !refused.to_string().contains("wrong\""),
        "the key is never echoed: {refused}"
    );

    let (status, health) = app.api_get(&format!("/admin/integrations/{good}/health")).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(
        (&health["status"], &health["circuit"]),
        (&json!("healthy"), &json!("closed"))
    );
    simulator.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, health) = app.api_get(&format!("/admin/integrations/{good}/health")).await;
    assert_eq!(health["status"], "unhealthy", "{health}");
    let (status, _) = app.api_get("/admin/integrations/no-such-id/health").await;
    assert_eq!(status, 404);
    simulator.stop().await;
}

async fn with_claimmd_down_claims_go_through_availitys_batch_channel(app: &TestApp) {
    let claimmd = start_claimmd(None).await;
    let sftp_root = tempfile::tempdir().unwrap();
    let availity = availity::start_with_sftp("127.0.0.1:0".parse().unwrap(), None, sftp_root.path())
        .await
        .expect("the Availity simulator starts (REST and sshd)");
    let first = add_claimmd(app, "Claim.MD", &claimmd, claimmd::DEFAULT_ACCOUNT_KEY).await;
    let mut integration = availity.integration();
    integration["name"] = json!("Availity");
    let (status, body) = app.api_post("/admin/integrations", &integration).await;
    assert_eq!(status, 201, "{body}");
    let second = body["id"].as_str().unwrap().to_owned();
    claimmd.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let claim_id = ready_claim(app).await;
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "submitted", "{claim}");
    assert_eq!(last_step(&claim)["details"]["vendor"], "availity");
    let log = attempts(app, &claim_id).await;
    assert_eq!(
        outcomes(&log),
        vec![
            (first.clone(), "submit_claim".into(), "transient".into()),
            (first, "submit_claim".into(), "transient".into()),
            (second, "submit_claim".into(), "succeeded".into()),
        ]
    );
    // The simulated Availity reads its SendFiles folder every 100 ms.
    let mut received = Value::Null;
    for _ in 0..50 {
        received = reqwest::Client::new()
            .get(format!("{}/__simulator/claims", availity.http.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if received.as_array().is_some_and(|claims| !claims.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(received.as_array().map(Vec::len), Some(1), "{received}");
    claimmd.clear_fault();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(received_nothing(&claimmd).await);
    claimmd.stop().await;
    availity.http.stop().await;
}

async fn an_upload_a_stopped_node_left_unanswered_goes_nowhere_until_asked(app: &TestApp) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    // A node began uploading this claim to the primary just now and stopped before
    // it heard back: its `sending` mark is all that is left.
    let marked = chrono::Utc::now();
    let left = LoggedAttempt {
        integration: &first,
        claim_id: &claim_id,
        operation: "submit_claim",
        outcome: "sending",
        submission_id: None,
        at: marked,
    };
    left.log(app).await;
    primary.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The primary may hold the claim and cannot be asked: it goes nowhere else.
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "ready_to_submit", "{claim}");
    assert!(received_nothing(&secondary).await, "never sent elsewhere");
    // Nor was the primary asked while that upload could still be on its way.
    let asked = attempts(app, &claim_id)
        .await
        .into_iter()
        .find(|attempt| attempt["operation"] == "claim_status")
        .expect("the primary was asked");
    // An attempt is stamped when it ends.
    let asked_at = chrono::DateTime::parse_from_rfc3339(asked["attemptedAt"].as_str().unwrap()).unwrap()
        - chrono::Duration::microseconds(asked["latencyMicros"].as_i64().unwrap());
    assert!(
        asked_at >= marked + chrono::Duration::milliseconds(TEST_CALL_TIMEOUT_MS),
        "asked at {asked_at}, before the upload marked at {marked} could have ended"
    );

    // Back up: the primary has no record of it, so it is sent, once.
    primary.clear_fault();
    let mut status = Value::Null;
    for _ in 0..200 {
        let (_, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
        status = claim["status"].clone();
        if status == "submitted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "submitted");
    let log = outcomes(&attempts(app, &claim_id).await);
    assert!(
        log.contains(&(first.clone(), "claim_status".into(), "not_found".into())),
        "{log:?}"
    );
    assert_eq!(
        log.last(),
        Some(&(first, "submit_claim".into(), "succeeded".into())),
        "{log:?}"
    );
    assert_eq!(received(&primary).await.len(), 1);
    assert!(received_nothing(&secondary).await);
    primary.stop().await;
    secondary.stop().await;
}

/// The clearinghouse takes the claim and answers, but the database refuses the
/// claim's move to `submitted` (as a failing disk or a DBA's constraint would):
/// the job fails with the claim still ready to submit. Its next runs ask the
/// clearinghouse for the claim they already sent instead of sending it again.
async fn an_answered_upload_whose_answer_was_not_recorded_is_asked_about_not_sent_again(app: &TestApp) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    refuse_recording_submissions(app).await;

    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "ready_to_submit", "{claim}");
    // A later run either asks (and, its answer refused too, fails again) or sends
    // the claim a second time.
    let log = outcomes_at_least(app, &claim_id, 2).await;
    assert_eq!(
        log[..2],
        [
            (first.clone(), "submit_claim".into(), "succeeded".into()),
            (first.clone(), "claim_status".into(), "found".into()),
        ],
        "the run after an unrecorded answer asks rather than sends: {log:?}"
    );

    app.allow_inserts("billing_state_history").await;
    let claim = submitted(app, &claim_id).await;
    let step = last_step(&claim);
    assert_eq!(step["details"]["integrationId"], first.as_str());
    assert_eq!(step["details"]["foundByStatusCheck"], true);
    let log = outcomes(&attempts(app, &claim_id).await);
    assert_eq!(
        log.iter()
            .filter(|(_, operation, _)| operation == "submit_claim")
            .count(),
        1,
        "{log:?}"
    );
    sent_once_to_the_primary_alone(primary, secondary).await;
}

/// As above, but the clearinghouse's listing lags behind its uploads, so the run
/// that asks is told it has no record of the claim: the claim it took is waited
/// for, never sent again.
async fn an_answered_upload_the_clearinghouse_does_not_list_yet_is_waited_for(app: &TestApp) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    refuse_recording_submissions(app).await;
    let lag = |times: u32| {
        let url = format!("{}/__simulator/listing-lag", primary.base_url());
        async move {
            let response = reqwest::Client::new()
                .put(url)
                .json(&json!({"times": times}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 204);
        }
    };
    lag(1_000).await;

    submit_and_settle(app, &claim_id).await;
    let log = outcomes_at_least(app, &claim_id, 3).await;
    assert_eq!(
        log[..3],
        [
            (first.clone(), "submit_claim".into(), "succeeded".into()),
            (first.clone(), "claim_status".into(), "not_found".into()),
            (first.clone(), "claim_status".into(), "not_found".into()),
        ],
        "a taken upload is asked about again, not sent again: {log:?}"
    );

    lag(0).await;
    app.allow_inserts("billing_state_history").await;
    let claim = submitted(app, &claim_id).await;
    assert_eq!(last_step(&claim)["details"]["foundByStatusCheck"], true);
    sent_once_to_the_primary_alone(primary, secondary).await;
}

/// A node uploaded the claim for an earlier job and stopped before it heard back;
/// that job later died, so a biller submits the claim again and a new job runs.
/// The new job asks the clearinghouse about the earlier upload, under the name it
/// was uploaded with, and records it rather than sending the claim again.
async fn a_new_submission_asks_about_the_upload_a_dead_job_left_unanswered(app: &TestApp) {
    an_earlier_jobs_upload_is_found_not_sent_again(app, "sending", 0).await;
}

/// As above, but the earlier job heard the clearinghouse take the claim and only
/// the claim's move to `submitted` was lost.
async fn a_new_submission_asks_about_the_upload_a_dead_job_took_but_never_recorded(app: &TestApp) {
    an_earlier_jobs_upload_is_found_not_sent_again(app, "succeeded", 0).await;
}

/// As the first, with 600 attempts of a submission the claim's history settled
/// logged after the unanswered upload: more than a job reads of the log, but
/// they are left out of what is read, so the upload is still asked about.
async fn an_unanswered_upload_behind_many_settled_attempts_is_still_asked_about(app: &TestApp) {
    an_earlier_jobs_upload_is_found_not_sent_again(app, "sending", 600).await;
}

/// The earlier job's upload, as Claim.MD received it, and the last word its node
/// recorded about it (`left`), a minute ago; `behind` attempts of another
/// submission after it, which an admin then declares abandoned (the claim's
/// history records it); then a new submission of the claim.
async fn an_earlier_jobs_upload_is_found_not_sent_again(app: &TestApp, left: &str, behind: usize) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    let earlier = "cb-999999";
    let (status, document) = app
        .api_send(
            reqwest::Method::GET,
            &format!("/api/billing/claims/{claim_id}/837"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{document}");
    upload_to_claimmd(&primary, earlier, document).await;
    LoggedAttempt::a_minute_ago(&first, &claim_id, "submit_claim", left, earlier)
        .log(app)
        .await;
    if behind > 0 {
        let settled = "cb-5";
        LoggedAttempt::a_minute_ago(&first, &claim_id, "claim_status", "not_found", settled)
            .log_times(app, behind)
            .await;
        let (status, body) = app
            .api_post(
                &format!("/admin/claims/{claim_id}/submissions/{settled}/abandon"),
                &json!({"reason": "rejected by the payer, will not be worked"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let logged_up_to = attempts(app, &claim_id).await.last().unwrap()["id"].clone();

    submit_and_settle(app, &claim_id).await;
    let claim = submitted(app, &claim_id).await;
    let step = last_step(&claim);
    assert_eq!(step["details"]["foundByStatusCheck"], true, "{step}");
    assert_eq!(step["details"]["submissionId"], earlier, "{step}");
    let log: Vec<Value> = attempts(app, &claim_id)
        .await
        .into_iter()
        .filter(|attempt| attempt["id"].as_i64() > logged_up_to.as_i64())
        .collect();
    let asked: Vec<&Value> = log
        .iter()
        .filter(|attempt| attempt["operation"] == "claim_status")
        .collect();
    assert!(
        !asked.is_empty() && asked.iter().all(|attempt| attempt["submissionId"] == earlier),
        "asked about the earlier upload by its name: {log:?}"
    );
    assert!(
        log.iter().all(|attempt| attempt["operation"] != "submit_claim"),
        "no upload but the earlier job's: {log:?}"
    );
    sent_once_to_the_primary_alone(primary, secondary).await;
}

/// The database refuses the `sending` mark an upload leaves before it starts.
/// Without it on record, a node that stopped mid-upload would have the claim sent
/// again, so nothing is sent until the mark can be stored.
async fn an_upload_whose_sending_mark_cannot_be_stored_is_not_begun(app: &TestApp) {
    let (primary, secondary, _, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    app.refuse_inserts(
        "integration_attempts",
        "NEW.outcome = 'sending'",
        "attempts refused",
    )
    .await;

    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "ready_to_submit", "{claim}");
    assert!(received_nothing(&primary).await, "nothing sent off the record");
    assert!(received_nothing(&secondary).await, "nor failed over");

    app.allow_inserts("integration_attempts").await;
    submitted(app, &claim_id).await;
    sent_once_to_the_primary_alone(primary, secondary).await;
}

/// A claim sent and recorded, then rejected and corrected, goes out again. Its
/// first submission's answer is on the claim's record, so it is not asked about in
/// the corrected claim's stead, even when the log lost that upload's last word
/// (its `sending` mark left as the newest, as a node stopping just after the
/// claim's move would leave it).
async fn a_rejected_and_corrected_claim_is_sent_afresh_whatever_the_log_lost_of_the_first(app: &TestApp) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    submit_and_settle(app, &claim_id).await;
    let claim = submitted(app, &claim_id).await;
    let earlier = last_step(&claim)["details"]["submissionId"]
        .as_str()
        .expect("the receipt names its submission")
        .to_owned();
    LoggedAttempt::a_minute_ago(&first, &claim_id, "submit_claim", "sending", &earlier)
        .log(app)
        .await;

    let (status, body) = app
        .api_post(
            &format!("/api/billing/claims/{claim_id}/transitions"),
            &json!({"to": "rejected", "reason": "277CA: subscriber not found"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = correct_first_line(app, &claim_id).await;
    assert!(status == 200 || status == 202, "{status} {body}");
    let claim = submitted(app, &claim_id).await;
    let step = last_step(&claim);
    assert_eq!(step["details"]["foundByStatusCheck"], false, "{step}");
    assert_ne!(step["details"]["submissionId"], earlier.as_str(), "{step}");
    let log = attempts(app, &claim_id).await;
    assert!(
        log.iter().all(|attempt| attempt["operation"] != "claim_status"),
        "the recorded submission is not asked about: {log:?}"
    );
    let received = received(&primary).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].1, 2, "the first claim, then the corrected one");
    assert!(received_nothing(&secondary).await);
    primary.stop().await;
    secondary.stop().await;
}

/// The clearinghouse took the claim but its answer could not be recorded, so the
/// claim is still `ready_to_submit` and its job will ask about that upload. A
/// biller's correction now would never be sent (the job records the claim as it
/// was sent): it is refused with 409 and nothing changes, until the submission's
/// outcome is recorded.
async fn a_correction_while_the_claim_may_be_with_the_clearinghouse_is_refused(app: &TestApp) {
    let (primary, secondary, _, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    refuse_recording_submissions(app).await;
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "ready_to_submit", "{claim}");
    let before = claim_version(app, &claim_id).await;

    let (status, body) = correct_first_line(app, &claim_id).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("submission"),
        "{body}"
    );
    assert_eq!(claim_version(app, &claim_id).await, before, "nothing changed");

    app.allow_inserts("billing_state_history").await;
    let claim = submitted(app, &claim_id).await;
    assert_eq!(last_step(&claim)["details"]["foundByStatusCheck"], true);
    sent_once_to_the_primary_alone(primary, secondary).await;

    // The submission recorded, the fence is lifted: an EHR may change the Claim.
    let stored: Value = app.get(&format!("Claim/{claim_id}")).await.json().await.unwrap();
    let response = app.put(&format!("Claim/{claim_id}"), &stored).await;
    assert_eq!(response.status(), 200);
}

/// An earlier job's upload was taken and never recorded (its job died since), and
/// a status check later said the clearinghouse had no record of it (its listing
/// lags behind its uploads): the next submission would ask again and record the
/// claim as sent, so a correction now is refused and changes nothing.
async fn a_correction_after_a_dead_jobs_taken_upload_is_refused(app: &TestApp) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    for (operation, outcome) in [("submit_claim", "succeeded"), ("claim_status", "not_found")] {
        LoggedAttempt::a_minute_ago(&first, &claim_id, operation, outcome, "cb-999999")
            .log(app)
            .await;
    }
    let before = claim_version(app, &claim_id).await;

    let (status, body) = correct_first_line(app, &claim_id).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("may already be with a clearinghouse"),
        "{body}"
    );
    assert_eq!(claim_version(app, &claim_id).await, before, "nothing changed");
    fhir_changes_are_refused(app, &claim_id).await;
    assert_eq!(claim_version(app, &claim_id).await, before, "nothing changed");
    assert!(received_nothing(&primary).await);
    primary.stop().await;
    secondary.stop().await;
}

/// An earlier job's upload was taken, but the clearinghouse has no record of it
/// (its listing no longer reaches it): every job asks and none sends, since
/// sending could submit the claim twice. An admin who has learned that the
/// clearinghouse does not hold it declares it abandoned, with the reason; the
/// claim is then sent, once.
async fn a_taken_upload_the_clearinghouse_cannot_find_holds_the_claim_until_an_admin_abandons_it(
    app: &TestApp,
) {
    let (primary, secondary, first, _) = two_clearinghouses(app).await;
    let claim_id = ready_claim(app).await;
    let earlier = "cb-999999";
    LoggedAttempt::a_minute_ago(&first, &claim_id, "submit_claim", "succeeded", earlier)
        .log(app)
        .await;
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "ready_to_submit", "{claim}");
    assert!(received_nothing(&primary).await && received_nothing(&secondary).await);

    // The job keeps asking (a run a second, at most): while one runs, the
    // abandonment is refused and the admin tries again.
    let abandon = |submission: &str, body: Value| {
        let path = format!("/admin/claims/{claim_id}/submissions/{submission}/abandon");
        async move {
            loop {
                let (status, answer) = app.api_post(&path, &body).await;
                if status != 409 || !answer["error"].to_string().contains("is running") {
                    return (status, answer);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let (status, body) = abandon(earlier, json!({})).await;
    assert_eq!(status, 400, "a reason is required: {body}");
    let (status, body) = abandon("cb-1", json!({"reason": "support: no such file"})).await;
    assert_eq!(status, 404, "{body}");
    let reason = "Claim.MD support: no file cb-999999 was received";
    let (status, body) = abandon(earlier, json!({"reason": reason})).await;
    assert_eq!(status, 200, "{body}");
    let step = last_step(&body);
    assert_eq!(
        (&step["from"], &step["to"]),
        (&json!("ready_to_submit"), &json!("ready_to_submit")),
        "{step}"
    );
    assert_eq!(step["details"]["abandoned"], true, "{step}");
    assert_eq!(step["details"]["submissionId"], earlier, "{step}");
    assert!(step["reason"].as_str().unwrap().contains(reason), "{step}");

    let claim = submitted(app, &claim_id).await;
    assert_ne!(last_step(&claim)["details"]["submissionId"], earlier);
    assert_eq!(last_step(&claim)["details"]["foundByStatusCheck"], false);
    let (status, body) = abandon(earlier, json!({"reason": reason})).await;
    assert_eq!(status, 409, "already settled: {body}");
    sent_once_to_the_primary_alone(primary, secondary).await;
}

/// An EHR's change of the claim through the FHIR API, in each of its forms, is
/// refused as a biller's correction is: 409 with an OperationOutcome.
async fn fhir_changes_are_refused(app: &TestApp, claim_id: &str) {
    let path = format!("Claim/{claim_id}");
    let mut stored: Value = app.get(&path).await.json().await.unwrap();
    stored["priority"]["coding"][0]["code"] = json!("stat");
    let refused = |what: &str, status: u16, outcome: &Value| {
        assert_eq!(status, 409, "{what}: {outcome}");
        assert_eq!(outcome["issue"][0]["code"], "conflict", "{what}: {outcome}");
        assert!(
            outcome.to_string().contains("with a clearinghouse"),
            "{what}: {outcome}"
        );
    };
    let response = app.put(&path, &stored).await;
    refused("PUT", response.status().as_u16(), &response.json().await.unwrap());
    let response = app.put(&format!("Claim?_id={claim_id}"), &stored).await;
    refused(
        "conditional PUT",
        response.status().as_u16(),
        &response.json().await.unwrap(),
    );
    // Matching nothing, a conditional update writes the body's id: the same claim.
    let response = app.put("Claim?_id=no-such-claim", &stored).await;
    let status = response.status().as_u16();
    refused(
        "conditional PUT of the body's id",
        status,
        &response.json().await.unwrap(),
    );
    let patch = json!([{"op": "replace", "path": "/use", "value": "predetermination"}]);
    let response = app
        .client
        .patch(app.url(&path))
        .header("Content-Type", "application/json-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    refused(
        "PATCH",
        response.status().as_u16(),
        &response.json().await.unwrap(),
    );
    let response = app.client.delete(app.url(&path)).send().await.unwrap();
    refused(
        "DELETE",
        response.status().as_u16(),
        &response.json().await.unwrap(),
    );

    let entry = json!({"resource": stored, "request": {"method": "PUT", "url": path}});
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry]});
    let response = post_bundle(app, &transaction).await;
    refused(
        "transaction",
        response.status().as_u16(),
        &response.json().await.unwrap(),
    );
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [entry]});
    let answer: Value = post_bundle(app, &batch).await.json().await.unwrap();
    let response = &answer["entry"][0]["response"];
    assert!(
        response["status"].as_str().unwrap().starts_with("409"),
        "{answer}"
    );
    refused("batch entry", 409, &response["outcome"]);
}

/// A biller's correction of the claim: its first line billed at the next level of
/// visit, through `POST /api/billing/claims/{id}/resubmit`.
async fn correct_first_line(app: &TestApp, claim_id: &str) -> (u16, Value) {
    let fix = json!({"lines": [{"sequence": 1, "code": "99214", "modifiers": ["25"], "charge": 150}],
                     "diagnoses": ["E11.9", "I10"], "actor": "bea"});
    app.api_post(&format!("/api/billing/claims/{claim_id}/resubmit"), &fix)
        .await
}

/// The stored Claim's version id.
async fn claim_version(app: &TestApp, claim_id: &str) -> Value {
    let claim: Value = app.get(&format!("Claim/{claim_id}")).await.json().await.unwrap();
    claim["meta"]["versionId"].clone()
}

/// An attempt a node logged about the claim (written straight into the table, as
/// a node that stopped after logging it would leave it).
struct LoggedAttempt<'a> {
    integration: &'a str,
    claim_id: &'a str,
    operation: &'a str,
    outcome: &'a str,
    submission_id: Option<&'a str>,
    at: chrono::DateTime<chrono::Utc>,
}

impl<'a> LoggedAttempt<'a> {
    /// Logged a minute ago, long enough for any upload it began to be over.
    fn a_minute_ago(
        integration: &'a str,
        claim_id: &'a str,
        operation: &'a str,
        outcome: &'a str,
        submission_id: &'a str,
    ) -> Self {
        LoggedAttempt {
            integration,
            claim_id,
            operation,
            outcome,
            submission_id: Some(submission_id),
            at: chrono::Utc::now() - chrono::Duration::minutes(1),
        }
    }

    async fn log(&self, app: &TestApp) {
        self.log_times(app, 1).await;
    }

    /// Logs the attempt `times` over, 250 rows a statement.
    async fn log_times(&self, app: &TestApp, times: usize) {
        let LoggedAttempt {
            integration,
            claim_id,
            operation,
            outcome,
            ..
        } = self;
        let submission_id = self
            .submission_id
            .map_or("NULL".to_owned(), |id| format!("'{id}'"));
        let insert = |rows: usize, failover: &str, at: String| {
            let row = format!(
                "('default', '{integration}', 'claimmd', '{operation}', 'Claim/{claim_id}', '{outcome}', 0, \
                 {failover}, {at}, {submission_id})"
            );
            format!(
                "INSERT INTO integration_attempts (tenant, integration_id, vendor, operation, subject, outcome, \
                 latency_micros, failover, attempted_at, submission_id) VALUES {}",
                vec![row; rows].join(", ")
            )
        };
        let mut left = times;
        while left > 0 {
            let rows = left.min(250);
            app.execute_sql(
                &insert(rows, "false", format!("'{}'", self.at.to_rfc3339())),
                &insert(rows, "0", self.at.timestamp_micros().to_string()),
            )
            .await;
            left -= rows;
        }
    }
}

/// Uploads `document` to the Claim.MD simulator as Claim.MD's upload service takes
/// a file (multipart, with the account key), named for `submission_id`.
async fn upload_to_claimmd(simulator: &Simulator, submission_id: &str, document: String) {
    let file_name = format!("{submission_id}.837");
    let file = reqwest::multipart::Part::text(document)
        .file_name(file_name.clone())
        .mime_str("text/plain")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("AccountKey", claimmd::DEFAULT_ACCOUNT_KEY)
        .text("Filename", file_name)
        .part("File", file);
    let response = reqwest::Client::new()
        .post(format!("{}/services/upload/", simulator.base_url()))
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["error"].is_null(), "{answer}");
}

/// Makes the database refuse every claim's move to `submitted`, as a failing disk
/// or a DBA's constraint would; `allow_inserts("billing_state_history")` ends it.
async fn refuse_recording_submissions(app: &TestApp) {
    app.refuse_inserts(
        "billing_state_history",
        "NEW.to_state = 'submitted'",
        "history refused",
    )
    .await;
}

/// The claim's attempt outcomes once there are at least `count`.
async fn outcomes_at_least(app: &TestApp, claim_id: &str, count: usize) -> Vec<(String, String, String)> {
    let mut log = Vec::new();
    for _ in 0..200 {
        log = outcomes(&attempts(app, claim_id).await);
        if log.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log
}

/// The claim once its job has moved it to `submitted`.
async fn submitted(app: &TestApp, claim_id: &str) -> Value {
    let mut claim = Value::Null;
    for _ in 0..200 {
        (_, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
        if claim["status"] == "submitted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(claim["status"], "submitted", "{claim}");
    claim
}

/// The primary received the one claim exactly once and the secondary nothing;
/// both are stopped.
async fn sent_once_to_the_primary_alone(primary: Arc<Simulator>, secondary: Arc<Simulator>) {
    let received = received(&primary).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].1, 1, "uploaded once, never resent");
    assert!(received_nothing(&secondary).await, "never sent elsewhere");
    primary.stop().await;
    secondary.stop().await;
}
