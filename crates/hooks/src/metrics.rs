//! `acmebox serve`'s metrics, in the OpenMetrics text format Prometheus scrapes at `/metrics`:
//!
//! * `acmebox_serve_calls_total{provider, operation, outcome}`: requests for a provider's
//!   `present` or `cleanup`, by outcome (`ok`, the error's kind such as `deadline` or
//!   `api-error`, or `unauthorized` / `invalid-request` for a request refused before the
//!   provider ran);
//! * `acmebox_serve_call_duration_seconds{provider, operation}`: how long the calls that reached
//!   the provider took (a histogram, 5 ms to about 80 s);
//! * `acmebox_serve_egress_denied_total{provider}`: HTTP requests and socket uses of providers
//!   the egress policy refused.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use acmebox_sandbox::{CallReport, Decision, Operation};

/// The `Content-Type` of [`ServeMetrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: String,
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    provider: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

/// The counters and histogram of one `serve` process.
#[derive(Debug)]
pub struct ServeMetrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    durations: Family<OperationLabels, Histogram, fn() -> Histogram>,
    denied: Family<ProviderLabels, Counter>,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

impl Default for ServeMetrics {
    fn default() -> Self {
        let calls = Family::<CallLabels, Counter>::default();
        let durations =
            Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        let denied = Family::<ProviderLabels, Counter>::default();
        let mut registry = Registry::with_prefix("acmebox_serve");
        registry.register(
            "calls",
            "Requests for a provider's present or cleanup, by outcome",
            calls.clone(),
        );
        registry.register(
            "call_duration_seconds",
            "Time of the provider calls that ran",
            durations.clone(),
        );
        registry.register(
            "egress_denied",
            "HTTP requests and socket uses of providers that the egress policy refused",
            denied.clone(),
        );
        ServeMetrics {
            registry,
            calls,
            durations,
            denied,
        }
    }
}

impl ServeMetrics {
    /// Counts one call that reached its provider.
    pub fn observe(&self, report: &CallReport) {
        self.calls
            .get_or_create(&CallLabels {
                provider: report.provider.clone(),
                operation: report.operation.to_string(),
                outcome: report.outcome_kind().to_owned(),
            })
            .inc();
        self.durations
            .get_or_create(&OperationLabels {
                provider: report.provider.clone(),
                operation: report.operation.to_string(),
            })
            .observe(report.duration.as_secs_f64());
        let denied = report
            .audit
            .iter()
            .map(|r| r.decision)
            .chain(report.sockets.iter().map(|r| r.decision))
            .filter(|d| *d == Decision::Denied)
            .count();
        if denied > 0 {
            self.denied
                .get_or_create(&ProviderLabels {
                    provider: report.provider.clone(),
                })
                .inc_by(denied as u64);
        }
    }

    /// Counts one request refused before its provider ran (`outcome` is `unauthorized` or
    /// `invalid-request`).
    pub fn refused(&self, provider: &str, operation: Operation, outcome: &str) {
        self.calls
            .get_or_create(&CallLabels {
                provider: provider.to_owned(),
                operation: operation.to_string(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Everything counted so far, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_provider_operation_and_outcome() {
        let metrics = ServeMetrics::default();
        metrics.refused("pdns", Operation::Present, "unauthorized");
        metrics.refused("pdns", Operation::Present, "unauthorized");
        metrics.refused("pdns", Operation::Cleanup, "invalid-request");
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"acmebox_serve_calls_total{provider="pdns",operation="present",outcome="unauthorized"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"acmebox_serve_calls_total{provider="pdns",operation="cleanup",outcome="invalid-request"} 1"#
            ),
            "{text}"
        );
        assert!(
            !text.contains("acmebox_serve_call_duration_seconds_count"),
            "refused requests have no duration: {text}"
        );
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }
}
