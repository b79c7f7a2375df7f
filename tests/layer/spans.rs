//! What `tracing` sees: one `authorize` span per validation, with its outcome, whether the
//! token cache answered it (in the layer's `call`) or the full check did (in its future).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use tower::{Layer, ServiceExt, service_fn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use tokengate::JwtAuthLayer;

use crate::{authorizer, token};

/// A span's name and `outcome`.
type Seen = (&'static str, Option<String>);

/// A subscriber that keeps the name and `outcome` of every span.
#[derive(Clone, Default)]
struct Spans {
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct Outcome<'a>(&'a mut Option<String>);

impl Visit for Outcome<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "outcome" {
            *self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "outcome" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut outcome = None;
        span.record(&mut Outcome(&mut outcome));
        let mut seen = self.seen.lock().expect("lock");
        seen.push((span.metadata().name(), outcome));
        Id::from_u64(seen.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut seen = self.seen.lock().expect("lock");
        let index = usize::try_from(span.into_u64() - 1).expect("index");
        values.record(&mut Outcome(&mut seen[index].1));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[test]
fn each_validation_is_one_authorize_span_with_its_outcome() {
    let spans = Spans::default();
    let _scope = tracing::subscriber::set_default(spans.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let service =
        JwtAuthLayer::new(authorizer()).layer(service_fn(|_: http::Request<String>| async {
            Ok::<_, Infallible>(http::Response::new(String::new()))
        }));
    let token = token();
    // A miss (full check), a hit (answered in `call`), a malformed token (a miss, refused).
    for (presented, status) in [(&*token, 200), (&*token, 200), ("not-a-token", 401)] {
        let request = http::Request::builder()
            .header("authorization", format!("Bearer {presented}"))
            .body(String::new())
            .expect("request");
        let response = runtime
            .block_on(service.clone().oneshot(request))
            .expect("infallible");
        assert_eq!(response.status(), status, "{presented}");
    }
    let seen = spans.seen.lock().expect("lock").clone();
    let authorize: Vec<Option<&str>> = seen
        .iter()
        .filter(|(name, _)| *name == "authorize")
        .map(|(_, outcome)| outcome.as_deref())
        .collect();
    assert_eq!(
        authorize,
        [Some("ok"), Some("ok"), Some("malformed")],
        "{seen:?}"
    );
}
