//! Claim scrubbing: checking a claim against payers' rules before it is sent, so a
//! problem is fixed in minutes rather than found in a denial weeks later.
//!
//! The checks are code (one module per part of the claim); whether each runs, how severe its findings are,
//! and how payers differ are data ([`RuleSet`], from `data/scrub-rules.json` or an
//! operator's file). Scrubbing reads no clock and no database: today's date and the
//! duplicate lookup come in through [`ScrubContext`], which keeps it deterministic
//! and fast enough to run on every claim.

use chrono::NaiveDate;

use crate::billing::claim::BillingClaim;

mod duplicate;
mod report;
mod rule_set;
mod rules;

pub use duplicate::{BilledService, DuplicateCheck};
pub use report::{Finding, FindingCode, ScrubReport, Severity};
pub use rule_set::{Profile, Rule, RuleSet, RuleSetError, RuleSettings};

/// What scrubbing needs from outside the claim.
pub struct ScrubContext<'a> {
    /// The day the claim is being prepared: dates of service after it are in the
    /// future, and timely filing counts up to it.
    pub today: NaiveDate,
    pub duplicates: &'a dyn DuplicateCheck,
}

/// Checks `claim` against every rule enabled for its payer.
pub fn scrub(claim: &BillingClaim, rule_set: &RuleSet, context: &ScrubContext<'_>) -> ScrubReport {
    let profile = rule_set.for_payer(&claim.payer.payer_id);
    let input = rules::RuleInput {
        claim,
        today: context.today,
        timely_filing_days: profile.timely_filing_days(),
        duplicates: context.duplicates,
    };
    let mut findings = Vec::new();
    for rule in Rule::ALL {
        let settings = profile.settings(rule);
        if settings.enabled {
            rules::run(
                rule,
                &input,
                &mut rules::Sink::new(rule, settings.severity, &mut findings),
            );
        }
    }
    ScrubReport::new(findings)
}

#[cfg(test)]
mod tests {
    use super::rules::testing::*;
    use super::*;

    fn context() -> ScrubContext<'static> {
        ScrubContext {
            today: today(),
            duplicates: &NoEarlierClaims,
        }
    }

    #[test]
    fn a_typical_claim_is_clean() {
        let report = scrub(&clean_claim(), &RuleSet::default(), &context());
        assert_eq!(report.findings, []);
        assert!(report.clean_claim);
    }

    #[test]
    fn findings_come_in_rule_order_with_their_configured_severity() {
        let mut claim = clean_claim();
        claim.billing_provider.npi = Some("1234567890".into());
        claim.lines[2].code = "J0000".into();
        claim.total_charge = money("1.00");
        let report = scrub(&claim, &RuleSet::default(), &context());
        let summary: Vec<(&str, Severity, FindingCode)> = report
            .findings
            .iter()
            .map(|f| (f.rule_id, f.severity, f.code))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "billing-provider-npi",
                    Severity::Error,
                    FindingCode::NpiCheckDigit
                ),
                ("hcpcs-code-exists", Severity::Warning, FindingCode::HcpcsUnknown),
                ("total-matches-lines", Severity::Error, FindingCode::TotalMismatch),
            ]
        );
        assert!(!report.clean_claim);
    }

    #[test]
    fn warnings_alone_leave_the_claim_clean() {
        let mut claim = clean_claim();
        claim.lines[2].code = "J0000".into();
        let report = scrub(&claim, &RuleSet::default(), &context());
        assert_eq!(report.findings.len(), 1);
        assert!(report.clean_claim);
    }

    /// The shipped rules, with overrides for one payer added to one rule.
    fn rules_with(rule_id: &str, payers: &str) -> RuleSet {
        let mut file: serde_json::Value =
            serde_json::from_str(include_str!("../../../data/scrub-rules.json")).expect("rule file");
        let rules = file["rules"].as_array_mut().expect("rules");
        let entry = rules
            .iter_mut()
            .find(|r| r["id"] == rule_id)
            .expect("rule listed");
        entry["payers"] = serde_json::from_str(payers).expect("payers");
        RuleSet::from_json(&file.to_string()).expect("valid rules")
    }

    #[test]
    fn a_rule_disabled_for_the_payer_does_not_run() {
        let mut claim = clean_claim();
        claim.subscriber.member_id = None;
        let rules = rules_with("member-id", r#"{"87726": {"enabled": false}}"#);
        assert!(scrub(&claim, &rules, &context()).findings.is_empty());
        claim.payer.payer_id = "60054".into();
        let report = scrub(&claim, &rules, &context());
        assert_eq!(report.findings[0].code, FindingCode::MemberIdMissing);
    }

    #[test]
    fn a_payer_can_demote_a_rule_to_a_warning_and_shorten_timely_filing() {
        let mut claim = clean_claim();
        claim.lines[0].service_date = date("2025-11-01");
        claim.coverage.as_mut().expect("coverage").period_start = None;
        let rules = rules_with(
            "timely-filing",
            r#"{"87726": {"days": 90, "severity": "warning"}}"#,
        );
        let report = scrub(&claim, &rules, &context());
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].code, FindingCode::TimelyFilingExpired);
        assert_eq!(report.findings[0].severity, Severity::Warning);
        assert!(report.clean_claim);
    }

    #[test]
    fn rules_and_their_runner_agree_on_order() {
        for (index, rule) in Rule::ALL.into_iter().enumerate() {
            assert_eq!(rule as usize, index, "{}", rule.id());
        }
    }
}
