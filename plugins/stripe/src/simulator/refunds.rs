//! Refunds of a succeeded PaymentIntent (or its charge): all that is left, or part
//! of it, never more than was received.

use serde_json::{json, Value};

use super::payment_intent::{unknown_parameter, SUCCEEDED};
use super::store::{now, Store};
use super::wire::{Call, Reply};
use crate::money;

const CREATE_PARAMS: &[&str] = &[
    "payment_intent",
    "charge",
    "amount",
    "reason",
    "metadata[",
    "expand[",
];
const REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

/// `POST /v1/refunds`.
pub(crate) fn create(store: &mut Store, call: &Call) -> Reply {
    let params = &call.params;
    if let Some(unknown) = params.unknown(CREATE_PARAMS) {
        return unknown_parameter(unknown);
    }
    let intent_id =
        match (params.get("payment_intent"), params.get("charge")) {
            (Some(id), _) => match store.payment_intents.get(id) {
                Some(intent) => intent.id.clone(),
                None => return Reply::no_such("payment_intent", id, Some("payment_intent")),
            },
            (None, Some(charge)) => {
                let paid_by = store.payment_intents.values().find(|intent| {
                    intent.latest_charge.as_deref() == Some(charge) && intent.status == SUCCEEDED
                });
                match paid_by {
                    Some(intent) => intent.id.clone(),
                    None => return Reply::no_such("charge", charge, Some("charge")),
                }
            }
            (None, None) => return Reply::bad_request(
                "One of the following params should be provided for this request: payment_intent or charge.",
                Some("parameter_missing"),
                None,
            ),
        };
    if let Some(reason) = params.get("reason") {
        if !REASONS.contains(&reason) {
            return Reply::bad_request(
                &format!("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer (got {reason})"),
                Some("parameter_invalid_string"),
                Some("reason"),
            );
        }
    }
    let refund_id = store.new_id("re");
    let intent = store
        .payment_intents
        .get_mut(&intent_id)
        .expect("looked up above");
    if intent.status != SUCCEEDED {
        return Reply::bad_request(
            &format!("This PaymentIntent ({intent_id}) does not have a successful charge to refund."),
            None,
            Some("payment_intent"),
        );
    }
    let charge = intent.latest_charge.clone().unwrap_or_default();
    let left = intent.amount_received - intent.amount_refunded;
    if left == 0 {
        return Reply::bad_request(
            &format!("Charge {charge} has already been refunded."),
            Some("charge_already_refunded"),
            None,
        );
    }
    let amount = match params.get("amount").map(str::parse::<i64>) {
        None => left,
        Some(Ok(amount)) if amount >= 1 => amount,
        Some(_) => {
            return Reply::bad_request(
                "Invalid positive integer",
                Some("parameter_invalid_integer"),
                Some("amount"),
            )
        }
    };
    if amount > left {
        let shown = |minor: i64| {
            let money = money::from_stripe(minor, &intent.currency);
            format!("{} {}", money.amount, money.currency)
        };
        return Reply::bad_request(
            &format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                shown(amount),
                shown(left)
            ),
            None,
            Some("amount"),
        );
    }
    intent.amount_refunded += amount;
    let refund = json!({
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": Value::Null,
        "charge": charge,
        "created": now(),
        "currency": intent.currency,
        "metadata": params.nested("metadata"),
        "payment_intent": intent_id,
        "reason": params.get("reason"),
        "status": "succeeded",
    });
    store.refunds.insert(refund_id, refund.clone());
    Reply::ok(refund.clone()).with_event("refund.created", refund)
}

/// `GET /v1/refunds/{id}`.
pub(crate) fn retrieve(store: &mut Store, id: &str) -> Reply {
    match store.refunds.get(id) {
        Some(refund) => Reply::ok(refund.clone()),
        None => Reply::no_such("refund", id, None),
    }
}
