//! Vendor feeds read after a cursor (Claim.MD's claim responses and ERAs): each read
//! returns what is new since the cursor and the cursor to read from next time.
//!
//! The caller saves the returned cursor only after it has committed everything the
//! page returned. A crash in between reads the page again — the items are applied
//! idempotently (by vendor id, by the 835's trace number) — instead of skipping it.

use serde::{Deserialize, Serialize};

/// A position in a vendor's feed, opaque to everyone but the plugin that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// Read a feed after `after`; `None` reads it from its beginning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedRequest {
    pub after: Option<Cursor>,
}

/// What a feed holds after the cursor asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedPage<T> {
    pub items: Vec<T>,
    /// Where the next read starts: the request's own cursor when nothing was new.
    /// Save it only once every item is committed.
    pub cursor: Cursor,
    /// Whether more is waiting beyond this page, to read at once rather than at the
    /// next scheduled sync. The plugin decides it from the vendor's answer (Claim.MD:
    /// items came and the cursor moved), so callers never loop on an unchanged cursor.
    pub more: bool,
}
