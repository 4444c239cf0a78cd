//! `patient_payment`: the patient's Customer (reused, found, or created), then one
//! PaymentIntent created and confirmed in the same call with the payment method the
//! front end tokenized, under the caller's idempotency key.
//!
//! Redirect-based methods are excluded (`automatic_payment_methods[allow_redirects]
//! =never`): the payment is confirmed server-side, with no page to return to. A card
//! that needs 3-D Secure still answers `requires_action`; a webhook says how it ends.

use std::collections::BTreeMap;

use claimbridge_plugin_sdk::{
    Customer, IdempotencyKey, PaymentRequest, PaymentResult, PaymentStatus, PluginError,
};
use serde::Deserialize;

use crate::api::{Form, StripeApi};
use crate::error::StripeError;
use crate::money;

/// Metadata key that ties Stripe objects (and their webhooks) back to the patient.
const PATIENT_ID: &str = "patient_id";

/// The fields of a PaymentIntent this plugin reads.
#[derive(Debug, Deserialize)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub last_payment_error: Option<StripeError>,
}

#[derive(Deserialize)]
struct CustomerObject {
    id: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct CustomerList {
    data: Vec<CustomerObject>,
}

pub(crate) async fn pay(api: &StripeApi, request: &PaymentRequest) -> Result<PaymentResult, PluginError> {
    let (amount, currency) = money::to_stripe(&request.amount)?;
    if request.payment_method.trim().is_empty() {
        return Err(PluginError::rejected("no payment method to charge"));
    }
    let customer = customer_for(api, &request.customer, &request.idempotency_key).await?;
    let mut metadata = request.metadata.clone();
    metadata
        .entry(PATIENT_ID.to_owned())
        .or_insert_with(|| request.customer.patient_id.clone());
    let form = Form::default()
        .set("amount", amount.to_string())
        .set("currency", currency)
        .set("customer", customer.as_str())
        .set("payment_method", request.payment_method.as_str())
        .set("confirm", "true")
        .set("automatic_payment_methods[enabled]", "true")
        .set("automatic_payment_methods[allow_redirects]", "never")
        .set_optional("description", request.description.as_deref())
        .nested("metadata", &metadata);
    let answer = api
        .post::<PaymentIntent>(
            "payment_intents",
            &form,
            &request.idempotency_key,
            "creating and confirming a PaymentIntent",
        )
        .await?;
    // A replay carries the PaymentIntent as it was when first answered (say
    // `requires_action`); what it is now is what the caller needs.
    let intent = if answer.replayed {
        retrieve(api, &answer.object.id).await?
    } else {
        answer.object
    };
    result_of(intent, customer)
}

pub(crate) async fn retrieve(api: &StripeApi, id: &str) -> Result<PaymentIntent, PluginError> {
    Ok(api
        .get::<PaymentIntent>(
            &format!("payment_intents/{id}"),
            &[],
            "retrieving the PaymentIntent",
        )
        .await?
        .object)
}

/// The customer to charge: the one the caller knows, else the one Stripe holds for
/// this patient (found by email, confirmed by `metadata[patient_id]`), else a new
/// one — created under a key derived from the payment's, so a retried payment does
/// not create a second customer.
async fn customer_for(
    api: &StripeApi,
    customer: &Customer,
    payment_key: &IdempotencyKey,
) -> Result<String, PluginError> {
    if let Some(id) = &customer.vendor_customer_id {
        return Ok(id.clone());
    }
    if let Some(email) = &customer.email {
        let found = api
            .get::<CustomerList>(
                "customers",
                &[("email", email.as_str()), ("limit", "100")],
                "looking up the patient's Customer",
            )
            .await?
            .object
            .data
            .into_iter()
            .find(|candidate| candidate.metadata.get(PATIENT_ID) == Some(&customer.patient_id));
        if let Some(found) = found {
            return Ok(found.id);
        }
    }
    let form = Form::default()
        .set_optional("name", customer.name.as_deref())
        .set_optional("email", customer.email.as_deref())
        .set(&format!("metadata[{PATIENT_ID}]"), customer.patient_id.as_str());
    let key = IdempotencyKey(format!("{}:customer", payment_key.0));
    let created = api
        .post::<CustomerObject>("customers", &form, &key, "creating the patient's Customer")
        .await?;
    Ok(created.object.id)
}

fn result_of(intent: PaymentIntent, customer: String) -> Result<PaymentResult, PluginError> {
    let status = match intent.status.as_str() {
        "succeeded" => PaymentStatus::Succeeded,
        "processing" => PaymentStatus::Processing,
        "requires_action" => PaymentStatus::RequiresAction,
        "requires_payment_method" => {
            let why = intent
                .last_payment_error
                .map(|error| error.describe())
                .unwrap_or_else(|| "no payment method succeeded".to_owned());
            return Err(PluginError::rejected(format!(
                "PaymentIntent {} failed: {why}",
                intent.id
            )));
        }
        other => {
            return Err(PluginError::rejected(format!(
                "PaymentIntent {} is {other}, not a payment under way",
                intent.id
            )))
        }
    };
    Ok(PaymentResult {
        amount: money::from_stripe(intent.amount, &intent.currency),
        vendor_customer_id: intent.customer.or(Some(customer)),
        vendor_payment_id: intent.id,
        status,
    })
}
