//! The statement that writes a transaction's staged creates on PostgreSQL: history
//! rows, current rows and index rows, with the check for references into another
//! tenant, and on the HL7 path the message row's outcome and its AuditEvent too —
//! one statement, prepared once per connection for each text it takes (with or
//! without a message, inserted or updated, with its AuditEvent or without, and
//! the tables below).
//!
//! They were a statement per table (ten on the HL7 path), pipelined. Each still
//! cost PostgreSQL its own parse/bind/execute cycle and a reply written to the
//! socket, and the kernel's loopback work for those replies was about a third of
//! PostgreSQL's CPU per HL7 message (BENCHMARKS.md, issue 4). Data-modifying `WITH`
//! clauses run once and to completion whether or not the final `SELECT` reads them,
//! all in the statement's one snapshot. The current rows are copied from what the
//! history insert returns, so each body travels once, and each current row gets
//! its `change_seq` without another round trip. Every column goes as an array
//! (`crate::store::unnest`), so the text does not depend on how many rows were
//! staged.
//!
//! An index table with no rows to write gets no clause, and a write with no local
//! references no check for them: PostgreSQL opens and locks a clause's table and
//! each of its indexes, and sets up its insert, even for no rows. An HL7 admission
//! writes no quantity or URI rows, so two of the six index tables and their four
//! indexes drop out of every admission's statement. The statement's text then
//! depends on which tables get rows: a few dozen texts in practice, each prepared
//! once per connection.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Text, Untyped};
use diesel::QueryResult;

use crate::store::messages::FinishedMessage;
use crate::store::rows::{IndexRows, NewHistoryRow};
use crate::store::search::OTHER_TENANTS_RESOURCES;
use crate::store::statement::Statement;
use crate::store::unnest::{UnnestInsert, UnnestRows};

/// The `WITH` clauses of the index inserts, in the order of `StagedWrite::index`.
const INDEX_CLAUSES: [&str; 6] = [
    ", tokens AS (",
    ", strings AS (",
    ", dates AS (",
    ", quantities AS (",
    ", refs AS (",
    ", uris AS (",
];

/// The statement's one row (`CountRow`) counts the message rows it recorded (1,
/// or 0 without a message). What it finds wrong it raises instead of returning
/// (`claimbridge_refuse`, migration `2026-11-27-000110`), so that a COMMIT sent
/// behind it rolls back: a reference to another tenant's resource
/// (`REFUSED_FOREIGN_REFERENCE`: the error's detail is the resource's type, its
/// hint the id), or a message row not there to record
/// (`REFUSED_MESSAGE_NOT_RECORDED`).
pub struct StagedWrite<'a> {
    tenant: &'a str,
    history: UnnestInsert<'a>,
    /// Tokens, strings, dates, quantities, references, URIs; the empty ones are
    /// left out of the statement.
    index: [UnnestInsert<'a>; 6],
    target_types: Vec<&'a str>,
    target_ids: Vec<&'a str>,
    /// The HL7 message row with its outcome (`NewMessage::insert_as`), or its
    /// outcome (`MessageOutcome::update_of`).
    message: Option<Statement>,
    /// The message's AuditEvent row and the references it names.
    audit: Option<[UnnestInsert<'a>; 2]>,
}

/// The constraint name of the error the statement raises when a reference names
/// another tenant's resource.
pub const REFUSED_FOREIGN_REFERENCE: &str = "foreign_reference";
/// The constraint name of the error the statement raises when the message row it
/// was to update is not there.
pub const REFUSED_MESSAGE_NOT_RECORDED: &str = "message_not_recorded";

impl<'a> StagedWrite<'a> {
    /// `targets` are the local references' `(type, id)` (`search::local_targets`).
    pub fn new(
        tenant: &'a str,
        history: &'a [NewHistoryRow<'a>],
        index: &'a IndexRows<'a>,
        targets: &[(&'a str, &'a str)],
    ) -> Self {
        StagedWrite {
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
            message: None,
            audit: None,
        }
    }

    /// Records the message's outcome on its row, and its AuditEvent when it has
    /// one, in the same statement.
    pub fn finishing_message(mut self, message: &FinishedMessage<'a>) -> Self {
        self.message = Some(match message.received {
            Some(received) => received.insert_as(message.id, message.outcome),
            None => message.outcome.update_of(message.id),
        });
        self.audit = message.audit.map(|event| {
            [
                UnnestRows::unnest(std::slice::from_ref(&event.row)),
                UnnestRows::unnest(&event.entities),
            ]
        });
        self
    }
}

impl QueryFragment<Pg> for StagedWrite<'_> {
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
        for (name, rows) in INDEX_CLAUSES.iter().zip(&self.index) {
            if rows.is_empty() {
                continue;
            }
            out.push_sql(name);
            rows.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        if let Some([event, entities]) = &self.audit {
            out.push_sql(", audit_event AS (");
            event.walk_ast(out.reborrow())?;
            out.push_sql("), audit_entities AS (");
            entities.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        if let Some(message) = &self.message {
            out.push_sql(", finished AS (");
            message.walk_ast(out.reborrow())?;
            out.push_sql(" RETURNING id)");
        }
        let checks_targets = !self.target_ids.is_empty();
        if !checks_targets && self.message.is_none() {
            out.push_sql(" SELECT 0::BIGINT AS count");
            return Ok(());
        }
        out.push_sql(" SELECT CASE");
        if checks_targets {
            out.push_sql(" WHEN foreign_target.res_id IS NOT NULL THEN claimbridge_refuse('");
            out.push_sql(REFUSED_FOREIGN_REFERENCE);
            out.push_sql("', foreign_target.res_type, foreign_target.res_id)");
        }
        if self.message.is_some() {
            out.push_sql(" WHEN (SELECT COUNT(*) FROM finished) <> 1 THEN claimbridge_refuse('");
            out.push_sql(REFUSED_MESSAGE_NOT_RECORDED);
            out.push_sql("', '', '') ELSE 1 END AS count");
        } else {
            out.push_sql(" ELSE 0 END AS count");
        }
        if checks_targets {
            out.push_sql(" FROM (SELECT 1) AS one LEFT JOIN LATERAL (");
            out.push_sql(OTHER_TENANTS_RESOURCES);
            out.push_bind_param::<Text, _>(self.tenant)?;
            out.push_sql(" AND (h.res_type, h.res_id) IN (SELECT * FROM UNNEST(");
            out.push_bind_param::<Array<Text>, _>(&self.target_types)?;
            out.push_sql(", ");
            out.push_bind_param::<Array<Text>, _>(&self.target_ids)?;
            out.push_sql(")) LIMIT 1) AS foreign_target ON TRUE");
        }
        Ok(())
    }
}

/// No static id: diesel keys its prepared-statement cache by the SQL text, which
/// depends on what was staged (see the module's comment).
impl QueryId for StagedWrite<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for StagedWrite<'_> {
    type SqlType = Untyped;
}
