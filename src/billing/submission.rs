//! Claim submission: a claim ready to submit is written as an 837P and sent
//! through the billing gateway; once the clearinghouse has taken it, the claim
//! moves to `submitted` with the receipt in its history.
//!
//! The document is written and kept (with its interchange control number, as every
//! 837P is) before anything is sent. The send and the move then happen in one
//! transaction holding the claim's billing row: a second submission of the same
//! claim waits, finds it `submitted`, and is refused with 409 without sending
//! anything; a failed send rolls the transaction back, so the claim never moves on
//! failure. A receipt followed by a failed commit would leave a sent claim
//! `ready_to_submit`: the integration registry's durable jobs (issue 6) close that
//! gap with idempotency keys; until then the receipt id is in the log.
//!
//! On SQLite the transaction holds the database's single writer lock during the
//! send: fine for the in-process sandbox, and SQLite sites are small.

use serde_json::json;

use crate::billing::gateway::{BillingGateway, GatewayError};
use crate::billing::lifecycle::{check_transition, BillingState};
use crate::billing::service::{self, BillingError, ClaimStatus, Move};
use crate::fhir::service::ResourceService;
use crate::store::model::Tenant;
use crate::x12::claim_837p::ClaimSubmissionConfig;

#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

impl From<crate::store::StoreError> for SubmissionError {
    fn from(error: crate::store::StoreError) -> Self {
        SubmissionError::Billing(error.into())
    }
}

impl From<crate::fhir::outcome::FhirError> for SubmissionError {
    fn from(error: crate::fhir::outcome::FhirError) -> Self {
        SubmissionError::Billing(error.into())
    }
}

/// Submits claim `claim_id` (409 unless it is `ready_to_submit`).
pub async fn submit(
    fhir: &ResourceService,
    gateway: &dyn BillingGateway,
    config: &ClaimSubmissionConfig,
    claim_id: &str,
    actor: &str,
) -> Result<ClaimStatus, SubmissionError> {
    // Refused before a document is written for a claim that cannot go.
    let current = service::status(fhir, claim_id).await?;
    check_transition(current.state, BillingState::Submitted).map_err(BillingError::from)?;
    let document = service::claim_837p(fhir, config, claim_id).await?;

    let mut tx = fhir.begin(&Tenant::default()).await?;
    let row = service::billing_row(fhir, &mut tx, claim_id).await?;
    let from = service::parse_state(&row)?;
    check_transition(from, BillingState::Submitted).map_err(BillingError::from)?;
    let receipt = match gateway.submit_claims(&document).await {
        Ok(receipt) => receipt,
        Err(error) => {
            tx.rollback().await?;
            return Err(error.into());
        }
    };
    tracing::info!(
        claim = row.patient_control_number(),
        receipt = %receipt.receipt_id,
        gateway = gateway.name(),
        "claim submitted"
    );
    let step = Move {
        to: BillingState::Submitted,
        actor: actor.to_owned(),
        reason: Some(format!("sent to the {}", gateway.name())),
        details: Some(json!({
            "interchangeControlNumber": receipt.interchange_control_number,
            "receiptId": receipt.receipt_id,
            "claimsInInterchange": receipt.claims,
            "receivedAt": crate::fhir::instant(receipt.received_at),
        })),
    };
    service::record(fhir, &mut tx, claim_id, from, &step).await?;
    tx.commit().await?;
    Ok(service::status(fhir, claim_id).await?)
}
