//! The codes a denial arrives in: the group code (CAS01, the 835 reader's
//! [`AdjustmentGroup`]), the claim adjustment reason code (CARC) and remittance
//! advice remark codes (RARC). Parsing checks their shape only: whether a code is
//! known is the knowledge base's business, so a code a payer starts sending after
//! our data was written gets an "unknown code" analysis rather than a refusal.
//!
//! Parsing is strict about case because the data files are; callers taking codes
//! from people upper-case them first.

use serde::Deserialize;

pub use crate::x12::remittance::AdjustmentGroup;

/// A claim adjustment reason code: `45`, `197`, `B7`, `P12`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Carc(String);

/// A remittance advice remark code: `N54`, `M15`, `MA130`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Rarc(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error(
        "{0:?} is not a claim adjustment reason code (1 to 3 digits, optionally after a letter: 197, B7)"
    )]
    Carc(String),
    #[error("{0:?} is not a remark code (M, MA or N and 1 to 3 digits: N54, MA130)")]
    Rarc(String),
    #[error("{0:?} is not a group code (CO, PR, OA, PI or CR)")]
    Group(String),
    #[error("{0:?} is not a denial code: the group and reason code joined by a hyphen, like CO-197")]
    DenialCode(String),
}

impl Carc {
    /// One optional capital letter, then 1 to 3 digits; a code without a letter
    /// cannot start with 0 (`016` is not how any payer writes 16).
    pub fn parse(text: &str) -> Result<Carc, CodeError> {
        let digits = text
            .strip_prefix(|c: char| c.is_ascii_uppercase())
            .unwrap_or(text);
        let lettered = digits.len() < text.len();
        let valid = (1..=3).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (lettered || !digits.starts_with('0'));
        if valid {
            Ok(Carc(text.to_owned()))
        } else {
            Err(CodeError::Carc(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Rarc {
    /// `M`, `MA` or `N`, then 1 to 3 digits (`MA01` keeps its zero: that is its name).
    pub fn parse(text: &str) -> Result<Rarc, CodeError> {
        let digits = ["MA", "M", "N"]
            .iter()
            .find_map(|prefix| text.strip_prefix(prefix))
            .unwrap_or_default();
        if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Rarc(text.to_owned()))
        } else {
            Err(CodeError::Rarc(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Carc {
    type Error = CodeError;

    fn try_from(text: String) -> Result<Carc, CodeError> {
        Carc::parse(&text)
    }
}

impl TryFrom<String> for Rarc {
    type Error = CodeError;

    fn try_from(text: String) -> Result<Rarc, CodeError> {
        Rarc::parse(&text)
    }
}

pub fn parse_group(text: &str) -> Result<AdjustmentGroup, CodeError> {
    AdjustmentGroup::from_code(text).ok_or_else(|| CodeError::Group(text.to_owned()))
}

/// `CO-197` → (CO, 197): how denials are often written outside an 835.
pub fn parse_denial_code(text: &str) -> Result<(AdjustmentGroup, Carc), CodeError> {
    let (group, carc) = text
        .split_once('-')
        .ok_or_else(|| CodeError::DenialCode(text.to_owned()))?;
    Ok((parse_group(group)?, Carc::parse(carc)?))
}

/// What the group code says about who bears the amount, in our own words.
pub fn group_meaning(group: AdjustmentGroup) -> &'static str {
    match group {
        AdjustmentGroup::ContractualObligation => {
            "Contractual obligation: the provider absorbs the amount under its contract or the rules; the patient may not be billed for it."
        }
        AdjustmentGroup::PatientResponsibility => {
            "Patient responsibility: the amount may be billed to the patient or their secondary coverage."
        }
        AdjustmentGroup::OtherAdjustment => {
            "Other adjustment: neither a contract term nor the patient's share, often an amount settled with another payer."
        }
        AdjustmentGroup::PayerInitiated => {
            "Payer-initiated reduction: the payer reduced the payment without a contract term for it; the patient may not be billed for it."
        }
        AdjustmentGroup::CorrectionReversal => {
            "Correction or reversal of an earlier adjudication of this claim."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_digits_optionally_after_one_letter() {
        for code in ["1", "45", "197", "B7", "P12", "A0"] {
            assert_eq!(
                Carc::parse(code).map(|c| c.as_str().to_owned()),
                Ok(code.to_owned())
            );
        }
        for code in ["", "016", "1970", "CO197", "b7", "B", "19 7", "-1"] {
            assert_eq!(
                Carc::parse(code),
                Err(CodeError::Carc(code.to_owned())),
                "{code:?}"
            );
        }
    }

    #[test]
    fn remark_codes_are_m_ma_or_n_and_digits() {
        for code in ["M15", "MA01", "MA130", "N4", "N657"] {
            assert!(Rarc::parse(code).is_ok(), "{code}");
        }
        for code in ["", "N", "MA", "X12", "N1234", "n54", "MB1", "N5A"] {
            assert_eq!(
                Rarc::parse(code),
                Err(CodeError::Rarc(code.to_owned())),
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_denial_code_joins_group_and_reason_with_a_hyphen() {
        let (group, carc) = parse_denial_code("CO-197").expect("valid");
        assert_eq!(group, AdjustmentGroup::ContractualObligation);
        assert_eq!(carc.as_str(), "197");
        assert_eq!(
            parse_denial_code("CO197"),
            Err(CodeError::DenialCode("CO197".into()))
        );
        assert_eq!(parse_denial_code("XX-197"), Err(CodeError::Group("XX".into())));
        assert_eq!(parse_denial_code("PR-"), Err(CodeError::Carc("".into())));
    }
}
