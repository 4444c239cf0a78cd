//! Prior authorization through Availity's Service Reviews API 2.0.0 (the X12 278
//! as JSON, `basePath` `/v2`): `POST /service-reviews` with a `ServiceReview`
//! answers 202 with the `Location` of the new review; `GET /service-reviews/{id}`
//! answers 202 (`X-Status-Message`) while the payer works, then 200 with the review
//! and its decision in `statusCode` (the 278's HCR01 action code, see [`decision`]).
//!
//! A POST is not idempotent (there is no key: a second POST is a second review), so
//! once Availity has given an id the request never fails: a payer that does not
//! answer within the polls, or a poll that fails, leaves the decision pended with
//! that id as its tracking id, and [`status`] asks again later.

mod review;

use claimbridge_plugin_sdk::{
    Idempotency, PluginError, PriorAuthDecision, PriorAuthOutcome, PriorAuthRequest, PriorAuthStatusRequest,
};
use reqwest::{Response, StatusCode};

use crate::api::{error_from, read_json, Api};
use crate::poll::{location, Polling};
pub use review::{decision, service_review, ServiceReview};

const RESOURCE: &str = "service-reviews";

/// Where the Service Reviews API lives: `{baseUrl}{serviceReviewsPath}`.
pub struct ServiceReviews {
    pub root: String,
}

impl ServiceReviews {
    fn collection(&self) -> String {
        format!("{}/{RESOURCE}", self.root)
    }

    fn review(&self, id: &str) -> String {
        format!("{}/{RESOURCE}/{id}", self.root)
    }
}

/// Sends the request and waits, within `polling`, for the payer's decision.
pub async fn request(
    api: &Api,
    reviews: &ServiceReviews,
    polling: &Polling,
    request: &PriorAuthRequest,
) -> Result<PriorAuthDecision, PluginError> {
    let body = service_review(&request.bundle)?;
    let url = reviews.collection();
    let answer = api
        .send(Idempotency::NotIdempotent, |http| http.post(&url).json(&body))
        .await?;
    if !matches!(
        answer.status(),
        StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED
    ) {
        return Err(error_from(answer, Idempotency::NotIdempotent, RESOURCE).await);
    }
    let id = created_id(answer).await.ok_or_else(|| {
        // Taken, but unanswerable: asking again would file a second review.
        PluginError::ambiguous("Availity took the service review but named no id for it")
    })?;
    let mut polls = 0;
    loop {
        tokio::time::sleep(polling.interval).await;
        polls += 1;
        match read(api, reviews, &id).await {
            Ok(decision) if decision.outcome != PriorAuthOutcome::Pended || polls >= polling.max_polls => {
                return Ok(decision)
            }
            Ok(_) => continue,
            // The review exists: a failed poll is asked again by the status sync.
            Err(error) => {
                tracing::warn!(%error, "polling a service review failed; it stays pended");
                return Ok(pended(&id, "Availity has not answered yet"));
            }
        }
    }
}

/// The decision on a review as it stands now.
pub async fn status(
    api: &Api,
    reviews: &ServiceReviews,
    request: &PriorAuthStatusRequest,
) -> Result<PriorAuthDecision, PluginError> {
    read(api, reviews, &request.tracking_id).await
}

async fn read(api: &Api, reviews: &ServiceReviews, id: &str) -> Result<PriorAuthDecision, PluginError> {
    let url = reviews.review(id);
    let answer = api.send(Idempotency::Idempotent, |http| http.get(&url)).await?;
    match answer.status() {
        StatusCode::ACCEPTED => {
            let message = answer
                .headers()
                .get("X-Status-Message")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("in progress")
                .to_owned();
            Ok(pended(id, &format!("the payer is reviewing it ({message})")))
        }
        StatusCode::OK => {
            let review: ServiceReview = read_json(answer, RESOURCE).await?;
            decision(id, &review)
        }
        _ => Err(error_from(answer, Idempotency::Idempotent, RESOURCE).await),
    }
}

fn pended(id: &str, note: &str) -> PriorAuthDecision {
    PriorAuthDecision {
        outcome: PriorAuthOutcome::Pended,
        reference: None,
        period: None,
        note: note.to_owned(),
        tracking_id: Some(id.to_owned()),
    }
}

/// The new review's id: the body's `id` when it has one, else the last segment of
/// the `Location`.
async fn created_id(answer: Response) -> Option<String> {
    let from_location = location(&answer).and_then(|location| {
        let path = location.split(['?', '#']).next()?.trim_end_matches('/');
        let id = path.rsplit('/').next()?;
        (!id.is_empty() && id != RESOURCE).then(|| id.to_owned())
    });
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    body.get("id")
        .and_then(|id| id.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .or(from_location)
}
