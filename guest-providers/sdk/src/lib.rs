//! Write acmebox DNS-01 providers in Rust.
//!
//! A provider is a WebAssembly component that places and removes the TXT values of DNS-01
//! challenges (RFC 8555 §8.4) through its DNS provider's HTTP API. acmebox runs it in a sandbox:
//! the component sees the config keys the operator set for it ([`config`]), a log ([`log`]), and
//! outgoing HTTP to the hosts the operator granted ([`http`]); no files, no environment, no
//! sockets. Everything ACME needs (the record name, the value, the zone when known) is computed
//! by the host and handed in as a [`TxtRecord`].
//!
//! Implement [`Provider`] on a type and name it once with [`export!`]; the crate hides the
//! generated WIT bindings behind that macro.
//!
//! # Example
//!
//! A complete provider for an API that takes `POST /records` and `DELETE /records`:
//!
//! ```no_run
//! use acmebox_provider::{ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord};
//! use acmebox_provider::{config, http, log};
//!
//! struct Example;
//!
//! impl Provider for Example {
//!     fn describe() -> ProviderInfo {
//!         ProviderInfo {
//!             name: "example".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             description: "TXT records through the example.com DNS API".into(),
//!             config_keys: vec![
//!                 ConfigKey::required("api_token", "API token with DNS edit rights").secret(),
//!                 ConfigKey::optional("endpoint", "API base URL (default https://dns.example.com)"),
//!             ],
//!             hosts: vec!["https://dns.example.com".into()],
//!             propagation_timeout_secs: 120,
//!             polling_interval_secs: 5,
//!             sequential: false,
//!         }
//!     }
//!
//!     fn present(record: TxtRecord) -> Result<(), ProviderError> {
//!         log::info!("adding TXT value at {}", record.fqdn);
//!         send(http::Request::post(url("/records")?), &record)
//!     }
//!
//!     fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
//!         log::info!("removing TXT value at {}", record.fqdn);
//!         match send(http::Request::delete(url("/records")?), &record) {
//!             // Removing a value that is not there succeeds.
//!             Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(()),
//!             other => other,
//!         }
//!     }
//! }
//!
//! fn url(path: &str) -> Result<String, ProviderError> {
//!     let base = config::get("endpoint").unwrap_or_else(|| "https://dns.example.com".into());
//!     Ok(format!("{}{path}", base.trim_end_matches('/')))
//! }
//!
//! fn send(request: http::Request, record: &TxtRecord) -> Result<(), ProviderError> {
//!     let token = config::require("api_token")?;
//!     request
//!         .header("authorization", format!("Bearer {token}"))
//!         .json(&serde_json::json!({ "name": record.fqdn, "value": record.value, "ttl": record.ttl }))
//!         .send()?
//!         .error_for_status()?;
//!     Ok(())
//! }
//!
//! acmebox_provider::export!(Example);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`: the `.wasm` file cargo writes
//! for a `cdylib` is already a component. The crate's README says more.
//!
//! # Panics
//!
//! A panicking provider is a broken provider: the panic message goes to stderr, which the host
//! puts in the log, and the call traps, which the host reports as a failed call. Return a [`ProviderError`] for
//! anything an operator can fix.

pub mod auth;
pub mod config;
pub mod dns;
pub mod http;
pub mod log;
pub mod retry;
mod types;

pub use types::{DEFAULT_POLLING_INTERVAL_SECS, DEFAULT_PROPAGATION_TIMEOUT_SECS};

#[doc(hidden)]
pub mod bindings;

pub use bindings::acmebox::provider::types::{
    ApiError, ConfigKey, LogLevel, ProviderError, ProviderInfo, TxtRecord,
};

/// A DNS-01 provider: what the component exports.
///
/// The methods take no `self`: each call may land in a fresh instance, so a provider keeps no
/// state between calls that it cannot rebuild from its config.
pub trait Provider {
    /// Describes the provider: its name, config keys, the hosts it needs. Must not make HTTP
    /// requests.
    fn describe() -> ProviderInfo;

    /// Adds `record.value` to the TXT values at `record.fqdn`, keeping the others. Presenting a
    /// value that is already there succeeds.
    fn present(record: TxtRecord) -> Result<(), ProviderError>;

    /// Removes `record.value` from the TXT values at `record.fqdn`, keeping the others. Removing a
    /// value that is not there succeeds.
    fn cleanup(record: TxtRecord) -> Result<(), ProviderError>;
}

/// Exports a [`Provider`] as the component's `dns-provider` and `metadata` interfaces.
///
/// Use it once, at the top level of a `cdylib` crate:
///
/// ```ignore
/// acmebox_provider::export!(MyProvider);
/// ```
#[macro_export]
macro_rules! export {
    ($provider:ty) => {
        const _: () = {
            type AcmeboxProviderExport = $crate::__private::Export<$provider>;
            $crate::bindings::export_world!(
                AcmeboxProviderExport with_types_in $crate::bindings
            );
        };
    };
}

#[doc(hidden)]
pub mod __private {
    //! What [`export!`](crate::export) expands to. Not public API.

    use core::marker::PhantomData;
    use std::io::Write as _;
    use std::sync::Once;

    use crate::bindings::exports::acmebox::provider::{dns_provider, metadata};
    use crate::{Provider, ProviderError, ProviderInfo, TxtRecord};

    /// Implements the generated export traits for any [`Provider`].
    #[derive(Debug)]
    pub struct Export<P>(PhantomData<P>);

    impl<P: Provider> dns_provider::Guest for Export<P> {
        fn present(record: TxtRecord) -> Result<(), ProviderError> {
            install_panic_hook();
            P::present(record)
        }

        fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
            install_panic_hook();
            P::cleanup(record)
        }
    }

    impl<P: Provider> metadata::Guest for Export<P> {
        fn describe() -> ProviderInfo {
            install_panic_hook();
            P::describe()
        }
    }

    /// Replaces std's panic message (several lines, ending in a note about backtraces) with
    /// one line on stderr, which the host puts in the provider's log and beside the trap it
    /// reports. wasm32-wasip2 aborts on panic, so the call then traps.
    fn install_panic_hook() {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let message = info.payload_as_str().unwrap_or("(no message)");
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                // Nothing is left to do if stderr is gone: the call traps either way.
                let _ = writeln!(
                    std::io::stderr(),
                    "provider panicked{location}: {}",
                    message.replace('\n', " ")
                );
            }));
        });
    }
}
