//! `submit_claim`: the 837P goes up as a file to `/services/upload/`, named after the
//! submission, so that when the answer is lost `claim_status` can find the file in
//! Claim.MD's upload list and tell whether it arrived.

use chrono::Utc;
use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimSubmission, Idempotency, PluginError, SubmissionReceipt, SubmittedClaim,
};

use crate::transport::{Body, Transport};
use crate::wire::{ClaimsResult, WireClaim};

/// Longest submission id that goes into a file name.
const MAX_SUBMISSION_ID: usize = 100;

/// The name the submission's file is uploaded (and later looked up) under. Only
/// characters every file system and Claim.MD keep as they are: an id that would
/// need rewriting is refused, since two ids rewritten alike could make one
/// submission's file stand for another's.
pub(crate) fn upload_file_name(submission_id: &str) -> Result<String, PluginError> {
    let usable = !submission_id.is_empty()
        && submission_id.len() <= MAX_SUBMISSION_ID
        && submission_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !usable {
        return Err(PluginError::rejected(format!(
            "the submission id must be 1 to {MAX_SUBMISSION_ID} letters, digits, '-', '_' or '.' to name the uploaded file"
        )));
    }
    Ok(format!("{submission_id}.837"))
}

pub(crate) async fn submit_claim(
    transport: &Transport,
    submission: &ClaimSubmission,
) -> Result<SubmissionReceipt, PluginError> {
    let file_name = upload_file_name(&submission.submission_id)?;
    let answer = transport
        .call(
            "upload",
            Body::File {
                fields: vec![("Filename", file_name.clone())],
                file_name: file_name.clone(),
                contents: submission.interchange_837p.clone(),
            },
            Idempotency::NotIdempotent,
        )
        .await?;
    let result: ClaimsResult = answer.read()?;
    // Claims in the answer mean Claim.MD holds them, whatever else it reports: a
    // final error here would have the claim corrected and sent again while the
    // first copy is on its way to the payer.
    if result.claim.is_empty() && !answer.errors.is_empty() {
        return Err(answer.error());
    }
    let vendor_batch_id = result
        .claim
        .iter()
        .find_map(|claim| claim.fileid.clone())
        .unwrap_or(file_name);
    Ok(SubmissionReceipt {
        vendor_batch_id,
        claims: result.claim.iter().map(submitted).collect(),
        received_at: Utc::now(),
    })
}

fn submitted(claim: &WireClaim) -> SubmittedClaim {
    SubmittedClaim {
        patient_control_number: claim.pcn.clone().unwrap_or_default(),
        vendor_claim_id: claim.claimmd_id.clone(),
        status: status_kind(claim.status.as_deref()),
        messages: message_texts(claim),
    }
}

/// Claim.MD's claim `status`: A accepted, R rejected, D denied by the payer;
/// anything else (or none yet) is still pending.
pub(crate) fn status_kind(status: Option<&str>) -> ClaimStatusKind {
    match status.map(str::trim) {
        Some("A") | Some("a") => ClaimStatusKind::Accepted,
        Some("R") | Some("r") => ClaimStatusKind::Rejected,
        Some("D") | Some("d") => ClaimStatusKind::Finalized,
        _ => ClaimStatusKind::Pending,
    }
}

/// The claim's messages, each prefixed with its kind (rejection, warning).
pub(crate) fn message_texts(claim: &WireClaim) -> Vec<String> {
    claim
        .messages
        .iter()
        .filter_map(|message| {
            let text = message.message.as_deref()?;
            Some(match message.status.as_deref() {
                Some("R") => format!("rejected: {text}"),
                Some("W") => format!("warning: {text}"),
                _ => text.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use claimbridge_plugin_sdk::ErrorClass;

    use super::*;

    #[test]
    fn the_file_is_named_after_the_submission() {
        assert_eq!(upload_file_name("5f0c-77_a.1").unwrap(), "5f0c-77_a.1.837");
    }

    #[test]
    fn an_id_that_would_need_rewriting_is_refused() {
        for id in ["", "a/b", "a b", "ü", &"x".repeat(101)] {
            assert_eq!(
                upload_file_name(id).unwrap_err().class(),
                ErrorClass::Final,
                "{id:?}"
            );
        }
    }
}
