//! What billers do with claims from the worklist, for the API
//! (`/api/billing/claims…`, [`routes`]) and the console alike: find them by state,
//! payer, date, denial category or assignee; give them to a person; mark them
//! resolved with a note; correct them and send them again; export them as CSV.

pub mod export;
pub mod routes;

use chrono::Utc;
use serde_json::Value;

use crate::billing::corrections::{self, CorrectionError, Corrections};
use crate::billing::denials::Category;
use crate::billing::denied::OPEN;
use crate::billing::dispatch;
use crate::billing::lifecycle::BillingState;
use crate::billing::period::{Period, PeriodError};
use crate::billing::routes::BillingContext;
use crate::billing::scrub::ScrubReport;
use crate::billing::service::{self, BillingError, ClaimStatus, Move};
use crate::billing::submission::{self, SubmissionError};
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::jobs::Job;
use crate::store::denials::Resolution;
use crate::store::model::Tenant;
use crate::store::worklist::{WorklistFilter, WorklistRow};

/// A worklist request as billers ask it: every filter optional.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistQuery {
    pub state: Option<BillingState>,
    pub payer: Option<String>,
    pub assignee: Option<String>,
    /// The days billing first saw the claims in (UTC, both ends included).
    pub entered: Period,
    pub denial_category: Option<Category>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// A filter that does not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("{name} {value:?} is not known; choose one of {choices}")]
    UnknownChoice {
        name: &'static str,
        value: String,
        choices: String,
    },
    #[error(transparent)]
    Period(#[from] PeriodError),
}

impl WorklistQuery {
    /// Reads the filters from their text (a query string's): empty means "any".
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        state: Option<&str>,
        payer: Option<&str>,
        assignee: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        denial_category: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<WorklistQuery, FilterError> {
        fn given(text: Option<&str>) -> Option<&str> {
            text.map(str::trim).filter(|t| !t.is_empty())
        }
        let state = match given(state) {
            None => None,
            Some(text) => Some(
                BillingState::parse(text).ok_or_else(|| FilterError::UnknownChoice {
                    name: "state",
                    value: text.to_owned(),
                    choices: BillingState::ALL.map(BillingState::as_str).join(", "),
                })?,
            ),
        };
        let denial_category = match given(denial_category) {
            None => None,
            Some(text) => Some(Category::parse(text).ok_or_else(|| FilterError::UnknownChoice {
                name: "denial category",
                value: text.to_owned(),
                choices: Category::ALL.map(Category::as_str).join(", "),
            })?),
        };
        Ok(WorklistQuery {
            state,
            payer: given(payer).map(str::to_owned),
            assignee: given(assignee).map(str::to_owned),
            entered: Period::parse(given(from), given(to))?,
            denial_category,
            before,
            limit,
        })
    }

    fn filter(&self) -> WorklistFilter {
        WorklistFilter {
            state: self.state.map(|s| s.as_str().to_owned()),
            payer: self.payer.clone(),
            assignee: self.assignee.clone(),
            created_from: self.entered.start(),
            created_until: self.entered.end(),
            denial_category: self.denial_category.map(|c| c.as_str().to_owned()),
            before: self.before,
            limit: self.limit,
        }
    }
}

/// A page of the worklist, newest first.
pub async fn list(fhir: &ResourceService, query: &WorklistQuery) -> Result<Vec<WorklistRow>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.list_worklist(&query.filter()).await?)
}

/// The payers claims are billed to, for the worklist's filter.
pub async fn payers(fhir: &ResourceService) -> Result<Vec<String>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.worklist_payers(500).await?)
}

/// The claim's worklist row, `None` when billing has not seen it.
pub async fn entry(fhir: &ResourceService, claim_id: &str) -> Result<Option<WorklistRow>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.worklist_entry(claim_id).await?)
}

/// Gives the claims to `assignee` (blank: to nobody); how many were found.
pub async fn assign(
    fhir: &ResourceService,
    claim_ids: &[String],
    assignee: &str,
) -> Result<usize, BillingError> {
    let assignee = Some(assignee.trim()).filter(|a| !a.is_empty());
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let assigned = tx.assign_claims(claim_ids, assignee).await?;
    tx.commit().await?;
    Ok(assigned)
}

/// What marking a claim resolved did.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Open denials resolved with the note.
    pub denials: usize,
    pub status: ClaimStatus,
}

/// Marks the claim's work done: every open denial resolved with `note`, and, when
/// `close` and its state allows it, the claim closed with the note as the reason
/// (409 when it does not). One transaction: all of it or none.
pub async fn resolve(
    fhir: &ResourceService,
    claim_id: &str,
    note: &str,
    actor: &str,
    close: bool,
) -> Result<Resolved, BillingError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let row = service::billing_row(fhir, &mut tx, claim_id).await?;
    let mut state = service::parse_state(&row)?;
    let resolution = Resolution {
        at: Utc::now(),
        by: actor,
        note,
    };
    let resolved = crate::billing::denied::resolve_open_denials(&mut tx, claim_id, &resolution).await?;
    if close && state != BillingState::Closed {
        let step = Move {
            to: BillingState::Closed,
            actor: actor.to_owned(),
            reason: Some(note.to_owned()),
            details: None,
        };
        crate::billing::lifecycle::check_transition(state, step.to)?;
        service::record(fhir, &mut tx, claim_id, state, &step).await?;
        state = BillingState::Closed;
    }
    let status = service::claim_status(&mut tx, claim_id, state).await?;
    tx.commit().await?;
    Ok(Resolved {
        denials: resolved,
        status,
    })
}

/// Whether the claim has denials waiting for a person.
pub fn has_open_denials(status: &ClaimStatus) -> bool {
    status.denials.iter().any(|denial| denial.new.status == OPEN)
}

/// The states a claim can be corrected in: the scrub that follows moves it to
/// `ready_to_submit` when the corrected claim is clean.
pub fn correctable(state: BillingState) -> bool {
    matches!(
        state,
        BillingState::Draft
            | BillingState::NeedsReview
            | BillingState::ReadyToSubmit
            | BillingState::Rejected
            | BillingState::Denied
    )
}

/// Where a fix-and-resubmit ended.
#[derive(Debug)]
pub enum Resubmission {
    /// Sent: the clearinghouse took it.
    Submitted(ClaimStatus),
    /// Queued for the integration registry to send.
    Queued(ClaimStatus, Box<Job>),
    /// Corrected and stored, but the scrub still finds errors: not sent.
    NotClean(ClaimStatus, Box<ScrubReport>),
    /// Corrected, clean and ready, but no integration is configured to send it.
    NoGateway(ClaimStatus),
}

#[derive(Debug, thiserror::Error)]
pub enum ResubmitError {
    #[error(transparent)]
    Correction(#[from] CorrectionError),
    #[error(transparent)]
    Submission(#[from] SubmissionError),
}

impl From<BillingError> for ResubmitError {
    fn from(error: BillingError) -> Self {
        ResubmitError::Submission(error.into())
    }
}

impl From<crate::store::StoreError> for ResubmitError {
    fn from(error: crate::store::StoreError) -> Self {
        ResubmitError::Submission(error.into())
    }
}

impl From<FhirError> for ResubmitError {
    fn from(error: FhirError) -> Self {
        ResubmitError::Submission(error.into())
    }
}

/// Corrects the claim (a new version of the FHIR Claim) and scrubs it in the same
/// transaction — which moves a denied, rejected or held claim to `ready_to_submit`
/// when it is clean, and a ready one made dirty to `needs_review` — then sends
/// it the way `POST /api/billing/claims/{id}/submit` would: queued, or at once.
pub async fn fix_and_resubmit(
    fhir: &ResourceService,
    billing: &BillingContext,
    claim_id: &str,
    fixes: &Corrections,
    actor: &str,
) -> Result<Resubmission, ResubmitError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    // The billing row is locked from here to the commit: no submission slips in
    // between the check and the correction.
    let row = service::billing_row(fhir, &mut tx, claim_id).await?;
    let state = service::parse_state(&row)?;
    if !correctable(state) {
        // A claim the payer has (or is deciding on) is corrected by a new claim or
        // an appeal, never in place.
        let refused = crate::billing::lifecycle::check_transition(state, BillingState::ReadyToSubmit)
            .err()
            .unwrap_or(crate::billing::lifecycle::IllegalTransition {
                from: state,
                to: BillingState::ReadyToSubmit,
                allowed: String::new(),
            });
        return Err(BillingError::Illegal(refused).into());
    }
    dispatch::hold_submission_for_change(&mut tx, claim_id).await?;
    let stored = fhir.read(&mut tx, ResourceType::Claim, claim_id).await?;
    let mut claim: Value =
        serde_json::from_str(&stored.body).map_err(|e| FhirError::Internal(e.to_string()))?;
    corrections::apply(&mut claim, fixes)?;
    fhir.update(&mut tx, ResourceType::Claim, claim_id, claim, None)
        .await?;
    // Scrubbed before the commit: a submission due the moment the hold ends must
    // find a claim the correction made dirty already held for review.
    let (status, report) =
        service::scrub_and_move(fhir, &mut tx, &billing.rules, claim_id, state, actor, true).await?;
    tx.commit().await?;
    if !report.clean_claim {
        return Ok(Resubmission::NotClean(status, Box::new(report)));
    }
    let Some(gateway) = billing.gateway.as_deref() else {
        return Ok(Resubmission::NoGateway(status));
    };
    if billing.queue_submissions {
        let (status, job) = dispatch::queue_submission(fhir, claim_id, actor).await?;
        return Ok(Resubmission::Queued(status, Box::new(job)));
    }
    let status = submission::submit(fhir, gateway, &billing.submission, claim_id, actor).await?;
    Ok(Resubmission::Submitted(status))
}

/// The stored Claim and what the scrub rules find in it now, without moving it.
pub async fn scrub_now(
    fhir: &ResourceService,
    rules: &crate::billing::scrub::RuleSet,
    claim_id: &str,
) -> Result<(Value, ScrubReport), BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    let claim = service::read_claim(fhir, &mut session, claim_id).await?;
    let (_, report) =
        crate::billing::checks::scrub_claim(fhir, &mut session, rules, claim_id, &claim).await?;
    Ok((claim, report))
}

/// `(remittance id, trace number)` of each 835 that posted on the claim or denied
/// it, oldest first.
pub async fn remittances(
    fhir: &ResourceService,
    status: &ClaimStatus,
) -> Result<Vec<(i64, String)>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    let mut ids = session.claim_remittances(&status.claim_id).await?;
    ids.extend(status.denials.iter().map(|denial| denial.new.remittance_id));
    ids.sort_unstable();
    ids.dedup();
    Ok(session.remittance_traces(&ids).await?)
}

/// `(trace number, 835 text)` of a remittance, when it posted on or denied the claim.
pub async fn remittance_835(
    fhir: &ResourceService,
    claim_id: &str,
    remittance_id: i64,
) -> Result<Option<(String, String)>, BillingError> {
    let status = service::status(fhir, claim_id).await?;
    let touched = remittances(fhir, &status).await?;
    if !touched.iter().any(|(id, _)| *id == remittance_id) {
        return Ok(None);
    }
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.remittance_document(remittance_id).await?)
}
