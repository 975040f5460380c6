//! `acmebox` for Python: acmebox's sandbox as an acmeow challenge handler.
//!
//! acmeow (a Python ACME client) answers challenges through handlers with
//! `setup(domain, token, key_authorization)` and `cleanup(domain, token)`. This module gives it
//! [`WasmDnsHandler`], a DNS-01 handler whose DNS provider is a WebAssembly component run in
//! process by [`acmebox_sandbox::Sandbox`], under the same grants, limits and audit as the
//! `acmebox` command. The host computes the record name and value (RFC 8555 §8.4); the provider
//! only places and removes the value. `setup` returns once every authoritative server serves
//! the value, so acmeow needs no propagation delay.
//!
//! ```python
//! import acmebox
//! handler = acmebox.WasmDnsHandler("/etc/acmebox/acmebox.toml", "pdns")
//! client.complete_challenges(handler)        # instead of CallbackDnsHandler(...)
//! ```
//!
//! A provider's failure raises [`ProviderError`] carrying the provider's own message (with
//! every secret config value redacted by the sandbox). The native challenge helpers are there
//! too: `dns01_value` and `tls_alpn01_certificate`, for acmeow's other handlers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use acmebox_challenge::dns01::TxtValue;
use acmebox_challenge::handlers::{ChallengeHandler, ReadyCheck};
use acmebox_challenge::tls_alpn01::{CertificateOptions, generate};
use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
use acmebox_propagation::{DnsReadyCheck, PropagationOptions, Resolver};
use acmebox_sandbox::config::Config;
use acmebox_sandbox::{Sandbox, WasmDns01Handler};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(
    acmebox,
    ProviderError,
    PyException,
    "A sandboxed provider failed: loading it, or placing or removing a record, or the record \
     did not propagate. The message is the provider's own, secrets redacted."
);

/// An acmeow DNS-01 challenge handler backed by a sandboxed acmebox provider.
///
/// `WasmDnsHandler(config, provider, *, resolvers=None, authoritative=None,
/// nameserver_port=None, timeout=None, interval=None, follow_cname=True)`: the provider named
/// `provider` in the acmebox config file `config`. The keyword arguments set the propagation
/// check as the `acmebox` command's `--resolver`, `--authoritative`, ... do: lists of
/// `IP:port` strings, a port, and seconds.
#[derive(Debug)]
#[pyclass(module = "acmebox", frozen)]
pub struct WasmDnsHandler {
    runtime: tokio::runtime::Runtime,
    handler: WasmDns01Handler,
    check: DnsReadyCheck,
    /// The challenges set up and not yet cleaned up, by token: cleanup gets only the token.
    live: Mutex<HashMap<String, Challenge>>,
}

#[pymethods]
impl WasmDnsHandler {
    #[new]
    #[pyo3(signature = (
        config,
        provider,
        *,
        resolvers = None,
        authoritative = None,
        nameserver_port = None,
        timeout = None,
        interval = None,
        follow_cname = true,
    ))]
    #[expect(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn new(
        py: Python<'_>,
        config: PathBuf,
        provider: String,
        resolvers: Option<Vec<String>>,
        authoritative: Option<Vec<String>>,
        nameserver_port: Option<u16>,
        timeout: Option<f64>,
        interval: Option<f64>,
        follow_cname: bool,
    ) -> PyResult<Self> {
        let mut options = PropagationOptions::default().with_follow_cname(follow_cname);
        if let Some(resolvers) = resolvers {
            options = options.with_resolvers(addresses("resolvers", &resolvers)?);
        }
        if let Some(servers) = authoritative {
            options = options.with_authoritative_servers(addresses("authoritative", &servers)?);
        }
        if let Some(port) = nameserver_port {
            options = options.with_nameserver_port(port);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|err| ProviderError::new_err(format!("starting a tokio runtime: {err}")))?;
        let (handler, resolver) = py.detach(|| {
            runtime.block_on(async {
                let config = Config::load(&config).map_err(provider_error)?;
                let spec = config.provider_spec(&provider).map_err(provider_error)?;
                let provider = Sandbox::new(config.cache_dir())
                    .map_err(provider_error)?
                    .load_checked(spec)
                    .await
                    .map_err(provider_error)?;
                let mut one_at_a_time = false;
                if let Ok(info) = provider.info().await {
                    options = options.with_provider_timing(
                        info.propagation_timeout_secs,
                        info.polling_interval_secs,
                    );
                    one_at_a_time = info.sequential;
                }
                if let Some(timeout) = timeout {
                    options.timeout = seconds("timeout", timeout)?;
                }
                if let Some(interval) = interval {
                    options.interval = seconds("interval", interval)?;
                }
                let resolver = Resolver::new(options).map_err(provider_error)?;
                let handler = WasmDns01Handler::new(provider)
                    .with_resolver(resolver.clone())
                    .with_one_at_a_time(one_at_a_time);
                PyResult::Ok((handler, resolver))
            })
        })?;
        Ok(WasmDnsHandler {
            runtime,
            handler,
            check: DnsReadyCheck::new(resolver),
            live: Mutex::default(),
        })
    }

    /// Publishes the DNS-01 value of `key_authorization` for `domain` through the provider,
    /// then waits until every authoritative server serves it.
    fn setup(
        &self,
        py: Python<'_>,
        domain: &str,
        token: &str,
        key_authorization: &str,
    ) -> PyResult<()> {
        let identifier = Identifier::parse(domain).map_err(value_error)?;
        let key_authorization = KeyAuthorization::parse(key_authorization).map_err(value_error)?;
        let challenge = Challenge::new(ChallengeType::Dns01, identifier, key_authorization)
            .map_err(value_error)?;
        if challenge.token.to_string() != token {
            return Err(PyValueError::new_err(
                "the key authorization does not belong to the token",
            ));
        }
        py.detach(|| {
            self.runtime.block_on(async {
                let placed = async {
                    self.handler.setup(&challenge).await?;
                    self.check
                        .wait_until_ready(std::slice::from_ref(&challenge))
                        .await
                }
                .await;
                let Err(err) = placed else {
                    self.live().insert(token.to_owned(), challenge.clone());
                    return Ok(());
                };
                // acmeow cleans up only the challenges whose setup returned: undo this one
                // here, whatever part of it was done.
                let message = match ChallengeHandler::cleanup(&self.handler, &challenge).await {
                    Ok(()) => err.to_string(),
                    Err(cleanup) => format!("{err} (and cleaning up after it failed: {cleanup})"),
                };
                Err(ProviderError::new_err(message))
            })
        })
    }

    /// Removes exactly the value `setup` published for `token`; a token never set up (or
    /// already cleaned up) is nothing to do.
    fn cleanup(&self, py: Python<'_>, domain: &str, token: &str) -> PyResult<()> {
        let Some(challenge) = self.live().remove(token) else {
            return Ok(());
        };
        if challenge.identifier != Identifier::parse(domain).map_err(value_error)? {
            self.live().insert(token.to_owned(), challenge);
            return Err(PyValueError::new_err(format!(
                "token {token} was set up for another domain than {domain}"
            )));
        }
        py.detach(|| {
            self.runtime
                .block_on(ChallengeHandler::cleanup(&self.handler, &challenge))
        })
        .map_err(|err| ProviderError::new_err(err.to_string()))
    }

    /// acmeow sleeps this many seconds after setup: none, `setup` has already waited for the
    /// record to be served.
    #[getter]
    fn propagation_delay(&self) -> u32 {
        0
    }

    /// The provider's name in the config file.
    #[getter]
    fn provider(&self) -> String {
        self.handler.provider().name().to_owned()
    }

    /// One line per HTTP request and connection the provider made or tried since the last
    /// call, oldest first (query strings redacted).
    fn audit(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for report in self.handler.take_reports() {
            lines.extend(report.audit.iter().map(ToString::to_string));
            lines.extend(report.sockets.iter().map(ToString::to_string));
        }
        lines
    }

    fn __repr__(&self) -> String {
        format!("acmebox.WasmDnsHandler(provider={:?})", self.provider())
    }
}

impl WasmDnsHandler {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Challenge>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The DNS-01 TXT value of a key authorization: base64url(SHA-256(key_authorization)), RFC 8555
/// §8.4.
#[pyfunction]
fn dns01_value(key_authorization: &str) -> PyResult<String> {
    let key_authorization = KeyAuthorization::parse(key_authorization).map_err(value_error)?;
    Ok(TxtValue::new(&key_authorization).as_str().to_owned())
}

/// A TLS-ALPN-01 validation certificate for `domain` (RFC 8737 §3): `(cert_pem, key_pem)`,
/// with a fresh key, as acmeow's `CallbackTlsAlpnHandler` deploys them.
#[pyfunction]
fn tls_alpn01_certificate(domain: &str, key_authorization: &str) -> PyResult<(String, String)> {
    let identifier = Identifier::parse(domain).map_err(value_error)?;
    let key_authorization = KeyAuthorization::parse(key_authorization).map_err(value_error)?;
    let cert = generate(
        &identifier,
        &key_authorization,
        &CertificateOptions::default(),
    )
    .map_err(value_error)?;
    Ok((cert.cert_pem(), cert.key_pem()))
}

/// The Python module `acmebox`. When acmeow is installed, `WasmDnsHandler` is registered as an
/// `acmeow.ChallengeHandler` (a virtual subclass: `isinstance` holds).
#[pymodule]
#[pyo3(name = "acmebox")]
fn python_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<WasmDnsHandler>()?;
    m.add("ProviderError", py.get_type::<ProviderError>())?;
    m.add_function(wrap_pyfunction!(dns01_value, m)?)?;
    m.add_function(wrap_pyfunction!(tls_alpn01_certificate, m)?)?;
    match py.import("acmeow") {
        Ok(acmeow) => {
            acmeow
                .getattr("ChallengeHandler")?
                .call_method1("register", (py.get_type::<WasmDnsHandler>(),))?;
        }
        // Without acmeow the handler still works for any caller of setup/cleanup.
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyImportError>(py) => {}
        Err(err) => return Err(err),
    }
    Ok(())
}

fn provider_error(err: impl std::fmt::Display) -> PyErr {
    ProviderError::new_err(err.to_string())
}

fn value_error(err: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// A duration in seconds for the keyword argument `what`.
fn seconds(what: &str, secs: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| PyValueError::new_err(format!("{what}: {secs} is not a number of seconds")))
}

/// Parses `IP:port` strings for the keyword argument `what`.
fn addresses(what: &str, list: &[String]) -> PyResult<Vec<SocketAddr>> {
    list.iter()
        .map(|address| {
            address.parse().map_err(|_| {
                PyValueError::new_err(format!("{what}: {address:?} is not an IP:port address"))
            })
        })
        .collect()
}
