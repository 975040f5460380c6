//! An acmebox DNS-01 provider for Azure DNS, through the Azure Resource Manager (ARM) record-set
//! API (api-version 2018-05-01) with a service principal's client secret.
//!
//! Every call first exchanges the client id and secret for an access token at the Microsoft
//! identity platform (`POST <authority>/<tenant>/oauth2/v2.0/token`, client-credentials grant,
//! scope `<ARM>/.default`). Azure keeps the TXT values of a name in one record set, replaced
//! whole, so both calls read, change and write it back under the set's ETag, and run the round
//! again when another writer got there first (412):
//!
//! * `present`: `GET …/dnsZones/<zone>/TXT/<name>`; when the value is not there, `PUT` the set
//!   with it added (`If-Match: <etag>`), or a new set (`If-None-Match: *`).
//! * `cleanup`: the same read; `PUT` the set without the value (`If-Match`), or `DELETE` it
//!   (`If-Match`) when the value was its last.
//!
//! The zone is the `zone_name` key, else the zone acmebox passes or the closest parent of the
//! record's name among the zones of the resource group (`GET …/dnsZones`).

use acmebox_provider::auth::oauth;
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The ARM API version the record-set calls use.
const API_VERSION: &str = "2018-05-01";

/// The longest string of a TXT record Azure takes; longer values are split.
const MAX_TXT_STRING: usize = 255;

/// Pages of the zone list read at most.
const MAX_ZONE_PAGES: usize = 50;

/// The vendor name in errors and retry logs.
const VENDOR: &str = "Azure DNS";

/// The Azure clouds lego's `AZURE_ENVIRONMENT` names: (name, ARM endpoint, identity platform).
const ENVIRONMENTS: &[(&str, &str, &str)] = &[
    (
        "public",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
    ),
    (
        "usgovernment",
        "https://management.usgovcloudapi.net",
        "https://login.microsoftonline.us",
    ),
    (
        "china",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
    ),
];

struct Azure;

impl Provider for Azure {
    fn describe() -> ProviderInfo {
        let hosts = match Endpoints::from_config() {
            Ok(e) => e.hosts(),
            Err(_) => Vec::new(),
        };
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "tenant_id",
                    "the Microsoft Entra tenant (directory) id of the service principal \
                     (lego: AZURE_TENANT_ID)",
                ),
                ConfigKey::required(
                    "client_id",
                    "the application (client) id of the service principal (lego: AZURE_CLIENT_ID)",
                ),
                ConfigKey::required(
                    "client_secret",
                    "a client secret value of the service principal (lego: AZURE_CLIENT_SECRET)",
                )
                .secret(),
                ConfigKey::required(
                    "subscription_id",
                    "the subscription holding the DNS zones (lego: AZURE_SUBSCRIPTION_ID)",
                ),
                ConfigKey::required(
                    "resource_group",
                    "the resource group holding the DNS zones (lego: AZURE_RESOURCE_GROUP)",
                ),
                ConfigKey::optional(
                    "zone_name",
                    "the DNS zone to use instead of looking it up in the resource group \
                     (lego: AZURE_ZONE_NAME)",
                ),
                ConfigKey::optional(
                    "environment",
                    "the Azure cloud: public (default), usgovernment or china \
                     (lego: AZURE_ENVIRONMENT)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the Azure Resource Manager base URL (default the environment's, \
                     https://management.azure.com)",
                ),
                ConfigKey::optional(
                    "authority_url",
                    "the Microsoft identity platform base URL (default the environment's, \
                     https://login.microsoftonline.com; with only api_url set, api_url's origin)",
                ),
            ],
            hosts,
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "azure",
                env!("CARGO_PKG_VERSION"),
                "TXT record sets through the Azure DNS Resource Manager API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let name = record_set_name(&record.fqdn, &zone)?;
        retry::retrying(VENDOR, || {
            let Some(set) = api.record_set(&zone, &name)? else {
                let body = set_body(&json!({}), record.ttl, std::slice::from_ref(&record.value));
                api.put_set(&zone, &name, &body, Precondition::Absent)?;
                log::info!("created the TXT record set {name} in zone {zone}");
                return Ok(());
            };
            let mut values = set.values();
            if values.contains(&record.value) {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            }
            values.push(record.value.clone());
            let ttl = set.properties.ttl.unwrap_or(record.ttl);
            let body = set_body(&set.properties.metadata, ttl, &values);
            api.put_set(&zone, &name, &body, Precondition::Etag(&set.etag))?;
            log::info!(
                "added a TXT value to {name} in zone {zone} ({} now)",
                values.len()
            );
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let name = record_set_name(&record.fqdn, &zone)?;
        retry::retrying(VENDOR, || {
            let Some(set) = api.record_set(&zone, &name)? else {
                log::info!("no TXT record set at {}", record.fqdn);
                return Ok(());
            };
            let values = set.values();
            let rest: Vec<String> = values
                .iter()
                .filter(|v| **v != record.value)
                .cloned()
                .collect();
            if rest.len() == values.len() {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            }
            if rest.is_empty() {
                api.delete_set(&zone, &name, &set.etag)?;
                log::info!("removed the TXT record set {name} in zone {zone}");
                return Ok(());
            }
            let ttl = set.properties.ttl.unwrap_or(record.ttl);
            let body = set_body(&set.properties.metadata, ttl, &rest);
            api.put_set(&zone, &name, &body, Precondition::Etag(&set.etag))?;
            log::info!(
                "removed a TXT value from {name} in zone {zone} ({} left)",
                rest.len()
            );
            Ok(())
        })
    }
}

acmebox_provider::export!(Azure);

/// A TXT record set as ARM returns it.
#[derive(Debug, Deserialize)]
struct RecordSet {
    #[serde(default)]
    etag: String,
    #[serde(default)]
    properties: SetProperties,
}

#[derive(Debug, Default, Deserialize)]
struct SetProperties {
    #[serde(rename = "TTL", default)]
    ttl: Option<u32>,
    #[serde(default)]
    metadata: Value,
    #[serde(rename = "TXTRecords", default)]
    txt_records: Vec<TxtStrings>,
}

/// One TXT record: its strings, joined to make the value.
#[derive(Debug, Deserialize)]
struct TxtStrings {
    #[serde(default)]
    value: Vec<String>,
}

impl RecordSet {
    fn values(&self) -> Vec<String> {
        self.properties
            .txt_records
            .iter()
            .map(|r| r.value.concat())
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct ZonePage {
    #[serde(default)]
    value: Vec<Zone>,
    #[serde(rename = "nextLink", default)]
    next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Zone {
    name: String,
}

/// ARM's error body: `{"error": {"code": "ResourceNotFound", "message": "..."}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What a write asks of the set's current state.
enum Precondition<'a> {
    /// The set must not exist yet (`If-None-Match: *`).
    Absent,
    /// The set must still have this ETag (`If-Match`).
    Etag(&'a str),
}

/// The ARM and identity platform base URLs and the token scope, from the config.
struct Endpoints {
    arm: String,
    authority: String,
    scope: String,
}

impl Endpoints {
    fn from_config() -> Result<Self, ProviderError> {
        let environment = config::with_default("environment", "public");
        let Some((_, arm, login)) = ENVIRONMENTS
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(environment.trim()))
        else {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `environment` is `{environment}`; use public, usgovernment or china"
            )));
        };
        let api_url = config::get("api_url").filter(|u| !u.trim().is_empty());
        let authority_url = config::get("authority_url").filter(|u| !u.trim().is_empty());
        let arm_base = base_url("api_url", api_url.as_deref().unwrap_or(arm))?;
        let authority = match (authority_url, &api_url) {
            (Some(url), _) => base_url("authority_url", &url)?,
            // One gateway or emulator serving both: the token endpoint on api_url's origin.
            (None, Some(_)) => http::origin(&arm_base).unwrap_or_default(),
            (None, None) => (*login).to_owned(),
        };
        Ok(Self {
            arm: arm_base,
            authority,
            scope: format!("{arm}/.default"),
        })
    }

    /// The origins the provider talks to, without repeats.
    fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for origin in [http::origin(&self.arm), http::origin(&self.authority)]
            .into_iter()
            .flatten()
        {
            if !hosts.contains(&origin) {
                hosts.push(origin);
            }
        }
        hosts
    }
}

/// `url` without trailing slashes, or an error naming `key` when it is not http(s).
fn base_url(key: &str, url: &str) -> Result<String, ProviderError> {
    let url = url.trim().trim_end_matches('/').to_owned();
    if http::origin(&url).is_none() {
        return Err(ProviderError::InvalidConfig(format!(
            "config key `{key}` ({url}) is not an http:// or https:// URL"
        )));
    }
    Ok(url)
}

/// The API as configured, with an access token.
struct Api {
    arm: String,
    /// `/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/dnsZones`.
    zones_path: String,
    zone_name: Option<String>,
    token: oauth::AccessToken,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let endpoints = Endpoints::from_config()?;
        let tenant = config::require("tenant_id")?.trim().to_owned();
        let client_id = config::require("client_id")?.trim().to_owned();
        let client_secret = config::require("client_secret")?;
        let subscription = config::require("subscription_id")?.trim().to_owned();
        let resource_group = config::require("resource_group")?.trim().to_owned();
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            endpoints.authority,
            http::encode_component(&tenant)
        );
        let token = oauth::client_credentials(
            &token_url,
            &client_id,
            client_secret.trim(),
            &endpoints.scope,
        )?;
        Ok(Self {
            arm: endpoints.arm,
            zones_path: format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/dnsZones",
                http::encode_component(&subscription),
                http::encode_component(&resource_group)
            ),
            zone_name: config::get("zone_name")
                .map(|z| dns::bare(&z))
                .filter(|z| !z.is_empty()),
            token,
        })
    }

    fn set_url(&self, zone: &str, name: &str) -> String {
        format!(
            "{}{}/{}/TXT/{}?api-version={API_VERSION}",
            self.arm,
            self.zones_path,
            http::encode_component(zone),
            http::encode_component(name)
        )
    }

    /// The zone holding `record.fqdn`: `zone_name` when set, else looked up in the resource
    /// group's zones.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        if let Some(zone) = &self.zone_name {
            if !dns::is_within(&record.fqdn, zone) {
                return Err(ProviderError::ZoneNotFound(format!(
                    "{} is not in zone {zone} (config key `zone_name`)",
                    record.fqdn
                )));
            }
            return Ok(zone.clone());
        }
        let zones = self.zones()?;
        let (zone, ()) = dns::find_zone(VENDOR, record, |candidate| {
            Ok(zones
                .iter()
                .any(|z| dns::same_name(z, candidate))
                .then_some(()))
        })?;
        Ok(zone)
    }

    /// The names of the zones in the resource group, every page read.
    fn zones(&self) -> Result<Vec<String>, ProviderError> {
        let mut url = Some(format!(
            "{}{}?api-version={API_VERSION}",
            self.arm, self.zones_path
        ));
        let mut zones = Vec::new();
        let mut pages = 0;
        while let Some(next) = url.take() {
            pages += 1;
            if pages > MAX_ZONE_PAGES {
                return Err(ProviderError::Other(format!(
                    "{VENDOR} listed more than {MAX_ZONE_PAGES} pages of zones"
                )));
            }
            let page: ZonePage = self.send(http::Request::get(next))?.json()?;
            zones.extend(page.value.into_iter().map(|z| z.name));
            // Follow ARM's next link, but only on the configured origin.
            url = page.next_link.and_then(|n| {
                n.find("/subscriptions/")
                    .map(|i| format!("{}{}", self.arm, &n[i..]))
            });
        }
        Ok(zones)
    }

    /// The TXT record set `name` of `zone`, or `None` when there is none.
    fn record_set(&self, zone: &str, name: &str) -> Result<Option<RecordSet>, ProviderError> {
        match self.send(http::Request::get(self.set_url(zone, name))) {
            Ok(response) => Ok(Some(response.json()?)),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put_set(
        &self,
        zone: &str,
        name: &str,
        body: &Value,
        precondition: Precondition<'_>,
    ) -> Result<(), ProviderError> {
        let request = http::Request::put(self.set_url(zone, name)).json(body);
        let request = match precondition {
            Precondition::Absent => request.header("if-none-match", "*"),
            Precondition::Etag(etag) => request.header("if-match", etag),
        };
        self.send(request)?;
        Ok(())
    }

    fn delete_set(&self, zone: &str, name: &str, etag: &str) -> Result<(), ProviderError> {
        let request = http::Request::delete(self.set_url(zone, name)).header("if-match", etag);
        match self.send(request) {
            Ok(_) => Ok(()),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends `request` with the token; maps ARM's errors to the WIT variants. A 404 that says
    /// the zone, resource group or subscription is missing is `zone-not-found`; any other 404
    /// stays an API error with status 404 (a record set that does not exist).
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request
            .bearer_auth(self.token.secret())
            .header("accept", "application/json")
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let (code, message) = match response.json::<ErrorBody>() {
            Ok(e) => (e.error.code, e.error.message),
            Err(_) => (String::new(), response.text().chars().take(300).collect()),
        };
        Err(error_for(status, &code, &message, response.retry_after()))
    }
}

/// The error an ARM answer with `status` and error `code` means.
fn error_for(status: u16, code: &str, message: &str, retry_after: Option<u32>) -> ProviderError {
    let detail = format!("{VENDOR} answered {status} {code}: {message}");
    match status {
        401 | 403 => ProviderError::Unauthorized(format!(
            "{detail} (the service principal needs the DNS Zone Contributor role on the zone)"
        )),
        429 => ProviderError::RateLimited(retry_after),
        404 if matches!(
            code,
            "ParentResourceNotFound"
                | "ResourceGroupNotFound"
                | "SubscriptionNotFound"
                | "InvalidSubscriptionId"
        ) =>
        {
            ProviderError::ZoneNotFound(detail)
        }
        _ => ProviderError::api(status, detail),
    }
}

/// The record-set name of `fqdn` in `zone`: relative, `@` for the apex.
fn record_set_name(fqdn: &str, zone: &str) -> Result<String, ProviderError> {
    match dns::relative_name(fqdn, zone) {
        Some(name) if name.is_empty() => Ok("@".to_owned()),
        Some(name) => Ok(name),
        None => Err(ProviderError::ZoneNotFound(format!(
            "{fqdn} is not in zone {zone}"
        ))),
    }
}

/// A record-set body holding `values`, each split into strings of at most 255 characters.
fn set_body(metadata: &Value, ttl: u32, values: &[String]) -> Value {
    let records: Vec<Value> = values
        .iter()
        .map(|v| json!({ "value": split_txt(v) }))
        .collect();
    let mut properties = json!({ "TTL": ttl, "TXTRecords": records });
    if metadata.is_object() {
        properties["metadata"] = metadata.clone();
    }
    json!({ "properties": properties })
}

/// `value` in strings of at most [`MAX_TXT_STRING`] bytes, cut on character boundaries.
fn split_txt(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for c in value.chars() {
        if current.len() + c.len_utf8() > MAX_TXT_STRING {
            parts.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_zones() {
        let name = |f, z| record_set_name(f, z).ok();
        assert_eq!(
            name("_acme-challenge.a.example.com.", "example.com").as_deref(),
            Some("_acme-challenge.a")
        );
        assert_eq!(name("example.com.", "example.com").as_deref(), Some("@"));
        assert_eq!(name("example.org.", "example.com"), None);
    }

    #[test]
    fn long_values_are_split() {
        assert_eq!(split_txt("abc"), ["abc"]);
        assert_eq!(split_txt(""), [""]);
        let long = "x".repeat(600);
        let parts = split_txt(&long);
        assert_eq!(
            parts.iter().map(String::len).collect::<Vec<_>>(),
            [255, 255, 90]
        );
        assert_eq!(parts.concat(), long);
    }

    #[test]
    fn bodies_keep_metadata_and_ttl() {
        let body = set_body(&json!({"owner": "ops"}), 300, &["a".into(), "b".into()]);
        assert_eq!(
            body,
            json!({"properties": {"TTL": 300, "metadata": {"owner": "ops"},
                "TXTRecords": [{"value": ["a"]}, {"value": ["b"]}]}})
        );
        let body = set_body(&Value::Null, 60, &["a".into()]);
        assert!(body["properties"].get("metadata").is_none());
    }

    #[test]
    fn record_sets_join_their_strings() {
        let set: RecordSet = serde_json::from_str(
            r#"{"etag":"e1","properties":{"TTL":60,"TXTRecords":[{"value":["ab","cd"]},{"value":["x"]}]}}"#,
        )
        .expect("a record set");
        assert_eq!(set.values(), ["abcd", "x"]);
        assert_eq!(set.etag, "e1");
    }

    #[test]
    fn arm_errors_map_to_variants() {
        let kind = |status, code| match error_for(status, code, "m", Some(7)) {
            ProviderError::Unauthorized(_) => "unauthorized",
            ProviderError::RateLimited(Some(7)) => "rate-limited",
            ProviderError::ZoneNotFound(_) => "zone-not-found",
            ProviderError::ApiError(e) if e.status == status => "api",
            _ => "other",
        };
        assert_eq!(kind(401, "InvalidAuthenticationToken"), "unauthorized");
        assert_eq!(kind(403, "AuthorizationFailed"), "unauthorized");
        assert_eq!(kind(429, "TooManyRequests"), "rate-limited");
        assert_eq!(kind(404, "ParentResourceNotFound"), "zone-not-found");
        assert_eq!(kind(404, "ResourceGroupNotFound"), "zone-not-found");
        assert_eq!(kind(404, "NotFound"), "api");
        assert_eq!(kind(412, "PreconditionFailed"), "api");
    }
}
