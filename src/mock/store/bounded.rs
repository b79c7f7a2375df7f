//! [`BoundedMap`]: a map bounded in entries and in bytes, whose entries carry a time after
//! which they may go. It is pruned on every insert: first what is past its time, from the
//! oldest, then the oldest entries until it fits. Every store the network can fill (sessions,
//! CSRF tokens, codes, refresh records, device codes, revocations) is one, so no sequence of
//! requests grows the mock's memory past the sum of the limits.
//!
//! Insertion order stands in for expiry order: within one store every entry lives equally
//! long, so the oldest entry is also the first to expire, and pruning looks only at the front.
//! An entry removed by key leaves its place in the queue behind; the queue is rebuilt when
//! such places outnumber the live entries, so it stays within twice the map.

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;

/// The heap bytes a value holds beyond its own size (strings, vectors).
pub(crate) trait Weigh {
    /// Approximate heap bytes: the lengths of what the value owns.
    fn heap_bytes(&self) -> usize;
}

impl Weigh for () {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl Weigh for u64 {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl Weigh for String {
    fn heap_bytes(&self) -> usize {
        self.len()
    }
}

impl Weigh for Option<String> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, String::len)
    }
}

impl Weigh for Vec<String> {
    fn heap_bytes(&self) -> usize {
        self.iter()
            .map(|s| size_of::<String>() + s.len())
            .sum::<usize>()
    }
}

/// How much a store may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Entries at most.
    pub(crate) entries: usize,
    /// Bytes at most, as [`BoundedMap::bytes`] counts them.
    pub(crate) bytes: usize,
}

#[derive(Clone, Debug)]
struct Entry<V> {
    value: V,
    /// After this (unix seconds) the entry may be dropped.
    keep_until: u64,
    /// What the entry counts for in [`BoundedMap::bytes`].
    bytes: usize,
    /// Its place in the insertion order.
    seq: u64,
}

/// A map bounded in entries and bytes, pruned on insert. See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct BoundedMap<V> {
    map: HashMap<String, Entry<V>>,
    /// Keys in insertion order, with the `seq` they were inserted under (a key whose entry
    /// has another `seq`, or none, is a stale place).
    order: VecDeque<(String, u64)>,
    bytes: usize,
    next_seq: u64,
    limits: Limits,
}

impl<V: Weigh> BoundedMap<V> {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            next_seq: 0,
            limits,
        }
    }

    /// What one entry counts for: the key twice (map and queue), the value and its heap, the
    /// bookkeeping around them.
    fn weigh(key: &str, value: &V) -> usize {
        2 * key.len()
            + value.heap_bytes()
            + size_of::<(String, Entry<V>)>()
            + size_of::<(String, u64)>()
    }

    /// Inserts (or replaces) `key`, to be kept at least until `keep_until` unless the limits
    /// need the room; first drops what is past its time (as of `now`), then, after inserting,
    /// the oldest entries until the map fits its limits. Returns the value replaced.
    pub(crate) fn insert(&mut self, key: String, value: V, keep_until: u64, now: u64) -> Option<V> {
        self.prune(now);
        let replaced = self.remove(&key);
        let bytes = Self::weigh(&key, &value);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((key.clone(), seq));
        self.map.insert(
            key,
            Entry {
                value,
                keep_until,
                bytes,
                seq,
            },
        );
        self.bytes += bytes;
        while self.map.len() > self.limits.entries || self.bytes > self.limits.bytes {
            if self.pop_oldest().is_none() {
                break;
            }
        }
        self.compact();
        replaced
    }

    /// Drops, from the oldest, the entries past their time (stops at the first that is not).
    fn prune(&mut self, now: u64) {
        while let Some((key, seq)) = self.order.front() {
            // Some(true): live and not due; Some(false): live and due; None: a stale place.
            let live = self
                .map
                .get(key)
                .filter(|e| e.seq == *seq)
                .map(|e| e.keep_until > now);
            if live == Some(true) {
                break;
            }
            if let Some((key, _)) = self.order.pop_front()
                && live.is_some()
            {
                let _ = self.remove(&key);
            }
        }
    }

    /// Removes the oldest live entry.
    fn pop_oldest(&mut self) -> Option<V> {
        while let Some((key, seq)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|e| e.seq == seq) {
                return self.remove(&key);
            }
        }
        None
    }

    /// Rebuilds the queue when stale places outnumber live entries.
    fn compact(&mut self) {
        if self.order.len() <= 2 * self.map.len() + 16 {
            return;
        }
        let mut live: Vec<(String, u64)> = self
            .map
            .iter()
            .map(|(key, entry)| (key.clone(), entry.seq))
            .collect();
        live.sort_unstable_by_key(|(_, seq)| *seq);
        self.order = live.into();
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key).map(|e| &e.value)
    }

    /// Changes an entry in place; its weight is counted again afterwards.
    pub(crate) fn update<R>(&mut self, key: &str, change: impl FnOnce(&mut V) -> R) -> Option<R> {
        let entry = self.map.get_mut(key)?;
        let result = change(&mut entry.value);
        let bytes = Self::weigh(key, &entry.value);
        self.bytes = self.bytes - entry.bytes + bytes;
        entry.bytes = bytes;
        Some(result)
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let entry = self.map.remove(key)?;
        self.bytes -= entry.bytes;
        Some(entry.value)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Keeps only the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str, &V) -> bool) {
        let bytes = &mut self.bytes;
        self.map.retain(|key, entry| {
            let kept = keep(key, &entry.value);
            if !kept {
                *bytes -= entry.bytes;
            }
            kept
        });
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.map.iter().map(|(k, e)| (k.as_str(), &e.value))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|e| &e.value)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The bytes counted against [`Limits::bytes`].
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Places in the insertion queue, live or stale (at most about twice [`len`](Self::len)).
    #[cfg(test)]
    pub(crate) fn queue_len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: usize, bytes: usize) -> BoundedMap<String> {
        BoundedMap::new(Limits { entries, bytes })
    }

    #[test]
    fn entries_past_their_time_go_on_the_next_insert() {
        let mut m = map(100, 1 << 20);
        m.insert("a".into(), "1".into(), 10, 0);
        m.insert("b".into(), "2".into(), 20, 0);
        assert_eq!(m.len(), 2);
        m.insert("c".into(), "3".into(), 30, 15);
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get("b").map(String::as_str), Some("2"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn the_oldest_entries_go_when_there_are_too_many() {
        let mut m = map(3, 1 << 20);
        for i in 0..10 {
            m.insert(format!("k{i}"), String::new(), u64::MAX, 0);
        }
        assert_eq!(m.len(), 3);
        assert!(m.contains_key("k7") && m.contains_key("k8") && m.contains_key("k9"));
    }

    #[test]
    fn the_oldest_entries_go_when_the_bytes_are_spent() {
        let one = BoundedMap::<String>::weigh("k0", &"x".repeat(1000));
        let mut m = map(1000, 3 * one);
        for i in 0..10 {
            m.insert(format!("k{i}"), "x".repeat(1000), u64::MAX, 0);
            assert!(m.bytes() <= 3 * one);
        }
        assert_eq!(m.len(), 3);
        assert!(m.contains_key("k9"));
        // An entry bigger than the whole budget is not kept at all.
        m.insert("huge".into(), "x".repeat(10_000), u64::MAX, 0);
        assert!(!m.contains_key("huge"));
        assert!(m.bytes() <= 3 * one);
    }

    #[test]
    fn bytes_follow_removals_updates_and_retain() {
        let mut m = map(100, 1 << 20);
        m.insert("a".into(), "1".into(), u64::MAX, 0);
        let one = m.bytes();
        m.insert("b".into(), "22".into(), u64::MAX, 0);
        assert_eq!(m.update("a", |v| v.push_str("11")), Some(()));
        assert_eq!(m.bytes(), 2 * one + 3);
        assert_eq!(m.remove("b"), Some("22".to_owned()));
        m.retain(|_, v| v.len() > 5);
        assert_eq!((m.len(), m.bytes()), (0, 0));
    }

    #[test]
    fn replacing_a_key_counts_it_once() {
        let mut m = map(2, 1 << 20);
        for _ in 0..10 {
            m.insert("same".into(), "v".into(), u64::MAX, 0);
        }
        m.insert("other".into(), "v".into(), u64::MAX, 0);
        assert_eq!(m.len(), 2);
        assert!(m.contains_key("same"));
    }

    #[test]
    fn the_queue_stays_near_the_size_of_the_map_under_churn() {
        let mut m = map(1000, 1 << 20);
        m.insert("long-lived".into(), String::new(), u64::MAX, 0);
        for i in 0..100_000 {
            let key = format!("k{i}");
            m.insert(key.clone(), String::new(), u64::MAX, 0);
            m.remove(&key);
        }
        assert_eq!(m.len(), 1);
        assert!(m.queue_len() <= 2 * m.len() + 17, "{}", m.queue_len());
    }
}
