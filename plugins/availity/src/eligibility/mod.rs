//! Eligibility through Availity's Coverages API: the server's 270 read into the
//! Coverages form, posted, polled to completion, and the `Coverage` written back as
//! the 271 the server reads.

mod coverage;
mod inquiry;

use chrono::Utc;
use claimbridge_plugin_sdk::{EligibilityRequest, EligibilityResponse, Idempotency, PluginError};

use crate::api::Api;
use crate::poll::{until_complete, Polling};

pub use coverage::Coverage;

/// One inquiry. An inquiry changes nothing at Availity, so its failures are
/// classified as idempotent: asking again is safe.
pub async fn check(
    api: &Api,
    polling: &Polling,
    control_number: u32,
    request: &EligibilityRequest,
) -> Result<EligibilityResponse, PluginError> {
    let inquiry = inquiry::read_270(&request.inquiry_270)?;
    let form = inquiry.form();
    let url = api.url("coverages");
    let answer = api
        .send(Idempotency::Idempotent, |http| http.post(&url).form(&form))
        .await?;
    let coverage: Coverage = until_complete(api, answer, "coverages", polling).await?;
    Ok(EligibilityResponse {
        response_271: coverage::write_271(&inquiry, &coverage, control_number, Utc::now()),
        vendor_reference: Some(coverage.id),
    })
}
