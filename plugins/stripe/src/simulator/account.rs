//! The account-level reads: the balance (what the connection test asks for) and
//! events by id (what a webhook receiver may fetch back).

use std::collections::BTreeMap;

use serde_json::json;

use super::store::Store;
use super::wire::Reply;

/// `GET /v1/balance`: what succeeded payments brought in, less refunds, per
/// currency, all of it available at once (the simulator has no payout schedule).
pub(crate) fn balance(store: &mut Store) -> Reply {
    let mut per_currency: BTreeMap<&str, i64> = BTreeMap::new();
    for intent in store.payment_intents.values() {
        *per_currency.entry(intent.currency.as_str()).or_default() +=
            intent.amount_received - intent.amount_refunded;
    }
    if per_currency.is_empty() {
        per_currency.insert("usd", 0);
    }
    let funds = |amounts: &BTreeMap<&str, i64>, zero: bool| {
        amounts
            .iter()
            .map(|(currency, amount)| {
                let amount = if zero { 0 } else { *amount };
                json!({"amount": amount, "currency": currency, "source_types": {"card": amount}})
            })
            .collect::<Vec<_>>()
    };
    Reply::ok(json!({
        "object": "balance",
        "available": funds(&per_currency, false),
        "pending": funds(&per_currency, true),
        "livemode": false,
    }))
}

/// `GET /v1/events/{id}`.
pub(crate) fn event(store: &mut Store, id: &str) -> Reply {
    match store.events.get(id) {
        Some(event) => Reply::ok(event.clone()),
        None => Reply::no_such("event", id, None),
    }
}
