//! Dates of service: not in the future, and within the payer's filing window.

use super::{RuleInput, Sink};
use crate::billing::scrub::report::FindingCode;

pub(super) fn service_date_not_future(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        // A period of service must be over, not only begun.
        if line.last_day() > input.today {
            sink.report(
                line.date_path(index),
                FindingCode::ServiceDateInFuture,
                format!(
                    "Line {} is dated {}, after today ({}).",
                    line.sequence,
                    line.last_day(),
                    input.today
                ),
                "Bill a service once it has been performed; check the date for a typo.",
            );
        }
    }
}

/// Payers refuse claims filed more than their window of days after the service.
/// For a line with a period of service the window runs from its first day, as
/// Medicare counts a professional claim's span dates (Claims Processing Manual,
/// chapter 1, §70.1).
pub(super) fn timely_filing(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let window = i64::from(input.timely_filing_days);
    for (index, line) in input.claim.lines.iter().enumerate() {
        let age = (input.today - line.service_date).num_days();
        if age > window {
            sink.report(
                line.date_path(index),
                FindingCode::TimelyFilingExpired,
                format!(
                    "Line {} was performed {age} days ago ({}); the payer accepts claims for {window} days.",
                    line.sequence, line.service_date
                ),
                "File an appeal with proof of timely filing, or write the charge off.",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{run, RuleInput, Sink};
    use crate::billing::claim::DateSource;
    use crate::billing::scrub::report::{FindingCode, Severity};
    use crate::billing::scrub::rule_set::Rule;

    #[test]
    fn services_up_to_today_pass() {
        let mut claim = clean_claim();
        claim.lines[0].service_date = today();
        assert!(check(Rule::ServiceDateNotFuture, &claim).is_empty());
    }

    #[test]
    fn a_service_tomorrow_is_reported() {
        let mut claim = clean_claim();
        claim.lines[1].service_date = date("2026-03-03");
        assert_eq!(
            found(&check(Rule::ServiceDateNotFuture, &claim)),
            [(FindingCode::ServiceDateInFuture, "Claim.item[1].servicedDate")]
        );
    }

    #[test]
    fn a_period_of_service_ending_after_today_is_reported() {
        let mut claim = clean_claim();
        claim.lines[1].service_date = today();
        claim.lines[1].service_end = Some(date("2026-03-05"));
        claim.lines[1].date_source = DateSource::ServicedPeriod;
        assert_eq!(
            found(&check(Rule::ServiceDateNotFuture, &claim)),
            [(FindingCode::ServiceDateInFuture, "Claim.item[1].servicedPeriod")]
        );
    }

    #[test]
    fn the_filing_window_of_a_period_runs_from_its_first_day() {
        let mut claim = clean_claim();
        claim.lines[0].service_date = today() - chrono::Days::new(366);
        claim.lines[0].service_end = Some(today() - chrono::Days::new(300));
        claim.lines[0].date_source = DateSource::ServicedPeriod;
        assert_eq!(
            found(&check(Rule::TimelyFiling, &claim)),
            [(FindingCode::TimelyFilingExpired, "Claim.item[0].servicedPeriod")]
        );
    }

    #[test]
    fn a_service_on_the_last_day_of_the_window_passes() {
        let mut claim = clean_claim();
        claim.lines[0].service_date = today() - chrono::Days::new(365);
        assert!(check(Rule::TimelyFiling, &claim).is_empty());
    }

    #[test]
    fn a_service_a_day_past_the_window_is_reported() {
        let mut claim = clean_claim();
        claim.lines[2].service_date = today() - chrono::Days::new(366);
        assert_eq!(
            found(&check(Rule::TimelyFiling, &claim)),
            [(FindingCode::TimelyFilingExpired, "Claim.item[2].servicedDate")]
        );
    }

    #[test]
    fn the_window_is_the_payers() {
        let mut claim = clean_claim();
        claim.lines[0].service_date = today() - chrono::Days::new(91);
        let input = RuleInput {
            claim: &claim,
            today: today(),
            timely_filing_days: 90,
            duplicates: &NoEarlierClaims,
        };
        let mut findings = Vec::new();
        run(
            Rule::TimelyFiling,
            &input,
            &mut Sink::new(Rule::TimelyFiling, Severity::Error, &mut findings),
        );
        assert_eq!(
            found(&findings),
            [(FindingCode::TimelyFilingExpired, "Claim.item[0].servicedDate")]
        );
    }
}
