//! Submitting claims to the simulated Claim.MD over HTTP, and asking afterwards
//! whether it has them — the question that decides whether a claim may go
//! elsewhere after an upload whose answer was lost.

mod common;

use claimbridge_plugin_sdk::{ClaimStatusKind, ErrorClass, OperationOutput, SubmissionReceipt};
use common::{harness, interchange_837, status_request};

fn receipt(output: OperationOutput) -> SubmissionReceipt {
    match output {
        OperationOutput::SubmitClaim(receipt) => receipt,
        other => panic!("not a receipt: {other:?}"),
    }
}

#[tokio::test]
async fn an_upload_returns_each_claims_verdict_and_each_claim_arrives_once() {
    let h = harness(None).await;
    let file = interchange_837(&[("PCN-OK", "150", "150"), ("PCN-BAD", "80", "70")]);
    let receipt = receipt(h.submit("sub-1", &file).await.unwrap());

    assert_eq!(receipt.claims.len(), 2);
    let ok = &receipt.claims[0];
    assert_eq!(ok.patient_control_number, "PCN-OK");
    assert_eq!(ok.status, ClaimStatusKind::Accepted);
    assert!(ok.vendor_claim_id.is_some());
    let bad = &receipt.claims[1];
    assert_eq!(bad.status, ClaimStatusKind::Rejected);
    assert!(
        bad.messages
            .iter()
            .any(|m| m.starts_with("rejected:") && m.contains("service lines")),
        "{:?}",
        bad.messages
    );
    assert!(!receipt.vendor_batch_id.is_empty());

    let received = h.claims_received().await;
    assert_eq!(received.as_array().unwrap().len(), 2);
    for claim in received.as_array().unwrap() {
        assert_eq!(claim["timesReceived"], 1);
        assert_eq!(
            claim["fileName"], "sub-1.837",
            "the file carries the submission id"
        );
    }
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_rejected_file_is_final_and_nothing_is_recorded() {
    let h = harness(Some("reject*1")).await;
    let error = h
        .submit("sub-2", &interchange_837(&[("PCN-1", "100", "100")]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(h.claims_received().await.as_array().unwrap().is_empty());
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_file_that_is_not_an_837_is_final() {
    let h = harness(None).await;
    let error = h.submit("sub-3", "PATIENT,AMOUNT\nX,100\n").await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(error.to_string().contains("Unrecognized file format"), "{error}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_server_error_on_upload_is_ambiguous_and_the_status_check_then_finds_nothing() {
    let h = harness(Some("5xx*1")).await;
    let error = h
        .submit("sub-4", &interchange_837(&[("PCN-4", "100", "100")]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Ambiguous, "{error}");
    assert!(error.needs_status_check());
    // The 500 came before Claim.MD did anything: it has no record, so the claim may
    // go elsewhere.
    let report = h.status(status_request(Some("sub-4"), "PCN-4", None)).await;
    assert!(report.statuses.is_empty(), "{report:?}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_timeout_after_accepting_is_ambiguous_and_the_status_check_finds_the_claim() {
    let h = harness(Some("timeout*1")).await;
    let error = h
        .submit("sub-5", &interchange_837(&[("PCN-5", "120", "120")]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Ambiguous, "{error}");

    let report = h.status(status_request(Some("sub-5"), "PCN-5", None)).await;
    assert_eq!(report.statuses.len(), 1, "{report:?}");
    let status = &report.statuses[0];
    assert_eq!(status.patient_control_number, "PCN-5");
    assert_eq!(status.status, ClaimStatusKind::Pending);
    assert!(status.messages[0].contains("sub-5.837"), "{:?}", status.messages);
    assert!(status.effective_date.is_some());

    // Found, so not sent again: Claim.MD holds it exactly once.
    let received = h.claims_received().await;
    assert_eq!(received[0]["pcn"], "PCN-5");
    assert_eq!(received[0]["timesReceived"], 1);
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_submission_claim_md_never_received_has_no_status() {
    let h = harness(None).await;
    h.submit("other-sub", &interchange_837(&[("PCN-X", "100", "100")]))
        .await
        .unwrap();
    let report = h.status(status_request(Some("never-sent"), "PCN-Y", None)).await;
    assert!(report.statuses.is_empty(), "{report:?}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_claim_known_by_its_claim_md_id_reports_its_responses() {
    let h = harness(None).await;
    let receipt = receipt(
        h.submit(
            "sub-6",
            &interchange_837(&[("PCN-6A", "100", "100"), ("PCN-6B", "90", "10")]),
        )
        .await
        .unwrap(),
    );
    let rejected = &receipt.claims[1];
    let report = h
        .status(status_request(
            Some("sub-6"),
            "PCN-6B",
            rejected.vendor_claim_id.as_deref(),
        ))
        .await;
    assert_eq!(report.statuses.len(), 1, "{report:?}");
    let status = &report.statuses[0];
    assert_eq!(status.patient_control_number, "PCN-6B");
    assert_eq!(status.status, ClaimStatusKind::Rejected);
    assert_eq!(status.vendor_claim_id, rejected.vendor_claim_id);
    assert!(!status.messages.is_empty());
    h.simulator.stop().await;
}

#[tokio::test]
async fn without_ids_the_claim_is_looked_up_by_its_pcn_in_the_response_feed() {
    let h = harness(None).await;
    h.submit("sub-7", &interchange_837(&[("PCN-7", "100", "100")]))
        .await
        .unwrap();
    let found = h.status(status_request(None, "PCN-7", None)).await;
    assert_eq!(found.statuses.len(), 1, "{found:?}");
    assert_eq!(found.statuses[0].status, ClaimStatusKind::Accepted);
    let missing = h.status(status_request(None, "PCN-NONE", None)).await;
    assert!(missing.statuses.is_empty(), "{missing:?}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn claim_md_down_is_transient_even_for_an_upload() {
    let h = harness(Some("down")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let error = h
        .submit("sub-8", &interchange_837(&[("PCN-8", "100", "100")]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_status_check_that_cannot_reach_claim_md_fails_rather_than_reporting_nothing() {
    let h = harness(None).await;
    h.fault("5xx", Some(1)).await;
    let error = h
        .run(claimbridge_plugin_sdk::Operation::ClaimStatus(status_request(
            Some("sub-9"),
            "PCN-9",
            None,
        )))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    h.simulator.stop().await;
}
