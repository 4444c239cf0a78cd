//! The patient's insurance: a member id to bill under, and a Coverage in force on
//! every date of service.

use chrono::NaiveDate;

use super::{RuleInput, Sink};
use crate::billing::scrub::report::FindingCode;

pub(super) fn member_id(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let member_id = input.claim.subscriber.member_id.as_deref();
    if member_id.is_none_or(|id| id.trim().is_empty()) {
        sink.report(
            "Coverage.subscriberId".into(),
            FindingCode::MemberIdMissing,
            "The coverage has no member id.".into(),
            "Add the member id from the patient's insurance card.",
        );
    }
}

pub(super) fn coverage_active(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let Some(coverage) = &input.claim.coverage else {
        sink.report(
            "Claim.insurance".into(),
            FindingCode::CoverageMissing,
            "The claim names no Coverage.".into(),
            "Link the patient's Coverage in Claim.insurance, or bill the patient directly.",
        );
        return;
    };
    if coverage.status != "active" {
        sink.report(
            "Coverage.status".into(),
            FindingCode::CoverageNotActive,
            format!("The coverage is {:?}, not active.", coverage.status),
            "Verify eligibility with the payer and update the Coverage, or bill the patient.",
        );
    }
    let covered = |date: NaiveDate| {
        coverage.period_start.is_none_or(|start| start <= date)
            && coverage.period_end.is_none_or(|end| date <= end)
    };
    for (index, line) in input.claim.lines.iter().enumerate() {
        // A period of service must be covered on its every day: on its first and last.
        let Some(date) = [line.service_date, line.last_day()]
            .into_iter()
            .find(|&day| !covered(day))
        else {
            continue;
        };
        let period = |day: Option<NaiveDate>| day.map_or("open".into(), |d| d.to_string());
        sink.report(
            line.date_path(index),
            FindingCode::CoverageNotInPeriod,
            format!(
                "Service date {date} is outside the coverage period {} to {}.",
                period(coverage.period_start),
                period(coverage.period_end)
            ),
            "Check the date of service, or find the coverage in force on that date.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::billing::claim::DateSource;
    use crate::billing::scrub::report::FindingCode;
    use crate::billing::scrub::rule_set::Rule;

    #[test]
    fn a_member_id_is_required() {
        let mut claim = clean_claim();
        assert!(check(Rule::MemberId, &claim).is_empty());
        for missing in [None, Some("  ".to_owned())] {
            claim.subscriber.member_id = missing;
            assert_eq!(
                found(&check(Rule::MemberId, &claim)),
                [(FindingCode::MemberIdMissing, "Coverage.subscriberId")]
            );
        }
    }

    #[test]
    fn active_coverage_spanning_every_date_passes() {
        let mut claim = clean_claim();
        assert!(check(Rule::CoverageActive, &claim).is_empty());
        // Open-ended periods and service on the first and last days are covered.
        let coverage = claim.coverage.as_mut().expect("coverage");
        coverage.period_start = Some(date("2026-02-20"));
        coverage.period_end = None;
        assert!(check(Rule::CoverageActive, &claim).is_empty());
        let coverage = claim.coverage.as_mut().expect("coverage");
        coverage.period_start = None;
        coverage.period_end = Some(date("2026-02-20"));
        assert!(check(Rule::CoverageActive, &claim).is_empty());
    }

    #[test]
    fn cancelled_coverage_is_not_active() {
        let mut claim = clean_claim();
        claim.coverage.as_mut().expect("coverage").status = "cancelled".into();
        assert_eq!(
            found(&check(Rule::CoverageActive, &claim)),
            [(FindingCode::CoverageNotActive, "Coverage.status")]
        );
    }

    #[test]
    fn each_line_outside_the_period_is_reported() {
        let mut claim = clean_claim();
        claim.lines[2].service_date = date("2025-12-31");
        claim.coverage.as_mut().expect("coverage").period_end = Some(date("2026-02-19"));
        let findings = check(Rule::CoverageActive, &claim);
        assert_eq!(
            found(&findings),
            [
                (FindingCode::CoverageNotInPeriod, "Claim.item[0].servicedDate"),
                (FindingCode::CoverageNotInPeriod, "Claim.item[1].servicedDate"),
                (FindingCode::CoverageNotInPeriod, "Claim.item[2].servicedDate"),
            ]
        );
        assert!(
            findings[2].message.contains("2025-12-31"),
            "{}",
            findings[2].message
        );
    }

    #[test]
    fn a_period_of_service_must_be_covered_to_its_last_day() {
        let mut claim = clean_claim();
        claim.coverage.as_mut().expect("coverage").period_end = Some(date("2026-02-25"));
        claim.lines[1].service_end = Some(date("2026-02-25"));
        claim.lines[1].date_source = DateSource::ServicedPeriod;
        assert!(check(Rule::CoverageActive, &claim).is_empty());
        claim.lines[1].service_end = Some(date("2026-02-26"));
        let findings = check(Rule::CoverageActive, &claim);
        assert_eq!(
            found(&findings),
            [(FindingCode::CoverageNotInPeriod, "Claim.item[1].servicedPeriod")]
        );
        assert!(
            findings[0].message.contains("2026-02-26"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_claim_without_coverage_is_reported() {
        let mut claim = clean_claim();
        claim.coverage = None;
        assert_eq!(
            found(&check(Rule::CoverageActive, &claim)),
            [(FindingCode::CoverageMissing, "Claim.insurance")]
        );
    }
}
