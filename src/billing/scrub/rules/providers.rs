//! The billing and rendering providers' identifiers: NPI and tax id.

use super::{RuleInput, Sink};
use crate::billing::scrub::report::FindingCode;

/// Where a claim names its billing provider, and its rendering provider (the care
/// team member who performed the services).
const BILLING_PROVIDER: &str = "Claim.provider";
const RENDERING_PROVIDER: &str = "Claim.careTeam.provider";

pub(super) fn billing_provider_npi(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let npi = input.claim.billing_provider.npi.as_deref();
    check_npi(npi, "billing provider", BILLING_PROVIDER, sink);
}

/// A claim without a separate rendering provider is rendered by the billing provider.
pub(super) fn rendering_provider_npi(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    if let Some(rendering) = &input.claim.rendering_provider {
        check_npi(
            rendering.npi.as_deref(),
            "rendering provider",
            RENDERING_PROVIDER,
            sink,
        );
    }
}

fn check_npi(npi: Option<&str>, role: &str, path: &str, sink: &mut Sink<'_>) {
    let Some(npi) = npi.filter(|npi| !npi.is_empty()) else {
        sink.report(
            path.into(),
            FindingCode::NpiMissing,
            format!("The {role} has no NPI."),
            format!("Add the {role}'s 10-digit NPI (from NPPES)."),
        );
        return;
    };
    let digits = npi.as_bytes();
    if digits.len() != 10 || !digits.iter().all(u8::is_ascii_digit) {
        sink.report(
            path.into(),
            FindingCode::NpiFormat,
            format!("The {role}'s NPI {npi:?} is not 10 digits."),
            "An NPI is exactly 10 digits, with no spaces or dashes.",
        );
    } else if npi_check_digit(&digits[..9]) != digits[9] {
        sink.report(
            path.into(),
            FindingCode::NpiCheckDigit,
            format!("The {role}'s NPI {npi} fails its check digit."),
            "The NPI is mistyped: compare it with the provider's NPPES record.",
        );
    }
}

/// The NPI check digit: the Luhn check digit of the first nine digits behind the
/// prefix 80840, which ISO 7812 assigns to US health identifiers (CMS, "Requirements
/// for the NPI check digit"). Takes and returns ASCII digits.
fn npi_check_digit(first_nine: &[u8]) -> u8 {
    let sum: u32 = b"80840"
        .iter()
        .chain(first_nine)
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let value = u32::from(digit - b'0');
            // Luhn doubles every other digit, starting with the one left of the check
            // digit; a doubled digit above 9 counts as its digit sum.
            if position % 2 == 0 {
                let doubled = value * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                value
            }
        })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

pub(super) fn billing_provider_tax_id(input: &RuleInput<'_>, sink: &mut Sink<'_>) {
    let tax_id = input.claim.billing_provider.tax_id.as_deref();
    let Some(tax_id) = tax_id.filter(|id| !id.is_empty()) else {
        sink.report(
            BILLING_PROVIDER.into(),
            FindingCode::TaxIdMissing,
            "The billing provider has no tax id.".into(),
            "Add the billing provider's EIN (9 digits).",
        );
        return;
    };
    if !is_ein(tax_id) {
        sink.report(
            BILLING_PROVIDER.into(),
            FindingCode::TaxIdFormat,
            format!("The billing provider's tax id {tax_id:?} is not an EIN."),
            "Write the EIN as 9 digits, or as NN-NNNNNNN.",
        );
    }
}

/// An EIN: 9 digits, written plain or with a dash after the second (NN-NNNNNNN).
fn is_ein(text: &str) -> bool {
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    match (text.len(), text.split_once('-')) {
        (9, None) => all_digits(text),
        (10, Some((prefix, serial))) => prefix.len() == 2 && all_digits(prefix) && all_digits(serial),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::billing::scrub::rule_set::Rule;

    #[test]
    fn the_check_digit_follows_the_80840_luhn_rule() {
        // CMS's worked example: 123456789 has check digit 3.
        assert_eq!(npi_check_digit(b"123456789"), b'3');
        assert_eq!(npi_check_digit(b"124531959"), b'9');
    }

    #[test]
    fn valid_npis_pass() {
        let claim = clean_claim();
        assert!(check(Rule::BillingProviderNpi, &claim).is_empty());
        assert!(check(Rule::RenderingProviderNpi, &claim).is_empty());
    }

    #[test]
    fn a_mistyped_npi_fails_its_check_digit() {
        let mut claim = clean_claim();
        claim.billing_provider.npi = Some("1234567890".into());
        let findings = check(Rule::BillingProviderNpi, &claim);
        assert_eq!(found(&findings), [(FindingCode::NpiCheckDigit, "Claim.provider")]);
        assert_eq!(findings[0].rule_id, "billing-provider-npi");
    }

    #[test]
    fn an_npi_must_be_ten_digits() {
        let mut claim = clean_claim();
        for npi in ["123456789", "12345678930", "123456789A", "1234-56789"] {
            claim.billing_provider.npi = Some(npi.into());
            assert_eq!(
                found(&check(Rule::BillingProviderNpi, &claim)),
                [(FindingCode::NpiFormat, "Claim.provider")],
                "{npi}"
            );
        }
    }

    #[test]
    fn a_missing_npi_is_reported_for_the_provider_concerned() {
        let mut claim = clean_claim();
        claim.billing_provider.npi = None;
        assert_eq!(
            found(&check(Rule::BillingProviderNpi, &claim)),
            [(FindingCode::NpiMissing, "Claim.provider")]
        );
        claim.rendering_provider = Some(Default::default());
        assert_eq!(
            found(&check(Rule::RenderingProviderNpi, &claim)),
            [(FindingCode::NpiMissing, "Claim.careTeam.provider")]
        );
    }

    #[test]
    fn no_rendering_provider_means_nothing_to_check() {
        let mut claim = clean_claim();
        claim.rendering_provider = None;
        assert!(check(Rule::RenderingProviderNpi, &claim).is_empty());
    }

    #[test]
    fn an_ein_is_nine_digits_with_an_optional_dash() {
        for ein in ["123456789", "12-3456789"] {
            assert!(is_ein(ein), "{ein}");
        }
        for other in [
            "12345678",
            "1234567890",
            "123-45-6789",
            "12-345678",
            "1-23456789",
            "AB-3456789",
            "",
        ] {
            assert!(!is_ein(other), "{other}");
        }
    }

    #[test]
    fn the_tax_id_rule_reports_missing_and_malformed_ids() {
        let mut claim = clean_claim();
        assert!(check(Rule::BillingProviderTaxId, &claim).is_empty());
        claim.billing_provider.tax_id = Some("123-45-6789".into());
        assert_eq!(
            found(&check(Rule::BillingProviderTaxId, &claim)),
            [(FindingCode::TaxIdFormat, "Claim.provider")]
        );
        claim.billing_provider.tax_id = None;
        assert_eq!(
            found(&check(Rule::BillingProviderTaxId, &claim)),
            [(FindingCode::TaxIdMissing, "Claim.provider")]
        );
    }
}
