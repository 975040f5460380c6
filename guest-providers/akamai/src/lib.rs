//! An acmebox DNS-01 provider for Akamai Edge DNS, through the Edge DNS Zone Management API
//! (`/config-dns/v2`) with an API client's EdgeGrid credentials.
//!
//! Every request is signed on its own ([`acmebox_provider::auth::edgegrid`]): a timestamp, a
//! fresh nonce and an HMAC-SHA256 over the request; there is no token exchange and no clock to
//! read first. Edge DNS keeps all the TXT values at a name as one record set, which a write
//! replaces whole, so every call reads the set, changes its own value and writes the rest back:
//!
//! * `present`: `GET /config-dns/v2/zones/<zone>/names/<name>/types/TXT`; when the value is
//!   missing, `PUT` the same path with the values read plus the new one, or `POST` it with the
//!   new one alone when the set does not exist (404).
//! * `cleanup`: the same read; `PUT` the other values back, or `DELETE` the set when none is
//!   left (a 404 is success). A value that is not there, or no set, is success.
//!
//! Each read-modify-write round runs inside [`retry::retrying`], so a conflict (409: a set
//! created between the read and the `POST`) or a 5xx starts it over from the read. The API has
//! no conditional write; acmebox runs the calls on one name one at a time.
//!
//! The zone is the one the host passes, else the closest parent of the record's name for which
//! `GET /config-dns/v2/zones/<name>` answers.

use acmebox_provider::auth::edgegrid::{Credentials, Signer};
use acmebox_provider::http::Method;
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::{Deserialize, Serialize};

/// How the API is named in logs and errors.
const VENDOR: &str = "Akamai Edge DNS";

/// The record type this provider reads and writes.
const TXT: &str = "TXT";

struct Akamai;

impl Provider for Akamai {
    fn describe() -> ProviderInfo {
        let hosts = api_base()
            .ok()
            .and_then(|base| http::origin(&base))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "host",
                    "the API client's host, akab-….luna.akamaiapis.net (lego: AKAMAI_HOST)",
                ),
                ConfigKey::required(
                    "client_token",
                    "the API client's client token (lego: AKAMAI_CLIENT_TOKEN)",
                )
                .secret(),
                ConfigKey::required(
                    "client_secret",
                    "the API client's client secret; it signs requests and is never sent \
                     (lego: AKAMAI_CLIENT_SECRET)",
                )
                .secret(),
                ConfigKey::required(
                    "access_token",
                    "the API client's access token, granted DNS—Zone Record Management \
                     READ-WRITE (lego: AKAMAI_ACCESS_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "account_switch_key",
                    "the account to act in, for an API client that manages several \
                     (lego: AKAMAI_ACCOUNT_SWITCH_KEY)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, overriding https://<host> (for tests and proxies)",
                ),
            ],
            hosts,
            // lego's edgedns waits 3 minutes; Edge DNS usually serves a change within one.
            propagation_timeout_secs: 180,
            polling_interval_secs: 10,
            ..ProviderInfo::new(
                "akamai",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Akamai Edge DNS Zone Management API (v2), with \
                 EdgeGrid-signed requests",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = retry::retrying(VENDOR, || api.zone_for(&record))?;
        let name = dns::bare(&record.fqdn);
        retry::retrying(VENDOR, || {
            let Some(held) = api.record_set(&zone, &name)? else {
                let set = RecordSet::txt(&name, record.ttl, vec![dns::quote_txt(&record.value)]);
                api.send(Method::Post, &api.record_set_url(&zone, &name), Some(&set))?;
                log::info!(
                    "created the TXT record set at {} in zone {zone}",
                    record.fqdn
                );
                return Ok(());
            };
            let Some(set) = with_value(held, &record.value) else {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            };
            api.send(Method::Put, &api.record_set_url(&zone, &name), Some(&set))?;
            log::info!("added a TXT value at {} in zone {zone}", record.fqdn);
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = retry::retrying(VENDOR, || api.zone_for(&record))?;
        let name = dns::bare(&record.fqdn);
        retry::retrying(VENDOR, || {
            let Some(rest) = api
                .record_set(&zone, &name)?
                .and_then(|held| without_value(held, &record.value))
            else {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            };
            let url = api.record_set_url(&zone, &name);
            if !rest.rdata.is_empty() {
                api.send(Method::Put, &url, Some(&rest))?;
                log::info!(
                    "removed a TXT value at {}, kept {} other(s)",
                    record.fqdn,
                    rest.rdata.len()
                );
                return Ok(());
            }
            match api.send(Method::Delete, &url, None) {
                Err(ProviderError::ApiError(e)) if e.status == 404 => {
                    log::info!("the TXT record set at {} was already gone", record.fqdn);
                }
                Err(e) => return Err(e),
                Ok(_) => log::info!("deleted the TXT record set at {}", record.fqdn),
            }
            Ok(())
        })
    }
}

acmebox_provider::export!(Akamai);

/// A record set as the API reads and writes it: `{"name": "_acme-challenge.example.com",
/// "type": "TXT", "ttl": 60, "rdata": ["\"value\""]}`, each TXT value a quoted string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
struct RecordSet {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    ttl: u32,
    rdata: Vec<String>,
}

impl RecordSet {
    fn txt(name: &str, ttl: u32, rdata: Vec<String>) -> Self {
        Self {
            name: name.to_owned(),
            kind: TXT.to_owned(),
            ttl,
            rdata,
        }
    }
}

/// `held` with `value` added (its name, type and TTL kept), or `None` when it holds the value.
fn with_value(held: RecordSet, value: &str) -> Option<RecordSet> {
    if held.rdata.iter().any(|r| dns::unquote_txt(r) == value) {
        return None;
    }
    let mut set = held;
    set.rdata.push(dns::quote_txt(value));
    Some(set)
}

/// `held` without the values equal to `value`, or `None` when it holds none.
fn without_value(held: RecordSet, value: &str) -> Option<RecordSet> {
    let count = held.rdata.len();
    let mut set = held;
    set.rdata.retain(|r| dns::unquote_txt(r) != value);
    (set.rdata.len() != count).then_some(set)
}

/// An error body, RFC 9457 problem details: `{"type":
/// "https://problems.luna.akamaiapis.net/-/pep-authn/deny", "title": "Not authorized",
/// "status": 401, "detail": "The signature does not match", "instance": ...}`.
#[derive(Debug, Default, Deserialize)]
struct Problem {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

impl Problem {
    /// `title: detail (type)`, the parts the body has.
    fn describe(&self) -> String {
        let mut text = [self.title.as_str(), self.detail.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        if !self.kind.is_empty() {
            text.push_str(&format!(" ({})", self.kind));
        }
        text
    }

    /// Whether EdgeGrid authentication, ahead of the API itself, refused the request
    /// (`.../-/pep-authn/deny`, `.../-/pep-authn/request-error`).
    fn is_authentication(&self) -> bool {
        self.kind.contains("/pep-authn/")
    }
}

/// The API base URL: `api_url`, else `https://<host>`.
fn api_base() -> Result<String, ProviderError> {
    if let Some(url) = config::get("api_url").filter(|u| !u.trim().is_empty()) {
        let url = url.trim().trim_end_matches('/');
        if http::origin(url).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) is not an http:// or https:// URL"
            )));
        }
        return Ok(url.to_owned());
    }
    let host = checked_host(&config::require("host")?)?;
    Ok(format!("https://{host}"))
}

/// The API client's host as the operator wrote it (an `.edgerc`'s `host`, perhaps with
/// `https://` or a trailing slash), bare and lower-case.
fn checked_host(host: &str) -> Result<String, ProviderError> {
    let trimmed = host.trim();
    let bare = trimmed
        .strip_prefix("https://")
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
    if !valid {
        return Err(ProviderError::InvalidConfig(format!(
            "config key `host` ({trimmed}) is not a host name such as \
             akab-xxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx.luna.akamaiapis.net"
        )));
    }
    Ok(bare)
}

/// The API as configured.
struct Api {
    base: String,
    /// `?accountSwitchKey=<key>`, or empty.
    query: String,
    signer: Signer,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let base = api_base()?;
        let credentials = Credentials::new(
            config::require("client_token")?.trim(),
            config::require("client_secret")?.trim(),
            config::require("access_token")?.trim(),
        );
        let query = config::get("account_switch_key")
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .map(|k| format!("?accountSwitchKey={}", http::encode_component(&k)))
            .unwrap_or_default();
        Ok(Self {
            base,
            query,
            signer: Signer::new(credentials),
        })
    }

    fn zone_url(&self, zone: &str) -> String {
        format!(
            "{}/config-dns/v2/zones/{}{}",
            self.base,
            http::encode_component(zone),
            self.query
        )
    }

    fn record_set_url(&self, zone: &str, name: &str) -> String {
        format!(
            "{}/config-dns/v2/zones/{}/names/{}/types/{TXT}{}",
            self.base,
            http::encode_component(zone),
            http::encode_component(name),
            self.query
        )
    }

    /// The Edge DNS zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (zone, ()) = dns::find_zone(VENDOR, record, |candidate| {
            match self.send(Method::Get, &self.zone_url(candidate), None) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(zone)
    }

    /// The TXT record set at `name`, `None` when there is none.
    fn record_set(&self, zone: &str, name: &str) -> Result<Option<RecordSet>, ProviderError> {
        match self.send(Method::Get, &self.record_set_url(zone, name), None) {
            Ok(response) => response.json().map(Some),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends a signed request with `set` as its JSON body; maps the API's errors to the WIT
    /// variants.
    fn send(
        &self,
        method: Method,
        url: &str,
        set: Option<&RecordSet>,
    ) -> Result<http::Response, ProviderError> {
        let mut headers = vec![("accept", "application/json")];
        let body = match set {
            Some(set) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(set)?
            }
            None => Vec::new(),
        };
        checked(self.signer.request(method, url, &headers, body).send()?)
    }
}

/// `response` when it succeeded, else its error as a WIT variant.
fn checked(response: http::Response) -> Result<http::Response, ProviderError> {
    if response.is_success() {
        return Ok(response);
    }
    let status = response.status;
    if status == 429 {
        return Err(ProviderError::RateLimited(response.retry_after()));
    }
    let problem = response.json::<Problem>().unwrap_or_default();
    let what = match problem.describe() {
        text if text.is_empty() => response.text().chars().take(300).collect(),
        text => text,
    };
    Err(match status {
        401 => ProviderError::Unauthorized(format!(
            "{VENDOR} refused the request's EdgeGrid authentication ({status} {what}); check \
             `client_token`, `client_secret` and `access_token`, and that `host` is the API \
             client's own"
        )),
        400 if problem.is_authentication() => ProviderError::Unauthorized(format!(
            "{VENDOR} refused the request's EdgeGrid authentication ({status} {what}); an \
             `Invalid timestamp` means this machine's clock is off by more than 30 seconds"
        )),
        403 => ProviderError::Unauthorized(format!(
            "{VENDOR} denied the API client access ({status} {what}); it needs DNS—Zone \
             Record Management READ-WRITE on the zone's contract"
        )),
        _ => ProviderError::api(status, format!("{VENDOR} answered {status} {what}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rdata: &[&str]) -> RecordSet {
        RecordSet::txt(
            "_acme-challenge.example.com",
            300,
            rdata.iter().map(|r| (*r).to_owned()).collect(),
        )
    }

    #[test]
    fn adding_keeps_the_others_and_quotes_the_value() {
        assert_eq!(
            with_value(set(&["\"other\""]), "mine"),
            Some(set(&["\"other\"", "\"mine\""]))
        );
        assert_eq!(with_value(set(&["\"mine\""]), "mine"), None);
        // A value stored bare, or split into strings, is still found.
        assert_eq!(with_value(set(&["mine"]), "mine"), None);
        assert_eq!(with_value(set(&["\"mi\" \"ne\""]), "mine"), None);
    }

    #[test]
    fn removing_keeps_the_others_as_read() {
        assert_eq!(
            without_value(set(&["\"other\"", "\"mine\""]), "mine"),
            Some(set(&["\"other\""]))
        );
        assert_eq!(without_value(set(&["\"other\""]), "mine"), None);
        assert_eq!(without_value(set(&["\"mine\""]), "mine"), Some(set(&[])));
    }

    #[test]
    fn record_sets_serialise_in_the_api_shape() {
        assert_eq!(
            serde_json::to_string(&set(&["\"v\""])).unwrap_or_default(),
            r#"{"name":"_acme-challenge.example.com","type":"TXT","ttl":300,"rdata":["\"v\""]}"#
        );
        let read: Result<RecordSet, _> = serde_json::from_str(
            r#"{"name": "_acme-challenge.example.com", "type": "TXT", "ttl": 300, "rdata": ["\"v\""]}"#,
        );
        assert_eq!(read.ok(), Some(set(&["\"v\""])));
    }

    #[test]
    fn hosts_are_checked_and_made_bare() {
        assert_eq!(
            checked_host(" https://AKAB-abc.luna.akamaiapis.net/ ").ok(),
            Some("akab-abc.luna.akamaiapis.net".to_owned())
        );
        assert!(checked_host("akab-abc.luna.akamaiapis.net/config-dns").is_err());
        assert!(checked_host("").is_err());
    }

    #[test]
    fn problems_are_described() {
        let parse = |s: &str| serde_json::from_str::<Problem>(s).unwrap_or_default();
        let deny = parse(
            r#"{"type": "https://problems.luna.akamaiapis.net/-/pep-authn/deny", "title": "Not authorized", "status": 401, "detail": "The signature does not match"}"#,
        );
        assert!(deny.is_authentication());
        assert_eq!(
            deny.describe(),
            "Not authorized: The signature does not match \
             (https://problems.luna.akamaiapis.net/-/pep-authn/deny)"
        );
        let missing = parse(r#"{"title": "Not Found", "status": 404}"#);
        assert!(!missing.is_authentication());
        assert_eq!(missing.describe(), "Not Found");
    }
}
