// Storage of the integration registry, written once for both backends (included
// into each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::integrations::{IntegrationRecord, SealedColumns};
use crate::store::rows::IntegrationRow;
use crate::store::schema::integrations;

/// `false` when the tenant already has an integration of that name.
fn unless_name_taken(result: diesel::QueryResult<usize>) -> Result<bool, StoreError> {
    match result {
        Ok(rows) => Ok(rows > 0),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Stores a new integration; `false` when its name is taken in its tenant.
pub async fn insert_integration(conn: &mut Conn, record: &IntegrationRecord) -> Result<bool, StoreError> {
    unless_name_taken(
        diesel::insert_into(integrations::table)
            .values(IntegrationRow::from(record.clone()))
            .execute(conn)
            .await,
    )
}

/// Rewrites an integration's row (all but its id, tenant and creation time);
/// `false` when there is none by that id or the new name is taken.
pub async fn update_integration(conn: &mut Conn, record: &IntegrationRecord) -> Result<bool, StoreError> {
    let row = IntegrationRow::from(record.clone());
    unless_name_taken(
        diesel::update(integrations::table.find(&record.id))
            .set((
                integrations::vendor.eq(row.vendor),
                integrations::name.eq(row.name),
                integrations::category.eq(row.category),
                integrations::priority.eq(row.priority),
                integrations::enabled.eq(row.enabled),
                integrations::base_url.eq(row.base_url),
                integrations::settings.eq(row.settings),
                integrations::credentials_ciphertext.eq(row.credentials_ciphertext),
                integrations::credentials_nonce.eq(row.credentials_nonce),
                integrations::key_id.eq(row.key_id),
                integrations::updated_at.eq(row.updated_at),
            ))
            .execute(conn)
            .await,
    )
}

/// The integration, locked until the transaction ends (PostgreSQL), so that two
/// updates of it do not each overwrite the other's fields.
pub async fn integration_for_update(conn: &mut Conn, id: &str) -> Result<Option<IntegrationRecord>, StoreError> {
    let row: Option<IntegrationRow> = lock_rows!(integrations::table.find(id).select(IntegrationRow::as_select()))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(IntegrationRecord::from))
}

pub async fn integration(conn: &mut Conn, id: &str) -> Result<Option<IntegrationRecord>, StoreError> {
    let row: Option<IntegrationRow> = integrations::table
        .find(id)
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(IntegrationRecord::from))
}

/// A tenant's integrations, of one category or all, in the order they are tried.
pub async fn list_integrations(
    conn: &mut Conn,
    tenant: &str,
    category: Option<&str>,
) -> Result<Vec<IntegrationRecord>, StoreError> {
    let mut query = integrations::table
        .filter(integrations::tenant.eq(tenant))
        .select(IntegrationRow::as_select())
        .into_boxed();
    if let Some(category) = category {
        query = query.filter(integrations::category.eq(category));
    }
    let rows: Vec<IntegrationRow> = query
        .order((integrations::priority, integrations::name))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(IntegrationRecord::from).collect())
}

/// Every integration of every tenant, for key rotation.
pub async fn all_integrations(conn: &mut Conn) -> Result<Vec<IntegrationRecord>, StoreError> {
    let rows: Vec<IntegrationRow> = integrations::table
        .select(IntegrationRow::as_select())
        .order(integrations::id)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(IntegrationRecord::from).collect())
}

/// The priority after the last of the tenant's integrations of `category`.
pub async fn next_integration_priority(conn: &mut Conn, tenant: &str, category: &str) -> Result<i32, StoreError> {
    let highest: Option<i32> = integrations::table
        .filter(integrations::tenant.eq(tenant))
        .filter(integrations::category.eq(category))
        .select(diesel::dsl::max(integrations::priority))
        .first(conn)
        .await?;
    Ok(highest.map_or(1, |p| p + 1))
}

pub async fn set_integration_priority(
    conn: &mut Conn,
    id: &str,
    priority: i32,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    diesel::update(integrations::table.find(id))
        .set((
            integrations::priority.eq(priority),
            integrations::updated_at.eq(StoredInstant(at)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_integration_credentials(
    conn: &mut Conn,
    id: &str,
    sealed: &SealedColumns,
) -> Result<(), StoreError> {
    diesel::update(integrations::table.find(id))
        .set((
            integrations::credentials_ciphertext.eq(&sealed.ciphertext),
            integrations::credentials_nonce.eq(&sealed.nonce),
            integrations::key_id.eq(&sealed.key_id),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// `false` when there is none by that id.
pub async fn delete_integration(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(integrations::table.find(id)).execute(conn).await? > 0)
}
