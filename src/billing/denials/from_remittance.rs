//! The denials in a payer's answer for one claim (an 835 CLP): one per reason code
//! (CAS group and CARC, claim level and line level together), with the remark codes
//! that came with it. Adjustments every adjudicated claim carries — cost sharing
//! and the fee schedule's write-down — explain the amounts, not the denial, so they
//! are left out unless nothing else explains it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{AdjustmentGroup, Carc, Denial, Rarc};
use crate::x12::remittance::{Adjustment, ClaimPayment};

/// Deductible (1), coinsurance (2), co-payment (3), charge above the fee schedule
/// (45) and sequestration (253): present on paid claims too.
const ROUTINE_CARCS: &[&str] = &["1", "2", "3", "45", "253"];

/// The denials of `payment`, the largest amount first. Empty when the payer gave
/// no readable reason code.
pub fn denials_of(payment: &ClaimPayment, payer_id: &str) -> Vec<Denial> {
    let claim_level = payment
        .adjustments
        .iter()
        .map(|adjustment| (adjustment, payment.remark_codes.as_slice()));
    let line_level = payment.lines.iter().flat_map(|line| {
        line.adjustments
            .iter()
            .map(|adjustment| (adjustment, line.remark_codes.as_slice()))
    });
    let all: Vec<(&Adjustment, &[String])> = claim_level.chain(line_level).collect();
    let telling: Vec<_> = all
        .iter()
        .copied()
        .filter(|(adjustment, _)| !ROUTINE_CARCS.contains(&adjustment.reason.as_str()))
        .collect();
    let chosen = if telling.is_empty() { all } else { telling };

    let mut by_code: BTreeMap<(&'static str, &str), Denial> = BTreeMap::new();
    for (adjustment, line_remarks) in chosen {
        let Ok(carc) = Carc::parse(&adjustment.reason) else {
            continue;
        };
        let denial = by_code
            .entry((adjustment.group.code(), adjustment.reason.as_str()))
            .or_insert_with(|| Denial {
                group: adjustment.group,
                carc,
                rarcs: Vec::new(),
                payer_id: Some(payer_id.to_owned()),
                amount: Some(Decimal::ZERO),
                text: None,
            });
        denial.amount = Some(denial.amount.unwrap_or_default() + adjustment.amount);
        let remarks = payment.remark_codes.iter().chain(line_remarks);
        for remark in remarks.filter_map(|code| Rarc::parse(code).ok()) {
            if !denial.rarcs.contains(&remark) {
                denial.rarcs.push(remark);
            }
        }
    }
    let mut denials: Vec<Denial> = by_code.into_values().collect();
    denials.sort_by_key(|denial| std::cmp::Reverse(denial.amount));
    denials
}

/// `CO-197`: how billers write a denial.
pub fn denial_code(group: AdjustmentGroup, carc: &Carc) -> String {
    format!("{}-{}", group.code(), carc.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(text: &str) -> ClaimPayment {
        crate::x12::read_835(text).expect("835")[0]
            .claims()
            .next()
            .expect("a claim")
            .clone()
    }

    const DENIED: &str = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *240301*1200*^*00501*000000001*0*P*:~
GS*HP*PAYER*PROVIDER*20240301*1200*1*X*005010X221A1~
ST*835*0001~
BPR*H*0*C*NON************20240305~
TRN*1*CHK0001*1234567890~
N1*PR*ACME HEALTH PLAN~
N1*PE*BRIGHT CLINIC*XX*1234567893~
LX*1~
CLP*CB1*4*300*0*40*12*ICN0001~
CAS*CO*197*200~
MOA***N54~
SVC*HC:99213*200*0**1~
CAS*PR*3*40~
SVC*HC:93000*100*0**1~
CAS*CO*197*60**16*40~
LQ*HE*N290~
SE*15*0001~
GE*1*1~
IEA*1*000000001~
";

    #[test]
    fn reasons_are_summed_per_code_with_their_remarks_and_routine_ones_left_out() {
        let denials = denials_of(&payment(DENIED), "60054");
        let codes: Vec<(String, Option<Decimal>)> = denials
            .iter()
            .map(|d| (denial_code(d.group, &d.carc), d.amount))
            .collect();
        assert_eq!(
            codes,
            [
                ("CO-197".to_owned(), Some(Decimal::new(260, 0))),
                ("CO-16".to_owned(), Some(Decimal::new(40, 0))),
            ]
        );
        let remarks: Vec<&str> = denials[0].rarcs.iter().map(Rarc::as_str).collect();
        assert_eq!(remarks, ["N54", "N290"]);
        let remarks: Vec<&str> = denials[1].rarcs.iter().map(Rarc::as_str).collect();
        assert_eq!(remarks, ["N54", "N290"]);
        assert_eq!(denials[0].payer_id.as_deref(), Some("60054"));
    }

    #[test]
    fn routine_reasons_are_kept_when_nothing_else_explains_the_denial() {
        let text = DENIED
            .replace("CAS*CO*197*200~", "CAS*CO*45*200~")
            .replace("CAS*CO*197*60**16*40~", "CAS*CO*45*100~");
        let codes: Vec<String> = denials_of(&payment(&text), "60054")
            .iter()
            .map(|d| denial_code(d.group, &d.carc))
            .collect();
        assert_eq!(codes, ["CO-45", "PR-3"]);
    }
}
