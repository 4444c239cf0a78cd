//! The audit trail's rows (`crate::audit` gives them meaning): one row per
//! AuditEvent, with the columns `GET /fhir/AuditEvent` filters on copied out of
//! the JSON, and one row per resource reference the event was about.
//!
//! The two tables are declared here rather than in `schema.rs`: nothing else joins
//! them, and keeping them apart keeps the audit trail's storage in one place.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::store::sql_types::StoredInstant;

// On PostgreSQL the key is (tenant, seq), on SQLite `seq`. Never use `find()`.
diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::UtcTimestamp;

    audit_events (seq) {
        seq -> BigInt,
        event_id -> Text,
        tenant -> Text,
        recorded -> UtcTimestamp,
        type_code -> Text,
        subtype -> Nullable<Text>,
        action -> Text,
        outcome -> Text,
        agent_client -> Nullable<Text>,
        agent_user -> Nullable<Text>,
        address -> Nullable<Text>,
        /// JSON text on both backends (not jsonb: see the migration).
        body -> Text,
    }
}

diesel::table! {
    /// No primary key in the database (rows are only ever appended and looked up
    /// by reference); diesel needs one named.
    audit_event_entities (event_id, reference) {
        event_id -> Text,
        tenant -> Text,
        reference -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(audit_events, audit_event_entities);

/// A row of `audit_events` as it is inserted (`seq` is the database's).
#[derive(Debug, Clone)]
pub struct NewAuditEventRow {
    pub event_id: String,
    pub tenant: String,
    pub recorded: StoredInstant,
    pub type_code: String,
    pub subtype: Option<String>,
    pub action: String,
    pub outcome: String,
    pub agent_client: Option<String>,
    pub agent_user: Option<String>,
    pub address: Option<String>,
    pub body: String,
}

/// A row of `audit_event_entities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntityRow {
    pub event_id: String,
    pub tenant: String,
    /// `Type/id`, without a version.
    pub reference: String,
}

/// One event and the references it names, ready to be stored together.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub row: NewAuditEventRow,
    pub entities: Vec<NewAuditEntityRow>,
}

/// A stored event as a search or read returns it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct StoredAuditEvent {
    pub seq: i64,
    pub event_id: String,
    pub body: String,
}

/// How `recorded` must compare with an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedBound {
    /// `recorded >= at`
    AtOrAfter(DateTime<Utc>),
    /// `recorded > at`
    After(DateTime<Utc>),
    /// `recorded <= at`
    AtOrBefore(DateTime<Utc>),
    /// `recorded < at`
    Before(DateTime<Utc>),
}

/// Which events of one tenant to list, newest first. Within a field the values are
/// alternatives (OR); the fields all apply (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant: String,
    pub recorded: Vec<RecordedBound>,
    /// Client ids or user subjects.
    pub agents: Vec<String>,
    /// Each inner list is one `entity=`/`patient=` parameter: an event must name
    /// one of its references, for every parameter.
    pub entities: Vec<Vec<String>>,
    pub actions: Vec<String>,
    pub outcomes: Vec<String>,
    pub subtypes: Vec<String>,
    pub types: Vec<String>,
    /// Only events stored before this `seq` (the next page).
    pub before_seq: Option<i64>,
    pub limit: i64,
}
