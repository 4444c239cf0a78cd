//! The `webhook_delivery` job: POSTs one event to one subscription, signed, and
//! records the attempt. A 2xx answer delivers it; anything else (another status, no
//! connection, no answer in time) is recorded as failed and retried by the job
//! queue with backoff until `DELIVERY_ATTEMPTS` are spent, after which the job is
//! dead and an admin may requeue it (`POST /admin/jobs/{id}/requeue`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::Instrument;

use super::signature::{signature, SIGNATURE_HEADER};
use super::subscriptions::open_secret;
use crate::jobs::{Job, JobError};
use crate::secrets::Keyring;
use crate::store::webhook_subscriptions::{DeliveryRecord, DeliveryStatus};
use crate::store::Store;

pub const DELIVERY_JOB: &str = "webhook_delivery";

/// Attempts per event and subscription: with the queue's default backoff (up to
/// 2 s, doubling each time) the last comes at most about four minutes after the
/// first, enough to ride out a subscriber's restart; then an admin requeues.
pub const DELIVERY_ATTEMPTS: i32 = 8;

/// A subscriber that has not answered in this time has failed the attempt.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

pub const EVENT_HEADER: &str = "Claimbridge-Event";
pub const DELIVERY_HEADER: &str = "Claimbridge-Delivery";

/// A delivery job's payload.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    subscription_id: String,
    /// The body, exactly as built when the event happened.
    event: Value,
}

/// Runs `webhook_delivery` jobs.
pub struct Deliverer {
    store: Store,
    keyring: Option<Arc<Keyring>>,
    /// Built on first use: building it can fail (no TLS provider), and that is a
    /// failed delivery to retry, not a server that cannot start.
    client: OnceCell<reqwest::Client>,
}

impl Deliverer {
    pub fn new(store: Store, keyring: Option<Arc<Keyring>>) -> Self {
        Deliverer {
            store,
            keyring,
            client: OnceCell::new(),
        }
    }

    pub async fn run(self: Arc<Self>, job: Job) -> Result<(), JobError> {
        let payload: Payload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("not a webhook delivery: {e}")))?;
        let event_id = text(&payload.event, "id")?;
        let event_type = text(&payload.event, "type")?;
        let subscription = self
            .store
            .session()
            .await
            .map_err(transient)?
            .webhook_subscription(&payload.subscription_id)
            .await
            .map_err(transient)?;
        // Deleted or disabled since the event: the admin no longer wants it sent.
        let Some(subscription) = subscription.filter(|s| s.enabled) else {
            return Ok(());
        };
        let keyring = self
            .keyring
            .as_deref()
            .ok_or_else(|| JobError::transient("no secrets key is configured to open the signing secret"))?;
        let secret = open_secret(keyring, &subscription).map_err(transient)?;
        let client = self
            .client
            .get_or_try_init(|| async { claimbridge_plugin_sdk::http_client::client(DELIVERY_TIMEOUT) })
            .await
            .map_err(transient)?;
        let body = payload.event.to_string();
        let started = Instant::now();
        let sent = client
            .post(&subscription.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, event_type)
            .header(DELIVERY_HEADER, event_id)
            .header(
                SIGNATURE_HEADER,
                signature(&secret, Utc::now().timestamp(), body.as_bytes()),
            )
            .body(body)
            .send()
            // The subscription's id, never its URL, which may carry credentials.
            .instrument(tracing::info_span!(
                "webhook_delivery",
                subscription = %subscription.id,
                event_type
            ))
            .await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (outcome, http_status, failure) = match &sent {
            Ok(response) if response.status().is_success() => ("delivered", Some(response.status()), None),
            Ok(response) => (
                "refused",
                Some(response.status()),
                Some(format!("the subscriber answered {}", response.status())),
            ),
            Err(error) => {
                let (outcome, failure) = send_failure(error);
                (outcome, None, Some(failure))
            }
        };
        crate::observability::metrics::webhooks::delivery(outcome);
        let record = DeliveryRecord {
            id: None,
            subscription_id: subscription.id.clone(),
            event_id: event_id.to_owned(),
            event_type: event_type.to_owned(),
            attempt: job.attempts,
            status: if failure.is_none() {
                DeliveryStatus::Delivered
            } else {
                DeliveryStatus::Failed
            },
            http_status: http_status.map(|status| i32::from(status.as_u16())),
            error: failure.clone(),
            latency_ms,
            delivered_at: Utc::now(),
        };
        self.record(&record).await?;
        match failure {
            None => Ok(()),
            Some(failure) => {
                tracing::info!(
                    // Its id, never its URL, which may carry credentials.
                    subscription = %subscription.id,
                    event_id,
                    attempt = job.attempts,
                    "webhook delivery failed: {failure}"
                );
                Err(JobError::transient(failure))
            }
        }
    }

    async fn record(&self, record: &DeliveryRecord) -> Result<(), JobError> {
        let mut tx = self.store.begin().await.map_err(transient)?;
        tx.insert_webhook_delivery(record).await.map_err(transient)?;
        tx.commit().await.map_err(transient)
    }
}

fn text<'a>(event: &'a Value, field: &str) -> Result<&'a str, JobError> {
    event[field]
        .as_str()
        .ok_or_else(|| JobError::permanent(format!("the event has no {field}")))
}

/// Why a request got no answer (the metrics' outcome and the recorded error),
/// without reqwest's message, which names the URL.
fn send_failure(error: &reqwest::Error) -> (&'static str, String) {
    if error.is_timeout() {
        (
            "timeout",
            format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs()),
        )
    } else if error.is_connect() {
        ("unreachable", "cannot connect to the subscriber".to_owned())
    } else {
        (
            "broken_off",
            "the exchange with the subscriber broke off".to_owned(),
        )
    }
}

fn transient(error: impl std::fmt::Display) -> JobError {
    JobError::transient(error.to_string())
}
