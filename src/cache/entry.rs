//! A cached resource as Redis holds it: one string per resource,
//! `{version}:{L|D}:{lastUpdated ms}:{body}` for a version (live, or deleted and
//! then without body), `{version}:M` for a marker (a write of that version is
//! committing or committed: readers go to the database). The version comes first
//! so that the script that decides which write wins reads it with one match.

use chrono::{DateTime, Utc};

use crate::store::model::CurrentResource;

/// What a cache entry says.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Version(CurrentResource),
    /// A write of this version: the cache has no body to serve until a reader
    /// brings that version (or a newer one) from the database.
    Marker(i64),
}

pub fn encode_version(current: &CurrentResource) -> Vec<u8> {
    let body = if current.deleted {
        ""
    } else {
        current.body.as_str()
    };
    let mut value = Vec::with_capacity(body.len() + 40);
    value.extend_from_slice(
        format!(
            "{}:{}:{}:",
            current.version_id,
            if current.deleted { 'D' } else { 'L' },
            current.last_updated.timestamp_millis()
        )
        .as_bytes(),
    );
    value.extend_from_slice(body.as_bytes());
    value
}

pub fn encode_marker(version_id: i64) -> String {
    format!("{version_id}:M")
}

/// `None` for a value this code did not write (it is then treated as absent).
pub fn decode(mut value: Vec<u8>) -> Option<Entry> {
    let mut fields = value.splitn(4, |&b| b == b':');
    let version_id: i64 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let deleted = match fields.next()? {
        b"M" => return Some(Entry::Marker(version_id)),
        b"L" => false,
        b"D" => true,
        _ => return None,
    };
    let millis: i64 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let last_updated = DateTime::<Utc>::from_timestamp_millis(millis)?;
    let body_at = value.len() - fields.next()?.len();
    // The body moves to the front of the buffer it came in: no second copy.
    value.drain(..body_at);
    Some(Entry::Version(CurrentResource {
        version_id,
        last_updated,
        deleted,
        body: String::from_utf8(value).ok()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_markers_read_back_as_written() {
        let live = CurrentResource {
            version_id: 12,
            last_updated: DateTime::from_timestamp_millis(1_790_000_000_123).unwrap(),
            deleted: false,
            body: r#"{"resourceType":"Patient","id":"a:b","name":[{"text":"Zoë: 1"}]}"#.into(),
        };
        assert_eq!(decode(encode_version(&live)), Some(Entry::Version(live.clone())));
        let deleted = CurrentResource {
            deleted: true,
            ..live.clone()
        };
        assert_eq!(
            decode(encode_version(&deleted)),
            Some(Entry::Version(CurrentResource {
                body: String::new(),
                ..deleted
            }))
        );
        assert_eq!(decode(encode_marker(13).into_bytes()), Some(Entry::Marker(13)));
        for foreign in ["", "x:L:1:{}", "1:Q:1:{}", "1:L:x:{}", "1:L:1"] {
            assert_eq!(decode(foreign.as_bytes().to_vec()), None, "{foreign:?}");
        }
    }
}
