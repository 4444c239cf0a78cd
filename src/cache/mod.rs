//! The read cache of resources by id: `GET /fhir/{type}/{id}` (and a vread of the
//! current version) answered from the cache when it holds the resource's current
//! version, else from the database, which then fills it. Only the store's read is
//! cached: the authorization gate, the reach checks and the audit trail apply to
//! every read as before.
//!
//! In process on SQLite (one node by construction); in Redis (`redis_url`),
//! shared by every node, on PostgreSQL; none on PostgreSQL without Redis, where
//! other nodes' writes would go unseen (`resource_cache`, README "Resource cache").
//!
//! Why no node ever serves an older version than the last acknowledged write:
//! - An entry holds a version number; it is only ever replaced by a newer one
//!   (rule [`supersedes`], applied by a Lua script where the entry is, so two
//!   nodes cannot interleave a check and a write).
//! - Before a write commits, the session puts a *marker* of each version it wrote
//!   (updates, deletes, merges: whatever the transaction changed, single writes,
//!   Bundles, HL7 messages and billing alike, since the store's session does it).
//!   A marker serves nothing: readers go to the database.
//! - A reader fills the cache with the version it read. One who read the old
//!   version before the commit finds the marker of the newer one and is refused;
//!   one who reads after the commit brings the new version.
//! - So from the commit on, the cache holds the new version or a marker of it,
//!   and the write is acknowledged after its commit.
//!
//! When Redis does not take a write's markers in time the write commits anyway;
//! the markers are retried in the background, and until they are in, this node
//! reads from the database. Another node may then serve the old version until
//! the markers are in or the entry's time to live (`resource_cache_ttl_secs`)
//! ends. A node that stops between marking and commit leaves markers behind:
//! readers go to the database and bring whatever committed. A reader's fill is
//! dropped if its database read is older than [`FILL_DEADLINE`], so it cannot
//! outlive the marker it would have to meet. Reads that cannot reach Redis go to
//! the database: an outage costs speed, never a wrong answer or an error.

pub mod entry;
mod local;
mod shared;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::observability::metrics;
use crate::store::model::CurrentResource;
use crate::store::DatabaseKind;
use entry::Entry;
use local::LocalCache;
use shared::SharedCache;

/// A reader whose database read began longer ago than this does not fill the
/// cache: a marker lives a time to live, far longer.
pub const FILL_DEADLINE: Duration = Duration::from_secs(1);

/// How often invalidations Redis did not take are tried again.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// `resource_cache`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// In process on SQLite; on PostgreSQL, in Redis when `redis_url` is set,
    /// else none.
    #[default]
    Auto,
    Redis,
    /// In process: for a node that is alone.
    Local,
    Off,
}

/// Whether an entry of `offered` (version, whether it is a version rather than a
/// marker) replaces one of `held`: a newer version always; at the same version a
/// version replaces a marker, and with `on_equal` an entry of the same kind is
/// replaced (a marker's time to live renewed).
pub(crate) fn supersedes(offered: (i64, bool), held: (i64, bool), on_equal: bool) -> bool {
    match offered.0.cmp(&held.0) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => (offered.1 && !held.1) || (offered.1 == held.1 && on_equal),
    }
}

/// One resource of one tenant: the entry's key, `{tenant}:{type}:{id}` (types and
/// ids have no colon, so the key is unambiguous whatever the tenant's name).
pub fn key(tenant: &str, res_type: &str, id: &str) -> String {
    let mut key = String::with_capacity(tenant.len() + res_type.len() + id.len() + 2);
    key.push_str(tenant);
    key.push(':');
    key.push_str(res_type);
    key.push(':');
    key.push_str(id);
    key
}

/// The process's cache.
pub struct ResourceCache {
    backend: Backend,
}

enum Backend {
    Local(LocalCache),
    // Boxed: the Redis client and its bookkeeping are several times the local map's size.
    Shared(Box<SharedCache>),
}

impl ResourceCache {
    /// The cache `settings` ask for on a database of `kind`, if any. With Redis, the
    /// background retry of invalidations starts (inside a Tokio runtime).
    pub fn from_settings(
        settings: &Settings,
        kind: &DatabaseKind,
    ) -> Result<Option<Arc<Self>>, redis::RedisError> {
        let ttl = Duration::from_secs(settings.resource_cache_ttl_secs);
        let local = || LocalCache::new(settings.resource_cache_local_mb << 20, ttl);
        let backend = match (settings.resource_cache, &settings.redis_url, kind) {
            (CacheMode::Off, _, _) => return Ok(None),
            (CacheMode::Local, _, _) | (CacheMode::Auto, _, DatabaseKind::Sqlite(_)) => {
                Backend::Local(local())
            }
            (CacheMode::Redis | CacheMode::Auto, Some(url), _) => {
                Backend::Shared(Box::new(SharedCache::new(url, &settings.redis_key_prefix, ttl)?))
            }
            // `Settings::load` refuses `redis` without a URL.
            (CacheMode::Auto | CacheMode::Redis, None, _) => return Ok(None),
        };
        let cache = Arc::new(ResourceCache { backend });
        if let Backend::Shared(shared) = &cache.backend {
            tokio::spawn(retry_invalidations(Arc::downgrade(&cache), shared.connection()));
        }
        Ok(Some(cache))
    }

    /// Where entries live, for the log.
    pub fn describe(&self) -> &'static str {
        match self.backend {
            Backend::Local(_) => "in process",
            Backend::Shared(_) => "in Redis, shared by every node",
        }
    }

    /// A handle for the Tokio runtime this is called on (with Redis, a connection
    /// of its own, as each HTTP worker has a pool of its own).
    pub fn handle(self: &Arc<Self>) -> CacheHandle {
        CacheHandle {
            connection: match &self.backend {
                Backend::Shared(shared) => Some(shared.connection()),
                Backend::Local(_) => None,
            },
            cache: Arc::clone(self),
        }
    }
}

/// One runtime's use of the cache.
#[derive(Clone)]
pub struct CacheHandle {
    cache: Arc<ResourceCache>,
    connection: Option<ConnectionManager>,
}

impl CacheHandle {
    /// The current version of the resource `key` names, when the cache holds it.
    pub async fn get(&self, key: &str) -> Option<CurrentResource> {
        let found = match (&self.cache.backend, &self.connection) {
            (Backend::Local(local), _) => local.get(key),
            (Backend::Shared(shared), Some(connection)) => {
                if !shared.may_read() {
                    metrics::cache_redis_fallback("read");
                    shared.outage.fell_back();
                    return None;
                }
                match shared.get(&mut connection.clone(), key).await {
                    Ok(Some(Entry::Version(current))) => Some(current),
                    Ok(Some(Entry::Marker(_)) | None) => None,
                    Err(error) => {
                        metrics::cache_redis_fallback("read");
                        shared.outage.fell_back();
                        shared.outage.failed(&error);
                        return None;
                    }
                }
            }
            (Backend::Shared(_), None) => unreachable!("a shared cache's handle has a connection"),
        };
        metrics::resource_cache_lookup(found.is_some());
        found
    }

    /// Keeps `current`, read from the database from `read_started` on, unless the
    /// cache holds something newer (see the module's rules).
    pub async fn fill(&self, key: &str, current: &CurrentResource, read_started: Instant) {
        if read_started.elapsed() > FILL_DEADLINE {
            return;
        }
        match (&self.cache.backend, &self.connection) {
            (Backend::Local(local), _) => local.fill(key, current),
            (Backend::Shared(shared), Some(connection)) => {
                if !shared.may_read() {
                    return;
                }
                if let Err(error) = shared.fill(&mut connection.clone(), key, current).await {
                    metrics::cache_redis_fallback("fill");
                    shared.outage.failed(&error);
                }
            }
            (Backend::Shared(_), None) => unreachable!("a shared cache's handle has a connection"),
        }
    }

    /// Marks the versions a transaction wrote (`key`, version), before it commits.
    /// Never fails the write: what Redis does not take is retried in the
    /// background, and this node reads from the database meanwhile.
    pub async fn invalidate(&self, written: Vec<(String, i64)>) {
        if written.is_empty() {
            return;
        }
        match (&self.cache.backend, &self.connection) {
            (Backend::Local(local), _) => {
                for (key, version_id) in &written {
                    local.mark(key, *version_id);
                }
            }
            (Backend::Shared(shared), Some(connection)) => {
                // Behind a failed one, or while Redis is known to be down: queue.
                if shared.has_pending() || !shared.outage.may_ask() {
                    metrics::cache_redis_fallback("invalidate");
                    shared.defer(written);
                    return;
                }
                if let Err(error) = shared.mark(connection, &written).await {
                    metrics::cache_redis_fallback("invalidate");
                    shared.outage.failed(&error);
                    shared.defer(written);
                }
            }
            (Backend::Shared(_), None) => unreachable!("a shared cache's handle has a connection"),
        }
    }
}

/// Writes deferred invalidations once Redis answers again, until the cache is
/// dropped.
async fn retry_invalidations(cache: Weak<ResourceCache>, connection: ConnectionManager) {
    let mut every = tokio::time::interval(RETRY_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(cache) = cache.upgrade() else { return };
        if let Backend::Shared(shared) = &cache.backend {
            if shared.has_pending() {
                shared.retry_pending(&connection).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_win_and_a_body_beats_a_marker_of_its_version() {
        // (version, is a version): a fill offers a version, a write a marker.
        assert!(
            supersedes((2, false), (1, true), false),
            "a write hides the old version"
        );
        assert!(
            !supersedes((1, true), (2, false), false),
            "a slow reader is refused"
        );
        assert!(supersedes((2, true), (2, false), false), "the new version fills");
        assert!(
            !supersedes((2, false), (2, true), true),
            "a late marker keeps the version"
        );
        assert!(
            supersedes((2, false), (2, false), true),
            "a marker renews its own"
        );
        assert!(
            !supersedes((2, true), (2, true), false),
            "the same version is not rewritten"
        );
    }

    #[test]
    fn keys_name_tenant_type_and_id() {
        assert_eq!(key("north:east", "Patient", "p-1"), "north:east:Patient:p-1");
    }

    fn version(version_id: i64, body: &str) -> CurrentResource {
        CurrentResource {
            version_id,
            last_updated: chrono::DateTime::from_timestamp_millis(1_790_000_000_000).unwrap(),
            deleted: false,
            body: body.into(),
        }
    }

    /// A cache in the Redis at `url`, under a namespace of the test's own.
    fn in_redis(url: &str, prefix: &str) -> Arc<ResourceCache> {
        let settings = Settings {
            redis_url: Some(url.to_owned()),
            redis_key_prefix: prefix.to_owned(),
            resource_cache: CacheMode::Redis,
            resource_cache_ttl_secs: 60,
            ..Settings::default()
        };
        let kind = DatabaseKind::Postgres("postgres://unused".into());
        ResourceCache::from_settings(&settings, &kind).unwrap().unwrap()
    }

    /// The Redis the tests may use, and a namespace of the test's own.
    fn test_redis() -> Option<(String, String)> {
        let Ok(url) = std::env::var("CLAIMBRIDGE_TEST_REDIS_URL") else {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set CLAIMBRIDGE_TEST_REDIS_URL so the cache in Redis is tested"
            );
            eprintln!("CLAIMBRIDGE_TEST_REDIS_URL is not set: skipping a test of the cache in Redis");
            return None;
        };
        Some((url, format!("claimbridge-test-{}", uuid::Uuid::new_v4().simple())))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn in_redis_a_slow_reader_cannot_put_back_what_a_write_replaced() {
        let Some((url, prefix)) = test_redis() else { return };
        let (a, b) = (in_redis(&url, &prefix).handle(), in_redis(&url, &prefix).handle());
        let started = Instant::now();
        a.fill("t:Patient:1", &version(1, "one"), started).await;
        assert_eq!(b.get("t:Patient:1").await, Some(version(1, "one")), "shared");
        // A write of version 2 on b is about to commit: nobody serves version 1 ...
        b.invalidate(vec![("t:Patient:1".into(), 2)]).await;
        assert_eq!(a.get("t:Patient:1").await, None);
        // ... nor puts it back, having read it before the commit.
        a.fill("t:Patient:1", &version(1, "one"), started).await;
        assert_eq!(a.get("t:Patient:1").await, None);
        a.fill("t:Patient:1", &version(2, "two"), started).await;
        assert_eq!(b.get("t:Patient:1").await, Some(version(2, "two")));
        // A deletion is cached as one, without its body.
        let deleted = CurrentResource {
            deleted: true,
            body: String::new(),
            ..version(3, "")
        };
        b.invalidate(vec![("t:Patient:1".into(), 3)]).await;
        a.fill("t:Patient:1", &deleted, started).await;
        assert_eq!(b.get("t:Patient:1").await, Some(deleted));
        // A reader too slow to trust is not kept.
        let long_ago = Instant::now() - FILL_DEADLINE * 2;
        a.fill("t:Patient:2", &version(1, "one"), long_ago).await;
        assert_eq!(a.get("t:Patient:2").await, None);

        // Entries expire; Redis forgetting the script (a restart) is no matter.
        let mut connection = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let ttl: i64 = redis::cmd("TTL")
            .arg(format!("{prefix}:res:t:Patient:1"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!((1..=60).contains(&ttl), "{ttl}");
        redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
        a.fill("t:Patient:3", &version(4, "four"), Instant::now()).await;
        assert_eq!(b.get("t:Patient:3").await, Some(version(4, "four")));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_redis_reads_go_to_the_database_at_once() {
        // Nothing listens on port 1.
        let cache = in_redis("redis://127.0.0.1:1", "claimbridge-test").handle();
        let started = Instant::now();
        assert_eq!(cache.get("t:Patient:1").await, None);
        cache.invalidate(vec![("t:Patient:1".into(), 2)]).await;
        assert_eq!(cache.get("t:Patient:1").await, None);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn invalidations_redis_missed_are_written_once_it_answers() {
        let Some((url, prefix)) = test_redis() else { return };
        let upstream = url
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let link = Link::open(upstream).await;
        // Node a reaches Redis through a link the test can cut; node b directly.
        let a = in_redis(&format!("redis://{}", link.address), &prefix).handle();
        let b = in_redis(&url, &prefix).handle();
        b.fill("t:Patient:1", &version(1, "one"), Instant::now()).await;
        assert_eq!(a.get("t:Patient:1").await, Some(version(1, "one")));

        link.cut();
        // a commits version 2 without reaching Redis: a reads from the database
        // (no entry) until its invalidation is in; b still has version 1 (the
        // window the time to live bounds).
        a.invalidate(vec![("t:Patient:1".into(), 2)]).await;
        assert_eq!(a.get("t:Patient:1").await, None);
        assert_eq!(b.get("t:Patient:1").await, Some(version(1, "one")));

        link.restore();
        let since = Instant::now();
        while b.get("t:Patient:1").await.is_some() {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "the invalidation never came"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Once it is in, a reads from Redis again.
        b.fill("t:Patient:1", &version(2, "two"), Instant::now()).await;
        let since = Instant::now();
        while a.get("t:Patient:1").await != Some(version(2, "two")) {
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "a never read Redis again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A TCP link to Redis that the test can cut (closing its connections and
    /// refusing new ones) and restore.
    struct Link {
        address: std::net::SocketAddr,
        open: Arc<std::sync::atomic::AtomicBool>,
        connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    }

    impl Link {
        async fn open(upstream: String) -> Link {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let link = Link {
                address: listener.local_addr().unwrap(),
                open: Arc::new(std::sync::atomic::AtomicBool::new(true)),
                connections: Arc::default(),
            };
            let (open, connections) = (Arc::clone(&link.open), Arc::clone(&link.connections));
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !open.load(std::sync::atomic::Ordering::SeqCst) {
                        continue;
                    }
                    let upstream = upstream.clone();
                    connections.lock().unwrap().push(tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }));
                }
            });
            link
        }

        fn cut(&self) {
            self.open.store(false, std::sync::atomic::Ordering::SeqCst);
            for connection in self.connections.lock().unwrap().drain(..) {
                connection.abort();
            }
        }

        fn restore(&self) {
            self.open.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
