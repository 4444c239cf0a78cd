//! Eligibility, the payer list, the connection test, the health check and webhooks,
//! over HTTP against the simulator.

mod common;

use std::time::Duration;

use claimbridge_plugin_claimmd::simulator::DEFAULT_ACCOUNT_KEY;
use claimbridge_plugin_sdk::http::HeaderMap;
use claimbridge_plugin_sdk::{
    Capability, EligibilityRequest, ErrorClass, HealthStatus, Operation, OperationOutput, PayerListRequest,
    PluginHandler, WebhookOutcome, WebhookRejection,
};
use common::{harness, harness_with, inquiry_270};
use serde_json::json;

#[tokio::test]
async fn a_270_is_answered_with_a_271_and_claim_mds_reference() {
    let h = harness(None).await;
    let output = h
        .run(Operation::Eligibility(EligibilityRequest {
            inquiry_270: inquiry_270(),
        }))
        .await
        .unwrap();
    let OperationOutput::Eligibility(answer) = output else {
        panic!("not eligibility: {output:?}");
    };
    assert!(
        answer.response_271.contains("ST*271*0001*005010X279A1"),
        "{}",
        answer.response_271
    );
    assert!(
        answer.response_271.contains("TRN*2*TRACE201"),
        "the trace comes back"
    );
    assert!(answer.response_271.contains("EB*1**30"));
    assert!(answer.vendor_reference.is_some());
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_rejected_inquiry_is_final() {
    let h = harness(Some("reject*1")).await;
    let error = h
        .run(Operation::Eligibility(EligibilityRequest {
            inquiry_270: inquiry_270(),
        }))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn the_payer_list_reads_capabilities_and_filters() {
    let h = harness(None).await;
    let list = |request| async {
        match h.run(Operation::PayerList(request)).await.unwrap() {
            OperationOutput::PayerList(list) => list.payers,
            other => panic!("not a payer list: {other:?}"),
        }
    };
    let all = list(PayerListRequest::default()).await;
    assert!(all.len() >= 3);
    let united = list(PayerListRequest {
        payer_id: Some("87726".into()),
        name: None,
    })
    .await;
    assert_eq!(united.len(), 1);
    assert_eq!(united[0].name, "UnitedHealthcare");
    assert!(united[0].capabilities.contains(&Capability::Eligibility));
    assert!(united[0].capabilities.contains(&Capability::SubmitClaim));
    let by_name = list(PayerListRequest {
        payer_id: None,
        name: Some("workers%".into()),
    })
    .await;
    assert_eq!(by_name.len(), 1);
    assert!(!by_name[0].capabilities.contains(&Capability::Eligibility));
    h.simulator.stop().await;
}

#[tokio::test]
async fn the_connection_test_proves_the_key_with_the_payer_list() {
    let h = harness(None).await;
    let check = h.plugin.test_connection().await.unwrap();
    assert!(
        check.detail.starts_with("AccountKey accepted"),
        "{}",
        check.detail
    );
    assert!(
        h.claims_received().await.as_array().unwrap().is_empty(),
        "nothing changed"
    );
    h.simulator.stop().await;
}

#[tokio::test]
async fn health_is_healthy_when_claim_md_answers_and_says_why_otherwise() {
    let h = harness(None).await;
    let healthy = h.plugin.health_check().await;
    assert_eq!(healthy.status, HealthStatus::Healthy, "{healthy:?}");

    for (fault, expected) in [
        ("5xx", HealthStatus::Unhealthy),
        ("429", HealthStatus::Degraded),
        ("slow=700", HealthStatus::Degraded),
    ] {
        h.fault(fault, Some(1)).await;
        let health = h.plugin.health_check().await;
        assert_eq!(health.status, expected, "{fault}: {health:?}");
        assert!(health.detail.is_some());
    }

    h.fault("down", None).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let down = h.plugin.health_check().await;
    assert_eq!(down.status, HealthStatus::Unhealthy, "{down:?}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_refused_key_is_unhealthy() {
    let h = harness_with(None, json!({"timeoutSecs": 1}), "stale-key").await;
    let health = h.plugin.health_check().await;
    assert_eq!(health.status, HealthStatus::Unhealthy, "{health:?}");
    assert!(health.detail.unwrap().contains("accountKey"));
    h.simulator.stop().await;
}

#[tokio::test]
async fn webhooks_are_refused_because_claim_md_signs_none() {
    let h = harness_with(None, json!({}), DEFAULT_ACCOUNT_KEY).await;
    let outcome = h
        .plugin
        .handle_webhook(&HeaderMap::new(), br#"{"acct_number":"1","events":[]}"#)
        .await
        .unwrap();
    match outcome {
        WebhookOutcome::Rejected(rejection @ WebhookRejection::Unauthenticated(_)) => {
            assert_eq!(rejection.status(), 401);
            assert!(
                rejection.to_string().contains("no signed webhooks"),
                "{rejection}"
            );
        }
        other => panic!("accepted an unsigned webhook: {other:?}"),
    }
    h.simulator.stop().await;
}
