//! What a verified vendor event does. Payment processors' events post patient
//! payments and refunds; other events are stored and acknowledged as `ignored`.
//! The clearinghouses Claimbridge speaks to send no claim webhooks (Claim.MD and
//! Availity report through feeds and status calls), so claim states move through
//! the status-sync jobs rather than here.

use chrono::Utc;
use claimbridge_plugin_sdk::WebhookEvent;
use serde_json::{json, Value};

use crate::integrations::registry::DEFAULT_TENANT;
use crate::outbound_webhooks::events::{emit, EventType};
use crate::store::inbound::PatientPayment;
use crate::store::{Session, StoreError};

/// The metadata key payments carry the claim they pay in (set when Claimbridge
/// creates the payment).
pub const CLAIM_METADATA: &str = "claim_id";

/// What applying an event did: `applied` or `ignored`, and a note.
pub struct Applied {
    pub status: &'static str,
    pub note: String,
}

/// Applies a Stripe event in the caller's transaction.
pub async fn stripe_event(
    tx: &mut Session,
    integration_id: &str,
    event: &WebhookEvent,
) -> Result<Applied, StoreError> {
    let object = &event.payload["data"]["object"];
    let posted = match event.event_type.as_str() {
        "payment_intent.succeeded" => Some(("payment", object["amount_received"].as_i64(), object)),
        "refund.created" | "refund.updated" if object["status"] == "succeeded" => {
            Some(("refund", object["amount"].as_i64(), object))
        }
        _ => None,
    };
    let Some((kind, Some(amount_minor), object)) = posted else {
        return Ok(Applied {
            status: "ignored",
            note: format!("{} is not an event Claimbridge acts on", event.event_type),
        });
    };
    let claim_id = match claim_of(object) {
        Some(claim_id) if tx.billing_claim_exists(&claim_id).await? => Some(claim_id),
        _ => None,
    };
    let payment = PatientPayment {
        claim_id: claim_id.clone(),
        integration_id: integration_id.to_owned(),
        kind: kind.to_owned(),
        external_id: object["id"].as_str().unwrap_or_default().to_owned(),
        amount_minor,
        currency: object["currency"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_uppercase(),
        event_id: event.id.clone(),
        posted_at: Utc::now(),
    };
    let posted = tx.insert_patient_payment(&payment).await?;
    if posted && kind == "payment" {
        // Told to subscribers like a payer's payment; the amount in minor units,
        // the processor's currency named.
        let data = json!({
            "claimId": claim_id,
            "source": "patient",
            "amountMinor": payment.amount_minor,
            "currency": payment.currency,
        });
        emit(tx, EventType::PaymentReceived, DEFAULT_TENANT, data).await?;
    }
    Ok(Applied {
        status: "applied",
        note: match (posted, claim_id) {
            (false, _) => format!("{kind} {} was posted before", payment.external_id),
            (true, Some(claim)) => format!("{kind} posted to claim {claim}"),
            (true, None) => format!("{kind} posted without a claim"),
        },
    })
}

/// A PaymentIntent names its claim in its metadata; a refund in its own or in
/// the metadata Stripe copies from the payment.
fn claim_of(object: &Value) -> Option<String> {
    object["metadata"][CLAIM_METADATA]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}
