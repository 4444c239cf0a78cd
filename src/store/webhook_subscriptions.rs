//! Stored outbound webhooks: subscriptions (secrets only ever sealed) and the log of
//! delivery attempts, as the store sees them. Event names are text here;
//! `crate::outbound_webhooks` gives them meaning.
//!
//! Every claim move looks for subscribers in its own transaction. Most servers have
//! none, so the store remembers having seen none (`SubscriberPresence`) and then
//! answers without a query, for a few seconds at most: long enough that batch
//! intake pays nothing, short enough that a subscription made on another node is
//! seen soon. One made through this node is seen at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::store::integrations::SealedColumns;

/// How long "no subscription is enabled" is believed without asking again.
const NONE_BELIEVED_FOR: Duration = Duration::from_secs(5);

/// One subscription's row.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRecord {
    pub id: String,
    pub tenant: String,
    pub url: String,
    /// Event names, or `*` alone for all.
    pub events: Vec<String>,
    pub secret: SealedColumns,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An enabled subscription as event emission needs it: whose, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub id: String,
    pub tenant: String,
    pub events: Vec<String>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [DeliveryStatus::Delivered, DeliveryStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// One attempt to deliver one event; `id` is `None` until stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: Option<i64>,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i32,
    pub status: DeliveryStatus,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub delivered_at: DateTime<Utc>,
}

/// Whether any subscription is enabled, as this node last saw it. The generation
/// counts this node's changes: a look-up that found none records it only if no
/// change came while it ran, so a subscription committed meanwhile is not hidden.
#[derive(Debug, Default)]
pub struct SubscriberPresence {
    state: Mutex<Presence>,
}

#[derive(Debug, Default)]
struct Presence {
    generation: u64,
    none_seen_at: Option<Instant>,
}

impl SubscriberPresence {
    fn state(&self) -> std::sync::MutexGuard<'_, Presence> {
        // Two plain fields, consistent whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// No subscription was enabled a moment ago, and none was made here since.
    pub fn known_none(&self) -> bool {
        self.state()
            .none_seen_at
            .is_some_and(|at| at.elapsed() < NONE_BELIEVED_FOR)
    }

    /// The generation a look-up starts under (see `saw_none`).
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// A look-up started under `generation` found no enabled subscription.
    pub fn saw_none(&self, generation: u64) {
        let mut state = self.state();
        if state.generation == generation {
            state.none_seen_at = Some(Instant::now());
        }
    }

    /// Subscriptions changed (call once the change is committed): look again.
    pub fn changed(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.none_seen_at = None;
    }
}

/// A session's view of the enabled subscriptions: read at most once per session
/// (so once per request or batch chunk), and not at all while none is known.
#[derive(Debug)]
pub(crate) struct SessionTargets {
    pub presence: Arc<SubscriberPresence>,
    pub read: Option<Arc<[WebhookTarget]>>,
}

impl SessionTargets {
    pub fn new(presence: Arc<SubscriberPresence>) -> Self {
        SessionTargets { presence, read: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_believed_until_a_change_even_one_during_the_look_up() {
        let presence = SubscriberPresence::default();
        assert!(!presence.known_none(), "nothing is known at first");
        let before = presence.generation();
        presence.saw_none(before);
        assert!(presence.known_none());
        presence.changed();
        assert!(!presence.known_none());
        // A look-up that began before the change does not hide the new subscription.
        presence.saw_none(before);
        assert!(!presence.known_none());
    }
}
