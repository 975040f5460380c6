//! PowerDNS, BIND, Knot DNS and two Pebbles for tests, started once per test process through
//! `scripts/servers.sh`.
//!
//! When `scripts/test.sh` runs the suite it starts the servers first and exports their
//! settings (`ACMEBOX_PDNS_API_URL`, ...); the helpers here then only read them. A test run
//! started some other way (`cargo test` by hand) registers itself as a user of the servers
//! (`scripts/servers.sh acquire`) and leaves a watchdog process that releases them when the test
//! process exits; the last user to leave stops them, so nothing is left running either way.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, bail};

use crate::repo_root;

/// Where the test servers listen and how to reach them.
#[derive(Debug, Clone)]
pub struct Servers {
    /// `http://127.0.0.1:PORT/api/v1/servers/localhost`.
    pub pdns_api_url: String,
    /// The PowerDNS API key (`X-API-Key`).
    pub pdns_api_key: String,
    /// PowerDNS's DNS listener, `127.0.0.1:PORT` (udp and tcp).
    pub pdns_dns: String,
    /// Pebble's ACME directory URL.
    pub pebble_directory: String,
    /// The CA that signed Pebble's own HTTPS listener certificate.
    pub pebble_ca_cert: String,
    /// Pebble's management URL (`/roots/0`, `/intermediates/0`).
    pub pebble_mgmt: String,
    /// The port Pebble connects to for HTTP-01.
    pub pebble_http_port: u16,
    /// The port Pebble connects to for TLS-ALPN-01.
    pub pebble_tls_port: u16,
    /// The zones PowerDNS serves (`example.test.`, `delegated.test.`).
    pub zones: Vec<String>,
    /// BIND 9's DNS listener, `127.0.0.1:PORT` (udp and tcp), taking RFC 2136 updates.
    ///
    /// BIND and Knot accept updates of TXT records only, and only at `_acme-challenge.ZONE` and
    /// `_acme-challenge.LABEL.ZONE` for LABEL in `conformance`, `wrongkey`, `bench`, `a` to `h`
    /// and `x` (the list is `acme_labels` in `scripts/servers.sh`): anything else is refused.
    pub bind_dns: String,
    /// The zone BIND serves (`bind.test.`): SOA, NS, and A records for the apex and every name
    /// below it pointing at loopback. Fresh at every start.
    pub bind_zone: String,
    /// The name of the hmac-sha256 TSIG key BIND grants the TXT updates to (`acmebox-bind.`).
    pub bind_tsig_name: String,
    /// Its secret, base64 (a fixed test-only key).
    pub bind_tsig_secret: String,
    /// The name of an hmac-sha1 TSIG key granted the same updates (`acmebox-bind-sha1.`).
    pub bind_tsig_sha1_name: String,
    /// Its secret, base64.
    pub bind_tsig_sha1_secret: String,
    /// The name of an hmac-sha256 TSIG key BIND knows but grants nothing
    /// (`acmebox-bind-other.`): its updates are answered REFUSED.
    pub bind_tsig_other_name: String,
    /// Its secret, base64.
    pub bind_tsig_other_secret: String,
    /// Knot DNS's listener, `127.0.0.1:PORT` (udp and tcp), taking RFC 2136 updates (the same
    /// names as BIND). Knot answers an update its ACL denies with NOTAUTH and TSIG error BADKEY,
    /// not REFUSED.
    pub knot_dns: String,
    /// The zone Knot serves (`knot.test.`), the same records as [`Servers::bind_zone`].
    pub knot_zone: String,
    /// The name of the hmac-sha256 TSIG key Knot grants the TXT updates to (`acmebox-knot.`).
    pub knot_tsig_name: String,
    /// Its secret, base64 (a fixed test-only key).
    pub knot_tsig_secret: String,
    /// The ACME directory URL of the second Pebble, which resolves every name through BIND
    /// (same listener CA, HTTP-01 and TLS-ALPN-01 ports as the first).
    pub pebble_bind_directory: String,
    /// The second Pebble's management URL.
    pub pebble_bind_mgmt: String,
    /// The file holding the second Pebble's issuing root, saved at its start.
    pub pebble_bind_root: String,
    /// The ACME directory URL of the third Pebble, which registers only accounts with an
    /// External Account Binding (resolving through PowerDNS, like the first).
    pub pebble_eab_directory: String,
    /// The third Pebble's management URL.
    pub pebble_eab_mgmt: String,
    /// The EAB key id the third Pebble knows.
    pub pebble_eab_kid: String,
    /// Its MAC key, base64url (a fixed test-only key).
    pub pebble_eab_hmac_key: String,
    /// The ACME directory URL of the fourth Pebble, v2.5.2, whose directory has no
    /// `renewalInfo` (it predates ACME Renewal Information; resolving through PowerDNS).
    pub pebble_noari_directory: String,
    /// The fourth Pebble's management URL.
    pub pebble_noari_mgmt: String,
}

/// The test servers, started on first use. Panics with the start script's output if they
/// cannot start: a test that needs a server must fail, never skip.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| match start() {
        Ok(servers) => servers,
        Err(err) => panic!("cannot start the test servers: {err:#}"),
    })
}

fn start() -> anyhow::Result<Servers> {
    let script = repo_root().join("scripts/servers.sh");
    if std::env::var_os("ACMEBOX_PDNS_API_URL").is_none() {
        let pid = std::process::id().to_string();
        let out = Command::new("bash")
            .arg(&script)
            .args(["acquire", &pid])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !out.status.success() {
            bail!(
                "{} acquire failed:\n{}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Once this test process is gone, release the servers: the last user stops them.
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; exec bash '{script}' release {pid}",
            script = script.display()
        );
        Command::new("setsid")
            .args(["bash", "-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the watchdog that stops the test servers")?;
    }
    let out = Command::new("bash").arg(&script).arg("env").output()?;
    let mut env: HashMap<String, String> = std::env::vars().collect();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((key, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('='))
        else {
            continue;
        };
        env.entry(key.to_owned())
            .or_insert_with(|| value.trim_matches('\'').to_owned());
    }
    let var = |name: &str| {
        env.get(name)
            .cloned()
            .with_context(|| format!("{name} is not set"))
    };
    let port = |name: &str| -> anyhow::Result<u16> {
        var(name)?
            .parse()
            .with_context(|| format!("{name} is not a port"))
    };
    Ok(Servers {
        pdns_api_url: var("ACMEBOX_PDNS_API_URL")?,
        pdns_api_key: var("ACMEBOX_PDNS_API_KEY")?,
        pdns_dns: var("ACMEBOX_PDNS_DNS")?,
        pebble_directory: var("ACMEBOX_PEBBLE_DIRECTORY")?,
        pebble_ca_cert: var("ACMEBOX_PEBBLE_CA_CERT")?,
        pebble_mgmt: var("ACMEBOX_PEBBLE_MGMT")?,
        pebble_http_port: port("ACMEBOX_PEBBLE_HTTP_PORT")?,
        pebble_tls_port: port("ACMEBOX_PEBBLE_TLS_PORT")?,
        zones: vec!["example.test.".into(), "delegated.test.".into()],
        bind_dns: var("ACMEBOX_BIND_DNS")?,
        bind_zone: var("ACMEBOX_BIND_ZONE")?,
        bind_tsig_name: var("ACMEBOX_BIND_TSIG_NAME")?,
        bind_tsig_secret: var("ACMEBOX_BIND_TSIG_SECRET")?,
        bind_tsig_sha1_name: var("ACMEBOX_BIND_TSIG_SHA1_NAME")?,
        bind_tsig_sha1_secret: var("ACMEBOX_BIND_TSIG_SHA1_SECRET")?,
        bind_tsig_other_name: var("ACMEBOX_BIND_TSIG_OTHER_NAME")?,
        bind_tsig_other_secret: var("ACMEBOX_BIND_TSIG_OTHER_SECRET")?,
        knot_dns: var("ACMEBOX_KNOT_DNS")?,
        knot_zone: var("ACMEBOX_KNOT_ZONE")?,
        knot_tsig_name: var("ACMEBOX_KNOT_TSIG_NAME")?,
        knot_tsig_secret: var("ACMEBOX_KNOT_TSIG_SECRET")?,
        pebble_bind_directory: var("ACMEBOX_PEBBLE_BIND_DIRECTORY")?,
        pebble_bind_mgmt: var("ACMEBOX_PEBBLE_BIND_MGMT")?,
        pebble_bind_root: var("ACMEBOX_PEBBLE_BIND_ROOT")?,
        pebble_eab_directory: var("ACMEBOX_PEBBLE_EAB_DIRECTORY")?,
        pebble_eab_mgmt: var("ACMEBOX_PEBBLE_EAB_MGMT")?,
        pebble_eab_kid: var("ACMEBOX_PEBBLE_EAB_KID")?,
        pebble_eab_hmac_key: var("ACMEBOX_PEBBLE_EAB_HMAC_KEY")?,
        pebble_noari_directory: var("ACMEBOX_PEBBLE_NOARI_DIRECTORY")?,
        pebble_noari_mgmt: var("ACMEBOX_PEBBLE_NOARI_MGMT")?,
    })
}
