//! Claim.MD's JSON answers, read leniently. Claim.MD writes XML and converts it to
//! JSON when asked, so the JSON keeps XML's looseness: an element that occurs once
//! may come as an object instead of a one-item array, an absent list as nothing or
//! an empty string, and numbers (ids, amounts) as strings or numbers. The readers
//! here accept every such form, and each struct names only the fields the plugin uses.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A repeated element: an array, a single object, or nothing.
pub(crate) fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let items = match Value::deserialize(deserializer)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        Value::String(text) if text.trim().is_empty() => Vec::new(),
        one => vec![one],
    };
    items
        .into_iter()
        .map(|item| T::deserialize(item).map_err(D::Error::custom))
        .collect()
}

/// A scalar attribute as text: a string or a number; empty means absent.
pub(crate) fn text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}

/// One `error` element: `{"error_code": "…", "error_mesg": "…"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireError {
    #[serde(default, deserialize_with = "text")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub error_mesg: Option<String>,
}

/// The `claim` element of an upload result and of the response feed.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireClaim {
    #[serde(default, deserialize_with = "text")]
    pub claimmd_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub pcn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub fileid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub sender_icn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub payer_icn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub response_time: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub messages: Vec<WireMessage>,
}

/// A `messages` element of a claim: `status` R (rejection reason), W (warning) or
/// A (information).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireMessage {
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub message: Option<String>,
}

/// `/services/upload/` and `/services/response/`: claims (and the feed's cursor).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClaimsResult {
    #[serde(default, deserialize_with = "text")]
    pub last_responseid: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub claim: Vec<WireClaim>,
}

/// `/services/uploadlist/`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UploadList {
    #[serde(default, deserialize_with = "one_or_many")]
    pub file: Vec<WireFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireFile {
    #[serde(default, deserialize_with = "text")]
    pub fileid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub filename: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub upload_date: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub claim_count: Option<String>,
}

/// `/services/eralist/`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EraList {
    #[serde(default, deserialize_with = "one_or_many")]
    pub era: Vec<WireEra>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireEra {
    #[serde(default, deserialize_with = "text")]
    pub eraid: Option<String>,
}

/// `/services/era835/`: the 835 in `data`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Era835 {
    #[serde(default, deserialize_with = "text")]
    pub data: Option<String>,
}

/// `/services/elig/`: `{"eligibility": {"eligid": "…", "data": "<271>"}}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EligibilityResult {
    #[serde(default, deserialize_with = "one_or_many")]
    pub eligibility: Vec<WireEligibility>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireEligibility {
    #[serde(default, deserialize_with = "text")]
    pub eligid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub data: Option<String>,
}

/// `/services/payerlist/`: `payer` at the top or under `result`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PayerListResult {
    #[serde(default, deserialize_with = "one_or_many")]
    pub payer: Vec<WirePayer>,
    #[serde(default)]
    pub result: Option<Box<PayerListResult>>,
}

impl PayerListResult {
    pub(crate) fn into_payers(self) -> Vec<WirePayer> {
        let mut payers = self.payer;
        if let Some(nested) = self.result {
            payers.extend(nested.into_payers());
        }
        payers
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WirePayer {
    #[serde(default, deserialize_with = "text")]
    pub payerid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub payer_name: Option<String>,
    #[serde(default, rename = "1500_claims", deserialize_with = "text")]
    pub professional_claims: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub eligibility: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub era: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_single_claim_as_an_object_reads_like_a_list_of_one() {
        let one: ClaimsResult = serde_json::from_value(json!({
            "last_responseid": 42,
            "claim": {"pcn": "PCN1", "claimmd_id": 7, "messages": {"status": "R", "message": "bad"}}
        }))
        .unwrap();
        assert_eq!(one.last_responseid.as_deref(), Some("42"));
        assert_eq!(one.claim.len(), 1);
        assert_eq!(one.claim[0].claimmd_id.as_deref(), Some("7"));
        assert_eq!(one.claim[0].messages[0].message.as_deref(), Some("bad"));
    }

    #[test]
    fn absent_or_empty_lists_read_as_empty() {
        for body in [
            json!({}),
            json!({"claim": ""}),
            json!({"claim": null}),
            json!({"claim": []}),
        ] {
            let result: ClaimsResult = serde_json::from_value(body.clone()).unwrap();
            assert!(result.claim.is_empty(), "{body}");
        }
    }

    #[test]
    fn payers_read_at_the_top_or_under_result() {
        let nested: PayerListResult = serde_json::from_value(
            json!({"result": {"payer": [{"payerid": "87726", "1500_claims": "yes"}]}}),
        )
        .unwrap();
        let payers = nested.into_payers();
        assert_eq!(payers[0].payerid.as_deref(), Some("87726"));
        assert_eq!(payers[0].professional_claims.as_deref(), Some("yes"));
    }
}
