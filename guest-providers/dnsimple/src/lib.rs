//! An acmebox DNS-01 provider for DNSimple, through the DNSimple API v2 with an OAuth token
//! (an account token, or a user token with access to the account).
//!
//! DNSimple keeps every TXT value as a zone record of its own with an id, so no call rewrites
//! the values of others:
//!
//! * `present`: `GET /v2/<account>/zones/<zone>/records?name=<name>&type=TXT`; when the value is
//!   not there, `POST /v2/<account>/zones/<zone>/records` with it (a 400 saying the record
//!   already exists is success).
//! * `cleanup`: the same lookup, then `DELETE /v2/<account>/zones/<zone>/records/<id>` for each
//!   record holding the value. Nothing found, or a 404 on the delete, is success.
//!
//! The account is `account_id` when set, else the account of an account token
//! (`GET /v2/whoami`), else the only account a user token sees (`GET /v2/accounts`). The zone is
//! the one the host passes, else the closest parent of the record's name for which
//! `GET /v2/<account>/zones/<name>` answers.

use std::time::{SystemTime, UNIX_EPOCH};

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// DNSimple's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://api.dnsimple.com";

/// Records per page when listing (DNSimple's maximum).
const PER_PAGE: u32 = 100;

/// Pages read at most when listing the TXT records at one name.
const MAX_PAGES: u32 = 50;

struct Dnsimple;

impl Provider for Dnsimple {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "oauth_token",
                    "a DNSimple API access token, an account token or a user token \
                     (lego: DNSIMPLE_OAUTH_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "account_id",
                    "the numeric id of the account holding the zones (the number after /a/ in \
                     DNSimple's URLs); default: the token's account, or the only account a \
                     user token can see",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, without /v2 (default https://api.dnsimple.com; \
                     lego: DNSIMPLE_BASE_URL)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 60,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "dnsimple",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the DNSimple API v2",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let name = relative(&record, &zone);
        if !api
            .records_with_value(&zone, &name, &record.value)?
            .is_empty()
        {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = serde_json::json!({
            "name": name,
            "type": "TXT",
            "content": record.value,
            "ttl": record.ttl,
        });
        match api.send(http::Request::post(api.records_url(&zone)).json(&body)) {
            Ok(_) => log::info!("added a TXT value at {} in zone {zone}", record.fqdn),
            // Another client added the same value since the lookup.
            Err(ProviderError::ApiError(e)) if e.status == 400 && e.message.contains("exists") => {
                log::info!("TXT value already present at {}", record.fqdn);
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let name = relative(&record, &zone);
        let mine = api.records_with_value(&zone, &name, &record.value)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        for found in mine {
            let url = format!("{}/{}", api.records_url(&zone), found.id);
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

acmebox_provider::export!(Dnsimple);

/// A zone record as the API returns it.
#[derive(Debug, Deserialize)]
struct ZoneRecord {
    id: u64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    content: String,
}

#[derive(Debug, Deserialize)]
struct RecordPage {
    data: Vec<ZoneRecord>,
    pagination: Option<Pagination>,
}

#[derive(Debug, Deserialize)]
struct Pagination {
    total_pages: u32,
}

#[derive(Debug, Deserialize)]
struct Whoami {
    data: WhoamiData,
}

#[derive(Debug, Deserialize)]
struct WhoamiData {
    account: Option<Account>,
}

#[derive(Debug, Deserialize)]
struct Accounts {
    data: Vec<Account>,
}

#[derive(Debug, Deserialize)]
struct Account {
    id: u64,
}

/// An error body: `{"message": "Authentication failed"}`, sometimes with `errors`.
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    message: String,
    #[serde(default)]
    errors: Option<serde_json::Value>,
}

/// The API as configured, with the account resolved.
struct Api {
    base: String,
    token: String,
    account: String,
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
        let mut api = Self {
            base,
            token: config::require("oauth_token")?.trim().to_owned(),
            account: String::new(),
        };
        api.account = match config::get("account_id").map(|a| a.trim().to_owned()) {
            Some(id) if !id.is_empty() => {
                if !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProviderError::InvalidConfig(format!(
                        "config key `account_id` ({id}) is not a number; it is the number \
                         after /a/ in DNSimple's URLs"
                    )));
                }
                id
            }
            _ => api.token_account()?,
        };
        Ok(api)
    }

    /// The account of an account token, or the only account a user token sees.
    fn token_account(&self) -> Result<String, ProviderError> {
        let whoami: Whoami = self
            .send(http::Request::get(format!("{}/v2/whoami", self.base)))?
            .json()?;
        if let Some(account) = whoami.data.account {
            return Ok(account.id.to_string());
        }
        let accounts: Accounts = self
            .send(http::Request::get(format!("{}/v2/accounts", self.base)))?
            .json()?;
        match accounts.data.as_slice() {
            [only] => Ok(only.id.to_string()),
            [] => Err(ProviderError::InvalidConfig(
                "the DNSimple token gives access to no account; use an account token or set \
                 `account_id`"
                    .into(),
            )),
            many => Err(ProviderError::InvalidConfig(format!(
                "the DNSimple user token gives access to {} accounts ({}); set `account_id` \
                 to the one holding the zone",
                many.len(),
                many.iter()
                    .map(|a| a.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn zone_url(&self, zone: &str) -> String {
        format!(
            "{}/v2/{}/zones/{}",
            self.base,
            self.account,
            http::encode_component(zone)
        )
    }

    fn records_url(&self, zone: &str) -> String {
        format!("{}/records", self.zone_url(zone))
    }

    /// The zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (zone, ()) = dns::find_zone("DNSimple", record, |candidate| {
            match self.send(http::Request::get(self.zone_url(candidate))) {
                Ok(_) => Ok(Some(())),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(zone)
    }

    /// The TXT records named `name` (relative, empty for the apex) holding `value`, every page
    /// read.
    fn records_with_value(
        &self,
        zone: &str,
        name: &str,
        value: &str,
    ) -> Result<Vec<ZoneRecord>, ProviderError> {
        let mut found = Vec::new();
        let mut page = 1;
        loop {
            let url = format!(
                "{}?name={}&type=TXT&per_page={PER_PAGE}&page={page}",
                self.records_url(zone),
                http::encode_component(name)
            );
            let listed: RecordPage = self.send(http::Request::get(url))?.json()?;
            found.extend(listed.data.into_iter().filter(|r| {
                r.kind.eq_ignore_ascii_case("TXT")
                    && r.name.eq_ignore_ascii_case(name)
                    && dns::unquote_txt(&r.content) == value
            }));
            let pages = listed.pagination.map_or(1, |p| p.total_pages);
            if page >= pages {
                return Ok(found);
            }
            if page >= MAX_PAGES {
                return Err(ProviderError::Other(format!(
                    "DNSimple listed more than {MAX_PAGES} pages of TXT records named `{name}` \
                     in {zone}"
                )));
            }
            page += 1;
        }
    }

    /// Sends `request` with the token; maps DNSimple's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request
            .bearer_auth(&self.token)
            .header("accept", "application/json")
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        let status = response.status;
        let message = response
            .json::<ApiErrorBody>()
            .map(|e| match e.errors {
                Some(errors) if errors.as_object().is_some_and(|o| !o.is_empty()) => {
                    format!("{} {errors}", e.message)
                }
                _ => e.message,
            })
            .unwrap_or_else(|_| response.text().trim().chars().take(300).collect());
        Err(match status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "DNSimple refused the token ({status}): {message}"
            )),
            429 => ProviderError::RateLimited(retry_after(&response, unix_now())),
            _ => ProviderError::api(status, format!("DNSimple answered {status}: {message}")),
        })
    }
}

/// The record's name relative to `zone`, the empty string for the apex (DNSimple's form).
fn relative(record: &TxtRecord, zone: &str) -> String {
    dns::relative_name(&record.fqdn, zone).unwrap_or_default()
}

/// Seconds to wait after a 429: `Retry-After` when sent, else until `X-RateLimit-Reset` (the
/// Unix time the hourly window restarts, which DNSimple documents).
fn retry_after(response: &http::Response, now: u64) -> Option<u32> {
    if let Some(seconds) = response.retry_after() {
        return Some(seconds);
    }
    let reset: u64 = response.header("x-ratelimit-reset")?.trim().parse().ok()?;
    u32::try_from(reset.checked_sub(now)?).ok()
}

/// Seconds since the Unix epoch, 0 if the clock is before it.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> http::Response {
        http::Response {
            status: 429,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: br#"{"message":"quota exceeded"}"#.to_vec(),
        }
    }

    #[test]
    fn retry_after_prefers_the_header_then_the_reset_time() {
        let now = 1_700_000_000;
        assert_eq!(
            retry_after(&response(&[("retry-after", "7")]), now),
            Some(7)
        );
        assert_eq!(
            retry_after(&response(&[("x-ratelimit-reset", "1700000030")]), now),
            Some(30)
        );
        assert_eq!(
            retry_after(&response(&[("x-ratelimit-reset", "1699999990")]), now),
            None
        );
        assert_eq!(retry_after(&response(&[]), now), None);
    }

    #[test]
    fn names_are_relative_to_the_zone() {
        let record = |fqdn: &str| TxtRecord {
            domain: String::new(),
            fqdn: fqdn.into(),
            value: "v".into(),
            ttl: 60,
            zone: None,
        };
        assert_eq!(
            relative(&record("_acme-challenge.www.example.com."), "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(relative(&record("example.com."), "example.com"), "");
    }
}
