// The billers' worklist, written once for both backends (included into each backend
// module of `store/mod.rs`, like `ops.rs`).

use crate::store::worklist::{WorklistFilter, WorklistRow};
// `billing_claims` and `claim_denials` come from billing_ops.rs and denials_ops.rs,
// included beside this file.

type WorklistColumns = (
    i64,
    String,
    String,
    StoredInstant,
    StoredInstant,
    Option<i64>,
    Option<String>,
    Option<String>,
);

const WORKLIST_COLUMNS: (
    billing_claims::id,
    billing_claims::claim_id,
    billing_claims::state,
    billing_claims::created_at,
    billing_claims::updated_at,
    billing_claims::charge_cents,
    billing_claims::payer,
    billing_claims::assignee,
) = (
    billing_claims::id,
    billing_claims::claim_id,
    billing_claims::state,
    billing_claims::created_at,
    billing_claims::updated_at,
    billing_claims::charge_cents,
    billing_claims::payer,
    billing_claims::assignee,
);

fn worklist_row(row: WorklistColumns) -> WorklistRow {
    WorklistRow {
        id: row.0,
        claim_id: row.1,
        state: row.2,
        created_at: row.3 .0,
        updated_at: row.4 .0,
        charge_cents: row.5,
        payer: row.6,
        assignee: row.7,
    }
}

/// A page of the worklist, newest row first.
pub async fn list_worklist(conn: &mut Conn, filter: &WorklistFilter) -> Result<Vec<WorklistRow>, StoreError> {
    let mut query = billing_claims::table.select(WORKLIST_COLUMNS).into_boxed();
    if let Some(state) = &filter.state {
        query = query.filter(billing_claims::state.eq(state));
    }
    if let Some(payer) = &filter.payer {
        query = query.filter(billing_claims::payer.eq(payer));
    }
    if let Some(assignee) = &filter.assignee {
        query = query.filter(billing_claims::assignee.eq(assignee));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(billing_claims::created_at.ge(StoredInstant(from)));
    }
    if let Some(until) = filter.created_until {
        query = query.filter(billing_claims::created_at.lt(StoredInstant(until)));
    }
    if let Some(category) = &filter.denial_category {
        let denied = claim_denials::table
            .filter(claim_denials::category.eq(category))
            .select(claim_denials::claim_id);
        query = query.filter(billing_claims::claim_id.eq_any(denied));
    }
    if let Some(before) = filter.before {
        query = query.filter(billing_claims::id.lt(before));
    }
    let rows: Vec<WorklistColumns> = query
        .order(billing_claims::id.desc())
        .limit(filter.limit)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(worklist_row).collect())
}

/// One claim's worklist row.
pub async fn worklist_entry(conn: &mut Conn, claim_id: &str) -> Result<Option<WorklistRow>, StoreError> {
    let row: Option<WorklistColumns> = billing_claims::table
        .filter(billing_claims::claim_id.eq(claim_id))
        .select(WORKLIST_COLUMNS)
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(worklist_row))
}

/// Gives the claims to `assignee` (`None`: to nobody); how many claims it found.
pub async fn assign_claims(
    conn: &mut Conn,
    claim_ids: &[String],
    assignee: Option<&str>,
) -> Result<usize, StoreError> {
    Ok(
        diesel::update(billing_claims::table.filter(billing_claims::claim_id.eq_any(claim_ids)))
            .set(billing_claims::assignee.eq(assignee))
            .execute(conn)
            .await?,
    )
}

/// The payers claims are billed to, by name (at most `limit`), for the filter's list.
pub async fn worklist_payers(conn: &mut Conn, limit: i64) -> Result<Vec<String>, StoreError> {
    let payers: Vec<Option<String>> = billing_claims::table
        .select(billing_claims::payer)
        .filter(billing_claims::payer.is_not_null())
        .distinct()
        .order(billing_claims::payer)
        .limit(limit)
        .load(conn)
        .await?;
    Ok(payers.into_iter().flatten().collect())
}
