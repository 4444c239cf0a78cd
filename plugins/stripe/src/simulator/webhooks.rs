//! Sending events to the configured webhook endpoint as Stripe does: a JSON POST
//! signed with `Stripe-Signature: t=…,v1=…` under the endpoint's secret, sent after
//! the request that caused it was answered, retried with backoff when the endpoint
//! does not answer 2xx (Stripe retries for days; the simulator three times).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::store::{now, Delivery};
use super::{Shared, SIMULATOR_WEBHOOK_SECRET};
use crate::signature::sign;

const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Where events go and the secret they are signed with.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEndpoint {
    pub url: String,
    /// Defaults to [`SIMULATOR_WEBHOOK_SECRET`].
    #[serde(default = "default_secret")]
    pub secret: String,
}

impl WebhookEndpoint {
    /// An endpoint signed with the simulator's documented secret.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookEndpoint {
            url: url.into(),
            secret: default_secret(),
        }
    }
}

fn default_secret() -> String {
    SIMULATOR_WEBHOOK_SECRET.to_owned()
}

/// Sends `event` in the background, recording each attempt.
pub(crate) fn deliver(shared: Shared, endpoint: WebhookEndpoint, event: Value) {
    tokio::spawn(async move {
        let body = serde_json::to_vec(&event).unwrap_or_default();
        let event_id = event["id"].as_str().unwrap_or_default().to_owned();
        let event_type = event["type"].as_str().unwrap_or_default().to_owned();
        let client = match claimbridge_plugin_sdk::http_client::client(Duration::from_secs(5)) {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "simulator cannot send webhooks");
                return;
            }
        };
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let sent = client
                .post(&endpoint.url)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
                .header("Stripe-Signature", sign(&endpoint.secret, now(), &body))
                .body(body.clone())
                .send()
                .await;
            let (outcome, delivered) = match sent {
                Ok(answer) => (answer.status().as_u16().to_string(), answer.status().is_success()),
                Err(error) => (
                    format!(
                        "not delivered: {}",
                        if error.is_timeout() {
                            "timeout"
                        } else {
                            "connection failed"
                        }
                    ),
                    false,
                ),
            };
            shared.lock().deliveries.push(Delivery {
                event_id: event_id.clone(),
                event_type: event_type.clone(),
                attempt,
                outcome,
            });
            if delivered {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    });
}
