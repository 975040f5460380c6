//! An acmebox DNS-01 provider for Alibaba Cloud DNS (Alidns), through its RPC API version
//! 2015-01-09 with an AccessKey pair (and, for STS credentials, a security token).
//!
//! Every request is a POST of form parameters signed with Alibaba's RPC signature
//! ([`acmebox_provider::auth::aliyun`]), each with its own timestamp and nonce. Alidns keeps
//! every TXT value as a record of its own with a `RecordId`, so no call rewrites the values of
//! others:
//!
//! * `present`: `AddDomainRecord` (`DomainName`, `RR`, `Type=TXT`, `Value`, `TTL`). The API
//!   refuses a record equal to one it holds with `DomainRecordDuplicate`, which means the value
//!   is already there: success.
//! * `cleanup`: `DescribeDomainRecords` (`RRKeyWord`, `TypeKeyWord=TXT`, paged) for the records
//!   at the name holding the value, then `DeleteDomainRecord` for each; a record already gone
//!   (`DomainRecordNotBelongToUser`) is success. Nothing found is success.
//!
//! The zone is the one the host passes, else the closest parent of the record's name that
//! `DescribeDomains` (`KeyWord`, `SearchMode=EXACT`) lists.
//!
//! API reference: <https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-overview>.

use acmebox_provider::auth::aliyun::{Credentials, Signer};
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// Alidns's endpoint, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://alidns.aliyuncs.com";

/// The API version every request names.
const API_VERSION: &str = "2015-01-09";

/// The region sent as `RegionId` when the operator names none (lego's default too).
const DEFAULT_REGION: &str = "cn-hangzhou";

/// The smallest TTL the free edition of Alidns accepts, and lego's default: the TTL asked for
/// when the operator sets no `ttl` and the host asks for less.
const MIN_DEFAULT_TTL: u32 = 600;

/// The largest TTL Alidns accepts.
const MAX_TTL: u32 = 86_400;

/// Records per `DescribeDomainRecords` page: the most the API gives.
const RECORDS_PAGE_SIZE: u32 = 500;

/// Domains per `DescribeDomains` page: the most the API gives.
const DOMAINS_PAGE_SIZE: u32 = 100;

/// The most pages one listing reads; past it the call fails rather than issue hundreds of
/// requests (50,000 records whose names contain the challenge name is no challenge name).
const MAX_PAGES: u32 = 100;

struct Alidns;

impl Provider for Alidns {
    fn describe() -> ProviderInfo {
        let hosts = api_url()
            .ok()
            .and_then(|url| http::origin(&url))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "access_key",
                    "the AccessKey ID of a RAM user or role allowed alidns:DescribeDomains, \
                     DescribeDomainRecords, AddDomainRecord and DeleteDomainRecord \
                     (lego: ALICLOUD_ACCESS_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "secret_key",
                    "its AccessKey secret (lego: ALICLOUD_SECRET_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "security_token",
                    "the security token of temporary credentials from Alibaba Cloud STS \
                     (lego: ALICLOUD_SECURITY_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "region_id",
                    "the region sent as RegionId (default cn-hangzhou) \
                     (lego: ALICLOUD_REGION_ID)",
                ),
                ConfigKey::optional(
                    "ttl",
                    "the TTL of the TXT records, 1 to 86400 seconds; default the host's TTL, \
                     at least 600, the free edition's minimum (lego: ALICLOUD_TTL)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the API endpoint (default https://alidns.aliyuncs.com)",
                ),
            ],
            hosts,
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "alidns",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Alibaba Cloud DNS API (2015-01-09), with RPC-signed \
                 requests",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let rr = rr(&record, &zone);
        let ttl = ttl(&record)?.to_string();
        let params = [
            ("DomainName", zone.as_str()),
            ("RR", rr.as_str()),
            ("Type", "TXT"),
            ("Value", record.value.as_str()),
            ("TTL", ttl.as_str()),
        ];
        match api.call("AddDomainRecord", &params) {
            Ok(response) => {
                let added: RecordId = response.json()?;
                log::info!(
                    "added TXT record {} at {} in zone {zone}",
                    added.record_id,
                    record.fqdn
                );
                Ok(())
            }
            Err(Failure::Refused(Refused { code, .. })) if code == "DomainRecordDuplicate" => {
                log::info!("TXT value already present at {}", record.fqdn);
                Ok(())
            }
            Err(failure) => Err(failure.into()),
        }
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
            match api.call("DeleteDomainRecord", &[("RecordId", id.as_str())]) {
                Ok(_) => log::info!("removed TXT record {id} at {}", record.fqdn),
                Err(Failure::Refused(Refused { status, code, .. }))
                    if code == "DomainRecordNotBelongToUser"
                        || (status == 404 && !is_credentials_error(&code)) =>
                {
                    log::info!("TXT record {id} was already gone");
                }
                Err(failure) => return Err(failure.into()),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(Alidns);

/// `AddDomainRecord`'s and `DeleteDomainRecord`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordId {
    record_id: String,
}

/// A page of `DescribeDomains`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainsPage {
    total_count: u64,
    domains: Domains,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Domains {
    #[serde(default)]
    domain: Vec<Domain>,
}

/// A domain (zone) of the account.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Domain {
    domain_name: String,
    #[serde(default)]
    puny_code: Option<String>,
}

/// A page of `DescribeDomainRecords`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordsPage {
    total_count: u64,
    domain_records: DomainRecords,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainRecords {
    #[serde(default)]
    record: Vec<DomainRecord>,
}

/// A DNS record as `DescribeDomainRecords` lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainRecord {
    record_id: String,
    #[serde(rename = "RR")]
    rr: String,
    #[serde(rename = "Type")]
    kind: String,
    value: String,
}

/// An error body: `{"RequestId": "...", "HostId": "alidns.aliyuncs.com",
/// "Code": "SignatureDoesNotMatch", "Message": "..."}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// An answer other than 2xx: its status, the API's error code and a message safe to show.
#[derive(Debug)]
struct Refused {
    status: u16,
    code: String,
    message: String,
    retry_after: Option<u32>,
}

/// Why a call failed: the API refused it, or it never got an answer.
#[derive(Debug)]
enum Failure {
    Refused(Refused),
    Other(ProviderError),
}

impl From<Failure> for ProviderError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(refused) => refused.into(),
            Failure::Other(error) => error,
        }
    }
}

impl From<Refused> for ProviderError {
    fn from(r: Refused) -> Self {
        let Refused {
            status,
            code,
            message,
            retry_after,
        } = r;
        if status == 429 || code.starts_with("Throttling") {
            return Self::RateLimited(retry_after);
        }
        if code.starts_with("InvalidTimeStamp") {
            return Self::Unauthorized(format!(
                "Alibaba Cloud DNS refused the request's timestamp ({status} {code}): {message}; \
                 check this host's clock"
            ));
        }
        if status == 401 || status == 403 || is_credentials_error(&code) {
            return Self::Unauthorized(format!(
                "Alibaba Cloud DNS refused the credentials ({status} {code}): {message}"
            ));
        }
        if matches!(
            code.as_str(),
            "IncorrectDomainUser" | "InvalidDomainName.NoExist" | "DomainNotFound"
        ) {
            return Self::ZoneNotFound(format!(
                "Alibaba Cloud DNS does not hold the zone ({code}): {message}"
            ));
        }
        Self::api(
            status,
            format!("Alibaba Cloud DNS answered {status} {code}: {message}"),
        )
    }
}

/// Whether `code` says the AccessKey, its secret, its token or its permissions are wrong.
fn is_credentials_error(code: &str) -> bool {
    matches!(
        code,
        "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidAccessKeySecret"
    ) || [
        "InvalidAccessKeyId",
        "InvalidSecurityToken",
        "MissingSecurityToken",
        "Forbidden",
    ]
    .iter()
    .any(|prefix| code.starts_with(prefix))
}

/// The endpoint: `api_url`, else Alidns's, without a trailing slash.
fn api_url() -> Result<String, ProviderError> {
    let url = config::get("api_url")
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let url = url.trim().trim_end_matches('/');
    if http::origin(url).is_none() {
        return Err(ProviderError::InvalidConfig(format!(
            "config key `api_url` ({url}) is not an http:// or https:// URL such as \
             {DEFAULT_API_URL}"
        )));
    }
    Ok(url.to_owned())
}

/// The TTL to ask for: `ttl` when set, else the host's raised to [`MIN_DEFAULT_TTL`].
fn ttl(record: &TxtRecord) -> Result<u32, ProviderError> {
    let Some(value) = config::get("ttl").filter(|v| !v.trim().is_empty()) else {
        return Ok(record.ttl.clamp(MIN_DEFAULT_TTL, MAX_TTL));
    };
    match value.trim().parse::<u32>() {
        Ok(ttl) if (1..=MAX_TTL).contains(&ttl) => Ok(ttl),
        _ => Err(ProviderError::InvalidConfig(format!(
            "config key `ttl` ({value}) is not a number of seconds from 1 to {MAX_TTL}"
        ))),
    }
}

/// `record.fqdn` relative to `zone`, `@` for the apex: Alidns's `RR`.
fn rr(record: &TxtRecord, zone: &str) -> String {
    match dns::relative_name(&record.fqdn, zone) {
        Some(name) if !name.is_empty() => name,
        _ => "@".to_owned(),
    }
}

/// The start of an API error message, without what must not be shown: a
/// `SignatureDoesNotMatch` message ends with "server string to sign is:" and the whole string
/// to sign, AccessKey ID and security token included.
fn safe_message(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let end = lower.find("server string to sign").unwrap_or(message.len());
    let kept = message[..end].trim();
    let mut out: String = kept.chars().take(300).collect();
    if out.len() < kept.len() {
        out.push('…');
    }
    out
}

/// The API as configured.
struct Api {
    url: String,
    region: String,
    signer: Signer,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let credentials = Credentials::new(
            config::require("access_key")?.trim(),
            config::require("secret_key")?.trim(),
            config::get("security_token").map(|t| t.trim().to_owned()),
        );
        Ok(Self {
            url: format!("{}/", api_url()?),
            region: config::with_default("region_id", DEFAULT_REGION)
                .trim()
                .to_owned(),
            signer: Signer::new(credentials, API_VERSION),
        })
    }

    /// Calls `action` with `params` (and `RegionId`, as Alibaba's SDKs send it).
    fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<http::Response, Failure> {
        let mut all = params.to_vec();
        if !self.region.is_empty() {
            all.push(("RegionId", self.region.as_str()));
        }
        let response = self
            .signer
            .request(&self.url, action, &all)
            .send()
            .map_err(Failure::Other)?;
        if response.is_success() {
            return Ok(response);
        }
        let body = response.json::<ErrorBody>().unwrap_or_default();
        let message = if body.message.is_empty() {
            response.text()
        } else {
            body.message
        };
        Err(Failure::Refused(Refused {
            status: response.status,
            code: body.code,
            message: safe_message(&message),
            retry_after: response.retry_after(),
        }))
    }

    /// [`Self::call`], with every failure as a WIT error. A transport error names the endpoint
    /// alone: every parameter, the signature among them, is in the body.
    fn send(&self, action: &str, params: &[(&str, &str)]) -> Result<http::Response, ProviderError> {
        self.call(action, params).map_err(ProviderError::from)
    }

    /// The zone holding `record.fqdn`, as Alidns spells it.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        let (_, zone) = dns::find_zone("Alibaba Cloud DNS", record, |candidate| {
            self.domain_named(candidate)
        })?;
        Ok(zone)
    }

    /// The name of the account's domain `name` (or whose punycode is `name`), if it has one.
    fn domain_named(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let size = DOMAINS_PAGE_SIZE.to_string();
        for page in 1..=MAX_PAGES {
            let number = page.to_string();
            let listed: DomainsPage = self
                .send(
                    "DescribeDomains",
                    &[
                        ("KeyWord", name),
                        ("SearchMode", "EXACT"),
                        ("PageNumber", &number),
                        ("PageSize", &size),
                    ],
                )?
                .json()?;
            let found = listed.domains.domain.iter().find(|d| {
                dns::same_name(&d.domain_name, name)
                    || d.puny_code
                        .as_deref()
                        .is_some_and(|p| dns::same_name(p, name))
            });
            if let Some(domain) = found {
                return Ok(Some(dns::bare(&domain.domain_name)));
            }
            let seen = u64::from(page) * u64::from(DOMAINS_PAGE_SIZE);
            if listed.domains.domain.is_empty() || seen >= listed.total_count {
                return Ok(None);
            }
        }
        Err(too_many(DOMAINS_PAGE_SIZE, "domains matching", name))
    }

    /// The ids of the TXT records at `record.fqdn` holding `record.value`.
    fn records_with_value(
        &self,
        zone: &str,
        record: &TxtRecord,
    ) -> Result<Vec<String>, ProviderError> {
        let rr = rr(record, zone);
        let size = RECORDS_PAGE_SIZE.to_string();
        let mut found = Vec::new();
        for page in 1..=MAX_PAGES {
            let number = page.to_string();
            let listed: RecordsPage = self
                .send(
                    "DescribeDomainRecords",
                    &[
                        ("DomainName", zone),
                        ("RRKeyWord", &rr),
                        ("TypeKeyWord", "TXT"),
                        ("PageNumber", &number),
                        ("PageSize", &size),
                    ],
                )?
                .json()?;
            let count = listed.domain_records.record.len();
            // RRKeyWord matches any name containing it: keep the records at this name.
            found.extend(
                listed
                    .domain_records
                    .record
                    .into_iter()
                    .filter(|r| {
                        r.kind.eq_ignore_ascii_case("TXT")
                            && r.rr.eq_ignore_ascii_case(&rr)
                            && dns::unquote_txt(&r.value) == record.value
                    })
                    .map(|r| r.record_id),
            );
            let seen = u64::from(page) * u64::from(RECORDS_PAGE_SIZE);
            if count == 0 || seen >= listed.total_count {
                return Ok(found);
            }
        }
        Err(too_many(
            RECORDS_PAGE_SIZE,
            "TXT records at names containing",
            &rr,
        ))
    }
}

/// The error of a listing longer than [`MAX_PAGES`] pages of `page_size`.
fn too_many(page_size: u32, what: &str, name: &str) -> ProviderError {
    ProviderError::Other(format!(
        "Alibaba Cloud DNS lists more than {} {what} {name}; giving up",
        MAX_PAGES * page_size
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fqdn: &str) -> TxtRecord {
        TxtRecord {
            domain: "example.com".into(),
            fqdn: fqdn.into(),
            value: "v".into(),
            ttl: 60,
            zone: None,
        }
    }

    #[test]
    fn rr_is_relative_and_at_sign_at_the_apex() {
        assert_eq!(
            rr(&record("_acme-challenge.www.example.com."), "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(rr(&record("example.com."), "example.com"), "@");
    }

    #[test]
    fn signature_messages_lose_the_string_to_sign() {
        let message = "Specified signature is not matched with our calculation. server string \
                       to sign is:POST&%2F&AccessKeyId%3DLTAIsecretish";
        let shown = safe_message(message);
        assert_eq!(
            shown,
            "Specified signature is not matched with our calculation."
        );
        assert_eq!(safe_message("  plain  "), "plain");
        assert_eq!(safe_message(&"x".repeat(400)).chars().count(), 301);
    }

    fn refused(status: u16, code: &str) -> ProviderError {
        Refused {
            status,
            code: code.into(),
            message: "m".into(),
            retry_after: Some(7),
        }
        .into()
    }

    #[test]
    fn errors_map_to_wit_variants() {
        let unauthorized = [
            (400, "SignatureDoesNotMatch"),
            (404, "InvalidAccessKeyId.NotFound"),
            (400, "InvalidAccessKeyId.Inactive"),
            (400, "InvalidSecurityToken.Expired"),
            (403, "Forbidden.RAM"),
            (400, "InvalidTimeStamp.Expired"),
        ];
        for (status, code) in unauthorized {
            assert!(
                matches!(refused(status, code), ProviderError::Unauthorized(ref m) if m.contains(code)),
                "{code}"
            );
        }
        assert!(matches!(
            refused(429, "Throttling.User"),
            ProviderError::RateLimited(Some(7))
        ));
        assert!(matches!(
            refused(400, "Throttling.User"),
            ProviderError::RateLimited(Some(7))
        ));
        assert!(matches!(
            refused(400, "IncorrectDomainUser"),
            ProviderError::ZoneNotFound(_)
        ));
        assert!(matches!(
            refused(500, "InternalError"),
            ProviderError::ApiError(ref e) if e.status == 500
        ));
    }

    #[test]
    fn bodies_parse() {
        let page: RecordsPage = serde_json::from_str(
            r#"{"TotalCount":1,"PageSize":500,"PageNumber":1,"RequestId":"r",
                "DomainRecords":{"Record":[{"DomainName":"example.com","RecordId":"9999985",
                "RR":"_acme-challenge","Type":"TXT","Value":"v","TTL":600,"Line":"default",
                "Status":"ENABLE","Locked":false}]}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.domain_records.record[0].record_id, "9999985");
        let page: DomainsPage = serde_json::from_str(
            r#"{"TotalCount":1,"PageSize":100,"PageNumber":1,"RequestId":"r",
                "Domains":{"Domain":[{"DomainId":"d","DomainName":"example.com",
                "PunyCode":"example.com"}]}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.domains.domain[0].domain_name, "example.com");
        let body: ErrorBody = serde_json::from_str(
            r#"{"RequestId":"r","HostId":"alidns.aliyuncs.com","Code":"DomainRecordDuplicate","Message":"The DNS record already exists."}"#,
        )
        .unwrap_or_default();
        assert_eq!(body.code, "DomainRecordDuplicate");
    }
}
