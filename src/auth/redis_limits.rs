//! Request limits counted in Redis, so that every node of a deployment spends one
//! budget per client: the GCRA of [`super::rate_limit`] (rate per second, bursts),
//! done atomically by a Lua script on the server, one key per client
//! (`{prefix}:ratelimit:{client id}`) holding its theoretical arrival time (TAT).
//!
//! Why a script: reading the TAT, deciding and writing it back must be one step,
//! or two nodes would both spend the last cell of a burst. Redis runs a script
//! alone, and the script reads Redis's own clock (`TIME`), so the nodes' clocks
//! need not agree. The key expires when the TAT has passed (an expired key and a
//! TAT in the past mean the same: a full burst), so idle clients cost no memory.
//!
//! Why so little around it: the gate asks on every request. One round trip
//! (`EVALSHA` of the script's SHA-1, the script itself sent only if Redis answers
//! `NOSCRIPT`) over the `ConnectionManager`'s one multiplexed connection, with the
//! command written straight into one buffer (the key too, without a `String` of its
//! own), bounded by [`TIMEOUT`]: a Redis that is slow or gone must not hold
//! requests back; the caller then counts in process ([`super::rate_limit`]).

use std::io::Write as _;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, RedisError, RedisWrite, Script, ToRedisArgs};

/// The longest one check may wait for Redis; past it the request is counted in
/// process. A Redis next to the nodes answers in well under a millisecond.
pub const TIMEOUT: Duration = Duration::from_millis(50);

/// GCRA in microseconds of Redis's clock. KEYS[1]: the client's TAT; ARGV[1]:
/// the emission interval (µs between two requests at the steady rate); ARGV[2]:
/// the burst tolerance (interval × (burst − 1)). Returns 0 when the request is
/// allowed (and counted), else the µs until the next one would be. Microseconds
/// since the epoch (~1.8e15) are exact in Lua's doubles. Needs Redis 5 or later
/// (`TIME` before a write, replicated as effects).
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local wait = tat - tolerance - now
if wait > 0 then
  return wait
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
";

#[derive(Debug, thiserror::Error)]
pub enum SharedLimitError {
    #[error("Redis did not answer within {} ms", TIMEOUT.as_millis())]
    Timeout,
    #[error("Redis: {0}")]
    Redis(#[from] RedisError),
}

/// Per-client limits in Redis, shared by every node pointed at it.
pub struct RedisLimits {
    connection: ConnectionManager,
    script: Script,
    /// `{prefix}:ratelimit:`, each client's id follows.
    key_prefix: Box<str>,
    interval_us: u64,
    tolerance_us: u64,
}

impl RedisLimits {
    /// `per_second` on average (at least 1), bursts of `burst` (at least
    /// `per_second`, as in process). Connects lazily: the first checks wait for the
    /// connection (within [`TIMEOUT`]), a Redis that is down at start-up is not an
    /// error. Must run inside a Tokio runtime.
    pub fn new(url: &str, prefix: &str, per_second: u32, burst: u32) -> Result<Self, RedisError> {
        let per_second = u64::from(per_second.max(1));
        let burst = u64::from(burst).max(per_second);
        let interval_us = 1_000_000_u64.div_ceil(per_second);
        let client = redis::Client::open(url)?;
        // Reconnection attempts give up soon, so that the next check after an outage
        // starts a fresh one rather than waiting behind a long backoff.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisLimits {
            connection,
            script: Script::new(GCRA),
            key_prefix: format!("{prefix}:ratelimit:").into_boxed_str(),
            interval_us,
            tolerance_us: interval_us * (burst - 1),
        })
    }

    /// Connects now (and loads the script), so that the first requests do not
    /// wait for it; an error is the caller's to log.
    pub async fn connect(&self) -> Result<(), RedisError> {
        self.script.load_async(&mut self.connection.clone()).await?;
        Ok(())
    }

    /// Counts one request of `client_id`: `Ok(Err(wait))` over the limit.
    #[tracing::instrument(level = "debug", name = "redis", skip_all, fields(op = "rate_limit"))]
    pub async fn check(&self, client_id: &str) -> Result<Result<(), Duration>, SharedLimitError> {
        match tokio::time::timeout(TIMEOUT, self.ask(client_id)).await {
            Ok(Ok(0)) => Ok(Ok(())),
            Ok(Ok(wait_us)) => Ok(Err(Duration::from_micros(wait_us))),
            Ok(Err(error)) => Err(error.into()),
            Err(_) => Err(SharedLimitError::Timeout),
        }
    }

    async fn ask(&self, client_id: &str) -> Result<u64, RedisError> {
        let key = Key {
            prefix: &self.key_prefix,
            client_id,
        };
        // One buffer for the whole command: a name, a 40-character hash, a count,
        // the key and two numbers of at most 20 digits.
        let mut command = Cmd::with_capacity(6, 96 + self.key_prefix.len() + client_id.len());
        command
            .arg("EVALSHA")
            .arg(self.script.get_hash())
            .arg(1)
            .arg(&key)
            .arg(self.interval_us)
            .arg(self.tolerance_us);
        // A clone of the manager is an `Arc`'s count, not a connection.
        let mut connection = self.connection.clone();
        match command.query_async(&mut connection).await {
            Err(error) if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                // Redis restarted (or flushed its scripts): send the script itself.
                self.script
                    .key(&key)
                    .arg(self.interval_us)
                    .arg(self.tolerance_us)
                    .invoke_async(&mut connection)
                    .await
            }
            answer => answer,
        }
    }
}

/// `{prefix}:ratelimit:{client id}`, written into the command's buffer.
struct Key<'a> {
    prefix: &'a str,
    client_id: &'a str,
}

impl ToRedisArgs for &Key<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        let mut arg = out.writer_for_next_arg();
        // Writes to memory do not fail.
        let _ = arg.write_all(self.prefix.as_bytes());
        let _ = arg.write_all(self.client_id.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Redis the tests may use, as the API tests find it.
    fn redis_url() -> Option<String> {
        let url = std::env::var("CLAIMBRIDGE_TEST_REDIS_URL").ok();
        if url.is_none() {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set CLAIMBRIDGE_TEST_REDIS_URL so the Redis rate limits are tested"
            );
            eprintln!("CLAIMBRIDGE_TEST_REDIS_URL is not set: skipping the Redis rate limit test");
        }
        url
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_script_spends_a_burst_then_one_request_per_interval() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("claimbridge-test-{}", uuid::Uuid::new_v4().simple());
        // Two a second, bursts of three.
        let limits = RedisLimits::new(&url, &prefix, 2, 3).expect("a Redis client");
        limits.connect().await.expect("Redis answers");
        for _ in 0..3 {
            assert_eq!(limits.check("a").await.unwrap(), Ok(()));
        }
        let wait = limits.check("a").await.unwrap().unwrap_err();
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Refused requests are not counted: the wait only shrinks.
        let again = limits.check("a").await.unwrap().unwrap_err();
        assert!(again <= wait, "{again:?} after {wait:?}");
        // Another client has a burst of its own.
        assert_eq!(limits.check("b").await.unwrap(), Ok(()));
        tokio::time::sleep(wait).await;
        assert_eq!(limits.check("a").await.unwrap(), Ok(()));
        assert!(limits.check("a").await.unwrap().is_err());

        // The key lives as long as the TAT is ahead, no longer.
        let mut connection = limits.connection.clone();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}:ratelimit:a"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!((1..=1_500).contains(&ttl), "{ttl}");

        // Redis forgot the script (a restart): it is sent again.
        redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
        assert_eq!(limits.check("c").await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_redis_that_is_not_there_is_an_error_within_the_timeout() {
        let limits = RedisLimits::new("redis://127.0.0.1:1", "claimbridge-test", 1, 1).unwrap();
        let started = std::time::Instant::now();
        assert!(limits.check("a").await.is_err());
        assert!(started.elapsed() < TIMEOUT * 4, "{:?}", started.elapsed());
    }
}
