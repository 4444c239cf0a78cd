//! The two cursor feeds: claim responses (`/services/response/`, `ResponseID` →
//! `last_responseid`) and ERAs (`/services/eralist/`, `ERAID` → the highest `eraid`,
//! each 835 then downloaded from `/services/era835/`).
//!
//! The plugin never keeps a cursor: it reads after the cursor it is given and returns
//! the next one; the server saves that only once it has committed the page, so a
//! crash reads the same page again. Reading from the same cursor twice gives the same
//! page — which is why the ERA list is asked with `NewOnly=0`: Claim.MD's default
//! (`NewOnly=1`) hides ERAs already downloaded, and a page re-read after a crash
//! would come back empty.

use claimbridge_plugin_sdk::{
    ClaimStatusUpdate, Cursor, FeedPage, FeedRequest, Idempotency, PluginError, Remittance,
};

use crate::status::update;
use crate::transport::{Body, Transport};
use crate::wire::{ClaimsResult, Era835, EraList};

pub(crate) async fn claim_status_feed(
    transport: &Transport,
    request: &FeedRequest,
) -> Result<FeedPage<ClaimStatusUpdate>, PluginError> {
    let after = position(request)?;
    let page: ClaimsResult = transport
        .call(
            "response",
            Body::Fields(vec![("ResponseID", after.to_string())]),
            Idempotency::Idempotent,
        )
        .await?
        .into_result()?;
    let items: Vec<ClaimStatusUpdate> = page.claim.iter().map(update).collect();
    let next = match page.last_responseid.as_deref().map(str::parse::<u64>) {
        Some(Ok(next)) => next,
        Some(Err(_)) => {
            return Err(PluginError::transient(
                "Claim.MD response: last_responseid is not a number",
            ))
        }
        None => after,
    };
    Ok(FeedPage {
        more: !items.is_empty() && next != after,
        items,
        cursor: Cursor(next.to_string()),
    })
}

pub(crate) async fn fetch_remittance(
    transport: &Transport,
    request: &FeedRequest,
    per_page: u32,
) -> Result<FeedPage<Remittance>, PluginError> {
    let after = position(request)?;
    let list: EraList = transport
        .call(
            "eralist",
            Body::Fields(vec![("ERAID", after.to_string()), ("NewOnly", "0".to_owned())]),
            Idempotency::Idempotent,
        )
        .await?
        .into_result()?;
    let mut era_ids = Vec::with_capacity(list.era.len());
    for era in &list.era {
        let id = era
            .eraid
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| PluginError::transient("Claim.MD eralist: an ERA without a numeric eraid"))?;
        if id > after {
            era_ids.push(id);
        }
    }
    era_ids.sort_unstable();
    era_ids.dedup();
    // The rest waits for the next page: every download costs a request.
    era_ids.truncate(per_page as usize);

    let mut items = Vec::with_capacity(era_ids.len());
    for id in &era_ids {
        let era: Era835 = transport
            .call(
                "era835",
                Body::Fields(vec![("eraid", id.to_string())]),
                Idempotency::Idempotent,
            )
            .await?
            .into_result()?;
        let interchange_835 = era.data.ok_or_else(|| {
            PluginError::transient(format!("Claim.MD era835: ERA {id} came without its 835"))
        })?;
        items.push(Remittance {
            vendor_remittance_id: id.to_string(),
            interchange_835,
        });
    }
    let next = era_ids.last().copied().unwrap_or(after);
    Ok(FeedPage {
        more: !items.is_empty(),
        items,
        cursor: Cursor(next.to_string()),
    })
}

/// Where the request reads from: a Claim.MD id (0 for the beginning).
fn position(request: &FeedRequest) -> Result<u64, PluginError> {
    match &request.after {
        None => Ok(0),
        Some(Cursor(text)) => text
            .parse()
            .map_err(|_| PluginError::rejected(format!("`{text}` is not a Claim.MD feed cursor"))),
    }
}
