use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::*;

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

fn usd(amount: &str) -> Money {
    Money {
        amount: Decimal::from_str(amount).unwrap(),
        currency: "USD".into(),
    }
}

fn status_update() -> ClaimStatusUpdate {
    ClaimStatusUpdate {
        patient_control_number: "CB000042".into(),
        vendor_claim_id: Some("98765".into()),
        payer_claim_number: None,
        status: ClaimStatusKind::Rejected,
        category_code: Some("A3".into()),
        messages: vec!["Subscriber ID invalid".into()],
        effective_date: Some(date(3)),
    }
}

/// One operation of each kind, with the output answering it.
fn one_of_each() -> Vec<(Operation, OperationOutput)> {
    let cursor = Cursor("1041".into());
    vec![
        (
            Operation::Eligibility(EligibilityRequest {
                inquiry_270: "ISA*00*…~".into(),
            }),
            OperationOutput::Eligibility(EligibilityResponse {
                response_271: "ISA*00*…~".into(),
                vendor_reference: Some("E123".into()),
            }),
        ),
        (
            Operation::SubmitClaim(ClaimSubmission {
                submission_id: "sub-7".into(),
                interchange_837p: "ISA*00*…~".into(),
            }),
            OperationOutput::SubmitClaim(SubmissionReceipt {
                vendor_batch_id: "B555".into(),
                claims: vec![SubmittedClaim {
                    patient_control_number: "CB000042".into(),
                    vendor_claim_id: Some("98765".into()),
                    status: ClaimStatusKind::Pending,
                    messages: vec![],
                }],
                received_at: Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap(),
            }),
        ),
        (
            Operation::ClaimStatus(ClaimStatusRequest {
                submission_id: Some("sub-7".into()),
                patient_control_number: "CB000042".into(),
                vendor_claim_id: None,
                payer_id: "87726".into(),
                billing_provider_npi: "1234567893".into(),
                billing_provider_tax_id: "123456789".into(),
                member_id: "M123".into(),
                subscriber: Person {
                    last_name: "Chalmers".into(),
                    first_name: "Peter".into(),
                    birth_date: Some(NaiveDate::from_ymd_opt(1974, 12, 25).unwrap()),
                },
                patient: None,
                service_from: date(1),
                service_to: date(1),
                charge: Decimal::from_str("125.00").unwrap(),
            }),
            OperationOutput::ClaimStatus(ClaimStatusReport {
                statuses: vec![status_update()],
            }),
        ),
        (
            Operation::ClaimStatusFeed(FeedRequest { after: None }),
            OperationOutput::ClaimStatusFeed(FeedPage {
                items: vec![status_update()],
                cursor: cursor.clone(),
                more: false,
            }),
        ),
        (
            Operation::FetchRemittance(FeedRequest {
                after: Some(cursor.clone()),
            }),
            OperationOutput::FetchRemittance(FeedPage {
                items: vec![Remittance {
                    vendor_remittance_id: "7".into(),
                    interchange_835: "ISA*00*…~".into(),
                }],
                cursor: Cursor("1042".into()),
                more: true,
            }),
        ),
        (
            Operation::PriorAuth(PriorAuthRequest {
                bundle: json!({"resourceType": "Bundle"}),
            }),
            OperationOutput::PriorAuth(PriorAuthDecision {
                outcome: PriorAuthOutcome::Approved,
                reference: Some("PA-1".into()),
                period: Some((date(1), date(31))),
                note: "approved".into(),
                tracking_id: None,
            }),
        ),
        (
            Operation::PriorAuthStatus(PriorAuthStatusRequest {
                tracking_id: "7400000000002".into(),
            }),
            OperationOutput::PriorAuthStatus(PriorAuthDecision {
                outcome: PriorAuthOutcome::Pended,
                reference: None,
                period: None,
                note: "pended: clinical review".into(),
                tracking_id: Some("7400000000002".into()),
            }),
        ),
        (
            Operation::PatientPayment(PaymentRequest {
                amount: usd("25.00"),
                customer: Customer {
                    patient_id: "pat-1".into(),
                    vendor_customer_id: None,
                    name: Some("Peter Chalmers".into()),
                    email: None,
                },
                payment_method: "pm_card_visa".into(),
                description: Some("Copay".into()),
                metadata: BTreeMap::from([("claimId".to_string(), "claim-1".to_string())]),
                idempotency_key: IdempotencyKey("0b1c…".into()),
            }),
            OperationOutput::PatientPayment(PaymentResult {
                vendor_payment_id: "pi_1".into(),
                vendor_customer_id: Some("cus_1".into()),
                status: PaymentStatus::Succeeded,
                amount: usd("25.00"),
            }),
        ),
        (
            Operation::Refund(RefundRequest {
                vendor_payment_id: "pi_1".into(),
                amount: None,
                reason: Some("requested_by_customer".into()),
                idempotency_key: IdempotencyKey("5e6f…".into()),
            }),
            OperationOutput::Refund(RefundResult {
                vendor_refund_id: "re_1".into(),
                status: RefundStatus::Pending,
                amount: usd("25.00"),
            }),
        ),
        (
            Operation::PayerList(PayerListRequest::default()),
            OperationOutput::PayerList(PayerList {
                payers: vec![Payer {
                    payer_id: "87726".into(),
                    name: "UnitedHealthcare".into(),
                    capabilities: BTreeSet::from([Capability::Eligibility, Capability::SubmitClaim]),
                }],
            }),
        ),
    ]
}

#[test]
fn every_capability_has_an_operation_and_an_output_answering_it() {
    let pairs = one_of_each();
    let covered: BTreeSet<Capability> = pairs
        .iter()
        .map(|(operation, _)| operation.capability())
        .collect();
    assert_eq!(covered, BTreeSet::from(Capability::ALL));
    for (operation, output) in &pairs {
        assert_eq!(operation.capability(), output.capability());
    }
}

#[test]
fn operations_and_outputs_are_tagged_with_their_capability_and_read_back_unchanged() {
    for (operation, output) in one_of_each() {
        let name = serde_json::to_value(operation.capability()).unwrap();

        let stored = serde_json::to_value(&operation).unwrap();
        assert_eq!(stored["operation"], name);
        assert!(stored["input"].is_object(), "{stored}");
        assert_eq!(serde_json::from_value::<Operation>(stored).unwrap(), operation);

        let stored = serde_json::to_value(&output).unwrap();
        assert_eq!(stored["operation"], name);
        assert!(stored["output"].is_object(), "{stored}");
        assert_eq!(serde_json::from_value::<OperationOutput>(stored).unwrap(), output);
    }
}

#[test]
fn a_stored_operation_reads_in_camel_case() {
    let stored = json!({
        "operation": "fetch_remittance",
        "input": {"after": "1041"},
    });
    assert_eq!(
        serde_json::from_value::<Operation>(stored).unwrap(),
        Operation::FetchRemittance(FeedRequest {
            after: Some(Cursor("1041".into()))
        })
    );
    let stored = json!({
        "operation": "submit_claim",
        "input": {"submissionId": "sub-7", "interchange837p": "ISA*00*…~"},
    });
    assert!(matches!(
        serde_json::from_value::<Operation>(stored).unwrap(),
        Operation::SubmitClaim(ClaimSubmission { submission_id, .. }) if submission_id == "sub-7"
    ));
}
