//! The FHIR R4 RESTful API under `/fhir`: a thin HTTP router (`routes`) over
//! interactions (`service`) over the storage API.

pub mod bundle;
pub mod capability;
pub mod change_guard;
pub mod conditional;
pub mod format;
mod history;
pub mod outcome;
pub mod pointer;
pub mod reach;
pub mod resource_type;
pub mod routes;
pub mod search;
pub mod service;
pub mod validation;

use chrono::{DateTime, SecondsFormat, Utc};

/// A FHIR `instant` as the server writes it, e.g. `2026-11-25T10:15:30.123Z`.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A new server-assigned resource id: a UUID version 7, whose leading bits are the
/// time it was made, so ids made one after another sort one after another.
///
/// Every index keyed by resource id (the resources' and history's keys, each
/// index table's rows by resource, an AuditEvent's id) then takes new entries at
/// the end of one type's range, on pages already in memory, instead of at a random
/// place: with random (version 4) ids, an index larger than PostgreSQL's buffers
/// had a page read, dirtied and written (in full to the WAL after a checkpoint)
/// for nearly every entry. The time an id shows is the time the resource was
/// first written, which its first version's `meta.lastUpdated` shows anyway.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
