//! An acmebox DNS-01 provider for Porkbun's DNS, through the Porkbun API v3 with an API key and
//! a secret API key.
//!
//! Porkbun keeps every TXT value as a record of its own with an id, so no call rewrites the
//! values of others. Every call is a `POST` whose JSON body carries `apikey` and `secretapikey`:
//!
//! * `present`: `dns/retrieveByNameType/<domain>/TXT/<subdomain>`; when the value is not there,
//!   `dns/create/<domain>` with it.
//! * `cleanup`: the same lookup, then `dns/delete/<domain>/<id>` for each record holding the
//!   value. Nothing found is success.
//!
//! The lookup doubles as zone discovery: Porkbun answers `Invalid domain.` for a name that is
//! not a domain of the account, so the domain is the zone the host passes, else the closest
//! parent of the record's name for which the lookup answers.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Porkbun's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.porkbun.com/api/json/v3";

/// The smallest TTL Porkbun accepts (also its default).
const MIN_TTL: u32 = 600;

/// Porkbun's error codes for missing or wrong credentials.
const AUTH_CODES: &[&str] = &[
    "API_KEY_REQUIRED",
    "INVALID_API_KEYS_001",
    "INVALID_API_KEYS_002",
    "INVALID_TOKEN",
    "INVALID_USER",
    "MISSING_APIKEY",
    "MISSING_SECRETAPIKEY",
];

struct Porkbun;

impl Provider for Porkbun {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "the Porkbun API key, pk1_... (lego: PORKBUN_API_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "secret_api_key",
                    "the Porkbun secret API key, sk1_... (lego: PORKBUN_SECRET_API_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://api.porkbun.com/api/json/v3)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 600,
            polling_interval_secs: 10,
            ..ProviderInfo::new(
                "porkbun",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Porkbun API v3",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let (domain, found) = api.lookup(&record)?;
        if found.iter().any(|r| r.holds(&record.value)) {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = json!({
            "name": subdomain(&record, &domain),
            "type": "TXT",
            "content": record.value,
            "ttl": record.ttl.max(MIN_TTL).to_string(),
        });
        api.call(
            &format!("dns/create/{}", http::encode_component(&domain)),
            body,
        )?;
        log::info!("added a TXT value at {} in domain {domain}", record.fqdn);
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let (domain, found) = api.lookup(&record)?;
        let mine: Vec<DnsRecord> = found
            .into_iter()
            .filter(|r| r.holds(&record.value))
            .collect();
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for found in mine {
            let id = found.id();
            let path = format!(
                "dns/delete/{}/{}",
                http::encode_component(&domain),
                http::encode_component(&id)
            );
            match api.call(&path, json!({})) {
                Ok(_) => log::info!("removed TXT record {id} at {}", record.fqdn),
                // Porkbun has no documented answer for a record that is already gone: look.
                Err(ProviderError::ApiError(e)) if !api.still_there(&domain, &record, &id)? => {
                    log::info!("TXT record {id} was already gone ({})", e.message);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(Porkbun);

/// A DNS record as `retrieveByNameType` returns it; Porkbun sends every field as a string.
#[derive(Debug, Deserialize)]
struct DnsRecord {
    id: Value,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    content: String,
}

impl DnsRecord {
    /// The record id as text, whether Porkbun sent a string or a number.
    fn id(&self) -> String {
        match &self.id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn holds(&self, value: &str) -> bool {
        self.kind.eq_ignore_ascii_case("TXT") && dns::unquote_txt(&self.content) == value
    }
}

#[derive(Debug, Deserialize)]
struct Records {
    #[serde(default)]
    records: Vec<DnsRecord>,
}

/// Porkbun's answer envelope: `{"status": "SUCCESS", ...}` or
/// `{"status": "ERROR", "code": "INVALID_DOMAIN", "message": "Invalid domain."}`.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    status: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "ttlRemaining")]
    ttl_remaining: Option<u32>,
}

/// What a Porkbun error means for the caller.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Credentials,
    NoSuchDomain,
    ApiAccessOff,
    RateLimited,
    Other,
}

/// Classifies an error answer by Porkbun's code, else its message, else the HTTP status.
fn refusal(status: u16, code: &str, message: &str) -> Refusal {
    let message = message.to_ascii_lowercase();
    if AUTH_CODES.contains(&code)
        || message.starts_with("invalid api key")
        || message.contains("require an api key")
    {
        Refusal::Credentials
    } else if code == "INVALID_DOMAIN" || message.starts_with("invalid domain") {
        Refusal::NoSuchDomain
    } else if code == "DOMAIN_NOT_ALLOWED" || message.contains("not opted in to api access") {
        Refusal::ApiAccessOff
    } else if status == 429 || code == "RATE_LIMIT_EXCEEDED" {
        Refusal::RateLimited
    } else if status == 401 || status == 403 {
        Refusal::Credentials
    } else {
        Refusal::Other
    }
}

/// The record's name relative to `domain`, empty for the apex, as Porkbun's `name` field wants.
fn subdomain(record: &TxtRecord, domain: &str) -> String {
    dns::relative_name(&record.fqdn, domain).unwrap_or_default()
}

/// The API as configured.
struct Api {
    base: String,
    api_key: String,
    secret_api_key: String,
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
            api_key: config::require("api_key")?.trim().to_owned(),
            secret_api_key: config::require("secret_api_key")?.trim().to_owned(),
        })
    }

    /// The domain holding `record.fqdn` and the TXT records at that name.
    fn lookup(&self, record: &TxtRecord) -> Result<(String, Vec<DnsRecord>), ProviderError> {
        dns::find_zone("Porkbun", record, |candidate| {
            match self.txt_records(candidate, record) {
                Ok(found) => Ok(Some(found)),
                Err(ProviderError::ZoneNotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// `retrieveByNameType` for TXT at `record.fqdn` in `domain`, keeping exactly that name.
    fn txt_records(
        &self,
        domain: &str,
        record: &TxtRecord,
    ) -> Result<Vec<DnsRecord>, ProviderError> {
        let mut path = format!(
            "dns/retrieveByNameType/{}/TXT",
            http::encode_component(domain)
        );
        let sub = subdomain(record, domain);
        if !sub.is_empty() {
            path = format!("{path}/{}", http::encode_component(&sub));
        }
        let found: Records = self.call(&path, json!({}))?.json()?;
        Ok(found
            .records
            .into_iter()
            .filter(|r| dns::same_name(&r.name, &record.fqdn))
            .collect())
    }

    /// Whether record `id` still holds `record.value` at its name.
    fn still_there(
        &self,
        domain: &str,
        record: &TxtRecord,
        id: &str,
    ) -> Result<bool, ProviderError> {
        Ok(self
            .txt_records(domain, record)?
            .iter()
            .any(|r| r.id() == id && r.holds(&record.value)))
    }

    /// POSTs `fields` plus the credentials to `path`; maps Porkbun's errors to the WIT
    /// variants. An unknown domain is [`ProviderError::ZoneNotFound`].
    fn call(&self, path: &str, fields: Value) -> Result<http::Response, ProviderError> {
        let mut body = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        body.insert("apikey".into(), Value::String(self.api_key.clone()));
        body.insert(
            "secretapikey".into(),
            Value::String(self.secret_api_key.clone()),
        );
        let response = http::Request::post(format!("{}/{path}", self.base))
            .json(&body)
            .send()?;
        let envelope = response.json::<Envelope>().unwrap_or_default();
        let refused = envelope.status.eq_ignore_ascii_case("ERROR");
        if response.is_success() && !refused {
            return Ok(response);
        }
        // Porkbun has answered errors with 200 too; report those as a 400.
        let status = if response.is_success() {
            400
        } else {
            response.status
        };
        let message = if envelope.message.is_empty() {
            response.text().chars().take(300).collect()
        } else if envelope.code.is_empty() {
            envelope.message.clone()
        } else {
            format!("{} ({})", envelope.message, envelope.code)
        };
        Err(match refusal(status, &envelope.code, &envelope.message) {
            Refusal::Credentials => ProviderError::Unauthorized(format!(
                "Porkbun refused the API key pair ({status}): {message}"
            )),
            Refusal::NoSuchDomain => ProviderError::ZoneNotFound(format!(
                "Porkbun has no such domain in this account ({status}): {message}"
            )),
            Refusal::ApiAccessOff => ProviderError::Unauthorized(format!(
                "Porkbun refused ({status}): {message}; turn on API access for the domain \
                     at https://porkbun.com/account/domainsSpeedy"
            )),
            Refusal::RateLimited => {
                ProviderError::RateLimited(response.retry_after().or(envelope.ttl_remaining))
            }
            Refusal::Other => {
                ProviderError::api(status, format!("Porkbun answered {status}: {message}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_by_code_message_and_status() {
        let cases = [
            (
                400,
                "INVALID_API_KEYS_002",
                "Invalid API key. (002)",
                Refusal::Credentials,
            ),
            (400, "", "Invalid API key. (001)", Refusal::Credentials),
            (
                400,
                "",
                "All API requests require an API key.",
                Refusal::Credentials,
            ),
            (403, "", "", Refusal::Credentials),
            (
                400,
                "INVALID_DOMAIN",
                "Invalid domain.",
                Refusal::NoSuchDomain,
            ),
            (400, "", "Invalid domain.", Refusal::NoSuchDomain),
            (403, "DOMAIN_NOT_ALLOWED", "", Refusal::ApiAccessOff),
            (
                400,
                "",
                "Domain is not opted in to API access.",
                Refusal::ApiAccessOff,
            ),
            (429, "", "", Refusal::RateLimited),
            (400, "RATE_LIMIT_EXCEEDED", "", Refusal::RateLimited),
            (
                400,
                "",
                "Edit error: We were unable to edit the DNS record.",
                Refusal::Other,
            ),
            (500, "", "", Refusal::Other),
        ];
        for (status, code, message, want) in cases {
            assert_eq!(
                refusal(status, code, message),
                want,
                "{status} {code} {message}"
            );
        }
    }

    #[test]
    fn records_match_bare_and_quoted_values() {
        let record = |content: &str, kind: &str| DnsRecord {
            id: json!("1"),
            kind: kind.into(),
            name: "_acme-challenge.example.com".into(),
            content: content.into(),
        };
        assert!(record("abc", "TXT").holds("abc"));
        assert!(record("\"abc\"", "txt").holds("abc"));
        assert!(!record("abc", "CNAME").holds("abc"));
        assert!(!record("abcd", "TXT").holds("abc"));
    }

    #[test]
    fn ids_as_strings_or_numbers() {
        let parsed: Records =
            serde_json::from_str(r#"{"records": [{"id": 7, "type": "TXT", "name": "a.b", "content": "c"}, {"id": "8", "type": "TXT", "name": "a.b", "content": "c"}]}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<String> = parsed.records.iter().map(DnsRecord::id).collect();
        assert_eq!(ids, ["7", "8"]);
    }
}
