//! Claim submission through the integration registry, as a durable job: the API
//! queues the claim's submission (`claim_submission`, one live job per claim) and
//! answers at once; the job writes the 837P, runs it through the orchestrator
//! (priority order, retries, failover, the status check after an unanswered
//! upload) and records the outcome on the claim.
//!
//! A job may run more than once (a node stopped mid-job, a retry after an upload
//! nobody answered, or one whose answer could not be recorded), and a claim may be
//! submitted again after its job died. Every run first asks each integration whose
//! last word on one of the claim's submissions the claim has not recorded was an
//! unanswered upload, or an answered one whose answer was not recorded, whether it
//! holds the claim, under the submission id that upload went with, before the
//! claim is sent anywhere; and a claim no longer `ready_to_submit` is left alone.
//! So a claim is submitted once.

use std::sync::Arc;

use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimStatusRequest, ClaimSubmission, Operation, OperationOutput, Person,
    SubmissionReceipt,
};
use serde_json::{json, Value};

use crate::billing::claim::{BillingClaim, ServiceLine};
use crate::billing::from_fhir;
use crate::billing::lifecycle::{check_transition, BillingState};
use crate::billing::service::{self, BillingError, ClaimStatus, Move};
use crate::fhir::outcome::FhirError;
use crate::fhir::service::ResourceService;
use crate::integrations::orchestrator::{Executed, OrchestrationError, Orchestrator, Request};
use crate::integrations::registry::DEFAULT_TENANT;
use crate::integrations::Category;
use crate::jobs::{enqueue_in, Job, JobError, NewJob};
use crate::store::attempts::AttemptFilter;
use crate::store::billing::StateChange;
use crate::store::jobs::{JobId, JobStatus};
use crate::store::model::Tenant;
use crate::store::{Session, StoreError};
use crate::x12::claim_837p::ClaimSubmissionConfig;

pub const SUBMISSION_JOB: &str = "claim_submission";

/// Runs of one submission before it is dead-lettered for an admin.
const SUBMISSION_ATTEMPTS: i32 = 12;

/// Queues the claim's submission (409 unless it is `ready_to_submit`); a claim
/// already queued gets its live job back.
pub async fn queue_submission(
    fhir: &ResourceService,
    claim_id: &str,
    actor: &str,
) -> Result<(ClaimStatus, Job), BillingError> {
    let current = service::status(fhir, claim_id).await?;
    check_transition(current.state, BillingState::Submitted)?;
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let job = NewJob::new(SUBMISSION_JOB, json!({"claimId": claim_id, "actor": actor}))
        .dedupe_key(submission_key(claim_id))
        .max_attempts(SUBMISSION_ATTEMPTS);
    let enqueued = enqueue_in(&mut tx, job)
        .await
        .map_err(|error| BillingError::Fhir(FhirError::Internal(error.to_string())))?;
    tx.commit().await?;
    Ok((current, enqueued.job))
}

/// Runs `claim_submission` jobs.
pub struct SubmissionRunner {
    pub fhir: ResourceService,
    pub orchestrator: Arc<Orchestrator>,
    pub config: ClaimSubmissionConfig,
}

impl SubmissionRunner {
    pub async fn run(self: Arc<Self>, job: Job) -> Result<(), JobError> {
        let claim_id = job.payload["claimId"]
            .as_str()
            .ok_or_else(|| JobError::permanent("the job names no claimId"))?
            .to_owned();
        let actor = job.payload["actor"]
            .as_str()
            .unwrap_or("claim-submission-job")
            .to_owned();
        let current = service::status(&self.fhir, &claim_id).await.map_err(transient)?;
        if current.state != BillingState::ReadyToSubmit {
            // Submitted by an earlier run, or moved on by a biller: nothing to send.
            return Ok(());
        }
        let (billed, patient_control_number) = self.claim(&claim_id).await?;
        // Stable across runs of the job, so a status check finds an earlier upload.
        let submission_id = submission_id(job.id);
        let recorded = recorded_submissions(&current.history);
        let probe = status_probe(&billed, &patient_control_number, &submission_id);
        let subject = attempts_subject(&claim_id);
        let document = service::claim_837p(&self.fhir, &self.config, &claim_id)
            .await
            .map_err(transient)?;
        let operation = Operation::SubmitClaim(ClaimSubmission {
            submission_id,
            interchange_837p: document,
        });
        let request = Request {
            tenant: DEFAULT_TENANT,
            category: Category::Clearinghouse,
            operation: &operation,
            subject: Some(&subject),
            status_probe: Some(&probe),
        };
        let executed = match self
            .orchestrator
            .resolve_unanswered(request, job.created_at, &recorded)
            .await
        {
            Ok(Some(found)) => Ok(found),
            Ok(None) => self.orchestrator.execute_with_failover(request).await,
            Err(error) => Err(error),
        };
        match executed {
            Ok(executed) => {
                self.record(&claim_id, &actor, &patient_control_number, &job, &executed)
                    .await
            }
            // The integration's configuration or the claim's data: an admin looks,
            // fixes, and requeues the job. The claim stays ready to submit.
            Err(error @ OrchestrationError::Refused { .. }) => Err(JobError::permanent(error.to_string())),
            Err(error) => Err(JobError::transient(error.to_string())),
        }
    }

    async fn claim(&self, claim_id: &str) -> Result<(BillingClaim, String), JobError> {
        let mut tx = self.fhir.begin(&Tenant::default()).await.map_err(transient)?;
        let row = service::billing_row(&self.fhir, &mut tx, claim_id)
            .await
            .map_err(transient)?;
        let billed = from_fhir::read_claim(&self.fhir, &mut tx, claim_id)
            .await
            .map_err(|error| JobError::permanent(error.to_string()))?;
        tx.rollback().await.map_err(transient)?;
        Ok((billed, row.patient_control_number()))
    }

    /// Moves the claim to `submitted` with the receipt (and on to `rejected` when
    /// the clearinghouse's own edits refused it at once).
    async fn record(
        &self,
        claim_id: &str,
        actor: &str,
        patient_control_number: &str,
        job: &Job,
        executed: &Executed,
    ) -> Result<(), JobError> {
        let OperationOutput::SubmitClaim(receipt) = &executed.output else {
            return Err(JobError::permanent(
                "the clearinghouse answered another operation",
            ));
        };
        let mut tx = self.fhir.begin(&Tenant::default()).await.map_err(transient)?;
        let row = service::billing_row(&self.fhir, &mut tx, claim_id)
            .await
            .map_err(transient)?;
        let from = service::parse_state(&row).map_err(transient)?;
        if from != BillingState::ReadyToSubmit {
            tx.rollback().await.map_err(transient)?;
            return Ok(());
        }
        let submitted = Move {
            to: BillingState::Submitted,
            actor: actor.to_owned(),
            reason: Some(format!("sent through {}", executed.vendor)),
            details: Some(receipt_details(job, executed, receipt)),
        };
        service::record(&self.fhir, &mut tx, claim_id, from, &submitted)
            .await
            .map_err(transient)?;
        let ours = receipt
            .claims
            .iter()
            .find(|claim| claim.patient_control_number == patient_control_number);
        if let Some(refused) = ours.filter(|claim| claim.status == ClaimStatusKind::Rejected) {
            let rejected = Move {
                to: BillingState::Rejected,
                actor: actor.to_owned(),
                reason: Some(format!(
                    "{} refused it: {}",
                    executed.vendor,
                    refused.messages.join("; ")
                )),
                details: None,
            };
            service::record(&self.fhir, &mut tx, claim_id, BillingState::Submitted, &rejected)
                .await
                .map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
        Ok(())
    }
}

/// The key one live submission job per claim holds.
fn submission_key(claim_id: &str) -> String {
    format!("{SUBMISSION_JOB}:{claim_id}")
}

/// Holds the claim's live submission job, if it has one, until the caller's
/// transaction ends, so that it does not start while the claim changes under it
/// (it reads the change when it starts after). Refused (409) when a submission may
/// already have sent the claim as it was: its job is running, or an upload of any
/// submission the claim's history does not record may be with a clearinghouse (a
/// later job would ask about it, find it, and record the claim as submitted). The
/// change would then never be sent; it waits for the submission's outcome instead.
pub async fn hold_submission_for_change(session: &mut Session, claim_id: &str) -> Result<(), FhirError> {
    let under_way = |why: &str| {
        Err(FhirError::Conflict(format!(
            "the claim's submission {why}; change it once the clearinghouse's answer is recorded \
             (submitting the claim has its job ask for it)"
        )))
    };
    if hold_live_job(session, claim_id).await? {
        return under_way("is running");
    }
    let recorded = recorded_submissions(&session.state_history(claim_id).await?);
    let attempts = session
        .list_attempts(&unrecorded_attempts(claim_id, recorded))
        .await?;
    let mut unrecorded: Vec<&str> = attempts
        .iter()
        .filter_map(|attempt| attempt.submission_id.as_deref())
        .collect();
    unrecorded.sort_unstable();
    unrecorded.dedup();
    if unrecorded.iter().any(|id| Orchestrator::may_hold(&attempts, id)) {
        return under_way("may already be with a clearinghouse");
    }
    Ok(())
}

/// Locks the claim's live submission job, if it has one, until the session's
/// transaction ends (a runner skips a locked job); true when it is running already.
async fn hold_live_job(session: &mut Session, claim_id: &str) -> Result<bool, StoreError> {
    let Some(live) = session.live_job_with_key(&submission_key(claim_id)).await? else {
        return Ok(false);
    };
    let held = session.job_for_update(live.id).await?;
    Ok(held.is_some_and(|job| job.status == JobStatus::Running))
}

/// Declares an earlier upload of the claim abandoned, on an admin's word that the
/// clearinghouse does not hold it (its support found no such file, or the claim in
/// it will never be worked). Until then, a taken upload the clearinghouse cannot
/// find holds the claim for good: every job asks about it and none sends, since
/// sending again could submit the claim twice. The claim's history records the
/// submission as settled (same state, `details.abandoned`, with the reason), so
/// jobs and corrections stop weighing it and the claim can be sent again.
///
/// 404 when no attempt of the claim names the submission; 409 when its history
/// already records it, or a submission of the claim is running. Any state: a
/// rejected or denied claim's correction is fenced by such an upload too. The
/// row's state does not change, and the dashboard counts only changes.
pub async fn abandon_submission(
    fhir: &ResourceService,
    claim_id: &str,
    submission_id: &str,
    actor: &str,
    reason: &str,
) -> Result<ClaimStatus, BillingError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let row = service::billing_row(fhir, &mut tx, claim_id).await?;
    let state = service::parse_state(&row)?;
    let recorded = recorded_submissions(&tx.state_history(claim_id).await?);
    if recorded.iter().any(|id| id == submission_id) {
        return Err(FhirError::Conflict(format!(
            "the claim's history already records submission {submission_id}"
        ))
        .into());
    }
    let attempts = tx.list_attempts(&unrecorded_attempts(claim_id, recorded)).await?;
    if !attempts
        .iter()
        .any(|attempt| attempt.submission_id.as_deref() == Some(submission_id))
    {
        return Err(FhirError::NotFound(format!("the claim has no submission {submission_id}")).into());
    }
    if hold_live_job(&mut tx, claim_id).await? {
        return Err(FhirError::Conflict(
            "the claim's submission is running; abandon an upload once it has stopped".into(),
        )
        .into());
    }
    let step = Move {
        to: state,
        actor: actor.to_owned(),
        reason: Some(format!("submission {submission_id} abandoned: {reason}")),
        details: Some(json!({"submissionId": submission_id, "abandoned": true})),
    };
    tx.record_state_change(&service::state_change(claim_id, state, &step, chrono::Utc::now()))
        .await?;
    let status = service::claim_status(&mut tx, claim_id, state).await?;
    tx.commit().await?;
    Ok(status)
}

/// The attempts of a claim's submissions its history does not record
/// (`recorded`), newest first, as deep as the log is read.
fn unrecorded_attempts(claim_id: &str, recorded: Vec<String>) -> AttemptFilter {
    AttemptFilter {
        subject: Some(attempts_subject(claim_id)),
        limit: 500,
        except_submissions: recorded,
        ..AttemptFilter::default()
    }
}

/// What the attempt log files a claim's submissions under.
fn attempts_subject(claim_id: &str) -> String {
    format!("Claim/{claim_id}")
}

/// The name a job's upload goes under at the clearinghouse.
fn submission_id(job_id: JobId) -> String {
    format!("cb-{job_id}")
}

/// The submissions whose answer the claim's history records: the one each receipt
/// (or an admin's abandonment) names, or (receipts recorded before they named it)
/// the one its job sent.
fn recorded_submissions(history: &[StateChange]) -> Vec<String> {
    history
        .iter()
        .filter_map(|change| serde_json::from_str::<Value>(change.details.as_deref()?).ok())
        .filter_map(|details| match details["submissionId"].as_str() {
            Some(id) => Some(id.to_owned()),
            None => details["jobId"].as_i64().map(|id| submission_id(JobId(id))),
        })
        .collect()
}

fn receipt_details(job: &Job, executed: &Executed, receipt: &SubmissionReceipt) -> Value {
    json!({
        "jobId": job.id,
        "submissionId": executed.submission_id,
        "integrationId": executed.integration_id,
        "vendor": executed.vendor,
        "vendorBatchId": receipt.vendor_batch_id,
        "failedOver": executed.failed_over,
        "foundByStatusCheck": executed.found_by_status_check,
        "receivedAt": crate::fhir::instant(receipt.received_at),
    })
}

/// What a vendor needs to find the claim (Availity's claim statuses ask for all of
/// it; Claim.MD finds it by submission and control number).
fn status_probe(
    claim: &BillingClaim,
    patient_control_number: &str,
    submission_id: &str,
) -> ClaimStatusRequest {
    let person = |person: &crate::billing::claim::Person| Person {
        last_name: person.family.clone(),
        first_name: person.given.first().cloned().unwrap_or_default(),
        birth_date: person.birth_date,
    };
    let first = claim.lines.iter().map(|line| line.service_date).min();
    let last = claim.lines.iter().map(ServiceLine::last_day).max();
    let subscriber = claim.subscriber.person.as_ref().unwrap_or(&claim.patient);
    ClaimStatusRequest {
        submission_id: Some(submission_id.to_owned()),
        patient_control_number: patient_control_number.to_owned(),
        vendor_claim_id: None,
        payer_id: claim.payer.payer_id.clone(),
        billing_provider_npi: claim.billing_provider.npi.clone().unwrap_or_default(),
        billing_provider_tax_id: claim.billing_provider.tax_id.clone().unwrap_or_default(),
        member_id: claim.subscriber.member_id.clone().unwrap_or_default(),
        subscriber: person(subscriber),
        patient: claim.subscriber.person.as_ref().map(|_| person(&claim.patient)),
        service_from: first.unwrap_or(claim.created),
        service_to: last.unwrap_or(claim.created),
        charge: claim.total_charge,
    }
}

fn transient(error: impl std::fmt::Display) -> JobError {
    JobError::transient(error.to_string())
}
