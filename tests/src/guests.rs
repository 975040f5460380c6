//! Builds the guest components the tests load: the fixtures in `tests/fixtures/` and the
//! providers in `guest-providers/`, each a cargo workspace of its own built for
//! `wasm32-wasip2`, and the providers written in JavaScript (componentize-js) and Python
//! (componentize-py).
//!
//! Each workspace is built at most once per test process, however many tests ask for it at the
//! same time, into the shared target directory `<repo>/target/wasm-guests`; cargo makes the
//! later builds in other processes cheap. A JavaScript or Python component is built at most
//! once per process too, into `<repo>/target/wasm-guests/<dir>.wasm`, and not at all while that
//! file is newer than every source file it is built from.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use acmebox::sandbox::{ProviderSpec, Sandbox, WasmDnsProvider};
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
    let dir = dir
        .canonicalize()
        .with_context(|| format!("guest workspace {} not found", dir.display()))?;
    once_per_process(&dir, || build(&dir))
}

/// Runs `build` for `key` the first time it is asked for in this process and returns its
/// result, then and every later time. Callers asking for the same key at the same time wait
/// for the first one's build.
fn once_per_process(
    key: &Path,
    build: impl FnOnce() -> anyhow::Result<PathBuf>,
) -> anyhow::Result<PathBuf> {
    type Slot = Arc<Mutex<Option<Result<PathBuf, String>>>>;
    static BUILDS: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();

    let slot = {
        let mut builds = BUILDS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(builds.entry(key.to_owned()).or_default())
    };
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let result = slot.get_or_insert_with(|| build().map_err(|e| format!("{e:#}")));
    result.clone().map_err(|e| anyhow!(e))
}

/// The componentize-py release the Python providers are built with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The component of the JavaScript provider in `guest-providers/<dir>` (such as
/// `httpreq-js`), built from its `provider.js` with the componentize-js its
/// `package-lock.json` pins (`npm install` first when `node_modules` is missing or stale).
///
/// Fails with the command to run when node or npm is missing.
pub fn js_provider(dir: &str) -> anyhow::Result<PathBuf> {
    let src = repo_root().join("guest-providers").join(dir);
    let out = guest_target_dir().join(format!("{dir}.wasm"));
    once_per_process(&out.clone(), || {
        if up_to_date(&out, &[&src, &repo_root().join("wit")])? {
            return Ok(out);
        }
        check_tool(
            "node",
            "node is missing: run `apt-get install -y nodejs npm` (Debian)",
        )?;
        check_tool(
            "npm",
            "npm is missing: run `apt-get install -y nodejs npm` (Debian)",
        )?;
        let installed = src.join("node_modules").join(".package-lock.json");
        if !up_to_date(&installed, &[&src.join("package-lock.json")])? {
            // Not `npm ci`: it refuses this lock file on a fresh checkout, asking for entries of
            // optional packages for other platforms that npm itself leaves out of the lock.
            // `npm install` installs the versions the lock pins.
            run(
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund"])
                    .current_dir(&src),
                "npm install",
            )?;
        }
        let componentize = src
            .join("node_modules")
            .join(".bin")
            .join("componentize-js");
        build_atomically(&out, |tmp| {
            let mut command = Command::new(&componentize);
            command
                .arg("provider.js")
                .arg("--wit")
                .arg(repo_root().join("wit"))
                .args(["--world-name", "provider", "-o"])
                .arg(tmp)
                .current_dir(&src);
            run(&mut command, "componentize-js")
        })
    })
}

/// The component of the Python provider in `guest-providers/<dir>` (such as `powerdns-py`),
/// built from its `app.py` with componentize-py, for the `provider` world of the repository's
/// `wit/`.
///
/// componentize-py is installed into a virtual environment under `target/py-venv` the first
/// time; fails with the command to run when python3 or its `venv` module is missing.
pub fn python_provider(dir: &str) -> anyhow::Result<PathBuf> {
    let src = repo_root().join("guest-providers").join(dir);
    let out = guest_target_dir().join(format!("{dir}.wasm"));
    once_per_process(&out.clone(), || {
        if up_to_date(&out, &[&src, &repo_root().join("wit")])? {
            return Ok(out);
        }
        let componentize = componentize_py()?;
        build_atomically(&out, |tmp| {
            let mut command = Command::new(&componentize);
            command
                .arg("-d")
                .arg(repo_root().join("wit"))
                .args(["-w", "provider", "componentize", "app", "-p", "."])
                .arg("-o")
                .arg(tmp)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .current_dir(&src);
            run(&mut command, "componentize-py")
        })
    })
}

/// The component cache the tests of the JavaScript and Python components share. Compiling one
/// of them takes seconds; with the cache only the first load in any test run pays for it.
pub fn shared_cache_dir() -> PathBuf {
    guest_target_dir().join("component-cache")
}

/// Loads `spec` in a sandbox whose component cache is [`shared_cache_dir`]. Loads through this
/// function go one at a time in a process, so a component not yet in the cache is compiled
/// once, not by every test that starts at the same moment.
pub fn load_with_shared_cache(spec: ProviderSpec) -> anyhow::Result<WasmDnsProvider> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let sandbox = Sandbox::new(&shared_cache_dir())?;
    Ok(sandbox.load(spec)?)
}

/// The `componentize-py` of the virtual environment `target/py-venv`, installing it first if it
/// is missing or another version.
fn componentize_py() -> anyhow::Result<PathBuf> {
    let venv = repo_root().join("target").join("py-venv");
    let bin = venv.join("bin");
    let componentize = bin.join("componentize-py");
    let wanted = format!("componentize-py {COMPONENTIZE_PY_VERSION}");
    let version = Command::new(&componentize).arg("--version").output();
    if version.is_ok_and(|v| String::from_utf8_lossy(&v.stdout).trim() == wanted) {
        return Ok(componentize);
    }
    let install_hint = "run `apt-get install -y python3 python3-venv` (Debian)";
    if !bin.join("pip").is_file() {
        // `--clear`: a venv whose creation failed half-way (no ensurepip) has no pip.
        let output = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .output()
            .with_context(|| format!("python3 is missing: {install_hint}"))?;
        if !output.status.success() {
            bail!(
                "`python3 -m venv {}` failed; the venv module is probably missing: \
                 {install_hint}\n{}",
                venv.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    run(
        Command::new(bin.join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("componentize-py=={COMPONENTIZE_PY_VERSION}"),
        ]),
        "pip install componentize-py",
    )?;
    Ok(componentize)
}

/// Whether `output` exists and is newer than every file under `inputs` (directories are
/// walked, skipping `node_modules`, `__pycache__` and hidden entries).
fn up_to_date(output: &Path, inputs: &[&Path]) -> anyhow::Result<bool> {
    let Ok(built) = std::fs::metadata(output).and_then(|m| m.modified()) else {
        return Ok(false);
    };
    let mut pending: Vec<PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
    while let Some(path) = pending.pop() {
        let meta =
            std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || name == "node_modules" || name == "__pycache__" {
                    continue;
                }
                pending.push(entry.path());
            }
        } else if meta.modified()? >= built {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs `build` with a temporary path next to `out`, then renames it to `out`, so another
/// process never reads a half-written component.
fn build_atomically(
    out: &Path,
    build: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = out.with_extension(format!("wasm.tmp{}", std::process::id()));
    let result = build(&tmp).and_then(|()| {
        anyhow::ensure!(tmp.is_file(), "the build wrote no {}", tmp.display());
        std::fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| out.to_owned())
}

/// Fails with `hint` when `program --version` cannot run.
fn check_tool(program: &str, hint: &str) -> anyhow::Result<()> {
    match Command::new(program).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => bail!("{hint}"),
    }
}

/// Runs `command`, failing with its output when it fails.
fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("could not run {what} ({:?})", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
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

/// Runs example `example` of `crate_name` in the guest workspace at `dir` natively (release
/// profile, target directory `<repo>/target/guest-host`, with cargo `features`) with `args`,
/// and returns its stdout: the same code as a component, for benches that compare the two.
pub fn run_native_example(
    dir: &Path,
    crate_name: &str,
    example: &str,
    features: &[&str],
    args: &[&str],
) -> anyhow::Result<String> {
    let mut command = nested_cargo(dir, &repo_root().join("target").join("guest-host"));
    command
        .args(["run", "--quiet", "--release", "--locked", "-p", crate_name])
        .args(["--features", &features.join(",")])
        .args(["--example", example, "--"])
        .args(args);
    let output = command
        .output()
        .with_context(|| format!("could not run cargo in {}", dir.display()))?;
    if !output.status.success() {
        bail!(
            "`cargo run --example {example}` of {crate_name} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A cargo command in `dir` with none of the settings of the cargo running the tests, writing
/// to `target_dir`.
fn nested_cargo(dir: &Path, target_dir: &Path) -> Command {
    let mut command = Command::new(cargo());
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if inherited_setting(&key) {
            command.env_remove(&key);
        }
    }
    // After the removals, which include an inherited CARGO_TARGET_DIR.
    command.env("CARGO_TARGET_DIR", target_dir);
    command
}

fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    check_target_installed()?;
    let target_dir = guest_target_dir();
    let mut command = nested_cargo(dir, &target_dir);
    command.args(["build", "--release", "--locked", "--target", GUEST_TARGET]);
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
