//! The checks themselves, one module per part of the claim. Each rule is a function
//! that reads the claim and reports through a [`Sink`]; the sink stamps the rule's id
//! and severity, so a rule knows nothing of configuration. Rules build their strings
//! only when something is wrong: a clean claim allocates nothing here.

use chrono::NaiveDate;

use super::duplicate::DuplicateCheck;
use super::report::{Finding, FindingCode, Severity};
use super::rule_set::Rule;
use crate::billing::claim::BillingClaim;

mod coverage;
mod dates;
mod diagnoses;
mod duplicate;
mod procedures;
mod providers;
mod service_lines;

/// What a rule may read.
pub(super) struct RuleInput<'a> {
    pub claim: &'a BillingClaim,
    pub today: NaiveDate,
    pub timely_filing_days: u32,
    pub duplicates: &'a dyn DuplicateCheck,
}

/// Where a rule reports what it found.
pub(super) struct Sink<'a> {
    rule: Rule,
    severity: Severity,
    findings: &'a mut Vec<Finding>,
}

impl<'a> Sink<'a> {
    pub fn new(rule: Rule, severity: Severity, findings: &'a mut Vec<Finding>) -> Self {
        Sink {
            rule,
            severity,
            findings,
        }
    }

    fn report(&mut self, path: String, code: FindingCode, message: String, suggestion: impl Into<String>) {
        self.findings.push(Finding {
            rule_id: self.rule.id(),
            severity: self.severity,
            path,
            code,
            message,
            suggestion: suggestion.into(),
        });
    }
}

/// Runs `rule` on the claim.
pub(super) fn run(rule: Rule, input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let check = match rule {
        Rule::BillingProviderNpi => providers::billing_provider_npi,
        Rule::RenderingProviderNpi => providers::rendering_provider_npi,
        Rule::BillingProviderTaxId => providers::billing_provider_tax_id,
        Rule::MemberId => coverage::member_id,
        Rule::CoverageActive => coverage::coverage_active,
        Rule::DiagnosisCount => diagnoses::diagnosis_count,
        Rule::DiagnosisCodes => diagnoses::diagnosis_codes,
        Rule::ProcedureCodeFormat => procedures::procedure_code_format,
        Rule::HcpcsCodeExists => procedures::hcpcs_code_exists,
        Rule::ModifierValid => procedures::modifier_valid,
        Rule::Modifier25WithEm => procedures::modifier_25_with_em,
        Rule::DiagnosisPointers => diagnoses::diagnosis_pointers,
        Rule::PlaceOfService => service_lines::place_of_service,
        Rule::UnitsPositive => service_lines::units_positive,
        Rule::ChargesPositive => service_lines::charges_positive,
        Rule::TotalMatchesLines => service_lines::total_matches_lines,
        Rule::ServiceDateNotFuture => dates::service_date_not_future,
        Rule::TimelyFiling => dates::timely_filing,
        Rule::DuplicateClaim => duplicate::duplicate_claim,
    };
    check(input, sink);
}

/// Claims and inputs for the rules' unit tests.
#[cfg(test)]
pub(super) mod testing {
    use std::str::FromStr;

    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use super::super::duplicate::{BilledService, DuplicateCheck};
    use super::{run, RuleInput, Sink};
    use crate::billing::claim::*;
    use crate::billing::scrub::report::{Finding, FindingCode, Severity};
    use crate::billing::scrub::rule_set::Rule;

    pub fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
    }

    pub fn money(text: &str) -> Decimal {
        Decimal::from_str(text).expect("a test amount")
    }

    /// The day the tests scrub on.
    pub fn today() -> NaiveDate {
        date("2026-03-02")
    }

    fn line(sequence: u32, code: &str, charge: &str, pointers: &[u32]) -> ServiceLine {
        ServiceLine {
            sequence,
            code: code.into(),
            modifiers: vec![],
            units: Decimal::ONE,
            charge: money(charge),
            service_date: date("2026-02-20"),
            service_end: None,
            date_source: DateSource::ServicedDate,
            diagnosis_pointers: pointers.to_vec(),
            place_of_service: None,
        }
    }

    /// A claim that passes every rule: an office visit with an injection, three lines
    /// and four diagnoses.
    pub fn clean_claim() -> BillingClaim {
        BillingClaim {
            claim_id: "claim-1".into(),
            patient_id: "patient-1".into(),
            created: date("2026-02-21"),
            patient: Person {
                family: "Doe".into(),
                given: vec!["Jane".into()],
                birth_date: Some(date("1970-01-01")),
                gender: Some("female".into()),
                address: None,
            },
            subscriber: Subscriber {
                member_id: Some("XYZ123456789".into()),
                group_number: Some("G-100".into()),
                relationship: "18".into(),
                person: None,
            },
            payer: Payer {
                payer_id: "87726".into(),
                name: "Example Health Plan".into(),
                organization_id: Some("org-payer".into()),
            },
            coverage: Some(CoverageTerms {
                status: "active".into(),
                period_start: Some(date("2026-01-01")),
                period_end: Some(date("2026-12-31")),
                copay: Some(money("25.00")),
                coinsurance: Some(money("0.2")),
            }),
            billing_provider: Provider {
                npi: Some("1234567893".into()),
                tax_id: Some("12-3456789".into()),
                name: "Example Clinic".into(),
                ..Provider::default()
            },
            rendering_provider: Some(Provider {
                npi: Some("1245319599".into()),
                name: "Smith".into(),
                given: Some("Ann".into()),
                is_person: true,
                ..Provider::default()
            }),
            place_of_service: Some("11".into()),
            diagnoses: vec!["E119".into(), "I10".into(), "E785".into(), "Z7984".into()],
            diagnosis_elements: vec![],
            lines: vec![
                ServiceLine {
                    modifiers: vec!["25".into()],
                    ..line(1, "99214", "150.00", &[1, 2, 3, 4])
                },
                line(2, "96372", "40.00", &[1]),
                ServiceLine {
                    units: Decimal::from(10),
                    ..line(3, "J3420", "12.50", &[1])
                },
            ],
            total_charge: money("202.50"),
            original_reference: None,
        }
    }

    /// Knows no earlier claims.
    pub struct NoEarlierClaims;

    impl DuplicateCheck for NoEarlierClaims {
        fn earlier_claim(&self, _service: &BilledService<'_>) -> Option<String> {
            None
        }
    }

    /// Runs one rule as an error-severity rule with the default timely-filing window.
    pub fn check_with(rule: Rule, claim: &BillingClaim, duplicates: &dyn DuplicateCheck) -> Vec<Finding> {
        let input = RuleInput {
            claim,
            today: today(),
            timely_filing_days: 365,
            duplicates,
        };
        let mut findings = Vec::new();
        run(rule, &input, &mut Sink::new(rule, Severity::Error, &mut findings));
        findings
    }

    pub fn check(rule: Rule, claim: &BillingClaim) -> Vec<Finding> {
        check_with(rule, claim, &NoEarlierClaims)
    }

    /// The (code, path) of each finding, for compact assertions.
    pub fn found(findings: &[Finding]) -> Vec<(FindingCode, &str)> {
        findings.iter().map(|f| (f.code, f.path.as_str())).collect()
    }
}
