//! An acmebox DNS-01 provider for GoDaddy's DNS, through the GoDaddy Domains API (v1) with an
//! API key and secret.
//!
//! GoDaddy changes the TXT records at a name only as a set (`PUT` replaces every record of that
//! type and name), so every call reads the set, changes its own value and writes the rest back:
//!
//! * `present`: `GET /v1/domains/<domain>/records/TXT/<name>`; when the value is missing,
//!   `PUT` the same path with every record read plus `{"data": <value>, "ttl": <ttl>}`.
//! * `cleanup`: the same read; `PUT` the other records back, or `DELETE` the path when none is
//!   left. A value that is not there is success.
//!
//! Each read-modify-write round runs inside [`retry::retrying`], so a conflict or a 5xx starts
//! it over from the read (the domain lookup before it is retried the same way). The API has no conditional write: two writers at one name at the same
//! moment can still drop each other's value. acmebox runs the calls on one name one at a time,
//! which covers every writer inside one acmebox process.
//!
//! The domain is the zone the host passes, else the closest parent of the record's name for
//! which the records read above answers (GoDaddy answers 404 for a name that has no zone file).

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::{Deserialize, Serialize};

/// GoDaddy's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.godaddy.com";

/// The smallest TTL GoDaddy accepts.
const MIN_TTL: u32 = 600;

/// How the API is named in logs and errors.
const VENDOR: &str = "GoDaddy";

struct GoDaddy;

impl Provider for GoDaddy {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "the key of a GoDaddy production API key (lego: GODADDY_API_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "api_secret",
                    "the secret of that API key (lego: GODADDY_API_SECRET)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, without /v1 (default https://api.godaddy.com; the test \
                     environment is https://api.ote-godaddy.com)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            // GoDaddy's name servers can take a few minutes to serve a change.
            propagation_timeout_secs: 300,
            polling_interval_secs: 10,
            ..ProviderInfo::new(
                "godaddy",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the GoDaddy Domains API (v1)",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = retry::retrying(VENDOR, || api.domain_for(&record))?;
        let name = record_name(&record.fqdn, &domain);
        retry::retrying(VENDOR, || {
            let held = api.txt_records(&domain, &name)?;
            let Some(records) = with_value(held, &record.value, record.ttl.max(MIN_TTL)) else {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            };
            api.put(&domain, &name, &records)?;
            log::info!("added a TXT value at {} in domain {domain}", record.fqdn);
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = retry::retrying(VENDOR, || api.domain_for(&record))?;
        let name = record_name(&record.fqdn, &domain);
        retry::retrying(VENDOR, || {
            let held = api.txt_records(&domain, &name)?;
            let Some(rest) = without_value(held, &record.value) else {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            };
            if rest.is_empty() {
                api.delete(&domain, &name)?;
                log::info!("removed the TXT records at {}", record.fqdn);
            } else {
                api.put(&domain, &name, &rest)?;
                log::info!(
                    "removed a TXT value at {}, kept {} other(s)",
                    record.fqdn,
                    rest.len()
                );
            }
            Ok(())
        })
    }
}

acmebox_provider::export!(GoDaddy);

/// The record name of `fqdn` in `domain`: relative, `@` for the apex.
fn record_name(fqdn: &str, domain: &str) -> String {
    dns::relative_name(fqdn, domain)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "@".to_owned())
}

/// `held` with a record for `value` added, or `None` when one is there.
fn with_value(held: Vec<TxtData>, value: &str, ttl: u32) -> Option<Vec<TxtData>> {
    if held.iter().any(|r| r.data == value) {
        return None;
    }
    let mut all = held;
    all.push(TxtData {
        data: value.to_owned(),
        ttl,
    });
    Some(all)
}

/// `held` without the records for `value`, or `None` when there is none.
fn without_value(held: Vec<TxtData>, value: &str) -> Option<Vec<TxtData>> {
    let count = held.len();
    let rest: Vec<TxtData> = held.into_iter().filter(|r| r.data != value).collect();
    (rest.len() != count).then_some(rest)
}

/// A TXT record as read (`{"data", "name", "ttl", "type"}`) and as written back
/// (`{"data", "ttl"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
struct TxtData {
    data: String,
    ttl: u32,
}

/// An error body: `{"code": "UNABLE_TO_AUTHENTICATE", "message": "...", "fields": [...]}`; a
/// 429 adds `retryAfterSec`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fields: Vec<FieldError>,
    retry_after_sec: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct FieldError {
    #[serde(default)]
    path: String,
    #[serde(default)]
    message: String,
}

/// The API as configured.
struct Api {
    base: String,
    /// `sso-key <key>:<secret>`.
    authorization: String,
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
        let key = config::require("api_key")?;
        let secret = config::require("api_secret")?;
        Ok(Self {
            base,
            authorization: format!("sso-key {}:{}", key.trim(), secret.trim()),
        })
    }

    fn records_url(&self, domain: &str, name: &str) -> String {
        format!(
            "{}/v1/domains/{}/records/TXT/{}",
            self.base,
            http::encode_component(domain),
            http::encode_component(name)
        )
    }

    /// The GoDaddy domain holding `record.fqdn`.
    fn domain_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (domain, ()) = dns::find_zone(VENDOR, record, |candidate| {
            let url = self.records_url(candidate, &record_name(&record.fqdn, candidate));
            match self.send(http::Request::get(url)) {
                Ok(_) => Ok(Some(())),
                // 404: no zone file by that name; 422: not a name GoDaddy takes as a domain.
                Err(ProviderError::ApiError(e)) if e.status == 404 || e.status == 422 => {
                    log::debug!("{candidate} is not a GoDaddy domain here: {}", e.message);
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(domain)
    }

    /// The TXT records at `name`.
    fn txt_records(&self, domain: &str, name: &str) -> Result<Vec<TxtData>, ProviderError> {
        self.send(http::Request::get(self.records_url(domain, name)))?
            .json()
    }

    /// Replaces the TXT records at `name` with `records`.
    fn put(&self, domain: &str, name: &str, records: &[TxtData]) -> Result<(), ProviderError> {
        self.send(http::Request::put(self.records_url(domain, name)).json(records))?;
        Ok(())
    }

    /// Deletes every TXT record at `name`; none there is success.
    fn delete(&self, domain: &str, name: &str) -> Result<(), ProviderError> {
        match self.send(http::Request::delete(self.records_url(domain, name))) {
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Sends `request` with the key; maps GoDaddy's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request
            .header("authorization", &self.authorization)
            .header("accept", "application/json")
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let body = response.json::<ApiErrorBody>().ok();
        let message = body.as_ref().map_or_else(
            || response.text().chars().take(300).collect(),
            describe_error,
        );
        Err(match status {
            401 => ProviderError::Unauthorized(format!(
                "{VENDOR} refused the API key ({status}): {message}; check `api_key` and \
                 `api_secret` (a key made for the test environment only works with \
                 https://api.ote-godaddy.com)"
            )),
            403 => ProviderError::Unauthorized(format!(
                "{VENDOR} denied this API key access ({status}): {message}; GoDaddy opens the \
                 DNS API only to some accounts, and the key must belong to the domain's account"
            )),
            429 => ProviderError::RateLimited(
                response
                    .retry_after()
                    .or(body.and_then(|b| b.retry_after_sec)),
            ),
            _ => ProviderError::api(status, format!("{VENDOR} answered {status}: {message}")),
        })
    }
}

/// The operator-readable part of an error body: message, code, and each field's complaint.
fn describe_error(body: &ApiErrorBody) -> String {
    let mut message = match (body.message.is_empty(), body.code.is_empty()) {
        (false, false) => format!("{} ({})", body.message, body.code),
        (false, true) => body.message.clone(),
        (true, _) => body.code.clone(),
    };
    for field in &body.fields {
        message.push_str(&format!("; {}: {}", field.path, field.message));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(data: &str, ttl: u32) -> TxtData {
        TxtData {
            data: data.to_owned(),
            ttl,
        }
    }

    #[test]
    fn record_names_are_relative() {
        assert_eq!(
            record_name("_acme-challenge.www.example.com.", "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(record_name("example.com.", "Example.com"), "@");
    }

    #[test]
    fn adding_keeps_the_others_with_their_ttls() {
        assert_eq!(
            with_value(vec![txt("other", 3600)], "mine", 600),
            Some(vec![txt("other", 3600), txt("mine", 600)])
        );
        assert_eq!(with_value(vec![txt("mine", 3600)], "mine", 600), None);
    }

    #[test]
    fn removing_keeps_the_others() {
        assert_eq!(
            without_value(vec![txt("other", 3600), txt("mine", 600)], "mine"),
            Some(vec![txt("other", 3600)])
        );
        assert_eq!(without_value(vec![txt("other", 3600)], "mine"), None);
        assert_eq!(without_value(vec![txt("mine", 600)], "mine"), Some(vec![]));
    }

    #[test]
    fn records_parse_and_serialise_in_the_api_shapes() {
        let read: Vec<TxtData> = serde_json::from_str(
            r#"[{"data": "v", "name": "_acme-challenge", "ttl": 600, "type": "TXT"}]"#,
        )
        .unwrap_or_default();
        assert_eq!(read, [txt("v", 600)]);
        assert_eq!(
            serde_json::to_string(&read).unwrap_or_default(),
            r#"[{"data":"v","ttl":600}]"#
        );
    }

    #[test]
    fn error_bodies_become_messages() {
        let parse = |s: &str| serde_json::from_str::<ApiErrorBody>(s);
        let Ok(limit) = parse(
            r#"{"code": "TOO_MANY_REQUESTS", "message": "Too many requests received within interval", "retryAfterSec": 30}"#,
        ) else {
            panic!("a 429 body parses");
        };
        assert_eq!(limit.retry_after_sec, Some(30));
        let Ok(invalid) = parse(
            r#"{"code": "INVALID_BODY", "message": "Request body doesn't fulfill schema", "fields": [{"code": "UNEXPECTED_VALUE", "message": "must be at least 600", "path": "records[0].ttl"}]}"#,
        ) else {
            panic!("a 422 body parses");
        };
        assert_eq!(
            describe_error(&invalid),
            "Request body doesn't fulfill schema (INVALID_BODY); records[0].ttl: must be at least 600"
        );
    }
}
