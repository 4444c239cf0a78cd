//! Billing operations on one claim: its state and history, scrubbing that moves it
//! on, and its 837P. Each runs in one transaction with the claim's billing row
//! locked, so moves of one claim never interleave and a move is recorded whole.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::billing::checks::scrub_claim;
use crate::billing::from_fhir;
use crate::billing::lifecycle::{check_transition, BillingState, IllegalTransition};
use crate::billing::remittance::ledger::LedgerTotals;
use crate::billing::remittance::money::rounded_cents;
use crate::billing::scrub::{RuleSet, ScrubReport};
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::outbound_webhooks;
use crate::store::billing::{ClaimStateRow, NewBillingClaim, StateChange};
use crate::store::denials::DenialRecord;
use crate::store::inbound::PatientPayment;
use crate::store::model::Tenant;
use crate::store::Session;
use crate::x12::claim_837p::{ClaimSubmission, ClaimSubmissionConfig};
use crate::x12::{write_837p, ControlNumbers};

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Fhir(#[from] FhirError),
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("the claim cannot be written as an 837P: {0}")]
    Unbillable(String),
}

impl From<crate::store::StoreError> for BillingError {
    fn from(error: crate::store::StoreError) -> Self {
        BillingError::Fhir(error.into())
    }
}

/// Where a claim stands, how it got there, and what has been paid on it.
#[derive(Debug, Clone)]
pub struct ClaimStatus {
    pub claim_id: String,
    pub state: BillingState,
    pub history: Vec<StateChange>,
    /// From the ledger (posted remittances).
    pub totals: LedgerTotals,
    /// What payers denied, oldest first.
    pub denials: Vec<DenialRecord>,
    /// What the patient paid (and got back) through a payment processor.
    pub patient_payments: Vec<PatientPayment>,
}

/// A requested move.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: BillingState,
    pub actor: String,
    pub reason: Option<String>,
    pub details: Option<Value>,
}

/// The claim's state, from its stored row, or `draft` for a Claim billing has not
/// touched yet. The FHIR Claim must exist.
pub async fn status(fhir: &ResourceService, claim_id: &str) -> Result<ClaimStatus, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    fhir.read(&mut session, ResourceType::Claim, claim_id).await?;
    let state = match session.read_claim_state(claim_id).await? {
        Some(row) => parse_state(&row)?,
        None => BillingState::Draft,
    };
    claim_status(&mut session, claim_id, state).await
}

/// Moves the claim (409 for a move its state does not allow), keeping the FHIR
/// Claim's `status` in step (`BillingState::fhir_status`).
pub async fn move_claim(
    fhir: &ResourceService,
    claim_id: &str,
    step: Move,
) -> Result<ClaimStatus, BillingError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let row = billing_row(fhir, &mut tx, claim_id).await?;
    let from = parse_state(&row)?;
    check_transition(from, step.to)?;
    record(fhir, &mut tx, claim_id, from, &step).await?;
    let status = claim_status(&mut tx, claim_id, step.to).await?;
    tx.commit().await?;
    Ok(status)
}

/// Scrubs the stored claim and moves it to `ready_to_submit` when clean or
/// `needs_review` when not (from draft, needs_review, or a rejected or denied
/// claim being corrected; other states keep theirs).
pub async fn validate(
    fhir: &ResourceService,
    rules: &RuleSet,
    claim_id: &str,
    actor: &str,
) -> Result<(ClaimStatus, ScrubReport), BillingError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let row = billing_row(fhir, &mut tx, claim_id).await?;
    let from = parse_state(&row)?;
    let scrubbed = scrub_and_move(fhir, &mut tx, rules, claim_id, from, actor, false).await?;
    tx.commit().await?;
    Ok(scrubbed)
}

/// `validate` inside the caller's transaction, with the claim's billing row (in
/// state `from`) already locked. `corrected`: the claim was just changed in this
/// transaction, so a `ready_to_submit` claim the change made dirty is held for
/// review here, before any submission can read it.
pub(crate) async fn scrub_and_move(
    fhir: &ResourceService,
    tx: &mut Session,
    rules: &RuleSet,
    claim_id: &str,
    from: BillingState,
    actor: &str,
    corrected: bool,
) -> Result<(ClaimStatus, ScrubReport), BillingError> {
    let claim = read_claim(fhir, tx, claim_id).await?;
    let (_, report) = scrub_claim(fhir, tx, rules, claim_id, &claim).await?;
    let step = scrub_move(&report, actor);
    let to = step.to;
    let rescored = match from {
        BillingState::Draft | BillingState::NeedsReview | BillingState::Rejected | BillingState::Denied => {
            true
        }
        BillingState::ReadyToSubmit => corrected,
        _ => false,
    };
    let state = if rescored && from != to && from.can_move_to(to) {
        record(fhir, tx, claim_id, from, &step).await?;
        to
    } else {
        from
    };
    let status = claim_status(tx, claim_id, state).await?;
    Ok((status, report))
}

/// Where a scrub sends a claim: `ready_to_submit` when clean, `needs_review` when
/// not, with the findings kept in the history.
pub(crate) fn scrub_move(report: &ScrubReport, actor: &str) -> Move {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(
            |f| serde_json::json!({"code": f.code.as_str(), "path": f.path, "severity": f.severity.as_str()}),
        )
        .collect();
    let (to, reason) = if report.clean_claim {
        (BillingState::ReadyToSubmit, "scrub passed")
    } else {
        (BillingState::NeedsReview, "scrub found errors")
    };
    Move {
        to,
        actor: actor.to_owned(),
        reason: Some(reason.into()),
        details: Some(Value::Array(findings)),
    }
}

/// The claim as an 837P interchange, under a fresh interchange control number kept
/// with the document. CLM01 is the claim's billing number, `CB` + its row id.
pub async fn claim_837p(
    fhir: &ResourceService,
    config: &ClaimSubmissionConfig,
    claim_id: &str,
) -> Result<String, BillingError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let row = billing_row(fhir, &mut tx, claim_id).await?;
    let billed = from_fhir::read_claim(fhir, &mut tx, claim_id).await?;
    let now = Utc::now();
    let control_number = tx.reserve_interchange("837P", now).await?;
    let control = u32::try_from(control_number)
        .map(|n| ControlNumbers {
            interchange: n,
            group: n,
        })
        .map_err(|_| BillingError::Unbillable("interchange control numbers are exhausted".into()))?;
    let patient_control_number = row.patient_control_number();
    let submission = ClaimSubmission {
        claim: &billed,
        patient_control_number: &patient_control_number,
        claim_filing_indicator: "CI",
    };
    let document = write_837p(&[submission], config, control, now.naive_utc())
        .map_err(|error| BillingError::Unbillable(error.to_string()))?;
    tx.store_interchange(control_number, &document).await?;
    tx.commit().await?;
    Ok(document)
}

/// The claim's billing row, made (as `draft`, recorded in its history, told to
/// webhook subscribers as `claim.created`) the first time billing touches a stored
/// Claim.
pub(crate) async fn billing_row(
    fhir: &ResourceService,
    tx: &mut Session,
    claim_id: &str,
) -> Result<ClaimStateRow, BillingError> {
    if let Some(row) = tx.claim_state_for_update(claim_id).await? {
        return Ok(row);
    }
    let claim = read_claim(fhir, tx, claim_id).await?;
    let now = Utc::now();
    let first = NewBillingClaim {
        claim_id: claim_id.to_owned(),
        state: BillingState::Draft.as_str().to_owned(),
        at: now,
        charge_cents: charge_cents(&claim),
        payer: from_fhir::payer_name(fhir, tx, &claim).await,
    };
    if let Some(row) = tx.insert_claim_state(&first).await? {
        tx.record_state_change(&first_seen(claim_id, now)).await?;
        outbound_webhooks::events::claim_created(tx, DEFAULT_TENANT, claim_id).await?;
        return Ok(row);
    }
    // Made by a concurrent request a moment ago: its insert is committed now.
    tx.claim_state_for_update(claim_id)
        .await?
        .ok_or_else(|| BillingError::Fhir(FhirError::Internal("billing row vanished".into())))
}

pub(crate) async fn claim_status(
    session: &mut Session,
    claim_id: &str,
    state: BillingState,
) -> Result<ClaimStatus, BillingError> {
    Ok(ClaimStatus {
        claim_id: claim_id.to_owned(),
        state,
        history: session.state_history(claim_id).await?,
        totals: LedgerTotals::of_stored(&session.claim_ledger(claim_id).await?),
        denials: session.claim_denials(claim_id).await?,
        patient_payments: session.claim_patient_payments(claim_id).await?,
    })
}

/// Records the move `from → step.to` (checked by the caller), mirrors it in the
/// FHIR Claim's `status`, and enqueues its webhook event (`claim.submitted`, …) in
/// the same transaction: every move goes through here.
pub(crate) async fn record(
    fhir: &ResourceService,
    tx: &mut Session,
    claim_id: &str,
    from: BillingState,
    step: &Move,
) -> Result<(), BillingError> {
    let at = Utc::now();
    tx.record_state_change(&state_change(claim_id, from, step, at))
        .await?;
    let mut claim = read_claim(fhir, tx, claim_id).await?;
    if step.to == BillingState::Submitted {
        // What the payer is billed, and when (the dashboard's `billed`).
        tx.mark_claim_submitted(claim_id, at, charge_cents(&claim))
            .await?;
    }
    let status = claim.get("status").and_then(Value::as_str);
    // A claim withdrawn in FHIR (cancelled, entered-in-error) stays withdrawn.
    if matches!(status, Some("draft" | "active")) && status != Some(step.to.fhir_status()) {
        claim["status"] = Value::String(step.to.fhir_status().into());
        fhir.update(tx, ResourceType::Claim, claim_id, claim, None)
            .await?;
    }
    outbound_webhooks::events::claim_moved(tx, DEFAULT_TENANT, claim_id, from, step.to).await?;
    Ok(())
}

/// The history entry of a claim's first billing state, `draft`.
pub(crate) fn first_seen(claim_id: &str, at: DateTime<Utc>) -> StateChange {
    StateChange {
        claim_id: claim_id.to_owned(),
        from_state: None,
        to_state: BillingState::Draft.as_str().to_owned(),
        actor: "claimbridge".into(),
        reason: Some("first seen by billing".into()),
        details: None,
        at,
    }
}

/// The history entry of the move `from → step.to`.
pub(crate) fn state_change(
    claim_id: &str,
    from: BillingState,
    step: &Move,
    at: DateTime<Utc>,
) -> StateChange {
    StateChange {
        claim_id: claim_id.to_owned(),
        from_state: Some(from.as_str().to_owned()),
        to_state: step.to.as_str().to_owned(),
        actor: step.actor.clone(),
        reason: step.reason.clone(),
        details: step.details.as_ref().map(Value::to_string),
        at,
    }
}

/// The Claim's total in cents, as billing keeps it.
pub(crate) fn charge_cents(claim: &Value) -> Option<i64> {
    from_fhir::total_charge(claim).and_then(rounded_cents)
}

/// The stored FHIR Claim's JSON.
pub(crate) async fn read_claim(
    fhir: &ResourceService,
    tx: &mut Session,
    claim_id: &str,
) -> Result<Value, BillingError> {
    let version = fhir.read(tx, ResourceType::Claim, claim_id).await?;
    serde_json::from_str(&version.body).map_err(|e| BillingError::Fhir(FhirError::Internal(e.to_string())))
}

pub(crate) fn parse_state(row: &ClaimStateRow) -> Result<BillingState, BillingError> {
    BillingState::parse(&row.state)
        .ok_or_else(|| BillingError::Fhir(FhirError::Internal(format!("billing state {:?}", row.state))))
}
