//! The in-process cache, for a node that is alone (SQLite, or `resource_cache =
//! local`): the rules of the Redis one (see the parent module), kept in sharded
//! maps within a byte budget. Markers are never evicted before they expire:
//! evicting one could let a reader that read the database before a commit put the
//! old version back after it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::supersedes;
use crate::store::model::CurrentResource;

const SHARDS: usize = 16;

/// What an entry costs beyond its key and body: the map's slot, the times, the
/// version and the allocations' headers, roughly.
const ENTRY_OVERHEAD: usize = 96;

pub struct LocalCache {
    shards: Box<[Mutex<Shard>]>,
    /// Bytes each shard may hold.
    shard_budget: usize,
    ttl: Duration,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<String, Slot>,
    bytes: usize,
}

struct Slot {
    version_id: i64,
    /// `None`: a marker.
    current: Option<CurrentResource>,
    expires: Instant,
}

impl Slot {
    fn size(&self, key: &str) -> usize {
        key.len() + self.current.as_ref().map_or(0, |c| c.body.len()) + ENTRY_OVERHEAD
    }
}

impl LocalCache {
    pub fn new(budget_bytes: usize, ttl: Duration) -> Self {
        LocalCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_budget: budget_bytes / SHARDS,
            ttl,
        }
    }

    pub fn get(&self, key: &str) -> Option<CurrentResource> {
        let shard = self.shard(key);
        let slot = shard.entries.get(key)?;
        if slot.expires <= Instant::now() {
            return None;
        }
        slot.current.clone()
    }

    /// Keeps what a reader read, unless the cache holds that version or a newer
    /// one, or a marker of a newer write.
    pub fn fill(&self, key: &str, current: &CurrentResource) {
        self.put(key, current.version_id, Some(current.clone()), false);
    }

    /// A write of `version_id` is about to commit: readers go to the database
    /// until one brings that version back.
    pub fn mark(&self, key: &str, version_id: i64) {
        self.put(key, version_id, None, true);
    }

    fn put(&self, key: &str, version_id: i64, current: Option<CurrentResource>, on_equal: bool) {
        let now = Instant::now();
        let mut shard = self.shard(key);
        if let Some(existing) = shard.entries.get(key) {
            let live = existing.expires > now;
            if live
                && !supersedes(
                    (version_id, current.is_some()),
                    (existing.version_id, existing.current.is_some()),
                    on_equal,
                )
            {
                return;
            }
        }
        let slot = Slot {
            version_id,
            current,
            expires: now + self.ttl,
        };
        let added = slot.size(key);
        if let Some(replaced) = shard.entries.insert(key.to_owned(), slot) {
            shard.bytes -= replaced.size(key);
        }
        shard.bytes += added;
        if shard.bytes > self.shard_budget {
            shard.evict(self.shard_budget, now);
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        let at = xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as usize % SHARDS;
        self.shards[at]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Shard {
    /// Drops expired entries, then versions in the map's (arbitrary) order, until
    /// the shard is within `budget`; markers stay until they expire.
    fn evict(&mut self, budget: usize, now: Instant) {
        let mut bytes = self.bytes;
        self.entries.retain(|key, slot| {
            let drop = slot.expires <= now || (bytes > budget && slot.current.is_some());
            if drop {
                bytes -= slot.size(key);
            }
            !drop
        });
        self.bytes = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(version_id: i64, body: &str) -> CurrentResource {
        CurrentResource {
            version_id,
            last_updated: chrono::Utc::now(),
            deleted: false,
            body: body.into(),
        }
    }

    #[test]
    fn a_slow_reader_cannot_put_back_what_a_write_replaced() {
        let cache = LocalCache::new(1 << 20, Duration::from_secs(60));
        cache.fill("t:Patient:1", &version(1, "one"));
        assert_eq!(cache.get("t:Patient:1").unwrap().body, "one");
        // A write of version 2 commits: the marker hides version 1 ...
        cache.mark("t:Patient:1", 2);
        assert!(cache.get("t:Patient:1").is_none());
        // ... and a reader who read version 1 before the commit cannot put it back.
        cache.fill("t:Patient:1", &version(1, "one"));
        assert!(cache.get("t:Patient:1").is_none());
        // The first reader after the commit brings version 2.
        cache.fill("t:Patient:1", &version(2, "two"));
        assert_eq!(cache.get("t:Patient:1").unwrap().body, "two");
        // A marker of a version already cached (a retried invalidation) changes nothing.
        cache.mark("t:Patient:1", 2);
        assert_eq!(cache.get("t:Patient:1").unwrap().body, "two");
    }

    #[test]
    fn entries_expire_and_the_budget_evicts_versions_not_markers() {
        let cache = LocalCache::new(SHARDS * 4 * (ENTRY_OVERHEAD + 100), Duration::from_secs(60));
        for n in 0..200 {
            cache.mark(&format!("t:Claim:m{n}"), 5);
            cache.fill(&format!("t:Patient:{n}"), &version(1, "x"));
        }
        for n in 0..200 {
            // Every marker is still there: a fill of an older version is refused.
            cache.fill(&format!("t:Claim:m{n}"), &version(4, "old"));
            assert!(cache.get(&format!("t:Claim:m{n}")).is_none());
        }
        let kept = (0..200)
            .filter(|n| cache.get(&format!("t:Patient:{n}")).is_some())
            .count();
        assert!(kept < 200, "the budget evicted versions");

        let brief = LocalCache::new(1 << 20, Duration::from_millis(1));
        brief.fill("t:Patient:1", &version(1, "one"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(brief.get("t:Patient:1").is_none());
    }
}
