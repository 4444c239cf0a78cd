//! What the nodes of one deployment tell each other through Redis, besides the
//! rate limits (`auth::redis_limits`) and the resource cache (`crate::cache`):
//! revocations and new jobs, as pub/sub [`signals`], so that another node refuses
//! a revoked token, or picks up a queued job, at once instead of at its next
//! recheck or poll. Each use degrades to what a node does alone when Redis does
//! not answer ([`outage`]); the database stays the truth throughout.

pub mod outage;
pub mod signals;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use outage::Outage;
pub use signals::{Revocation, Signal, Signals};

/// A multiplexed connection to Redis, made on first use (a Redis that is down at
/// start-up is not an error), driven by the Tokio runtime it is made on.
/// Reconnection attempts give up soon, so that an operation after an outage starts
/// a fresh one rather than waiting behind a long backoff.
pub fn lazy_connection(client: redis::Client) -> Result<ConnectionManager, redis::RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config)
}
