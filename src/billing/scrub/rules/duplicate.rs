//! The same service billed twice: same patient, billing provider, date and code on
//! another claim.

use super::{RuleInput, Sink};
use crate::billing::scrub::duplicate::BilledService;
use crate::billing::scrub::report::FindingCode;

/// Modifiers declaring a deliberate repeat (repeat procedure by the same or another
/// physician, repeat laboratory test): such a line is expected to match another.
const REPEAT_MODIFIERS: &[&str] = &["76", "77", "91"];

/// A replacement claim (one with the payer's reference to the original) bills the
/// same services as the claim it replaces, so it is not checked. Without a billing
/// NPI there is nothing to match on; the NPI rule reports that.
pub(super) fn duplicate_claim(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let claim = input.claim;
    let Some(billing_provider_npi) = claim.billing_provider.npi.as_deref() else {
        return;
    };
    if claim.original_reference.is_some() {
        return;
    }
    for (index, line) in claim.lines.iter().enumerate() {
        if line
            .modifiers
            .iter()
            .any(|m| REPEAT_MODIFIERS.contains(&m.as_str()))
        {
            continue;
        }
        let service = BilledService {
            claim_id: &claim.claim_id,
            patient_id: &claim.patient_id,
            billing_provider_npi,
            service_date: line.service_date,
            code: &line.code,
        };
        if let Some(earlier) = input.duplicates.earlier_claim(&service) {
            sink.report(
                format!("Claim.item[{index}]"),
                FindingCode::DuplicateService,
                format!(
                    "Line {} ({} on {}) is already billed on claim {earlier}.",
                    line.sequence, line.code, line.service_date
                ),
                "Don't resubmit: follow up the earlier claim, send a corrected claim replacing it, \
                 or add modifier 76, 77 or 91 if the service was really repeated.",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::billing::scrub::duplicate::{BilledService, DuplicateCheck};
    use crate::billing::scrub::report::FindingCode;
    use crate::billing::scrub::rule_set::Rule;

    /// Earlier claims, each a list of (patient, NPI, date, code) services.
    struct EarlierClaims(Vec<(&'static str, [&'static str; 4])>);

    impl DuplicateCheck for EarlierClaims {
        fn earlier_claim(&self, service: &BilledService<'_>) -> Option<String> {
            let date = service.service_date.to_string();
            let key = [
                service.patient_id,
                service.billing_provider_npi,
                date.as_str(),
                service.code,
            ];
            self.0
                .iter()
                .find(|(claim_id, billed)| *claim_id != service.claim_id && *billed == key)
                .map(|(claim_id, _)| claim_id.to_string())
        }
    }

    fn earlier_injection() -> EarlierClaims {
        EarlierClaims(vec![
            ("claim-0", ["patient-1", "1234567893", "2026-02-20", "96372"]),
            ("claim-1", ["patient-1", "1234567893", "2026-02-20", "99214"]),
        ])
    }

    #[test]
    fn a_service_billed_on_another_claim_is_reported() {
        let claim = clean_claim();
        let findings = check_with(Rule::DuplicateClaim, &claim, &earlier_injection());
        // 99214 matches only the claim itself, which does not count.
        assert_eq!(
            found(&findings),
            [(FindingCode::DuplicateService, "Claim.item[1]")]
        );
        assert!(findings[0].message.contains("claim-0"), "{}", findings[0].message);
    }

    #[test]
    fn another_patient_provider_or_date_is_not_a_duplicate() {
        for change in 0..3 {
            let mut claim = clean_claim();
            match change {
                0 => claim.patient_id = "patient-2".into(),
                1 => claim.billing_provider.npi = Some("1245319599".into()),
                _ => claim.lines[1].service_date = date("2026-02-21"),
            }
            assert!(check_with(Rule::DuplicateClaim, &claim, &earlier_injection()).is_empty());
        }
    }

    #[test]
    fn a_declared_repeat_or_a_replacement_claim_is_not_a_duplicate() {
        let mut claim = clean_claim();
        claim.lines[1].modifiers = vec!["76".into()];
        assert!(check_with(Rule::DuplicateClaim, &claim, &earlier_injection()).is_empty());
        let mut replacement = clean_claim();
        replacement.original_reference = Some("ICN-2026-0001".into());
        assert!(check_with(Rule::DuplicateClaim, &replacement, &earlier_injection()).is_empty());
    }
}
