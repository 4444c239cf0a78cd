//! Posting 835 remittances: the payer's money into the ledger, its answer for each
//! claim into a FHIR ClaimResponse and the claim's billing state, and whatever
//! matches no claim into a list a person works through.
//!
//! | Module | Job |
//! |---|---|
//! | [`posting`] | the service: one transaction per remittance, posted once per trace number |
//! | [`ledger`] | the ledger entries of a claim payment and of provider-level adjustments |
//! | [`verdict`] | the billing state and outcome a claim payment means, and the way there |
//! | [`claim_response`] | the FHIR ClaimResponse of a claim payment |
//! | [`detail`] | an unmatched claim payment as JSON |
//! | [`report`] | what posting did, as answered and stored |
//! | [`money`] | whole cents and exact JSON amounts |
//! | [`routes`] | `POST /api/billing/remittance`, the list of remittances and each one's report, `GET /api/billing/remittance/unmatched` |

pub mod claim_response;
pub mod detail;
pub mod ledger;
pub mod money;
pub mod posting;
pub mod report;
pub mod routes;
pub mod verdict;

use crate::billing::service::BillingError;
use crate::fhir::service::ResourceService;
use crate::store::model::Tenant;
use crate::store::remittance::{RemittanceFilter, RemittanceSummary, UnmatchedClaim};

/// Unmatched claim payments, newest first, older than `before_id` when given.
pub async fn unmatched(
    fhir: &ResourceService,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<UnmatchedClaim>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.list_unmatched_claims(before_id, limit).await?)
}

/// Posted remittances, newest first, as `filter` narrows them.
pub async fn list(
    fhir: &ResourceService,
    filter: &RemittanceFilter<'_>,
) -> Result<Vec<RemittanceSummary>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.list_remittances(filter).await?)
}

/// What posting the remittance `id` did, as stored when it was posted (JSON text);
/// `None` when there is no such remittance.
pub async fn stored_report(fhir: &ResourceService, id: i64) -> Result<Option<String>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.remittance_report_by_id(id).await?)
}
