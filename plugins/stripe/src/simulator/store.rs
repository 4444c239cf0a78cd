//! Everything the simulated Stripe account holds: its objects, the answers saved
//! per idempotency key, the events it raised, and what tests inspect (the requests
//! it received, the webhook deliveries it made).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use serde::Serialize;
use serde_json::{json, Value};

use super::payment_intent::PaymentIntent;
use super::webhooks::WebhookEndpoint;
use super::wire::Call;

/// An answer kept for its idempotency key.
pub(crate) struct Saved {
    pub path: String,
    pub params: Vec<(String, String)>,
    pub status: StatusCode,
    pub body: Value,
    pub request_id: String,
}

/// One request as it arrived, for tests that check the headers the plugin sends.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
}

/// One attempt to deliver an event to the webhook endpoint.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub attempt: u32,
    /// The endpoint's HTTP status, or why there was none.
    pub outcome: String,
}

pub(crate) struct Store {
    /// Makes ids unique across simulator runs, as Stripe's are.
    instance: String,
    sequence: u64,
    pub payment_intents: BTreeMap<String, PaymentIntent>,
    pub customers: BTreeMap<String, Value>,
    pub refunds: BTreeMap<String, Value>,
    pub events: BTreeMap<String, Value>,
    saved: HashMap<String, Saved>,
    requests: Vec<LoggedRequest>,
    pub deliveries: Vec<Delivery>,
    webhook_endpoint: Option<WebhookEndpoint>,
}

impl Store {
    pub fn new(webhook_endpoint: Option<WebhookEndpoint>) -> Store {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        Store {
            instance: base62(nanos as u64 % 62_u64.pow(6)),
            sequence: 0,
            payment_intents: BTreeMap::new(),
            customers: BTreeMap::new(),
            refunds: BTreeMap::new(),
            events: BTreeMap::new(),
            saved: HashMap::new(),
            requests: Vec::new(),
            deliveries: Vec::new(),
            webhook_endpoint,
        }
    }

    /// `pi_1Sim…`, `cus_…`, `req_…`: Stripe's prefixes, ids that never repeat.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.sequence += 1;
        format!("{prefix}_1Sim{}{:010}", self.instance, self.sequence)
    }

    pub fn log_request(
        &mut self,
        method: &str,
        path: &str,
        idempotency_key: Option<String>,
        stripe_version: Option<String>,
    ) {
        self.requests.push(LoggedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            idempotency_key,
            stripe_version,
        });
    }

    pub fn requests(&self) -> &[LoggedRequest] {
        &self.requests
    }

    pub fn saved(&self, key: &str) -> Option<&Saved> {
        self.saved.get(key)
    }

    pub fn save(&mut self, key: String, saved: Saved) {
        self.saved.insert(key, saved);
    }

    pub fn webhook_endpoint(&self) -> Option<&WebhookEndpoint> {
        self.webhook_endpoint.as_ref()
    }

    pub fn set_webhook_endpoint(&mut self, endpoint: Option<WebhookEndpoint>) {
        self.webhook_endpoint = endpoint;
    }

    /// Raises an event about `object` caused by `call`, keeps it (`GET
    /// /v1/events/{id}`) and returns it for delivery.
    pub fn record_event(&mut self, event_type: &str, object: Value, call: &Call) -> Value {
        let event = json!({
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": call.api_version,
            "created": now(),
            "data": {"object": object},
            "livemode": false,
            "pending_webhooks": u8::from(self.webhook_endpoint.is_some()),
            "request": {"id": call.request_id, "idempotency_key": call.idempotency_key},
            "type": event_type,
        });
        if let Some(id) = event["id"].as_str() {
            self.events.insert(id.to_owned(), event.clone());
        }
        event
    }
}

/// Unix seconds.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn base62(mut value: u64) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut text = Vec::new();
    loop {
        text.push(DIGITS[(value % 62) as usize]);
        value /= 62;
        if value == 0 {
            break;
        }
    }
    text.reverse();
    String::from_utf8(text).unwrap_or_default()
}
