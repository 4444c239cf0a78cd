//! The cache in Redis, shared by every node: one string per resource under
//! `{prefix}:res:{tenant}:{type}:{id}` (see [`super::entry`]), read with one `GET`,
//! written only by a script that keeps the newer of what is there and what is
//! offered ([`PUT`]), each with a time to live.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::Script;

use super::entry::{self, Entry};
use crate::cluster::Outage;
use crate::store::model::CurrentResource;

/// The longest a read (or a reader's fill) waits for Redis; past it the read goes
/// to the database. Redis next to the nodes answers in well under a millisecond.
const READ_TIMEOUT: Duration = Duration::from_millis(50);

/// The longest a write waits for its invalidations before it commits anyway (and
/// leaves them to the background retry).
const MARK_TIMEOUT: Duration = Duration::from_millis(250);

/// Invalidations kept for the retry, at most; past it the oldest are dropped, and
/// this node stops reading from Redis for a time to live (entries it could not
/// invalidate have expired by then).
const PENDING_LIMIT: usize = 100_000;

/// Whether to write an entry, done where the entry is. KEYS[1]: the entry;
/// ARGV[1]: the version offered; ARGV[2]: 1 for a version (with a body or
/// deleted), 0 for a marker; ARGV[3]: 1 when an entry of the same version and kind
/// is replaced (a marker renews its time to live), else 0; ARGV[4]: the value;
/// ARGV[5]: the time to live in seconds. The rule is `super::supersedes`'s. A value
/// this code did not write is replaced. Versions are below 2^53, exact in Lua.
const PUT: &str = r"
local held = redis.call('GET', KEYS[1])
if held then
  local version, kind = string.match(held, '^(%d+):(%a)')
  if version then
    version = tonumber(version)
    local offered = tonumber(ARGV[1])
    local held_body = (kind == 'M') and 0 or 1
    local offered_body = tonumber(ARGV[2])
    if version > offered or (version == offered and (held_body > offered_body or (held_body == offered_body and ARGV[3] == '0'))) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5])
return 1
";

#[derive(Debug, thiserror::Error)]
pub enum SharedCacheError {
    #[error("Redis did not answer within {0} ms")]
    Timeout(u128),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

pub struct SharedCache {
    client: redis::Client,
    /// `{prefix}:res:`, the entry's `{tenant}:{type}:{id}` follows.
    prefix: Box<str>,
    script: Script,
    ttl_secs: u64,
    pub outage: Outage,
    /// Invalidations Redis did not take, by key: retried in the background. While
    /// any is left this node reads from the database, so that it never serves an
    /// entry it failed to invalidate.
    pending: Mutex<HashMap<String, i64>>,
    pending_count: AtomicUsize,
    started: Instant,
    /// No reads from Redis before this (ms since `started`): set when invalidations
    /// had to be dropped.
    bypass_until_ms: AtomicU64,
}

impl SharedCache {
    pub fn new(url: &str, prefix: &str, ttl: Duration) -> Result<Self, redis::RedisError> {
        Ok(SharedCache {
            client: redis::Client::open(url)?,
            prefix: format!("{prefix}:res:").into_boxed_str(),
            script: Script::new(PUT),
            ttl_secs: ttl.as_secs().max(1),
            outage: Outage::new("the resource cache; reads go to the database"),
            pending: Mutex::default(),
            pending_count: AtomicUsize::new(0),
            started: Instant::now(),
            bypass_until_ms: AtomicU64::new(0),
        })
    }

    /// A connection for the runtime this is called on.
    pub fn connection(&self) -> ConnectionManager {
        crate::cluster::lazy_connection(self.client.clone())
            .expect("a lazy connection without push messages is always made")
    }

    /// Whether reads may come from Redis: it answered lately, and every
    /// invalidation of this node's writes is in.
    pub fn may_read(&self) -> bool {
        self.outage.may_ask()
            && self.pending_count.load(Ordering::Acquire) == 0
            && self.now_ms() >= self.bypass_until_ms.load(Ordering::Relaxed)
    }

    pub async fn get(
        &self,
        connection: &mut ConnectionManager,
        key: &str,
    ) -> Result<Option<Entry>, SharedCacheError> {
        let mut command = redis::cmd("GET");
        command.arg(self.redis_key(key));
        let value = bounded(READ_TIMEOUT, command.query_async::<Option<Vec<u8>>>(connection)).await?;
        Ok(value.and_then(entry::decode))
    }

    pub async fn fill(
        &self,
        connection: &mut ConnectionManager,
        key: &str,
        current: &CurrentResource,
    ) -> Result<(), SharedCacheError> {
        let mut invocation = self.script.key(self.redis_key(key));
        invocation
            .arg(current.version_id)
            .arg(1)
            .arg(0)
            .arg(entry::encode_version(current))
            .arg(self.ttl_secs);
        bounded(READ_TIMEOUT, invocation.invoke_async::<i64>(connection))
            .await
            .map(drop)
    }

    /// Writes a marker for each of `marks` (key, version), all at once on the
    /// connection.
    pub async fn mark(
        &self,
        connection: &ConnectionManager,
        marks: &[(String, i64)],
    ) -> Result<(), SharedCacheError> {
        let writes = marks.iter().map(|(key, version_id)| {
            let mut connection = connection.clone();
            let mut invocation = self.script.key(self.redis_key(key));
            invocation
                .arg(*version_id)
                .arg(0)
                .arg(1)
                .arg(entry::encode_marker(*version_id))
                .arg(self.ttl_secs);
            async move { invocation.invoke_async::<i64>(&mut connection).await }
        });
        bounded(MARK_TIMEOUT, futures_util::future::try_join_all(writes))
            .await
            .map(drop)
    }

    /// Keeps invalidations Redis did not take for the background retry.
    pub fn defer(&self, marks: Vec<(String, i64)>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (key, version_id) in marks {
            let held = pending.entry(key).or_insert(version_id);
            *held = (*held).max(version_id);
        }
        if pending.len() > PENDING_LIMIT {
            tracing::error!(
                dropped = pending.len(),
                "too many resource cache invalidations waiting for Redis: they are dropped, and this node \
                 reads from the database until the entries they were for have expired"
            );
            pending.clear();
            self.bypass_until_ms
                .store(self.now_ms() + self.ttl_secs * 1000, Ordering::Relaxed);
        }
        self.pending_count.store(pending.len(), Ordering::Release);
        crate::observability::metrics::cache_pending_invalidations(pending.len());
    }

    /// Writes the deferred invalidations, if any; `false` when Redis refused them
    /// (they stay).
    pub async fn retry_pending(&self, connection: &ConnectionManager) -> bool {
        let marks: Vec<(String, i64)> = {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.iter().map(|(key, v)| (key.clone(), *v)).collect()
        };
        if marks.is_empty() {
            return true;
        }
        if let Err(error) = self.mark(connection, &marks).await {
            self.outage.failed(&error);
            return false;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (key, version_id) in marks {
            // A newer write of the key deferred meanwhile stays.
            if pending.get(&key) == Some(&version_id) {
                pending.remove(&key);
            }
        }
        self.pending_count.store(pending.len(), Ordering::Release);
        crate::observability::metrics::cache_pending_invalidations(pending.len());
        tracing::info!("the resource cache's deferred invalidations are in Redis");
        true
    }

    pub fn has_pending(&self) -> bool {
        self.pending_count.load(Ordering::Acquire) > 0
    }

    fn redis_key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

async fn bounded<T>(
    limit: Duration,
    operation: impl std::future::Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, SharedCacheError> {
    match tokio::time::timeout(limit, operation).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(SharedCacheError::Timeout(limit.as_millis())),
    }
}
