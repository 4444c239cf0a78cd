// Storage of the audit trail, written once for both backends (included into each
// backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::audit::{
    audit_event_entities, audit_events, AuditFilter, NewAuditEntityRow, NewAuditEvent, RecordedBound,
    StoredAuditEvent,
};

/// Rows per INSERT: within SQLite's 32,766 and PostgreSQL's 65,535 bind values.
const AUDIT_ROWS_PER_INSERT: usize = 500;

/// Stores a batch of events and the references they name: one multi-row INSERT
/// per table (per 500 rows), in the caller's transaction. Built as a `Statement`
/// rather than through `insert_together!` because on SQLite that inserts row by
/// row, and this runs for every request.
pub async fn insert_audit_events(conn: &mut Conn, events: &[NewAuditEvent]) -> Result<(), StoreError> {
    for chunk in events.chunks(AUDIT_ROWS_PER_INSERT) {
        let mut insert = Statement::new(
            "INSERT INTO audit_events (event_id, tenant, recorded, type_code, subtype, action, outcome, \
             agent_client, agent_user, address, body) VALUES ",
        );
        for (at, event) in chunk.iter().enumerate() {
            let row = &event.row;
            insert.sql(if at == 0 { "(" } else { ", (" });
            insert
                .bind(&row.event_id)
                .sql(", ")
                .bind(&row.tenant)
                .sql(", ")
                .bind(row.recorded.0)
                .sql(", ")
                .bind(&row.type_code)
                .sql(", ");
            bind_optional(&mut insert, &row.subtype).sql(", ");
            insert.bind(&row.action).sql(", ").bind(&row.outcome).sql(", ");
            bind_optional(&mut insert, &row.agent_client).sql(", ");
            bind_optional(&mut insert, &row.agent_user).sql(", ");
            bind_optional(&mut insert, &row.address).sql(", ");
            insert.bind(&row.body).sql(")");
        }
        insert.execute(conn).await?;
        let entities: Vec<&NewAuditEntityRow> = chunk.iter().flat_map(|event| &event.entities).collect();
        for rows in entities.chunks(AUDIT_ROWS_PER_INSERT) {
            let mut insert =
                Statement::new("INSERT INTO audit_event_entities (event_id, tenant, reference) VALUES ");
            for (at, row) in rows.iter().enumerate() {
                insert.sql(if at == 0 { "(" } else { ", (" });
                insert
                    .bind(&row.event_id)
                    .sql(", ")
                    .bind(&row.tenant)
                    .sql(", ")
                    .bind(&row.reference)
                    .sql(")");
            }
            insert.execute(conn).await?;
        }
    }
    Ok(())
}

fn bind_optional<'s>(statement: &'s mut Statement, value: &Option<String>) -> &'s mut Statement {
    match value {
        Some(value) => statement.bind(value),
        None => statement.sql("NULL"),
    }
}

/// A page of one tenant's events, newest first (see `AuditFilter`).
pub async fn search_audit_events(
    conn: &mut Conn,
    filter: &AuditFilter,
) -> Result<Vec<StoredAuditEvent>, StoreError> {
    let mut query = audit_events::table
        .filter(audit_events::tenant.eq(&filter.tenant))
        .select(StoredAuditEvent::as_select())
        .into_boxed();
    for bound in &filter.recorded {
        query = match *bound {
            RecordedBound::AtOrAfter(at) => query.filter(audit_events::recorded.ge(StoredInstant(at))),
            RecordedBound::After(at) => query.filter(audit_events::recorded.gt(StoredInstant(at))),
            RecordedBound::AtOrBefore(at) => query.filter(audit_events::recorded.le(StoredInstant(at))),
            RecordedBound::Before(at) => query.filter(audit_events::recorded.lt(StoredInstant(at))),
        };
    }
    if !filter.agents.is_empty() {
        query = query.filter(
            audit_events::agent_client
                .eq_any(filter.agents.clone())
                .or(audit_events::agent_user.eq_any(filter.agents.clone())),
        );
    }
    for references in &filter.entities {
        let naming = audit_event_entities::table
            .filter(audit_event_entities::tenant.eq(filter.tenant.clone()))
            .filter(audit_event_entities::reference.eq_any(references.clone()))
            .select(audit_event_entities::event_id);
        query = query.filter(audit_events::event_id.eq_any(naming));
    }
    if !filter.actions.is_empty() {
        query = query.filter(audit_events::action.eq_any(filter.actions.clone()));
    }
    if !filter.outcomes.is_empty() {
        query = query.filter(audit_events::outcome.eq_any(filter.outcomes.clone()));
    }
    if !filter.subtypes.is_empty() {
        query = query.filter(audit_events::subtype.eq_any(filter.subtypes.clone()));
    }
    if !filter.types.is_empty() {
        query = query.filter(audit_events::type_code.eq_any(filter.types.clone()));
    }
    if let Some(before) = filter.before_seq {
        query = query.filter(audit_events::seq.lt(before));
    }
    Ok(query
        .order(audit_events::seq.desc())
        .limit(filter.limit)
        .load(conn)
        .await?)
}

/// One event of `tenant` by its id.
pub async fn audit_event(
    conn: &mut Conn,
    tenant: &str,
    event_id: &str,
) -> Result<Option<StoredAuditEvent>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::tenant.eq(tenant))
        .filter(audit_events::event_id.eq(event_id))
        .select(StoredAuditEvent::as_select())
        .first(conn)
        .await
        .optional()?)
}
