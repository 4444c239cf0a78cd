//! Patient payments and refunds. Every request carries an idempotency key chosen by
//! the caller and kept with its job, so a retry after a lost answer charges once
//! (Stripe replays the first answer for a key it has seen). Card data never passes
//! through Claimbridge: the payment method is a token the vendor's own front-end
//! component issued.

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An amount in a currency: the decimal amount, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217 code (`USD`).
    pub currency: String,
}

impl Money {
    /// The amount in the currency's smallest unit (cents for `exponent` 2), as
    /// payment APIs take it; `None` when the amount has finer fractions than the
    /// currency (rounding would charge what nobody asked for) or does not fit.
    pub fn minor_units(&self, exponent: u32) -> Option<i64> {
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10_i64.checked_pow(exponent)?))?;
        if scaled.fract().is_zero() {
            scaled.to_i64()
        } else {
            None
        }
    }
}

/// The caller's key for one intended charge or refund: the same key on a retry, a
/// new one for a new intent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The FHIR Patient id.
    pub patient_id: String,
    /// The vendor's customer, when one was created before (from a
    /// [`PaymentResult`]); without it the plugin creates one.
    pub vendor_customer_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    pub amount: Money,
    pub customer: Customer,
    /// The vendor's token for the card or account to charge (Stripe `pm_…`).
    pub payment_method: String,
    pub description: Option<String>,
    /// Kept with the payment at the vendor and echoed by its webhooks (claim id,
    /// patient id), which is how an event finds its way back to the ledger.
    pub metadata: BTreeMap<String, String>,
    pub idempotency_key: IdempotencyKey,
}

/// A payment the vendor accepted. A declined card is not a result but a final
/// [`crate::PluginError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResult {
    pub vendor_payment_id: String,
    /// To save with the patient and send again next time.
    pub vendor_customer_id: Option<String>,
    pub status: PaymentStatus,
    pub amount: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Succeeded,
    /// Accepted, not settled yet (bank debits): a webhook reports the outcome.
    Processing,
    /// The patient must act (3-D Secure): a webhook reports the outcome.
    RequiresAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub vendor_payment_id: String,
    /// Part of the payment; `None` refunds what is left of it.
    pub amount: Option<Money>,
    pub reason: Option<String>,
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResult {
    pub vendor_refund_id: String,
    pub status: RefundStatus,
    pub amount: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Succeeded,
    /// Under way: a webhook reports the outcome.
    Pending,
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn usd(amount: &str) -> Money {
        Money {
            amount: Decimal::from_str(amount).unwrap(),
            currency: "USD".into(),
        }
    }

    #[test]
    fn an_amount_converts_to_minor_units_exactly() {
        assert_eq!(usd("25.00").minor_units(2), Some(2500));
        assert_eq!(usd("0.5").minor_units(2), Some(50));
        assert_eq!(usd("1200").minor_units(0), Some(1200));
    }

    #[test]
    fn an_amount_finer_than_the_currency_does_not_convert() {
        assert_eq!(usd("10.005").minor_units(2), None);
        assert_eq!(usd("12.5").minor_units(0), None);
    }

    #[test]
    fn an_amount_too_large_for_minor_units_does_not_convert() {
        assert_eq!(usd("99999999999999999999").minor_units(2), None);
    }

    #[test]
    fn money_keeps_its_exact_decimal_through_json() {
        let money = usd("1234.56");
        let json = serde_json::to_value(&money).unwrap();
        assert_eq!(json["currency"], "USD");
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), money);
    }
}
