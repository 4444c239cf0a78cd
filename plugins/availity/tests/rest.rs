//! The plugin against the simulated REST API over real HTTP: tokens, coverages,
//! claim statuses, the payer list, and how each failure is classified.

mod common;

use std::sync::Arc;
use std::time::Duration;

use claimbridge_plugin_availity::simulator::{SimulatorState, CLIENT_ID, CLIENT_SECRET};
use claimbridge_plugin_sdk::{
    Capability, EligibilityRequest, ErrorClass, HealthStatus, Operation, OperationOutput, PayerListRequest,
    PluginHandler,
};
use claimbridge_simulator_kit::Fault;
use common::*;
use serde_json::{json, Value};

fn eligibility(member_id: &str, with_birth_date: bool) -> Operation {
    Operation::Eligibility(EligibilityRequest {
        inquiry_270: inquiry_270(member_id, with_birth_date),
    })
}

fn payer_list() -> Operation {
    Operation::PayerList(PayerListRequest::default())
}

#[tokio::test]
async fn eligibility_polls_the_coverage_to_completion_and_answers_with_a_271() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;

    let output = run(&plugin, eligibility("SYN100200", true)).await.unwrap();

    let OperationOutput::Eligibility(answer) = output else {
        panic!("{output:?}")
    };
    assert!(answer.vendor_reference.is_some());
    let text = answer.response_271;
    assert!(text.contains("ST*271*0001*005010X279A1~"), "{text}");
    assert!(text.contains("TRN*2*CB-TRACE-21*9CLAIMBRDG~"), "{text}");
    assert!(text.contains("EB*1*IND*30*PR*SYNTHETIC PPO~"), "{text}");
    assert!(text.contains("DTP*346*D8*20260101~"), "{text}");
    assert!(text.contains("EB*B*IND*98****25.00*****Y~"), "{text}");
    assert!(text.contains("EB*B*IND*98****60.00*****N~"), "{text}");
    assert!(text.contains("EB*A*IND*98*****0.4****N~"), "{text}");
    assert!(text.contains("EB*C*FAM*30***23*3000.00*****W~"), "{text}");
    assert!(text.contains("EB*C*IND*30***29*900.00*****Y~"), "{text}");
    assert!(text.contains("EB*G*IND*30***23*6000.00~"), "{text}");
    // One POST, then a GET answered "in progress" (statusCode 0) and one complete.
    assert_eq!(served(&vendor, "/v1/coverages"), 3);
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_member_without_a_plan_is_answered_as_not_found() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let OperationOutput::Eligibility(answer) = run(&plugin, eligibility("NOTFOUND1", true)).await.unwrap()
    else {
        panic!()
    };
    assert!(
        answer.response_271.contains("AAA*Y**75*C~"),
        "{}",
        answer.response_271
    );
    assert!(!answer.response_271.contains("EB*"));
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_coverage_refused_for_its_data_is_final_and_names_the_field() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let error = run(&plugin, eligibility("SYN100200", false)).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(
        error
            .to_string()
            .contains("patientBirthDate: Patient birth date is required"),
        "{error}"
    );
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_payer_that_never_answers_is_given_up_after_the_polls_and_a_payer_error_is_transient() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let error = run(&plugin, eligibility("RETRYING1", true)).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert!(error.to_string().contains("after 5 polls"), "{error}");
    // The POST and five polls (maxPolls), no more.
    assert_eq!(served(&vendor, "/v1/coverages"), 6);

    let error = run(&plugin, eligibility("PAYERDOWN1", true)).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert!(
        error.to_string().contains("Unable to respond at current time"),
        "{error}"
    );
    vendor.http.stop().await;
}

#[tokio::test]
async fn availitys_error_envelope_becomes_a_final_error_with_its_field_and_message() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    vendor.http.set_fault(Fault::Reject, Some(1));
    let error = run(&plugin, eligibility("SYN100200", true)).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    let text = error.to_string();
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(
        text.contains("memberId: Member ID is not valid for this payer (code INVALID)"),
        "{text}"
    );

    let unknown_payer = Operation::Eligibility(EligibilityRequest {
        inquiry_270: inquiry_270("SYN100200", true).replace("PI*SIM001", "PI*NOPE01"),
    });
    let error = run(&plugin, unknown_payer).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(
        error.to_string().contains("payerId: Payer is not supported"),
        "{error}"
    );
    vendor.http.stop().await;
}

#[tokio::test]
async fn throttling_with_retry_after_is_transient_and_keeps_the_wait() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    run(&plugin, payer_list()).await.unwrap();
    vendor
        .http
        .set_fault(Fault::RateLimited { retry_after_secs: 7 }, Some(1));
    let error = run(&plugin, eligibility("SYN100200", true)).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_throttled_token_endpoint_is_transient_too() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    vendor
        .http
        .set_fault(Fault::RateLimited { retry_after_secs: 3 }, Some(1));
    let error = run(&plugin, payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(vendor.state.tokens_issued(), 0);
    vendor.http.stop().await;
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    run(&plugin, payer_list()).await.unwrap();
    run(&plugin, eligibility("SYN100200", true)).await.unwrap();
    run(&plugin, payer_list()).await.unwrap();
    assert_eq!(vendor.state.tokens_issued(), 1);
    vendor.http.stop().await;
}

#[tokio::test]
async fn concurrent_calls_fetch_a_single_token() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = Arc::new(plugin(&vendor).await);
    let calls = (0..8).map(|_| {
        let plugin = plugin.clone();
        tokio::spawn(async move { run(&plugin, payer_list()).await })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(vendor.state.tokens_issued(), 1);
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_token_is_replaced_before_it_expires() {
    // Tokens live 3 s here; the plugin renews them 2 s early.
    let vendor = vendor(SimulatorState::with_token_lifetime(Duration::from_secs(3))).await;
    let mut settings = quick_settings();
    settings["tokenRenewMarginSecs"] = json!(2);
    let plugin = plugin_with(vendor.http.base_url(), settings, credentials(CLIENT_SECRET)).await;
    run(&plugin, payer_list()).await.unwrap();
    run(&plugin, payer_list()).await.unwrap();
    assert_eq!(vendor.state.tokens_issued(), 1);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    // The first token still works for 1.7 s, but is inside the margin: replaced.
    run(&plugin, payer_list()).await.unwrap();
    assert_eq!(vendor.state.tokens_issued(), 2);
    assert_eq!(
        served(&vendor, "/v1/availity-payer-list"),
        3,
        "no call was refused"
    );
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_dropped_and_the_call_made_once_more() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    run(&plugin, payer_list()).await.unwrap();
    vendor.state.revoke_tokens();
    run(&plugin, payer_list()).await.unwrap();
    assert_eq!(vendor.state.tokens_issued(), 2);
    assert_eq!(served(&vendor, "/v1/availity-payer-list"), 3);
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_wrong_client_secret_is_final() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin_with(
        vendor.http.base_url(),
        quick_settings(),
        credentials("not-the-secret"),
    )
    .await;
    let error = run(&plugin, payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert!(!error.to_string().contains("not-the-secret"));
    let connection = plugin.test_connection().await.unwrap_err();
    assert_eq!(connection.class(), ErrorClass::Final);
    vendor.http.stop().await;
}

#[tokio::test]
async fn claim_statuses_must_be_asked_with_the_method_override() {
    let vendor = vendor(SimulatorState::default()).await;
    let http = claimbridge_plugin_sdk::http_client::client(Duration::from_secs(5)).unwrap();
    let token: Value = http
        .post(format!("{}/v1/token", vendor.http.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", "healthcare-hipaa-transactions"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["expires_in"], 300);
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let form = [
        ("payer.id", "SIM001"),
        ("providers.npi", "1234567893"),
        ("subscriber.memberId", "SYN100200"),
        ("patient.lastName", "SAMPLE"),
    ];
    let url = format!("{}/v1/claim-statuses", vendor.http.base_url());
    let plain = http
        .post(&url)
        .bearer_auth(&bearer)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 405);
    let envelope: Value = plain.json().await.unwrap();
    assert_eq!(envelope["statusCode"], 405);
    assert_eq!(envelope["errors"][0]["field"], "X-HTTP-Method-Override");
    let overridden = http
        .post(&url)
        .bearer_auth(&bearer)
        .header("X-HTTP-Method-Override", "GET")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(overridden.status(), 202);
    assert!(overridden.headers().contains_key("location"));
    vendor.http.stop().await;
}

#[tokio::test]
async fn a_claim_availity_has_no_record_of_has_no_status() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let output = run(
        &plugin,
        Operation::ClaimStatus(status_request("CB-UNKNOWN-1", None)),
    )
    .await
    .unwrap();
    let OperationOutput::ClaimStatus(report) = output else {
        panic!()
    };
    assert!(report.statuses.is_empty());
    // POST, then two polls.
    assert_eq!(served(&vendor, "/v1/claim-statuses"), 3);
    vendor.http.stop().await;
}

#[tokio::test]
async fn the_payer_list_reads_each_payers_routes_and_filters_by_name() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let OperationOutput::PayerList(list) = run(&plugin, payer_list()).await.unwrap() else {
        panic!()
    };
    assert_eq!(list.payers.len(), 4);
    let OperationOutput::PayerList(list) = run(
        &plugin,
        Operation::PayerList(PayerListRequest {
            payer_id: None,
            name: Some("mutual".into()),
        }),
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(list.payers.len(), 1);
    assert_eq!(list.payers[0].payer_id, "SIM002");
    assert_eq!(
        list.payers[0].capabilities.iter().copied().collect::<Vec<_>>(),
        [Capability::Eligibility, Capability::SubmitClaim]
    );
    vendor.http.stop().await;
}

#[tokio::test]
async fn connection_test_and_health_check_answer_from_the_api() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let check = plugin.test_connection().await.unwrap();
    assert!(check.detail.contains("4 payers listed"), "{}", check.detail);
    assert_eq!(plugin.health_check().await.status, HealthStatus::Healthy);
    vendor
        .http
        .set_fault(Fault::RateLimited { retry_after_secs: 1 }, Some(1));
    assert_eq!(plugin.health_check().await.status, HealthStatus::Degraded);
    vendor.http.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(plugin.health_check().await.status, HealthStatus::Unhealthy);
    let error = run(&plugin, payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    vendor.http.stop().await;
}

#[tokio::test]
async fn submitting_a_claim_without_the_batch_channel_is_final() {
    let vendor = vendor(SimulatorState::default()).await;
    let plugin = plugin(&vendor).await;
    let error = run(
        &plugin,
        Operation::SubmitClaim(claimbridge_plugin_sdk::ClaimSubmission {
            submission_id: "sub-1".into(),
            interchange_837p: interchange_837p(["CB-1", "CB-2"]),
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("sftpHost"), "{error}");
    vendor.http.stop().await;
}
