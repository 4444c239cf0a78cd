//! What posting one remittance did, as the API answers it. The report is stored
//! with the remittance: posting the same payment again answers with it unchanged
//! (but for `duplicate`), so a client retrying a post learns what the first did.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::billing::denied::DenialOutcome;
use crate::billing::remittance::money::decimal_json;
use crate::x12::remittance::{Imbalance, ProviderAdjustment};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemittanceReport {
    pub remittance_id: i64,
    /// TRN02.
    pub trace_number: String,
    pub payer: PayerView,
    /// BPR02, negative for a debit.
    #[serde(with = "decimal_json")]
    pub payment_amount: Decimal,
    /// BPR16.
    pub payment_date: Option<NaiveDate>,
    /// True when this payment was posted before and nothing was done now.
    pub duplicate: bool,
    pub posted: Vec<PostedClaim>,
    pub unmatched: Vec<UnmatchedPayment>,
    pub provider_adjustments: Vec<ProviderAdjustmentView>,
    /// Sums in the 835 that do not come out; posted as the payer stated them.
    pub imbalances: Vec<ImbalanceView>,
    /// Faults the reader read around.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayerView {
    /// The id the remittance is known by with its trace number.
    pub id: String,
    pub name: String,
}

/// A claim payment posted to a claim here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedClaim {
    pub claim_id: String,
    pub claim_response_id: String,
    #[serde(with = "decimal_json")]
    pub paid: Decimal,
    #[serde(with = "decimal_json")]
    pub patient_responsibility: Decimal,
    /// The claim's billing state after posting.
    pub state: String,
    /// Why the state did not move where the payer's answer pointed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_not_moved: Option<String>,
    /// The denial recorded when the payer denied the claim, and what its playbook did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial: Option<DenialOutcome>,
}

/// A claim payment that matched no claim (kept in the unmatched list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmatchedPayment {
    pub patient_control_number: String,
    #[serde(with = "decimal_json")]
    pub paid: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderAdjustmentView {
    pub provider_id: String,
    pub reason: String,
    pub reference: Option<String>,
    /// Positive reduces the payment, negative adds to it.
    #[serde(with = "decimal_json")]
    pub amount: Decimal,
}

impl From<&ProviderAdjustment> for ProviderAdjustmentView {
    fn from(plb: &ProviderAdjustment) -> Self {
        ProviderAdjustmentView {
            provider_id: plb.provider_id.clone(),
            reason: plb.reason.clone(),
            reference: plb.reference.clone(),
            amount: plb.amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ImbalanceView {
    #[serde(rename_all = "camelCase")]
    Payment {
        #[serde(with = "decimal_json")]
        stated: Decimal,
        #[serde(with = "decimal_json")]
        computed: Decimal,
    },
    #[serde(rename_all = "camelCase")]
    Claim {
        patient_control_number: String,
        #[serde(with = "decimal_json")]
        charge: Decimal,
        #[serde(with = "decimal_json")]
        adjustments: Decimal,
        #[serde(with = "decimal_json")]
        paid: Decimal,
    },
    #[serde(rename_all = "camelCase")]
    Line {
        patient_control_number: String,
        line: usize,
        #[serde(with = "decimal_json")]
        charge: Decimal,
        #[serde(with = "decimal_json")]
        adjustments: Decimal,
        #[serde(with = "decimal_json")]
        paid: Decimal,
    },
}

impl From<Imbalance> for ImbalanceView {
    fn from(imbalance: Imbalance) -> Self {
        match imbalance {
            Imbalance::Payment { stated, computed } => ImbalanceView::Payment { stated, computed },
            Imbalance::Claim {
                patient_control_number,
                charge,
                adjustments,
                paid,
            } => ImbalanceView::Claim {
                patient_control_number,
                charge,
                adjustments,
                paid,
            },
            Imbalance::Line {
                patient_control_number,
                line,
                charge,
                adjustments,
                paid,
            } => ImbalanceView::Line {
                patient_control_number,
                line,
                charge,
                adjustments,
                paid,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_report_reads_back_the_same() {
        let report = RemittanceReport {
            remittance_id: 7,
            trace_number: "12345".into(),
            payer: PayerView {
                id: "999".into(),
                name: "PAYER".into(),
            },
            payment_amount: Decimal::new(15000000, 2),
            payment_date: NaiveDate::from_ymd_opt(2002, 9, 13),
            duplicate: false,
            posted: vec![PostedClaim {
                claim_id: "c1".into(),
                claim_response_id: "r1".into(),
                paid: Decimal::new(45000, 2),
                patient_responsibility: Decimal::new(30000, 2),
                state: "partially_paid".into(),
                state_not_moved: None,
                denial: None,
            }],
            unmatched: vec![],
            provider_adjustments: vec![],
            imbalances: vec![ImbalanceView::Payment {
                stated: Decimal::new(100, 2),
                computed: Decimal::new(-127, 2),
            }],
            problems: vec![],
        };
        let text = serde_json::to_string(&report).unwrap();
        assert!(text.contains(r#""paymentAmount":150000.00"#), "{text}");
        assert!(text.contains(r#""kind":"payment","stated":1.00"#), "{text}");
        assert!(!text.contains("stateNotMoved"), "{text}");
        let back: RemittanceReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
    }
}
