//! The process's wasmtime engines and the ticker that drives their epochs.
//!
//! Calls run in a fresh store each, so what a store costs to set up and tear down is paid on
//! every call. With wasmtime's default (on-demand) allocator that is an `mmap` of the linear
//! memory and of the async stack per store, page faults on first touch and a `munmap` at the
//! end. The pooling allocator reserves slots for memories, tables, instances and stacks once
//! per process and resets a slot when its store goes, so most of that work disappears.
//!
//! A pool slot has a fixed maximum memory ([`POOL_MAX_MEMORY_BYTES`], the default per-call
//! memory limit). A provider configured with a larger memory limit runs on a second engine
//! with on-demand allocation, so every limit keeps working. When the pool cannot be reserved
//! (a low `ulimit -v`, for example) every provider runs on the on-demand engine. Both engines
//! are compiled for with the same settings, so a cached artifact suits either.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::limits::{DEFAULT_MEMORY_BYTES, EPOCH_TICK, MAX_CONCURRENT_CALLS, MAX_TABLE_ELEMENTS};

/// The largest linear memory a pool slot holds: the default per-call memory limit (64 MiB).
/// Providers allowed more run with on-demand allocation instead.
pub(crate) const POOL_MAX_MEMORY_BYTES: usize = DEFAULT_MEMORY_BYTES;

/// Component instances (calls) that can run at once on the pool: bounds the address space and
/// metadata the pool reserves ([`MAX_CONCURRENT_CALLS`]). A call beyond it waits for a slot ([`pool_slot`]).
const POOL_INSTANCES: u32 = MAX_CONCURRENT_CALLS as u32;

/// One permit per pool slot; a pooled call holds one from before its store exists until after
/// the store is dropped, so the 257th concurrent call waits instead of failing to instantiate.
static POOL_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(POOL_INSTANCES as usize);

/// Waits for a free pool slot. `None` only if the semaphore were closed, which it never is;
/// the pool's own limit would then still refuse the call with an error.
pub(crate) async fn pool_slot() -> Option<tokio::sync::SemaphorePermit<'static>> {
    POOL_SLOTS.acquire().await.ok()
}

/// Core module instances per component the pool is sized for, on average (16): Rust, JavaScript and
/// Python components hold a handful each (main module, adapters, shims).
const POOL_CORE_INSTANCES_PER_COMPONENT: u32 = 16;

/// Linear memories and tables per component the pool is sized for, on average.
const POOL_MEMORIES_PER_COMPONENT: u32 = 2;
const POOL_TABLES_PER_COMPONENT: u32 = 4;

/// Bytes of a memory slot kept mapped between calls and reset in place: only the pages a call
/// touched are reset (the kernel's `PAGEMAP_SCAN` finds them, where available), so the next
/// call on that slot takes no page faults for them.
const POOL_MEMORY_KEEP_RESIDENT: usize = 4 * 1024 * 1024;

/// The same for tables (a table element is 8 bytes).
const POOL_TABLE_KEEP_RESIDENT: usize = 256 * 1024;

/// How the instances of an engine get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allocation {
    /// Slots of the process's pool.
    Pooled,
    /// Mapped for each store and unmapped after it.
    OnDemand,
}

/// The process's engines: component model, async, epoch interruption.
#[derive(Clone)]
pub(crate) struct Engines {
    pooled: Option<Engine>,
    on_demand: Engine,
}

impl Engines {
    /// The engine for a provider whose calls may use `memory_bytes` of linear memory.
    pub(crate) fn for_memory_limit(&self, memory_bytes: usize) -> (&Engine, Allocation) {
        match &self.pooled {
            Some(engine) if memory_bytes <= POOL_MAX_MEMORY_BYTES => (engine, Allocation::Pooled),
            _ => (&self.on_demand, Allocation::OnDemand),
        }
    }

    /// Every engine, for the ticker.
    fn all(&self) -> impl Iterator<Item = &Engine> {
        self.pooled.iter().chain(std::iter::once(&self.on_demand))
    }
}

static ENGINES: OnceLock<Result<Engines, String>> = OnceLock::new();

/// The shared engines. The first call reserves the pool (or logs why it cannot) and starts a
/// ticker thread that increments every engine's epoch each [`EPOCH_TICK`] for the life of the
/// process.
pub(crate) fn shared_engines() -> Result<Engines, String> {
    ENGINES.get_or_init(build).clone()
}

fn build() -> Result<Engines, String> {
    let on_demand =
        Engine::new(&base_config()).map_err(|e| format!("cannot create the engine: {e:#}"))?;
    let pooled = match Engine::new(&pooled_config()) {
        Ok(engine) => {
            tracing::info!(
                instances = POOL_INSTANCES,
                slot_memory_mib = POOL_MAX_MEMORY_BYTES / (1024 * 1024),
                "wasmtime pooling allocator in use; providers with a larger memory limit use \
                 on-demand allocation"
            );
            Some(engine)
        }
        Err(e) => {
            tracing::warn!(
                "wasmtime pooling allocator unavailable ({e:#}); every call maps its own memory \
                 (on-demand allocation), which is slower"
            );
            None
        }
    };
    let engines = Engines { pooled, on_demand };
    let ticker = engines.clone();
    std::thread::Builder::new()
        .name("acmebox-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                for engine in ticker.all() {
                    engine.increment_epoch();
                }
            }
        })
        .map_err(|e| format!("cannot start the epoch ticker: {e}"))?;
    Ok(engines)
}

/// What both engines share; nothing here may differ between them, so that their compiled
/// artifacts are interchangeable.
fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

fn pooled_config() -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * POOL_CORE_INSTANCES_PER_COMPONENT)
        .total_memories(POOL_INSTANCES * POOL_MEMORIES_PER_COMPONENT)
        .total_tables(POOL_INSTANCES * POOL_TABLES_PER_COMPONENT)
        .total_stacks(POOL_INSTANCES)
        .max_memory_size(POOL_MAX_MEMORY_BYTES)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_tables_per_module(POOL_TABLES_PER_COMPONENT)
        .max_memories_per_module(POOL_MEMORIES_PER_COMPONENT)
        .linear_memory_keep_resident(POOL_MEMORY_KEEP_RESIDENT)
        .table_keep_resident(POOL_TABLE_KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A stable number for [`Engine::precompile_compatibility_hash`]: artifacts compiled by an
/// engine with another hash are never loaded.
pub(crate) fn compatibility_key(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_or_fallback_and_limits_route() {
        let engines = shared_engines().unwrap();
        let (_, large) = engines.for_memory_limit(POOL_MAX_MEMORY_BYTES + 1);
        assert_eq!(large, Allocation::OnDemand);
        let (_, default) = engines.for_memory_limit(DEFAULT_MEMORY_BYTES);
        let expected = if engines.pooled.is_some() {
            Allocation::Pooled
        } else {
            Allocation::OnDemand
        };
        assert_eq!(default, expected);
    }

    /// A component that instantiates one core module whose memory starts at 80 MiB
    /// (`(module (memory 1280))`), more than a pool slot holds.
    const COMPONENT_WITH_80_MIB: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, // component preamble
        0x01, 0x0e, // core module section, 14 bytes
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // core module preamble
        0x05, 0x04, 0x01, 0x00, 0x80, 0x0a, // memory section: one memory, minimum 1280 pages
        0x02, 0x04, 0x01, 0x00, 0x00, 0x00, // core instance section: instantiate module 0
    ];

    fn instantiate(engine: &Engine, limit: usize) -> wasmtime::Result<()> {
        use super::super::limits::MemoryLimiter;
        let component = wasmtime::component::Component::new(engine, COMPONENT_WITH_80_MIB)?;
        let mut store = wasmtime::Store::new(engine, MemoryLimiter::new(limit));
        store.limiter(|l| l);
        wasmtime::component::Linker::new(engine).instantiate(&mut store, &component)?;
        Ok(())
    }

    #[test]
    fn a_memory_limit_above_the_pool_slot_still_works() {
        let engines = shared_engines().unwrap();
        let limit = 2 * POOL_MAX_MEMORY_BYTES;
        let (engine, allocation) = engines.for_memory_limit(limit);
        assert_eq!(allocation, Allocation::OnDemand);
        instantiate(engine, limit).unwrap();
        // The limit itself still holds there.
        assert!(instantiate(engine, POOL_MAX_MEMORY_BYTES).is_err());
        // A pool slot could not have held that memory.
        if let (pooled, Allocation::Pooled) = engines.for_memory_limit(POOL_MAX_MEMORY_BYTES) {
            assert!(instantiate(pooled, limit).is_err());
        }
    }

    #[test]
    fn both_engines_share_compiled_artifacts() {
        let on_demand = Engine::new(&base_config()).unwrap();
        let Ok(pooled) = Engine::new(&pooled_config()) else {
            // The pool could not be reserved here; the fallback is all there is.
            return;
        };
        assert_eq!(compatibility_key(&pooled), compatibility_key(&on_demand));
    }
}
