//! `refund`: `POST /v1/refunds` against a PaymentIntent (or a `ch_…` charge), all of
//! what is left or part of it, under the caller's idempotency key.

use claimbridge_plugin_sdk::{PluginError, RefundRequest, RefundResult, RefundStatus};
use serde::Deserialize;

use crate::api::{Form, StripeApi};
use crate::money;
use crate::payments;

/// The reasons Stripe's `reason` parameter takes; any other reason is kept in
/// `metadata[reason]` instead of being refused.
const STRIPE_REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

#[derive(Deserialize)]
struct Refund {
    id: String,
    amount: i64,
    currency: String,
    status: Option<String>,
}

pub(crate) async fn refund(api: &StripeApi, request: &RefundRequest) -> Result<RefundResult, PluginError> {
    let payment = request.vendor_payment_id.as_str();
    let target = if payment.starts_with("ch_") {
        "charge"
    } else {
        "payment_intent"
    };
    let mut form = Form::default().set(target, payment);
    if let Some(amount) = &request.amount {
        let (minor, currency) = money::to_stripe(amount)?;
        // Stripe reads `amount` in the payment's currency: 10.00 USD asked of a JPY
        // payment would refund 1,000 yen.
        if target == "payment_intent" {
            let intent = payments::retrieve(api, payment).await?;
            if intent.currency != currency {
                return Err(PluginError::rejected(format!(
                    "the refund is in {}, the payment {} in {}",
                    amount.currency,
                    payment,
                    intent.currency.to_ascii_uppercase()
                )));
            }
        }
        form = form.set("amount", minor.to_string());
    }
    form = match request.reason.as_deref() {
        Some(reason) if STRIPE_REASONS.contains(&reason) => form.set("reason", reason),
        Some(reason) => form.set("metadata[reason]", reason),
        None => form,
    };
    let refund = api
        .post::<Refund>("refunds", &form, &request.idempotency_key, "creating a refund")
        .await?
        .object;
    let status = match refund.status.as_deref() {
        Some("succeeded") => RefundStatus::Succeeded,
        Some("pending") | Some("requires_action") => RefundStatus::Pending,
        other => {
            return Err(PluginError::rejected(format!(
                "refund {} is {}",
                refund.id,
                other.unwrap_or("without a status")
            )))
        }
    };
    Ok(RefundResult {
        amount: money::from_stripe(refund.amount, &refund.currency),
        vendor_refund_id: refund.id,
        status,
    })
}
