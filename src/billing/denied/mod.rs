//! Denials as billing works them: recorded when an 835 denies a claim, routed by
//! the playbook that matches, and resolved by a person with a note — or by the
//! payment of a later 835, when the payer pays the claim after all.
//!
//! What a playbook's action does on posting:
//! - `auto_resubmit`: the claim goes back to `ready_to_submit`, queued to be sent
//!   again as a corrected claim, with the playbook's fix instructions in its history
//!   and on the denial — until the playbook's `max_attempts` for this claim is used
//!   up; after that the denial waits in the `denials` queue for a person.
//! - `manual_review`: the denial waits in the playbook's queue; the claim stays
//!   `denied`.
//! - `notify`: the denial is addressed to the playbook's recipient; the claim stays
//!   `denied`.

pub mod routes;
mod view;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::billing::denials::{self, denial_code, denials_of, Action, Category, DenialAnalysis};
use crate::billing::lifecycle::BillingState;
use crate::billing::remittance::money::{json_amount, to_cents};
use crate::billing::service::{self, BillingError, Move};
use crate::fhir::outcome::FhirError;
use crate::fhir::service::ResourceService;
use crate::store::denials::{NewDenialRecord, Resolution};
use crate::store::Session;
use crate::store::StoreError;
use crate::x12::remittance::ClaimPayment;

pub use view::{as_denial, denial_json};

/// Who moves made by playbooks are recorded as.
const ACTOR: &str = "denial-playbook";

/// Where denials go that no playbook settles: an exhausted `auto_resubmit`, or no
/// playbook at all.
pub const FALLBACK_QUEUE: &str = "denials";

/// Denial statuses.
pub const OPEN: &str = "open";
pub const RESUBMIT_QUEUED: &str = "resubmit_queued";
pub const RESOLVED: &str = "resolved";

/// The denial recorded for a claim and what its playbook did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DenialOutcome {
    pub denial_id: i64,
    /// The reason that decided the playbook, as `CO-197`.
    pub code: String,
    pub playbook: Option<String>,
    pub action: String,
    pub assignee: Option<String>,
    pub status: String,
}

/// One claim's denial by a remittance, as posting saw it.
pub struct DeniedClaim<'a> {
    pub claim_id: &'a str,
    /// The claim's state after posting moved it.
    pub state: BillingState,
    pub payment: &'a ClaimPayment,
    pub payer_id: &'a str,
    pub remittance_id: i64,
    pub trace_number: &'a str,
    pub at: DateTime<Utc>,
}

/// Resolves every denial of the claim not resolved yet with `resolution`;
/// returns how many.
pub async fn resolve_open_denials(
    tx: &mut Session,
    claim_id: &str,
    resolution: &Resolution<'_>,
) -> Result<usize, StoreError> {
    let mut resolved = 0;
    for denial in tx.claim_denials(claim_id).await? {
        if denial.new.status != RESOLVED && tx.resolve_denial(denial.id, resolution).await?.is_some() {
            resolved += 1;
        }
    }
    Ok(resolved)
}

/// Records the denial and follows its playbook; returns what was done and the
/// claim's state after it. `None` when the payer gave no reason code to record.
pub async fn record_denial(
    fhir: &ResourceService,
    tx: &mut Session,
    denied: &DeniedClaim<'_>,
) -> Result<Option<(DenialOutcome, BillingState)>, BillingError> {
    let found = denials_of(denied.payment, denied.payer_id);
    let analyses: Vec<DenialAnalysis<'static>> = found.iter().map(denials::analyze).collect();
    // The reason whose playbook ranks highest decides; among equals, the larger amount
    // (`found` is largest first and `max_by_key` keeps the last maximum).
    let Some(primary) = analyses
        .iter()
        .rev()
        .max_by_key(|analysis| analysis.playbook.map(|playbook| playbook.priority))
    else {
        return Ok(None);
    };
    let attempt = match primary.playbook {
        Some(playbook) => tx.playbook_attempts(denied.claim_id, &playbook.id).await? + 1,
        None => 1,
    };
    let plan = Plan::of(primary, attempt, denied.state);
    let reasons: Vec<Value> = analyses
        .iter()
        .map(|analysis| {
            json!({
                "code": denial_code(analysis.group, &analysis.carc),
                "amount": json_amount(analysis.amount.unwrap_or_default()),
            })
        })
        .collect();
    let amount = primary.amount.unwrap_or_default();
    let amount_cents = to_cents(amount, || format!("denied amount of claim {}", denied.claim_id))
        .map_err(|error| BillingError::Fhir(FhirError::Internal(error.to_string())))?;
    let record = NewDenialRecord {
        claim_id: denied.claim_id.to_owned(),
        remittance_id: denied.remittance_id,
        code: denial_code(primary.group, &primary.carc),
        reasons: Value::Array(reasons).to_string(),
        rarcs: primary
            .remarks
            .iter()
            .map(|remark| remark.code.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        amount_cents,
        category: primary.category.map(Category::as_str).map(str::to_owned),
        playbook_id: primary.playbook.map(|playbook| playbook.id.clone()),
        action: plan.action.to_owned(),
        assignee: plan.assignee.clone(),
        instructions: json!(plan.instructions).to_string(),
        attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
        status: plan.status.to_owned(),
        created_at: denied.at,
    };
    let denial_id = tx.insert_denial(&record).await?;
    let mut state = denied.state;
    if plan.status == RESUBMIT_QUEUED {
        let playbook = primary.playbook.map(|p| p.id.as_str()).unwrap_or_default();
        let step = Move {
            to: BillingState::ReadyToSubmit,
            actor: ACTOR.into(),
            reason: Some(format!(
                "playbook {playbook}: correct and resubmit (denial of trace number {})",
                denied.trace_number
            )),
            details: Some(json!({"denialId": denial_id, "fix": plan.instructions})),
        };
        service::record(fhir, tx, denied.claim_id, state, &step).await?;
        state = BillingState::ReadyToSubmit;
    }
    let outcome = DenialOutcome {
        denial_id,
        code: record.code,
        playbook: record.playbook_id,
        action: record.action,
        assignee: record.assignee,
        status: record.status,
    };
    Ok(Some((outcome, state)))
}

/// What to do about one denial.
struct Plan {
    action: &'static str,
    assignee: Option<String>,
    instructions: Vec<String>,
    status: &'static str,
}

impl Plan {
    fn of(analysis: &DenialAnalysis<'_>, attempt: i64, state: BillingState) -> Plan {
        let for_a_person = |assignee: &str| Plan {
            action: "manual_review",
            assignee: Some(assignee.to_owned()),
            instructions: analysis.recommended_actions.clone(),
            status: OPEN,
        };
        let Some(playbook) = analysis.playbook else {
            return for_a_person(FALLBACK_QUEUE);
        };
        match &playbook.action {
            Action::AutoResubmit { fix } => {
                let exhausted = attempt > i64::from(playbook.max_attempts);
                // Only a claim that stands denied is queued again: one already moved
                // on by a person is theirs.
                if !exhausted && state == BillingState::Denied {
                    return Plan {
                        action: "auto_resubmit",
                        assignee: None,
                        instructions: fix.clone(),
                        status: RESUBMIT_QUEUED,
                    };
                }
                let mut plan = for_a_person(FALLBACK_QUEUE);
                plan.instructions = fix.clone();
                plan.instructions.push(if exhausted {
                    format!(
                        "Resubmitted {} time(s) under playbook {} already (its maximum): decide between an \
                         appeal, another correction and a write-off.",
                        attempt - 1,
                        playbook.id
                    )
                } else {
                    format!("The claim is {state}, not denied, so it was not queued to be sent again.")
                });
                plan
            }
            Action::ManualReview { queue } => for_a_person(queue),
            Action::Notify { recipient } => Plan {
                action: "notify",
                ..for_a_person(recipient)
            },
        }
    }
}
