//! Money as posting stores and shows it. The ledger keeps whole cents: an 835
//! amount converts only when it is a whole number of cents, because rounding a
//! payer's figure would make the ledger disagree with the payment. JSON shows
//! amounts as exact decimal numbers (`450.00`), never through a float.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

/// An amount that cannot be kept as whole cents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {amount} cannot be posted: amounts must be whole cents, at most {MAX_CENTS} of them")]
pub struct SubCentAmount {
    /// Where the amount was found (`CLP04 of claim 5554555444`).
    pub what: String,
    pub amount: Decimal,
}

/// The largest amount posted, in cents ($100 billion, past any real payment):
/// the ledger's sums of a remittance's amounts then stay far inside an `i64`.
pub const MAX_CENTS: i64 = 10_000_000_000_000;

/// `amount` in cents, when it is a whole number of them, at most `MAX_CENTS`
/// either way.
pub fn to_cents(amount: Decimal, what: impl FnOnce() -> String) -> Result<i64, SubCentAmount> {
    amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .filter(|cents| cents.fract().is_zero())
        .and_then(|cents| i64::try_from(cents).ok())
        .filter(|cents| cents.abs() <= MAX_CENTS)
        .ok_or_else(|| SubCentAmount { what: what(), amount })
}

pub fn from_cents(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// `amount` to the nearest cent (half away from zero), for figures we keep rather
/// than post: a claim's stated total, say.
pub fn rounded_cents(amount: Decimal) -> Option<i64> {
    amount
        .checked_mul(Decimal::ONE_HUNDRED)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .try_into()
        .ok()
}

/// `amount` as an exact JSON number (serde_json keeps numbers as written here).
pub fn json_amount(amount: Decimal) -> Value {
    Value::Number(Number::from_str(&amount.to_string()).expect("a Decimal prints as a JSON number"))
}

/// `#[serde(with = "decimal_json")]`: a `Decimal` as an exact JSON number.
pub mod decimal_json {
    use super::*;

    pub fn serialize<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        Number::from_str(&amount.to_string())
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let number = Number::deserialize(deserializer)?;
        Decimal::from_str(&number.to_string()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(text: &str) -> Result<i64, SubCentAmount> {
        to_cents(Decimal::from_str(text).unwrap(), || "BPR02".into())
    }

    #[test]
    fn whole_cents_convert_exactly() {
        assert_eq!(cents("945.00"), Ok(94500));
        assert_eq!(cents("-1.27"), Ok(-127));
        assert_eq!(cents("150000"), Ok(15_000_000));
        assert_eq!(cents("0.1"), Ok(10));
        assert_eq!(from_cents(-127).to_string(), "-1.27");
    }

    #[test]
    fn kept_figures_round_to_the_nearest_cent() {
        let rounded = |text: &str| rounded_cents(Decimal::from_str(text).unwrap());
        assert_eq!(rounded("146"), Some(14600));
        assert_eq!(rounded("10.005"), Some(1001));
        assert_eq!(rounded("-10.005"), Some(-1001));
        assert_eq!(rounded("10.0049"), Some(1000));
        assert_eq!(rounded("79228162514264337593543950335"), None);
        assert_eq!(json_amount(from_cents(123450)).to_string(), "1234.50");
        assert_eq!(json_amount(from_cents(-5)).to_string(), "-0.05");
        assert_eq!(json_amount(from_cents(0)).to_string(), "0.00");
    }

    #[test]
    fn a_fraction_of_a_cent_is_refused() {
        let refused = cents("10.005").unwrap_err();
        assert_eq!(refused.amount.to_string(), "10.005");
        assert!(refused.to_string().starts_with("BPR02 10.005"), "{refused}");
        assert!(cents("79228162514264337593543950335").is_err());
    }

    #[test]
    fn amounts_are_exact_json_numbers() {
        assert_eq!(json_amount(from_cents(45000)).to_string(), "450.00");
        #[derive(Serialize, Deserialize)]
        struct Paid {
            #[serde(with = "decimal_json")]
            amount: Decimal,
        }
        let text = serde_json::to_string(&Paid {
            amount: from_cents(-127),
        })
        .unwrap();
        assert_eq!(text, r#"{"amount":-1.27}"#);
        let back: Paid = serde_json::from_str(&text).unwrap();
        assert_eq!(back.amount, from_cents(-127));
    }
}
