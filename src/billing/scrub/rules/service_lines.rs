//! Where, how many, and how much: place of service, units, charges and the total.

use rust_decimal::Decimal;

use super::{RuleInput, Sink};
use crate::billing::codes::place_of_service;
use crate::billing::scrub::report::FindingCode;

/// A line's place of service is its own, or else the claim's; each is checked where
/// it is written, and a line with neither is reported.
pub(super) fn place_of_service(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let claim = input.claim;
    if let Some(code) = claim.place_of_service.as_deref() {
        if !place_of_service::is_valid(code) {
            report_unknown(code, "Claim.facility".into(), sink);
        }
    }
    for (index, line) in claim.lines.iter().enumerate() {
        match line.place_of_service.as_deref() {
            Some(code) if !place_of_service::is_valid(code) => {
                report_unknown(code, format!("Claim.item[{index}].locationCodeableConcept"), sink);
            }
            None if claim.place_of_service.is_none() => sink.report(
                format!("Claim.item[{index}].locationCodeableConcept"),
                FindingCode::PlaceOfServiceMissing,
                format!("Line {} has no place of service.", line.sequence),
                "Give the claim (or the line) a place of service code, e.g. 11 for an office.",
            ),
            _ => {}
        }
    }
}

fn report_unknown(code: &str, path: String, sink: &mut Sink<'_>) {
    sink.report(
        path,
        FindingCode::PlaceOfServiceUnknown,
        format!("{code:?} is not a place of service code."),
        "Use a two-digit CMS place of service code, e.g. 11 for an office.",
    );
}

pub(super) fn units_positive(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        if line.units <= Decimal::ZERO {
            sink.report(
                format!("Claim.item[{index}].quantity"),
                FindingCode::UnitsNotPositive,
                format!("Line {} has {} units.", line.sequence, line.units),
                "Bill at least one unit; remove a line for a service not performed.",
            );
        }
    }
}

pub(super) fn charges_positive(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        if line.charge <= Decimal::ZERO {
            sink.report(
                format!("Claim.item[{index}].net"),
                FindingCode::ChargeNotPositive,
                format!("Line {} charges {}.", line.sequence, line.charge),
                "Charge the practice's fee for the service; payers reject zero-charge lines.",
            );
        }
    }
}

pub(super) fn total_matches_lines(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let claim = input.claim;
    // Checked: Decimal's `Sum` panics on overflow, and charges are input.
    let sum = claim
        .lines
        .iter()
        .try_fold(Decimal::ZERO, |sum, line| sum.checked_add(line.charge));
    let Some(sum) = sum else {
        sink.report(
            "Claim.total".into(),
            FindingCode::TotalMismatch,
            "The line charges are too large to add up.".into(),
            "Correct the line charges.",
        );
        return;
    };
    if claim.total_charge != sum {
        sink.report(
            "Claim.total".into(),
            FindingCode::TotalMismatch,
            format!(
                "The claim total {} is not the sum of the line charges, {sum}.",
                claim.total_charge
            ),
            format!("Set the total to {sum}, or correct the line charges."),
        );
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::super::testing::*;
    use crate::billing::scrub::report::FindingCode;
    use crate::billing::scrub::rule_set::Rule;

    #[test]
    fn a_valid_claim_or_line_place_of_service_passes() {
        let mut claim = clean_claim();
        assert!(check(Rule::PlaceOfService, &claim).is_empty());
        claim.place_of_service = None;
        for line in &mut claim.lines {
            line.place_of_service = Some("22".into());
        }
        assert!(check(Rule::PlaceOfService, &claim).is_empty());
    }

    #[test]
    fn unknown_places_are_reported_where_written() {
        let mut claim = clean_claim();
        claim.place_of_service = Some("1".into());
        claim.lines[2].place_of_service = Some("35".into());
        assert_eq!(
            found(&check(Rule::PlaceOfService, &claim)),
            [
                (FindingCode::PlaceOfServiceUnknown, "Claim.facility"),
                (
                    FindingCode::PlaceOfServiceUnknown,
                    "Claim.item[2].locationCodeableConcept"
                ),
            ]
        );
    }

    #[test]
    fn a_line_with_no_place_of_service_anywhere_is_reported() {
        let mut claim = clean_claim();
        claim.place_of_service = None;
        claim.lines[0].place_of_service = Some("11".into());
        claim.lines[1].place_of_service = Some("11".into());
        assert_eq!(
            found(&check(Rule::PlaceOfService, &claim)),
            [(
                FindingCode::PlaceOfServiceMissing,
                "Claim.item[2].locationCodeableConcept"
            )]
        );
    }

    #[test]
    fn positive_units_and_charges_pass() {
        let claim = clean_claim();
        assert!(check(Rule::UnitsPositive, &claim).is_empty());
        assert!(check(Rule::ChargesPositive, &claim).is_empty());
    }

    #[test]
    fn zero_or_negative_units_and_charges_are_reported() {
        let mut claim = clean_claim();
        claim.lines[0].units = Decimal::ZERO;
        claim.lines[2].units = money("-1");
        claim.lines[1].charge = Decimal::ZERO;
        assert_eq!(
            found(&check(Rule::UnitsPositive, &claim)),
            [
                (FindingCode::UnitsNotPositive, "Claim.item[0].quantity"),
                (FindingCode::UnitsNotPositive, "Claim.item[2].quantity"),
            ]
        );
        assert_eq!(
            found(&check(Rule::ChargesPositive, &claim)),
            [(FindingCode::ChargeNotPositive, "Claim.item[1].net")]
        );
    }

    #[test]
    fn a_total_equal_to_the_line_sum_passes_whatever_its_scale() {
        let mut claim = clean_claim();
        assert!(check(Rule::TotalMatchesLines, &claim).is_empty());
        claim.total_charge = money("202.5");
        assert!(check(Rule::TotalMatchesLines, &claim).is_empty());
    }

    #[test]
    fn a_total_off_by_a_cent_is_reported() {
        let mut claim = clean_claim();
        claim.total_charge = money("202.51");
        let findings = check(Rule::TotalMatchesLines, &claim);
        assert_eq!(found(&findings), [(FindingCode::TotalMismatch, "Claim.total")]);
        assert!(
            findings[0].suggestion.contains("202.50"),
            "{}",
            findings[0].suggestion
        );
    }

    #[test]
    fn charges_too_large_to_add_are_reported_not_a_panic() {
        let mut claim = clean_claim();
        claim.lines[0].charge = Decimal::MAX;
        claim.lines[1].charge = Decimal::MAX;
        assert_eq!(
            found(&check(Rule::TotalMatchesLines, &claim)),
            [(FindingCode::TotalMismatch, "Claim.total")]
        );
    }
}
