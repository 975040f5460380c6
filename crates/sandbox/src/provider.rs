//! A loaded provider and its calls: a fresh store per call, dropped after it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use wasmtime::Engine;

use crate::bindings::{ProviderPre, types};
use crate::capabilities::ConfigCtx;
use crate::egress_hooks::CallEgress;
use crate::limits::{LimitExceeded, Limits, MAX_DESCRIBED_ITEMS, MAX_GUEST_STRING_BYTES};
use crate::redact::Redactor;
use crate::report::{CallReport, LogLevel, Operation};
use crate::sockets::CallSockets;
use crate::spec::ConfigValue;
use crate::state::{StoreState, new_store};
use crate::{Error, Result};
use acmebox_egress::Grant;

/// One DNS-01 TXT value to place or remove, as the host computed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxtRecord {
    /// The validated domain, without `*.` and without trailing dot.
    pub domain: String,
    /// The absolute record name with its trailing dot.
    pub fqdn: String,
    /// The TXT value (43 base64url characters).
    pub value: String,
    /// The TTL, in seconds.
    pub ttl: u32,
    /// The zone apex holding `fqdn`, when known.
    pub zone: Option<String>,
}

impl TxtRecord {
    /// The record for a computed DNS-01 record, published with `ttl`.
    pub fn from_dns01(record: &acmebox_challenge::dns01::Dns01Record, ttl: u32) -> Self {
        TxtRecord {
            domain: record.domain().to_owned(),
            fqdn: record.fqdn().to_owned(),
            value: record.value().as_str().to_owned(),
            ttl,
            zone: None,
        }
    }

    fn to_wit(&self) -> types::TxtRecord {
        types::TxtRecord {
            domain: self.domain.clone(),
            fqdn: self.fqdn.clone(),
            value: self.value.clone(),
            ttl: self.ttl,
            zone: self.zone.clone(),
        }
    }
}

/// Why a provider said a call failed (the WIT `provider-error`), messages redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderError {
    /// A config key is missing or malformed.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// The API refused the credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// No zone holds the record's name.
    #[error("zone not found: {0}")]
    ZoneNotFound(String),
    /// The API asked to slow down.
    #[error("rate limited{}", .0.map(|s| format!(", retry in {s} s")).unwrap_or_default())]
    RateLimited(Option<u32>),
    /// The API answered with an error.
    #[error("API error {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// What the API said.
        message: String,
    },
    /// The request did not complete (egress denial, connection failure, timeout).
    #[error("transport error: {0}")]
    Transport(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl ProviderError {
    /// The name of the WIT variant (`invalid-config`, `zone-not-found`, ...).
    pub fn wit_name(&self) -> &'static str {
        match self {
            ProviderError::InvalidConfig(_) => "invalid-config",
            ProviderError::Unauthorized(_) => "unauthorized",
            ProviderError::ZoneNotFound(_) => "zone-not-found",
            ProviderError::RateLimited(_) => "rate-limited",
            ProviderError::Api { .. } => "api-error",
            ProviderError::Transport(_) => "transport-error",
            ProviderError::Other(_) => "other",
        }
    }

    fn from_wit(e: types::ProviderError, r: &Redactor) -> Self {
        use types::ProviderError as W;
        let text = |m: String| r.redact_bounded(&m, MAX_GUEST_STRING_BYTES);
        match e {
            W::InvalidConfig(m) => ProviderError::InvalidConfig(text(m)),
            W::Unauthorized(m) => ProviderError::Unauthorized(text(m)),
            W::ZoneNotFound(m) => ProviderError::ZoneNotFound(text(m)),
            W::RateLimited(s) => ProviderError::RateLimited(s),
            W::ApiError(a) => ProviderError::Api {
                status: a.status,
                message: text(a.message),
            },
            W::TransportError(m) => ProviderError::Transport(text(m)),
            W::Other(m) => ProviderError::Other(text(m)),
        }
    }
}

/// One config key a provider reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigKey {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Whether the provider needs it.
    pub required: bool,
    /// Whether it is a credential.
    pub secret: bool,
}

/// What a provider says about itself (`metadata.describe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderInfo {
    /// Short machine name.
    pub name: String,
    /// The provider's version.
    pub version: String,
    /// One line for humans.
    pub description: String,
    /// Every config key it reads.
    pub config_keys: Vec<ConfigKey>,
    /// The hosts it normally needs, as allow-list entries.
    pub hosts: Vec<String>,
    /// Propagation timeout, in seconds.
    pub propagation_timeout_secs: u32,
    /// Propagation polling interval, in seconds.
    pub polling_interval_secs: u32,
    /// Whether calls must run one at a time.
    pub sequential: bool,
}

impl ProviderInfo {
    /// What a guest's `describe` said, every string redacted and bounded
    /// ([`MAX_GUEST_STRING_BYTES`]) and the lists cut at [`MAX_DESCRIBED_ITEMS`].
    fn from_wit(i: types::ProviderInfo, r: &Redactor) -> Self {
        let text = |m: &str| r.redact_bounded(m, MAX_GUEST_STRING_BYTES);
        ProviderInfo {
            name: text(&i.name),
            version: text(&i.version),
            description: text(&i.description),
            config_keys: i
                .config_keys
                .iter()
                .take(MAX_DESCRIBED_ITEMS)
                .map(|k| ConfigKey {
                    name: text(&k.name),
                    description: text(&k.description),
                    required: k.required,
                    secret: k.secret,
                })
                .collect(),
            hosts: i
                .hosts
                .iter()
                .take(MAX_DESCRIBED_ITEMS)
                .map(|h| text(h))
                .collect(),
            propagation_timeout_secs: i.propagation_timeout_secs,
            polling_interval_secs: i.polling_interval_secs,
            sequential: i.sequential,
        }
    }
}

/// A provider component loaded into a [`super::Sandbox`]. Cheap to clone; calls may run
/// concurrently, each in its own store.
#[derive(Clone)]
pub struct WasmDnsProvider {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) name: Arc<str>,
    pub(crate) engine: Engine,
    /// Whether calls take a slot of the pooling allocator.
    pub(crate) pooled: bool,
    pub(crate) pre: ProviderPre<StoreState>,
    pub(crate) client: reqwest::Client,
    pub(crate) grant: Arc<Grant>,
    pub(crate) limits: Limits,
    pub(crate) config: Arc<BTreeMap<String, ConfigValue>>,
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) imports: Vec<String>,
    pub(crate) grant_warnings: Vec<String>,
    pub(crate) config_warnings: Vec<String>,
    /// Where presented records are journalled, if anywhere.
    pub(crate) journal: Option<ProviderJournal>,
    pub(crate) sha256: String,
    pub(crate) ttl: u32,
    pub(crate) cache_status: super::CacheStatus,
    /// One lock per record name: calls on the same name run one at a time.
    pub(crate) name_locks: NameLocks,
    /// For a provider that describes itself as `sequential`: all its calls one at a time.
    pub(crate) sequential: Sequential,
    /// [`Limits::max_concurrent_calls`] permits: calls beyond them wait.
    pub(crate) calls: tokio::sync::Semaphore,
}

/// Serialises `present` and `cleanup` calls on one record name. Providers change a TXT rrset
/// by reading it and writing it back (most DNS APIs have no conditional update), so two calls
/// on the apex and the wildcard of one domain at once could each drop the other's value.
#[derive(Debug, Default)]
pub(crate) struct NameLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl NameLocks {
    /// Waits for the lock of `fqdn` (case-insensitive, trailing dot ignored).
    async fn lock(&self, fqdn: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let key = fqdn.trim_end_matches('.').to_ascii_lowercase();
        let lock = {
            let mut map = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Forget locks nobody holds or waits for, so the map stays small.
            map.retain(|_, lock| Arc::strong_count(lock) > 1);
            map.entry(key).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// A provider's journal and the config file it was loaded from.
#[derive(Debug)]
pub(crate) struct ProviderJournal {
    pub(crate) journal: crate::journal::Journal,
    pub(crate) config: std::path::PathBuf,
}

/// Whether the provider asked for its calls to run one at a time (`provider-info.sequential`:
/// its API cannot take concurrent changes, such as one that replaces a whole zone per change),
/// learnt from its `describe` on the first call, and the lock those calls then share.
#[derive(Debug, Default)]
pub(crate) struct Sequential {
    asked: tokio::sync::OnceCell<bool>,
    /// What the provider said when it was loaded ([`crate::Sandbox::load_checked`]).
    info: std::sync::OnceLock<ProviderInfo>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

/// Names the current call thread `acmebox:<provider>` where the system shows thread names (cut
/// to 15 bytes there), so a busy provider's calls can be told apart in `top -H`. A pool thread
/// keeps its name between calls: it is set only when the provider changes, so the next call of
/// the same provider on that thread costs no system call.
fn name_thread(provider: &str) {
    #[cfg(target_os = "linux")]
    {
        thread_local! {
            static NAMED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        NAMED.with_borrow_mut(|named| {
            if named != provider
                && let Ok(name) = std::ffi::CString::new(format!("acmebox:{provider}"))
                && rustix::thread::set_name(&name).is_ok()
            {
                provider.clone_into(named);
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = provider;
}

impl std::fmt::Debug for WasmDnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmDnsProvider")
            .field("name", &self.inner.name)
            .field("sha256", &self.inner.sha256)
            .field("grant", &self.inner.grant)
            .field("limits", &self.inner.limits)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

enum Call {
    Describe,
    Present(types::TxtRecord),
    Cleanup(types::TxtRecord),
}

enum Output {
    Info(types::ProviderInfo),
    Done(Result<(), types::ProviderError>),
}

impl WasmDnsProvider {
    pub(crate) fn new(inner: Inner) -> Self {
        WasmDnsProvider {
            inner: Arc::new(inner),
        }
    }

    /// The provider's name in the config.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The SHA-256 of the component, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// The limits each call runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The TTL configured for records.
    pub fn ttl(&self) -> u32 {
        self.inner.ttl
    }

    /// Whether loading found the precompiled artifact in the cache.
    pub fn cache_status(&self) -> super::CacheStatus {
        self.inner.cache_status
    }

    /// Every import of the component, as `namespace:package/interface@version`.
    pub fn imports(&self) -> &[String] {
        &self.inner.imports
    }

    /// One sentence per entry of the grant that weakens the sandbox (each written with the
    /// `danger:` marker), naming the provider, the entry and how; empty for a grant that does
    /// not weaken it. Each is logged as a `tracing` warning (target
    /// [`GRANT`](crate::log_targets::GRANT)) every time the provider is loaded.
    pub fn grant_warnings(&self) -> &[String] {
        &self.inner.grant_warnings
    }

    /// One sentence per config key that [`Sandbox::load_checked`](crate::Sandbox::load_checked)
    /// warned about: a key the provider marks secret that the config did not, or a credential
    /// written in the config file itself. Never holds a value. Empty after a plain
    /// [`load`](crate::Sandbox::load).
    pub fn config_warnings(&self) -> &[String] {
        &self.inner.config_warnings
    }

    /// Keeps what the provider's `describe` said at load, so neither [`Self::info`] nor the
    /// `sequential` check asks it again.
    pub(crate) fn remember_info(&self, info: ProviderInfo) {
        let _ = self.inner.sequential.asked.set(info.sequential);
        let _ = self.inner.sequential.info.set(info);
    }

    /// What the provider says about itself: the answer it gave when it was loaded with
    /// [`crate::Sandbox::load_checked`], else a new [`Self::describe`] call. For the timing and
    /// keys of a provider already loaded, this costs no instantiation.
    pub async fn info(&self) -> Result<ProviderInfo> {
        match self.inner.sequential.info.get() {
            Some(info) => Ok(info.clone()),
            None => self.describe().await,
        }
    }

    /// Places `record.value` at `record.fqdn`.
    ///
    /// Calls on one record name run one at a time; every call of a provider that describes
    /// itself as `sequential` does.
    ///
    /// With a journal (a provider loaded from a config file), the record is journalled durably
    /// before the provider is called, and the call is refused if that fails: see
    /// [`journal`](crate::journal).
    pub async fn present(&self, record: &TxtRecord) -> CallReport {
        let _one_at_a_time = self.sequential_lock().await;
        let _serialised = self.inner.name_locks.lock(&record.fqdn).await;
        if let Some(pj) = &self.inner.journal {
            let entry = crate::journal::Entry::new(
                &pj.config,
                &self.inner.name,
                record,
                crate::journal::owner(),
            );
            let journal = pj.journal.clone();
            let written = tokio::task::spawn_blocking(move || journal.record(&entry))
                .await
                .unwrap_or_else(|join| {
                    Err(Error::Sandbox {
                        reason: format!("journalling the record failed: {join}"),
                    })
                });
            if let Err(err) = written {
                return CallReport {
                    provider: self.inner.name.to_string(),
                    operation: Operation::Present,
                    outcome: Err(err),
                    audit: Vec::new(),
                    sockets: Vec::new(),
                    logs: Vec::new(),
                    duration: std::time::Duration::ZERO,
                };
            }
        }
        let wit = record.to_wit();
        self.call(Operation::Present, Call::Present(wit)).await.0
    }

    /// Whether the provider describes itself as `sequential` (its API takes one change at a
    /// time): asked once per loaded provider; `false` if it cannot describe itself.
    pub async fn is_sequential(&self) -> bool {
        *self
            .inner
            .sequential
            .asked
            .get_or_init(|| async { self.describe().await.is_ok_and(|info| info.sequential) })
            .await
    }

    /// The records this provider (of the same config file) has presented and not yet removed,
    /// whose owners still run, from its journal; empty without a journal.
    pub fn live_records(&self) -> Result<Vec<crate::journal::Entry>> {
        let Some(pj) = &self.inner.journal else {
            return Ok(Vec::new());
        };
        Ok(pj
            .journal
            .scan()?
            .entries
            .into_iter()
            .map(|(_, entry)| entry)
            .filter(|e| {
                e.config == pj.config && *e.provider == *self.inner.name && e.owner.is_running()
            })
            .collect())
    }

    /// The journal of this provider's presented records, if it has one.
    pub fn journal(&self) -> Option<&crate::journal::Journal> {
        self.inner.journal.as_ref().map(|pj| &pj.journal)
    }

    /// Removes `record.value` from `record.fqdn`, serialised as [`present`](Self::present) is.
    /// Once the provider has removed the value, its journal entry is deleted.
    pub async fn cleanup(&self, record: &TxtRecord) -> CallReport {
        let _one_at_a_time = self.sequential_lock().await;
        let _serialised = self.inner.name_locks.lock(&record.fqdn).await;
        let wit = record.to_wit();
        let report = self.call(Operation::Cleanup, Call::Cleanup(wit)).await.0;
        if report.is_ok()
            && let Some(pj) = &self.inner.journal
            && let Err(err) = pj.journal.remove(&pj.config, &self.inner.name, record)
        {
            // The value is gone; a left entry only makes a later stale cleanup ask again.
            tracing::warn!(provider = %self.inner.name, "{err}");
        }
        report
    }

    /// The provider-wide lock when the provider describes itself as `sequential`, else `None`.
    /// The first call asks `describe` (one more instantiation, once per loaded provider); a
    /// provider that cannot describe itself is taken as not sequential, and its call reports
    /// the failure.
    async fn sequential_lock(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        if !self.is_sequential().await {
            return None;
        }
        Some(Arc::clone(&self.inner.sequential.lock).lock_owned().await)
    }

    /// Asks the provider to describe itself.
    pub async fn describe(&self) -> Result<ProviderInfo> {
        let (report, info) = self.call(Operation::Describe, Call::Describe).await;
        report.outcome?;
        info.ok_or_else(|| Error::ProviderTrap {
            provider: self.name().to_owned(),
            operation: Operation::Describe,
            message: "describe returned nothing".into(),
        })
    }

    /// Runs one call on a thread of its own ([`crate::call_threads`]), driven by the current
    /// runtime's I/O and timers. A guest busy on the CPU then holds that thread only: the
    /// runtime's workers stay free for everything else (other providers' calls, a server's
    /// own answers), the operating system shares the CPU between calls, and a CPU-bound guest
    /// can lower its own thread's priority (see `state::new_store`) without that outliving the
    /// call.
    async fn call(&self, operation: Operation, call: Call) -> (CallReport, Option<ProviderInfo>) {
        let this = self.clone();
        let handle = tokio::runtime::Handle::current();
        let started = Instant::now();
        let (answer, answered) = tokio::sync::oneshot::channel();
        let spawned = crate::call_threads::run(Box::new(move || {
            name_thread(this.name());
            let done = handle.block_on(this.call_here(operation, call));
            // The caller may have stopped waiting; the call ran to its end regardless.
            let _ = answer.send(done);
        }));
        let failure = match spawned {
            Ok(()) => match answered.await {
                Ok(done) => return done,
                Err(_) => "the call's thread ended without an answer".to_owned(),
            },
            Err(err) => format!("no thread for the call: {err}"),
        };
        (
            CallReport {
                provider: self.name().to_owned(),
                operation,
                outcome: Err(Error::ProviderTrap {
                    provider: self.name().to_owned(),
                    operation,
                    message: failure,
                }),
                audit: Vec::new(),
                sockets: Vec::new(),
                logs: Vec::new(),
                duration: started.elapsed(),
            },
            None,
        )
    }

    async fn call_here(
        &self,
        operation: Operation,
        call: Call,
    ) -> (CallReport, Option<ProviderInfo>) {
        let inner = &self.inner;
        // Waiting for a turn does not count against the call's deadline. The semaphore is never
        // closed; were it, the call would simply not wait.
        let _turn = inner.calls.acquire().await.ok();
        let started = Instant::now();
        let egress = Arc::new(CallEgress {
            provider: inner.name.clone(),
            grant: inner.grant.clone(),
            limits: inner.limits,
            client: inner.client.clone(),
            redactor: inner.redactor.clone(),
            deadline: started + inner.limits.timeout,
            audit: Mutex::new(Vec::new()),
            logs: Mutex::new(Vec::new()),
            sockets: CallSockets::default(),
        });
        // Declared before the store, so released after it is dropped.
        let _slot = if inner.pooled {
            super::engine::pool_slot().await
        } else {
            None
        };
        let mut store = new_store(
            &inner.engine,
            egress.clone(),
            ConfigCtx::new(inner.config.clone()),
        );
        let run = async {
            let bindings = inner.pre.instantiate_async(&mut store).await?;
            Ok::<_, wasmtime::Error>(match call {
                Call::Describe => Output::Info(
                    bindings
                        .acmebox_provider_metadata()
                        .call_describe(&mut store)
                        .await?,
                ),
                Call::Present(r) => Output::Done(
                    bindings
                        .acmebox_provider_dns_provider()
                        .call_present(&mut store, &r)
                        .await?,
                ),
                Call::Cleanup(r) => Output::Done(
                    bindings
                        .acmebox_provider_dns_provider()
                        .call_cleanup(&mut store, &r)
                        .await?,
                ),
            })
        };
        let result = tokio::time::timeout(inner.limits.timeout, run).await;
        let provider = inner.name.to_string();
        let mut info = None;
        let outcome = match result {
            Err(_elapsed) => Err(Error::ProviderLimit {
                provider: provider.clone(),
                operation,
                limit: LimitExceeded::Deadline(inner.limits.timeout),
            }),
            Ok(Err(trap)) => Err(self.classify_trap(operation, &trap, store.data())),
            Ok(Ok(Output::Info(i))) => {
                info = Some(ProviderInfo::from_wit(i, &inner.redactor));
                Ok(())
            }
            Ok(Ok(Output::Done(Ok(())))) => Ok(()),
            Ok(Ok(Output::Done(Err(e)))) => Err(Error::ProviderFailed {
                provider: provider.clone(),
                operation,
                error: ProviderError::from_wit(e, &inner.redactor),
            }),
        };
        store.data_mut().flush_stdio();
        let mut logs = store.data_mut().log.take();
        // The store is never reused, after a trap least of all.
        drop(store);
        let sockets = egress.take_socket_records();
        let unrecorded = egress.refusals_not_recorded();
        if unrecorded > 0 {
            egress.host_log(
                LogLevel::Warn,
                &format!(
                    "{unrecorded} more socket uses were refused than the {} recorded",
                    crate::sockets::MAX_REFUSED_RECORDS
                ),
            );
        }
        if let Ok(mut host_logs) = egress.logs.lock() {
            logs.append(&mut host_logs);
        }
        let audit = egress
            .audit
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        let report = CallReport {
            provider,
            operation,
            outcome,
            audit,
            sockets,
            logs,
            duration: started.elapsed(),
        };
        report.trace();
        (report, info)
    }

    fn classify_trap(
        &self,
        operation: Operation,
        err: &wasmtime::Error,
        state: &StoreState,
    ) -> Error {
        let provider = self.inner.name.to_string();
        if state.limiter.exceeded {
            return Error::ProviderLimit {
                provider,
                operation,
                limit: LimitExceeded::Memory(self.inner.limits.memory_bytes),
            };
        }
        if matches!(
            err.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            return Error::ProviderLimit {
                provider,
                operation,
                limit: LimitExceeded::Deadline(self.inner.limits.timeout),
            };
        }
        let mut message = match err.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => format!("{err:#}"),
        };
        if let Some(line) = state.last_stderr_line() {
            message = format!("{message} (stderr: {line})");
        }
        Error::ProviderTrap {
            provider,
            operation,
            message: self.inner.redactor.redact(&message),
        }
    }
}
