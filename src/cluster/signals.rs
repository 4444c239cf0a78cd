//! Pub/sub between the nodes of a deployment, on one Redis channel
//! (`{prefix}:signals`): a revoked token or grant, so that every node forgets it
//! has verified it and asks the database again on its next use; and "jobs were
//! queued", so that idle job runners claim at once instead of at their next poll.
//!
//! A signal is a hint that makes something happen sooner; the database stays the
//! truth, and what a node does without signals still holds (a remembered token is
//! rechecked every `REVOCATION_RECHECK`, runners poll every
//! `jobs_poll_interval_ms`). Pub/sub delivers to whoever listens at that moment, so
//! a node whose subscription broke missed some: when it subscribes again its
//! listeners are told ([`Signal::Resubscribed`]) and act as if they had missed
//! everything (the token cache is emptied). Messages carry token and grant ids and
//! nothing else.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;

use super::Outage;

/// The longest a publisher waits for Redis; past it the signal is lost (and the
/// fallbacks above apply).
const PUBLISH_TIMEOUT: Duration = Duration::from_millis(250);

/// The wait before subscribing again after the subscription failed or ended.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// Signals a node's listeners may fall behind by before they are told they lagged
/// (and act as after a resubscription).
const BACKLOG: usize = 1024;

/// What a revocation names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// One access token, by its `jti`.
    Token(String),
    /// Every access token issued from a refresh-token grant.
    Grant(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Revoked(Revocation),
    /// Jobs were queued (by any node).
    JobsQueued,
    /// The subscription was (re)made: signals sent before may have been missed.
    Resubscribed,
}

impl Signal {
    fn encode(&self) -> Option<String> {
        match self {
            Signal::Revoked(Revocation::Token(jti)) => Some(format!("token {jti}")),
            Signal::Revoked(Revocation::Grant(family)) => Some(format!("grant {family}")),
            Signal::JobsQueued => Some("jobs".to_owned()),
            // Local only: each node learns it from its own subscription.
            Signal::Resubscribed => None,
        }
    }

    fn decode(message: &str) -> Option<Signal> {
        match message.split_once(' ') {
            Some(("token", jti)) => Some(Signal::Revoked(Revocation::Token(jti.to_owned()))),
            Some(("grant", family)) => Some(Signal::Revoked(Revocation::Grant(family.to_owned()))),
            None if message == "jobs" => Some(Signal::JobsQueued),
            _ => None,
        }
    }
}

/// A node's end of the channel.
pub struct Signals {
    connection: ConnectionManager,
    channel: String,
    sender: broadcast::Sender<Signal>,
    outage: Outage,
}

impl Signals {
    /// Starts listening on `{prefix}:signals` in the background (subscribing again
    /// whenever the subscription breaks, for as long as the `Signals` lives). Must
    /// run inside a Tokio runtime.
    pub fn start(url: &str, prefix: &str) -> Result<Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let signals = Arc::new(Signals {
            connection: super::lazy_connection(client.clone())?,
            channel: format!("{prefix}:signals"),
            sender: broadcast::channel(BACKLOG).0,
            outage: Outage::new("pub/sub signals; revocations and queued jobs reach other nodes at their next recheck or poll"),
        });
        tokio::spawn(listen(client, signals.channel.clone(), Arc::downgrade(&signals)));
        Ok(signals)
    }

    /// Tells every node, this one included; a Redis that does not answer in time,
    /// or failed within the last second, loses the signal (counted and logged).
    pub async fn publish(&self, signal: &Signal) {
        let Some(message) = signal.encode() else {
            return;
        };
        if !self.outage.may_ask() {
            // Redis failed a moment ago: no waiting on it per signal.
            crate::observability::metrics::redis_signal_lost();
            self.outage.fell_back();
            return;
        }
        let mut connection = self.connection.clone();
        let published = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(message)
                .query_async::<i64>(&mut connection),
        )
        .await;
        let error = match published {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", PUBLISH_TIMEOUT.as_millis()),
        };
        crate::observability::metrics::redis_signal_lost();
        self.outage.fell_back();
        self.outage.failed(&error);
    }

    /// The signals this node receives from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.sender.subscribe()
    }
}

/// Subscribes and forwards what arrives to the node's listeners, until the
/// `Signals` is dropped.
async fn listen(client: redis::Client, channel: String, signals: Weak<Signals>) {
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(RESUBSCRIBE_AFTER * 2, subscribed).await {
            Ok(Ok(pubsub)) => {
                let Some(live) = signals.upgrade() else { return };
                let _ = live.sender.send(Signal::Resubscribed);
                drop(live);
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Some(live) = signals.upgrade() else { return };
                    let decoded = std::str::from_utf8(message.get_payload_bytes())
                        .ok()
                        .and_then(Signal::decode);
                    if let Some(signal) = decoded {
                        let _ = live.sender.send(signal);
                    }
                }
                let Some(live) = signals.upgrade() else { return };
                live.outage.failed(&"the subscription ended");
            }
            Ok(Err(error)) => match signals.upgrade() {
                Some(live) => live.outage.failed(&error),
                None => return,
            },
            Err(_) => match signals.upgrade() {
                Some(live) => live.outage.failed(&"no answer to SUBSCRIBE"),
                None => return,
            },
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_read_back_as_sent() {
        for signal in [
            Signal::Revoked(Revocation::Token("3f2a".into())),
            Signal::Revoked(Revocation::Grant("fam-1".into())),
            Signal::JobsQueued,
        ] {
            assert_eq!(Signal::decode(&signal.encode().unwrap()), Some(signal));
        }
        assert_eq!(Signal::encode(&Signal::Resubscribed), None);
        assert_eq!(Signal::decode("something else"), None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_node_hears_what_another_publishes() {
        let Ok(url) = std::env::var("CLAIMBRIDGE_TEST_REDIS_URL") else {
            eprintln!("CLAIMBRIDGE_TEST_REDIS_URL is not set: skipping the pub/sub test");
            return;
        };
        let prefix = format!("claimbridge-test-{}", uuid::Uuid::new_v4().simple());
        let (a, b) = (
            Signals::start(&url, &prefix).unwrap(),
            Signals::start(&url, &prefix).unwrap(),
        );
        let mut heard = b.subscribe();
        let revoked = Signal::Revoked(Revocation::Token("jti-1".into()));
        // b may not have subscribed yet: what is published before is not heard.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            a.publish(&revoked).await;
            match tokio::time::timeout(Duration::from_millis(200), heard.recv()).await {
                Ok(Ok(Signal::Resubscribed)) | Err(_) => {}
                Ok(received) => {
                    assert_eq!(received.unwrap(), revoked);
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "b never heard a");
        }
    }
}
