//! An acmebox DNS-01 provider for the Cloudflare API v4, with an API token.
//!
//! Cloudflare keeps every TXT value as a record of its own, with its own id, so the provider
//! never has to rewrite the values of others:
//!
//! * `present`: `POST /zones/<zone id>/dns_records` with the value. Cloudflare refuses a record
//!   identical to one it has (error 81057 or 81058); that value is already there, which is
//!   success.
//! * `cleanup`: `GET /zones/<zone id>/dns_records?type=TXT&name=<name>&content=<value>`, then
//!   `DELETE /zones/<zone id>/dns_records/<id>` for each record found. Nothing found is success.
//!
//! The zone id is the `zone_id` config key when set. Otherwise the provider asks
//! `GET /zones?name=<zone>` for the zone the host passes, or for each parent of the record's
//! name in turn, from the name itself towards the root.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, http, log,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Cloudflare's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.cloudflare.com/client/v4";

/// The smallest TTL Cloudflare takes for a record outside Enterprise plans (1 means
/// "automatic", about five minutes, which is worse for a challenge).
const MIN_TTL: u32 = 60;

/// The largest TTL Cloudflare takes.
const MAX_TTL: u32 = 86_400;

/// "The record already exists." and "An identical record already exists.": the value is there.
const ALREADY_EXISTS: [u64; 2] = [81_057, 81_058];

/// "Record does not exist.": someone removed it between the lookup and the delete.
const RECORD_NOT_FOUND: u64 = 81_044;

/// Error codes Cloudflare sends for a missing, malformed, unknown or under-privileged token,
/// sometimes with status 400 rather than 401 or 403: 1000 "Invalid API Token", 6003 "Invalid
/// request headers" (with 6111 "Invalid format for Authorization header" in its chain), 9109
/// "Invalid access token", 10000 "Authentication error".
const AUTH_ERRORS: [u64; 5] = [1_000, 6_003, 6_111, 9_109, 10_000];

struct Cloudflare;

impl Provider for Cloudflare {
    fn describe() -> ProviderInfo {
        // `describe` makes no request: the host to grant is the configured API's origin.
        let api_url = config::get("api_url").unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_token",
                    "a Cloudflare API token with Zone > DNS > Edit (and Zone > Zone > Read \
                     unless `zone_id` is set) on the zones to validate",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://api.cloudflare.com/client/v4)",
                ),
                ConfigKey::optional(
                    "zone_id",
                    "the id of the zone holding every record; skips the zone lookup",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            ..ProviderInfo::new(
                "cloudflare",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Cloudflare API v4",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone_id = api.zone_id_for(&record)?;
        let name = bare_name(&record.fqdn);
        let ttl = record.ttl.clamp(MIN_TTL, MAX_TTL);
        let body = serde_json::json!({
            "type": "TXT",
            "name": name,
            "content": record.value,
            "ttl": ttl,
        });
        let request = http::Request::post(api.records_url(&zone_id)).json(&body);
        match api.exchange(request)? {
            Answer::Done(result) => {
                let created: DnsRecord = serde_json::from_value(result)?;
                if !same_name(&created.name, &name) {
                    return Err(api.undo_misplaced(&zone_id, &created, &name));
                }
                log::info!("added a TXT value at {name} in zone {zone_id} (TTL {ttl})");
                Ok(())
            }
            Answer::Refused(refusal) if refusal.has_code(&ALREADY_EXISTS) => {
                log::info!("TXT value already present at {name}");
                Ok(())
            }
            Answer::Refused(refusal) => Err(refusal.into_error()),
        }
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone_id = api.zone_id_for(&record)?;
        let name = bare_name(&record.fqdn);
        let url = format!(
            "{}?type=TXT&name={}&content={}",
            api.records_url(&zone_id),
            http::encode_component(&name),
            http::encode_component(&record.value)
        );
        let found: Vec<DnsRecord> = api.send(http::Request::get(url))?;
        // Filter here too: only ever delete this value at this name, whatever the API matched.
        let mine: Vec<DnsRecord> = found
            .into_iter()
            .filter(|r| {
                r.kind.eq_ignore_ascii_case("TXT")
                    && same_name(&r.name, &name)
                    && unquote(&r.content) == record.value
            })
            .collect();
        if mine.is_empty() {
            log::info!("TXT value already absent at {name}");
            return Ok(());
        }
        for found in mine {
            let url = format!(
                "{}/{}",
                api.records_url(&zone_id),
                http::encode_component(&found.id)
            );
            match api.exchange(http::Request::delete(url))? {
                Answer::Done(_) => log::info!("removed TXT record {} at {name}", found.id),
                Answer::Refused(refusal)
                    if refusal.status == 404 || refusal.has_code(&[RECORD_NOT_FOUND]) =>
                {
                    log::info!("TXT record {} at {name} was already gone", found.id);
                }
                Answer::Refused(refusal) => return Err(refusal.into_error()),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(Cloudflare);

/// The Cloudflare API as configured: base URL, token, and the zone id if the operator set one.
struct Api {
    base: String,
    token: String,
    zone_id: Option<String>,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let base = config::with_default("api_url", DEFAULT_API_URL);
        let base = base.trim().trim_end_matches('/').to_owned();
        if http::origin(&base).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({base}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        let zone_id = config::get("zone_id")
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        Ok(Self {
            base,
            token: config::require("api_token")?.trim().to_owned(),
            zone_id,
        })
    }

    /// The configured zone id, else the id of the zone the host passed, else the id of the
    /// closest zone holding `record.fqdn`.
    fn zone_id_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        if let Some(id) = &self.zone_id {
            return Ok(id.clone());
        }
        if let Some(zone) = &record.zone {
            let zone = bare_name(zone);
            return self.zone_named(&zone)?.ok_or_else(|| {
                ProviderError::ZoneNotFound(format!(
                    "Cloudflare has no zone {zone} (the zone of {}) that the token can see",
                    record.fqdn
                ))
            });
        }
        for candidate in zone_candidates(&record.fqdn) {
            if let Some(id) = self.zone_named(&candidate)? {
                log::debug!("{} is in Cloudflare zone {candidate} ({id})", record.fqdn);
                return Ok(id);
            }
        }
        Err(ProviderError::ZoneNotFound(format!(
            "no Cloudflare zone the token can see holds {}",
            record.fqdn
        )))
    }

    /// The id of the zone called `name`, if the token can see one.
    fn zone_named(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let url = format!("{}/zones?name={}", self.base, http::encode_component(name));
        let zones: Vec<Zone> = self.send(http::Request::get(url))?;
        Ok(zones
            .into_iter()
            .find(|z| same_name(&z.name, name))
            .map(|z| z.id))
    }

    /// Deletes a record Cloudflare created at another name than `wanted`: it takes a name
    /// outside the zone as relative to the zone, so `zone_id` was not the zone of `wanted`.
    fn undo_misplaced(&self, zone_id: &str, created: &DnsRecord, wanted: &str) -> ProviderError {
        let url = format!(
            "{}/{}",
            self.records_url(zone_id),
            http::encode_component(&created.id)
        );
        let undone = match self.exchange(http::Request::delete(url)) {
            Ok(Answer::Done(_)) => "it was deleted again".to_owned(),
            Ok(Answer::Refused(refusal)) => format!(
                "deleting it failed ({}); remove it by hand",
                refusal.message()
            ),
            Err(e) => format!("deleting it failed ({e:?}); remove it by hand"),
        };
        ProviderError::InvalidConfig(format!(
            "Cloudflare created the record at {} rather than {wanted}, so zone {zone_id} does \
             not hold {wanted}; check `zone_id` ({undone})",
            created.name
        ))
    }

    fn records_url(&self, zone_id: &str) -> String {
        format!(
            "{}/zones/{}/dns_records",
            self.base,
            http::encode_component(zone_id)
        )
    }

    /// Sends `request` and returns its `result`, or the error Cloudflare's answer means.
    fn send<T: DeserializeOwned>(&self, request: http::Request) -> Result<T, ProviderError> {
        match self.exchange(request)? {
            Answer::Done(result) => serde_json::from_value(result).map_err(|e| {
                ProviderError::Other(format!(
                    "Cloudflare's `result` is not what the provider expected: {e}"
                ))
            }),
            Answer::Refused(refusal) => Err(refusal.into_error()),
        }
    }

    /// Sends `request` with the token and reads Cloudflare's envelope,
    /// `{"success", "errors", "messages", "result"}`.
    fn exchange(&self, request: http::Request) -> Result<Answer, ProviderError> {
        let response = request
            .bearer_auth(&self.token)
            .header("accept", "application/json")
            .send()?;
        let envelope = serde_json::from_slice::<Envelope>(&response.body).ok();
        match envelope {
            Some(envelope) if response.is_success() && envelope.success => {
                Ok(Answer::Done(envelope.result))
            }
            None if response.is_success() => Err(ProviderError::Other(format!(
                "Cloudflare answered {} with a body that is not an API envelope: {}",
                response.status,
                excerpt(&response.text())
            ))),
            envelope => Ok(Answer::Refused(Refusal {
                status: response.status,
                retry_after: response.retry_after(),
                errors: envelope.map(|e| e.errors).unwrap_or_default(),
                body: excerpt(&response.text()),
            })),
        }
    }
}

/// What Cloudflare made of one request.
enum Answer {
    /// `success: true`, with the envelope's `result`.
    Done(Value),
    /// An error status or `success: false`.
    Refused(Refusal),
}

/// A refused request: the status and Cloudflare's errors.
struct Refusal {
    status: u16,
    retry_after: Option<u32>,
    errors: Vec<Message>,
    /// The start of the body, for when it held no errors.
    body: String,
}

impl Refusal {
    /// Whether any error, or any error in an error's chain, has one of `codes`.
    fn has_code(&self, codes: &[u64]) -> bool {
        fn any(messages: &[Message], codes: &[u64]) -> bool {
            messages
                .iter()
                .any(|m| codes.contains(&m.code) || any(&m.error_chain, codes))
        }
        any(&self.errors, codes)
    }

    fn into_error(self) -> ProviderError {
        let message = self.message();
        if matches!(self.status, 401 | 403) || self.has_code(&AUTH_ERRORS) {
            return ProviderError::Unauthorized(format!(
                "Cloudflare answered {}: {message}; check that `api_token` is a valid API \
                 token with Zone > DNS > Edit on this zone",
                self.status
            ));
        }
        if self.status == 429 {
            return ProviderError::RateLimited(self.retry_after);
        }
        ProviderError::api(self.status, format!("Cloudflare: {message}"))
    }

    /// Cloudflare's errors as `message (code N)`, joined; else the body; else the status.
    fn message(&self) -> String {
        if !self.errors.is_empty() {
            return self
                .errors
                .iter()
                .map(Message::to_string)
                .collect::<Vec<_>>()
                .join("; ");
        }
        if self.body.is_empty() {
            return format!("HTTP {} with an empty body", self.status);
        }
        self.body.clone()
    }
}

/// The envelope of every Cloudflare API answer.
#[derive(Deserialize)]
struct Envelope {
    success: bool,
    #[serde(default)]
    errors: Vec<Message>,
    #[serde(default)]
    result: Value,
}

/// One entry of an envelope's `errors`.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    code: u64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_chain: Vec<Message>,
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)?;
        for cause in &self.error_chain {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Zone {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct DnsRecord {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    content: String,
}

/// `name` as Cloudflare writes names: lower case, no trailing dot.
fn bare_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn same_name(a: &str, b: &str) -> bool {
    bare_name(a) == bare_name(b)
}

/// The names that could be the zone of `fqdn`: the name itself, then each parent, down to
/// the last two labels (Cloudflare has no zones for top-level domains).
fn zone_candidates(fqdn: &str) -> Vec<String> {
    let name = bare_name(fqdn);
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    (0..labels.len().saturating_sub(1))
        .map(|start| labels[start..].join("."))
        .collect()
}

/// A TXT content as text: Cloudflare may hand content back in quotes.
fn unquote(content: &str) -> &str {
    let content = content.trim();
    content
        .strip_prefix('"')
        .and_then(|c| c.strip_suffix('"'))
        .unwrap_or(content)
}

/// The start of a body, for an error message.
fn excerpt(text: &str) -> String {
    text.trim().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let cases = [
            (DEFAULT_API_URL, Some("https://api.cloudflare.com")),
            (
                "http://127.0.0.1:8080/client/v4",
                Some("http://127.0.0.1:8080"),
            ),
            ("HTTPS://API.example.com/", Some("https://api.example.com")),
            ("ftp://api.cloudflare.com", None),
            ("api.cloudflare.com/client/v4", None),
            ("https://token@api.cloudflare.com", None),
        ];
        for (url, want) in cases {
            assert_eq!(http::origin(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn zone_candidates_walk_towards_the_root() {
        assert_eq!(
            zone_candidates("_acme-challenge.www.Example.com."),
            [
                "_acme-challenge.www.example.com",
                "www.example.com",
                "example.com"
            ]
        );
        assert_eq!(zone_candidates("example.com"), ["example.com"]);
        assert!(zone_candidates("com.").is_empty());
        assert!(zone_candidates(".").is_empty());
    }

    #[test]
    fn envelopes_and_error_codes() {
        let body = r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers",
            "error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}],
            "messages":[],"result":null}"#;
        let envelope: Envelope = serde_json::from_str(body).expect("an envelope");
        let refusal = Refusal {
            status: 400,
            retry_after: None,
            errors: envelope.errors,
            body: String::new(),
        };
        assert!(refusal.has_code(&[6111]));
        assert!(!refusal.has_code(&ALREADY_EXISTS));
        assert_eq!(
            refusal.message(),
            "Invalid request headers (code 6003): \
             Invalid format for Authorization header (code 6111)"
        );
        assert!(matches!(
            refusal.into_error(),
            ProviderError::Unauthorized(_)
        ));

        let duplicate = Refusal {
            status: 400,
            retry_after: None,
            errors: vec![Message {
                code: 81_058,
                message: "An identical record already exists.".into(),
                error_chain: Vec::new(),
            }],
            body: String::new(),
        };
        assert!(duplicate.has_code(&ALREADY_EXISTS));
        let ProviderError::ApiError(error) = duplicate.into_error() else {
            panic!("a duplicate is an API error when not expected");
        };
        assert_eq!(error.status, 400);
        assert!(error.message.contains("81058"), "{}", error.message);
    }

    #[test]
    fn statuses_map_to_provider_errors() {
        let refusal = |status| Refusal {
            status,
            retry_after: Some(7),
            errors: Vec::new(),
            body: String::new(),
        };
        assert!(matches!(
            refusal(401).into_error(),
            ProviderError::Unauthorized(_)
        ));
        assert!(matches!(
            refusal(403).into_error(),
            ProviderError::Unauthorized(_)
        ));
        assert!(matches!(
            refusal(429).into_error(),
            ProviderError::RateLimited(Some(7))
        ));
        assert_eq!(refusal(500).into_error().status(), Some(500));
    }

    #[test]
    fn txt_contents_compare_without_quotes() {
        assert_eq!(unquote("\"abc\""), "abc");
        assert_eq!(unquote("abc"), "abc");
        assert_eq!(unquote("\"abc"), "\"abc");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            http::encode_component("_acme-challenge.example.com"),
            "_acme-challenge.example.com"
        );
        assert_eq!(http::encode_component("a b&c=d/e"), "a%20b%26c%3Dd%2Fe");
    }
}
