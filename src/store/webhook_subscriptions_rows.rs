//! Row types of outbound webhooks: how `store::webhook_subscriptions` maps onto the
//! `webhook_subscriptions` and `webhook_deliveries` tables.

use diesel::prelude::*;

use crate::store::integrations::SealedColumns;
use crate::store::schema::{webhook_deliveries, webhook_subscriptions};
use crate::store::sql_types::StoredInstant;
use crate::store::webhook_subscriptions::{DeliveryRecord, DeliveryStatus, SubscriptionRecord};
use crate::store::StoreError;

/// A row of `webhook_subscriptions`, read or written whole.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionRow {
    pub id: String,
    pub tenant: String,
    pub url: String,
    /// JSON array text.
    pub events: String,
    pub secret_ciphertext: String,
    pub secret_nonce: String,
    pub key_id: String,
    pub enabled: bool,
    pub created_at: StoredInstant,
    pub updated_at: StoredInstant,
}

impl From<&SubscriptionRecord> for SubscriptionRow {
    fn from(record: &SubscriptionRecord) -> Self {
        SubscriptionRow {
            id: record.id.clone(),
            tenant: record.tenant.clone(),
            url: record.url.clone(),
            events: serde_json::Value::from(record.events.clone()).to_string(),
            secret_ciphertext: record.secret.ciphertext.clone(),
            secret_nonce: record.secret.nonce.clone(),
            key_id: record.secret.key_id.clone(),
            enabled: record.enabled,
            created_at: StoredInstant(record.created_at),
            updated_at: StoredInstant(record.updated_at),
        }
    }
}

impl TryFrom<SubscriptionRow> for SubscriptionRecord {
    type Error = StoreError;

    fn try_from(row: SubscriptionRow) -> Result<Self, StoreError> {
        Ok(SubscriptionRecord {
            events: event_names(&row.id, &row.events)?,
            id: row.id,
            tenant: row.tenant,
            url: row.url,
            secret: SealedColumns {
                ciphertext: row.secret_ciphertext,
                nonce: row.secret_nonce,
                key_id: row.key_id,
            },
            enabled: row.enabled,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

/// The `events` column of subscription `id`: a JSON array of names.
pub fn event_names(id: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|_| StoreError::Corrupt(format!("events of webhook subscription {id} do not read")))
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
#[diesel(treat_none_as_default_value = false)]
pub struct DeliveryRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i32,
    pub status: String,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub delivered_at: StoredInstant,
}

impl From<&DeliveryRecord> for DeliveryRow {
    fn from(record: &DeliveryRecord) -> Self {
        DeliveryRow {
            id: 0,
            subscription_id: record.subscription_id.clone(),
            event_id: record.event_id.clone(),
            event_type: record.event_type.clone(),
            attempt: record.attempt,
            status: record.status.as_str().to_owned(),
            http_status: record.http_status,
            error: record.error.clone(),
            latency_ms: record.latency_ms,
            delivered_at: StoredInstant(record.delivered_at),
        }
    }
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Self, StoreError> {
        Ok(DeliveryRecord {
            id: Some(row.id),
            status: DeliveryStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("webhook delivery status {:?}", row.status)))?,
            subscription_id: row.subscription_id,
            event_id: row.event_id,
            event_type: row.event_type,
            attempt: row.attempt,
            http_status: row.http_status,
            error: row.error,
            latency_ms: row.latency_ms,
            delivered_at: row.delivered_at.0,
        })
    }
}
