//! The inquiries that change nothing: eligibility (a 270 file to `/services/elig/`,
//! answered with the 271) and the payer list (`/services/payerlist/`).

use std::collections::BTreeSet;

use claimbridge_plugin_sdk::{
    Capability, EligibilityRequest, EligibilityResponse, Idempotency, Payer, PayerList, PayerListRequest,
    PluginError,
};

use crate::transport::{Body, Transport};
use crate::wire::{EligibilityResult, PayerListResult, WirePayer};

/// Claimbridge writes a 270 and reads a 271, so the plugin uses Claim.MD's 270-file
/// service; its field-based sibling `eligdata` answers in Claim.MD's own JSON.
pub(crate) async fn eligibility(
    transport: &Transport,
    request: &EligibilityRequest,
) -> Result<EligibilityResponse, PluginError> {
    let result: EligibilityResult = transport
        .call(
            "elig",
            Body::File {
                fields: Vec::new(),
                file_name: "inquiry.270".to_owned(),
                contents: request.inquiry_270.clone(),
            },
            Idempotency::Idempotent,
        )
        .await?
        .into_result()?;
    let answer = result
        .eligibility
        .into_iter()
        .find(|answer| answer.data.is_some())
        .ok_or_else(|| PluginError::transient("Claim.MD elig answered without a 271"))?;
    Ok(EligibilityResponse {
        response_271: answer.data.unwrap_or_default(),
        vendor_reference: answer.eligid,
    })
}

pub(crate) async fn payer_list(
    transport: &Transport,
    request: &PayerListRequest,
) -> Result<PayerList, PluginError> {
    let mut fields = Vec::new();
    if let Some(payer_id) = &request.payer_id {
        fields.push(("payerid", payer_id.clone()));
    }
    if let Some(name) = &request.name {
        fields.push(("payer_name", name.clone()));
    }
    let result: PayerListResult = transport
        .call("payerlist", Body::Fields(fields), Idempotency::Idempotent)
        .await?
        .into_result()?;
    Ok(PayerList {
        payers: result.into_payers().iter().filter_map(payer).collect(),
    })
}

fn payer(wire: &WirePayer) -> Option<Payer> {
    let mut capabilities = BTreeSet::new();
    if offered(&wire.professional_claims) {
        capabilities.extend([
            Capability::SubmitClaim,
            Capability::ClaimStatus,
            Capability::ClaimStatusFeed,
        ]);
    }
    if offered(&wire.eligibility) {
        capabilities.insert(Capability::Eligibility);
    }
    if offered(&wire.era) {
        capabilities.insert(Capability::FetchRemittance);
    }
    Some(Payer {
        payer_id: wire.payerid.clone()?,
        name: wire.payer_name.clone().unwrap_or_default(),
        capabilities,
    })
}

/// Claim.MD's capability flags are strings whose vocabulary is not published
/// (values such as "yes" or "enrollment" appear); only an empty or plainly negative
/// value is read as "not offered".
fn offered(flag: &Option<String>) -> bool {
    match flag.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(value) => !matches!(
            value.to_ascii_lowercase().as_str(),
            "n" | "no" | "0" | "false" | "none"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_flags_are_offered_unless_empty_or_negative() {
        for yes in ["yes", "Y", "1", "enrollment"] {
            assert!(offered(&Some(yes.into())), "{yes}");
        }
        for no in ["", "no", "N", "0", "false"] {
            assert!(!offered(&Some(no.into())), "{no}");
        }
        assert!(!offered(&None));
    }

    #[test]
    fn a_professional_claims_flag_offers_submission_and_status() {
        let payer = payer(&WirePayer {
            payerid: Some("87726".into()),
            payer_name: Some("UnitedHealthcare".into()),
            professional_claims: Some("yes".into()),
            eligibility: Some("no".into()),
            era: Some("enrollment".into()),
        })
        .unwrap();
        assert!(payer.capabilities.contains(&Capability::SubmitClaim));
        assert!(!payer.capabilities.contains(&Capability::Eligibility));
        assert!(payer.capabilities.contains(&Capability::FetchRemittance));
    }
}
