//! The [`Sandbox`]: engines, linkers, the component cache and the HTTP client, shared by every
//! provider it loads.

use std::path::Path;
use std::sync::Arc;

use acmebox_egress::Grant;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::provider::{self, ProviderInfo, WasmDnsProvider};
use crate::spec::ProviderSpec;
use crate::state::{self, StoreState};
use crate::{Error, Result, bindings, cache, client, config_check, engine, redact};

/// The sandbox host. Create one per process and load providers into it.
#[derive(Clone)]
pub struct Sandbox {
    engines: engine::Engines,
    /// The linker for the pooled engine, when the pool could be reserved.
    pooled_linker: Option<Arc<Linker<StoreState>>>,
    /// The linker for the on-demand engine.
    on_demand_linker: Arc<Linker<StoreState>>,
    cache: cache::ComponentCache,
    client: reqwest::Client,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Interfaces a provider may import: the acmebox capabilities, outgoing HTTP and the (empty)
/// WASI interfaces toolchains add.
const PROVIDED_PREFIXES: &[&str] = &[
    "acmebox:provider/config@",
    "acmebox:provider/log@",
    "acmebox:provider/types@",
    "wasi:http/outgoing-handler@",
    "wasi:http/types@",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

impl Sandbox {
    /// A sandbox keeping precompiled components in `cache_dir` (created `0700`).
    pub fn new(cache_dir: &Path) -> Result<Self> {
        let engines = engine::shared_engines().map_err(|reason| Error::Sandbox { reason })?;
        let linker = |engine: &Engine| {
            state::linker(engine)
                .map(Arc::new)
                .map_err(|e| Error::Sandbox {
                    reason: format!("cannot set up the linker: {e:#}"),
                })
        };
        let pooled_linker = match engines.for_memory_limit(0) {
            (engine, engine::Allocation::Pooled) => Some(linker(engine)?),
            (_, engine::Allocation::OnDemand) => None,
        };
        let on_demand_linker = linker(engines.for_memory_limit(usize::MAX).0)?;
        let cache = cache::ComponentCache::open(cache_dir)?;
        let client = client::build_client().map_err(|reason| Error::Sandbox { reason })?;
        Ok(Sandbox {
            engines,
            pooled_linker,
            on_demand_linker,
            cache,
            client,
        })
    }

    /// Loads a provider: checks the pin, compiles once (or reads the cache), refuses imports
    /// the host does not provide, and prepares instantiation. The config values are not checked
    /// against what the provider reads: [`load_checked`](Self::load_checked) does that.
    pub fn load(&self, spec: ProviderSpec) -> Result<WasmDnsProvider> {
        config_check::refuse_short_secrets(&spec)?;
        let prepared = self.prepare(&spec)?;
        self.assemble(prepared, spec, None, Vec::new())
    }

    /// [`load`](Self::load), then asks the provider to describe itself and checks the config
    /// against it: a key it does not read (named, with the nearest one it does) or a required
    /// key that is missing is an error; a key it marks `secret` is redacted as a secret even
    /// when the spec has it plain. Each such key, and each credential written in the config
    /// file itself, gives a warning ([`WasmDnsProvider::config_warnings`], and a `tracing`
    /// warning with target [`CONFIG`](crate::log_targets::CONFIG)).
    ///
    /// This is how every command loads a provider from the config file.
    pub async fn load_checked(&self, mut spec: ProviderSpec) -> Result<WasmDnsProvider> {
        config_check::refuse_short_secrets(&spec)?;
        let prepared = self.prepare(&spec)?;
        // Which values are secret is what the check finds out, so until then every value long
        // enough to be a credential is redacted from what the provider logs or returns (short
        // ones, `true` or a mode name, would garble its answer).
        let mut describing = spec.clone();
        describing.journal = None;
        describing.allow = Vec::new();
        let redact_all = redact::Redactor::new(
            spec.config
                .values()
                .map(|v| v.expose())
                .filter(|v| v.len() >= redact::MIN_FRAGMENT_LEN)
                .map(str::to_owned),
        );
        let info = self
            .assemble(prepared.clone(), describing, Some(redact_all), Vec::new())?
            .describe()
            .await
            .map_err(|err| Error::ProviderLoad {
                provider: spec.name.clone(),
                path: spec.component.clone(),
                reason: format!(
                    "it could not describe the config keys it reads, so its config cannot be                      checked: {err}"
                ),
            })?;
        let warnings = config_check::check(&mut spec, &info)?;
        for warning in &warnings {
            tracing::warn!(target: crate::log_targets::CONFIG, provider = %spec.name, "{warning}");
        }
        let provider = self.assemble(prepared, spec, None, warnings)?;
        provider.remember_info(info);
        Ok(provider)
    }

    /// Hashes (and checks the pin of), compiles or reads from the cache, and links the
    /// component of `spec`.
    fn prepare(&self, spec: &ProviderSpec) -> Result<Prepared> {
        let name = spec.name.clone();
        let load_err = |reason: String| Error::ProviderLoad {
            provider: name.clone(),
            path: spec.component.clone(),
            reason,
        };
        // Hashed in chunks; the component is read whole only if it must be compiled.
        let sha256 = cache::sha256_file(&spec.component).map_err(|e| load_err(e.to_string()))?;
        if let Some(pin) = &spec.sha256
            && !pin.eq_ignore_ascii_case(&sha256)
        {
            return Err(Error::ProviderPin {
                provider: name,
                path: spec.component.clone(),
                expected: pin.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        // Calls allowed more memory than a pool slot holds map their own.
        let (engine, allocation) = self.engines.for_memory_limit(spec.limits.memory_bytes);
        let linker = match (allocation, &self.pooled_linker) {
            (engine::Allocation::Pooled, Some(linker)) => linker,
            _ => &self.on_demand_linker,
        };
        if allocation == engine::Allocation::OnDemand {
            tracing::debug!(provider = %name, "calls use on-demand memory allocation");
        }
        // What is compiled must be what was hashed (and pinned): checked again after reading.
        let read = || {
            let wasm = std::fs::read(&spec.component).map_err(|e| load_err(e.to_string()))?;
            if cache::sha256_hex(&wasm) != sha256 {
                return Err(load_err(
                    "the file changed while it was being loaded; load it again".to_owned(),
                ));
            }
            if let Some(reason) = not_a_component(&wasm) {
                return Err(load_err(reason));
            }
            Ok(wasm)
        };
        let (component, cache_status) = self.cache.load(engine, read, &sha256)?;
        let imports = component_imports(engine, &component);
        if let Some(import) = imports
            .iter()
            .find(|i| !PROVIDED_PREFIXES.iter().any(|p| i.starts_with(p)))
        {
            return Err(Error::ProviderImport {
                provider: name,
                import: import.clone(),
            });
        }
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Error::ProviderImport {
                provider: name.clone(),
                import: format!("{e:#}"),
            })?;
        let pre = bindings::ProviderPre::new(pre).map_err(|e| {
            load_err(format!(
                "it does not export the acmebox:provider world (dns-provider and metadata): {e:#}"
            ))
        })?;
        Ok(Prepared {
            engine: engine.clone(),
            pooled: allocation == engine::Allocation::Pooled,
            pre,
            imports,
            sha256,
            cache_status,
        })
    }

    /// The provider of a prepared component with the grant, limits and config of `spec`;
    /// `redactor` replaces the one built from its secret values.
    fn assemble(
        &self,
        prepared: Prepared,
        spec: ProviderSpec,
        redactor: Option<redact::Redactor>,
        config_warnings: Vec<String>,
    ) -> Result<WasmDnsProvider> {
        let name = spec.name.clone();
        let grant = Grant::parse(&spec.allow).map_err(|err| err.for_provider(&name))?;
        let journal = match &spec.journal {
            Some(js) => Some((
                crate::journal::Journal::open(&js.state_dir)?,
                js.config.clone(),
            )),
            None => None,
        };
        // Said on every load, once per entry (see `WasmDnsProvider::grant_warnings`).
        let grant_warnings: Vec<String> = grant
            .warnings()
            .into_iter()
            .map(|warning| format!("provider `{name}`: {warning}"))
            .collect();
        for warning in &grant_warnings {
            tracing::warn!(target: crate::log_targets::GRANT, provider = %name, "{warning}");
        }
        let redactor = redactor.unwrap_or_else(|| {
            redact::Redactor::new(
                spec.config
                    .values()
                    .filter(|v| v.is_secret())
                    .map(|v| v.expose().to_owned()),
            )
        });
        Ok(WasmDnsProvider::new(provider::Inner {
            name: Arc::from(name.as_str()),
            engine: prepared.engine,
            pooled: prepared.pooled,
            pre: prepared.pre,
            client: self.client.clone(),
            grant: Arc::new(grant),
            grant_warnings,
            config_warnings,
            limits: spec.limits,
            config: Arc::new(spec.config),
            redactor: Arc::new(redactor),
            imports: prepared.imports,
            sha256: prepared.sha256,
            ttl: spec.ttl,
            journal: journal.map(|(journal, config)| provider::ProviderJournal { journal, config }),
            cache_status: prepared.cache_status,
            name_locks: provider::NameLocks::default(),
            sequential: provider::Sequential::default(),
            calls: tokio::sync::Semaphore::new(spec.limits.max_concurrent_calls.max(1)),
        }))
    }

    /// Loads a component with no grant and no config, and asks it to describe itself.
    pub async fn inspect(&self, component: &Path) -> Result<(ProviderInfo, Vec<String>)> {
        let name = component.file_stem().map_or_else(
            || "provider".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
        let provider = self.load(ProviderSpec::new(name, component))?;
        let info = provider.describe().await?;
        Ok((info, provider.imports().to_vec()))
    }
}

/// Why `wasm` is not a WebAssembly component, judged by its preamble (magic and layer), when it
/// plainly is not one; `None` leaves the rest to the compiler.
fn not_a_component(wasm: &[u8]) -> Option<String> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_MODULE: &[u8] = &[0x01, 0x00, 0x00, 0x00];
    if !wasm.starts_with(MAGIC) {
        let text = String::from_utf8_lossy(&wasm[..wasm.len().min(64)]);
        let text = text.trim_start();
        let what = if text.starts_with("(module") || text.starts_with("(component") {
            "WebAssembly text, not a binary component: build it with `wasm-tools parse`, or point `component` at the .wasm file"
        } else {
            "not WebAssembly (it does not start with the \\0asm magic): point `component` at a provider built as a WebAssembly component (a .wasm file for wasm32-wasip2)"
        };
        return Some(format!("the file is {what}"));
    }
    if wasm.get(MAGIC.len()..MAGIC.len() + 4) == Some(CORE_MODULE) {
        return Some(
            "the file is a core WebAssembly module, not a component: build the provider for \
             wasm32-wasip2 (or wrap the module with `wasm-tools component new`)"
                .to_owned(),
        );
    }
    None
}

/// A component compiled and linked, ready to become a provider with a grant and config.
#[derive(Clone)]
struct Prepared {
    engine: Engine,
    pooled: bool,
    pre: bindings::ProviderPre<StoreState>,
    imports: Vec<String>,
    sha256: String,
    cache_status: crate::CacheStatus,
}

fn component_imports(engine: &Engine, component: &wasmtime::component::Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}
