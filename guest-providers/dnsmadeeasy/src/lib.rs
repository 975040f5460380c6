//! An acmebox DNS-01 provider for DNS Made Easy managed domains, through the REST API v2.0 with
//! an API key and its secret key.
//!
//! Every request carries the API key, the request date and the date's HMAC-SHA1 under the
//! secret key ([`acmebox_provider::auth::dnsmadeeasy`]). DNS Made Easy keeps every TXT value as
//! a record of its own with an id, so no call rewrites the values of others:
//!
//! * `present`: `GET /dns/managed/{id}/records?recordName=<name>&type=TXT`; when no record
//!   holds the value, `POST /dns/managed/{id}/records` with the value quoted.
//! * `cleanup`: the same listing, then `DELETE /dns/managed/{id}/records/{recordId}` for each
//!   record holding the value (a 404 is success). Nothing found is success.
//!
//! The zone is the one the host passes, else the closest parent of the record's name for which
//! `GET /dns/managed/name?domainname=<name>` answers; its `id` names it in the other calls.

use acmebox_provider::auth::dnsmadeeasy::{Credentials, Signer};
use acmebox_provider::http::Method;
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};
use serde::Deserialize;

/// DNS Made Easy's production API, used when the operator sets neither `api_url` nor `sandbox`.
const DEFAULT_API_URL: &str = "https://api.dnsmadeeasy.com/V2.0";

/// DNS Made Easy's sandbox (a separate site, with accounts and keys of its own).
const SANDBOX_API_URL: &str = "https://api.sandbox.dnsmadeeasy.com/V2.0";

/// The error DNS Made Easy answers, with status 400, once the account has used up its requests
/// (150 per rolling 5 minutes); the response also says `x-dnsme-requestsRemaining: 0`.
const RATE_LIMIT_MESSAGE: &str = "Rate limit exceeded";

/// How much of an error body that is not DNS Made Easy's JSON goes into a message.
const ERROR_TEXT_LIMIT: usize = 300;

struct DnsMadeEasy;

impl Provider for DnsMadeEasy {
    fn describe() -> ProviderInfo {
        let hosts = api_base()
            .ok()
            .and_then(|base| http::origin(&base))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_key",
                    "the API key of the DNS Made Easy account, sent with every request \
                     (lego: DNSMADEEASY_API_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "api_secret",
                    "the secret key that goes with the API key; it signs requests and is never \
                     sent (lego: DNSMADEEASY_API_SECRET)",
                )
                .secret(),
                ConfigKey::optional(
                    "sandbox",
                    "`true` for DNS Made Easy's sandbox, https://api.sandbox.dnsmadeeasy.com \
                     (lego: DNSMADEEASY_SANDBOX)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL, overriding `sandbox` \
                     (default https://api.dnsmadeeasy.com/V2.0)",
                ),
            ],
            hosts,
            ..ProviderInfo::new(
                "dnsmadeeasy",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the DNS Made Easy REST API v2.0, with HMAC-signed requests",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let name = record_name(&record, &domain.name);
        if !api.records_with_value(&domain, &name, &record)?.is_empty() {
            log::info!("TXT value already present at {}", record.fqdn);
            return Ok(());
        }
        let body = serde_json::json!({
            "name": name,
            "type": "TXT",
            "value": dns::quote_txt(&record.value),
            "gtdLocation": "DEFAULT",
            "ttl": record.ttl,
        });
        let request = api
            .signer
            .request(Method::Post, &api.records_url(&domain))
            .json(&body);
        match checked(request.send()?) {
            Ok(_) => {
                log::info!(
                    "added a TXT value at {} in domain {}",
                    record.fqdn,
                    domain.name
                );
                Ok(())
            }
            // Another call added the same value since the listing.
            Err(ProviderError::ApiError(e))
                if e.status == 400 && e.message.contains("already exists") =>
            {
                log::info!("TXT value was added at {} meanwhile", record.fqdn);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let domain = api.domain_for(&record)?;
        let name = record_name(&record, &domain.name);
        let mine = api.records_with_value(&domain, &name, &record)?;
        if mine.is_empty() {
            log::info!("TXT value already absent at {}", record.fqdn);
            return Ok(());
        }
        for id in mine {
            let url = format!("{}/{id}", api.records_url(&domain));
            match checked(api.signer.request(Method::Delete, &url).send()?) {
                Ok(_) => log::info!("removed TXT record {id} at {}", record.fqdn),
                Err(ProviderError::ApiError(e)) if e.status == 404 => {
                    log::info!("TXT record {id} was already gone");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

acmebox_provider::export!(DnsMadeEasy);

/// A managed domain as `GET /dns/managed/name?domainname=` returns it (among other fields).
#[derive(Debug, Deserialize)]
struct Domain {
    id: u64,
    name: String,
}

/// One page of `GET /dns/managed/{id}/records`: `{"totalPages", "totalRecords", "data",
/// "page"}`.
#[derive(Debug, Deserialize)]
struct RecordPage {
    data: Vec<ZoneRecord>,
}

/// A record of a managed domain. TXT values come back quoted (`"\"abc\""`).
#[derive(Debug, Deserialize)]
struct ZoneRecord {
    id: u64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

impl ZoneRecord {
    /// Whether this is the TXT record `name` (relative, empty at the apex) holding `value`.
    fn holds(&self, name: &str, value: &str) -> bool {
        self.kind.eq_ignore_ascii_case("TXT")
            && self.name.eq_ignore_ascii_case(name)
            && dns::unquote_txt(&self.value) == value
    }
}

/// An error body: `{"error": ["Unable to verify HMAC"]}`.
#[derive(Debug, Default, Deserialize)]
struct ApiErrorBody {
    #[serde(default)]
    error: Vec<String>,
}

/// The API base URL: `api_url`, else the sandbox's or production's by `sandbox`.
fn api_base() -> Result<String, ProviderError> {
    if let Some(url) = config::get("api_url").filter(|u| !u.trim().is_empty()) {
        let url = url.trim().trim_end_matches('/');
        if http::origin(url).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        return Ok(url.to_owned());
    }
    base_for_sandbox(config::get("sandbox").as_deref()).map(str::to_owned)
}

/// The base URL `sandbox` chooses: lego's booleans (`true`, `1`, `t`, ...) and `yes`/`no`.
fn base_for_sandbox(sandbox: Option<&str>) -> Result<&'static str, ProviderError> {
    let Some(sandbox) = sandbox else {
        return Ok(DEFAULT_API_URL);
    };
    match sandbox.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" => Ok(SANDBOX_API_URL),
        "false" | "f" | "0" | "no" | "" => Ok(DEFAULT_API_URL),
        _ => Err(ProviderError::InvalidConfig(format!(
            "config key `sandbox` ({sandbox}) is neither `true` nor `false`"
        ))),
    }
}

/// `record.fqdn` relative to `domain`, empty for the apex: DNS Made Easy's record `name`.
fn record_name(record: &TxtRecord, domain: &str) -> String {
    dns::relative_name(&record.fqdn, domain).unwrap_or_default()
}

/// The API as configured.
struct Api {
    base: String,
    signer: Signer,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let base = api_base()?;
        let credentials = Credentials::new(
            config::require("api_key")?.trim(),
            config::require("api_secret")?.trim(),
        );
        Ok(Self {
            base,
            signer: Signer::new(credentials),
        })
    }

    fn records_url(&self, domain: &Domain) -> String {
        format!("{}/dns/managed/{}/records", self.base, domain.id)
    }

    /// The managed domain holding `record.fqdn`; a 404 means the account has no such domain.
    fn domain_for(&self, record: &TxtRecord) -> Result<Domain, ProviderError> {
        let (_, domain) = dns::find_zone("DNS Made Easy", record, |candidate| {
            let url = format!(
                "{}/dns/managed/name?domainname={}",
                self.base,
                http::encode_component(candidate)
            );
            match checked(self.signer.request(Method::Get, &url).send()?) {
                Ok(response) => response.json::<Domain>().map(Some),
                Err(ProviderError::ApiError(e)) if e.status == 404 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(domain)
    }

    /// The ids of the TXT records `name` of `domain` holding `record.value`.
    fn records_with_value(
        &self,
        domain: &Domain,
        name: &str,
        record: &TxtRecord,
    ) -> Result<Vec<u64>, ProviderError> {
        let url = format!(
            "{}?recordName={}&type=TXT",
            self.records_url(domain),
            http::encode_component(name)
        );
        let page: RecordPage = checked(self.signer.request(Method::Get, &url).send()?)?.json()?;
        Ok(page
            .data
            .iter()
            .filter(|r| r.holds(name, &record.value))
            .map(|r| r.id)
            .collect())
    }
}

/// `response` when it succeeded, else its error as a WIT variant.
fn checked(response: http::Response) -> Result<http::Response, ProviderError> {
    if response.is_success() {
        return Ok(response);
    }
    let status = response.status;
    let text = response.text();
    if status == 429 || text.contains(RATE_LIMIT_MESSAGE) {
        // DNS Made Easy sends no Retry-After: its window is a rolling 5 minutes.
        return Err(ProviderError::RateLimited(response.retry_after()));
    }
    let message = error_message(&text);
    Err(match status {
        401 | 403 if message.contains("out of sync") => ProviderError::Unauthorized(format!(
            "DNS Made Easy refused the request date ({status}: {message}); the host's clock \
             must be within seconds of the real time"
        )),
        401 | 403 => ProviderError::Unauthorized(format!(
            "DNS Made Easy refused the credentials ({status}: {message}); check `api_key` and \
             `api_secret`, and `sandbox` (sandbox keys work only there)"
        )),
        _ => ProviderError::api(
            status,
            format!("DNS Made Easy answered {status}: {message}"),
        ),
    })
}

/// The messages of an error body joined, else the start of the body.
fn error_message(text: &str) -> String {
    let body: ApiErrorBody = serde_json::from_str(text).unwrap_or_default();
    if !body.error.is_empty() {
        return body.error.join("; ");
    }
    let text = text.trim();
    if text.is_empty() {
        return "an empty body".to_owned();
    }
    text.chars().take(ERROR_TEXT_LIMIT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response {
        http::Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn sandbox_chooses_the_base_url() {
        let cases = [
            (None, Some(DEFAULT_API_URL)),
            (Some("true"), Some(SANDBOX_API_URL)),
            (Some(" TRUE "), Some(SANDBOX_API_URL)),
            (Some("1"), Some(SANDBOX_API_URL)),
            (Some("false"), Some(DEFAULT_API_URL)),
            (Some(""), Some(DEFAULT_API_URL)),
            (Some("maybe"), None),
        ];
        for (sandbox, want) in cases {
            assert_eq!(base_for_sandbox(sandbox).ok(), want, "{sandbox:?}");
        }
    }

    #[test]
    fn record_names_are_relative_and_empty_at_the_apex() {
        let record = |fqdn: &str| TxtRecord {
            domain: "example.com".into(),
            fqdn: fqdn.into(),
            value: "v".into(),
            ttl: 60,
            zone: None,
        };
        assert_eq!(
            record_name(&record("_acme-challenge.www.example.com."), "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(record_name(&record("example.com."), "example.com"), "");
    }

    #[test]
    fn listed_records_match_on_type_name_and_unquoted_value() {
        let page: RecordPage = serde_json::from_str(
            r#"{"totalPages":1,"totalRecords":2,"page":0,"data":[
                {"id":1,"name":"_acme-challenge","type":"TXT","value":"\"abc\"","ttl":60,"sourceId":9,"gtdLocation":"DEFAULT"},
                {"id":2,"name":"_acme-challenge","type":"TXT","value":"\"other\"","ttl":60,"sourceId":9,"gtdLocation":"DEFAULT"}]}"#,
        )
        .unwrap_or(RecordPage { data: Vec::new() });
        let held: Vec<u64> = page
            .data
            .iter()
            .filter(|r| r.holds("_ACME-challenge", "abc"))
            .map(|r| r.id)
            .collect();
        assert_eq!(held, [1]);
        assert!(!page.data[0].holds("", "abc"));
    }

    #[test]
    fn errors_map_to_variants() {
        let hmac = checked(response(
            403,
            &[],
            r#"{"error": ["Unable to verify HMAC"]}"#,
        ));
        assert!(
            matches!(&hmac, Err(ProviderError::Unauthorized(m)) if m.contains("Unable to verify HMAC")),
            "{hmac:?}"
        );
        let date = checked(response(
            403,
            &[],
            r#"{"error": ["Request sent with date header too far out of sync.  Difference in times is 47971, header value is 1610379952000"]}"#,
        ));
        assert!(
            matches!(&date, Err(ProviderError::Unauthorized(m)) if m.contains("clock")),
            "{date:?}"
        );
        let limited = checked(response(
            400,
            &[("x-dnsme-requestsRemaining", "0")],
            r#"{"error": ["Rate limit exceeded"]}"#,
        ));
        assert!(matches!(limited, Err(ProviderError::RateLimited(None))));
        let throttled = checked(response(429, &[("retry-after", "7")], "{}"));
        assert!(matches!(
            throttled,
            Err(ProviderError::RateLimited(Some(7)))
        ));
        let missing = checked(response(404, &[], "<html>not found</html>"));
        assert!(matches!(&missing, Err(e) if e.status() == Some(404)));
        let duplicate = checked(response(
            400,
            &[],
            r#"{"error":["Record with this type (TXT), name (_acme-challenge), and value (\"abc\") already exists."]}"#,
        ));
        assert!(
            matches!(&duplicate, Err(ProviderError::ApiError(e)) if e.message.contains("already exists"))
        );
    }
}
