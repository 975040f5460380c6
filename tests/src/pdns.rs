//! Direct changes to the test PowerDNS through its HTTP API, for test set-up and clean-up
//! (a CNAME to follow, a record left to remove).
//!
//! PowerDNS's sqlite backend refuses one of two writes that arrive at the same moment with a
//! 500 ("database is locked"), and the tests run side by side, so every change is retried a
//! few times with randomised pauses.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::servers::servers;

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
