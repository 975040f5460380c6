//! An acmebox DNS-01 provider for Vultr DNS, through the Vultr API v2 with an API key.
//!
//! Vultr keeps every TXT value as a record of its own with an id, so no call rewrites the
//! values of others:
//!
//! * `present`: `GET /v2/domains/<domain>/records` (every page, by cursor); when the value is
//!   not there, `POST /v2/domains/<domain>/records` with it, quoted as Vultr stores TXT data.
//! * `cleanup`: the same lookup, then `DELETE /v2/domains/<domain>/records/<id>` for each record
//!   holding the value. Nothing found, or a 404 on the delete, is success.
//!
//! The domain is the zone the host passes, else the closest parent of the record's name for
//! which `GET /v2/domains/<name>` answers.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// Vultr's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.vultr.com/v2";

/// Records per page when listing (Vultr's maximum).
const PER_PAGE: u32 = 500;

/// The most pages one listing reads.
const MAX_PAGES: u32 = 1000;

struct Vultr;

impl Provider for Vultr {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "a Vultr API key; Vultr refuses it from addresses outside the key's access \
                     control list (lego: VULTR_API_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, version included (default https://api.vultr.com/v2)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 60,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "vultr",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Vultr API v2 (DNS)",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let name = relative(&record, &domain);
        if !api.records_with_value(&domain, &name, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = serde_json::json!({
            "name": name,
            "type": "TXT",
            "data": dns::quote_txt(&record.value),
            "ttl": record.ttl,
        });
        api.send(http::Request::post(api.records_url(&domain)).json(&body))?;
        log::info!("added a TXT value at {} in domain {domain}", record.fqdn);
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let name = relative(&record, &domain);
        let mine = api.records_with_value(&domain, &name, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for found in mine {
            let url = format!(
                "{}/{}",
                api.records_url(&domain),
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

acmebox_provider::export!(Vultr);

/// A DNS record as the API returns it; `name` is relative to the domain, empty at the apex.
#[derive(Debug, Deserialize)]
struct DomainRecord {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    data: String,
}

/// One page: `{"records": [...], "meta": {"total": 1, "links": {"next": "", "prev": ""}}}`.
#[derive(Debug, Deserialize)]
struct RecordPage {
    records: Vec<DomainRecord>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    #[serde(default)]
    next: String,
}

/// An error body: `{"error": "Invalid API token.", "status": 401}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
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

    fn domain_url(&self, domain: &str) -> String {
        format!("{}/domains/{}", self.base, http::encode_component(domain))
    }

    fn records_url(&self, domain: &str) -> String {
        format!("{}/records", self.domain_url(domain))
    }

    /// The domain holding `record.fqdn`.
    fn domain_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (domain, ()) = dns::find_zone("Vultr", record, |candidate| {
            match self.send(http::Request::get(self.domain_url(candidate))) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(domain)
    }

    /// The TXT records at `name` (relative to `domain`) holding `record.value`, every page
    /// read.
    fn records_with_value(
        &self,
        domain: &str,
        name: &str,
        record: &TxtRecord,
    ) -> Result<Vec<DomainRecord>, ProviderError> {
        let mut found = Vec::new();
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let mut url = format!("{}?per_page={PER_PAGE}", self.records_url(domain));
            if !cursor.is_empty() {
                url.push_str(&format!("&cursor={}", http::encode_component(&cursor)));
            }
            let page: RecordPage = self.send(http::Request::get(url))?.json()?;
            found.extend(page.records.into_iter().filter(|r| {
                r.kind.eq_ignore_ascii_case("TXT")
                    && r.name.eq_ignore_ascii_case(name)
                    && dns::unquote_txt(&r.data) == record.value
            }));
            if page.meta.links.next.is_empty() {
                return Ok(found);
            }
            cursor = page.meta.links.next;
        }
        Err(ProviderError::Other(format!(
            "Vultr listed more than {MAX_PAGES} pages of records in {domain}"
        )))
    }

    /// Sends `request` with the API key; maps Vultr's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request.bearer_auth(&self.key).send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ErrorBody>()
            .map(|e| e.error)
            .unwrap_or_else(|_| response.text().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "Vultr refused the API key ({status}; is this host's address in the key's \
                 access control list?): {message}"
            )),
            429 => ProviderError::RateLimited(response.retry_after()),
            _ => ProviderError::api(status, format!("Vultr answered {status}: {message}")),
        })
    }
}

/// `record.fqdn` relative to `domain`, as Vultr names records: empty at the apex.
fn relative(record: &TxtRecord, domain: &str) -> String {
    dns::relative_name(&record.fqdn, domain).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fqdn: &str) -> TxtRecord {
        TxtRecord {
            fqdn: fqdn.into(),
            domain: String::new(),
            zone: None,
            value: "v".into(),
            ttl: 60,
        }
    }

    #[test]
    fn names_are_relative_and_empty_at_the_apex() {
        let cases = [
            (
                "_acme-challenge.example.com.",
                "example.com",
                "_acme-challenge",
            ),
            (
                "_acme-challenge.a.Example.com.",
                "example.com",
                "_acme-challenge.a",
            ),
            ("example.com.", "example.com", ""),
        ];
        for (fqdn, domain, want) in cases {
            assert_eq!(relative(&record(fqdn), domain), want, "{fqdn}");
        }
    }

    #[test]
    fn pages_end_without_a_next_cursor() {
        let page: RecordPage = serde_json::from_str(
            r#"{"records": [{"id": "cb67", "type": "TXT", "name": "_acme-challenge",
                "data": "\"v\"", "priority": 0, "ttl": 120}],
                "meta": {"total": 1, "links": {"next": "", "prev": ""}}}"#,
        )
        .expect("valid JSON");
        assert!(page.meta.links.next.is_empty());
        assert_eq!(dns::unquote_txt(&page.records[0].data), "v");
        let bare: RecordPage = serde_json::from_str(r#"{"records": []}"#).expect("valid JSON");
        assert!(bare.meta.links.next.is_empty());
    }
}
