//! PaymentIntents and their state machine (docs.stripe.com/payments/paymentintents/lifecycle):
//!
//! ```text
//! requires_payment_method ──(payment_method)──▶ requires_confirmation ──confirm──▶ succeeded
//!        ▲                                                │
//!        └──────────── declined (402 card_error) ◀────────┤
//!                                                         └──▶ requires_action ──(3-D Secure done)──▶ succeeded
//! any state before succeeded ──cancel──▶ canceled
//! ```
//!
//! The outcome of a confirmation comes from Stripe's test PaymentMethods
//! (docs.stripe.com/testing): `pm_card_visa` and friends succeed,
//! `pm_card_chargeDeclined…` decline with their decline codes, and
//! `pm_card_authenticationRequired` asks for 3-D Secure.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use super::store::{now, Store};
use super::wire::{Call, Reply};

pub(crate) const REQUIRES_PAYMENT_METHOD: &str = "requires_payment_method";
const REQUIRES_CONFIRMATION: &str = "requires_confirmation";
pub(crate) const REQUIRES_ACTION: &str = "requires_action";
pub(crate) const SUCCEEDED: &str = "succeeded";
const CANCELED: &str = "canceled";

/// What confirming with a test PaymentMethod does.
enum Card {
    Succeeds,
    Declines {
        code: &'static str,
        decline_code: &'static str,
        message: &'static str,
    },
    NeedsAuthentication,
}

fn test_card(payment_method: &str) -> Option<Card> {
    const DECLINED: &str = "Your card was declined.";
    let declines = |code, decline_code, message| Card::Declines {
        code,
        decline_code,
        message,
    };
    Some(match payment_method {
        "pm_card_visa"
        | "pm_card_visa_debit"
        | "pm_card_mastercard"
        | "pm_card_mastercard_debit"
        | "pm_card_amex"
        | "pm_card_discover"
        | "pm_card_diners"
        | "pm_card_jcb"
        | "pm_card_unionpay"
        | "pm_card_us" => Card::Succeeds,
        "pm_card_chargeDeclined" => declines("card_declined", "generic_decline", DECLINED),
        "pm_card_chargeDeclinedInsufficientFunds" => declines(
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        "pm_card_chargeDeclinedLostCard" => declines("card_declined", "lost_card", DECLINED),
        "pm_card_chargeDeclinedStolenCard" => declines("card_declined", "stolen_card", DECLINED),
        "pm_card_chargeDeclinedFraudulent" => declines("card_declined", "fraudulent", DECLINED),
        "pm_card_chargeDeclinedExpiredCard" => {
            declines("expired_card", "expired_card", "Your card has expired.")
        }
        "pm_card_chargeDeclinedIncorrectCvc" => declines(
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
        ),
        "pm_card_chargeDeclinedProcessingError" => declines(
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        "pm_card_authenticationRequired" | "pm_card_threeDSecure2Required" => Card::NeedsAuthentication,
        _ => return None,
    })
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub status: &'static str,
    pub created: i64,
    pub amount_received: i64,
    pub amount_refunded: i64,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<Value>,
    /// Payment methods from the Dashboard, some of which may redirect.
    pub automatic_payment_methods: bool,
    pub allow_redirects: bool,
    pub cancellation_reason: Option<String>,
}

impl PaymentIntent {
    pub fn to_json(&self) -> Value {
        let next_action = (self.status == REQUIRES_ACTION).then(|| {
            json!({"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": "https://hooks.stripe.com/3d_secure_2/hosted"}})
        });
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_received": self.amount_received,
            "automatic_payment_methods": if self.automatic_payment_methods {
                json!({"enabled": true, "allow_redirects": if self.allow_redirects { "always" } else { "never" }})
            } else {
                Value::Null
            },
            "canceled_at": Value::Null,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": "automatic",
            "client_secret": format!("{}_secret_simulated", self.id),
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": next_action,
            "payment_method": self.payment_method,
            "payment_method_types": ["card"],
            "status": self.status,
        })
    }
}

const CREATE_PARAMS: &[&str] = &[
    "amount",
    "currency",
    "customer",
    "payment_method",
    "confirm",
    "description",
    "metadata[",
    "automatic_payment_methods[enabled]",
    "automatic_payment_methods[allow_redirects]",
    "payment_method_types[",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "off_session",
    "statement_descriptor_suffix",
    "expand[",
];

const CONFIRM_PARAMS: &[&str] = &["payment_method", "return_url", "off_session", "expand["];

/// `POST /v1/payment_intents`.
pub(crate) fn create(store: &mut Store, call: &Call) -> Reply {
    let params = &call.params;
    if let Some(unknown) = params.unknown(CREATE_PARAMS) {
        return unknown_parameter(unknown);
    }
    let amount = match params.get("amount").map(str::parse::<i64>) {
        None => {
            return Reply::bad_request(
                "Missing required param: amount.",
                Some("parameter_missing"),
                Some("amount"),
            )
        }
        Some(Ok(amount)) if amount >= 1 => amount,
        Some(_) => {
            return Reply::bad_request(
                "Invalid positive integer",
                Some("parameter_invalid_integer"),
                Some("amount"),
            )
        }
    };
    let currency = match params.get("currency") {
        None => {
            return Reply::bad_request(
                "Missing required param: currency.",
                Some("parameter_missing"),
                Some("currency"),
            )
        }
        Some(currency) if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_lowercase()) => currency,
        Some(other) => {
            return Reply::bad_request(&format!("Invalid currency: {other}."), None, Some("currency"))
        }
    };
    let customer = params.get("customer").map(str::to_owned);
    if let Some(id) = &customer {
        if !store.customers.contains_key(id) {
            return Reply::no_such("customer", id, Some("customer"));
        }
    }
    let payment_method = params.get("payment_method").map(str::to_owned);
    if let Some(pm) = &payment_method {
        if test_card(pm).is_none() {
            return Reply::no_such("PaymentMethod", pm, Some("payment_method"));
        }
    }
    let confirm = params.get("confirm") == Some("true");
    // Since 2023-08-16 a PaymentIntent without payment_method_types takes the
    // Dashboard's methods, which may redirect unless told not to.
    let automatic = params.nested("payment_method_types").is_empty();
    let allow_redirects = params.get("automatic_payment_methods[allow_redirects]") != Some("never");
    if confirm {
        if let Some(refused) = refuse_redirects(automatic && allow_redirects, params.get("return_url")) {
            return refused;
        }
    }
    let intent = PaymentIntent {
        id: store.new_id("pi"),
        amount,
        currency: currency.to_owned(),
        customer,
        status: if payment_method.is_some() {
            REQUIRES_CONFIRMATION
        } else {
            REQUIRES_PAYMENT_METHOD
        },
        payment_method,
        description: params.get("description").map(str::to_owned),
        metadata: params.nested("metadata"),
        created: now(),
        amount_received: 0,
        amount_refunded: 0,
        latest_charge: None,
        last_payment_error: None,
        automatic_payment_methods: automatic,
        allow_redirects: automatic && allow_redirects,
        cancellation_reason: None,
    };
    let id = intent.id.clone();
    store.payment_intents.insert(id.clone(), intent);
    if confirm {
        confirm_now(store, &id)
    } else {
        Reply::ok(store.payment_intents[&id].to_json())
    }
}

/// `GET /v1/payment_intents/{id}`.
pub(crate) fn retrieve(store: &mut Store, id: &str) -> Reply {
    match store.payment_intents.get(id) {
        Some(intent) => Reply::ok(intent.to_json()),
        None => Reply::no_such("payment_intent", id, None),
    }
}

/// `POST /v1/payment_intents/{id}/confirm`.
pub(crate) fn confirm(store: &mut Store, call: &Call, id: &str) -> Reply {
    let params = &call.params;
    if let Some(unknown) = params.unknown(CONFIRM_PARAMS) {
        return unknown_parameter(unknown);
    }
    let Some(intent) = store.payment_intents.get_mut(id) else {
        return Reply::no_such("payment_intent", id, None);
    };
    if let Some(pm) = params.get("payment_method") {
        if test_card(pm).is_none() {
            return Reply::no_such("PaymentMethod", pm, Some("payment_method"));
        }
        if intent.status == REQUIRES_PAYMENT_METHOD || intent.status == REQUIRES_CONFIRMATION {
            intent.payment_method = Some(pm.to_owned());
            intent.status = REQUIRES_CONFIRMATION;
        }
    }
    if let Some(refused) = refuse_redirects(intent.allow_redirects, params.get("return_url")) {
        return refused;
    }
    confirm_now(store, id)
}

/// `POST /v1/payment_intents/{id}/cancel`.
pub(crate) fn cancel(store: &mut Store, call: &Call, id: &str) -> Reply {
    let Some(intent) = store.payment_intents.get_mut(id) else {
        return Reply::no_such("payment_intent", id, None);
    };
    let reason = call.params.get("cancellation_reason");
    if let Some(reason) = reason {
        if !["duplicate", "fraudulent", "requested_by_customer", "abandoned"].contains(&reason) {
            return Reply::bad_request(
                &format!("Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned (got {reason})"),
                Some("parameter_invalid_string"),
                Some("cancellation_reason"),
            );
        }
    }
    if intent.status == SUCCEEDED || intent.status == CANCELED {
        return unexpected_state(intent, "cancel");
    }
    intent.status = CANCELED;
    intent.cancellation_reason = reason.map(str::to_owned);
    let object = intent.to_json();
    Reply::ok(object.clone()).with_event("payment_intent.canceled", object)
}

/// What the customer finishing 3-D Secure does: `requires_action` → `succeeded`.
pub(crate) fn complete_authentication(store: &mut Store, id: &str) -> Option<Result<Value, String>> {
    let charge = store.new_id("ch");
    let intent = store.payment_intents.get_mut(id)?;
    if intent.status != REQUIRES_ACTION {
        return Some(Err(format!("{id} is {}, not {REQUIRES_ACTION}", intent.status)));
    }
    succeed(intent, charge);
    Some(Ok(intent.to_json()))
}

/// Confirms `id` with the payment method it holds.
fn confirm_now(store: &mut Store, id: &str) -> Reply {
    let charge = store.new_id("ch");
    let Some(intent) = store.payment_intents.get_mut(id) else {
        return Reply::no_such("payment_intent", id, None);
    };
    if intent.status != REQUIRES_CONFIRMATION && intent.status != REQUIRES_PAYMENT_METHOD {
        return unexpected_state(intent, "confirm");
    }
    let Some(card) = intent.payment_method.as_deref().and_then(test_card) else {
        return Reply::bad_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a payment method, pass `payment_method`.",
            Some("payment_intent_unexpected_state"),
            Some("payment_method"),
        );
    };
    match card {
        Card::Succeeds => {
            succeed(intent, charge);
            let object = intent.to_json();
            Reply::ok(object.clone()).with_event("payment_intent.succeeded", object)
        }
        Card::NeedsAuthentication => {
            intent.status = REQUIRES_ACTION;
            let object = intent.to_json();
            Reply::ok(object.clone()).with_event("payment_intent.requires_action", object)
        }
        Card::Declines {
            code,
            decline_code,
            message,
        } => {
            let error = json!({
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "charge": charge,
                "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                "payment_method": {"id": intent.payment_method, "object": "payment_method", "type": "card"},
            });
            intent.status = REQUIRES_PAYMENT_METHOD;
            intent.last_payment_error = Some(error.clone());
            intent.latest_charge = Some(charge);
            intent.payment_method = None;
            let object = intent.to_json();
            let mut body = json!({ "error": error });
            body["error"]["payment_intent"] = object.clone();
            // Execution began: the decline is saved for the key like any answer.
            Reply {
                status: StatusCode::PAYMENT_REQUIRED,
                body,
                saved: true,
                events: vec![("payment_intent.payment_failed", object)],
            }
        }
    }
}

fn succeed(intent: &mut PaymentIntent, charge: String) {
    intent.status = SUCCEEDED;
    intent.amount_received = intent.amount;
    intent.latest_charge = Some(charge);
    intent.last_payment_error = None;
}

/// Stripe's refusal to confirm server-side what may need to redirect the customer.
fn refuse_redirects(redirects_allowed: bool, return_url: Option<&str>) -> Option<Reply> {
    (redirects_allowed && return_url.is_none()).then(|| {
        Reply::bad_request(
            "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
            None,
            None,
        )
    })
}

fn unexpected_state(intent: &PaymentIntent, verb: &str) -> Reply {
    Reply::bad_request(
        &format!(
            "You cannot {verb} this PaymentIntent because it has a status of {}.",
            intent.status
        ),
        Some("payment_intent_unexpected_state"),
        None,
    )
}

pub(crate) fn unknown_parameter(name: &str) -> Reply {
    Reply::bad_request(
        &format!("Received unknown parameter: {name}"),
        Some("parameter_unknown"),
        Some(name),
    )
}
