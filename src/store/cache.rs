//! A bounded, write-through copy of hot rows, so that the reads nearly every request makes (its
//! cluster, a task definition) do not wait on a connection's thread.
//!
//! berth is the only writer of its database (the data dir is locked), so a copy can be exact.
//! Every write of a cached table forgets the rows it changed after it commits, and bumps the
//! epoch; a read that missed fills the copy only if no write happened since it began, so a
//! reader that raced a writer can never put back the row as it was before the write.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

pub(super) struct Cache<K: Hash + Eq, V> {
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K: Hash + Eq, V> {
    rows: LruCache<K, V>,
    epoch: u64,
}

/// What a lookup found: the row, or the epoch to fill with after reading it from the database.
pub(super) enum Lookup<V> {
    Hit(V),
    Miss(u64),
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    pub(super) fn new(capacity: NonZeroUsize) -> Self {
        Self { inner: Mutex::new(Inner { rows: LruCache::new(capacity), epoch: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // The lock guards plain data and no code under it can panic half-way through a change,
        // so a poisoned lock still holds a consistent map.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn get(&self, key: &K) -> Lookup<V> {
        let mut inner = self.lock();
        match inner.rows.get(key) {
            Some(row) => Lookup::Hit(row.clone()),
            None => Lookup::Miss(inner.epoch),
        }
    }

    /// Keeps a row read from the database since `epoch`, unless a write came in between.
    pub(super) fn fill(&self, epoch: u64, key: K, row: V) {
        let mut inner = self.lock();
        if inner.epoch == epoch {
            inner.rows.put(key, row);
        }
    }

    /// Forgets rows a write changed (call after the write, whether it succeeded or not).
    pub(super) fn forget<'k>(&self, keys: impl IntoIterator<Item = &'k K>)
    where
        K: 'k,
    {
        let mut inner = self.lock();
        inner.epoch += 1;
        for key in keys {
            inner.rows.pop(key);
        }
    }

    /// Forgets every row.
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.rows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(capacity: usize) -> Cache<&'static str, u32> {
        Cache::new(NonZeroUsize::new(capacity).expect("non-zero"))
    }

    fn miss(cache: &Cache<&'static str, u32>, key: &'static str) -> u64 {
        match cache.get(&key) {
            Lookup::Miss(epoch) => epoch,
            Lookup::Hit(row) => panic!("{key} is cached as {row}"),
        }
    }

    #[test]
    fn a_filled_row_is_a_hit_until_a_write_forgets_it() {
        let cache = cache(4);
        let epoch = miss(&cache, "a");
        cache.fill(epoch, "a", 1);
        assert!(matches!(cache.get(&"a"), Lookup::Hit(1)));
        cache.forget([&"a"]);
        miss(&cache, "a");
    }

    #[test]
    fn a_read_that_raced_a_write_does_not_fill() {
        let cache = cache(4);
        // The read began (and read the old row) before the write forgot it.
        let epoch = miss(&cache, "a");
        cache.forget([&"a"]);
        cache.fill(epoch, "a", 1);
        miss(&cache, "a");
        // Any write counts, not only one of the same key: the epoch is the cache's.
        let epoch = miss(&cache, "a");
        cache.forget([&"b"]);
        cache.fill(epoch, "a", 1);
        miss(&cache, "a");
        let epoch = miss(&cache, "a");
        cache.clear();
        cache.fill(epoch, "a", 1);
        miss(&cache, "a");
    }

    #[test]
    fn the_least_recently_used_row_goes_first() {
        let cache = cache(2);
        for (key, row) in [("a", 1), ("b", 2)] {
            let epoch = miss(&cache, key);
            cache.fill(epoch, key, row);
        }
        assert!(matches!(cache.get(&"a"), Lookup::Hit(1)));
        let epoch = miss(&cache, "c");
        cache.fill(epoch, "c", 3);
        miss(&cache, "b");
        assert!(matches!(cache.get(&"a"), Lookup::Hit(1)));
        assert!(matches!(cache.get(&"c"), Lookup::Hit(3)));
    }
}
