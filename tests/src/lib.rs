//! Helpers for acmebox's integration tests: the real servers they run against (PowerDNS and
//! Pebble, started by the project's own `scripts/servers.sh`, on loopback only).

pub mod acme_dns_api;
pub mod catalog;
pub mod certs;
pub mod cli;
pub mod client_run;
pub mod cloudflare_api;
pub mod deps_scan;
pub mod guests;
pub mod http_server;
pub mod httpreq_endpoint;
pub mod lego;
pub mod pdns;
pub mod servers;
pub mod standin;
pub mod support;

use std::path::PathBuf;

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// A test client `scripts/deps.sh` builds from the repository's own Go package
/// `tests/clients/<name>` into `target/go-bin/<name>`; fails with what to run when missing.
pub fn go_client(name: &str) -> PathBuf {
    let bin = repo_root().join("target/go-bin").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/deps.sh, which builds it from tests/clients/{name}",
        bin.display()
    );
    bin
}

/// `entry` as an allow-list entry that knowingly weakens the sandbox (`danger:` in front).
/// Every server the tests run is on loopback, often over plain http, and a grant for one is
/// refused without the marker, as it would be for an operator.
pub fn danger(entry: impl std::fmt::Display) -> String {
    format!("danger:{entry}")
}
