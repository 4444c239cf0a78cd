//! Claim status through Availity's Claim Statuses API (276/277 as JSON): a POST
//! carrying `X-HTTP-Method-Override: GET` (the Swagger marks it required: the
//! search is a GET whose parameters travel as a form body), answered 200 or 202
//! with a `ResultSet` of claim status summaries and the `Location` of the lookup;
//! `GET /claim-statuses/{id}` answers 202 while the payer works, then 200 with the
//! `ClaimStatus` and its results. Each `ClaimStatusResult` becomes a [`ClaimStatusUpdate`] from its
//! latest status detail (the X12 277 category code decides the kind); no results
//! means Availity's payer has no record of the claim.

use chrono::NaiveDate;
use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimStatusReport, ClaimStatusRequest, ClaimStatusUpdate, Idempotency, PluginError,
};
use serde::Deserialize;

use crate::api::{describe_all, error_from, read_json, Api, ValidationMessage};
use crate::poll::{location, poll, poll_url, AsyncResource, Polling};

pub const METHOD_OVERRIDE: &str = "X-HTTP-Method-Override";

/// What the POST answers: the claim status lookups it started or found.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResultSet {
    pub claim_statuses: Vec<ClaimStatusSummary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimStatusSummary {
    pub id: String,
}

/// `GET /claim-statuses/{id}`: one lookup and the claims it found.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimStatusResource {
    pub id: String,
    pub status: Option<String>,
    pub status_code: Option<String>,
    pub claim_statuses: Vec<ClaimStatusResult>,
    pub validation_messages: Vec<ValidationMessage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimStatusResult {
    /// The payer's claim number (ICN).
    pub claim_control_number: Option<String>,
    /// The clearinghouse's trace for the claim.
    pub claim_identification_number: Option<String>,
    pub patient_control_number: Option<String>,
    pub status_details: Vec<StatusDetail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusDetail {
    pub category_code: Option<String>,
    pub category: Option<String>,
    pub status_code: Option<String>,
    pub status: Option<String>,
    pub effective_date: Option<String>,
}

impl AsyncResource for ClaimStatusResource {
    fn id(&self) -> &str {
        &self.id
    }

    fn status_code(&self) -> Option<&str> {
        self.status_code.as_deref()
    }

    fn problems(&self) -> String {
        describe_all(&self.validation_messages, self.status.as_deref())
    }
}

/// Asks Availity where the claim stands.
pub async fn query(
    api: &Api,
    polling: &Polling,
    request: &ClaimStatusRequest,
) -> Result<ClaimStatusReport, PluginError> {
    let form = form(request);
    let url = api.url("claim-statuses");
    let answer = api
        .send(Idempotency::Idempotent, |http| {
            http.post(&url).header(METHOD_OVERRIDE, "GET").form(&form)
        })
        .await?;
    let status = answer.status();
    if !status.is_success() {
        return Err(error_from(answer, Idempotency::Idempotent, "claim-statuses").await);
    }
    let location = location(&answer);
    let found: ResultSet = read_json(answer, "claim-statuses").await?;
    // No lookup at all: Availity has nothing to say about such a claim.
    let Some(summary) = found.claim_statuses.first() else {
        return Ok(ClaimStatusReport { statuses: Vec::new() });
    };
    let url = poll_url(api, location, "claim-statuses", &summary.id)?;
    let resource: ClaimStatusResource = poll(api, &url, "claim-statuses", polling, None).await?;
    Ok(ClaimStatusReport {
        statuses: resource
            .claim_statuses
            .iter()
            .map(|result| update(result, request))
            .collect(),
    })
}

/// The dotted form fields of the Swagger. The patient is the subscriber unless the
/// request names another.
fn form(request: &ClaimStatusRequest) -> Vec<(&'static str, String)> {
    let patient = request.patient.as_ref().unwrap_or(&request.subscriber);
    let mut form = vec![
        ("payer.id", request.payer_id.clone()),
        ("providers.npi", request.billing_provider_npi.clone()),
        ("providers.taxId", request.billing_provider_tax_id.clone()),
        ("subscriber.memberId", request.member_id.clone()),
        ("subscriber.lastName", request.subscriber.last_name.clone()),
        ("subscriber.firstName", request.subscriber.first_name.clone()),
        ("patient.lastName", patient.last_name.clone()),
        ("patient.firstName", patient.first_name.clone()),
        ("patient.accountNumber", request.patient_control_number.clone()),
        (
            "patient.subscriberRelationshipCode",
            if request.patient.is_some() { "19" } else { "18" }.into(),
        ),
        ("fromDate", request.service_from.to_string()),
        ("toDate", request.service_to.to_string()),
        ("claimAmount", request.charge.to_string()),
    ];
    if let Some(birth_date) = patient.birth_date {
        form.push(("patient.birthDate", birth_date.to_string()));
    }
    if let Some(claim_number) = &request.vendor_claim_id {
        form.push(("claimNumber", claim_number.clone()));
    }
    form
}

fn update(result: &ClaimStatusResult, request: &ClaimStatusRequest) -> ClaimStatusUpdate {
    let latest = result.status_details.first();
    let category = latest.and_then(|detail| detail.category_code.clone());
    ClaimStatusUpdate {
        patient_control_number: result
            .patient_control_number
            .clone()
            .unwrap_or_else(|| request.patient_control_number.clone()),
        vendor_claim_id: result.claim_identification_number.clone(),
        payer_claim_number: result.claim_control_number.clone(),
        status: kind(category.as_deref().unwrap_or("")),
        category_code: category,
        messages: result
            .status_details
            .iter()
            .flat_map(|detail| [detail.category.clone(), detail.status.clone()])
            .flatten()
            .collect(),
        effective_date: latest
            .and_then(|detail| detail.effective_date.as_deref())
            .and_then(|date| NaiveDate::parse_from_str(date.get(..10)?, "%Y-%m-%d").ok()),
    }
}

/// The 277 category code's class (X12 Claim Status Category Codes).
pub fn kind(category: &str) -> ClaimStatusKind {
    match category {
        "A0" | "A1" | "A2" | "A5" => ClaimStatusKind::Accepted,
        "A3" | "A4" | "A6" | "A7" | "A8" => ClaimStatusKind::Rejected,
        code if code.starts_with('F') => ClaimStatusKind::Finalized,
        _ => ClaimStatusKind::Pending,
    }
}
