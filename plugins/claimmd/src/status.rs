//! `claim_status` for one claim. Its hardest use is after an upload whose answer was
//! lost: the orchestrator asks whether Claim.MD has the claim before sending it
//! anywhere else, and an empty answer lets it fail over. So an empty report is given
//! only when Claim.MD's own lists were read to their end without finding the claim;
//! whenever the plugin cannot tell, it fails instead.
//!
//! Claim.MD has no "status of claim X" service. What it has:
//! - `/services/response/` with `ClaimID` (Claim.MD's claim id) — the responses of
//!   that claim, when the caller knows the id from an upload answer;
//! - `/services/uploadlist/` — every file uploaded, by name; the plugin names each
//!   upload after its submission, so the file's presence answers "did the upload
//!   arrive" even when nothing else about it came back;
//! - the whole response feed from `ResponseID=0`, which carries each claim's `pcn` —
//!   the last resort for a claim with neither id.

use chrono::NaiveDate;
use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimStatusReport, ClaimStatusRequest, ClaimStatusUpdate, Idempotency, PluginError,
};

use crate::submit::{message_texts, status_kind, upload_file_name};
use crate::transport::{Body, Transport};
use crate::wire::{ClaimsResult, UploadList, WireClaim, WireFile};

/// Upload-list pages read before giving up on telling (newest files come first).
const MAX_UPLOAD_LIST_PAGES: u32 = 20;

/// Response-feed pages (up to 20,000 responses each) read before giving up.
const MAX_RESPONSE_PAGES: u32 = 10;

pub(crate) async fn claim_status(
    transport: &Transport,
    request: &ClaimStatusRequest,
) -> Result<ClaimStatusReport, PluginError> {
    let pcn = request.patient_control_number.as_str();
    if let Some(claim_id) = request.vendor_claim_id.as_deref() {
        let statuses = scan_responses(transport, Some(claim_id), |claim| {
            claim.claimmd_id.as_deref() == Some(claim_id)
        })
        .await?;
        if !statuses.is_empty() {
            return Ok(ClaimStatusReport { statuses });
        }
    }
    if let Some(submission_id) = request.submission_id.as_deref() {
        let file_name = upload_file_name(submission_id)?;
        let statuses = match find_upload(transport, &file_name).await? {
            Some(file) if holds_claims(&file) => vec![received(pcn, &file)],
            _ => Vec::new(),
        };
        return Ok(ClaimStatusReport { statuses });
    }
    let statuses = scan_responses(transport, None, |claim| claim.pcn.as_deref() == Some(pcn)).await?;
    Ok(ClaimStatusReport { statuses })
}

/// A claim element of the response feed as a status update.
pub(crate) fn update(claim: &WireClaim) -> ClaimStatusUpdate {
    ClaimStatusUpdate {
        patient_control_number: claim.pcn.clone().unwrap_or_default(),
        vendor_claim_id: claim.claimmd_id.clone(),
        payer_claim_number: claim.sender_icn.clone().or_else(|| claim.payer_icn.clone()),
        status: status_kind(claim.status.as_deref()),
        category_code: None,
        messages: message_texts(claim),
        effective_date: claim.response_time.as_deref().and_then(date),
    }
}

/// Reads the response feed from its beginning (for one claim when `claim_id` is
/// given), keeping the claims `wanted` picks.
async fn scan_responses(
    transport: &Transport,
    claim_id: Option<&str>,
    wanted: impl Fn(&WireClaim) -> bool,
) -> Result<Vec<ClaimStatusUpdate>, PluginError> {
    let mut cursor = "0".to_owned();
    let mut found = Vec::new();
    for _ in 0..MAX_RESPONSE_PAGES {
        let mut fields = vec![("ResponseID", cursor.clone())];
        if let Some(claim_id) = claim_id {
            fields.push(("ClaimID", claim_id.to_owned()));
        }
        let page: ClaimsResult = transport
            .call("response", Body::Fields(fields), Idempotency::Idempotent)
            .await?
            .into_result()?;
        found.extend(page.claim.iter().filter(|claim| wanted(claim)).map(update));
        match page.last_responseid {
            Some(next) if !page.claim.is_empty() && next != cursor => cursor = next,
            _ => return Ok(found),
        }
    }
    Err(PluginError::transient(format!(
        "Claim.MD's response feed is longer than {MAX_RESPONSE_PAGES} pages; cannot tell whether it holds the claim"
    )))
}

/// Looks for `file_name` in Claim.MD's upload list, page by page until a page is
/// empty (or repeats the one before, should Claim.MD ignore `Page`).
async fn find_upload(transport: &Transport, file_name: &str) -> Result<Option<WireFile>, PluginError> {
    let mut previous_first: Option<Option<String>> = None;
    for page in 1..=MAX_UPLOAD_LIST_PAGES {
        let list: UploadList = transport
            .call(
                "uploadlist",
                Body::Fields(vec![("Page", page.to_string())]),
                Idempotency::Idempotent,
            )
            .await?
            .into_result()?;
        if let Some(file) = list.file.iter().find(|file| {
            file.filename
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case(file_name))
        }) {
            return Ok(Some(file.clone()));
        }
        let Some(first) = list.file.first() else {
            return Ok(None);
        };
        if previous_first.as_ref() == Some(&first.fileid) {
            return Ok(None);
        }
        previous_first = Some(first.fileid.clone());
    }
    Err(PluginError::transient(format!(
        "Claim.MD's upload list is longer than {MAX_UPLOAD_LIST_PAGES} pages; cannot tell whether it holds the file"
    )))
}

/// A file Claim.MD listed with no claims took nothing from it (it could not read
/// it); a count it does not give is taken as some.
fn holds_claims(file: &WireFile) -> bool {
    file.claim_count.as_deref().map(str::trim) != Some("0")
}

/// The one thing known of a claim whose file Claim.MD holds: it was received.
fn received(pcn: &str, file: &WireFile) -> ClaimStatusUpdate {
    ClaimStatusUpdate {
        patient_control_number: pcn.to_owned(),
        vendor_claim_id: None,
        payer_claim_number: None,
        status: ClaimStatusKind::Pending,
        category_code: None,
        messages: vec![format!(
            "Claim.MD holds the uploaded file {} (fileid {}, {} claims)",
            file.filename.as_deref().unwrap_or("?"),
            file.fileid.as_deref().unwrap_or("?"),
            file.claim_count.as_deref().unwrap_or("?"),
        )],
        effective_date: file.upload_date.as_deref().and_then(date),
    }
}

/// A date from Claim.MD's date or date-time text, in the forms seen in its answers.
fn date(text: &str) -> Option<NaiveDate> {
    let day = text.split([' ', 'T']).next()?;
    ["%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%Y%m%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(day, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_the_forms_claim_md_writes() {
        let expected = NaiveDate::from_ymd_opt(2026, 3, 14);
        for text in [
            "2026-03-14",
            "2026-03-14 09:26:53",
            "03/14/2026",
            "03-14-2026",
            "20260314",
        ] {
            assert_eq!(date(text), expected, "{text}");
        }
        assert_eq!(date("soon"), None);
    }

    #[test]
    fn a_file_listed_with_no_claims_holds_none() {
        let file = |count: Option<&str>| WireFile {
            claim_count: count.map(str::to_owned),
            ..WireFile::default()
        };
        assert!(!holds_claims(&file(Some("0"))));
        assert!(holds_claims(&file(Some("3"))));
        assert!(holds_claims(&file(None)));
    }
}
