//! Availity's asynchronous resources (coverages, claim statuses): the POST answers
//! 202 with a `Location` and a summary holding the id (or 200 when a cached result
//! is ready), and `GET /{resource}/{id}` answers 202 while the payer has not
//! answered, then 200. The body's `statusCode` says more: `0` in progress, `1`
//! retrying after a payer timeout, `4` complete, `R` the request was refused (its
//! `validationMessages` say why), `E` the payer could not be reached.
//!
//! Polling is bounded (`maxPolls` × `pollIntervalMillis`): a payer that never
//! answers becomes a transient error, and the same inquiry can be asked again.

use std::time::Duration;

use claimbridge_plugin_sdk::{Idempotency, PluginError};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::api::{error_from, read_json, Api};

/// What polling needs to know of a resource's body.
pub trait AsyncResource: DeserializeOwned {
    fn id(&self) -> &str;
    fn status_code(&self) -> Option<&str>;
    /// The `validationMessages`, described, for a refused request.
    fn problems(&self) -> String;
}

#[derive(Debug, PartialEq, Eq)]
enum Progress {
    Waiting,
    Complete,
    Refused,
    Unreachable,
}

fn progress(status: StatusCode, status_code: Option<&str>) -> Progress {
    match status_code {
        Some("R") => Progress::Refused,
        Some("E") => Progress::Unreachable,
        Some("0" | "1") => Progress::Waiting,
        _ if status == StatusCode::ACCEPTED => Progress::Waiting,
        _ => Progress::Complete,
    }
}

pub struct Polling {
    pub interval: Duration,
    pub max_polls: u32,
}

/// Follows `first` (a POST answered with the resource's summary, as
/// `POST /coverages` is) to the completed resource.
pub async fn until_complete<T: AsyncResource>(
    api: &Api,
    first: Response,
    resource: &str,
    polling: &Polling,
) -> Result<T, PluginError> {
    let status = first.status();
    if !matches!(
        status,
        StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED
    ) {
        return Err(error_from(first, Idempotency::Idempotent, resource).await);
    }
    let location = location(&first);
    let body: T = read_json(first, resource).await?;
    let url = poll_url(api, location, resource, body.id())?;
    poll(api, &url, resource, polling, Some((status, body))).await
}

/// The `Location` of an answer, when it has one.
pub fn location(answer: &Response) -> Option<String> {
    answer
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Where to poll: the `Location` Availity gave, else `/{resource}/{id}`.
pub fn poll_url(
    api: &Api,
    location: Option<String>,
    resource: &str,
    id: &str,
) -> Result<String, PluginError> {
    match location {
        Some(location) => resolve(&api.root, &location),
        None => Ok(api.url(&format!("{resource}/{id}"))),
    }
}

/// Polls `url` until the resource is complete, starting from `current` when the
/// caller already holds an answer (and with a GET at once otherwise).
pub async fn poll<T: AsyncResource>(
    api: &Api,
    url: &str,
    resource: &str,
    polling: &Polling,
    mut current: Option<(StatusCode, T)>,
) -> Result<T, PluginError> {
    let mut polls = 0;
    loop {
        if let Some((status, body)) = current.take() {
            match progress(status, body.status_code()) {
                Progress::Complete => return Ok(body),
                Progress::Refused => {
                    return Err(PluginError::rejected(format!(
                        "Availity refused the {resource} request: {}",
                        body.problems()
                    )))
                }
                Progress::Unreachable => {
                    return Err(PluginError::transient(format!(
                        "Availity could not reach the payer for {resource}: {}",
                        body.problems()
                    )))
                }
                Progress::Waiting if polls >= polling.max_polls => {
                    return Err(PluginError::transient(format!(
                        "the payer had not answered the {resource} request after {polls} polls"
                    )))
                }
                Progress::Waiting => tokio::time::sleep(polling.interval).await,
            }
        }
        polls += 1;
        let answer = api.send(Idempotency::Idempotent, |http| http.get(url)).await?;
        let status = answer.status();
        if !matches!(status, StatusCode::OK | StatusCode::ACCEPTED) {
            return Err(error_from(answer, Idempotency::Idempotent, resource).await);
        }
        current = Some((status, read_json(answer, resource).await?));
    }
}

fn resolve(root: &str, location: &str) -> Result<String, PluginError> {
    let base = reqwest::Url::parse(root)
        .map_err(|e| PluginError::rejected(format!("the base URL does not read: {e}")))?;
    base.join(location)
        .map(String::from)
        .map_err(|e| PluginError::rejected(format!("Availity's Location does not read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_status_code_outranks_the_http_status() {
        assert_eq!(progress(StatusCode::ACCEPTED, Some("0")), Progress::Waiting);
        assert_eq!(progress(StatusCode::OK, Some("1")), Progress::Waiting);
        assert_eq!(progress(StatusCode::OK, Some("4")), Progress::Complete);
        assert_eq!(progress(StatusCode::ACCEPTED, None), Progress::Waiting);
        assert_eq!(progress(StatusCode::OK, Some("R")), Progress::Refused);
        assert_eq!(progress(StatusCode::OK, Some("E")), Progress::Unreachable);
    }
}
