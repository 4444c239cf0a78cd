//! Amounts between the ledger's exact decimals and Stripe's integers in the
//! currency's minor unit (`amount=12345, currency=usd` is 123.45 USD).
//!
//! Nothing is rounded: an amount the currency cannot carry exactly is refused
//! (final), since rounding would charge or refund what nobody asked for. Going the
//! other way, `minor / 10^exponent` is exact by construction. The exponents are
//! Stripe's, not always ISO 4217's (docs.stripe.com/currencies): zero-decimal
//! currencies take whole units, three-decimal ones a last digit of 0, and ISK —
//! two-decimal in the API — whole krónur only.

use claimbridge_plugin_sdk::{Money, PluginError};
use rust_decimal::{Decimal, RoundingStrategy};

/// docs.stripe.com/currencies#zero-decimal
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
    "XPF",
];

/// docs.stripe.com/currencies#three-decimal: the last digit must be 0.
const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// Digits after the decimal point of the currency's minor unit in Stripe's API.
pub(crate) fn exponent(currency: &str) -> u32 {
    let upper = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&upper.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&upper.as_str()) {
        3
    } else {
        2
    }
}

/// Digits after the decimal point an amount may really have: fewer than the
/// exponent where Stripe requires trailing zeros.
fn usable_places(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "ISK" => 0,
        upper if THREE_DECIMAL.contains(&upper) => 2,
        _ => exponent(currency),
    }
}

/// `money` as Stripe's `amount` and `currency` parameters.
pub(crate) fn to_stripe(money: &Money) -> Result<(i64, String), PluginError> {
    let currency = &money.currency;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(PluginError::rejected(format!(
            "`{currency}` is not an ISO 4217 currency code"
        )));
    }
    if money.amount <= Decimal::ZERO {
        return Err(PluginError::rejected(format!(
            "the amount must be positive, not {}",
            money.amount
        )));
    }
    let places = usable_places(currency);
    let truncated = money
        .amount
        .round_dp_with_strategy(places, RoundingStrategy::ToZero);
    if truncated != money.amount {
        return Err(PluginError::rejected(format!(
            "{} {currency} has more decimals than Stripe takes for {currency} ({places}); it is not rounded",
            money.amount
        )));
    }
    let minor = money
        .minor_units(exponent(currency))
        .ok_or_else(|| PluginError::rejected(format!("{} {currency} is too large", money.amount)))?;
    Ok((minor, currency.to_ascii_lowercase()))
}

/// Stripe's `amount` and `currency` as the ledger's money (currency in upper case).
pub(crate) fn from_stripe(minor: i64, currency: &str) -> Money {
    Money {
        amount: Decimal::new(minor, exponent(currency)),
        currency: currency.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use claimbridge_plugin_sdk::ErrorClass;

    use super::*;

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: Decimal::from_str(amount).unwrap(),
            currency: currency.into(),
        }
    }

    #[test]
    fn dollars_and_cents_become_cents_and_back_exactly() {
        assert_eq!(to_stripe(&money("123.45", "USD")).unwrap(), (12345, "usd".into()));
        assert_eq!(to_stripe(&money("0.5", "usd")).unwrap(), (50, "usd".into()));
        assert_eq!(
            to_stripe(&money("1000000", "EUR")).unwrap(),
            (100_000_000, "eur".into())
        );
        assert_eq!(from_stripe(12345, "usd"), money("123.45", "USD"));
        assert_eq!(from_stripe(12345, "usd").amount.to_string(), "123.45");
        assert_eq!(from_stripe(1, "usd").amount.to_string(), "0.01");
    }

    #[test]
    fn every_cent_amount_survives_the_round_trip() {
        for cents in [1_i64, 7, 10, 99, 100, 101, 12345, 999_999, 1_000_000_000] {
            let there = from_stripe(cents, "usd");
            assert_eq!(to_stripe(&there).unwrap().0, cents, "{cents}");
        }
    }

    #[test]
    fn zero_decimal_currencies_take_whole_units() {
        assert_eq!(to_stripe(&money("500", "JPY")).unwrap(), (500, "jpy".into()));
        assert_eq!(from_stripe(500, "jpy"), money("500", "JPY"));
        assert_eq!(
            to_stripe(&money("500.5", "JPY")).unwrap_err().class(),
            ErrorClass::Final
        );
    }

    #[test]
    fn three_decimal_currencies_end_in_zero() {
        assert_eq!(to_stripe(&money("1.25", "KWD")).unwrap(), (1250, "kwd".into()));
        assert_eq!(from_stripe(1250, "kwd"), money("1.25", "KWD"));
        assert!(to_stripe(&money("1.255", "KWD")).is_err());
    }

    #[test]
    fn krona_are_two_decimal_but_whole() {
        assert_eq!(to_stripe(&money("40", "ISK")).unwrap(), (4000, "isk".into()));
        assert!(to_stripe(&money("40.10", "ISK")).is_err());
    }

    #[test]
    fn fractions_of_a_cent_are_refused_not_rounded() {
        let error = to_stripe(&money("10.005", "USD")).unwrap_err();
        assert_eq!(error.class(), ErrorClass::Final);
        assert!(error.to_string().contains("not rounded"), "{error}");
        // Trailing zeros are not extra precision.
        assert_eq!(to_stripe(&money("10.500", "USD")).unwrap().0, 1050);
    }

    #[test]
    fn nothing_negative_zero_huge_or_unnamed_is_sent() {
        for (amount, currency) in [
            ("0", "USD"),
            ("-5", "USD"),
            ("99999999999999999999", "USD"),
            ("5", "US"),
            ("5", "U$D"),
        ] {
            assert!(
                to_stripe(&money(amount, currency)).is_err(),
                "{amount} {currency}"
            );
        }
    }
}
