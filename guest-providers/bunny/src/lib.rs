//! An acmebox DNS-01 provider for Bunny DNS, through the bunny.net API with the account's API
//! key.
//!
//! Bunny DNS keeps every TXT value as a record of its own with an id, so no call rewrites the
//! values of others:
//!
//! * `present`: `GET /dnszone/<zone id>` (the zone with its records); when the value is not
//!   there, `PUT /dnszone/<zone id>/records` with it.
//! * `cleanup`: the same read, then `DELETE /dnszone/<zone id>/records/<record id>` for each
//!   record holding the value. Nothing found, or a 404 on the delete, is success.
//!
//! The zone id is found with `GET /dnszone?search=<name>`: for the zone the host passes, else
//! for the record's name and each parent in turn, the first zone whose domain is exactly that
//! name.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;
use serde_json::Value;

/// The bunny.net API's base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.bunny.net";

/// Bunny's number for the TXT record type (0 is A, 1 AAAA, 2 CNAME, 3 TXT, ...).
const TXT: u64 = 3;

/// The smallest TTL the provider asks Bunny for.
const MIN_TTL: u32 = 60;

/// Zones per page when searching (the API's maximum).
const PER_PAGE: u32 = 1000;

/// The most pages of zones read for one search.
const MAX_PAGES: u32 = 20;

struct Bunny;

impl Provider for Bunny {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "the bunny.net account API key, sent as the AccessKey header \
                     (lego: BUNNY_API_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://api.bunny.net)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "bunny",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the bunny.net DNS API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let (domain, zone_id) = api.zone_for(&record)?;
        let name = record_name(&record.fqdn, &domain)?;
        if !api.records_with_value(zone_id, &name, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = serde_json::json!({
            "Type": TXT,
            "Name": name,
            "Value": record.value,
            "Ttl": record.ttl.max(MIN_TTL),
        });
        api.send(http::Request::put(api.records_url(zone_id)).json(&body))?;
        log::info!("added a TXT value at {} in zone {domain}", record.fqdn);
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let (domain, zone_id) = api.zone_for(&record)?;
        let name = record_name(&record.fqdn, &domain)?;
        let mine = api.records_with_value(zone_id, &name, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for id in mine {
            let url = format!("{}/{id}", api.records_url(zone_id));
            match api.send(http::Request::delete(url)) {
                Ok(_) => log::info!("removed TXT record {id} at {}", record.fqdn),
                Err(ProviderError::ApiError(e)) if e.status == 404 => {
                    log::info!("TXT record {id} was already gone");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(Bunny);

/// A page of `GET /dnszone`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZonePage {
    #[serde(default)]
    items: Vec<ZoneSummary>,
    #[serde(default)]
    has_more_items: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneSummary {
    id: u64,
    domain: String,
}

/// `GET /dnszone/<id>`: the zone and its records.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Zone {
    #[serde(default)]
    records: Vec<DnsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DnsRecord {
    id: u64,
    /// A number (3 for TXT) in the API's answers; a name (`"TXT"`) in parts of its reference.
    #[serde(rename = "Type")]
    kind: Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

/// An error body: `{"ErrorKey": "...", "Field": "...", "Message": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiErrorBody {
    #[serde(default)]
    error_key: Option<String>,
    #[serde(default)]
    field: Option<String>,
    message: String,
}

/// The API as configured.
struct Api {
    base: String,
    key: String,
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
            key: config::require("api_key")?.trim().to_owned(),
        })
    }

    fn records_url(&self, zone_id: u64) -> String {
        format!("{}/dnszone/{zone_id}/records", self.base)
    }

    /// The bare domain and the id of the zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<(String, u64), ProviderError> {
        dns::find_zone("Bunny DNS", record, |candidate| self.zone_named(candidate))
    }

    /// The id of the zone whose domain is `name`, reading every page of the search.
    fn zone_named(&self, name: &str) -> Result<Option<u64>, ProviderError> {
        for page in 1..=MAX_PAGES {
            let url = format!(
                "{}/dnszone?search={}&page={page}&perPage={PER_PAGE}",
                self.base,
                http::encode_component(name)
            );
            let found: ZonePage = self.send(http::Request::get(url))?.json()?;
            if let Some(zone) = found.items.iter().find(|z| dns::same_name(&z.domain, name)) {
                return Ok(Some(zone.id));
            }
            if !found.has_more_items {
                return Ok(None);
            }
        }
        Err(ProviderError::Other(format!(
            "Bunny DNS listed more than {MAX_PAGES} pages of zones matching {name}"
        )))
    }

    /// The ids of the TXT records at `name` (relative, empty for the apex) holding
    /// `record.value`.
    fn records_with_value(
        &self,
        zone_id: u64,
        name: &str,
        record: &TxtRecord,
    ) -> Result<Vec<u64>, ProviderError> {
        let url = format!("{}/dnszone/{zone_id}", self.base);
        let zone: Zone = self.send(http::Request::get(url))?.json()?;
        Ok(zone
            .records
            .iter()
            .filter(|r| {
                is_txt(&r.kind)
                    && same_relative_name(&r.name, name)
                    && dns::unquote_txt(&r.value) == record.value
            })
            .map(|r| r.id)
            .collect())
    }

    /// Sends `request` with the API key; maps Bunny's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request
            .header("accesskey", &self.key)
            .header("accept", "application/json")
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ApiErrorBody>()
            .map(|e| error_message(&e))
            .unwrap_or_else(|_| response.text().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "Bunny refused the API key ({status}): {message}"
            )),
            429 => ProviderError::RateLimited(response.retry_after()),
            _ => ProviderError::api(status, format!("Bunny answered {status}: {message}")),
        })
    }
}

/// The name of `fqdn` relative to `domain`, empty for the apex, as Bunny names records.
fn record_name(fqdn: &str, domain: &str) -> Result<String, ProviderError> {
    dns::relative_name(fqdn, domain).ok_or_else(|| {
        ProviderError::Other(format!(
            "{fqdn} is not in zone {domain}, the zone it was given"
        ))
    })
}

/// Whether a record's name is `name`, ignoring case; `@` and the empty name are the apex.
fn same_relative_name(stored: &str, name: &str) -> bool {
    let apex = |n: &str| n.is_empty() || n == "@";
    (apex(stored) && apex(name)) || stored.eq_ignore_ascii_case(name)
}

/// Whether a record's `Type` is TXT, as the number 3 or the name.
fn is_txt(kind: &Value) -> bool {
    match kind {
        Value::Number(n) => n.as_u64() == Some(TXT),
        Value::String(s) => s.eq_ignore_ascii_case("TXT"),
        _ => false,
    }
}

/// `Message (ErrorKey: Field)`, with the parts Bunny sent.
fn error_message(body: &ApiErrorBody) -> String {
    let detail: Vec<&str> = [&body.error_key, &body.field]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if detail.is_empty() {
        body.message.clone()
    } else {
        format!("{} ({})", body.message, detail.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_relative_with_an_empty_apex() {
        let name = |fqdn, domain| record_name(fqdn, domain).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            name("_acme-challenge.a.example.com.", "example.com"),
            "_acme-challenge.a"
        );
        assert_eq!(name("example.com.", "example.com"), "");
        assert!(record_name("example.org.", "example.com").is_err());
    }

    #[test]
    fn names_match_ignoring_case_and_apex_spelling() {
        assert!(same_relative_name("_ACME-challenge", "_acme-challenge"));
        assert!(same_relative_name("@", ""));
        assert!(same_relative_name("", ""));
        assert!(!same_relative_name(
            "_acme-challenge.www",
            "_acme-challenge"
        ));
    }

    #[test]
    fn txt_type_as_number_or_name() {
        assert!(is_txt(&serde_json::json!(3)));
        assert!(is_txt(&serde_json::json!("TXT")));
        assert!(!is_txt(&serde_json::json!(0)));
        assert!(!is_txt(&serde_json::json!("A")));
        assert!(!is_txt(&Value::Null));
    }

    #[test]
    fn error_messages_name_key_and_field() {
        let body: ApiErrorBody = serde_json::from_str(
            r#"{"ErrorKey":"validation_error","Field":"Ttl","Message":"The TTL is invalid."}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            error_message(&body),
            "The TTL is invalid. (validation_error: Ttl)"
        );
        let bare: ApiErrorBody =
            serde_json::from_str(r#"{"Message":"denied"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(error_message(&bare), "denied");
    }
}
