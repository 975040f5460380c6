//! An acmebox DNS-01 provider for OVHcloud DNS zones, through the OVHcloud API v1 with an
//! application key, its secret and a consumer key.
//!
//! Every call first reads OVHcloud's clock (`GET /auth/time`, unauthenticated), then signs each
//! request with it ([`acmebox_provider::auth::ovh`]). OVHcloud keeps every TXT value as a
//! record of its own with an id, so no call rewrites the values of others:
//!
//! * `present`: `GET /domain/zone/<zone>/record?fieldType=TXT&subDomain=<sub>` for the ids,
//!   `GET /domain/zone/<zone>/record/<id>` for each; when none holds the value,
//!   `POST /domain/zone/<zone>/record`; then `POST /domain/zone/<zone>/refresh` to apply it
//!   (also when the value was there: an earlier call may have failed before refreshing).
//! * `cleanup`: the same lookup, then `DELETE /domain/zone/<zone>/record/<id>` for each record
//!   holding the value (a 404 is success) and one refresh. Nothing found is success.
//!
//! The zone is the one the host passes, else the closest parent of the record's name for which
//! `GET /domain/zone/<name>` answers.

use acmebox_provider::auth::ovh::{Credentials, Signer};
use acmebox_provider::http::Method;
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// The endpoint used when the operator names none.
const DEFAULT_ENDPOINT: &str = "ovh-eu";

/// The endpoint names of OVHcloud's official clients and the API base URLs they stand for.
const ENDPOINTS: [(&str, &str); 7] = [
    ("ovh-eu", "https://eu.api.ovh.com/1.0"),
    ("ovh-ca", "https://ca.api.ovh.com/1.0"),
    ("ovh-us", "https://api.us.ovhcloud.com/1.0"),
    ("kimsufi-eu", "https://eu.api.kimsufi.com/1.0"),
    ("kimsufi-ca", "https://ca.api.kimsufi.com/1.0"),
    ("soyoustart-eu", "https://eu.api.soyoustart.com/1.0"),
    ("soyoustart-ca", "https://ca.api.soyoustart.com/1.0"),
];

/// The smallest TTL OVHcloud accepts for a record.
const MIN_TTL: u32 = 60;

/// The most TXT records at one name read one by one; past it the call fails rather than
/// issue hundreds of requests.
const MAX_RECORDS_AT_NAME: usize = 100;

struct Ovh;

impl Provider for Ovh {
    fn describe() -> ProviderInfo {
        let hosts = api_base()
            .ok()
            .and_then(|base| http::origin(&base))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::optional(
                    "endpoint",
                    "the OVHcloud API: ovh-eu (default), ovh-ca, ovh-us, kimsufi-eu, kimsufi-ca, \
                     soyoustart-eu, soyoustart-ca, or a base URL (lego: OVH_ENDPOINT)",
                ),
                ConfigKey::required(
                    "application_key",
                    "the application key (AK) of an OVHcloud API application \
                     (lego: OVH_APPLICATION_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "application_secret",
                    "the application secret (AS) of that application (lego: OVH_APPLICATION_SECRET)",
                )
                .secret(),
                ConfigKey::required(
                    "consumer_key",
                    "a validated consumer key (CK) granted GET, POST and DELETE on \
                     /domain/zone/* (lego: OVH_CONSUMER_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, overriding `endpoint` \
                     (default https://eu.api.ovh.com/1.0)",
                ),
            ],
            hosts,
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "ovh",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the OVHcloud API v1, with signed requests",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        if !api.records_with_value(&zone, &record)?.is_empty() {
            // Refresh anyway: an earlier call may have created the record and failed to refresh.
            log::info!("TXT value already present at {}", record.fqdn);
            return api.refresh(&zone);
        }
        let body = serde_json::json!({
            "fieldType": "TXT",
            "subDomain": sub_domain(&record, &zone),
            "target": record.value,
            "ttl": record.ttl.max(MIN_TTL),
        });
        api.send(Method::Post, &api.records_url(&zone), Some(&body))?;
        api.refresh(&zone)?;
        log::info!("added a TXT value at {} in zone {zone}", record.fqdn);
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let mine = api.records_with_value(&zone, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
            return Ok(());
        }
        for id in mine {
            let url = format!("{}/{id}", api.records_url(&zone));
            match api.send(Method::Delete, &url, None) {
                Ok(_) => log::info!("removed TXT record {id} at {}", record.fqdn),
                Err(ProviderError::ApiError(e)) if e.status == 404 => {
                    log::info!("TXT record {id} was already gone");
                }
                Err(e) => return Err(e),
            }
        }
        api.refresh(&zone)
    }
}

acmebox_provider::export!(Ovh);

/// A DNS record as `GET /domain/zone/<zone>/record/<id>` returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZoneRecord {
    id: u64,
    field_type: String,
    sub_domain: String,
    target: String,
}

/// An error body: `{"errorCode": "INVALID_SIGNATURE", "httpCode": "400 Bad Request",
/// "message": "Invalid signature"}`, or `{"class": "Client::NotFound", "message": "..."}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiErrorBody {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    message: String,
}

/// The API base URL: `api_url`, else the `endpoint` name's URL or the `endpoint` URL itself.
fn api_base() -> Result<String, ProviderError> {
    if let Some(url) = config::get("api_url").filter(|u| !u.trim().is_empty()) {
        return checked_url("api_url", &url);
    }
    let endpoint = config::with_default("endpoint", DEFAULT_ENDPOINT);
    endpoint_url(endpoint.trim()).map_or_else(
        || checked_url("endpoint", &endpoint),
        |url| Ok(url.to_owned()),
    )
}

/// The base URL of an endpoint name (case-insensitive).
fn endpoint_url(name: &str) -> Option<&'static str> {
    ENDPOINTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, url)| *url)
}

/// `url` without a trailing slash, when it is an http(s) URL.
fn checked_url(key: &str, url: &str) -> Result<String, ProviderError> {
    let url = url.trim().trim_end_matches('/');
    if http::origin(url).is_none() {
        let names: Vec<&str> = ENDPOINTS.iter().map(|(n, _)| *n).collect();
        return Err(ProviderError::InvalidConfig(format!(
            "config key `{key}` ({url}) is neither an endpoint name ({}) nor an http:// or \
             https:// URL such as https://eu.api.ovh.com/1.0",
            names.join(", ")
        )));
    }
    Ok(url.to_owned())
}

/// `record.fqdn` relative to `zone`, empty for the apex: OVHcloud's `subDomain`.
fn sub_domain(record: &TxtRecord, zone: &str) -> String {
    dns::relative_name(&record.fqdn, zone).unwrap_or_default()
}

/// The API as configured, with OVHcloud's clock read.
struct Api {
    base: String,
    signer: Signer,
}

impl Api {
    /// Reads the config and OVHcloud's clock (`GET /auth/time`).
    fn from_config() -> Result<Self, ProviderError> {
        let base = api_base()?;
        let credentials = Credentials::new(
            config::require("application_key")?.trim(),
            config::require("application_secret")?.trim(),
            config::require("consumer_key")?.trim(),
        );
        let response = http::Request::get(format!("{base}/auth/time"))
            .header("x-ovh-application", credentials.application_key())
            .send()?;
        let server_time: u64 = checked(response)?.json()?;
        Ok(Self {
            base,
            signer: Signer::new(credentials, server_time),
        })
    }

    fn zone_url(&self, zone: &str) -> String {
        format!("{}/domain/zone/{}", self.base, http::encode_component(zone))
    }

    fn records_url(&self, zone: &str) -> String {
        format!("{}/record", self.zone_url(zone))
    }

    /// The zone holding `record.fqdn`. A name the consumer key may not read (403
    /// `NOT_GRANTED_CALL`, when its access rules name one zone) is not that zone.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (zone, ()) = dns::find_zone("OVHcloud", record, |candidate| {
            match self.send(Method::Get, &self.zone_url(candidate), None) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(ProviderError::Unauthorized(m)) if m.contains("NOT_GRANTED_CALL") => {
                    log::debug!("the consumer key may not read zone {candidate}");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(zone)
    }

    /// The ids of the TXT records at `record.fqdn` holding `record.value`.
    fn records_with_value(
        &self,
        zone: &str,
        record: &TxtRecord,
    ) -> Result<Vec<u64>, ProviderError> {
        let sub = sub_domain(record, zone);
        let url = format!(
            "{}?fieldType=TXT&subDomain={}",
            self.records_url(zone),
            http::encode_component(&sub)
        );
        let ids: Vec<u64> = self.send(Method::Get, &url, None)?.json()?;
        if ids.len() > MAX_RECORDS_AT_NAME {
            return Err(ProviderError::Other(format!(
                "OVHcloud holds {} TXT records at {}; more than {MAX_RECORDS_AT_NAME} is not \
                 a challenge name",
                ids.len(),
                record.fqdn
            )));
        }
        let mut found = Vec::new();
        for id in ids {
            let url = format!("{}/{id}", self.records_url(zone));
            let held: ZoneRecord = match self.send(Method::Get, &url, None) {
                Ok(response) => response.json()?,
                // Deleted between the listing and now.
                Err(ProviderError::ApiError(e)) if e.status == 404 => continue,
                Err(e) => return Err(e),
            };
            if held.field_type.eq_ignore_ascii_case("TXT")
                && held.sub_domain.eq_ignore_ascii_case(&sub)
                && dns::unquote_txt(&held.target) == record.value
            {
                found.push(held.id);
            }
        }
        Ok(found)
    }

    /// Applies the zone's pending changes.
    fn refresh(&self, zone: &str) -> Result<(), ProviderError> {
        let url = format!("{}/refresh", self.zone_url(zone));
        self.send(Method::Post, &url, None)?;
        Ok(())
    }

    /// Sends a signed request; maps OVHcloud's errors to the WIT variants.
    fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<http::Response, ProviderError> {
        checked(self.signer.request(method, url, body).send()?)
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
    let body = response.json::<ApiErrorBody>().unwrap_or_default();
    let code = body.error_code.or(body.class).unwrap_or_default();
    let message = if body.message.is_empty() {
        response.text().chars().take(300).collect()
    } else {
        body.message
    };
    Err(match (status, code.as_str()) {
        (401 | 403, _) | (400, "INVALID_SIGNATURE") => ProviderError::Unauthorized(format!(
            "OVHcloud refused the credentials ({status} {code}): {message}"
        )),
        (400, "QUERY_TIME_DELTA_TOO_HIGH") => ProviderError::Unauthorized(format!(
            "OVHcloud refused the request's timestamp ({status} {code}): {message}"
        )),
        _ => ProviderError::api(
            status,
            format!("OVHcloud answered {status} {code}: {message}"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_map_to_the_official_clients_urls() {
        assert_eq!(endpoint_url("ovh-eu"), Some("https://eu.api.ovh.com/1.0"));
        assert_eq!(endpoint_url("OVH-CA"), Some("https://ca.api.ovh.com/1.0"));
        assert_eq!(
            endpoint_url("ovh-us"),
            Some("https://api.us.ovhcloud.com/1.0")
        );
        assert_eq!(
            endpoint_url("kimsufi-eu"),
            Some("https://eu.api.kimsufi.com/1.0")
        );
        assert_eq!(endpoint_url("ovh-mars"), None);
    }

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            checked_url("endpoint", "https://eu.api.ovh.com/1.0/").ok(),
            Some("https://eu.api.ovh.com/1.0".to_owned())
        );
        assert!(checked_url("endpoint", "ovh-mars").is_err());
    }

    #[test]
    fn sub_domains_are_relative_and_empty_at_the_apex() {
        let record = |fqdn: &str| TxtRecord {
            domain: "example.com".into(),
            fqdn: fqdn.into(),
            value: "v".into(),
            ttl: 60,
            zone: None,
        };
        assert_eq!(
            sub_domain(&record("_acme-challenge.www.example.com."), "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(sub_domain(&record("example.com."), "example.com"), "");
    }

    #[test]
    fn error_bodies_parse() {
        let body: ApiErrorBody = serde_json::from_str(
            r#"{"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"Invalid signature"}"#,
        )
        .unwrap_or_default();
        assert_eq!(body.error_code.as_deref(), Some("INVALID_SIGNATURE"));
        let body: ApiErrorBody = serde_json::from_str(
            r#"{"class":"Client::NotFound","message":"This service does not exist"}"#,
        )
        .unwrap_or_default();
        assert_eq!(body.class.as_deref(), Some("Client::NotFound"));
    }
}
