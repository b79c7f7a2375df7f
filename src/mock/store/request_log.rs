//! The request log: the last requests (bounded in entries and bytes, oldest dropped first)
//! and a count per route. Counting by route — the path pattern that answered, such as
//! `/oauth2/token`, or [`NO_ROUTE`] for everything no route answers — keeps the counts to a
//! handful of keys whatever paths clients invent.

use std::collections::{BTreeMap, VecDeque};

use crate::mock::store::bounded::Limits;
use crate::mock::store::recorded_request::RecordedRequest;

/// The count key of requests no route answered (404s).
pub(crate) const NO_ROUTE: &str = "(no route)";

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
    pub(crate) fn record(&mut self, request: RecordedRequest, route: Option<&str>) {
        let route = route.unwrap_or(NO_ROUTE);
        match self.counts.get_mut(route) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.counts.insert(route.to_owned(), 1);
            }
        }
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
    use axum::http::Request;

    use super::*;

    fn get(path: &str) -> RecordedRequest {
        let (parts, ()) = Request::get(path).body(()).expect("a request").into_parts();
        RecordedRequest::new(&parts, None)
    }

    #[test]
    fn counts_are_by_route_and_the_log_keeps_the_newest_within_its_bytes() {
        let mut log = RequestLog::new(Limits {
            entries: 100,
            bytes: 10 * get(&format!("/{:0>99}", 0)).bytes(),
        });
        for i in 0..1000 {
            log.record(get(&format!("/{i:0>99}")), None);
        }
        log.record(get("/oauth2/token"), Some("/oauth2/token"));
        assert_eq!(log.counts().len(), 2);
        assert_eq!(log.count(NO_ROUTE), 1000);
        assert_eq!(log.count("/oauth2/token"), 1);
        assert!(log.len() <= 10, "{}", log.len());
        assert!(log.len() >= 9, "{}", log.len());
        assert!(log.bytes() <= log.limits().bytes);
        assert_eq!(
            log.requests().last().map(RecordedRequest::path),
            Some("/oauth2/token")
        );
    }

    #[test]
    fn a_request_counts_its_query_headers_and_form_against_the_bytes() {
        let mut log = RequestLog::new(Limits {
            entries: 100,
            bytes: 10_000,
        });
        let (parts, ()) = Request::post(format!("/oauth2/token?state={}", "s".repeat(3000)))
            .header("x-long", "h".repeat(3000))
            .body(())
            .expect("a request")
            .into_parts();
        let body = format!("scope={}", "f".repeat(3000));
        for _ in 0..3 {
            log.record(
                RecordedRequest::new(&parts, Some(body.as_bytes())),
                Some("/oauth2/token"),
            );
        }
        // Each is over 9,000 bytes: one fits.
        assert_eq!(log.len(), 1);
        assert!(
            log.bytes() > 9_000 && log.bytes() <= 10_000,
            "{}",
            log.bytes()
        );
    }
}
