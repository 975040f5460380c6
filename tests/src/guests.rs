//! Builds the guest components the tests load: the fixtures in `tests/fixtures/` and the
//! providers in `guest-providers/`, each a cargo workspace of its own built for
//! `wasm32-wasip2`.
//!
//! Each workspace is built at most once per test process, however many tests ask for it at the
//! same time, into the shared target directory `<repo>/target/wasm-guests`; cargo makes the
//! later builds in other processes cheap.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::{Context, anyhow, bail};

use crate::repo_root;

/// The target guest components are built for. Its `.wasm` output is already a component.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// The target directory guest builds share, apart from the native one so the two never
/// invalidate each other.
pub fn guest_target_dir() -> PathBuf {
    repo_root().join("target").join("wasm-guests")
}

/// The component of test fixture `name` (`fixture-good`, or just `good`), building the
/// fixture workspace first if this process has not yet.
pub fn fixture(name: &str) -> anyhow::Result<PathBuf> {
    let crate_name = if name.starts_with("fixture-") {
        name.to_owned()
    } else {
        format!("fixture-{name}")
    };
    component(&repo_root().join("tests").join("fixtures"), &crate_name)
}

/// The component of provider `name` in `guest-providers/` (its crate name), building that
/// workspace first if this process has not yet.
pub fn provider(name: &str) -> anyhow::Result<PathBuf> {
    component(&repo_root().join("guest-providers"), name)
}

/// Runs `cargo build --release --target wasm32-wasip2` in the workspace at `dir`, once per
/// process, and returns the directory holding the `.wasm` files.
///
/// The build ignores the settings of the cargo running the tests (`RUSTFLAGS`, target,
/// target directory, profile overrides), which are meant for the native build.
pub fn build_guest_workspace(dir: &Path) -> anyhow::Result<PathBuf> {
    type Slot = Arc<Mutex<Option<Result<PathBuf, String>>>>;
    static BUILDS: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();

    let dir = dir
        .canonicalize()
        .with_context(|| format!("guest workspace {} not found", dir.display()))?;
    let slot = {
        let mut builds = BUILDS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(builds.entry(dir.clone()).or_default())
    };
    // Tests asking for the same workspace wait here for the first one's build.
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let result = slot.get_or_insert_with(|| build(&dir).map_err(|e| format!("{e:#}")));
    result.clone().map_err(|e| anyhow!(e))
}

/// The `.wasm` of crate `crate_name` in the workspace at `dir`.
fn component(dir: &Path, crate_name: &str) -> anyhow::Result<PathBuf> {
    let out = build_guest_workspace(dir)?;
    let path = out.join(format!("{}.wasm", crate_name.replace('-', "_")));
    if !path.is_file() {
        bail!(
            "the build of {} produced no {}: is `{crate_name}` a `cdylib` member of that workspace?",
            dir.display(),
            path.display()
        );
    }
    Ok(path)
}

fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    check_target_installed()?;
    let target_dir = guest_target_dir();
    let mut command = Command::new(cargo());
    command
        .args(["build", "--release", "--locked", "--target", GUEST_TARGET])
        .current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if inherited_setting(&key) {
            command.env_remove(&key);
        }
    }
    // After the removals, which include an inherited CARGO_TARGET_DIR.
    command.env("CARGO_TARGET_DIR", &target_dir);
    let output = command
        .output()
        .with_context(|| format!("could not run cargo to build {}", dir.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("target may not be installed") {
            bail!("the {GUEST_TARGET} target is missing: run `rustup target add {GUEST_TARGET}`");
        }
        bail!(
            "`cargo build --release --target {GUEST_TARGET}` failed in {} ({}):\n{stderr}",
            dir.display(),
            output.status
        );
    }
    Ok(target_dir.join(GUEST_TARGET).join("release"))
}

/// Fails with the command to run when the standard library for the guest target is absent.
fn check_target_installed() -> anyhow::Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output()
        .with_context(|| format!("could not run {}", rustc.to_string_lossy()))?;
    let libdir = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !Path::new(libdir.trim()).is_dir() {
        bail!("the {GUEST_TARGET} target is missing: run `rustup target add {GUEST_TARGET}`");
    }
    Ok(())
}

/// The cargo running the tests, so the guests build with the same toolchain.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Whether an inherited environment variable would change what the nested cargo builds or
/// where. Registry, network and terminal settings (`CARGO_HOME`, `CARGO_NET_*`, ...) pass.
fn inherited_setting(key: &OsString) -> bool {
    let Some(key) = key.to_str() else {
        return false;
    };
    const KEEP: [&str; 6] = [
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    if key.starts_with("CARGO_") {
        return !KEEP.iter().any(|keep| key.starts_with(keep));
    }
    matches!(
        key,
        "RUSTFLAGS" | "RUSTDOCFLAGS" | "RUSTC_WORKSPACE_WRAPPER" | "__CARGO_FIX_PLZ"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_build_settings_are_not_inherited() {
        for key in [
            "RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_PROFILE_RELEASE_LTO",
            "CARGO_MANIFEST_DIR",
        ] {
            assert!(inherited_setting(&key.into()), "{key}");
        }
        for key in [
            "CARGO_HOME",
            "CARGO_NET_OFFLINE",
            "PATH",
            "RUSTUP_TOOLCHAIN",
            "HOME",
        ] {
            assert!(!inherited_setting(&key.into()), "{key}");
        }
    }

    #[test]
    fn repo_root_holds_the_guest_workspaces() {
        let root = repo_root();
        assert!(root.join("guest-providers").join("Cargo.toml").is_file());
        assert!(
            root.join("tests")
                .join("fixtures")
                .join("Cargo.toml")
                .is_file()
        );
    }
}
