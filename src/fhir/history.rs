//! `_history` at instance, type and system level: parameters and the history Bundle.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::fhir::outcome::FhirError;
use crate::store::model::{HistoryEntry, WriteMethod};

pub const DEFAULT_COUNT: i64 = 20;
pub const MAX_COUNT: i64 = 1000;

/// The query parameters of a history request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryParams {
    pub count: i64,
    pub since: Option<DateTime<Utc>>,
    /// Opaque page cursor: versions older than this change.
    pub cursor: Option<i64>,
}

impl HistoryParams {
    pub fn parse(query: &str) -> Result<Self, FhirError> {
        let mut params = HistoryParams {
            count: DEFAULT_COUNT,
            since: None,
            cursor: None,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "_count" => {
                    params.count = value
                        .parse::<i64>()
                        .ok()
                        .filter(|n| (1..=MAX_COUNT).contains(n))
                        .ok_or_else(|| {
                            FhirError::invalid_at(
                                "value",
                                "_count",
                                format!("_count must be a number from 1 to {MAX_COUNT}, not {value:?}"),
                            )
                        })?
                }
                "_since" => {
                    params.since = Some(
                        DateTime::parse_from_rfc3339(&value)
                            .map_err(|_| {
                                FhirError::invalid_at(
                                    "value",
                                    "_since",
                                    format!(
                                    "_since must be an instant such as 2026-01-31T12:00:00Z, not {value:?}"
                                ),
                                )
                            })?
                            .with_timezone(&Utc),
                    )
                }
                "_cursor" => {
                    params.cursor = Some(value.parse().map_err(|_| {
                        FhirError::invalid_at(
                            "value",
                            "_cursor",
                            "_cursor is not a cursor this server issued",
                        )
                    })?)
                }
                "_format" | "_pretty" => {}
                other => {
                    return Err(FhirError::invalid_at(
                        "not-supported",
                        other,
                        format!("history does not support the parameter {other:?}"),
                    ))
                }
            }
        }
        Ok(params)
    }

    /// The query string of the page after the one ending at `last_change`.
    pub fn next_page_query(&self, last_change: i64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("_count", &self.count.to_string());
        if let Some(since) = self.since {
            query.append_pair("_since", &crate::fhir::instant(since));
        }
        query.append_pair("_cursor", &last_change.to_string());
        query.finish()
    }
}

#[derive(Serialize)]
struct Bundle<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    bundle_type: &'static str,
    link: Vec<Link>,
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a RawValue>,
    request: Request,
    response: Response,
}

#[derive(Serialize)]
struct Request {
    method: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Response {
    status: &'static str,
    etag: String,
    #[serde(rename = "lastModified")]
    last_modified: String,
}

/// A `history` Bundle of `entries` (newest first). Stored bodies are embedded as
/// they are, without re-parsing.
pub fn history_bundle(
    base_url: &str,
    self_url: String,
    next_url: Option<String>,
    entries: &[HistoryEntry],
) -> Result<String, FhirError> {
    let mut link = vec![Link {
        relation: "self",
        url: self_url,
    }];
    if let Some(url) = next_url {
        link.push(Link {
            relation: "next",
            url,
        });
    }
    let entry = entries
        .iter()
        .map(|e| {
            let resource = e
                .body
                .as_deref()
                .map(serde_json::from_str::<&RawValue>)
                .transpose()
                .map_err(|err| {
                    FhirError::Internal(format!("stored {}/{} is not JSON: {err}", e.res_type, e.id))
                })?;
            let (method, status, url) = match e.method {
                WriteMethod::Create => ("POST", "201", e.res_type.clone()),
                WriteMethod::Update => ("PUT", "200", format!("{}/{}", e.res_type, e.id)),
                WriteMethod::Patch => ("PATCH", "200", format!("{}/{}", e.res_type, e.id)),
                WriteMethod::Delete => ("DELETE", "204", format!("{}/{}", e.res_type, e.id)),
            };
            Ok(Entry {
                full_url: format!("{base_url}/{}/{}", e.res_type, e.id),
                resource,
                request: Request { method, url },
                response: Response {
                    status,
                    etag: format!("W/\"{}\"", e.version_id),
                    last_modified: crate::fhir::instant(e.last_updated),
                },
            })
        })
        .collect::<Result<Vec<_>, FhirError>>()?;
    let bundle = Bundle {
        resource_type: "Bundle",
        bundle_type: "history",
        link,
        entry,
    };
    serde_json::to_string(&bundle).map_err(|e| FhirError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_parameters() {
        let p = HistoryParams::parse("_count=5&_since=2026-01-01T00:00:00Z&_cursor=42").unwrap();
        assert_eq!(p.count, 5);
        assert_eq!(p.cursor, Some(42));
        assert_eq!(p.since.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert!(HistoryParams::parse("_count=0").is_err());
        assert!(HistoryParams::parse("_since=yesterday").is_err());
        assert!(HistoryParams::parse("_at=2026").is_err());
        let next = p.next_page_query(7);
        assert_eq!(HistoryParams::parse(&next).unwrap().cursor, Some(7));
    }
}
