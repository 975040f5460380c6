//! An acmebox DNS-01 provider for Hetzner DNS, through the zones and RRSets of the Hetzner
//! Cloud API with a project API token.
//!
//! Hetzner keeps the TXT values at a name as one RRSet, and has actions that add or remove
//! single records of it, so no call rewrites the values of others:
//!
//! * `present`: `GET /zones/<zone>/rrsets/<name>/TXT`; when the value is not there,
//!   `POST /zones/<zone>/rrsets/<name>/TXT/actions/add_records` with it (which creates the
//!   RRSet when there is none).
//! * `cleanup`: the same lookup, then `POST .../actions/remove_records` with the records
//!   holding the value (the API deletes an RRSet left empty). No RRSet, or no such value, is
//!   success.
//!
//! Both changes are actions: the provider polls `GET /zones/actions/<id>` until the action
//! succeeds or fails, for a few seconds at most. A round that collides with another change of
//! the zone (409 `conflict`, 423 `locked`, 5xx) is run again from the zone lookup.
//!
//! The zone is the one the host passes, else the closest parent of the record's name for which
//! `GET /zones/<name>` answers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::Deserialize;

/// The Hetzner Cloud API's base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.hetzner.cloud/v1";

/// The smallest TTL Hetzner accepts for an RRSet.
const MIN_TTL: u32 = 60;

/// The comment on the records the provider adds, for whoever reads the zone in the console.
const COMMENT: &str = "acmebox DNS-01 challenge";

/// How often the provider asks after a running action before it leaves it to finish alone.
/// Each poll is a request, and the host caps the requests of one call.
const ACTION_POLLS: u32 = 8;

/// The pause before the first poll of an action; it doubles up to [`LONGEST_ACTION_PAUSE`].
const FIRST_ACTION_PAUSE: Duration = Duration::from_millis(250);

/// The longest pause between two polls of an action.
const LONGEST_ACTION_PAUSE: Duration = Duration::from_secs(2);

struct Hetzner;

impl Provider for Hetzner {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_token",
                    "a Hetzner Cloud API token with read and write permission, from the project \
                     that holds the zones (lego: HETZNER_API_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://api.hetzner.cloud/v1)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "hetzner",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the zones and RRSets of the Hetzner Cloud API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        retry::retrying("Hetzner", || locked_as_conflict(api.add_value(&record)))
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        retry::retrying("Hetzner", || locked_as_conflict(api.remove_value(&record)))
    }
}

acmebox_provider::export!(Hetzner);

/// An RRSet as the API returns it.
#[derive(Debug, Deserialize)]
struct RrSet {
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default)]
    records: Vec<ResourceRecord>,
}

#[derive(Debug, Deserialize)]
struct ResourceRecord {
    value: String,
}

#[derive(Debug, Deserialize)]
struct RrSetEnvelope {
    rrset: RrSet,
}

/// An action: `{"id", "command", "status": "running" | "success" | "error", "error", ...}`.
#[derive(Debug, Deserialize)]
struct Action {
    id: u64,
    #[serde(default)]
    command: String,
    status: String,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
struct ActionEnvelope {
    action: Action,
}

/// An error: `{"error": {"code": "unauthorized", "message": "unable to authenticate"}}`.
#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// The API as configured.
struct Api {
    base: String,
    token: String,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let base = config::with_default("api_url", DEFAULT_API_URL)
            .trim()
            .trim_end_matches('/')
            .to_owned();
        if http::origin(&base).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({base}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        Ok(Self {
            base,
            token: config::require("api_token")?.trim().to_owned(),
        })
    }

    /// The bare name of the zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (zone, ()) = dns::find_zone("Hetzner", record, |candidate| {
            let url = format!("{}/zones/{}", self.base, http::encode_component(candidate));
            match self.send(http::Request::get(url)) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(zone.to_ascii_lowercase())
    }

    fn rrset_url(&self, zone: &str, name: &str) -> String {
        format!(
            "{}/zones/{}/rrsets/{}/TXT",
            self.base,
            http::encode_component(zone),
            http::encode_component(name)
        )
    }

    /// The TXT RRSet at `name`, `None` when there is none.
    fn rrset(&self, zone: &str, name: &str) -> Result<Option<RrSet>, ProviderError> {
        match self.send(http::Request::get(self.rrset_url(zone, name))) {
            Ok(response) => Ok(Some(response.json::<RrSetEnvelope>()?.rrset)),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One round of `present`: find the zone, read the RRSet, add the value when it is
    /// missing.
    fn add_value(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let zone = &self.zone_for(record)?;
        let name = &rrset_name(&record.fqdn, zone)?;
        let existing = self.rrset(zone, name)?;
        if let Some(set) = &existing
            && !stored_values(set, &record.value).is_empty()
        {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let mut body = serde_json::json!({
            "records": [{ "value": dns::quote_txt(&record.value), "comment": COMMENT }],
        });
        // An existing RRSet keeps its TTL: the API refuses a different one.
        if existing.as_ref().and_then(|set| set.ttl).is_none() {
            body["ttl"] = record.ttl.max(MIN_TTL).into();
        }
        let url = format!("{}/actions/add_records", self.rrset_url(zone, name));
        let action = self.send(http::Request::post(url).json(&body))?;
        self.settle(action.json::<ActionEnvelope>()?.action)?;
        log::info!("added a TXT value at {} in zone {zone}", record.fqdn);
        Ok(())
    }

    /// One round of `cleanup`: find the zone, read the RRSet, remove the records holding the
    /// value.
    fn remove_value(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        let zone = &self.zone_for(record)?;
        let name = &rrset_name(&record.fqdn, zone)?;
        let Some(set) = self.rrset(zone, name)? else {
            log::info!("TXT value already absent at {}", record.fqdn);
            return Ok(());
        };
        let mine = stored_values(&set, &record.value);
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
            return Ok(());
        }
        let records: Vec<_> = mine
            .iter()
            .map(|value| serde_json::json!({ "value": value }))
            .collect();
        let body = serde_json::json!({ "records": records });
        let url = format!("{}/actions/remove_records", self.rrset_url(zone, name));
        match self.send(http::Request::post(url).json(&body)) {
            Ok(action) => self.settle(action.json::<ActionEnvelope>()?.action)?,
            // The RRSet went away since it was read: the value with it.
            Err(ProviderError::ApiError(e)) if e.status == 404 => {}
            Err(e) => return Err(e),
        }
        log::info!("removed a TXT value at {} in zone {zone}", record.fqdn);
        Ok(())
    }

    /// Waits for `action` to finish. One still running after [`ACTION_POLLS`] polls is left to
    /// finish alone: the change is accepted, and acmebox's propagation check waits for it.
    fn settle(&self, mut action: Action) -> Result<(), ProviderError> {
        let mut pause = FIRST_ACTION_PAUSE;
        for poll in 0..=ACTION_POLLS {
            match action.status.as_str() {
                "success" => return Ok(()),
                "error" => {
                    let (code, message) = action
                        .error
                        .map_or_else(Default::default, |e| (e.code, e.message));
                    return Err(ProviderError::Other(format!(
                        "Hetzner action {} ({}) failed: {message} ({code})",
                        action.id, action.command
                    )));
                }
                _ if poll == ACTION_POLLS => break,
                _ => {}
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(LONGEST_ACTION_PAUSE);
            let url = format!("{}/zones/actions/{}", self.base, action.id);
            action = self
                .send(http::Request::get(url))?
                .json::<ActionEnvelope>()?
                .action;
        }
        log::warn!(
            "Hetzner action {} ({}) is still running; leaving it to finish",
            action.id,
            action.command
        );
        Ok(())
    }

    /// Sends `request` with the token; maps Hetzner's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request.bearer_auth(&self.token).send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ErrorEnvelope>()
            .map(|e| format!("{} ({})", e.error.message, e.error.code))
            .unwrap_or_else(|_| response.text().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "Hetzner refused the API token ({status}): {message}"
            )),
            429 => ProviderError::RateLimited(response.retry_after().or_else(|| {
                let reset = response.header("ratelimit-reset")?.trim().parse().ok()?;
                seconds_until(reset, SystemTime::now())
            })),
            _ => ProviderError::api(status, format!("Hetzner answered {status}: {message}")),
        })
    }
}

/// The RRSet name of `fqdn` in `zone`: relative, lower case, `@` for the apex.
fn rrset_name(fqdn: &str, zone: &str) -> Result<String, ProviderError> {
    match dns::relative_name(fqdn, zone) {
        Some(name) if name.is_empty() => Ok("@".to_owned()),
        Some(name) => Ok(name.to_ascii_lowercase()),
        None => Err(ProviderError::Other(format!(
            "{fqdn} is not in zone {zone}, the zone it was given"
        ))),
    }
}

/// The stored contents (quoted, as the API keeps them) of the records in `set` whose text is
/// `value`.
fn stored_values<'a>(set: &'a RrSet, value: &str) -> Vec<&'a str> {
    let mut found: Vec<&str> = set
        .records
        .iter()
        .filter(|r| dns::unquote_txt(&r.value) == value)
        .map(|r| r.value.as_str())
        .collect();
    found.dedup();
    found
}

/// Hetzner answers 423 `locked` while another action runs on the zone, as when a domain and its
/// wildcard are validated at once: like a 409, that asks for the round to run again.
fn locked_as_conflict(result: Result<(), ProviderError>) -> Result<(), ProviderError> {
    result.map_err(|error| match error {
        ProviderError::ApiError(e) if e.status == 423 => ProviderError::api(409, e.message),
        other => other,
    })
}

/// Seconds from `now` to the UNIX time `reset` (the `RateLimit-Reset` header), rounded up;
/// `None` when it has passed.
fn seconds_until(reset: u64, now: SystemTime) -> Option<u32> {
    let now = now.duration_since(UNIX_EPOCH).ok()?;
    let left = Duration::from_secs(reset).checked_sub(now)?;
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    u32::try_from(secs).ok().filter(|&s| s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrset_names_are_relative_and_lower_case() {
        let cases = [
            (
                "_acme-challenge.example.com.",
                "example.com",
                "_acme-challenge",
            ),
            (
                "_acme-challenge.WWW.Example.com.",
                "example.com",
                "_acme-challenge.www",
            ),
            ("example.com.", "example.com", "@"),
        ];
        for (fqdn, zone, want) in cases {
            let name = rrset_name(fqdn, zone).unwrap_or_else(|e| panic!("{fqdn}: {e:?}"));
            assert_eq!(name, want, "{fqdn} in {zone}");
        }
        assert!(rrset_name("other.org.", "example.com").is_err());
    }

    #[test]
    fn stored_values_match_the_unquoted_text() {
        let set = RrSet {
            ttl: Some(60),
            records: vec![
                ResourceRecord {
                    value: "\"abc\"".into(),
                },
                ResourceRecord {
                    value: "\"other\"".into(),
                },
                ResourceRecord {
                    value: "\"ab\" \"c\"".into(),
                },
            ],
        };
        assert_eq!(stored_values(&set, "abc"), ["\"abc\"", "\"ab\" \"c\""]);
        assert!(stored_values(&set, "missing").is_empty());
    }

    #[test]
    fn locked_is_retried_like_a_conflict() {
        let locked = locked_as_conflict(Err(ProviderError::api(423, "locked")));
        assert!(
            locked.as_ref().is_err_and(retry::is_retryable),
            "{locked:?}"
        );
        let invalid = locked_as_conflict(Err(ProviderError::api(400, "invalid_input")));
        assert!(!invalid.as_ref().is_err_and(retry::is_retryable));
    }

    #[test]
    fn rate_limit_reset_counts_up_from_now() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        assert_eq!(seconds_until(1_700_000_007, now), Some(7));
        assert_eq!(seconds_until(1_700_000_000, now), None);
        assert_eq!(seconds_until(1_600_000_000, now), None);
    }
}
