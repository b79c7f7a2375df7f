//! What tokengate tells operators through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`); without the feature every hook here is empty and compiles to nothing.
//!
//! The series are listed in the crate docs (`# Metrics`); none of them ever carries a token
//! or a claim value.

use std::time::Duration;

use crate::error::AuthErrorKind;

/// The `outcome` label of a validation: `ok`, or the kind of refusal.
pub(crate) fn outcome_label(outcome: Result<(), AuthErrorKind>) -> &'static str {
    match outcome {
        Ok(()) => "ok",
        Err(kind) => kind.name(),
    }
}

/// Measures one validation; [`ValidationTimer::finish`] records it. Costs nothing without the
/// feature.
#[derive(Debug)]
pub(crate) struct ValidationTimer {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl ValidationTimer {
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    /// Counts the validation under its outcome and records its duration.
    pub(crate) fn finish(self, outcome: Result<(), AuthErrorKind>) {
        #[cfg(feature = "metrics")]
        {
            let seconds = self.started.elapsed().as_secs_f64();
            match outcome {
                // The common case with static keys: no label built, no allocation.
                Ok(()) => {
                    ::metrics::counter!("tokengate_validations_total", "outcome" => "ok")
                        .increment(1);
                    ::metrics::histogram!(
                        "tokengate_validation_duration_seconds",
                        "outcome" => "ok"
                    )
                    .record(seconds);
                }
                Err(kind) => {
                    let label = kind.name();
                    ::metrics::counter!("tokengate_validations_total", "outcome" => label)
                        .increment(1);
                    ::metrics::histogram!(
                        "tokengate_validation_duration_seconds",
                        "outcome" => label
                    )
                    .record(seconds);
                }
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = outcome;
    }
}

/// How one key-set fetch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FetchResult {
    /// A set was fetched and installed.
    Ok,
    /// The fetch failed (transport, status, document).
    Error,
    /// The fetch was dropped before it ended (its runtime went away).
    Cancelled,
}

impl FetchResult {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Counts one key-set fetch of `issuer`.
pub(crate) fn key_fetch(issuer: &str, result: FetchResult) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(
        "tokengate_jwks_fetches_total",
        "issuer" => issuer.to_owned(),
        "result" => result.as_str()
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, result);
}

/// The age of the key set `issuer`'s requests are checked against.
pub(crate) fn key_set_age(issuer: &str, age: Duration) {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!("tokengate_jwks_age_seconds", "issuer" => issuer.to_owned())
        .set(age.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, age);
}

/// A token answered from the verified-token cache.
pub(crate) fn token_cache_hit() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("tokengate_token_cache_hits_total").increment(1);
}

/// A token looked up in the verified-token cache and verified in full (absent, or its entry
/// no longer usable).
pub(crate) fn token_cache_miss() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("tokengate_token_cache_misses_total").increment(1);
}

/// `count` entries dropped from the verified-token cache to make room or because they expired.
pub(crate) fn token_cache_evictions(count: u64) {
    #[cfg(feature = "metrics")]
    if count > 0 {
        ::metrics::counter!("tokengate_token_cache_evictions_total").increment(count);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = count;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_labels_are_snake_case_names() {
        assert_eq!(outcome_label(Ok(())), "ok");
        assert_eq!(outcome_label(Err(AuthErrorKind::UnknownKey)), "unknown_key");
        assert_eq!(
            outcome_label(Err(AuthErrorKind::KeysUnavailable)),
            "keys_unavailable"
        );
    }
}
