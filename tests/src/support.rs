//! What the provider tests share: the values and names they use, the records they hand to
//! providers, and checks of call reports.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use acmebox::sandbox::Error;
use acmebox::sandbox::{CallReport, ProviderError, ProviderInfo, TxtRecord};

use crate::http_server::Received;

/// A DNS-01 value for the apex of a test domain.
pub const APEX_VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

/// A second DNS-01 value at the same name, as for the wildcard of the domain.
pub const WILDCARD_VALUE: &str = "Xw7ZQp1kV3mN9rT2sU4yA6bC8dE0fG2hJ4kL6nP8qR0";

/// A domain under `example.test` that no other test, in this process or another, uses.
pub fn unique(test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{test}-{}-{n}.example.test", std::process::id())
}

/// The record a host hands a provider for `value` at `_acme-challenge.<domain>.`, TTL 60.
pub fn record(domain: &str, value: &str, zone: Option<&str>) -> TxtRecord {
    TxtRecord {
        domain: domain.to_owned(),
        fqdn: format!("_acme-challenge.{domain}."),
        value: value.to_owned(),
        ttl: 60,
        zone: zone.map(str::to_owned),
    }
}

/// Fails with the call's error, logs and audit unless it succeeded.
pub fn ensure_ok(report: &CallReport) -> anyhow::Result<()> {
    anyhow::ensure!(
        report.is_ok(),
        "{} failed: {}\nlogs: {:?}\naudit: {:?}",
        report.operation,
        report.error().map(ToString::to_string).unwrap_or_default(),
        report.logs,
        report.audit
    );
    Ok(())
}

/// Fails when `secret` appears anywhere the report shows: its error, logs, audit, JSON form or
/// `Debug`.
pub fn ensure_hidden(report: &CallReport, secret: &str) -> anyhow::Result<()> {
    let shown = format!(
        "{} {} {report:?}",
        report.error().map(ToString::to_string).unwrap_or_default(),
        serde_json::to_string(report)?
    );
    anyhow::ensure!(!shown.contains(secret), "the secret leaked: {shown}");
    Ok(())
}

/// The provider's own error, when the call failed with one.
pub fn provider_error(report: &CallReport) -> Option<&ProviderError> {
    match report.error() {
        Some(Error::ProviderFailed { error, .. }) => Some(error),
        _ => None,
    }
}

/// Each config key a provider describes as `(name, required, secret)`, in its order.
pub fn key_flags(info: &ProviderInfo) -> Vec<(&str, bool, bool)> {
    info.config_keys
        .iter()
        .map(|k| (k.name.as_str(), k.required, k.secret))
        .collect()
}

/// A provider's suggested propagation timeout and polling interval, and whether it must run
/// sequentially.
pub fn timings(info: &ProviderInfo) -> (u32, u32, bool) {
    (
        info.propagation_timeout_secs,
        info.polling_interval_secs,
        info.sequential,
    )
}

/// `values` as owned strings, sorted: what the value helpers return.
pub fn sorted(values: &[&str]) -> Vec<String> {
    let mut values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    values.sort();
    values
}

/// The value of header `name` (lower case) in a received request.
pub fn header<'a>(request: &'a Received, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Runs futures concurrently on the current task and collects their outputs in order.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (fut, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
