//! The diagnoses and the lines' pointers into them. An 837P carries at most 12
//! diagnosis codes per claim and 4 pointers per service line.

use super::{RuleInput, Sink};
use crate::billing::codes::icd10;
use crate::billing::scrub::report::FindingCode;

/// The most diagnoses an 837P claim can carry (the HI segment's 12 elements).
const MAX_DIAGNOSES: usize = 12;
/// The most diagnosis pointers a service line can carry (SV107-1 to SV107-4).
const MAX_POINTERS: usize = 4;

pub(super) fn diagnosis_count(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let count = input.claim.diagnoses.len();
    if count == 0 {
        sink.report(
            "Claim.diagnosis".into(),
            FindingCode::DiagnosisMissing,
            "The claim has no diagnosis.".into(),
            "Add at least one ICD-10-CM diagnosis supporting the services.",
        );
    } else if count > MAX_DIAGNOSES {
        let element = input.claim.diagnosis_elements.get(MAX_DIAGNOSES).copied();
        sink.report(
            format!("Claim.diagnosis[{}]", element.unwrap_or(MAX_DIAGNOSES)),
            FindingCode::DiagnosisTooMany,
            format!("The claim has {count} diagnoses; a professional claim carries at most {MAX_DIAGNOSES}."),
            "Keep the diagnoses the lines point to, or split the services over two claims.",
        );
    }
}

pub(super) fn diagnosis_codes(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let claim = input.claim;
    for (position, code) in claim.diagnoses.iter().enumerate() {
        if icd10::is_billable(code) {
            continue;
        }
        let element = claim
            .diagnosis_elements
            .get(position)
            .copied()
            .unwrap_or(position);
        let path = format!("Claim.diagnosis[{element}].diagnosisCodeableConcept");
        if icd10::exists(code) {
            sink.report(
                path,
                FindingCode::DiagnosisNotBillable,
                format!("{code} is an ICD-10-CM category, not a billable code."),
                format!("Use a more specific code under {code}, down to its last character."),
            );
        } else {
            sink.report(
                path,
                FindingCode::DiagnosisUnknown,
                format!("{code:?} is not an ICD-10-CM code."),
                "Check the code against ICD-10-CM (FY2026 edition), in capitals, e.g. E11.9.",
            );
        }
    }
}

pub(super) fn diagnosis_pointers(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let diagnoses = input.claim.diagnoses.len();
    for (index, line) in input.claim.lines.iter().enumerate() {
        let pointers = &line.diagnosis_pointers;
        if pointers.is_empty() {
            sink.report(
                format!("Claim.item[{index}].diagnosisSequence"),
                FindingCode::PointerMissing,
                format!("Line {} points to no diagnosis.", line.sequence),
                "Point the line at the diagnosis (or diagnoses) it treats.",
            );
        } else if pointers.len() > MAX_POINTERS {
            sink.report(
                format!("Claim.item[{index}].diagnosisSequence"),
                FindingCode::PointerTooMany,
                format!(
                    "Line {} points to {} diagnoses; a line carries at most {MAX_POINTERS}.",
                    line.sequence,
                    pointers.len()
                ),
                "Keep the four diagnoses most relevant to the service, the primary first.",
            );
        }
        for (position, &pointer) in pointers.iter().enumerate() {
            let path = || format!("Claim.item[{index}].diagnosisSequence[{position}]");
            if pointer == 0 || pointer as usize > diagnoses {
                sink.report(
                    path(),
                    FindingCode::PointerNoDiagnosis,
                    format!(
                        "Line {} points to a diagnosis sequence the claim has no ICD-10-CM diagnosis for.",
                        line.sequence
                    ),
                    "Point at the sequence of an ICD-10-CM diagnosis on the claim, or add the missing one.",
                );
            } else if pointer as usize > MAX_DIAGNOSES {
                sink.report(
                    path(),
                    FindingCode::PointerOutOfRange,
                    format!(
                        "Line {} points to the claim's diagnosis number {pointer}; a claim carries at most {MAX_DIAGNOSES}.",
                        line.sequence
                    ),
                    "Keep the 12 diagnoses the lines point to, the primary first.",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::billing::scrub::report::FindingCode;
    use crate::billing::scrub::rule_set::Rule;

    #[test]
    fn one_to_twelve_diagnoses_pass() {
        let mut claim = clean_claim();
        assert!(check(Rule::DiagnosisCount, &claim).is_empty());
        claim.diagnoses = vec!["E119".into(); 12];
        assert!(check(Rule::DiagnosisCount, &claim).is_empty());
    }

    #[test]
    fn a_claim_needs_a_diagnosis() {
        let mut claim = clean_claim();
        claim.diagnoses.clear();
        assert_eq!(
            found(&check(Rule::DiagnosisCount, &claim)),
            [(FindingCode::DiagnosisMissing, "Claim.diagnosis")]
        );
    }

    #[test]
    fn a_thirteenth_diagnosis_does_not_fit() {
        let mut claim = clean_claim();
        claim.diagnoses = vec!["E119".into(); 13];
        assert_eq!(
            found(&check(Rule::DiagnosisCount, &claim)),
            [(FindingCode::DiagnosisTooMany, "Claim.diagnosis[12]")]
        );
    }

    #[test]
    fn billable_codes_pass_with_or_without_the_dot() {
        let mut claim = clean_claim();
        assert!(check(Rule::DiagnosisCodes, &claim).is_empty());
        claim.diagnoses = vec!["E11.9".into(), "S72.001A".into()];
        assert!(check(Rule::DiagnosisCodes, &claim).is_empty());
    }

    #[test]
    fn a_category_is_not_billable_and_a_made_up_code_does_not_exist() {
        let mut claim = clean_claim();
        claim.diagnoses = vec!["E119".into(), "E11".into(), "E11.99".into(), "S72.001".into()];
        let findings = check(Rule::DiagnosisCodes, &claim);
        assert_eq!(
            found(&findings),
            [
                (
                    FindingCode::DiagnosisNotBillable,
                    "Claim.diagnosis[1].diagnosisCodeableConcept"
                ),
                (
                    FindingCode::DiagnosisUnknown,
                    "Claim.diagnosis[2].diagnosisCodeableConcept"
                ),
                (
                    FindingCode::DiagnosisNotBillable,
                    "Claim.diagnosis[3].diagnosisCodeableConcept"
                ),
            ]
        );
        assert!(findings[0].suggestion.contains("more specific"));
    }

    #[test]
    fn pointers_to_existing_diagnoses_pass() {
        let claim = clean_claim();
        assert!(check(Rule::DiagnosisPointers, &claim).is_empty());
    }

    #[test]
    fn a_line_needs_one_to_four_pointers() {
        let mut claim = clean_claim();
        claim.lines[0].diagnosis_pointers = vec![1, 2, 3, 4, 1];
        claim.lines[1].diagnosis_pointers.clear();
        assert_eq!(
            found(&check(Rule::DiagnosisPointers, &claim)),
            [
                (FindingCode::PointerTooMany, "Claim.item[0].diagnosisSequence"),
                (FindingCode::PointerMissing, "Claim.item[1].diagnosisSequence"),
            ]
        );
    }

    #[test]
    fn pointers_must_name_a_diagnosis_within_the_first_twelve() {
        let mut claim = clean_claim();
        claim.diagnoses = (0..13).map(|n| format!("Z{n:02}")).collect();
        // 0 is how a diagnosisSequence naming no ICD-10-CM diagnosis is read.
        claim.lines[0].diagnosis_pointers = vec![0, 12, 13, 14];
        assert_eq!(
            found(&check(Rule::DiagnosisPointers, &claim)),
            [
                (
                    FindingCode::PointerNoDiagnosis,
                    "Claim.item[0].diagnosisSequence[0]"
                ),
                (
                    FindingCode::PointerOutOfRange,
                    "Claim.item[0].diagnosisSequence[2]"
                ),
                (
                    FindingCode::PointerNoDiagnosis,
                    "Claim.item[0].diagnosisSequence[3]"
                ),
            ]
        );
    }
}
