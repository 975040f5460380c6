//! An acmebox DNS-01 provider for deSEC (desec.io), through the deSEC DNS API v1 with a token.
//!
//! deSEC's unit is the RRset: the TXT values at one name are one `records` array, replaced
//! whole. So each call reads the set, changes it and writes it back, from the read again when
//! deSEC answers a conflict or a server error ([`retry::retrying`]):
//!
//! * read: `GET /domains/<domain>/rrsets/<subname>/TXT/` (`@` for the apex; 404 is no set);
//! * write: `PUT /domains/<domain>/rrsets/` with the one RRset `[{"subname", "type": "TXT",
//!   "ttl", "records"}]`, which creates or replaces it; empty `records` deletes it.
//!
//! `present` adds its value unless it is there; `cleanup` removes its value and keeps the rest.
//! The host runs the calls on one name one at a time, so two calls of one acmebox never
//! overwrite each other's value (see the README for writers outside acmebox).
//!
//! The domain is the zone the host passes, else the closest parent of the record's name for
//! which `GET /domains/<name>/` answers; its `minimum_ttl` bounds the TTL of a new set.

use std::time::Duration;

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::Deserialize;

/// deSEC's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://desec.io/api/v1";

/// The TTL floor deSEC gives a domain unless support lowers it, used when a domain does not
/// say (`minimum_ttl`).
const DEFAULT_MINIMUM_TTL: u32 = 3600;

/// The largest TTL deSEC accepts.
const MAX_TTL: u32 = 86_400;

/// A throttled request whose `Retry-After` is at most this many seconds is waited out and sent
/// again: deSEC allows 2 RRset writes per second per domain, so a certificate with a few names
/// meets the per-second limit; longer waits (the per-minute, hour and day limits) are reported.
const SHORT_THROTTLE_SECS: u32 = 2;

/// How often one request waits out a short throttle before the 429 is reported.
const SHORT_THROTTLE_WAITS: u32 = 3;

struct Desec;

impl Provider for Desec {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "token",
                    "a deSEC API token that may write the domain's RRsets (lego: DESEC_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://desec.io/api/v1)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 120,
            polling_interval_secs: 4,
            ..ProviderInfo::new(
                "desec",
                env!("CARGO_PKG_VERSION"),
                "TXT RRsets through the deSEC DNS API v1",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let subname = dns::relative_name(&record.fqdn, &domain.name).unwrap_or_default();
        // minimum_ttl() is at most MAX_TTL, so the bounds are in order.
        let new_ttl = record.ttl.clamp(domain.minimum_ttl(), MAX_TTL);
        let added = retry::retrying("deSEC", || {
            let (mut records, ttl) = match api.rrset(&domain.name, &subname)? {
                Some(set) => (set.records, set.ttl),
                None => (Vec::new(), new_ttl),
            };
            if records.iter().any(|r| dns::unquote_txt(r) == record.value) {
                return Ok(false);
            }
            records.push(dns::quote_txt(&record.value));
            api.write(&domain.name, &subname, ttl, &records)?;
            Ok(true)
        })?;
        if added {
            log::info!(
                "added a TXT value at {} in domain {}",
                record.fqdn,
                domain.name
            );
        } else {
            log::info!("TXT value already present at {}", record.fqdn);
        }
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let subname = dns::relative_name(&record.fqdn, &domain.name).unwrap_or_default();
        let removed = retry::retrying("deSEC", || {
            let Some(set) = api.rrset(&domain.name, &subname)? else {
                return Ok(false);
            };
            let before = set.records.len();
            let records: Vec<String> = set
                .records
                .into_iter()
                .filter(|r| dns::unquote_txt(r) != record.value)
                .collect();
            if records.len() == before {
                return Ok(false);
            }
            api.write(&domain.name, &subname, set.ttl, &records)?;
            Ok(true)
        })?;
        if removed {
            log::info!("removed a TXT value at {}", record.fqdn);
        } else {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        Ok(())
    }
}

acmebox_provider::export!(Desec);

/// A domain as `GET /domains/<name>/` returns it (other fields ignored).
#[derive(Debug, Deserialize)]
struct Domain {
    name: String,
    #[serde(default)]
    minimum_ttl: Option<u32>,
}

impl Domain {
    fn minimum_ttl(&self) -> u32 {
        self.minimum_ttl.unwrap_or(DEFAULT_MINIMUM_TTL).min(MAX_TTL)
    }
}

/// An RRset as deSEC returns it: `records` in presentation format (TXT values quoted).
#[derive(Debug, Deserialize)]
struct Rrset {
    records: Vec<String>,
    ttl: u32,
}

/// An error body: `{"detail": "Invalid token."}`; validation errors have other shapes.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    detail: String,
}

/// The subname as it goes in an RRset URL: `@` stands for the apex.
fn url_subname(subname: &str) -> String {
    if subname.is_empty() {
        "@".to_owned()
    } else {
        http::encode_component(subname)
    }
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

    fn domain_url(&self, domain: &str) -> String {
        format!("{}/domains/{}/", self.base, http::encode_component(domain))
    }

    /// The domain holding `record.fqdn`.
    fn domain_for(&self, record: &TxtRecord) -> Result<Domain, ProviderError> {
        let (_, domain) = dns::find_zone("deSEC", record, |candidate| {
            match self.send(http::Request::get(self.domain_url(candidate))) {
                Ok(response) => Ok(Some(response.json::<Domain>()?)),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(domain)
    }

    /// The TXT RRset at `subname`, `None` when there is none.
    fn rrset(&self, domain: &str, subname: &str) -> Result<Option<Rrset>, ProviderError> {
        let url = format!(
            "{}rrsets/{}/TXT/",
            self.domain_url(domain),
            url_subname(subname)
        );
        match self.send(http::Request::get(url)) {
            Ok(response) => Ok(Some(response.json()?)),
            Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes the TXT RRset at `subname` hold exactly `records`; none deletes it.
    fn write(
        &self,
        domain: &str,
        subname: &str,
        ttl: u32,
        records: &[String],
    ) -> Result<(), ProviderError> {
        let body = serde_json::json!([{
            "subname": subname,
            "type": "TXT",
            "ttl": ttl,
            "records": records,
        }]);
        let url = format!("{}rrsets/", self.domain_url(domain));
        self.send(http::Request::put(url).json(&body))?;
        Ok(())
    }

    /// Sends `request` with the token, waiting out short throttles; maps deSEC's errors to the
    /// WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let request = request.header("authorization", format!("Token {}", self.token));
        let mut waits = 0;
        loop {
            let response = request.clone().send()?;
            if response.is_success() {
                return Ok(response);
            }
            let status = response.status;
            if status == 429
                && let Some(secs) = response.retry_after()
                && secs <= SHORT_THROTTLE_SECS
                && waits < SHORT_THROTTLE_WAITS
            {
                waits += 1;
                log::info!("deSEC throttled a request; sending it again in {secs} s");
                std::thread::sleep(Duration::from_secs(u64::from(secs.max(1))));
                continue;
            }
            let message = response
                .json::<ErrorBody>()
                .map(|e| e.detail)
                .unwrap_or_else(|_| response.text().chars().take(300).collect());
            return Err(match status {
                401 | 403 => ProviderError::Unauthorized(format!(
                    "deSEC refused the token ({status}): {message}"
                )),
                429 => ProviderError::RateLimited(response.retry_after()),
                _ => ProviderError::api(status, format!("deSEC answered {status}: {message}")),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apex_subname_is_at_sign() {
        assert_eq!(url_subname(""), "@");
        assert_eq!(url_subname("_acme-challenge.www"), "_acme-challenge.www");
    }

    #[test]
    fn minimum_ttl_defaults_and_caps() {
        let domain = |minimum_ttl| Domain {
            name: "example.com".into(),
            minimum_ttl,
        };
        assert_eq!(domain(None).minimum_ttl(), 3600);
        assert_eq!(domain(Some(60)).minimum_ttl(), 60);
        assert_eq!(domain(Some(100_000)).minimum_ttl(), MAX_TTL);
    }

    #[test]
    fn rrsets_parse_with_extra_fields() {
        let set: Rrset = serde_json::from_str(
            r#"{"created": "2019-09-18T16:32:16.510368Z", "domain": "example.com",
                "subname": "_acme-challenge", "name": "_acme-challenge.example.com.",
                "type": "TXT", "records": ["\"a\"", "\"b\""], "ttl": 3600,
                "touched": "2020-04-06T09:24:09.987436Z"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let values: Vec<String> = set.records.iter().map(|r| dns::unquote_txt(r)).collect();
        assert_eq!(values, ["a", "b"]);
        assert_eq!(set.ttl, 3600);
    }
}
