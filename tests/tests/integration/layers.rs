//! The workspace's layers, checked from cargo's own view of the dependency graph: a crate
//! depends only on the crates below it, the challenge layer builds without wasmtime or an
//! async runtime, and `clap`, `anyhow` and the log subscriber stay out of the libraries.

use std::collections::BTreeSet;
use std::process::Command;

use acmebox_tests::repo_root;

/// The library and command crates, lowest layer first, as the root `Cargo.toml` lists them.
const LAYERS: &[&str] = &[
    "acmebox-challenge",
    "acmebox-egress",
    "acmebox-propagation",
    "acmebox-sandbox",
    "acmebox-client",
    "acmebox-hooks",
    "acmebox-conformance",
    "acmebox",
    "acmebox-cli",
];

/// What only a program, never a library, may depend on.
const PROGRAM_ONLY: &[&str] = &["clap", "anyhow", "tracing-subscriber"];

/// The names of the packages in `package`'s normal (not dev, not build) dependency tree,
/// `package` itself included, with extra `cargo tree` arguments such as feature flags.
fn tree(package: &str, args: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "-p", package,
        ])
        .args(args)
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn heavy(names: &BTreeSet<String>) -> Vec<&String> {
    names
        .iter()
        .filter(|name| {
            name.starts_with("wasmtime")
                || name.starts_with("cranelift")
                || name.starts_with("hickory")
                || name.starts_with("hyper")
                || ["tokio", "instant-acme", "reqwest", "clap"].contains(&name.as_str())
        })
        .collect()
}

#[test]
fn each_crate_depends_only_on_layers_below_it() {
    for (index, layer) in LAYERS.iter().enumerate() {
        let deps = tree(layer, &[]);
        let above: Vec<_> = LAYERS[index + 1..]
            .iter()
            .filter(|higher| deps.contains(**higher))
            .collect();
        assert!(
            above.is_empty(),
            "{layer} depends on {above:?}, which are layers above it"
        );
    }
}

#[test]
fn the_challenge_layer_needs_no_wasmtime_no_async_runtime_and_no_acme_client() {
    let bare = tree("acmebox-challenge", &["--no-default-features"]);
    assert!(bare.contains("acmebox-challenge"), "{bare:?}");
    assert!(heavy(&bare).is_empty(), "{:?}", heavy(&bare));

    // The facade with its features off is the same small tree.
    let facade = tree("acmebox", &["--no-default-features"]);
    assert!(heavy(&facade).is_empty(), "{:?}", heavy(&facade));

    // Handlers bring the async runtime, and only that.
    let handlers = tree("acmebox-challenge", &[]);
    assert!(handlers.contains("tokio"), "{handlers:?}");
    assert_eq!(heavy(&handlers), [&"tokio".to_owned()]);
}

#[test]
fn the_egress_policy_needs_no_wasmtime_and_no_async_runtime() {
    let egress = tree("acmebox-egress", &[]);
    assert!(heavy(&egress).is_empty(), "{:?}", heavy(&egress));
}

#[test]
fn the_sandbox_and_the_acme_client_do_not_pull_each_other_in() {
    let sandbox = tree("acmebox-sandbox", &[]);
    assert!(sandbox.contains("wasmtime"), "{sandbox:?}");
    assert!(
        !sandbox.contains("instant-acme"),
        "the sandbox pulls in the ACME client"
    );
    let client = tree("acmebox-client", &[]);
    assert!(client.contains("instant-acme"), "{client:?}");
    assert!(
        !client.iter().any(|name| name.starts_with("wasmtime")),
        "the ACME client pulls in wasmtime"
    );
}

#[test]
fn clap_anyhow_and_the_log_subscriber_are_only_in_the_command() {
    for layer in LAYERS.iter().filter(|layer| **layer != "acmebox-cli") {
        // Not even through another crate: the command line stays in the command, and the
        // libraries emit `tracing` events without ever deciding where they go.
        let all = tree(layer, &[]);
        assert!(!all.contains("clap"), "{layer} depends on clap");
        assert!(
            !all.contains("tracing-subscriber"),
            "{layer} depends on tracing-subscriber"
        );
        // Our own libraries return their own errors (wasmtime itself uses anyhow).
        let direct = tree(layer, &["--depth", "1"]);
        assert!(!direct.contains("anyhow"), "{layer} depends on anyhow");
    }
    let cli = tree("acmebox-cli", &["--depth", "1"]);
    assert!(
        PROGRAM_ONLY.iter().all(|name| cli.contains(*name)),
        "{cli:?}"
    );
}
