//! An acmebox DNS-01 provider for DigitalOcean's DNS, through the DigitalOcean API v2 with a
//! personal access token.
//!
//! DigitalOcean keeps every TXT value as a record of its own with an id, so no call rewrites
//! the values of others:
//!
//! * `present`: `GET /v2/domains/<domain>/records?type=TXT&name=<fqdn>`; when the value is not
//!   there, `POST /v2/domains/<domain>/records` with it.
//! * `cleanup`: the same lookup, then `DELETE /v2/domains/<domain>/records/<id>` for each record
//!   holding the value. Nothing found, or a 404 on the delete, is success.
//!
//! The domain is the zone the host passes, else the closest parent of the record's name for
//! which `GET /v2/domains/<name>` answers.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// DigitalOcean's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.digitalocean.com";

/// The smallest TTL DigitalOcean accepts.
const MIN_TTL: u32 = 30;

/// Records per page when listing (DigitalOcean's maximum).
const PER_PAGE: u32 = 200;

struct DigitalOcean;

impl Provider for DigitalOcean {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "auth_token",
                    "a DigitalOcean personal access token with read and write scope \
                     (lego: DO_AUTH_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://api.digitalocean.com; lego: DO_API_URL)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 60,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "digitalocean",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the DigitalOcean API v2",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        if !api.records_with_value(&domain, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let name = dns::relative_name(&record.fqdn, &domain)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "@".to_owned());
        let body = serde_json::json!({
            "type": "TXT",
            "name": name,
            "data": record.value,
            "ttl": record.ttl.max(MIN_TTL),
        });
        api.send(http::Request::post(api.records_url(&domain)).json(&body))?;
        log::info!("added a TXT value at {} in domain {domain}", record.fqdn);
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let mine = api.records_with_value(&domain, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for found in mine {
            let url = format!("{}/{}", api.records_url(&domain), found.id);
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

acmebox_provider::export!(DigitalOcean);

/// A DNS record as the API returns it.
#[derive(Debug, Deserialize)]
struct DomainRecord {
    id: u64,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    data: String,
}

#[derive(Debug, Deserialize)]
struct RecordPage {
    domain_records: Vec<DomainRecord>,
    #[serde(default)]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    #[serde(default)]
    pages: Pages,
}

#[derive(Debug, Default, Deserialize)]
struct Pages {
    next: Option<String>,
}

/// An error body: `{"id": "unauthorized", "message": "Unable to authenticate you"}`.
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    id: String,
    message: String,
}

/// The API as configured.
struct Api {
    base: String,
    token: String,
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
            token: config::require("auth_token")?.trim().to_owned(),
        })
    }

    fn records_url(&self, domain: &str) -> String {
        format!(
            "{}/v2/domains/{}/records",
            self.base,
            http::encode_component(domain)
        )
    }

    /// The domain holding `record.fqdn`.
    fn domain_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (domain, ()) = dns::find_zone("DigitalOcean", record, |candidate| {
            let url = format!(
                "{}/v2/domains/{}",
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

    /// The TXT records at `record.fqdn` holding `record.value`, every page read.
    fn records_with_value(
        &self,
        domain: &str,
        record: &TxtRecord,
    ) -> Result<Vec<DomainRecord>, ProviderError> {
        let name = dns::bare(&record.fqdn);
        let mut url = Some(format!(
            "{}?type=TXT&name={}&per_page={PER_PAGE}",
            self.records_url(domain),
            http::encode_component(&name)
        ));
        let mut found = Vec::new();
        let mut pages = 0;
        while let Some(next) = url.take() {
            pages += 1;
            if pages > 100 {
                return Err(ProviderError::Other(format!(
                    "DigitalOcean listed more than 100 pages of TXT records at {name}"
                )));
            }
            let page: RecordPage = self.send(http::Request::get(next))?.json()?;
            found.extend(page.domain_records.into_iter().filter(|r| {
                r.kind.eq_ignore_ascii_case("TXT")
                    && dns::relative_name(&record.fqdn, domain)
                        .is_some_and(|rel| r.name == rel || (rel.is_empty() && r.name == "@"))
                    && dns::unquote_txt(&r.data) == record.value
            }));
            // Follow the API's own next link, but only on the configured origin.
            url = page
                .links
                .pages
                .next
                .and_then(|n| n.find("/v2/").map(|i| format!("{}{}", self.base, &n[i..])));
        }
        Ok(found)
    }

    /// Sends `request` with the token; maps DigitalOcean's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request.bearer_auth(&self.token).send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ApiErrorBody>()
            .map(|e| format!("{} ({})", e.message, e.id))
            .unwrap_or_else(|_| response.text().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "DigitalOcean refused the token ({status}): {message}"
            )),
            429 => ProviderError::RateLimited(response.retry_after()),
            _ => ProviderError::api(status, format!("DigitalOcean answered {status}: {message}")),
        })
    }
}
