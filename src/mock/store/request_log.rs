//! The request log: the last requests (bounded in entries and bytes, oldest dropped first)
//! and a count per route. Counting by route — the path pattern that answered, such as
//! `/oauth2/token`, or [`NO_ROUTE`] for everything no route answers — keeps the counts to a
//! handful of keys whatever paths clients invent.

use std::collections::{BTreeMap, VecDeque};
use std::mem::size_of;

use crate::mock::store::bounded::Limits;

/// The count key of requests no route answered (404s).
pub(crate) const NO_ROUTE: &str = "(no route)";

/// One request the mock received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
}

impl RecordedRequest {
    fn bytes(&self) -> usize {
        size_of::<Self>() + self.method.len() + self.path.len()
    }
}

/// The log and the counts.
#[derive(Clone, Debug)]
pub(crate) struct RequestLog {
    requests: VecDeque<RecordedRequest>,
    bytes: usize,
    counts: BTreeMap<String, u64>,
    limits: Limits,
}

impl RequestLog {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            requests: VecDeque::new(),
            bytes: 0,
            counts: BTreeMap::new(),
            limits,
        }
    }

    /// Logs a request and counts it under its route (`None`: no route answered it).
    pub(crate) fn record(&mut self, method: &str, route: Option<&str>, path: &str) {
        let route = route.unwrap_or(NO_ROUTE);
        match self.counts.get_mut(route) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.counts.insert(route.to_owned(), 1);
            }
        }
        let request = RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
        };
        self.bytes += request.bytes();
        self.requests.push_back(request);
        while self.requests.len() > self.limits.entries || self.bytes > self.limits.bytes {
            match self.requests.pop_front() {
                Some(old) => self.bytes -= old.bytes(),
                None => break,
            }
        }
    }

    /// Requests counted under `route`.
    pub(crate) fn count(&self, route: &str) -> u64 {
        self.counts.get(route).copied().unwrap_or(0)
    }

    pub(crate) fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    pub(crate) fn requests(&self) -> impl Iterator<Item = &RecordedRequest> {
        self.requests.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.requests.len()
    }

    /// The bytes counted against the limit.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn clear(&mut self) {
        self.requests.clear();
        self.bytes = 0;
        self.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_by_route_and_the_log_keeps_the_newest_within_its_bytes() {
        let mut log = RequestLog::new(Limits {
            entries: 100,
            bytes: 10 * (size_of::<RecordedRequest>() + 3 + 100),
        });
        for i in 0..1000 {
            log.record("GET", None, &format!("/{i:0>99}"));
        }
        log.record("GET", Some("/oauth2/token"), "/oauth2/token");
        assert_eq!(log.counts().len(), 2);
        assert_eq!(log.count(NO_ROUTE), 1000);
        assert_eq!(log.count("/oauth2/token"), 1);
        assert!(log.len() <= 10, "{}", log.len());
        assert!(log.bytes() <= log.limits().bytes);
        assert_eq!(
            log.requests().last().map(|r| r.path.as_str()),
            Some("/oauth2/token")
        );
    }
}
