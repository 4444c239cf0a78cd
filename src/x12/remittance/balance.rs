//! The 835's arithmetic, checked before posting. A remittance that does not add up
//! is reported, not rejected: the payer's money arrived either way, and a person
//! decides what to post.
//!
//! - transaction: BPR02 = Σ CLP04 − Σ PLB amounts (a positive PLB amount is money
//!   withheld, a negative one money added);
//! - claim: CLP03 − Σ CAS (claim level and every line's) = CLP04;
//! - line: SVC02 − Σ line CAS = SVC03.

use rust_decimal::Decimal;

use super::{Adjustment, Remittance};

/// One sum that does not come out.
#[derive(Debug, Clone, PartialEq)]
pub enum Imbalance {
    /// BPR02 against the claims' payments less the provider adjustments.
    Payment { stated: Decimal, computed: Decimal },
    /// A claim whose charge less its adjustments is not what was paid.
    Claim {
        patient_control_number: String,
        charge: Decimal,
        adjustments: Decimal,
        paid: Decimal,
    },
    /// A service line (1-based within its claim) likewise.
    Line {
        patient_control_number: String,
        line: usize,
        charge: Decimal,
        adjustments: Decimal,
        paid: Decimal,
    },
}

fn total(adjustments: &[Adjustment]) -> Decimal {
    adjustments.iter().map(|adjustment| adjustment.amount).sum()
}

impl Remittance {
    /// Every sum that does not come out; empty when the remittance balances.
    pub fn imbalances(&self) -> Vec<Imbalance> {
        let mut found = Vec::new();
        for claim in self.claims() {
            let line_adjustments: Decimal = claim.lines.iter().map(|line| total(&line.adjustments)).sum();
            let adjustments = total(&claim.adjustments) + line_adjustments;
            if claim.charge - adjustments != claim.paid {
                found.push(Imbalance::Claim {
                    patient_control_number: claim.patient_control_number.clone(),
                    charge: claim.charge,
                    adjustments,
                    paid: claim.paid,
                });
            }
            for (index, line) in claim.lines.iter().enumerate() {
                let adjustments = total(&line.adjustments);
                if line.charge - adjustments != line.paid {
                    found.push(Imbalance::Line {
                        patient_control_number: claim.patient_control_number.clone(),
                        line: index + 1,
                        charge: line.charge,
                        adjustments,
                        paid: line.paid,
                    });
                }
            }
        }
        let paid: Decimal = self.claims().map(|claim| claim.paid).sum();
        let withheld: Decimal = self.provider_adjustments.iter().map(|plb| plb.amount).sum();
        let computed = paid - withheld;
        let stated = match self.payment.credit_debit {
            super::CreditDebit::Credit => self.payment.amount,
            // A debit takes money back from the provider: the claims net negative.
            super::CreditDebit::Debit => -self.payment.amount,
        };
        if stated != computed {
            found.insert(0, Imbalance::Payment { stated, computed });
        }
        found
    }
}
