//! Billing's guard on clients' FHIR changes of a Claim. An EHR's `PUT`, `PATCH` or
//! `DELETE` of a claim a submission may be sending would never reach the
//! clearinghouse (the submission records the claim as it was sent), so it is
//! fenced off as a biller's correction is: 409 while the submission is running or
//! its upload may be with a clearinghouse, and otherwise the claim's live
//! submission job is held until the change commits, to start on the changed claim.
//! A `ready_to_submit` claim the change made dirty is held for review in the same
//! transaction, so no submission sends it as it is.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::billing::dispatch::hold_submission_for_change;
use crate::billing::lifecycle::BillingState;
use crate::billing::scrub::RuleSet;
use crate::billing::service::{parse_state, record, scrub_and_move, BillingError, Move};
use crate::fhir::change_guard::ChangeGuard;
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::Session;

/// Who the state history names for a move that follows a FHIR change.
const FHIR_ACTOR: &str = "fhir-api";

pub struct SubmissionFence {
    /// The scrub rules a changed `ready_to_submit` claim is checked against.
    pub rules: Arc<RuleSet>,
}

impl ChangeGuard for SubmissionFence {
    fn resource_type(&self) -> ResourceType {
        ResourceType::Claim
    }

    fn before_change<'a>(
        &'a self,
        session: &'a mut Session,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), FhirError>> {
        Box::pin(async move {
            // The billing row before the job row, in the order a biller's
            // correction takes them.
            session.claim_state_for_update(id).await?;
            hold_submission_for_change(session, id).await
        })
    }

    fn after_change<'a>(
        &'a self,
        service: &'a ResourceService,
        session: &'a mut Session,
        id: &'a str,
    ) -> BoxFuture<'a, Result<(), FhirError>> {
        Box::pin(async move {
            let Some(row) = session.claim_state_for_update(id).await? else {
                // Billing has not touched the claim: its scrub comes when it does.
                return Ok(());
            };
            let state = parse_state(&row).map_err(billing_to_fhir)?;
            if state != BillingState::ReadyToSubmit {
                return Ok(());
            }
            match scrub_and_move(service, session, &self.rules, id, state, FHIR_ACTOR, true).await {
                Ok(_) => Ok(()),
                // The change left a claim billing cannot read (a reference that
                // resolves to nothing): held for review with why in the history's
                // reason, not refused, since the FHIR change itself is valid.
                Err(error) if the_claims_fault(&error) => {
                    let hold = Move {
                        to: BillingState::NeedsReview,
                        actor: FHIR_ACTOR.to_owned(),
                        reason: Some(format!("the changed claim cannot be billed: {error}")),
                        details: None,
                    };
                    record(service, session, id, state, &hold)
                        .await
                        .map_err(billing_to_fhir)
                }
                Err(error) => Err(billing_to_fhir(error)),
            }
        })
    }
}

/// Whether billing could not read the claim for its data (a reference that
/// resolves to nothing, a value it cannot take), not for the server's state: a
/// write race or a database failure is the change's error, not the claim's.
fn the_claims_fault(error: &BillingError) -> bool {
    matches!(
        error,
        BillingError::Fhir(
            FhirError::NotFound(_) | FhirError::Gone(_) | FhirError::Invalid(_) | FhirError::Unprocessable(_)
        )
    )
}

fn billing_to_fhir(error: BillingError) -> FhirError {
    match error {
        BillingError::Fhir(error) => error,
        other => FhirError::Internal(other.to_string()),
    }
}
