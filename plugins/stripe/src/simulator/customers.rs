//! Customers: create, retrieve, and list (optionally by exact `email`), newest
//! first, in Stripe's list envelope.

use serde_json::{json, Value};

use super::payment_intent::unknown_parameter;
use super::store::{now, Store};
use super::wire::{Call, Reply};

const CREATE_PARAMS: &[&str] = &[
    "name",
    "email",
    "phone",
    "description",
    "metadata[",
    "payment_method",
    "expand[",
];

/// `POST /v1/customers`.
pub(crate) fn create(store: &mut Store, call: &Call) -> Reply {
    let params = &call.params;
    if let Some(unknown) = params.unknown(CREATE_PARAMS) {
        return unknown_parameter(unknown);
    }
    let id = store.new_id("cus");
    let customer = json!({
        "id": id,
        "object": "customer",
        "created": now(),
        "description": params.get("description"),
        "email": params.get("email"),
        "livemode": false,
        "metadata": params.nested("metadata"),
        "name": params.get("name"),
        "phone": params.get("phone"),
    });
    store.customers.insert(id, customer.clone());
    Reply::ok(customer.clone()).with_event("customer.created", customer)
}

/// `GET /v1/customers/{id}`.
pub(crate) fn retrieve(store: &mut Store, id: &str) -> Reply {
    match store.customers.get(id) {
        Some(customer) => Reply::ok(customer.clone()),
        None => Reply::no_such("customer", id, None),
    }
}

/// `GET /v1/customers?email=…&limit=…`.
pub(crate) fn list(store: &mut Store, call: &Call) -> Reply {
    let params = &call.params;
    if let Some(unknown) = params.unknown(&["email", "limit", "starting_after", "ending_before", "expand["]) {
        return unknown_parameter(unknown);
    }
    let limit = match params.get("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => {
            return Reply::bad_request(
                "Invalid integer: limit must be between 1 and 100",
                Some("parameter_invalid_integer"),
                Some("limit"),
            )
        }
    };
    let email = params.get("email");
    let mut matching: Vec<&Value> = store
        .customers
        .values()
        .filter(|customer| email.is_none_or(|email| customer["email"] == email))
        .collect();
    // Ids grow with creation: newest first, as Stripe lists.
    matching.reverse();
    let has_more = matching.len() > limit;
    matching.truncate(limit);
    Reply::ok(json!({"object": "list", "data": matching, "has_more": has_more, "url": "/v1/customers"}))
}
