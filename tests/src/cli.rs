//! The `acmebox` binary, for tests that run the command line end to end.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::repo_root;

/// The `acmebox` binary of the profile the tests were built with, built once per test process
/// with `cargo test --workspace --no-run` (a no-op when it is up to date), so a test never runs
/// a stale binary. Panics with cargo's output if the build fails.
///
/// Not `cargo build -p acmebox`: that resolves the features of shared dependencies for one
/// package, not for the workspace's tests, so it would compile wasmtime and most of the tree a
/// second time, with other features, and overwrite the binary `cargo test` built.
pub fn acmebox_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("acmebox")).clone()
}

/// `acmebox-lego-exec` (lego's `EXEC_PATH`): a symbolic link to [`acmebox_bin`] beside it, as
/// an installation makes it; `acmebox` run under that name is lego's exec provider.
pub fn lego_exec_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let acmebox = acmebox_bin();
        let dir = acmebox.parent().expect("the binary is in a directory");
        let link = dir.join("acmebox-lego-exec");
        // Made under a name of this process's and renamed over any older link or binary, so
        // test processes running at once never see a half-made link.
        let staging = dir.join(format!(".acmebox-lego-exec.{}", std::process::id()));
        let _ = std::fs::remove_file(&staging);
        std::os::unix::fs::symlink("acmebox", &staging).expect("linking acmebox-lego-exec");
        std::fs::rename(&staging, &link).expect("placing the acmebox-lego-exec link");
        link
    })
    .clone()
}

/// The program `name` of `examples/`, built with the workspace's tests as [`acmebox_bin`] is.
pub fn example_bin(name: &str) -> PathBuf {
    let acmebox = acmebox_bin();
    let dir = acmebox.parent().expect("the binary is in a directory");
    let bin = dir.join("examples").join(name);
    assert!(bin.is_file(), "the example {} was not built", bin.display());
    bin
}

fn build_bin(name: &str) -> PathBuf {
    // The test binary lives in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf();
    let release = profile_dir
        .file_name()
        .is_some_and(|name| name == "release");
    let target_dir = profile_dir
        .parent()
        .expect("<target>/<profile>")
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(repo_root())
        .args(["test", "--quiet", "--workspace", "--no-run"])
        .env("CARGO_TARGET_DIR", &target_dir);
    if release {
        build.arg("--release");
    }
    let out = build
        .output()
        .expect("running cargo build for the acmebox binary");
    assert!(
        out.status.success(),
        "cargo test --workspace --no-run (for the {name} binary) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = profile_dir.join(name);
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}
