//! What scrubbing found, and the same as a FHIR OperationOutcome for API callers.

use serde::Deserialize;
use serde_json::{json, Value};

/// How bad a finding is: an error stops the claim, a warning is for a person to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A short stable code for each kind of problem, for programs and work queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingCode {
    NpiMissing,
    NpiFormat,
    NpiCheckDigit,
    TaxIdMissing,
    TaxIdFormat,
    MemberIdMissing,
    CoverageMissing,
    CoverageNotActive,
    CoverageNotInPeriod,
    DiagnosisMissing,
    DiagnosisTooMany,
    DiagnosisUnknown,
    DiagnosisNotBillable,
    ProcedureCodeFormat,
    HcpcsUnknown,
    ModifierUnknown,
    ModifierTooMany,
    Modifier25WithoutEm,
    PointerMissing,
    PointerTooMany,
    PointerOutOfRange,
    PointerNoDiagnosis,
    PlaceOfServiceMissing,
    PlaceOfServiceUnknown,
    UnitsNotPositive,
    ChargeNotPositive,
    TotalMismatch,
    ServiceDateInFuture,
    TimelyFilingExpired,
    DuplicateService,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::NpiMissing => "NPI_MISSING",
            FindingCode::NpiFormat => "NPI_FORMAT",
            FindingCode::NpiCheckDigit => "NPI_CHECK_DIGIT",
            FindingCode::TaxIdMissing => "TAX_ID_MISSING",
            FindingCode::TaxIdFormat => "TAX_ID_FORMAT",
            FindingCode::MemberIdMissing => "MEMBER_ID_MISSING",
            FindingCode::CoverageMissing => "COVERAGE_MISSING",
            FindingCode::CoverageNotActive => "COVERAGE_NOT_ACTIVE",
            FindingCode::CoverageNotInPeriod => "COVERAGE_NOT_IN_PERIOD",
            FindingCode::DiagnosisMissing => "DIAGNOSIS_MISSING",
            FindingCode::DiagnosisTooMany => "DIAGNOSIS_TOO_MANY",
            FindingCode::DiagnosisUnknown => "DIAGNOSIS_UNKNOWN",
            FindingCode::DiagnosisNotBillable => "DIAGNOSIS_NOT_BILLABLE",
            FindingCode::ProcedureCodeFormat => "PROCEDURE_CODE_FORMAT",
            FindingCode::HcpcsUnknown => "HCPCS_UNKNOWN",
            FindingCode::ModifierUnknown => "MODIFIER_UNKNOWN",
            FindingCode::ModifierTooMany => "MODIFIER_TOO_MANY",
            FindingCode::Modifier25WithoutEm => "MODIFIER_25_WITHOUT_EM",
            FindingCode::PointerMissing => "DIAGNOSIS_POINTER_MISSING",
            FindingCode::PointerTooMany => "DIAGNOSIS_POINTER_TOO_MANY",
            FindingCode::PointerOutOfRange => "DIAGNOSIS_POINTER_OUT_OF_RANGE",
            FindingCode::PointerNoDiagnosis => "DIAGNOSIS_POINTER_NO_DIAGNOSIS",
            FindingCode::PlaceOfServiceMissing => "PLACE_OF_SERVICE_MISSING",
            FindingCode::PlaceOfServiceUnknown => "PLACE_OF_SERVICE_UNKNOWN",
            FindingCode::UnitsNotPositive => "UNITS_NOT_POSITIVE",
            FindingCode::ChargeNotPositive => "CHARGE_NOT_POSITIVE",
            FindingCode::TotalMismatch => "TOTAL_MISMATCH",
            FindingCode::ServiceDateInFuture => "SERVICE_DATE_IN_FUTURE",
            FindingCode::TimelyFilingExpired => "TIMELY_FILING_EXPIRED",
            FindingCode::DuplicateService => "DUPLICATE_SERVICE",
        }
    }

    /// The FHIR issue type (http://hl7.org/fhir/valueset-issue-type.html): something
    /// absent is `required`, something malformed or unknown `invalid`, and the rest
    /// break a payer's business rules.
    fn issue_type(self) -> &'static str {
        match self {
            FindingCode::NpiMissing
            | FindingCode::TaxIdMissing
            | FindingCode::MemberIdMissing
            | FindingCode::CoverageMissing
            | FindingCode::DiagnosisMissing
            | FindingCode::PointerMissing
            | FindingCode::PlaceOfServiceMissing => "required",
            FindingCode::NpiFormat
            | FindingCode::NpiCheckDigit
            | FindingCode::TaxIdFormat
            | FindingCode::DiagnosisUnknown
            | FindingCode::ProcedureCodeFormat
            | FindingCode::HcpcsUnknown
            | FindingCode::ModifierUnknown
            | FindingCode::PointerOutOfRange
            | FindingCode::PlaceOfServiceUnknown => "invalid",
            FindingCode::CoverageNotActive
            | FindingCode::CoverageNotInPeriod
            | FindingCode::DiagnosisTooMany
            | FindingCode::DiagnosisNotBillable
            | FindingCode::ModifierTooMany
            | FindingCode::Modifier25WithoutEm
            | FindingCode::PointerTooMany
            | FindingCode::PointerNoDiagnosis
            | FindingCode::UnitsNotPositive
            | FindingCode::ChargeNotPositive
            | FindingCode::TotalMismatch
            | FindingCode::ServiceDateInFuture
            | FindingCode::TimelyFilingExpired
            | FindingCode::DuplicateService => "business-rule",
        }
    }
}

/// The code systems of `OperationOutcome.issue.details`: which problem, and which rule.
const FINDING_CODE_SYSTEM: &str = "urn:claimbridge:scrub-finding";
const RULE_SYSTEM: &str = "urn:claimbridge:scrub-rule";

/// One problem with a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The id of the rule that found it (see [`super::Rule::id`]).
    pub rule_id: &'static str,
    pub severity: Severity,
    /// FHIRPath of the element at fault, e.g. `Claim.item[1].productOrService`.
    pub path: String,
    pub code: FindingCode,
    /// What is wrong, naming the values involved.
    pub message: String,
    /// What to do about it.
    pub suggestion: String,
}

/// Everything scrubbing found in one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubReport {
    pub findings: Vec<Finding>,
    /// No error-severity findings: the claim may be sent.
    pub clean_claim: bool,
}

impl ScrubReport {
    pub fn new(findings: Vec<Finding>) -> Self {
        let clean_claim = !findings.iter().any(|f| f.severity == Severity::Error);
        ScrubReport {
            findings,
            clean_claim,
        }
    }

    /// The findings as a FHIR OperationOutcome, one issue each. A clean claim with no
    /// findings gets the single informational issue FHIR expects of an empty outcome.
    pub fn to_operation_outcome(&self) -> Value {
        let issues: Vec<Value> = if self.findings.is_empty() {
            vec![json!({
                "severity": "information",
                "code": "informational",
                "diagnostics": "The claim passed every scrub rule.",
            })]
        } else {
            self.findings.iter().map(Finding::to_issue).collect()
        };
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

impl Finding {
    fn to_issue(&self) -> Value {
        json!({
            "severity": self.severity.as_str(),
            "code": self.code.issue_type(),
            "details": {
                "coding": [
                    {"system": FINDING_CODE_SYSTEM, "code": self.code.as_str()},
                    {"system": RULE_SYSTEM, "code": self.rule_id},
                ],
                "text": self.message,
            },
            "diagnostics": format!("{} {}", self.message, self.suggestion),
            "expression": [self.path],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity) -> Finding {
        Finding {
            rule_id: "billing-provider-npi",
            severity,
            path: "Claim.provider".into(),
            code: FindingCode::NpiCheckDigit,
            message: "NPI 1234567890 fails its check digit.".into(),
            suggestion: "Check the NPI against NPPES.".into(),
        }
    }

    #[test]
    fn a_claim_with_only_warnings_is_clean() {
        assert!(ScrubReport::new(vec![]).clean_claim);
        assert!(ScrubReport::new(vec![finding(Severity::Warning)]).clean_claim);
        assert!(!ScrubReport::new(vec![finding(Severity::Warning), finding(Severity::Error)]).clean_claim);
    }

    #[test]
    fn each_finding_becomes_an_operation_outcome_issue() {
        let outcome = ScrubReport::new(vec![finding(Severity::Error)]).to_operation_outcome();
        assert_eq!(
            outcome,
            json!({
                "resourceType": "OperationOutcome",
                "issue": [{
                    "severity": "error",
                    "code": "invalid",
                    "details": {
                        "coding": [
                            {"system": "urn:claimbridge:scrub-finding", "code": "NPI_CHECK_DIGIT"},
                            {"system": "urn:claimbridge:scrub-rule", "code": "billing-provider-npi"},
                        ],
                        "text": "NPI 1234567890 fails its check digit.",
                    },
                    "diagnostics": "NPI 1234567890 fails its check digit. Check the NPI against NPPES.",
                    "expression": ["Claim.provider"],
                }],
            })
        );
    }

    #[test]
    fn missing_values_are_required_issues_and_policy_breaches_business_rules() {
        assert_eq!(FindingCode::MemberIdMissing.issue_type(), "required");
        assert_eq!(FindingCode::TimelyFilingExpired.issue_type(), "business-rule");
        let mut warning = finding(Severity::Warning);
        warning.code = FindingCode::DuplicateService;
        let outcome = ScrubReport::new(vec![warning]).to_operation_outcome();
        assert_eq!(outcome["issue"][0]["severity"], "warning");
        assert_eq!(outcome["issue"][0]["code"], "business-rule");
    }

    #[test]
    fn a_clean_claim_has_one_informational_issue() {
        let outcome = ScrubReport::new(vec![]).to_operation_outcome();
        assert_eq!(outcome["issue"].as_array().map(Vec::len), Some(1));
        assert_eq!(outcome["issue"][0]["severity"], "information");
    }
}
