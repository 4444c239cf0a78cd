//! The FHIR R4 RESTful API under `/fhir`: a thin HTTP router (`routes`) over
//! interactions (`service`) over the storage API.

pub mod bundle;
pub mod capability;
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
