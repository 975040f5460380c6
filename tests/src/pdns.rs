//! The test PowerDNS seen directly, not through a provider: what its API holds and what it
//! answers over DNS, and changes for test set-up and clean-up (a CNAME to follow, a record left
//! to remove).
//!
//! PowerDNS's sqlite backend refuses one of two writes that arrive at the same moment with a
//! 500 ("database is locked"), and the tests run side by side, so every change is retried a
//! few times with randomised pauses.

use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::servers::servers;

/// The zone the tests work in.
pub const ZONE: &str = "example.test.";

/// Attempts before a refused change is an error.
const ATTEMPTS: u32 = 8;

/// Applies one rrset change (`{"name", "type", "changetype", ...}`) to `zone`.
pub fn patch_rrset(zone: &str, rrset: Value) -> Result<(), String> {
    let s = servers();
    let url = format!("{}/zones/{}", s.pdns_api_url, absolute(zone));
    let body = json!({ "rrsets": [rrset] }).to_string();
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(pause(attempt));
        }
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "--max-time", "10", "-X", "PATCH"])
            .args(["-H", &format!("X-API-Key: {}", s.pdns_api_key)])
            .args(["-H", "Content-Type: application/json"])
            .args(["--data-binary", &body, &url])
            .output()
            .map_err(|err| format!("cannot run curl: {err}"))?;
        if out.status.success() {
            return Ok(());
        }
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Err(format!(
        "PowerDNS refused PATCH {url} {ATTEMPTS} times; last answer: {last}"
    ))
}

/// Deletes the rrset of `kind` at `name` in `zone`.
pub fn delete_rrset(zone: &str, name: &str, kind: &str) -> Result<(), String> {
    patch_rrset(
        zone,
        json!({ "name": absolute(name), "type": kind, "changetype": "DELETE" }),
    )
}

/// About 25 ms doubling per attempt up to 800 ms, randomised by ±50%.
fn pause(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let base = Duration::from_millis(25) * 2_u32.pow(attempt.min(5));
    let permille = RandomState::new().hash_one(attempt) % 1001;
    base / 2 + base * u32::try_from(permille).unwrap_or(500) / 1000
}

fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// The PowerDNS webserver's origin, `http://127.0.0.1:PORT`: what a provider's `api_url` and
/// its grant take.
pub fn origin() -> String {
    let url = &servers().pdns_api_url;
    let end = url.find("/api/v1").unwrap_or(url.len());
    url[..end].to_owned()
}

/// The TXT records (`{"content": "\"...\"", "disabled": ...}`) the API holds at `fqdn` in
/// `zone`.
pub fn txt_records(zone: &str, fqdn: &str) -> anyhow::Result<Vec<Value>> {
    let s = servers();
    let url = format!(
        "{}/zones/{}?rrset_name={fqdn}&rrset_type=TXT",
        s.pdns_api_url,
        absolute(zone)
    );
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--max-time", "10"])
        .args(["-H", &format!("X-API-Key: {}", s.pdns_api_key), &url])
        .output()
        .context("running curl")?;
    anyhow::ensure!(
        out.status.success(),
        "GET {url}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let zone: Value = serde_json::from_slice(&out.stdout).context("the API answers JSON")?;
    let fqdn = absolute(fqdn);
    Ok(zone["rrsets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == fqdn.as_str() && r["type"] == "TXT")
        .flat_map(|r| r["records"].as_array().cloned().unwrap_or_default())
        .collect())
}

/// The TXT values the API holds at `fqdn` in `zone`, quotes removed, sorted.
pub fn txt_values_in(zone: &str, fqdn: &str) -> anyhow::Result<Vec<String>> {
    let mut values: Vec<String> = txt_records(zone, fqdn)?
        .iter()
        .filter_map(|r| r["content"].as_str())
        .map(|c| c.trim_matches('"').to_owned())
        .collect();
    values.sort();
    Ok(values)
}

/// The TXT values the API holds at `fqdn` in [`ZONE`], quotes removed, sorted.
pub fn txt_values(fqdn: &str) -> anyhow::Result<Vec<String>> {
    txt_values_in(ZONE, fqdn)
}

/// The TXT values PowerDNS answers for `fqdn` over DNS (following a CNAME in its zones),
/// sorted.
pub fn dns_txt_values(fqdn: &str) -> anyhow::Result<Vec<String>> {
    let (host, port) = servers()
        .pdns_dns
        .rsplit_once(':')
        .context("ACMEBOX_PDNS_DNS is not host:port")?;
    let out = Command::new("dig")
        .args([
            &format!("@{host}"),
            "-p",
            port,
            "+short",
            "+time=2",
            "+tries=2",
        ])
        .args(["TXT", fqdn])
        .output()
        .context("running dig")?;
    anyhow::ensure!(
        out.status.success(),
        "dig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        // A CNAME on the way is printed as its target, unquoted.
        .filter(|line| line.starts_with('"'))
        .map(|line| line.split('"').skip(1).step_by(2).collect())
        .collect();
    values.sort();
    Ok(values)
}

/// The TXT rrset at a name in [`ZONE`] that a test may create; deleted when the guard drops,
/// however the test ends.
#[derive(Debug)]
pub struct RrsetCleanup(pub String);

impl Drop for RrsetCleanup {
    fn drop(&mut self) {
        if let Err(err) = delete_rrset(ZONE, &self.0, "TXT") {
            eprintln!("cleanup of {}: {err}", self.0);
        }
    }
}

/// Writes `acmebox.toml` into `dir` with the PowerDNS provider as `pdns` and returns its path:
/// granted the real PowerDNS (marked `danger:`: loopback over plain http), `api_url` as given,
/// its API key read from a file in `dir`, the component cache the tests share, a TTL of 60 s.
/// `top` goes before the providers (`state_dir = "state"`), `more` after its config values.
pub fn write_cli_config(
    dir: &std::path::Path,
    top: &str,
    api_url: &str,
    more: &str,
) -> std::path::PathBuf {
    let component =
        crate::guests::provider("acmebox-provider-powerdns").expect("the PowerDNS provider builds");
    let key_file = dir.join("pdns-api-key");
    std::fs::write(&key_file, &servers().pdns_api_key).expect("writing the key file");
    let text = format!(
        "cache_dir = {cache:?}\n{top}\n[providers.pdns]\ncomponent = {component:?}\n\
         allow = [{grant:?}]\nttl = 60\n\n[providers.pdns.config]\napi_url = {api_url:?}\n\
         api_key = {{ file = {key:?}, secret = true }}\n{more}",
        grant = crate::danger(origin()),
        cache = crate::guests::guest_target_dir()
            .join("component-cache")
            .display()
            .to_string(),
        component = component.display().to_string(),
        key = key_file.display().to_string(),
    );
    let path = dir.join("acmebox.toml");
    std::fs::write(&path, text).expect("writing acmebox.toml");
    path
}
