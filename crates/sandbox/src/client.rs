//! The one HTTP client every provider's allowed requests go through.
//!
//! Connections are pooled across calls. The client resolves names only through
//! [`VettingResolver`], which vets every address before a connection is made and hands the
//! connector only vetted addresses: there is no second resolution a DNS rebinding could
//! change. Redirects are never followed and no proxy is ever used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use acmebox_egress::blocked_reason;

/// How long connecting to an API may take (the call's deadline bounds it too).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the shared client: rustls with the ring provider, vetting resolver, no redirects,
/// no proxies.
pub(crate) fn build_client() -> Result<reqwest::Client, String> {
    // reqwest is built without a crypto provider; ring is the only one compiled in. Installing
    // fails only when a process default is already set, which reqwest then uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(VettingResolver))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Resolves a name and keeps only addresses outside the blocked ranges.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VettingResolver;

/// A resolution the egress policy refused or that failed; found again in reqwest's error chain.
#[derive(Debug)]
pub(crate) struct ResolveError {
    /// True when the policy refused the addresses; false when the lookup itself failed.
    pub(crate) denied: bool,
    pub(crate) message: String,
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ResolveError {}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| ResolveError {
                    denied: false,
                    message: format!("cannot resolve {host}: {e}"),
                })?
                .collect();
            let vetted = vet(&host, &found).map_err(|message| ResolveError {
                denied: true,
                message,
            })?;
            Ok(Box::new(vetted.into_iter()) as Addrs)
        })
    }
}

/// Finds a [`ResolveError`] in an error's source chain.
pub(crate) fn find_resolve_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a ResolveError> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<ResolveError>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

/// Keeps the resolved addresses outside every blocked network. A name never reaches a blocked
/// address, whatever the grant says: connections are pooled by name across providers, so only
/// an IP-literal entry (checked per request) can open a blocked address, and only to the
/// provider that was granted it.
fn vet(host: &str, found: &[SocketAddr]) -> Result<Vec<SocketAddr>, String> {
    let vetted: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|a| blocked_reason(a.ip()).is_none())
        .collect();
    if !vetted.is_empty() {
        return Ok(vetted);
    }
    match found.first() {
        None => Err(format!("{host} did not resolve to any address")),
        Some(a) => Err(format!(
            "{host} resolves to {}, a {} address; grant the address itself (for example `http://{}`) to reach it",
            a.ip(),
            blocked_reason(a.ip()).unwrap_or("blocked"),
            a.ip()
        )),
    }
}
