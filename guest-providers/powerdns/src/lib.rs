//! An acmebox DNS-01 provider for the PowerDNS Authoritative HTTP API (v1).
//!
//! A TXT rrset in PowerDNS can only be replaced or deleted as a whole, so both calls read the
//! rrset at `record.fqdn`, change only `record.value` in it, and write it back:
//!
//! * `present`: `GET /zones/<zone>?rrset_name=<fqdn>&rrset_type=TXT`, add the value if it is
//!   missing, `PATCH` with `changetype: REPLACE`. The other values stay, so the apex and the
//!   wildcard of a domain can be validated at the same time.
//! * `cleanup`: the same read, then `REPLACE` with the other values, or `DELETE` when none are
//!   left. A value that is not there is already cleaned up.
//!
//! The zone is the one the host passes, else the longest zone at the server that holds the
//! name (`GET /zones`).
//!
//! PowerDNS answers 500 when its database refuses a write under contention (the sqlite backend
//! says "database is locked" when two API calls write at once). Both calls then start over from
//! the read, a few times with a growing pause, so a retry never writes back a stale rrset.

use std::time::Duration;

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, http, log,
};
use serde::{Deserialize, Serialize};

/// The PowerDNS API server id used when the operator sets none.
const DEFAULT_SERVER_ID: &str = "localhost";

/// PowerDNS applies an API change at once (caches are its own business), so a minute is ample.
const PROPAGATION_TIMEOUT_SECS: u32 = 60;

/// How often the host checks propagation.
const POLLING_INTERVAL_SECS: u32 = 2;

/// Read-modify-write rounds before a 5xx answer is final.
const ATTEMPTS: u32 = 12;

/// The pause before the first retry; it doubles each time up to [`LONGEST_PAUSE`], and each
/// pause is drawn from half to one and a half times that, so calls that collided once do not
/// collide again in step.
const FIRST_PAUSE: Duration = Duration::from_millis(25);

/// The longest pause between two rounds.
const LONGEST_PAUSE: Duration = Duration::from_millis(1000);

struct PowerDns;

impl Provider for PowerDns {
    fn describe() -> ProviderInfo {
        // `describe` makes no request; the origin is known only when the operator set api_url.
        let hosts = config::get("api_url")
            .and_then(|url| http::origin(&url))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_url",
                    "the PowerDNS webserver's base URL, such as http://127.0.0.1:8081",
                ),
                ConfigKey::required("api_key", "the PowerDNS API key (sent as X-API-Key)").secret(),
                ConfigKey::optional(
                    "server_id",
                    "the PowerDNS server id in API paths (default `localhost`)",
                ),
            ],
            hosts,
            propagation_timeout_secs: PROPAGATION_TIMEOUT_SECS,
            polling_interval_secs: POLLING_INTERVAL_SECS,
            ..ProviderInfo::new(
                "powerdns",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the PowerDNS Authoritative HTTP API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        retrying_server_errors(|| add_value(&api, &zone, &record))
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        retrying_server_errors(|| remove_value(&api, &zone, &record))
    }
}

acmebox_provider::export!(PowerDns);

/// Runs `round` again while PowerDNS answers 5xx, up to [`ATTEMPTS`] times.
fn retrying_server_errors(
    mut round: impl FnMut() -> Result<(), ProviderError>,
) -> Result<(), ProviderError> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match round() {
            Err(ProviderError::ApiError(err)) if attempt < ATTEMPTS && err.status >= 500 => {
                let wait = jittered(pause);
                log::warn!(
                    "attempt {attempt} of {ATTEMPTS}: PowerDNS answered {} ({}); retrying in {} ms",
                    err.status,
                    err.message,
                    wait.as_millis()
                );
                std::thread::sleep(wait);
                pause = (pause * 2).min(LONGEST_PAUSE);
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// A pause drawn uniformly from half to one and a half times `pause`.
fn jittered(pause: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    // A fresh RandomState is seeded from the host's random source.
    let permille = RandomState::new().hash_one(0_u8) % 1001;
    pause / 2 + pause * u32::try_from(permille).unwrap_or(500) / 1000
}

/// Adds `record.value` to the TXT rrset at `record.fqdn`, keeping the values already there.
fn add_value(api: &Api, zone: &str, record: &TxtRecord) -> Result<(), ProviderError> {
    let mut contents = api.txt_contents(zone, &record.fqdn)?;
    if contents.iter().any(|c| unquote(&c.content) == record.value) {
        log::info!("TXT value already present at {}", record.fqdn);
        return Ok(());
    }
    contents.push(Content {
        content: quote(&record.value),
        disabled: false,
    });
    log::info!(
        "adding a TXT value at {} in zone {zone} ({} value(s) after)",
        record.fqdn,
        contents.len()
    );
    api.replace(zone, record, contents)
}

/// Removes `record.value` from the TXT rrset at `record.fqdn`; deletes the rrset when it was
/// the last value. A value that is not there is already cleaned up.
fn remove_value(api: &Api, zone: &str, record: &TxtRecord) -> Result<(), ProviderError> {
    let contents = api.txt_contents(zone, &record.fqdn)?;
    let before = contents.len();
    let rest: Vec<Content> = contents
        .into_iter()
        .filter(|c| unquote(&c.content) != record.value)
        .collect();
    if rest.len() == before {
        log::info!("TXT value already absent at {}", record.fqdn);
        return Ok(());
    }
    if rest.is_empty() {
        log::info!("deleting the TXT rrset at {} in zone {zone}", record.fqdn);
        return api.patch(
            zone,
            &RrSet {
                name: &absolute(&record.fqdn),
                kind: "TXT",
                ttl: None,
                changetype: "DELETE",
                records: None,
            },
        );
    }
    log::info!(
        "removing a TXT value at {} in zone {zone} ({} value(s) left)",
        record.fqdn,
        rest.len()
    );
    api.replace(zone, record, rest)
}

/// The API of one PowerDNS server: `<api_url>/api/v1/servers/<server_id>` and the key.
struct Api {
    base: String,
    key: String,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let url = config::require("api_url")?;
        let url = url.trim().trim_end_matches('/');
        if url.contains("/api/v1") {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) must be the webserver's base URL, such as \
                 http://127.0.0.1:8081; the provider adds /api/v1/servers/<server_id>"
            )));
        }
        if http::origin(url).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) is not an http:// or https:// URL"
            )));
        }
        let server_id = config::with_default("server_id", DEFAULT_SERVER_ID);
        Ok(Self {
            base: format!(
                "{url}/api/v1/servers/{}",
                http::encode_component(server_id.trim())
            ),
            key: config::require("api_key")?,
        })
    }

    /// `record.zone`, or the longest zone at the server holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        if let Some(zone) = &record.zone {
            return Ok(absolute(zone));
        }
        let zones: Vec<Zone> = self
            .send(http::Request::get(format!("{}/zones", self.base)))?
            .json()?;
        longest_zone(&record.fqdn, zones.iter().map(|z| z.name.as_str())).ok_or_else(|| {
            ProviderError::ZoneNotFound(format!(
                "no zone at the PowerDNS server holds {}",
                record.fqdn
            ))
        })
    }

    /// The TXT records at `fqdn` in `zone`, as PowerDNS stores them (quoted).
    fn txt_contents(&self, zone: &str, fqdn: &str) -> Result<Vec<Content>, ProviderError> {
        let url = format!(
            "{}?rrset_name={}&rrset_type=TXT",
            self.zone_url(zone),
            http::encode_component(&absolute(fqdn))
        );
        let zone: ZoneDetail = self.send(http::Request::get(url))?.json()?;
        // Older servers ignore the filter and return the whole zone: filter here too.
        Ok(zone
            .rrsets
            .into_iter()
            .filter(|r| r.kind.eq_ignore_ascii_case("TXT") && same_name(&r.name, fqdn))
            .flat_map(|r| r.records)
            .collect())
    }

    fn replace(
        &self,
        zone: &str,
        record: &TxtRecord,
        records: Vec<Content>,
    ) -> Result<(), ProviderError> {
        self.patch(
            zone,
            &RrSet {
                name: &absolute(&record.fqdn),
                kind: "TXT",
                ttl: Some(record.ttl),
                changetype: "REPLACE",
                records: Some(records),
            },
        )
    }

    fn patch(&self, zone: &str, rrset: &RrSet<'_>) -> Result<(), ProviderError> {
        let body = serde_json::json!({ "rrsets": [rrset] });
        self.send(http::Request::patch(self.zone_url(zone)).json(&body))?;
        Ok(())
    }

    fn zone_url(&self, zone: &str) -> String {
        format!(
            "{}/zones/{}",
            self.base,
            http::encode_component(&absolute(zone))
        )
    }

    /// Sends with the key and maps PowerDNS's error statuses to provider errors.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request
            .header("x-api-key", &self.key)
            .header("accept", "application/json")
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        let message = error_message(&response);
        Err(match response.status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "PowerDNS answered {}: {message}; check `api_key`",
                response.status
            )),
            404 => ProviderError::ZoneNotFound(format!("PowerDNS answered 404: {message}")),
            429 => ProviderError::RateLimited(response.retry_after()),
            status => ProviderError::api(status, message),
        })
    }
}

#[derive(Deserialize)]
struct Zone {
    name: String,
}

#[derive(Deserialize)]
struct ZoneDetail {
    #[serde(default)]
    rrsets: Vec<RrSetRead>,
}

#[derive(Deserialize)]
struct RrSetRead {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    records: Vec<Content>,
}

/// One record of an rrset; `content` is the TXT value in quotes.
#[derive(Deserialize, Serialize)]
struct Content {
    content: String,
    #[serde(default)]
    disabled: bool,
}

#[derive(Serialize)]
struct RrSet<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    changetype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Vec<Content>>,
}

/// PowerDNS's `{"error": "..."}` message, else the start of the body, else the status.
fn error_message(response: &http::Response) -> String {
    #[derive(Deserialize)]
    struct ApiFailure {
        error: String,
    }
    if let Ok(failure) = serde_json::from_slice::<ApiFailure>(&response.body) {
        return failure.error;
    }
    let text = response.text();
    let text = text.trim();
    if text.is_empty() {
        return format!("HTTP {} with an empty body", response.status);
    }
    text.chars().take(300).collect()
}

/// The longest of `zones` that is `fqdn` or one of its parents, absolute.
fn longest_zone<'a>(fqdn: &str, zones: impl Iterator<Item = &'a str>) -> Option<String> {
    let name = absolute(fqdn).to_ascii_lowercase();
    zones
        .map(|z| absolute(z).to_ascii_lowercase())
        .filter(|z| name == *z || name.ends_with(&format!(".{z}")) || z == ".")
        .max_by_key(String::len)
}

/// `name` with exactly one trailing dot.
fn absolute(name: &str) -> String {
    format!("{}.", name.trim().trim_end_matches('.'))
}

fn same_name(a: &str, b: &str) -> bool {
    absolute(a).eq_ignore_ascii_case(&absolute(b))
}

/// A TXT value as PowerDNS content: one quoted string.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The text of TXT content: the quoted strings joined, escapes undone.
fn unquote(content: &str) -> String {
    let mut text = String::new();
    let mut in_string = false;
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        match (c, in_string) {
            ('"', _) => in_string = !in_string,
            ('\\', true) => text.extend(chars.next()),
            (c, true) => text.push(c),
            (_, false) => {}
        }
    }
    if text.is_empty() && !content.contains('"') {
        return content.to_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let cases = [
            ("http://127.0.0.1:8081", Some("http://127.0.0.1:8081")),
            ("http://127.0.0.1:8081/", Some("http://127.0.0.1:8081")),
            (
                "HTTPS://DNS.example.com/x?y",
                Some("https://dns.example.com"),
            ),
            ("ftp://example.com", None),
            ("example.com", None),
            ("https://u:p@example.com", None),
        ];
        for (url, want) in cases {
            assert_eq!(http::origin(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn longest_zone_wins_on_label_boundaries() {
        let zones = [
            "example.test.",
            "sub.example.test.",
            "ample.test.",
            "other.test",
        ];
        let cases = [
            ("_acme-challenge.example.test.", Some("example.test.")),
            (
                "_acme-challenge.a.sub.example.test",
                Some("sub.example.test."),
            ),
            (
                "_acme-challenge.SUB.Example.Test.",
                Some("sub.example.test."),
            ),
            ("_acme-challenge.other.test.", Some("other.test.")),
            ("_acme-challenge.nexample.test.", None),
            ("_acme-challenge.example.com.", None),
        ];
        for (fqdn, want) in cases {
            assert_eq!(
                longest_zone(fqdn, zones.iter().copied()).as_deref(),
                want,
                "{fqdn}"
            );
        }
    }

    #[test]
    fn txt_content_round_trips() {
        let cases = [
            (
                "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
                "\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"",
            ),
            ("a\"b\\c", "\"a\\\"b\\\\c\""),
        ];
        for (value, content) in cases {
            assert_eq!(quote(value), content);
            assert_eq!(unquote(content), value);
        }
        assert_eq!(unquote("\"ab\" \"cd\""), "abcd");
        assert_eq!(unquote("bare"), "bare");
    }

    #[test]
    fn encodes_names() {
        assert_eq!(
            http::encode_component("_acme-challenge.example.test."),
            "_acme-challenge.example.test."
        );
        assert_eq!(http::encode_component("a/b c"), "a%2Fb%20c");
    }
}
