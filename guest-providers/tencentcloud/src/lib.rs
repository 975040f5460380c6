//! An acmebox DNS-01 provider for Tencent Cloud DNSPod, through Tencent Cloud API 3.0
//! (DNSPod version 2021-03-23) with a SecretId and SecretKey.
//!
//! Every request is a `POST` of JSON to the API's root, the action in `X-TC-Action`, signed with
//! `TC3-HMAC-SHA256` ([`acmebox_provider::auth::tc3`]). DNSPod keeps every TXT value as a record
//! of its own with a `RecordId`, so no call rewrites the values of others:
//!
//! * `present`: `DescribeDomainList` for the zone, `DescribeRecordList` (the TXT records at the
//!   name); when none holds the value, `CreateRecord` on the default line.
//! * `cleanup`: the same lookups, then `DeleteRecord` for each record holding the value (an
//!   unknown record is success). Nothing found is success.
//!
//! Tencent Cloud answers errors with HTTP 200 and `{"Response": {"Error": {"Code", "Message"}}}`:
//! `AuthFailure.*` is `unauthorized`, `RequestLimitExceeded*` is `rate-limited`, and a zone that
//! is not in the account's domain list is `zone-not-found`.

use acmebox_provider::auth::tc3::{Credentials, Signer};
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The DNSPod API endpoint (lego's and the official SDKs').
const DEFAULT_API_URL: &str = "https://dnspod.tencentcloudapi.com";

/// The service name in the signature's credential scope.
const SERVICE: &str = "dnspod";

/// The DNSPod API version this provider speaks.
const VERSION: &str = "2021-03-23";

/// The default resolution line, by its Chinese name, as DNSPod's API reference and lego use it.
const DEFAULT_LINE: &str = "默认";

/// The smallest TTL of DNSPod's free plan; paid plans allow less, but this works on all.
const MIN_TTL: u32 = 600;

/// The most domains or records one `Describe*List` call returns (DNSPod's largest `Limit`).
const PAGE_SIZE: usize = 3000;

/// The most pages of the domain list read; past it the account has more domains than any
/// lookup should read, and the call fails rather than issue requests without end.
const MAX_DOMAIN_PAGES: usize = 10;

/// `DescribeRecordList` found no record (DNSPod's answer to an empty list).
const NO_RECORDS: &str = "ResourceNotFound.NoDataOfRecord";

/// `DescribeDomainList` found no domain.
const NO_DOMAINS: &str = "ResourceNotFound.NoDataOfDomain";

/// `DeleteRecord` of a record id DNSPod does not know: it is gone already.
const UNKNOWN_RECORD: &str = "InvalidParameter.RecordIdInvalid";

struct TencentCloud;

impl Provider for TencentCloud {
    fn describe() -> ProviderInfo {
        let hosts = api_url()
            .ok()
            .and_then(|url| http::origin(&url))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "secret_id",
                    "the SecretId of a Tencent Cloud API key (lego: TENCENTCLOUD_SECRET_ID)",
                )
                .secret(),
                ConfigKey::required(
                    "secret_key",
                    "the SecretKey of that API key (lego: TENCENTCLOUD_SECRET_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "session_token",
                    "the token of temporary credentials, sent as X-TC-Token \
                     (lego: TENCENTCLOUD_SESSION_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "region",
                    "a region sent as X-TC-Region; DNSPod needs none \
                     (lego: TENCENTCLOUD_REGION)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the API endpoint URL (default https://dnspod.tencentcloudapi.com)",
                ),
            ],
            hosts,
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "tencentcloud",
                env!("CARGO_PKG_VERSION"),
                "TXT records in Tencent Cloud DNSPod, through TC3-HMAC-SHA256 signed API 3.0 calls",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let sub = sub_domain(&record, &domain.name);
        if !api.records_with_value(&domain, &sub, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let created: Created = api.send(
            "CreateRecord",
            json!({
                "Domain": domain.name,
                "DomainId": domain.id,
                "SubDomain": sub,
                "RecordType": "TXT",
                "RecordLine": DEFAULT_LINE,
                "Value": record.value,
                "TTL": record.ttl.max(MIN_TTL),
            }),
        )?;
        log::info!(
            "added TXT record {} at {} in domain {}",
            created.record_id,
            record.fqdn,
            domain.name
        );
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let sub = sub_domain(&record, &domain.name);
        let mine = api.records_with_value(&domain, &sub, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
            return Ok(());
        }
        for id in mine {
            let params = json!({ "Domain": domain.name, "DomainId": domain.id, "RecordId": id });
            match api.call::<Value>("DeleteRecord", params)? {
                Ok(_) => log::info!("removed TXT record {id} at {}", record.fqdn),
                Err(e) if e.code == UNKNOWN_RECORD || e.code == NO_RECORDS => {
                    log::info!("TXT record {id} was already gone");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(TencentCloud);

/// A domain of the account, as `DescribeDomainList` lists it.
#[derive(Debug, Clone, Deserialize)]
struct Domain {
    #[serde(rename = "DomainId")]
    id: u64,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Punycode", default)]
    punycode: Option<String>,
}

/// `DescribeDomainList`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DomainList {
    #[serde(default)]
    domain_list: Vec<Domain>,
}

/// A record, as `DescribeRecordList` lists it. `Name` is relative to the domain, `@` at the
/// apex; a TXT `Value` is the bare text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordItem {
    record_id: u64,
    name: String,
    #[serde(rename = "Type")]
    kind: String,
    value: String,
}

/// `DescribeRecordList`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordList {
    #[serde(default)]
    record_list: Vec<RecordItem>,
}

/// `CreateRecord`'s answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    record_id: u64,
}

/// An error the API answered in `Response.Error`, with the `Retry-After` of its response.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiFailure {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(skip)]
    retry_after: Option<u32>,
}

impl From<ApiFailure> for ProviderError {
    fn from(e: ApiFailure) -> Self {
        let ApiFailure {
            code,
            message,
            retry_after,
        } = e;
        let family = code.split('.').next().unwrap_or_default();
        match family {
            "AuthFailure" if code == "AuthFailure.SignatureExpire" => Self::Unauthorized(format!(
                "Tencent Cloud refused the request's timestamp ({code}): {message}; check the \
                 host's clock"
            )),
            "AuthFailure" | "UnauthorizedOperation" => Self::Unauthorized(format!(
                "Tencent Cloud refused the credentials ({code}): {message}"
            )),
            "OperationDenied" if code == "OperationDenied.NoPermissionToOperateDomain" => {
                Self::Unauthorized(format!(
                    "the API key may not manage this domain ({code}): {message}"
                ))
            }
            "RequestLimitExceeded" => Self::RateLimited(retry_after),
            "ResourceNotFound" => Self::api(404, failure_message(&code, &message)),
            "InternalError" | "ResourceUnavailable" => {
                Self::api(500, failure_message(&code, &message))
            }
            _ => Self::api(400, failure_message(&code, &message)),
        }
    }
}

fn failure_message(code: &str, message: &str) -> String {
    format!("Tencent Cloud answered {code}: {message}")
}

/// The API endpoint URL: `api_url`, else DNSPod's.
fn api_url() -> Result<String, ProviderError> {
    let url = config::with_default("api_url", DEFAULT_API_URL);
    let url = url.trim().trim_end_matches('/');
    let url = if url.is_empty() { DEFAULT_API_URL } else { url };
    if http::origin(url).is_none() {
        return Err(ProviderError::InvalidConfig(format!(
            "config key `api_url` ({url}) is not an http:// or https:// URL such as \
             {DEFAULT_API_URL}"
        )));
    }
    Ok(url.to_owned())
}

/// `record.fqdn` relative to `zone`, `@` for the apex: DNSPod's `SubDomain`.
fn sub_domain(record: &TxtRecord, zone: &str) -> String {
    dns::relative_name(&record.fqdn, zone)
        .filter(|sub| !sub.is_empty())
        .unwrap_or_else(|| "@".to_owned())
}

/// The API as configured.
struct Api {
    url: String,
    signer: Signer,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let credentials = Credentials::new(
            config::require("secret_id")?.trim(),
            config::require("secret_key")?.trim(),
            config::get("session_token").map(|t| t.trim().to_owned()),
        );
        let region = config::get("region").map(|r| r.trim().to_owned());
        Ok(Self {
            url: api_url()?,
            signer: Signer::new(credentials, SERVICE, VERSION).with_region(region),
        })
    }

    /// The domain holding `record.fqdn`: the one acmebox names, else the closest parent in the
    /// account's domain list (by name or by its punycode).
    fn domain_for(&self, record: &TxtRecord) -> Result<Domain, ProviderError> {
        let domains = self.domains()?;
        let (_, domain) = dns::find_zone("Tencent Cloud DNSPod", record, |candidate| {
            Ok(domains
                .iter()
                .find(|d| {
                    dns::same_name(&d.name, candidate)
                        || d.punycode
                            .as_deref()
                            .is_some_and(|p| dns::same_name(p, candidate))
                })
                .cloned())
        })?;
        Ok(domain)
    }

    /// Every domain of the account, page by page.
    fn domains(&self) -> Result<Vec<Domain>, ProviderError> {
        let mut domains = Vec::new();
        for _ in 0..MAX_DOMAIN_PAGES {
            let params = json!({ "Offset": domains.len(), "Limit": PAGE_SIZE });
            let page = match self.call::<DomainList>("DescribeDomainList", params)? {
                Ok(page) => page.domain_list,
                Err(e) if e.code == NO_DOMAINS => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            let full = page.len() >= PAGE_SIZE;
            domains.extend(page);
            if !full {
                return Ok(domains);
            }
        }
        Err(ProviderError::Other(format!(
            "the account has more than {} domains; name the zone in acmebox's config so the \
             lookup can stop",
            MAX_DOMAIN_PAGES * PAGE_SIZE
        )))
    }

    /// The ids of the TXT records at `sub` in `domain` holding `record.value`.
    fn records_with_value(
        &self,
        domain: &Domain,
        sub: &str,
        record: &TxtRecord,
    ) -> Result<Vec<u64>, ProviderError> {
        let params = json!({
            "Domain": domain.name,
            "DomainId": domain.id,
            "Subdomain": sub,
            "RecordType": "TXT",
            "Limit": PAGE_SIZE,
        });
        let records = match self.call::<RecordList>("DescribeRecordList", params)? {
            Ok(list) => list.record_list,
            Err(e) if e.code == NO_RECORDS => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(records
            .into_iter()
            .filter(|r| {
                r.kind.eq_ignore_ascii_case("TXT")
                    && r.name.eq_ignore_ascii_case(sub)
                    && dns::unquote_txt(&r.value) == record.value
            })
            .map(|r| r.record_id)
            .collect())
    }

    /// Calls `action` and maps any error it answers to a WIT variant.
    fn send<T: DeserializeOwned>(&self, action: &str, params: Value) -> Result<T, ProviderError> {
        self.call(action, params)?.map_err(ProviderError::from)
    }

    /// Calls `action` with `params`: `Ok(Err(..))` when the API answered an error of its own,
    /// `Err(..)` when the call failed otherwise.
    fn call<T: DeserializeOwned>(
        &self,
        action: &str,
        params: Value,
    ) -> Result<Result<T, ApiFailure>, ProviderError> {
        log::debug!("calling DNSPod {action}");
        let response = self.signer.request(&self.url, action, &params).send()?;
        let body: Option<Envelope> = serde_json::from_slice(&response.body).ok();
        let Some(Envelope {
            response: mut answer,
        }) = body
        else {
            return Err(match response.status {
                429 => ProviderError::RateLimited(response.retry_after()),
                _ => match response.error_for_status() {
                    Ok(r) => ProviderError::Other(format!(
                        "Tencent Cloud answered {action} with a body that is not its JSON \
                         envelope ({} bytes)",
                        r.body.len()
                    )),
                    Err(e) => e,
                },
            });
        };
        if let Some(error) = answer.get_mut("Error").map(Value::take) {
            let mut failure: ApiFailure = serde_json::from_value(error)?;
            failure.retry_after = response.retry_after();
            return Ok(Err(failure));
        }
        if !response.is_success() {
            let status = response.status;
            return Err(response
                .error_for_status()
                .err()
                .unwrap_or_else(|| ProviderError::api(status, "unexpected status")));
        }
        Ok(Ok(serde_json::from_value(answer)?))
    }
}

/// Every answer: `{"Response": {...}}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str) -> ProviderError {
        ApiFailure {
            code: code.into(),
            message: "m".into(),
            retry_after: Some(7),
        }
        .into()
    }

    #[test]
    fn error_codes_map_to_variants() {
        for code in [
            "AuthFailure.SignatureFailure",
            "AuthFailure.SecretIdNotFound",
            "AuthFailure.SignatureExpire",
            "AuthFailure.TokenFailure",
            "AuthFailure.UnauthorizedOperation",
            "UnauthorizedOperation",
            "OperationDenied.NoPermissionToOperateDomain",
        ] {
            match failure(code) {
                ProviderError::Unauthorized(m) => assert!(m.contains(code), "{m}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(
            failure("RequestLimitExceeded"),
            ProviderError::RateLimited(Some(7))
        ));
        assert!(matches!(
            failure("RequestLimitExceeded.RequestLimitExceeded"),
            ProviderError::RateLimited(Some(7))
        ));
        assert_eq!(failure("ResourceNotFound").status(), Some(404));
        assert_eq!(failure("InternalError").status(), Some(500));
        assert_eq!(
            failure("InvalidParameterValue.DomainNotExists").status(),
            Some(400)
        );
    }

    #[test]
    fn error_envelopes_parse() {
        let body = r#"{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
            "Message": "The provided credentials could not be validated."},
            "RequestId": "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}"#;
        let envelope: Envelope = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}"));
        let failure: ApiFailure = serde_json::from_value(envelope.response["Error"].clone())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failure.code, "AuthFailure.SignatureFailure");
    }

    #[test]
    fn record_lists_parse() {
        let body = r#"{"RecordCountInfo": {"SubdomainCount": 1, "ListCount": 1, "TotalCount": 1},
            "RecordList": [{"RecordId": 556507778, "Name": "_acme-challenge", "Type": "TXT",
            "Value": "abc", "Line": "默认", "LineId": "0", "TTL": 600, "Status": "ENABLE",
            "Weight": null, "MX": 0}], "RequestId": "x"}"#;
        let list: RecordList = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.record_list[0].record_id, 556_507_778);
        assert_eq!(list.record_list[0].kind, "TXT");
    }

    #[test]
    fn sub_domains_are_relative_and_at_at_the_apex() {
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
        assert_eq!(sub_domain(&record("example.com."), "example.com"), "@");
    }
}
