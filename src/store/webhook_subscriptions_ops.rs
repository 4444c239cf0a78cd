// Storage of outbound webhook subscriptions and their delivery log, written once
// for both backends (included into each backend module of `store/mod.rs`, like
// `ops.rs`).

use crate::store::integrations::SealedColumns as SubscriptionSecret;
use crate::store::schema::{webhook_deliveries, webhook_subscriptions};
use crate::store::webhook_subscriptions::{DeliveryRecord, SubscriptionRecord, WebhookTarget};
use crate::store::webhook_subscriptions_rows::{event_names, DeliveryRow, SubscriptionRow};

pub async fn insert_webhook_subscription(
    conn: &mut Conn,
    record: &SubscriptionRecord,
) -> Result<(), StoreError> {
    diesel::insert_into(webhook_subscriptions::table)
        .values(SubscriptionRow::from(record))
        .execute(conn)
        .await?;
    Ok(())
}

/// Rewrites what an admin may change (url, events, enabled, secret); `false` when
/// there is none by that id.
pub async fn update_webhook_subscription(
    conn: &mut Conn,
    record: &SubscriptionRecord,
) -> Result<bool, StoreError> {
    let row = SubscriptionRow::from(record);
    let updated = diesel::update(webhook_subscriptions::table.find(&record.id))
        .set((
            webhook_subscriptions::url.eq(row.url),
            webhook_subscriptions::events.eq(row.events),
            webhook_subscriptions::secret_ciphertext.eq(row.secret_ciphertext),
            webhook_subscriptions::secret_nonce.eq(row.secret_nonce),
            webhook_subscriptions::key_id.eq(row.key_id),
            webhook_subscriptions::enabled.eq(row.enabled),
            webhook_subscriptions::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await?;
    Ok(updated > 0)
}

pub async fn webhook_subscription(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<SubscriptionRecord>, StoreError> {
    let row: Option<SubscriptionRow> = webhook_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(SubscriptionRecord::try_from).transpose()
}

/// The subscription, locked until the transaction ends (PostgreSQL), so that two
/// updates of it do not each overwrite the other's fields.
pub async fn webhook_subscription_for_update(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<SubscriptionRecord>, StoreError> {
    let row: Option<SubscriptionRow> = lock_rows!(webhook_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select()))
    .first(conn)
    .await
    .optional()?;
    row.map(SubscriptionRecord::try_from).transpose()
}

/// A tenant's subscriptions, oldest first.
pub async fn list_webhook_subscriptions(
    conn: &mut Conn,
    tenant: &str,
) -> Result<Vec<SubscriptionRecord>, StoreError> {
    let rows: Vec<SubscriptionRow> = webhook_subscriptions::table
        .filter(webhook_subscriptions::tenant.eq(tenant))
        .order((webhook_subscriptions::created_at, webhook_subscriptions::id))
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(SubscriptionRecord::try_from).collect()
}

/// Every subscription of every tenant, for key rotation.
pub async fn all_webhook_subscriptions(conn: &mut Conn) -> Result<Vec<SubscriptionRecord>, StoreError> {
    let rows: Vec<SubscriptionRow> = webhook_subscriptions::table
        .order(webhook_subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(SubscriptionRecord::try_from).collect()
}

pub async fn set_webhook_secret(
    conn: &mut Conn,
    id: &str,
    sealed: &SubscriptionSecret,
) -> Result<(), StoreError> {
    diesel::update(webhook_subscriptions::table.find(id))
        .set((
            webhook_subscriptions::secret_ciphertext.eq(&sealed.ciphertext),
            webhook_subscriptions::secret_nonce.eq(&sealed.nonce),
            webhook_subscriptions::key_id.eq(&sealed.key_id),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// `false` when there is none by that id. Its deliveries go with it (the foreign
/// key cascades).
pub async fn delete_webhook_subscription(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(webhook_subscriptions::table.find(id))
        .execute(conn)
        .await?
        > 0)
}

/// Every enabled subscription of every tenant: what events are matched against.
pub async fn enabled_webhook_targets(conn: &mut Conn) -> Result<Vec<WebhookTarget>, StoreError> {
    let rows: Vec<(String, String, String)> = webhook_subscriptions::table
        .filter(webhook_subscriptions::enabled.eq(true))
        .select((
            webhook_subscriptions::id,
            webhook_subscriptions::tenant,
            webhook_subscriptions::events,
        ))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(id, tenant, events)| {
            Ok(WebhookTarget {
                events: event_names(&id, &events)?,
                id,
                tenant,
            })
        })
        .collect()
}

pub async fn insert_webhook_delivery(conn: &mut Conn, record: &DeliveryRecord) -> Result<(), StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values(DeliveryRow::from(record))
        .execute(conn)
        .await?;
    Ok(())
}

/// A subscription's delivery attempts, newest first, before an id (keyset pages).
pub async fn list_webhook_deliveries(
    conn: &mut Conn,
    subscription_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    let rows: Vec<DeliveryRow> = query
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .load(conn)
        .await?;
    rows.into_iter().map(DeliveryRecord::try_from).collect()
}
