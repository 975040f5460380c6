//! An acmebox DNS-01 provider for Gandi's LiveDNS, through the LiveDNS API of Gandi's v5 API
//! with a personal access token (or a legacy API key).
//!
//! LiveDNS keeps the TXT values at a name as one rrset, which the API only replaces whole
//! (`rrset_values`), so every call reads the rrset, changes its own value and writes the rest
//! back:
//!
//! * `present`: `GET /domains/<domain>/records/<name>/TXT` (404: no rrset yet); when the value
//!   is missing, `PUT` the same path with `{"rrset_values": [...all values, the new one],
//!   "rrset_ttl": <ttl>}`.
//! * `cleanup`: the same read; `PUT` the other values back, or `DELETE` the rrset when none is
//!   left. A value that is not there is success.
//!
//! Each read-modify-write round runs inside [`retry::retrying`], so a conflict or a 5xx starts
//! it over from the read (the domain lookup before it is retried the same way). LiveDNS has no conditional write: two writers at one name at the same
//! moment can still drop each other's value. acmebox runs the calls on one name one at a time,
//! which covers every writer inside one acmebox process.
//!
//! The domain is the zone the host passes, else the closest parent of the record's name for
//! which `GET /domains/<name>` answers.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::Deserialize;

/// The LiveDNS API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.gandi.net/v5/livedns";

/// The smallest TTL LiveDNS accepts for an rrset.
const MIN_TTL: u32 = 300;

/// How the API is named in logs and errors.
const VENDOR: &str = "Gandi LiveDNS";

struct Gandi;

impl Provider for Gandi {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::optional(
                    "personal_access_token",
                    "a Gandi personal access token allowed to manage the domain's technical \
                     configuration, sent as `Authorization: Bearer`; this or `api_key` is \
                     required (lego: GANDIV5_PERSONAL_ACCESS_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_key",
                    "a legacy Gandi API key, sent as `Authorization: Apikey`, used only when no \
                     `personal_access_token` is set; deprecated by Gandi (lego: GANDIV5_API_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the LiveDNS API base URL (default https://api.gandi.net/v5/livedns; the \
                     sandbox is https://api.sandbox.gandi.net/v5/livedns)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            // LiveDNS usually serves a change within a minute, sometimes after several.
            propagation_timeout_secs: 600,
            polling_interval_secs: 10,
            ..ProviderInfo::new(
                "gandi",
                env!("CARGO_PKG_VERSION"),
                "TXT records through Gandi's LiveDNS API (v5)",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = retry::retrying(VENDOR, || api.domain_for(&record))?;
        let name = rrset_name(&record.fqdn, &domain);
        retry::retrying(VENDOR, || {
            let rrset = api.txt_rrset(&domain, &name)?;
            let Some(values) = with_value(&rrset.values, &record.value) else {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            };
            api.put(&domain, &name, &values, record.ttl.max(MIN_TTL))?;
            log::info!("added a TXT value at {} in domain {domain}", record.fqdn);
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = retry::retrying(VENDOR, || api.domain_for(&record))?;
        let name = rrset_name(&record.fqdn, &domain);
        retry::retrying(VENDOR, || {
            let rrset = api.txt_rrset(&domain, &name)?;
            let Some(rest) = without_value(&rrset.values, &record.value) else {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            };
            if rest.is_empty() {
                api.delete(&domain, &name)?;
                log::info!("removed the TXT rrset at {}", record.fqdn);
            } else {
                let ttl = rrset.ttl.unwrap_or(record.ttl).max(MIN_TTL);
                api.put(&domain, &name, &rest, ttl)?;
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

acmebox_provider::export!(Gandi);

/// The name of the rrset holding `fqdn` in `domain`: relative, `@` for the apex.
fn rrset_name(fqdn: &str, domain: &str) -> String {
    dns::relative_name(fqdn, domain)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "@".to_owned())
}

/// `values` (as LiveDNS holds them, quoted) with `value` added, or `None` when it is there.
fn with_value(values: &[String], value: &str) -> Option<Vec<String>> {
    if values.iter().any(|v| dns::unquote_txt(v) == value) {
        return None;
    }
    let mut all = values.to_vec();
    all.push(dns::quote_txt(value));
    Some(all)
}

/// `values` without `value`, or `None` when it is not there. The others stay byte for byte.
fn without_value(values: &[String], value: &str) -> Option<Vec<String>> {
    let rest: Vec<String> = values
        .iter()
        .filter(|v| dns::unquote_txt(v) != value)
        .cloned()
        .collect();
    (rest.len() != values.len()).then_some(rest)
}

/// A TXT rrset as `GET /domains/<domain>/records/<name>/TXT` returns it.
#[derive(Debug, Default, Deserialize)]
struct Rrset {
    #[serde(rename = "rrset_values", default)]
    values: Vec<String>,
    #[serde(rename = "rrset_ttl")]
    ttl: Option<u32>,
}

/// An error body: `{"code": 401, "message": "...", "object": "HTTPUnauthorized", "cause":
/// "Unauthorized"}`; validation errors add `errors: [{"name", "description"}]`.
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Debug, Deserialize)]
struct FieldError {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// How requests authenticate.
enum Credential {
    /// A personal access token: `Authorization: Bearer <token>`.
    Token(String),
    /// A legacy API key: `Authorization: Apikey <key>`.
    ApiKey(String),
}

/// The API as configured.
struct Api {
    base: String,
    credential: Credential,
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
        let set = |key: &str| {
            config::get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let credential = match (set("personal_access_token"), set("api_key")) {
            (Some(token), _) => Credential::Token(token),
            (None, Some(key)) => Credential::ApiKey(key),
            (None, None) => {
                return Err(ProviderError::InvalidConfig(
                    "set config key `personal_access_token` (a Gandi personal access token) or \
                     the deprecated `api_key`"
                        .into(),
                ));
            }
        };
        Ok(Self { base, credential })
    }

    fn rrset_url(&self, domain: &str, name: &str) -> String {
        format!(
            "{}/domains/{}/records/{}/TXT",
            self.base,
            http::encode_component(domain),
            http::encode_component(name)
        )
    }

    /// The LiveDNS domain holding `record.fqdn`.
    fn domain_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (domain, ()) = dns::find_zone(VENDOR, record, |candidate| {
            let url = format!(
                "{}/domains/{}",
                self.base,
                http::encode_component(candidate)
            );
            match self.send(http::Request::get(url)) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(domain)
    }

    /// The TXT rrset at `name`; empty when there is none.
    fn txt_rrset(&self, domain: &str, name: &str) -> Result<Rrset, ProviderError> {
        match self.send(http::Request::get(self.rrset_url(domain, name))) {
            Ok(response) => response.json(),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(Rrset::default()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the TXT rrset at `name` with `values`.
    fn put(
        &self,
        domain: &str,
        name: &str,
        values: &[String],
        ttl: u32,
    ) -> Result<(), ProviderError> {
        let body = serde_json::json!({ "rrset_values": values, "rrset_ttl": ttl });
        self.send(http::Request::put(self.rrset_url(domain, name)).json(&body))?;
        Ok(())
    }

    /// Deletes the TXT rrset at `name`; one already gone is success.
    fn delete(&self, domain: &str, name: &str) -> Result<(), ProviderError> {
        match self.send(http::Request::delete(self.rrset_url(domain, name))) {
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Sends `request` with the credential; maps LiveDNS's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let request = match &self.credential {
            Credential::Token(token) => request.bearer_auth(token),
            Credential::ApiKey(key) => request.header("authorization", format!("Apikey {key}")),
        };
        let response = request.send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = error_message(&response);
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "{VENDOR} refused the credentials ({status}): {message}; check that the token \
                 has not expired and may manage the technical configuration of the domain"
            )),
            429 => ProviderError::RateLimited(response.retry_after()),
            _ => ProviderError::api(status, format!("{VENDOR} answered {status}: {message}")),
        })
    }
}

/// The operator-readable part of an error response.
fn error_message(response: &http::Response) -> String {
    let Ok(body) = response.json::<ApiErrorBody>() else {
        return response.text().chars().take(300).collect();
    };
    let mut message = body.message;
    if !body.cause.is_empty() && body.cause != message {
        message = format!("{message} ({})", body.cause);
    }
    for field in body.errors {
        message.push_str(&format!("; {}: {}", field.name, field.description));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrset_names_are_relative() {
        assert_eq!(
            rrset_name("_acme-challenge.www.example.com.", "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(rrset_name("Example.COM.", "example.com"), "@");
    }

    #[test]
    fn adding_keeps_the_others_and_quotes_the_new_value() {
        let held = vec!["\"other\"".to_owned()];
        assert_eq!(
            with_value(&held, "mine"),
            Some(vec!["\"other\"".to_owned(), "\"mine\"".to_owned()])
        );
        assert_eq!(with_value(&["\"mine\"".to_owned()], "mine"), None);
        assert_eq!(with_value(&["mine".to_owned()], "mine"), None);
        assert_eq!(with_value(&[], "v"), Some(vec!["\"v\"".to_owned()]));
    }

    #[test]
    fn removing_keeps_the_others_untouched() {
        let held = vec!["\"a\" \"b\"".to_owned(), "\"mine\"".to_owned()];
        assert_eq!(
            without_value(&held, "mine"),
            Some(vec!["\"a\" \"b\"".to_owned()])
        );
        assert_eq!(without_value(&held, "absent"), None);
        assert_eq!(
            without_value(&["\"mine\"".to_owned()], "mine"),
            Some(vec![])
        );
    }

    #[test]
    fn error_bodies_become_messages() {
        let response = |body: &str| http::Response {
            status: 400,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            error_message(&response(
                r#"{"code": 404, "message": "The resource could not be found.", "object": "HTTPNotFound", "cause": "Not Found"}"#
            )),
            "The resource could not be found. (Not Found)"
        );
        assert_eq!(
            error_message(&response(
                r#"{"code": 400, "message": "Validation error", "cause": "Bad Request", "errors": [{"location": "body", "name": "rrset_ttl", "description": "must be at least 300"}]}"#
            )),
            "Validation error (Bad Request); rrset_ttl: must be at least 300"
        );
        assert_eq!(
            error_message(&response("<html>oops</html>")),
            "<html>oops</html>"
        );
    }
}
