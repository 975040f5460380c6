//! lego with acmebox as its DNS hook, against Pebble and PowerDNS: its `exec` provider with
//! `acmebox-lego-exec` and its `httpreq` provider with `acmebox serve`, for each lego the tests
//! run ([`Lego`]). Every run requests an apex and its wildcard (two values at one name).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::certs::{assert_private_key, check_chain};
use crate::cli::lego_exec_bin;
use crate::client_run::{Serve, assert_nothing_left, assert_success, run, write_config};
use crate::servers::servers;
use crate::support::unique;

/// A lego the tests run.
#[derive(Debug, Clone, Copy)]
pub enum Lego {
    /// Debian's lego 4.9 (`lego`).
    V4,
    /// lego v5's library behind the repository's own `tests/clients/lego5`, built by
    /// `scripts/deps.sh` into `target/go-bin/lego5`.
    V5,
}

impl Lego {
    /// A word for names and messages: `lego` or `lego5`.
    pub fn label(self) -> &'static str {
        match self {
            Lego::V4 => "lego",
            Lego::V5 => "lego5",
        }
    }

    /// `lego5`, as `scripts/deps.sh` builds it.
    pub fn v5_bin() -> PathBuf {
        crate::go_client("lego5")
    }

    /// This lego with the common flags: Pebble and its CA, a fresh account, certificates under
    /// `dir/lego`, PowerDNS as the only resolver (its zone's authoritative servers are not
    /// asked), `domain` and its wildcard, and the DNS provider `dns`.
    pub fn command(self, dir: &Path, domain: &str, dns: &str) -> Command {
        let s = servers();
        let (mut lego, no_authoritative_check) = match self {
            Lego::V4 => (Command::new("lego"), "--dns.disable-cp"),
            Lego::V5 => (
                Command::new(Self::v5_bin()),
                "--dns.propagation.disable-ans",
            ),
        };
        lego.env("LEGO_CA_CERTIFICATES", &s.pebble_ca_cert)
            .args(["--server", &s.pebble_directory, "--accept-tos"])
            .args(["--email", "hooks@example.test"])
            .arg("--path")
            .arg(dir.join("lego"))
            .args(["--dns.resolvers", &s.pdns_dns, no_authoritative_check])
            .args(["-d", domain, "-d", &format!("*.{domain}")])
            .args(["--dns", dns]);
        if let Lego::V4 = self {
            lego.arg("run");
        }
        lego
    }
}

/// Checks lego's certificate for `domain` + `*.domain` under `dir/lego`.
pub fn check_lego_certificate(dir: &Path, domain: &str) {
    let certs = dir.join("lego").join("certificates");
    check_chain(
        &certs.join(format!("{domain}.crt")),
        &certs.join(format!("{domain}.issuer.crt")),
        &[domain, &format!("*.{domain}")],
    );
    assert_private_key(&certs.join(format!("{domain}.key")));
}

/// `lego` with its `exec` provider and `acmebox-lego-exec`, in lego's default mode or
/// `mode` (`RAW`): a certificate for a new name and its wildcard, two presents and two
/// cleanups through the sandboxed provider, no secret in lego's output, nothing left.
pub fn lego_exec(lego: Lego, mode: Option<&str>) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let domain = unique(&format!(
        "{}-exec-{}",
        lego.label(),
        mode.unwrap_or("default").to_lowercase()
    ));
    let mut command = lego.command(tmp.path(), &domain, "exec");
    command
        .env("EXEC_PATH", lego_exec_bin())
        .env("EXEC_SEQUENCE_INTERVAL", "0")
        .env("EXEC_POLLING_INTERVAL", "1")
        .env("EXEC_PROPAGATION_TIMEOUT", "30")
        .env("ACMEBOX_CONFIG", &config)
        .env("ACMEBOX_PROVIDER", "pdns");
    match mode {
        Some(mode) => command.env("EXEC_MODE", mode),
        None => command.env_remove("EXEC_MODE"),
    };
    let what = format!("{} with acmebox-lego-exec", lego.label());
    let text = assert_success(&run(command, &what), &what);
    check_lego_certificate(tmp.path(), &domain);
    // Two values presented and both removed, each through the sandboxed provider.
    assert_eq!(
        text.matches("acmebox-lego-exec: pdns present: ok").count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("acmebox-lego-exec: pdns cleanup: ok").count(),
        2,
        "{text}"
    );
    assert!(!text.contains(&servers().pdns_api_key), "{text}");
    assert_nothing_left(&domain);
}

/// `lego` with its `httpreq` provider against `acmebox serve`, in lego's default mode or
/// `mode` (`RAW`), with basic auth when `auth` is given: a certificate for a new name and its
/// wildcard, nothing left.
pub fn lego_httpreq(lego: Lego, mode: Option<&str>, auth: Option<(&str, &str)>) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let serve = Serve::start(&config, auth);
    let domain = unique(&format!(
        "{}-httpreq-{}",
        lego.label(),
        mode.unwrap_or("default").to_lowercase()
    ));
    let mut command = lego.command(tmp.path(), &domain, "httpreq");
    command
        .env("HTTPREQ_ENDPOINT", &serve.origin)
        .env("HTTPREQ_POLLING_INTERVAL", "1")
        .env("HTTPREQ_PROPAGATION_TIMEOUT", "30");
    if let Some(mode) = mode {
        command.env("HTTPREQ_MODE", mode);
    }
    if let Some((user, password)) = auth {
        command
            .env("HTTPREQ_USERNAME", user)
            .env("HTTPREQ_PASSWORD", password);
    }
    let what = format!("{} with httpreq and acmebox serve", lego.label());
    assert_success(&run(command, &what), &what);
    check_lego_certificate(tmp.path(), &domain);
    assert_nothing_left(&domain);
}
