//! An acmebox DNS-01 provider for IONOS's DNS, through the IONOS DNS API (`api.hosting.ionos.com`,
//! the hosting side of IONOS, not IONOS Cloud) with an API key.
//!
//! IONOS keeps every TXT value as a record of its own with an id, so no call rewrites the
//! values of others:
//!
//! * zone: `GET /v1/zones` lists the account's zones; the zone is the one the host passes, else
//!   the closest parent of the record's name in that list.
//! * `present`: `GET /v1/zones/<zone id>?recordName=<name>&recordType=TXT`; when the value is not
//!   there, `POST /v1/zones/<zone id>/records` with a list of one record.
//! * `cleanup`: the same lookup, then `DELETE /v1/zones/<zone id>/records/<record id>` for each
//!   record holding the value. Nothing found, or a 404 on the delete, is success.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// The IONOS DNS API's base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.hosting.ionos.com/dns";

/// The smallest TTL the provider asks IONOS for.
const MIN_TTL: u32 = 60;

struct Ionos;

impl Provider for Ionos {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "an IONOS DNS API key, `<public prefix>.<secret>`, sent as X-API-Key \
                     (lego: IONOS_API_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://api.hosting.ionos.com/dns)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 300,
            polling_interval_secs: 10,
            ..ProviderInfo::new(
                "ionos",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the IONOS DNS API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        if !api.records_with_value(&zone, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = serde_json::json!([{
            "name": dns::bare(&record.fqdn),
            "type": "TXT",
            "content": record.value,
            "ttl": record.ttl.max(MIN_TTL),
            "disabled": false,
        }]);
        api.send(http::Request::post(api.records_url(&zone.id)).json(&body))?;
        log::info!("added a TXT value at {} in zone {}", record.fqdn, zone.name);
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let mine = api.records_with_value(&zone, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for found in mine {
            let url = format!(
                "{}/{}",
                api.records_url(&zone.id),
                http::encode_component(&found.id)
            );
            match api.send(http::Request::delete(url)) {
                Ok(_) => log::info!("removed TXT record {} at {}", found.id, record.fqdn),
                Err(ProviderError::ApiError(e)) if e.status == 404 => {
                    log::info!("TXT record {} was already gone", found.id);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(Ionos);

/// A zone as `GET /v1/zones` lists it.
#[derive(Debug, Clone, Deserialize)]
struct Zone {
    id: String,
    name: String,
}

/// `GET /v1/zones/<id>`: the zone with the records the filters let through.
#[derive(Debug, Deserialize)]
struct CustomerZone {
    #[serde(default)]
    records: Vec<Record>,
}

/// A record as the API returns it. `name` is absolute, without the trailing dot; TXT `content`
/// comes back quoted.
#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    content: String,
}

/// One entry of an error body: `[{"code": "UNAUTHORIZED", "message": "..."}]`.
#[derive(Debug, Deserialize)]
struct ApiErrorEntry {
    code: String,
    #[serde(default)]
    message: Option<String>,
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
        let key = config::require("api_key")?.trim().to_owned();
        if !key.contains('.') {
            return Err(ProviderError::InvalidConfig(
                "config key `api_key` must be `<public prefix>.<secret>`, the two parts IONOS \
                 shows when the key is created, joined by a dot"
                    .to_owned(),
            ));
        }
        Ok(Self { base, key })
    }

    fn records_url(&self, zone_id: &str) -> String {
        format!(
            "{}/v1/zones/{}/records",
            self.base,
            http::encode_component(zone_id)
        )
    }

    /// The zone holding `record.fqdn`, from the account's list of zones.
    fn zone_for(&self, record: &TxtRecord) -> Result<Zone, ProviderError> {
        let zones: Vec<Zone> = self
            .send(http::Request::get(format!("{}/v1/zones", self.base)))?
            .json()?;
        let (_, zone) = dns::find_zone("IONOS", record, |candidate| {
            Ok(zones
                .iter()
                .find(|z| dns::same_name(&z.name, candidate))
                .cloned())
        })?;
        Ok(zone)
    }

    /// The TXT records at `record.fqdn` holding `record.value`.
    fn records_with_value(
        &self,
        zone: &Zone,
        record: &TxtRecord,
    ) -> Result<Vec<Record>, ProviderError> {
        let url = format!(
            "{}/v1/zones/{}?recordName={}&recordType=TXT",
            self.base,
            http::encode_component(&zone.id),
            http::encode_component(&dns::bare(&record.fqdn))
        );
        let found: CustomerZone = self.send(http::Request::get(url))?.json()?;
        Ok(found
            .records
            .into_iter()
            .filter(|r| is_value_at(r, &record.fqdn, &record.value))
            .collect())
    }

    /// Sends `request` with the key; maps IONOS's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request
            .header("x-api-key", &self.key)
            .header("accept", "application/json")
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<Vec<ApiErrorEntry>>()
            .ok()
            .filter(|entries| !entries.is_empty())
            .map(|entries| describe_errors(&entries))
            .unwrap_or_else(|| response.text().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "IONOS refused the API key ({status}): {message}"
            )),
            429 => ProviderError::RateLimited(response.retry_after()),
            _ => ProviderError::api(status, format!("IONOS answered {status}: {message}")),
        })
    }
}

/// Whether `record` is a TXT record at `fqdn` holding `value` (IONOS quotes TXT contents).
fn is_value_at(record: &Record, fqdn: &str, value: &str) -> bool {
    record.kind.eq_ignore_ascii_case("TXT")
        && dns::same_name(&record.name, fqdn)
        && dns::unquote_txt(&record.content) == value
}

/// `CODE: message; CODE: message` for an error body.
fn describe_errors(entries: &[ApiErrorEntry]) -> String {
    entries
        .iter()
        .map(|e| match &e.message {
            Some(m) => format!("{}: {m}", e.code),
            None => e.code.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(name: &str, content: &str) -> Record {
        Record {
            id: "1".into(),
            name: name.into(),
            kind: "TXT".into(),
            content: content.into(),
        }
    }

    #[test]
    fn matches_quoted_and_bare_contents_at_the_name() {
        let fqdn = "_acme-challenge.www.example.com.";
        assert!(is_value_at(
            &txt("_acme-challenge.www.example.com", "\"abc\""),
            fqdn,
            "abc"
        ));
        assert!(is_value_at(
            &txt("_ACME-challenge.www.example.com", "abc"),
            fqdn,
            "abc"
        ));
        assert!(!is_value_at(
            &txt("_acme-challenge.example.com", "\"abc\""),
            fqdn,
            "abc"
        ));
        assert!(!is_value_at(
            &txt("_acme-challenge.www.example.com", "\"abcd\""),
            fqdn,
            "abc"
        ));
        let mut a = txt("_acme-challenge.www.example.com", "abc");
        a.kind = "A".into();
        assert!(!is_value_at(&a, fqdn, "abc"));
    }

    #[test]
    fn error_bodies_read_as_one_line() {
        let entries: Vec<ApiErrorEntry> = serde_json::from_str(
            r#"[{"code":"UNAUTHORIZED","message":"The customer is not authorized to do this operation."},
                {"code":"INTERNAL_SERVER_ERROR"}]"#,
        )
        .unwrap();
        assert_eq!(
            describe_errors(&entries),
            "UNAUTHORIZED: The customer is not authorized to do this operation.; \
             INTERNAL_SERVER_ERROR"
        );
    }
}
