//! Paging cursors: the sort values and id of the row a page ends (or starts) at,
//! opaque to clients. The next page is "rows after this one in the search order",
//! which stays right while resources are added or changed, unlike an offset.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::DateTime;
use serde_json::{json, Value};

use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::extract;
use crate::store::model::FoundResource;
use crate::store::search::{
    missing_instant, Cursor, IndexTable, SortField, SortKey, SortValue, MISSING_TEXT,
};

pub fn encode(cursor: &Cursor) -> String {
    let values: Vec<Value> = cursor
        .values
        .iter()
        .map(|v| match v {
            SortValue::Text(text) => json!({ "t": text }),
            SortValue::Instant(at) => json!({ "i": at.timestamp_micros() }),
        })
        .collect();
    let document = json!({ "b": cursor.before, "v": values, "id": cursor.id });
    URL_SAFE_NO_PAD.encode(document.to_string())
}

pub fn decode(text: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let document: Value = serde_json::from_slice(&bytes).ok()?;
    let values = document["v"]
        .as_array()?
        .iter()
        .map(|v| match (v["t"].as_str(), v["i"].as_i64()) {
            (Some(text), _) => Some(SortValue::Text(text.to_owned())),
            (_, Some(micros)) => DateTime::from_timestamp_micros(micros).map(SortValue::Instant),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Cursor {
        before: document["b"].as_bool()?,
        values,
        id: document["id"].as_str()?.to_owned(),
    })
}

/// The cursor at `row` for a search ordered by `keys`: the same values the SQL sort
/// expressions compute, derived from the row's own index entries.
pub fn at_row(
    resource_type: ResourceType,
    keys: &[SortKey],
    row: &FoundResource,
    before: bool,
    base_url: &str,
) -> Cursor {
    let needs_index = keys.iter().any(|k| matches!(k.field, SortField::Param { .. }));
    let entries = needs_index
        .then(|| serde_json::from_str::<serde_json::Map<String, Value>>(&row.body).ok())
        .flatten()
        .map(|body| extract::extract(resource_type, &body, base_url))
        .unwrap_or_default();
    let values = keys
        .iter()
        .map(|key| match &key.field {
            SortField::Id => SortValue::Text(row.id.clone()),
            SortField::LastUpdated => SortValue::Instant(row.last_updated),
            SortField::Param { table, param } => {
                let pick = |mut values: Vec<String>| {
                    values.sort();
                    let chosen = if key.descending {
                        values.pop()
                    } else {
                        values.into_iter().next()
                    };
                    SortValue::Text(chosen.unwrap_or_else(|| MISSING_TEXT.to_owned()))
                };
                match table {
                    IndexTable::String => pick(
                        entries
                            .strings
                            .iter()
                            .filter(|e| &e.param == param)
                            .map(|e| e.normalized.clone())
                            .collect(),
                    ),
                    IndexTable::Date => {
                        let dates = entries.dates.iter().filter(|e| &e.param == param);
                        let chosen = if key.descending {
                            dates.map(|e| e.high).max()
                        } else {
                            dates.map(|e| e.low).min()
                        };
                        SortValue::Instant(chosen.unwrap_or_else(missing_instant))
                    }
                    _ => pick(
                        entries
                            .tokens
                            .iter()
                            .filter(|e| &e.param == param)
                            .filter_map(|e| e.code.clone())
                            .collect(),
                    ),
                }
            }
        })
        .collect();
    Cursor {
        before,
        values,
        id: row.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            before: true,
            values: vec![
                SortValue::Text("müller".into()),
                SortValue::Instant(DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()),
            ],
            id: "abc-1".into(),
        };
        assert_eq!(decode(&encode(&cursor)), Some(cursor));
        assert_eq!(decode("not a cursor"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("{\"b\":true}")), None);
    }

    #[test]
    fn sort_values_come_from_the_row() {
        let row = FoundResource {
            res_type: "Patient".into(),
            id: "p1".into(),
            last_updated: Utc::now(),
            body:
                r#"{"resourceType":"Patient","name":[{"family":"Zed"},{"family":"Ábel"}],"birthDate":"1990"}"#
                    .into(),
        };
        let key = |param: &str, table, descending| SortKey {
            field: SortField::Param {
                table,
                param: param.into(),
            },
            descending,
        };
        let cursor = at_row(
            ResourceType::Patient,
            &[
                key("family", IndexTable::String, false),
                key("family", IndexTable::String, true),
                key("birthdate", IndexTable::Date, false),
                key("gender", IndexTable::Token, false),
            ],
            &row,
            false,
            "",
        );
        assert_eq!(cursor.values[0], SortValue::Text("abel".into()));
        assert_eq!(cursor.values[1], SortValue::Text("zed".into()));
        assert!(
            matches!(cursor.values[2], SortValue::Instant(at) if at.to_rfc3339().starts_with("1990-01-01"))
        );
        assert_eq!(
            cursor.values[3],
            SortValue::Text(String::new()),
            "missing sorts as empty"
        );
    }
}
