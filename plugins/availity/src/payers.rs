//! Availity's payer list (`GET /availity-payer-list`): paged with `offset`/`limit`
//! (at most 50), each payer with the processing routes it takes through Availity,
//! one per X12 transaction type. Availity filters by `payerId`; a name is matched
//! here, since the API takes none.

use std::collections::BTreeSet;

use claimbridge_plugin_sdk::{Capability, Idempotency, Payer, PayerList, PayerListRequest, PluginError};
use reqwest::Response;
use serde::Deserialize;

use crate::api::{error_from, read_json, Api};

const PAGE: u64 = 50;
/// Bound on pages read for one list: Availity lists a few thousand payers.
const MAX_PAGES: u64 = 400;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PayerPage {
    pub payers: Vec<ListedPayer>,
    pub total_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListedPayer {
    pub payer_id: String,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub processing_routes: Vec<ProcessingRoute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessingRoute {
    pub transaction_type: Option<String>,
    pub availability: Option<String>,
}

pub async fn list(api: &Api, request: &PayerListRequest) -> Result<PayerList, PluginError> {
    let mut payers = Vec::new();
    for page in 0..MAX_PAGES {
        let offset = page * PAGE;
        let mut query = vec![("offset", offset.to_string()), ("limit", PAGE.to_string())];
        if let Some(payer_id) = &request.payer_id {
            query.push(("payerId", payer_id.clone()));
        }
        let listed = fetch(api, &query).await?;
        let read = listed.payers.len() as u64;
        payers.extend(
            listed
                .payers
                .into_iter()
                .filter(|payer| matches_name(payer, request.name.as_deref()))
                .map(payer),
        );
        let total = listed.total_count.unwrap_or(offset + read);
        if read == 0 || offset + read >= total {
            break;
        }
    }
    Ok(PayerList { payers })
}

/// One page of one payer: proves the token works and says how many payers there are.
pub async fn total(api: &Api) -> Result<u64, PluginError> {
    let page = fetch(api, &[("limit", "1".to_owned())]).await?;
    Ok(page.total_count.unwrap_or(page.payers.len() as u64))
}

/// The raw answer of a one-payer page, for the health check to classify itself.
pub async fn probe(api: &Api) -> Result<Response, PluginError> {
    let url = api.url("availity-payer-list");
    api.send(Idempotency::Idempotent, |http| {
        http.get(&url).query(&[("limit", "1")])
    })
    .await
}

async fn fetch(api: &Api, query: &[(&str, String)]) -> Result<PayerPage, PluginError> {
    let url = api.url("availity-payer-list");
    let answer = api
        .send(Idempotency::Idempotent, |http| http.get(&url).query(query))
        .await?;
    if !answer.status().is_success() {
        return Err(error_from(answer, Idempotency::Idempotent, "availity-payer-list").await);
    }
    read_json(answer, "payer list").await
}

fn matches_name(payer: &ListedPayer, name: Option<&str>) -> bool {
    let Some(name) = name.map(str::to_lowercase) else {
        return true;
    };
    [&payer.name, &payer.display_name]
        .into_iter()
        .flatten()
        .any(|candidate| candidate.to_lowercase().contains(&name))
}

fn payer(listed: ListedPayer) -> Payer {
    let capabilities: BTreeSet<Capability> = listed
        .processing_routes
        .iter()
        .filter(|route| route.availability.as_deref() != Some("unavailable"))
        .filter_map(|route| capability(route.transaction_type.as_deref()?))
        .collect();
    Payer {
        payer_id: listed.payer_id,
        name: listed.display_name.or(listed.name).unwrap_or_default(),
        capabilities,
    }
}

/// The capability an X12 transaction type gives.
fn capability(transaction_type: &str) -> Option<Capability> {
    match transaction_type {
        "270" => Some(Capability::Eligibility),
        "276" => Some(Capability::ClaimStatus),
        "837P" | "837" | "837I" => Some(Capability::SubmitClaim),
        "835" => Some(Capability::FetchRemittance),
        _ => None,
    }
}
