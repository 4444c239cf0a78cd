//! Extracts the searchable values of a resource at write time, for the index tables
//! written in the same transaction.
//!
//! For now this covers `identifier` (every stored type has one, as an array of
//! Identifier), which conditional create and update resolve against.

use serde_json::{Map, Value};

use crate::store::model::{SearchIndexEntries, TokenEntry};

pub fn extract(resource: &Map<String, Value>) -> SearchIndexEntries {
    let tokens = resource
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(identifier_token)
        .collect();
    SearchIndexEntries { tokens }
}

fn identifier_token(identifier: &Value) -> Option<TokenEntry> {
    let text = |field: &str| identifier.get(field).and_then(Value::as_str).map(str::to_owned);
    let code = text("value");
    let system = text("system");
    if code.is_none() && system.is_none() {
        return None;
    }
    Some(TokenEntry {
        param: "identifier".to_owned(),
        system,
        code,
        display: identifier
            .pointer("/type/text")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_become_tokens() {
        let patient = json!({
            "resourceType": "Patient",
            "identifier": [
                {"system": "http://hospital.org/mrn", "value": "123", "type": {"text": "MRN"}},
                {"value": "no-system"},
                {"use": "old"}
            ]
        });
        let tokens = extract(patient.as_object().unwrap()).tokens;
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0].system.as_deref(), Some("http://hospital.org/mrn"));
        assert_eq!(tokens[0].code.as_deref(), Some("123"));
        assert_eq!(tokens[0].display.as_deref(), Some("MRN"));
        assert_eq!(tokens[1].system, None);
    }
}
