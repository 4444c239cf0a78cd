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

/// ERAs per page of Claim.MD's ERA list (what independent fakes of it use): a
/// shorter page is the last.
const ERA_LIST_PAGE: usize = 100;

/// ERA-list pages read before giving up on finding the oldest ERA.
const MAX_ERA_LIST_PAGES: u32 = 20;

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
    let mut era_ids = listed_after(transport, after).await?;
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

/// The ids of the ERAs listed after `after`. Claim.MD pages its ERA list without
/// saying in which order; a full page in descending order may leave the oldest ERAs
/// — the ones to take first, or the cursor would pass them — on later pages, so then
/// the pages are read to the end.
async fn listed_after(transport: &Transport, after: u64) -> Result<Vec<u64>, PluginError> {
    let mut ids = Vec::new();
    let mut previous_first = None;
    for page in 1..=MAX_ERA_LIST_PAGES {
        let list: EraList = transport
            .call(
                "eralist",
                Body::Fields(vec![
                    ("ERAID", after.to_string()),
                    ("NewOnly", "0".to_owned()),
                    ("Page", page.to_string()),
                ]),
                Idempotency::Idempotent,
            )
            .await?
            .into_result()?;
        let mut page_ids = Vec::with_capacity(list.era.len());
        for era in &list.era {
            let id = era
                .eraid
                .as_deref()
                .and_then(|id| id.parse::<u64>().ok())
                .ok_or_else(|| PluginError::transient("Claim.MD eralist: an ERA without a numeric eraid"))?;
            page_ids.push(id);
        }
        let first = page_ids.first().copied();
        let repeated = first.is_some() && first == previous_first;
        let more_pages = !repeated && older_may_follow(&page_ids);
        if !repeated {
            ids.extend(page_ids.into_iter().filter(|id| *id > after));
        }
        if !more_pages {
            return Ok(ids);
        }
        previous_first = first;
    }
    Err(PluginError::transient(format!(
        "Claim.MD's ERA list after ERA {after} runs newest first beyond {MAX_ERA_LIST_PAGES} pages; cannot find the oldest"
    )))
}

/// Whether ERAs older than all of `page` may be on the next page: the page is full
/// and runs newest first.
fn older_may_follow(page: &[u64]) -> bool {
    page.len() >= ERA_LIST_PAGE && page.first() > page.last()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_page_running_newest_first_sends_for_more() {
        let ascending: Vec<u64> = (1..=100).collect();
        let descending: Vec<u64> = (1..=100).rev().collect();
        assert!(!older_may_follow(&ascending));
        assert!(older_may_follow(&descending));
        assert!(!older_may_follow(&[9, 8, 7]), "a short page is the last");
        assert!(!older_may_follow(&[]));
    }
}
