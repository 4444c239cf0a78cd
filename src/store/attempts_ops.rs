// Storage of the integration attempt log, written once for both backends (included
// into each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::attempts::{AttemptFilter, AttemptRecord};
use crate::store::rows::AttemptRow;
use crate::store::schema::integration_attempts;

/// Stores a batch of attempts (one statement on PostgreSQL).
pub async fn insert_attempts(conn: &mut Conn, records: &[AttemptRecord]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<AttemptRow> = records.iter().cloned().map(AttemptRow::from).collect();
    insert_together!(conn, [integration_attempts <- rows]);
    Ok(())
}

/// Attempts matching the filter, newest first.
pub async fn list_attempts(
    conn: &mut Conn,
    filter: &AttemptFilter,
) -> Result<Vec<AttemptRecord>, StoreError> {
    let mut query = integration_attempts::table
        .select(AttemptRow::as_select())
        .into_boxed();
    if let Some(tenant) = &filter.tenant {
        query = query.filter(integration_attempts::tenant.eq(tenant));
    }
    if let Some(operation) = &filter.operation {
        query = query.filter(integration_attempts::operation.eq(operation));
    }
    if let Some(subject) = &filter.subject {
        query = query.filter(integration_attempts::subject.eq(subject));
    }
    if let Some(integration_id) = &filter.integration_id {
        query = query.filter(integration_attempts::integration_id.eq(integration_id));
    }
    if let Some(before) = filter.before {
        query = query.filter(integration_attempts::id.lt(before));
    }
    if !filter.except_submissions.is_empty() {
        query = query.filter(
            integration_attempts::submission_id
                .is_null()
                .or(integration_attempts::submission_id.ne_all(&filter.except_submissions)),
        );
    }
    let rows: Vec<AttemptRow> = query
        .order(integration_attempts::id.desc())
        .limit(filter.limit)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(AttemptRecord::from).collect())
}
