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
use crate::{Error, Result, bindings, cache, client, engine, redact};

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
    /// the host does not provide, and prepares instantiation.
    pub fn load(&self, spec: ProviderSpec) -> Result<WasmDnsProvider> {
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
                path: spec.component,
                expected: pin.to_ascii_lowercase(),
                actual: sha256,
            });
        }
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
        let redactor = redact::Redactor::new(
            spec.config
                .values()
                .filter(|v| v.is_secret())
                .map(|v| v.expose().to_owned()),
        );
        Ok(WasmDnsProvider::new(provider::Inner {
            name: Arc::from(name.as_str()),
            engine: engine.clone(),
            pooled: allocation == engine::Allocation::Pooled,
            pre,
            client: self.client.clone(),
            grant: Arc::new(grant),
            grant_warnings,
            limits: spec.limits,
            config: Arc::new(spec.config),
            redactor: Arc::new(redactor),
            imports,
            sha256,
            ttl: spec.ttl,
            journal: journal.map(|(journal, config)| provider::ProviderJournal { journal, config }),
            cache_status,
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

fn component_imports(engine: &Engine, component: &wasmtime::component::Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}
