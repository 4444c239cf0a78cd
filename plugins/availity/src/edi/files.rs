//! The batch channel's files: how an upload is named (the name carries the
//! submission id, so a status check can find the file and its acknowledgements
//! without any other record), and what an 837P, a 999 and a 277CA say about the
//! claims of one file.

use claimbridge_plugin_sdk::{ClaimStatusKind, ClaimStatusUpdate};

use crate::claim_status::kind;
use crate::x12::{self, Segment};

/// Extension of uploaded claim files.
pub const CLAIM_EXTENSION: &str = "837";
/// Extensions of the acknowledgements that come back for `<stem>.837`.
pub const ACK_999_EXTENSION: &str = "999";
pub const ACK_277CA_EXTENSION: &str = "277";

/// `<prefix>_<submission id>.837`, the id reduced to letters, digits, `-` and `_`
/// (file names on the channel are plain ASCII without spaces).
pub fn claim_file_name(prefix: &str, submission_id: &str) -> String {
    let id: String = submission_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{id}.{CLAIM_EXTENSION}")
}

/// The name without its extension: what its acknowledgements are named after.
pub fn stem(file_name: &str) -> &str {
    file_name.rsplit_once('.').map_or(file_name, |(stem, _)| stem)
}

/// One claim of an 837P.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLine {
    /// CLM01.
    pub patient_control_number: String,
    /// CLM02, as written.
    pub charge: String,
}

/// What the acknowledgements of an 837 say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimFile {
    pub sender_id: String,
    pub receiver_id: String,
    /// GS06, which a 999 acknowledges.
    pub group_control_number: String,
    /// ST02 of the (first) transaction set.
    pub transaction_control_number: String,
    /// BHT03, which a 277CA echoes at the submitter level.
    pub batch_reference: String,
    pub claims: Vec<ClaimLine>,
}

/// Reads the claims of an 837P; a file with no CLM is refused.
pub fn read_837(text: &str) -> Result<ClaimFile, String> {
    let segments = x12::segments(text)?;
    let mut file = ClaimFile {
        sender_id: String::new(),
        receiver_id: String::new(),
        group_control_number: String::new(),
        transaction_control_number: String::new(),
        batch_reference: String::new(),
        claims: Vec::new(),
    };
    for segment in &segments {
        match segment.id.as_str() {
            "ISA" => {
                file.sender_id = segment.element(6).trim().to_owned();
                file.receiver_id = segment.element(8).trim().to_owned();
            }
            "GS" => file.group_control_number = segment.element(6).to_owned(),
            "ST" if file.transaction_control_number.is_empty() => {
                file.transaction_control_number = segment.element(2).to_owned()
            }
            "BHT" if file.batch_reference.is_empty() => file.batch_reference = segment.element(3).to_owned(),
            "CLM" => file.claims.push(ClaimLine {
                patient_control_number: segment.element(1).to_owned(),
                charge: segment.element(2).to_owned(),
            }),
            _ => {}
        }
    }
    if file.claims.is_empty() {
        return Err("the 837 holds no claim (no CLM segment)".into());
    }
    Ok(file)
}

/// A 999's verdict on the file: accepted (AK9 A or E) or rejected.
pub fn read_999_accepted(text: &str) -> Result<bool, String> {
    let segments = x12::segments(text)?;
    let verdict = segments
        .iter()
        .find(|segment| segment.id == "AK9")
        .map(|segment| segment.element(1).to_owned())
        .ok_or("the 999 has no AK9")?;
    Ok(matches!(verdict.as_str(), "A" | "E"))
}

/// The status a 277CA gives each claim (HL PT: TRN*2 the claim's CLM01, STC, REF*1K
/// the payer's claim number, REF*D9 the clearinghouse's trace).
pub fn read_277ca(text: &str) -> Result<Vec<ClaimStatusUpdate>, String> {
    let segments = x12::segments(text)?;
    let mut updates: Vec<ClaimStatusUpdate> = Vec::new();
    let mut in_claim = false;
    for segment in &segments {
        match segment.id.as_str() {
            "HL" => {
                in_claim = segment.element(3) == "PT";
                if in_claim {
                    updates.push(ClaimStatusUpdate {
                        patient_control_number: String::new(),
                        vendor_claim_id: None,
                        payer_claim_number: None,
                        status: ClaimStatusKind::Pending,
                        category_code: None,
                        messages: Vec::new(),
                        effective_date: None,
                    });
                }
            }
            _ if !in_claim => {}
            "TRN" => current(&mut updates).patient_control_number = segment.element(2).to_owned(),
            "STC" => status(current(&mut updates), segment),
            "REF" if segment.element(1) == "1K" => {
                current(&mut updates).payer_claim_number = segment.value(2).map(str::to_owned)
            }
            "REF" if segment.element(1) == "D9" => {
                current(&mut updates).vendor_claim_id = segment.value(2).map(str::to_owned)
            }
            _ => {}
        }
    }
    Ok(updates)
}

fn current(updates: &mut [ClaimStatusUpdate]) -> &mut ClaimStatusUpdate {
    updates.last_mut().expect("a claim level was opened")
}

fn status(update: &mut ClaimStatusUpdate, segment: &Segment) {
    let category = segment.component(1, 1).to_owned();
    // The first STC of a claim is its verdict; later ones add detail.
    if update.category_code.is_none() {
        update.status = kind(&category);
        update.effective_date = x12::date(segment.element(2));
        update.category_code = Some(category.clone());
    }
    let mut message = format!("277CA {}:{}", category, segment.component(1, 2));
    if let Some(text) = segment.value(12) {
        message.push_str(&format!(" {text}"));
    }
    update.messages.push(message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_id_becomes_a_plain_file_name_whose_stem_names_its_acknowledgements() {
        let name = claim_file_name("CB", "sub 7/ä");
        assert_eq!(name, "CB_sub_7__.837");
        assert_eq!(stem(&name), "CB_sub_7__");
    }
}
