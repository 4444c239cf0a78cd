// Storage of inbound webhooks and patient payments, written once for both backends
// (included into each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::inbound::{NewWebhookEvent, PatientPayment};
use crate::store::schema::{patient_payments, webhook_events};

/// Stores the event; `false` when the integration already sent one with its id
/// (a redelivery), which is then left as it was.
pub async fn insert_webhook_event(conn: &mut Conn, event: &NewWebhookEvent) -> Result<bool, StoreError> {
    let inserted = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::integration_id.eq(&event.integration_id),
            webhook_events::vendor.eq(&event.vendor),
            webhook_events::event_id.eq(&event.event_id),
            webhook_events::event_type.eq(&event.event_type),
            webhook_events::payload.eq(&event.payload),
            webhook_events::status.eq(&event.status),
            webhook_events::note.eq(&event.note),
            webhook_events::received_at.eq(StoredInstant(event.received_at)),
        ))
        .on_conflict((webhook_events::integration_id, webhook_events::event_id))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}

/// Posts the payment; `false` when the same payment or refund was posted before
/// (from another event about it).
pub async fn insert_patient_payment(conn: &mut Conn, payment: &PatientPayment) -> Result<bool, StoreError> {
    let inserted = diesel::insert_into(patient_payments::table)
        .values((
            patient_payments::claim_id.eq(&payment.claim_id),
            patient_payments::integration_id.eq(&payment.integration_id),
            patient_payments::kind.eq(&payment.kind),
            patient_payments::external_id.eq(&payment.external_id),
            patient_payments::amount_minor.eq(payment.amount_minor),
            patient_payments::currency.eq(&payment.currency),
            patient_payments::event_id.eq(&payment.event_id),
            patient_payments::posted_at.eq(StoredInstant(payment.posted_at)),
        ))
        .on_conflict((
            patient_payments::integration_id,
            patient_payments::kind,
            patient_payments::external_id,
        ))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}

/// A `patient_payments` row as selected below.
type PaymentRow = (
    Option<String>,
    String,
    String,
    String,
    i64,
    String,
    String,
    StoredInstant,
);

/// The claim's patient payments and refunds, oldest first.
pub async fn claim_patient_payments(
    conn: &mut Conn,
    claim_id: &str,
) -> Result<Vec<PatientPayment>, StoreError> {
    let rows: Vec<PaymentRow> = patient_payments::table
        .filter(patient_payments::claim_id.eq(claim_id))
        .order(patient_payments::id)
        .select((
            patient_payments::claim_id,
            patient_payments::integration_id,
            patient_payments::kind,
            patient_payments::external_id,
            patient_payments::amount_minor,
            patient_payments::currency,
            patient_payments::event_id,
            patient_payments::posted_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(claim_id, integration_id, kind, external_id, amount_minor, currency, event_id, posted_at)| {
                PatientPayment {
                    claim_id,
                    integration_id,
                    kind,
                    external_id,
                    amount_minor,
                    currency,
                    event_id,
                    posted_at: posted_at.0,
                }
            },
        )
        .collect())
}

/// Whether billing knows the claim (a payment may only point at one it knows).
pub async fn billing_claim_exists(conn: &mut Conn, claim_id: &str) -> Result<bool, StoreError> {
    let found: Option<String> = billing_claims::table
        .filter(billing_claims::claim_id.eq(claim_id))
        .select(billing_claims::claim_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
