//! The process's one wasmtime `Engine` and the ticker that drives its epochs.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use wasmtime::{Config, Engine};

use super::limits::EPOCH_TICK;

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The shared engine: component model, async, epoch interruption. The first call starts a
/// ticker thread that increments the epoch every [`EPOCH_TICK`] for the life of the process.
pub(crate) fn shared_engine() -> Result<Engine, String> {
    ENGINE.get_or_init(build).clone()
}

fn build() -> Result<Engine, String> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config).map_err(|e| format!("cannot create the engine: {e:#}"))?;
    let ticker = engine.clone();
    std::thread::Builder::new()
        .name("acmebox-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                ticker.increment_epoch();
            }
        })
        .map_err(|e| format!("cannot start the epoch ticker: {e}"))?;
    Ok(engine)
}

/// A stable number for [`Engine::precompile_compatibility_hash`]: artifacts compiled by an
/// engine with another hash are never loaded.
pub(crate) fn compatibility_key(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}
