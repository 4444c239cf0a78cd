//! Posting an 835: each remittance (transaction set) in one database transaction —
//! the remittance row, the ledger entries, the ClaimResponses and the claims' moves
//! commit together or not at all. A payer's trace number is posted once: the row
//! is inserted first, so a second posting of the same payment (even a concurrent
//! one) finds it and answers with the first posting's report.
//!
//! Everything that can be refused in the file itself (it does not parse, an amount
//! is not whole cents) is checked for every remittance before anything is written.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::billing::denied::{record_denial, resolve_open_denials, DeniedClaim};
use crate::billing::lifecycle::{check_transition, BillingState};
use crate::billing::remittance::claim_response::{claim_response, Answer};
use crate::billing::remittance::detail::claim_detail;
use crate::billing::remittance::ledger::{claim_lines, provider_lines, LedgerLine, LedgerTotals};
use crate::billing::remittance::money::{from_cents, json_amount, to_cents, SubCentAmount};
use crate::billing::remittance::report::{
    PayerView, PostedClaim, ProviderAdjustmentView, RemittanceReport, UnmatchedPayment,
};
use crate::billing::remittance::verdict::{route, verdict, Verdict};
use crate::billing::service::{self, BillingError, Move};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::outbound_webhooks::events::{emit, EventType};
use crate::store::billing::{row_id_of, ClaimStateRow};
use crate::store::denials::Resolution;
use crate::store::model::Tenant;
use crate::store::remittance::{NewRemittance, NewUnmatchedClaim};
use crate::store::Session;
use crate::x12::remittance::{ClaimPayment, CreditDebit, Remittance};
use crate::x12::{read_835, ReadError};

/// Who state moves made by posting are recorded as.
const ACTOR: &str = "remittance";

/// Our patient control numbers (CLM01) are this prefix and the billing row's id.

#[derive(Debug, thiserror::Error)]
pub enum RemittanceError {
    #[error("the 835 cannot be read: {0}")]
    Unreadable(#[from] ReadError),
    #[error("the interchange holds no 835 transaction set")]
    NoRemittance,
    #[error(transparent)]
    SubCent(#[from] SubCentAmount),
    /// Posting failed and this remittance was rolled back; those before it in the
    /// file were committed and are in `posted`.
    #[error("remittance with trace number {trace_number} was not posted: {source}")]
    NotPosted {
        trace_number: String,
        source: BillingError,
        posted: Vec<RemittanceReport>,
    },
}

/// Posts every remittance of the 835 `text`, in file order.
pub async fn post_835(fhir: &ResourceService, text: &str) -> Result<Vec<RemittanceReport>, RemittanceError> {
    let remittances = read_835(text)?;
    if remittances.is_empty() {
        return Err(RemittanceError::NoRemittance);
    }
    let plans = remittances.iter().map(Plan::new).collect::<Result<Vec<_>, _>>()?;
    let mut posted = Vec::with_capacity(plans.len());
    for plan in &plans {
        match post_remittance(fhir, text, plan).await {
            Ok(report) => posted.push(report),
            Err(source) => {
                return Err(RemittanceError::NotPosted {
                    trace_number: plan.remittance.trace.number.clone(),
                    source,
                    posted,
                })
            }
        }
    }
    Ok(posted)
}

/// A remittance with its amounts checked and converted, ready to write.
struct Plan<'a> {
    remittance: &'a Remittance,
    /// With the trace number, the remittance's identity: REF*2U (or N104), else
    /// TRN03 — the payer's own originating company id, which every 835 has.
    payer_id: &'a str,
    payment_cents: i64,
    claims: Vec<PlannedClaim<'a>>,
    provider_lines: Vec<LedgerLine>,
}

struct PlannedClaim<'a> {
    payment: &'a ClaimPayment,
    ledger: Vec<LedgerLine>,
    charge_cents: i64,
    paid_cents: i64,
}

impl<'a> Plan<'a> {
    fn new(remittance: &'a Remittance) -> Result<Self, SubCentAmount> {
        let payment = &remittance.payment;
        let signed = match payment.credit_debit {
            CreditDebit::Credit => payment.amount,
            CreditDebit::Debit => -payment.amount,
        };
        let trace = &remittance.trace.number;
        // Reversals (CLP02 22) first: the guide puts a reversal before the
        // correction that follows it, and a payer that does not would otherwise
        // have its correction refused (a paid claim cannot be decided again) and
        // its reversal undo the correction's decision. The sort is stable, so
        // otherwise the file's order holds.
        let mut in_order: Vec<&ClaimPayment> = remittance.claims().collect();
        in_order.sort_by_key(|claim| claim.status != "22");
        let claims = in_order
            .into_iter()
            .map(|claim| {
                let number = &claim.patient_control_number;
                Ok(PlannedClaim {
                    payment: claim,
                    ledger: claim_lines(claim)?,
                    charge_cents: to_cents(claim.charge, || format!("CLP03 of claim {number}"))?,
                    paid_cents: to_cents(claim.paid, || format!("CLP04 of claim {number}"))?,
                })
            })
            .collect::<Result<Vec<_>, SubCentAmount>>()?;
        Ok(Plan {
            remittance,
            payer_id: remittance
                .payer
                .payer_id()
                .unwrap_or(&remittance.trace.originator),
            payment_cents: to_cents(signed, || format!("BPR02 of trace number {trace}"))?,
            claims,
            provider_lines: provider_lines(&remittance.provider_adjustments)?,
        })
    }

    fn empty_report(&self, remittance_id: i64) -> RemittanceReport {
        let remittance = self.remittance;
        RemittanceReport {
            remittance_id,
            trace_number: remittance.trace.number.clone(),
            payer: PayerView {
                id: self.payer_id.to_owned(),
                name: remittance.payer.name.clone(),
            },
            payment_amount: from_cents(self.payment_cents),
            payment_date: remittance.payment.date,
            duplicate: false,
            posted: Vec::new(),
            unmatched: Vec::new(),
            provider_adjustments: remittance
                .provider_adjustments
                .iter()
                .map(ProviderAdjustmentView::from)
                .collect(),
            imbalances: remittance.imbalances().into_iter().map(Into::into).collect(),
            problems: remittance.problems.iter().map(ToString::to_string).collect(),
        }
    }
}

async fn post_remittance(
    fhir: &ResourceService,
    text: &str,
    plan: &Plan<'_>,
) -> Result<RemittanceReport, BillingError> {
    let remittance = plan.remittance;
    let now = Utc::now();
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let new = NewRemittance {
        payer_id: plan.payer_id,
        payer_name: &remittance.payer.name,
        trace_number: &remittance.trace.number,
        payment_cents: plan.payment_cents,
        payment_date: remittance.payment.date,
        raw: text,
        received_at: now,
    };
    let Some(remittance_id) = tx.insert_remittance(&new).await? else {
        let report = first_report(&mut tx, plan).await?;
        tx.rollback().await?;
        return Ok(report);
    };
    lock_in_order(&mut tx, plan).await?;
    let mut report = plan.empty_report(remittance_id);
    for claim in &plan.claims {
        let matched = match matching_claim(&mut tx, &claim.payment.patient_control_number).await? {
            // A claim whose FHIR Claim was deleted since has nothing to post to: its
            // payment waits with those naming no claim, and the rest are posted.
            Some(row) => stored_claim(fhir, &mut tx, &row.claim_id)
                .await?
                .map(|stored| (row, stored)),
            None => None,
        };
        match matched {
            Some((row, stored)) => {
                let posted =
                    post_claim(fhir, &mut tx, plan, claim, (row, stored), remittance_id, now).await?;
                report.posted.push(posted);
            }
            None => {
                keep_unmatched(&mut tx, claim, remittance_id).await?;
                report.unmatched.push(UnmatchedPayment {
                    patient_control_number: claim.payment.patient_control_number.clone(),
                    paid: claim.payment.paid,
                });
            }
        }
    }
    let provider_entries: Vec<_> = plan
        .provider_lines
        .iter()
        .map(|line| line.entry(None, remittance_id, now))
        .collect();
    tx.insert_ledger_entries(&provider_entries).await?;
    let stored = serde_json::to_string(&report).map_err(|e| internal(e.to_string()))?;
    let (posted, unmatched) = (report.posted.len() as i64, report.unmatched.len() as i64);
    tx.set_remittance_report(remittance_id, &stored, posted, unmatched)
        .await?;
    tx.commit().await?;
    Ok(report)
}

/// The report of the first posting of this payment, marked as a duplicate.
async fn first_report(tx: &mut Session, plan: &Plan<'_>) -> Result<RemittanceReport, BillingError> {
    let stored = tx
        .remittance_report(plan.payer_id, &plan.remittance.trace.number)
        .await?
        .ok_or_else(|| internal("a recorded remittance vanished".into()))?;
    let mut report: RemittanceReport =
        serde_json::from_str(&stored).map_err(|e| internal(format!("stored remittance report: {e}")))?;
    report.duplicate = true;
    Ok(report)
}

/// Locks every billing row the remittance names, lowest number first: two
/// remittances paying the same claims in different orders then queue instead of
/// deadlocking (PostgreSQL would abort one of them).
async fn lock_in_order(tx: &mut Session, plan: &Plan<'_>) -> Result<(), BillingError> {
    let mut numbers: Vec<i64> = plan
        .claims
        .iter()
        .filter_map(|claim| row_id_of(&claim.payment.patient_control_number))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    for number in numbers {
        tx.claim_state_by_number_for_update(number).await?;
    }
    Ok(())
}

/// The billing row CLP01 names, locked: `CB` and the row's id, as our 837P wrote it.
async fn matching_claim(
    tx: &mut Session,
    patient_control_number: &str,
) -> Result<Option<ClaimStateRow>, BillingError> {
    Ok(match row_id_of(patient_control_number) {
        Some(number) => tx.claim_state_by_number_for_update(number).await?,
        None => None,
    })
}

/// The Claim `claim_id` as stored, or `None` once it was deleted.
async fn stored_claim(
    fhir: &ResourceService,
    tx: &mut Session,
    claim_id: &str,
) -> Result<Option<Value>, BillingError> {
    match service::read_claim(fhir, tx, claim_id).await {
        Ok(stored) => Ok(Some(stored)),
        Err(BillingError::Fhir(FhirError::Gone(_) | FhirError::NotFound(_))) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn keep_unmatched(
    tx: &mut Session,
    claim: &PlannedClaim<'_>,
    remittance_id: i64,
) -> Result<(), BillingError> {
    let payment = claim.payment;
    tx.insert_unmatched_claim(&NewUnmatchedClaim {
        remittance_id,
        patient_control_number: payment.patient_control_number.clone(),
        payer_claim_control_number: payment.payer_claim_control_number.clone(),
        charge_cents: claim.charge_cents,
        paid_cents: claim.paid_cents,
        detail: claim_detail(payment).to_string(),
    })
    .await?;
    Ok(())
}

/// Ledger entries, a ClaimResponse, and the claim's move for one matched claim;
/// money paid on it is told to webhook subscribers (`payment.received`) here, the
/// one place 835 payments are recorded.
async fn post_claim(
    fhir: &ResourceService,
    tx: &mut Session,
    plan: &Plan<'_>,
    claim: &PlannedClaim<'_>,
    (row, stored): (ClaimStateRow, Value),
    remittance_id: i64,
    now: DateTime<Utc>,
) -> Result<PostedClaim, BillingError> {
    let claim_id = row.claim_id.as_str();
    let entries: Vec<_> = claim
        .ledger
        .iter()
        .map(|line| line.entry(Some(claim_id), remittance_id, now))
        .collect();
    tx.insert_ledger_entries(&entries).await?;
    // Money from the payer (CLP04 above zero): the first such posting is when the
    // claim was paid, which days to pay count to.
    if claim.paid_cents > 0 {
        tx.mark_claim_paid(claim_id, now).await?;
    }
    let verdict = verdict(claim.payment);
    let response = claim_response(&Answer {
        claim_id,
        claim: &stored,
        insurer: insurer(fhir, tx, &stored, plan).await?,
        remittance: plan.remittance,
        payment: claim.payment,
        verdict,
        created: now,
    });
    let written = fhir
        .create(tx, ResourceType::ClaimResponse, response, None)
        .await?;
    let (mut state, state_not_moved) = follow_verdict(fhir, tx, &row, verdict, plan, claim.payment).await?;
    let mut denial = None;
    if claim.paid_cents > 0
        && state_not_moved.is_none()
        && matches!(verdict, Verdict::Paid | Verdict::PartiallyPaid)
    {
        // Paid after all (on reprocessing, an appeal, a corrected claim): the
        // claim's denials are settled.
        let note = format!(
            "paid: 835 remittance, trace number {}",
            plan.remittance.trace.number
        );
        let resolution = Resolution {
            at: now,
            by: ACTOR,
            note: &note,
        };
        resolve_open_denials(tx, claim_id, &resolution).await?;
    }
    if verdict == Verdict::Denied {
        let denied = DeniedClaim {
            claim_id,
            state,
            payment: claim.payment,
            payer_id: plan.payer_id,
            remittance_id,
            trace_number: &plan.remittance.trace.number,
            at: now,
        };
        if let Some((outcome, after)) = record_denial(fhir, tx, &denied).await? {
            denial = Some(outcome);
            state = after;
        }
    }
    if claim.paid_cents > 0 {
        let paid = json!({
            "claimId": claim_id,
            "state": state.as_str(),
            "remittanceId": remittance_id,
            "amount": json_amount(from_cents(claim.paid_cents)),
        });
        emit(tx, EventType::PaymentReceived, DEFAULT_TENANT, paid).await?;
    }
    let totals = LedgerTotals::of_lines(&claim.ledger);
    Ok(PostedClaim {
        claim_id: claim_id.to_owned(),
        claim_response_id: written.version.id,
        paid: totals.paid(),
        patient_responsibility: totals.patient_responsibility(),
        state: state.as_str().to_owned(),
        state_not_moved,
        denial,
    })
}

/// Moves the claim where the verdict points, through the states it skipped when
/// they are legal; otherwise leaves it and says why.
async fn follow_verdict(
    fhir: &ResourceService,
    tx: &mut Session,
    row: &ClaimStateRow,
    verdict: Verdict,
    plan: &Plan<'_>,
    payment: &ClaimPayment,
) -> Result<(BillingState, Option<String>), BillingError> {
    let from = service::parse_state(row)?;
    let Some(to) = verdict.state().filter(|&to| to != from) else {
        return Ok((from, None));
    };
    if verdict == Verdict::Reversed {
        // Only a reversal that takes back all that was paid takes the decision
        // back; one that leaves money paid (a partial recoupment, or the
        // correction posted before it) leaves the claim where it is.
        let left = LedgerTotals::of_stored(&tx.claim_ledger(&row.claim_id).await?).paid();
        if left > Decimal::ZERO {
            let why = format!("the reversal leaves {left} paid on the claim");
            return Ok((from, Some(why)));
        }
    }
    let Some(steps) = route(from, to) else {
        let refused = check_transition(from, to)
            .err()
            .map(|illegal| illegal.to_string());
        return Ok((from, refused));
    };
    let trace = &plan.remittance.trace.number;
    let mut at = from;
    for step in steps {
        let change = Move {
            to: step,
            actor: ACTOR.into(),
            reason: Some(format!("835 remittance, trace number {trace}")),
            details: Some(json!({
                "payerId": plan.payer_id,
                "claimStatusCode": payment.status,
                "payerClaimControlNumber": payment.payer_claim_control_number,
            })),
        };
        service::record(fhir, tx, &row.claim_id, at, &change).await?;
        at = step;
    }
    Ok((at, None))
}

/// `ClaimResponse.insurer`: the Claim's insurer, else the payor of its focal
/// Coverage, else the 835's payer by name and id.
async fn insurer(
    fhir: &ResourceService,
    tx: &mut Session,
    claim: &Value,
    plan: &Plan<'_>,
) -> Result<Value, BillingError> {
    if let Some(insurer) = claim.get("insurer") {
        return Ok(insurer.clone());
    }
    if let Some(payor) = coverage_payor(fhir, tx, claim).await? {
        return Ok(payor);
    }
    Ok(json!({
        "identifier": {"value": plan.payer_id},
        "display": plan.remittance.payer.name,
    }))
}

async fn coverage_payor(
    fhir: &ResourceService,
    tx: &mut Session,
    claim: &Value,
) -> Result<Option<Value>, BillingError> {
    let insurance = claim["insurance"].as_array().and_then(|all| {
        all.iter()
            .find(|i| i["focal"] == Value::Bool(true))
            .or_else(|| all.first())
    });
    let coverage_id = insurance
        .and_then(|i| i.at("/coverage/reference"))
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix("Coverage/"));
    let Some(coverage_id) = coverage_id else {
        return Ok(None);
    };
    let coverage = match fhir.read(tx, ResourceType::Coverage, coverage_id).await {
        Ok(version) => version,
        // A Coverage gone since billing is no reason to refuse the payment.
        Err(FhirError::NotFound(_) | FhirError::Gone(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let coverage: Value = serde_json::from_str(&coverage.body).map_err(|e| internal(e.to_string()))?;
    Ok(coverage.at("/payor/0").cloned())
}

fn internal(message: String) -> BillingError {
    BillingError::Fhir(FhirError::Internal(message))
}
