//! Procedure codes and their modifiers.

use super::{RuleInput, Sink};
use crate::billing::codes::procedure::{self, ProcedureCodeKind};
use crate::billing::codes::{hcpcs, modifiers};
use crate::billing::scrub::report::FindingCode;

/// The most modifiers a service line can carry (SV101-3 to SV101-6).
const MAX_MODIFIERS: usize = 4;

pub(super) fn procedure_code_format(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        if procedure::kind(&line.code).is_none() {
            sink.report(
                format!("Claim.item[{index}].productOrService"),
                FindingCode::ProcedureCodeFormat,
                format!(
                    "Line {} has procedure code {:?}, neither CPT nor HCPCS.",
                    line.sequence, line.code
                ),
                "Use a CPT code (5 digits, or 4 digits and F, T, U, M or A) or a HCPCS Level II \
                 code (a letter and 4 digits).",
            );
        }
    }
}

/// Only codes shaped like HCPCS Level II are looked up: CPT's list is not shipped.
pub(super) fn hcpcs_code_exists(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        if procedure::kind(&line.code) == Some(ProcedureCodeKind::HcpcsLevelTwo) && !hcpcs::exists(&line.code)
        {
            sink.report(
                format!("Claim.item[{index}].productOrService"),
                FindingCode::HcpcsUnknown,
                format!(
                    "Line {}: {} is not in the 2020 HCPCS Level II code set.",
                    line.sequence, line.code
                ),
                "Check the code; if it was added after 2020, it may be valid.",
            );
        }
    }
}

pub(super) fn modifier_valid(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        if line.modifiers.len() > MAX_MODIFIERS {
            sink.report(
                format!("Claim.item[{index}].modifier"),
                FindingCode::ModifierTooMany,
                format!(
                    "Line {} has {} modifiers; a line carries at most {MAX_MODIFIERS}.",
                    line.sequence,
                    line.modifiers.len()
                ),
                "Keep the modifiers that affect payment first, or use 99 (multiple modifiers).",
            );
        }
        for (position, modifier) in line.modifiers.iter().enumerate() {
            if !modifiers::is_valid(modifier) {
                sink.report(
                    format!("Claim.item[{index}].modifier[{position}]"),
                    FindingCode::ModifierUnknown,
                    format!("Line {} has unknown modifier {modifier:?}.", line.sequence),
                    "Use a CPT or HCPCS Level II modifier: two characters, in capitals.",
                );
            }
        }
    }
}

/// Modifier 25 marks a visit as separate from a procedure on the same day, so it
/// belongs on the evaluation and management code, never on the procedure.
pub(super) fn modifier_25_with_em(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    for (index, line) in input.claim.lines.iter().enumerate() {
        let Some(position) = line.modifiers.iter().position(|m| m == "25") else {
            continue;
        };
        if !procedure::is_evaluation_and_management(&line.code) {
            sink.report(
                format!("Claim.item[{index}].modifier[{position}]"),
                FindingCode::Modifier25WithoutEm,
                format!(
                    "Line {}: modifier 25 is on {}, which is not an E/M code (99202–99499).",
                    line.sequence, line.code
                ),
                "Move modifier 25 to the same-day E/M visit line, or remove it.",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::billing::scrub::report::FindingCode;
    use crate::billing::scrub::rule_set::Rule;

    #[test]
    fn cpt_and_hcpcs_shaped_codes_pass_the_format_check() {
        let mut claim = clean_claim();
        assert!(check(Rule::ProcedureCodeFormat, &claim).is_empty());
        claim.lines[1].code = "0042T".into();
        assert!(check(Rule::ProcedureCodeFormat, &claim).is_empty());
    }

    #[test]
    fn other_codes_fail_the_format_check() {
        let mut claim = clean_claim();
        claim.lines[1].code = "9637".into();
        claim.lines[2].code = "J34201".into();
        assert_eq!(
            found(&check(Rule::ProcedureCodeFormat, &claim)),
            [
                (FindingCode::ProcedureCodeFormat, "Claim.item[1].productOrService"),
                (FindingCode::ProcedureCodeFormat, "Claim.item[2].productOrService"),
            ]
        );
    }

    #[test]
    fn known_hcpcs_codes_and_cpt_codes_pass_the_existence_check() {
        let claim = clean_claim();
        assert!(check(Rule::HcpcsCodeExists, &claim).is_empty());
    }

    #[test]
    fn an_unknown_hcpcs_code_is_reported() {
        let mut claim = clean_claim();
        claim.lines[2].code = "J0000".into();
        assert_eq!(
            found(&check(Rule::HcpcsCodeExists, &claim)),
            [(FindingCode::HcpcsUnknown, "Claim.item[2].productOrService")]
        );
    }

    #[test]
    fn known_modifiers_pass() {
        let mut claim = clean_claim();
        claim.lines[1].modifiers = vec!["59".into(), "RT".into(), "XU".into(), "TC".into()];
        assert!(check(Rule::ModifierValid, &claim).is_empty());
    }

    #[test]
    fn unknown_modifiers_and_a_fifth_modifier_are_reported() {
        let mut claim = clean_claim();
        claim.lines[1].modifiers = vec!["59".into(), "ZZ".into(), "rt".into(), "LT".into(), "76".into()];
        assert_eq!(
            found(&check(Rule::ModifierValid, &claim)),
            [
                (FindingCode::ModifierTooMany, "Claim.item[1].modifier"),
                (FindingCode::ModifierUnknown, "Claim.item[1].modifier[1]"),
                (FindingCode::ModifierUnknown, "Claim.item[1].modifier[2]"),
            ]
        );
    }

    #[test]
    fn modifier_25_on_a_visit_passes() {
        let claim = clean_claim();
        assert_eq!(claim.lines[0].modifiers, ["25"]);
        assert!(check(Rule::Modifier25WithEm, &claim).is_empty());
    }

    #[test]
    fn modifier_25_on_a_procedure_is_reported() {
        let mut claim = clean_claim();
        claim.lines[1].modifiers = vec!["59".into(), "25".into()];
        assert_eq!(
            found(&check(Rule::Modifier25WithEm, &claim)),
            [(FindingCode::Modifier25WithoutEm, "Claim.item[1].modifier[1]")]
        );
    }
}
