// The query code of the storage API, written once for both backends.
//
// `store/mod.rs` includes this file into one module per backend, each of which
// defines `Conn` as that backend's connection type; diesel then compiles the same
// queries for PostgreSQL and for SQLite. (Not a `mod` of its own, so no `//!` here.)

use chrono::{SubsecRound, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, RunQueryDsl, TransactionManager};

/// Version, deleted flag and time of the current row, as `lock_current` reads it.
type CurrentRow = (i64, bool, StoredInstant);

use crate::store::model::{
    CurrentResource, FoundResource, HistoryEntry, HistoryQuery, HistoryScope, NewVersion, ReferenceEntry,
    RenderedVersion, SearchIndexEntries, StagedCreate, Tenant, WriteMethod, WriteOutcome, WriteRequest,
};
use crate::store::rows::{
    CountRow, FoundRow, HistoryRow, IndexRows, NewHistoryRow, NewResourceRow, ResourceChangeset, TargetRow,
};
use crate::store::schema::{
    resource_history, resources, search_date, search_quantity, search_reference, search_string, search_token,
    search_uri,
};
use crate::store::sql_types::StoredInstant;
use crate::store::statement::Statement;
use crate::store::StoreError;

pub async fn read_current(
    conn: &mut Conn,
    tenant: &Tenant,
    res_type: &str,
    id: &str,
) -> Result<Option<CurrentResource>, StoreError> {
    let row = resources::table
        .filter(resources::tenant.eq(tenant.as_str()))
        .filter(resources::res_type.eq(res_type))
        .filter(resources::res_id.eq(id))
        .select((
            resources::version_id,
            resources::last_updated,
            resources::deleted,
            resources::body,
        ))
        .first::<(i64, StoredInstant, bool, String)>(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(version_id, last_updated, deleted, body)| CurrentResource {
            version_id,
            last_updated: last_updated.0,
            deleted,
            body,
        }),
    )
}

/// The current rows of several resources of one type, in no particular order; ids
/// with no row are left out.
pub async fn read_current_many(
    conn: &mut Conn,
    tenant: &Tenant,
    res_type: &str,
    ids: &[String],
) -> Result<Vec<(String, CurrentResource)>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    // SQLite takes at most 32,766 bound values per statement.
    for chunk in ids.chunks(10_000) {
        let rows: Vec<(String, i64, StoredInstant, bool, String)> = resources::table
            .filter(resources::tenant.eq(tenant.as_str()))
            .filter(resources::res_type.eq(res_type))
            .filter(resources::res_id.eq_any(chunk))
            .select((
                resources::res_id,
                resources::version_id,
                resources::last_updated,
                resources::deleted,
                resources::body,
            ))
            .load(conn)
            .await?;
        found.extend(
            rows.into_iter()
                .map(|(id, version_id, last_updated, deleted, body)| {
                    let current = CurrentResource {
                        version_id,
                        last_updated: last_updated.0,
                        deleted,
                        body,
                    };
                    (id, current)
                }),
        );
    }
    Ok(found)
}

pub async fn read_version(
    conn: &mut Conn,
    tenant: &Tenant,
    res_type: &str,
    id: &str,
    version_id: i64,
) -> Result<Option<HistoryEntry>, StoreError> {
    let row = resource_history::table
        .filter(resource_history::tenant.eq(tenant.as_str()))
        .filter(resource_history::res_type.eq(res_type))
        .filter(resource_history::res_id.eq(id))
        .filter(resource_history::version_id.eq(version_id))
        .select(HistoryRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(HistoryRow::into_entry).transpose()
}

pub async fn history(
    conn: &mut Conn,
    tenant: &Tenant,
    query: HistoryQuery<'_>,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut q = resource_history::table
        .filter(resource_history::tenant.eq(tenant.as_str()))
        .into_boxed();
    match query.scope {
        HistoryScope::System => {}
        HistoryScope::Type(res_type) => q = q.filter(resource_history::res_type.eq(res_type)),
        HistoryScope::Instance(res_type, id) => {
            q = q
                .filter(resource_history::res_type.eq(res_type))
                .filter(resource_history::res_id.eq(id))
        }
    }
    if let Some(since) = query.since {
        q = q.filter(resource_history::last_updated.ge(StoredInstant(since)));
    }
    if let Some(before) = query.before_change {
        q = q.filter(resource_history::change_seq.lt(before));
    }
    let rows = q
        .order(resource_history::change_seq.desc())
        .limit(query.limit)
        .select(HistoryRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(HistoryRow::into_entry).collect()
}

pub async fn load_found(conn: &mut Conn, statement: Statement) -> Result<Vec<FoundResource>, StoreError> {
    let rows: Vec<FoundRow> = statement.load(conn).await?;
    Ok(rows.into_iter().map(FoundResource::from).collect())
}

pub async fn count(conn: &mut Conn, statement: Statement) -> Result<i64, StoreError> {
    let row: CountRow = statement.get_result(conn).await?;
    Ok(row.count)
}

pub async fn commit(conn: &mut Conn) -> Result<(), StoreError> {
    Ok(<Conn as AsyncConnection>::TransactionManager::commit_transaction(conn).await?)
}

pub async fn rollback(conn: &mut Conn) -> Result<(), StoreError> {
    Ok(<Conn as AsyncConnection>::TransactionManager::rollback_transaction(conn).await?)
}

/// Writes one version of `tenant`'s resource (history row, current row and search
/// index, in the caller's transaction; `render` builds the body once the version
/// is known): it changes only a resource of that tenant, an id another tenant
/// holds is refused (`IdTaken`) rather than taken over, and so is a body referring
/// to another tenant's resource (`ForeignReference`).
pub async fn write_in_transaction(
    conn: &mut Conn,
    tenant: &Tenant,
    request: WriteRequest<'_>,
    render: &(dyn Fn(NewVersion) -> RenderedVersion + Sync),
) -> Result<WriteOutcome, StoreError> {
    let WriteRequest {
        res_type,
        id,
        method,
        if_match,
    } = request;
    // A create mints a fresh id: there is no current row to look up.
    let current = match method {
        WriteMethod::Create => None,
        _ => lock_current(conn, tenant, res_type, id).await?,
    };

    if let Some(expected) = if_match {
        match current {
            Some((version, false, _)) if version == expected => {}
            Some((version, _, _)) => {
                return Err(StoreError::VersionMismatch {
                    current: Some(version),
                })
            }
            None => return Err(StoreError::VersionMismatch { current: None }),
        }
    }
    let deleting = method == WriteMethod::Delete;
    if deleting {
        match current {
            None => return Err(StoreError::NotFound),
            // Deleting what is already deleted changes nothing and writes no version.
            Some((version_id, true, last_updated)) => {
                return Ok(WriteOutcome {
                    version_id,
                    last_updated: last_updated.0,
                    created: false,
                    body: None,
                })
            }
            Some(_) => {}
        }
    }
    // An update that would create the resource: ids are one pool for all tenants, so
    // the id must not be another tenant's. The answer says only that it is taken.
    if current.is_none() && method != WriteMethod::Create && id_in_use(conn, res_type, id).await? {
        return Err(StoreError::IdTaken);
    }

    let new_version = NewVersion {
        version_id: current.map_or(1, |(version, _, _)| version + 1),
        // Millisecond precision: the instant in meta.lastUpdated and in the row agree.
        last_updated: Utc::now().trunc_subsecs(3),
    };
    let rendered = (!deleting).then(|| render(new_version));
    if let Some(rendered) = &rendered {
        refuse_foreign_references(conn, tenant, std::slice::from_ref(&(res_type, &rendered.index))).await?;
    }
    let body = rendered.as_ref().map(|r| r.body.as_str());

    let change_seq: i64 = diesel::insert_into(resource_history::table)
        .values(&NewHistoryRow {
            tenant: tenant.as_str(),
            res_type,
            res_id: id,
            version_id: new_version.version_id,
            last_updated: StoredInstant(new_version.last_updated),
            method: method.http_verb(),
            deleted: deleting,
            body,
        })
        .returning(resource_history::change_seq)
        .get_result(conn)
        .await
        .map_err(race_on_unique_violation)?;

    match current {
        Some((previous, _, _)) => {
            let updated = diesel::update(
                resources::table
                    .filter(resources::tenant.eq(tenant.as_str()))
                    .filter(resources::res_type.eq(res_type))
                    .filter(resources::res_id.eq(id))
                    .filter(resources::version_id.eq(previous)),
            )
            .set(&ResourceChangeset {
                version_id: new_version.version_id,
                last_updated: StoredInstant(new_version.last_updated),
                deleted: deleting,
                change_seq,
                // A deletion keeps the last live body in `resources`; history records it.
                body,
            })
            .execute(conn)
            .await?;
            if updated != 1 {
                return Err(StoreError::WriteRace);
            }
        }
        None => {
            let body = body.expect("a delete of a missing resource returned NotFound above");
            diesel::insert_into(resources::table)
                .values(&NewResourceRow {
                    tenant: tenant.as_str(),
                    res_type,
                    res_id: id,
                    version_id: new_version.version_id,
                    last_updated: StoredInstant(new_version.last_updated),
                    deleted: false,
                    change_seq,
                    body,
                })
                .execute(conn)
                .await
                .map_err(race_on_unique_violation)?;
        }
    }

    if current.is_some() {
        clear_search_index(conn, tenant, res_type, id).await?;
    }
    if let Some(rendered) = &rendered {
        insert_search_index(conn, tenant, res_type, id, &rendered.index).await?;
    }

    Ok(WriteOutcome {
        version_id: new_version.version_id,
        last_updated: new_version.last_updated,
        created: current.is_none_or(|(_, deleted, _)| deleted),
        body: rendered.map(|r| r.body),
    })
}

/// Each staged create's type and index entries.
fn staged_indexes(staged: &[StagedCreate]) -> Vec<(&str, &SearchIndexEntries)> {
    let mut indexes = Vec::with_capacity(staged.len());
    for create in staged {
        indexes.push((create.res_type.as_str(), &create.rendered.index));
    }
    indexes
}

/// Fails with `ForeignReference` when a reference of `indexes` (the type of the
/// resource holding it, and its index entries) names a resource that another tenant
/// holds: references resolve within the writer's tenant only, so such a reference
/// is refused as one to nothing would be by a server that checks. References to
/// resources that exist nowhere are kept, as they always were. One statement,
/// and none when there is no local reference.
async fn refuse_foreign_references(
    conn: &mut Conn,
    tenant: &Tenant,
    indexes: &[(&str, &SearchIndexEntries)],
) -> Result<(), StoreError> {
    for statement in crate::store::search::foreign_target_statements(tenant, indexes) {
        let found: Vec<TargetRow> = statement.load(conn).await?;
        if let Some(target) = found.into_iter().next() {
            return Err(foreign_reference(indexes, target));
        }
    }
    Ok(())
}

/// The error naming a reference into another tenant, and what holds it.
fn foreign_reference(indexes: &[(&str, &SearchIndexEntries)], target: TargetRow) -> StoreError {
    let names = |r: &ReferenceEntry| {
        r.target_type.as_deref() == Some(target.res_type.as_str())
            && r.target_id.as_deref() == Some(target.res_id.as_str())
    };
    let (source_type, param) = indexes
        .iter()
        .find_map(|(res_type, index)| {
            index
                .references
                .iter()
                .find(|r| names(r))
                .map(|r| (res_type.to_string(), r.param.clone()))
        })
        .unwrap_or_default();
    StoreError::ForeignReference {
        source_type,
        param,
        target: format!("{}/{}", target.res_type, target.res_id),
    }
}

/// Whether any tenant holds a resource `res_type/id` (ids are unique across
/// tenants). Asked of the history, whose key (type, id, version) spans tenants:
/// the current rows are keyed per tenant.
async fn id_in_use(conn: &mut Conn, res_type: &str, id: &str) -> Result<bool, StoreError> {
    let found: Option<String> = resource_history::table
        .filter(resource_history::res_type.eq(res_type))
        .filter(resource_history::res_id.eq(id))
        .select(resource_history::res_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// Current rows (of creates) and search index rows, sent together.
async fn insert_current_and_index_rows(
    conn: &mut Conn,
    current: Vec<NewResourceRow<'_>>,
    index: IndexRows<'_>,
) -> Result<(), StoreError> {
    insert_prepared_together!(
        conn,
        [
            resources <- current,
            search_token <- index.tokens,
            search_string <- index.strings,
            search_date <- index.dates,
            search_quantity <- index.quantities,
            search_reference <- index.references,
            search_uri <- index.uris,
        ]
    );
    Ok(())
}

async fn clear_search_index(
    conn: &mut Conn,
    tenant: &Tenant,
    res_type: &str,
    id: &str,
) -> Result<(), StoreError> {
    macro_rules! of_resource {
        ($table:ident) => {
            diesel::delete(
                $table::table
                    .filter($table::tenant.eq(tenant.as_str()))
                    .filter($table::res_type.eq(res_type))
                    .filter($table::res_id.eq(id)),
            )
        };
    }
    execute_together!(conn, |c| [
        of_resource!(search_token).execute(c),
        of_resource!(search_string).execute(c),
        of_resource!(search_date).execute(c),
        of_resource!(search_quantity).execute(c),
        of_resource!(search_reference).execute(c),
        of_resource!(search_uri).execute(c),
    ]);
    Ok(())
}

async fn insert_search_index(
    conn: &mut Conn,
    tenant: &Tenant,
    res_type: &str,
    id: &str,
    index: &SearchIndexEntries,
) -> Result<(), StoreError> {
    insert_current_and_index_rows(
        conn,
        Vec::new(),
        IndexRows::of_one(tenant.as_str(), res_type, id, index),
    )
    .await
}

/// A unique-key violation on a version row means another writer got there first.
fn race_on_unique_violation(error: DieselError) -> StoreError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::WriteRace,
        other => other.into(),
    }
}

/// The query for what a write needs to know of `tenant`'s current row.
#[diesel::dsl::auto_type(no_type_alias)]
fn current_row<'a>(tenant: &'a str, res_type: &'a str, id: &'a str) -> _ {
    resources::table
        .filter(resources::tenant.eq(tenant))
        .filter(resources::res_type.eq(res_type))
        .filter(resources::res_id.eq(id))
        .select((resources::version_id, resources::deleted, resources::last_updated))
}
