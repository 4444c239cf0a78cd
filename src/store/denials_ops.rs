// Storage of denials, written once for both backends (included into each backend
// module of `store/mod.rs`, like `ops.rs`).

use crate::store::denials::{DenialFilter, DenialRecord, NewDenialRecord, Resolution};
use crate::store::rows::{DenialRow, NewDenialRow};
use crate::store::schema::claim_denials;

pub async fn insert_denial(conn: &mut Conn, record: &NewDenialRecord) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(claim_denials::table)
        .values(NewDenialRow::from(record))
        .returning(claim_denials::id)
        .get_result(conn)
        .await?)
}

/// The claim's denials, oldest first.
pub async fn claim_denials(conn: &mut Conn, claim_id: &str) -> Result<Vec<DenialRecord>, StoreError> {
    let rows: Vec<DenialRow> = claim_denials::table
        .filter(claim_denials::claim_id.eq(claim_id))
        .order(claim_denials::id)
        .select(DenialRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(DenialRecord::from).collect())
}

/// How many times `playbook_id` has handled the claim's denials before.
pub async fn playbook_attempts(conn: &mut Conn, claim_id: &str, playbook_id: &str) -> Result<i64, StoreError> {
    Ok(claim_denials::table
        .filter(claim_denials::claim_id.eq(claim_id))
        .filter(claim_denials::playbook_id.eq(playbook_id))
        .count()
        .get_result(conn)
        .await?)
}

/// A page of denials, newest first.
pub async fn list_denials(conn: &mut Conn, filter: &DenialFilter) -> Result<Vec<DenialRecord>, StoreError> {
    let mut query = claim_denials::table.select(DenialRow::as_select()).into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(claim_denials::status.eq(status));
    }
    if let Some(action) = &filter.action {
        query = query.filter(claim_denials::action.eq(action));
    }
    if let Some(assignee) = &filter.assignee {
        query = query.filter(claim_denials::assignee.eq(assignee));
    }
    if let Some(category) = &filter.category {
        query = query.filter(claim_denials::category.eq(category));
    }
    if let Some(before) = filter.before {
        query = query.filter(claim_denials::id.lt(before));
    }
    let rows: Vec<DenialRow> = query
        .order(claim_denials::id.desc())
        .limit(filter.limit)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(DenialRecord::from).collect())
}

/// Marks an unresolved denial resolved; `None` when there is no such denial or it
/// was resolved already (the caller tells which).
pub async fn resolve_denial(
    conn: &mut Conn,
    id: i64,
    resolution: &Resolution<'_>,
) -> Result<Option<DenialRecord>, StoreError> {
    let at = resolution.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let resolution_json = serde_json::json!({"at": at, "by": resolution.by, "note": resolution.note}).to_string();
    let row: Option<DenialRow> = diesel::update(
        claim_denials::table
            .find(id)
            .filter(claim_denials::status.ne("resolved")),
    )
    .set((
        claim_denials::status.eq("resolved"),
        claim_denials::resolution.eq(Some(resolution_json)),
    ))
    .returning(DenialRow::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(DenialRecord::from))
}

pub async fn denial(conn: &mut Conn, id: i64) -> Result<Option<DenialRecord>, StoreError> {
    let row: Option<DenialRow> = claim_denials::table
        .find(id)
        .select(DenialRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(DenialRecord::from))
}
