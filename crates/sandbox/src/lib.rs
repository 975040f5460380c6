//! # acmebox-sandbox
//!
//! The sandbox host: runs DNS-01 provider components under wasmtime.
//!
//! One [`Sandbox`] holds the process's engines (shared, epoch-interrupted; pooled allocation
//! where the pool can be reserved), their linkers, the precompiled-component cache and the one
//! HTTP client. [`Sandbox::load`] checks a component
//! (SHA-256 pin, imports) and prepares it, and [`Sandbox::load_checked`] checks its config
//! against the keys it reads as well; every call of the resulting [`WasmDnsProvider`] runs
//! in a fresh store under the provider's [`Limits`], and returns a [`CallReport`] with its
//! outcome, an audit record per HTTP request and socket connection, and the provider's log.

//!
//! The security model: a provider sees only the config keys the operator set for it, a log,
//! and outgoing HTTP to the origins in its allow list, checked by the host on every request
//! ([`acmebox_egress`]: names must resolve to public addresses; loopback and private addresses
//! only when granted as literals). It has no files, no environment and no sockets, except TCP
//! to the DNS servers its allow list names as `dns://IP:port` (for RFC 2136 updates; see
//! [`acmebox_egress::socket`]). It runs under per-call limits on memory, wall-clock time,
//! requests, connections and bytes. Every request and connection is audited; secret config values are redacted from logs, errors and reports. [`config`] reads
//! the operator's TOML file. The sandbox emits `tracing` events under the targets of
//! [`log_targets`] and installs no subscriber.
#![deny(missing_docs)]

mod bindings;
mod cache;
mod call_threads;
mod capabilities;
mod client;
pub mod config;
mod config_check;
mod egress_hooks;
mod engine;
mod error;
mod handler;
mod host;
pub mod journal;
mod limits;
pub mod log_targets;
mod provider;
mod redact;
mod report;
mod run;
mod sockets;
mod spec;
mod stale;
mod state;

pub use cache::CacheStatus;
pub use config_check::MIN_SECRET_CHARS;
pub use error::{Error, Result};
pub use handler::{WasmDns01Handler, place_record};
pub use host::Sandbox;
pub use limits::{
    DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_MAX_REQUESTS,
    DEFAULT_MAX_RESPONSE_BODY_BYTES, DEFAULT_MAX_SOCKET_BYTES_RECEIVED,
    DEFAULT_MAX_SOCKET_BYTES_SENT, DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT, EPOCH_TICK,
    LimitExceeded, Limits, MAX_BODY_BYTES, MAX_CONCURRENT_CALLS, MAX_CONNECTIONS,
    MAX_DESCRIBED_ITEMS, MAX_GUEST_STRING_BYTES, MAX_HEADER_BYTES, MAX_MEMORY_BYTES, MAX_REQUESTS,
    MAX_SOCKET_BYTES, MAX_TIMEOUT,
};
pub use provider::{ConfigKey, ProviderError, ProviderInfo, TxtRecord, WasmDnsProvider};
pub use redact::{REDACTED, bound};
pub use report::{
    AuditRecord, CallReport, Decision, LogLevel, LogRecord, LogSource, Operation, SocketRecord,
};
pub use run::{inspect, load_from_config, run_from_config, run_record};
pub use spec::ProviderSpec;
pub use stale::{StaleOptions, StaleSummary, clean_stale};
