//! An acmebox DNS-01 provider for Linode's DNS Manager (Akamai Cloud), through the Linode API v4
//! with a personal access token.
//!
//! Linode keeps every TXT value as a domain record of its own with an id, so no call rewrites
//! the values of others:
//!
//! * `present`: `GET /v4/domains/<id>/records` (filtered on the record's name); when the value
//!   is not there, `POST /v4/domains/<id>/records` with it.
//! * `cleanup`: the same lookup, then `DELETE /v4/domains/<id>/records/<record id>` for each
//!   record holding the value. Nothing found, or a 404 on the delete, is success.
//!
//! The API addresses domains by numeric id; the domain is found by listing `GET /v4/domains`
//! filtered on its name: the zone the host passes, else the closest parent of the record's name
//! that the account holds. Every list is read page by page.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Linode's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.linode.com/v4";

/// The smallest TTL Linode keeps as given (it rounds others up to 30, 120, 300, 3600, ...).
const MIN_TTL: u32 = 30;

/// Items per page when listing (Linode's maximum).
const PAGE_SIZE: u32 = 500;

/// The most pages one listing reads: 500 000 items, far past Linode's 12 000 records a domain.
const MAX_PAGES: u32 = 1000;

struct Linode;

impl Provider for Linode {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "token",
                    "a Linode personal access token with the Domains read/write scope \
                     (lego: LINODE_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, version included (default https://api.linode.com/v4)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 120,
            polling_interval_secs: 15,
            ..ProviderInfo::new(
                "linode",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Linode API v4 (DNS Manager)",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let name = relative(&record, &domain.domain);
        if !api.records_with_value(&domain, &name, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = serde_json::json!({
            "type": "TXT",
            "name": name,
            "target": record.value,
            "ttl_sec": record.ttl.max(MIN_TTL),
        });
        api.send(http::Request::post(api.records_url(domain.id)).json(&body))?;
        log::info!(
            "added a TXT value at {} in domain {}",
            record.fqdn,
            domain.domain
        );
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let name = relative(&record, &domain.domain);
        let mine = api.records_with_value(&domain, &name, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for found in mine {
            let url = format!("{}/{}", api.records_url(domain.id), found.id);
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

acmebox_provider::export!(Linode);

/// A domain (zone) as the API returns it.
#[derive(Debug, Deserialize)]
struct Domain {
    id: u64,
    domain: String,
}

/// A domain record as the API returns it; `name` is relative to the domain, empty at the apex.
#[derive(Debug, Deserialize)]
struct DomainRecord {
    id: u64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    target: String,
}

/// One page of a list: `{"data": [...], "page": 1, "pages": 3, "results": 1234}`.
#[derive(Debug, Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default = "one")]
    pages: u32,
}

fn one() -> u32 {
    1
}

/// An error body: `{"errors": [{"field": "ttl_sec", "reason": "..."}]}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    field: Option<String>,
    reason: String,
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
            token: config::require("token")?.trim().to_owned(),
        })
    }

    fn records_url(&self, domain_id: u64) -> String {
        format!("{}/domains/{domain_id}/records", self.base)
    }

    /// The domain holding `record.fqdn`, found by listing the account's domains by name.
    fn domain_for(&self, record: &TxtRecord) -> Result<Domain, ProviderError> {
        let (_, domain) = dns::find_zone("Linode", record, |candidate| {
            let filter = serde_json::json!({ "domain": candidate }).to_string();
            let domains: Vec<Domain> =
                self.list(&format!("{}/domains", self.base), &filter, |d: &Domain| {
                    dns::same_name(&d.domain, candidate)
                })?;
            Ok(domains.into_iter().next())
        })?;
        Ok(domain)
    }

    /// The TXT records at `name` (relative to `domain`) holding `record.value`.
    fn records_with_value(
        &self,
        domain: &Domain,
        name: &str,
        record: &TxtRecord,
    ) -> Result<Vec<DomainRecord>, ProviderError> {
        let filter = serde_json::json!({ "name": name }).to_string();
        self.list(&self.records_url(domain.id), &filter, |r: &DomainRecord| {
            r.kind.eq_ignore_ascii_case("TXT")
                && r.name.eq_ignore_ascii_case(name)
                && dns::unquote_txt(&r.target) == record.value
        })
    }

    /// Every item of the list at `url` that `keep` keeps, every page read. The `X-Filter`
    /// narrows what the API sends; `keep` decides, so a filter the API ignores changes nothing.
    fn list<T: DeserializeOwned>(
        &self,
        url: &str,
        filter: &str,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, ProviderError> {
        let mut found = Vec::new();
        let mut page = 1;
        loop {
            let request = http::Request::get(format!("{url}?page={page}&page_size={PAGE_SIZE}"))
                .header("x-filter", filter);
            let body: Page<T> = self.send(request)?.json()?;
            found.extend(body.data.into_iter().filter(|item| keep(item)));
            if page >= body.pages {
                return Ok(found);
            }
            if page >= MAX_PAGES {
                return Err(ProviderError::Other(format!(
                    "Linode listed more than {MAX_PAGES} pages at {url}"
                )));
            }
            page += 1;
        }
    }

    /// Sends `request` with the token; maps Linode's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request.bearer_auth(&self.token).send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ErrorBody>()
            .map(|body| reasons(&body))
            .unwrap_or_else(|_| response.text().chars().take(300).collect());
        Err(match status {
            401 => ProviderError::Unauthorized(format!(
                "Linode refused the token ({status}): {message}"
            )),
            403 => ProviderError::Unauthorized(format!(
                "Linode refused the token ({status}: it lacks the Domains read/write scope?): \
                 {message}"
            )),
            429 => ProviderError::RateLimited(response.retry_after()),
            _ => ProviderError::api(status, format!("Linode answered {status}: {message}")),
        })
    }
}

/// `record.fqdn` relative to `domain`, as Linode names records: empty at the apex.
fn relative(record: &TxtRecord, domain: &str) -> String {
    dns::relative_name(&record.fqdn, domain).unwrap_or_default()
}

/// The reasons of an error body, joined: `ttl_sec: Must be an integer; name: ...`.
fn reasons(body: &ErrorBody) -> String {
    body.errors
        .iter()
        .map(|e| match &e.field {
            Some(field) => format!("{field}: {}", e.reason),
            None => e.reason.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
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
    fn error_reasons_are_joined_with_their_fields() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"errors": [{"reason": "Invalid Token"}, {"field": "ttl_sec", "reason": "bad"}]}"#,
        )
        .expect("valid JSON");
        assert_eq!(reasons(&body), "Invalid Token; ttl_sec: bad");
    }

    #[test]
    fn pages_default_to_one() {
        let page: Page<Domain> =
            serde_json::from_str(r#"{"data": [{"id": 7, "domain": "example.com"}]}"#)
                .expect("valid JSON");
        assert_eq!(page.pages, 1);
        assert_eq!(page.data[0].id, 7);
    }
}
