//! What a payer's answer for one claim (a CLP) means here: the billing state it
//! moves the claim to, the ClaimResponse outcome, and the way to that state through
//! the lifecycle when the claim was never marked as sent.

use rust_decimal::Decimal;

use crate::billing::lifecycle::BillingState;
use crate::x12::remittance::{AdjustmentGroup, ClaimPayment};

/// How the payer decided one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Paid in full: the payment equals the charge.
    Paid,
    /// Paid, but less than the charge.
    PartiallyPaid,
    /// CLP02 4, or processed with nothing paid and adjustments saying why (other
    /// than the patient's cost sharing).
    Denied,
    /// CLP02 22: the payer takes back its earlier decision and payment; the
    /// claim awaits a new one (usually the next CLP, a correction).
    Reversed,
    /// Recorded without a move: a claim the payer says is not theirs (23),
    /// predetermination pricing (25), or an unknown status.
    RecordOnly,
}

/// CLP02 values meaning "processed" — as primary, secondary or tertiary (1–3), and
/// the same when the payer also forwarded the claim to another payer (19–21).
const PROCESSED: &[&str] = &["1", "2", "3", "19", "20", "21"];

pub fn verdict(claim: &ClaimPayment) -> Verdict {
    match claim.status.as_str() {
        "4" => Verdict::Denied,
        "22" => Verdict::Reversed,
        status if PROCESSED.contains(&status) => {
            let mut adjustments = claim
                .adjustments
                .iter()
                .chain(claim.lines.iter().flat_map(|l| &l.adjustments))
                .peekable();
            let adjusted = adjustments.peek().is_some();
            // PR 1, 2, 3: deductible, coinsurance, copay. Other PR reasons (96 not
            // covered, 204 not in the benefit plan) leave the patient to pay for a
            // denial.
            let cost_sharing_alone = adjustments.all(|a| {
                a.group == AdjustmentGroup::PatientResponsibility
                    && matches!(a.reason.as_str(), "1" | "2" | "3")
            });
            if claim.paid <= Decimal::ZERO {
                match (adjusted, cost_sharing_alone) {
                    // Adjudicated, all of it the patient's cost sharing (a
                    // deductible): not a denial, as the same claim with some paid
                    // is not.
                    (true, true) => Verdict::PartiallyPaid,
                    (true, false) => Verdict::Denied,
                    (false, _) => Verdict::RecordOnly,
                }
            } else if claim.paid >= claim.charge {
                Verdict::Paid
            } else {
                Verdict::PartiallyPaid
            }
        }
        _ => Verdict::RecordOnly,
    }
}

impl Verdict {
    /// The billing state the claim moves to, if any.
    pub fn state(self) -> Option<BillingState> {
        match self {
            Verdict::Paid => Some(BillingState::Paid),
            Verdict::PartiallyPaid => Some(BillingState::PartiallyPaid),
            Verdict::Denied => Some(BillingState::Denied),
            Verdict::Reversed => Some(BillingState::Accepted),
            Verdict::RecordOnly => None,
        }
    }

    /// `ClaimResponse.outcome`: the adjudication finished (complete), finished
    /// with part of the claim unpaid (partial), or refused (error).
    pub fn outcome(self) -> &'static str {
        match self {
            Verdict::Paid | Verdict::Reversed | Verdict::RecordOnly => "complete",
            Verdict::PartiallyPaid => "partial",
            Verdict::Denied => "error",
        }
    }
}

/// The moves that take a claim from `from` to `to`: straight there when that is
/// legal, otherwise, for a claim sent or about to be, through `submitted` and
/// `accepted` — the states a claim passes on its way to a payer, which a
/// remittance proves it passed — when each step is legal. Never back through
/// `accepted` from a decision: only a reversal takes a decision back. `None` when
/// there is no such way (or nothing to do).
pub fn route(from: BillingState, to: BillingState) -> Option<Vec<BillingState>> {
    use BillingState::{Accepted, ReadyToSubmit, Submitted};
    if from == to {
        return None;
    }
    let on_the_way = matches!(from, ReadyToSubmit | Submitted);
    [vec![to], vec![Accepted, to], vec![Submitted, Accepted, to]]
        .into_iter()
        .filter(|steps| steps.len() == 1 || on_the_way)
        .find(|steps| {
            let mut at = from;
            steps.iter().all(|&step| {
                let legal = at.can_move_on_remittance(step);
                at = step;
                legal
            })
        })
}

/// What CLP02 says, for `ClaimResponse.disposition`.
pub fn disposition(status: &str) -> String {
    let meaning = match status {
        "1" => "processed as primary",
        "2" => "processed as secondary",
        "3" => "processed as tertiary",
        "4" => "denied",
        "19" => "processed as primary, forwarded to additional payer(s)",
        "20" => "processed as secondary, forwarded to additional payer(s)",
        "21" => "processed as tertiary, forwarded to additional payer(s)",
        "22" => "reversal of previous payment",
        "23" => "not our claim, forwarded to additional payer(s)",
        "25" => "predetermination pricing only, no payment",
        _ => return format!("claim status code {status}"),
    };
    meaning.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::lifecycle::BillingState::*;

    fn claim(status: &str, charge: i64, paid: i64, adjusted: bool) -> ClaimPayment {
        let text = crate::x12::test_fixtures::fixture("835_005010X221A1__managed-care.835");
        let mut claim = crate::x12::read_835(&text).unwrap()[0]
            .claims()
            .next()
            .unwrap()
            .clone();
        claim.status = status.into();
        claim.charge = Decimal::new(charge, 0);
        claim.paid = Decimal::new(paid, 0);
        if !adjusted {
            claim.adjustments.clear();
            claim.lines.clear();
        }
        claim
    }

    #[test]
    fn the_payment_decides_the_verdict() {
        assert_eq!(verdict(&claim("1", 100, 100, false)), Verdict::Paid);
        assert_eq!(verdict(&claim("19", 100, 60, true)), Verdict::PartiallyPaid);
        assert_eq!(verdict(&claim("1", 100, 0, true)), Verdict::Denied);
        let mut deductible = claim("1", 100, 0, true);
        for adjustment in deductible
            .adjustments
            .iter_mut()
            .chain(deductible.lines.iter_mut().flat_map(|l| &mut l.adjustments))
        {
            adjustment.group = AdjustmentGroup::PatientResponsibility;
            adjustment.reason = "1".into();
        }
        assert_eq!(
            verdict(&deductible),
            Verdict::PartiallyPaid,
            "all of it the deductible"
        );
        let mut not_covered = deductible.clone();
        let first = not_covered
            .adjustments
            .iter_mut()
            .chain(not_covered.lines.iter_mut().flat_map(|l| &mut l.adjustments))
            .next();
        first.expect("an adjustment").reason = "204".into();
        assert_eq!(
            verdict(&not_covered),
            Verdict::Denied,
            "the patient pays for a denial"
        );
        assert_eq!(verdict(&claim("1", 100, 0, false)), Verdict::RecordOnly);
        assert_eq!(verdict(&claim("4", 100, 0, false)), Verdict::Denied);
        assert_eq!(verdict(&claim("22", 100, -100, true)), Verdict::Reversed);
        assert_eq!(verdict(&claim("23", 100, 0, false)), Verdict::RecordOnly);
        assert_eq!(Verdict::PartiallyPaid.outcome(), "partial");
        assert_eq!(Verdict::Denied.outcome(), "error");
    }

    #[test]
    fn a_claim_not_marked_as_sent_is_walked_through_the_legal_states() {
        assert_eq!(route(Accepted, Paid), Some(vec![Paid]));
        assert_eq!(
            route(Submitted, PartiallyPaid),
            Some(vec![Accepted, PartiallyPaid])
        );
        assert_eq!(
            route(ReadyToSubmit, Denied),
            Some(vec![Submitted, Accepted, Denied])
        );
        assert_eq!(route(Appealed, Paid), Some(vec![Paid]));
        assert_eq!(route(PartiallyPaid, Paid), Some(vec![Paid]));
        // Nothing legal leads there: the state stays and is reported.
        assert_eq!(route(Draft, Paid), None);
        assert_eq!(route(Closed, Paid), None);
        assert_eq!(route(Paid, PartiallyPaid), None, "not back through accepted");
        assert_eq!(route(Paid, Paid), None);
        // A reversal takes a decision back; a payment on reprocessing overturns a denial.
        assert_eq!(route(Paid, Accepted), Some(vec![Accepted]));
        assert_eq!(route(Denied, Paid), Some(vec![Paid]));
    }
}
