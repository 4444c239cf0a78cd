//! The statement that ends an HL7 message's work on PostgreSQL, just before COMMIT:
//! the resources its maps created (history rows, current rows, index rows), the
//! message row's outcome, and the check for references into another tenant — one
//! statement, prepared once per connection.
//!
//! They were ten statements pipelined in one round trip. Each statement still cost
//! PostgreSQL its own parse/bind/execute cycle and a reply written to the socket, and
//! the kernel's loopback work for those replies was about a third of PostgreSQL's
//! CPU per message (BENCHMARKS.md, issue 4). Data-modifying `WITH` clauses run once
//! and to completion whether or not the final `SELECT` reads them, all in the
//! statement's one snapshot; the current rows are copied from what the history
//! insert returns, so the bodies travel once and each current row gets its
//! `change_seq` without another round trip. Every column goes as an array
//! (`crate::store::unnest`), so the text is the same whatever the message wrote.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Untyped};
use diesel::QueryResult;

use crate::store::messages::MessageOutcome;
use crate::store::rows::{IndexRows, NewHistoryRow};
use crate::store::sql_types::{StoredInstant, UtcTimestamp};
use crate::store::unnest::{UnnestInsert, UnnestRows};

pub struct MessageCommit<'a> {
    tenant: &'a str,
    history: UnnestInsert<'a>,
    /// Tokens, strings, dates, quantities, references, URIs: always all six, empty
    /// or not, so that the statement's text does not change.
    index: [UnnestInsert<'a>; 6],
    target_types: Vec<&'a str>,
    target_ids: Vec<&'a str>,
    message_id: i64,
    outcome: &'a MessageOutcome,
    processed_at: StoredInstant,
}

/// What the statement found: whether the message row was there to update, and a
/// resource of another tenant that a reference names, if any.
#[derive(diesel::QueryableByName)]
pub struct MessageCommitRow {
    #[diesel(sql_type = BigInt)]
    pub updated: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub foreign_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub foreign_id: Option<String>,
}

impl<'a> MessageCommit<'a> {
    /// `targets` are the local references' `(type, id)` (`search::local_targets`).
    pub fn new(
        tenant: &'a str,
        history: &'a [NewHistoryRow<'a>],
        index: &'a IndexRows<'a>,
        targets: &[(&'a str, &'a str)],
        message_id: i64,
        outcome: &'a MessageOutcome,
    ) -> Self {
        MessageCommit {
            tenant,
            history: UnnestRows::unnest(history),
            index: [
                UnnestRows::unnest(&index.tokens),
                UnnestRows::unnest(&index.strings),
                UnnestRows::unnest(&index.dates),
                UnnestRows::unnest(&index.quantities),
                UnnestRows::unnest(&index.references),
                UnnestRows::unnest(&index.uris),
            ],
            target_types: targets.iter().map(|(res_type, _)| *res_type).collect(),
            target_ids: targets.iter().map(|(_, id)| *id).collect(),
            message_id,
            outcome,
            processed_at: StoredInstant(chrono::Utc::now()),
        }
    }
}

impl QueryFragment<Pg> for MessageCommit<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH history_rows AS (");
        self.history.walk_ast(out.reborrow())?;
        out.push_sql(
            " RETURNING tenant, res_type, res_id, version_id, last_updated, change_seq, body), \
             current_rows AS (INSERT INTO resources \
             (tenant, res_type, res_id, version_id, last_updated, deleted, change_seq, body) \
             SELECT tenant, res_type, res_id, version_id, last_updated, FALSE, change_seq, body \
             FROM history_rows)",
        );
        for (at, rows) in self.index.iter().enumerate() {
            out.push_sql(&format!(", index_rows_{at} AS ("));
            rows.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(", finished AS (UPDATE hl7_messages SET status = ");
        out.push_bind_param::<Text, _>(self.outcome.status.as_str())?;
        out.push_sql(", error = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.outcome.error)?;
        out.push_sql(", ack = ");
        out.push_bind_param::<Text, _>(&self.outcome.ack)?;
        out.push_sql(", processed_at = ");
        out.push_bind_param::<UtcTimestamp, _>(&self.processed_at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.message_id)?;
        out.push_sql(
            " RETURNING id) \
             SELECT (SELECT COUNT(*) FROM finished) AS updated, \
             foreign_target.res_type AS foreign_type, foreign_target.res_id AS foreign_id \
             FROM (SELECT 1) AS one LEFT JOIN LATERAL (\
             SELECT r.res_type, r.res_id FROM resources r WHERE r.tenant <> ",
        );
        out.push_bind_param::<Text, _>(self.tenant)?;
        out.push_sql(" AND (r.res_type, r.res_id) IN (SELECT * FROM UNNEST(");
        out.push_bind_param::<Array<Text>, _>(&self.target_types)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.target_ids)?;
        out.push_sql(")) LIMIT 1) AS foreign_target ON TRUE");
        Ok(())
    }
}

/// No static id: diesel keys its prepared-statement cache by the SQL text, which
/// is always the same here.
impl QueryId for MessageCommit<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for MessageCommit<'_> {
    type SqlType = Untyped;
}
