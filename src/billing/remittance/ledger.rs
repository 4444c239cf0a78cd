//! The money an 835 moves, as ledger entries: for each claim payment one payment
//! (CLP04) and one adjustment per CAS triplet, claim and line level; for the
//! provider-level adjustments (PLB) one adjustment each, on no claim. Amounts keep
//! the payer's sign, so a reversal's negative amounts cancel the original ones and
//! totals are plain sums.

use chrono::{DateTime, Utc};

use crate::billing::remittance::money::{from_cents, to_cents, SubCentAmount};
use crate::store::remittance::{LedgerAmount, NewLedgerEntry};
use crate::x12::remittance::{Adjustment, AdjustmentGroup, ClaimPayment, ProviderAdjustment};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Money the payer paid.
    Payment,
    /// A reduction of what is owed, or a shift of it to the patient (CAS, PLB).
    Adjustment,
    /// Money the payer took back: a negative claim payment (a reversal).
    Refund,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Payment => "payment",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Refund => "refund",
        }
    }
}

/// Who bears an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Payer,
    /// Group PR: the patient owes it (deductible, coinsurance, copay…).
    Patient,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Payer => "payer",
            Party::Patient => "patient",
        }
    }
}

/// One ledger entry before it is tied to a claim and a remittance.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerLine {
    pub kind: EntryKind,
    pub party: Party,
    pub group: Option<AdjustmentGroup>,
    /// The CARC of a CAS triplet, or PLB03-1.
    pub reason: Option<String>,
    pub amount_cents: i64,
}

impl LedgerLine {
    pub fn entry(
        &self,
        claim_id: Option<&str>,
        remittance_id: i64,
        posted_at: DateTime<Utc>,
    ) -> NewLedgerEntry {
        NewLedgerEntry {
            claim_id: claim_id.map(str::to_owned),
            remittance_id,
            kind: self.kind.as_str(),
            party: self.party.as_str(),
            group_code: self.group.map(|group| group.code().to_owned()),
            reason_code: self.reason.clone(),
            amount_cents: self.amount_cents,
            posted_at,
        }
    }
}

/// The entries of one claim payment: its payment first, then every adjustment.
pub fn claim_lines(claim: &ClaimPayment) -> Result<Vec<LedgerLine>, SubCentAmount> {
    let number = &claim.patient_control_number;
    let paid = to_cents(claim.paid, || format!("CLP04 of claim {number}"))?;
    let mut lines = vec![LedgerLine {
        kind: if paid < 0 {
            EntryKind::Refund
        } else {
            EntryKind::Payment
        },
        party: Party::Payer,
        group: None,
        reason: None,
        amount_cents: paid,
    }];
    let line_adjustments = claim.lines.iter().flat_map(|line| &line.adjustments);
    for adjustment in claim.adjustments.iter().chain(line_adjustments) {
        lines.push(adjustment_line(adjustment, number)?);
    }
    Ok(lines)
}

fn adjustment_line(adjustment: &Adjustment, claim: &str) -> Result<LedgerLine, SubCentAmount> {
    let group = adjustment.group;
    let amount_cents = to_cents(adjustment.amount, || {
        format!("CAS {}-{} of claim {claim}", group.code(), adjustment.reason)
    })?;
    Ok(LedgerLine {
        kind: EntryKind::Adjustment,
        party: if group == AdjustmentGroup::PatientResponsibility {
            Party::Patient
        } else {
            Party::Payer
        },
        group: Some(group),
        reason: Some(adjustment.reason.clone()),
        amount_cents,
    })
}

/// The entries of the provider-level adjustments (PLB), which belong to no claim.
pub fn provider_lines(adjustments: &[ProviderAdjustment]) -> Result<Vec<LedgerLine>, SubCentAmount> {
    adjustments
        .iter()
        .map(|plb| {
            let amount_cents = to_cents(plb.amount, || format!("PLB {} amount", plb.reason))?;
            Ok(LedgerLine {
                kind: EntryKind::Adjustment,
                party: Party::Payer,
                group: None,
                reason: Some(plb.reason.clone()),
                amount_cents,
            })
        })
        .collect()
}

/// A claim's money so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerTotals {
    /// Payments less refunds, in cents.
    pub paid_cents: i64,
    /// PR adjustments: what the patient owes.
    pub patient_responsibility_cents: i64,
    /// Every other adjustment: written off or withheld by the payer.
    pub adjustment_cents: i64,
}

impl LedgerTotals {
    /// Totals of entries given as (kind, party, cents).
    fn sum<'a>(entries: impl Iterator<Item = (&'a str, &'a str, i64)>) -> Self {
        let mut totals = LedgerTotals::default();
        for (kind, party, cents) in entries {
            let total = match (kind, party) {
                ("payment" | "refund", _) => &mut totals.paid_cents,
                ("adjustment", "patient") => &mut totals.patient_responsibility_cents,
                _ => &mut totals.adjustment_cents,
            };
            *total += cents;
        }
        totals
    }

    pub fn of_lines(lines: &[LedgerLine]) -> Self {
        Self::sum(
            lines
                .iter()
                .map(|line| (line.kind.as_str(), line.party.as_str(), line.amount_cents)),
        )
    }

    pub fn of_stored(amounts: &[LedgerAmount]) -> Self {
        Self::sum(
            amounts
                .iter()
                .map(|a| (a.kind.as_str(), a.party.as_str(), a.amount_cents)),
        )
    }

    pub fn paid(&self) -> Decimal {
        from_cents(self.paid_cents)
    }

    pub fn patient_responsibility(&self) -> Decimal {
        from_cents(self.patient_responsibility_cents)
    }

    pub fn adjustments(&self) -> Decimal {
        from_cents(self.adjustment_cents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::read_835;

    const FIXTURE: &str = "835_005010X221A1__managed-care.835";

    fn managed_care() -> crate::x12::remittance::Remittance {
        let text = crate::x12::test_fixtures::fixture(FIXTURE);
        read_835(&text).unwrap().remove(0)
    }

    #[test]
    fn a_claim_payment_becomes_a_payment_and_its_adjustments() {
        let remittance = managed_care();
        let claim = remittance.claims().nth(1).unwrap();
        let lines = claim_lines(claim).unwrap();
        let summary: Vec<String> = lines
            .iter()
            .map(|l| {
                let group = l.group.map_or("", AdjustmentGroup::code);
                let reason = l.reason.as_deref().unwrap_or("");
                format!(
                    "{} {} {group}{reason} {}",
                    l.kind.as_str(),
                    l.party.as_str(),
                    l.amount_cents
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "payment payer  49500",
                "adjustment payer COA2 5500",
                "adjustment patient PR1 60000",
                "adjustment payer CO45 5000",
            ]
        );
        let totals = LedgerTotals::of_lines(&lines);
        assert_eq!(totals.paid().to_string(), "495.00");
        assert_eq!(totals.patient_responsibility_cents, 60000);
        assert_eq!(totals.adjustment_cents, 10500);
        // Charge less adjustments is what was paid.
        assert_eq!(
            120000 - totals.patient_responsibility_cents - totals.adjustment_cents,
            totals.paid_cents
        );
    }

    #[test]
    fn a_negative_payment_is_a_refund_and_totals_net_out() {
        let mut claim = managed_care().claims().next().unwrap().clone();
        let original = claim_lines(&claim).unwrap();
        claim.status = "22".into();
        claim.paid = -claim.paid;
        for adjustment in claim
            .adjustments
            .iter_mut()
            .chain(claim.lines.iter_mut().flat_map(|l| &mut l.adjustments))
        {
            adjustment.amount = -adjustment.amount;
        }
        let reversal = claim_lines(&claim).unwrap();
        assert_eq!(reversal[0].kind, EntryKind::Refund);
        let both: Vec<LedgerLine> = original.into_iter().chain(reversal).collect();
        assert_eq!(LedgerTotals::of_lines(&both), LedgerTotals::default());
    }

    #[test]
    fn provider_adjustments_are_the_payers_and_sub_cents_are_refused() {
        let text = crate::x12::test_fixtures::fixture("835_005010X221A1__medicare-part-a.835");
        let remittance = read_835(&text).unwrap().remove(0);
        let lines = provider_lines(&remittance.provider_adjustments).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].reason.as_deref(), lines[0].amount_cents),
            (Some("CV"), -127)
        );
        assert_eq!(lines[0].party, Party::Payer);

        let mut claim = remittance.claims().next().unwrap().clone();
        claim.adjustments[0].amount = "0.001".parse().unwrap();
        let refused = claim_lines(&claim).unwrap_err();
        assert!(refused.what.contains("CAS CO-45"), "{refused}");
    }
}
