//! An acmebox DNS-01 provider for Google Cloud DNS, through the Cloud DNS API v1 with a
//! service-account JSON key.
//!
//! Each call first trades the key for an access token: it signs an RS256 JWT (`iss` the key's
//! `client_email`, `scope` Cloud DNS read-write, `aud` the key's `token_uri`) and posts it to
//! `token_uri` as a JWT bearer grant (RFC 7523). Then:
//!
//! * the managed zone: `GET /dns/v1/projects/<project>/managedZones?dnsName=<name>.` for the
//!   zone the host passes, else for each parent of the record's name, closest first;
//! * `present`: `GET …/managedZones/<zone>/rrsets?name=<fqdn>&type=TXT`; when the value is not
//!   there, `POST …/managedZones/<zone>/changes` deleting the TXT set as read and adding it
//!   back with the value;
//! * `cleanup`: the same read; when the value is there, a change deleting the set as read and
//!   adding back the others (nothing when it was the only one).
//!
//! Cloud DNS only replaces whole sets, and refuses a deletion that no longer matches (412
//! `conditionNotMet`) or an addition of a set that now exists (409 `alreadyExists`): the
//! round runs again from the read. A change is then polled (`GET …/changes/<id>`) until it is
//! `done`, for at most [`CHANGE_POLLS`] reads.

use std::time::Duration;

use acmebox_provider::auth::jwt::{self, AccessToken, RsaKey};
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use serde::Deserialize;
use serde_json::json;

/// Cloud DNS's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://dns.googleapis.com";

/// Google's OAuth token endpoint, for a key that names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The OAuth scope that lets the token read and change Cloud DNS records.
const SCOPE: &str = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";

/// How long the signed assertion is valid: Google accepts at most an hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// Reads of a pending change before the call gives up on it being applied.
const CHANGE_POLLS: u32 = 30;

/// The pause between two reads of a pending change.
const CHANGE_POLL_PAUSE: Duration = Duration::from_millis(500);

struct GoogleCloud;

impl Provider for GoogleCloud {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        let token_uri = config::get("service_account_key")
            .and_then(|k| serde_json::from_str::<ServiceAccountKey>(&k).ok())
            .and_then(|k| k.token_uri)
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
        let mut hosts: Vec<String> = [api_url, token_uri]
            .iter()
            .filter_map(|url| http::origin(url))
            .collect();
        hosts.dedup();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "service_account_key",
                    "the service account's JSON key, as Google Cloud downloads it (lego: \
                     GCE_SERVICE_ACCOUNT, or the file named by GCE_SERVICE_ACCOUNT_FILE); the \
                     account needs the DNS Administrator role (roles/dns.admin) or \
                     dns.changes.create, dns.managedZones.list and dns.resourceRecordSets.list",
                )
                .secret(),
                ConfigKey::optional(
                    "project",
                    "the project holding the managed zones (default: the key's project_id; \
                     lego: GCE_PROJECT)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the Cloud DNS API base URL (default https://dns.googleapis.com)",
                ),
            ],
            hosts,
            propagation_timeout_secs: 180,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "gcloud",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Google Cloud DNS API v1",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let wanted = dns::quote_txt(&record.value);
        retry::retrying("Google Cloud DNS", || {
            let current = api.txt_set(&zone, &record)?;
            let mut rrdatas = current
                .as_ref()
                .map(|s| s.rrdatas.clone())
                .unwrap_or_default();
            if holds(&rrdatas, &record.value) {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            }
            rrdatas.push(wanted.clone());
            let ttl = current.as_ref().map_or(record.ttl, |s| s.ttl);
            let addition = RecordSet::txt(&record.fqdn, ttl, rrdatas);
            api.change(&zone, current, Some(addition))?;
            log::info!("added a TXT value at {} in zone {}", record.fqdn, zone.name);
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        retry::retrying("Google Cloud DNS", || {
            let Some(current) = api.txt_set(&zone, &record)? else {
                log::info!("no TXT values at {}", record.fqdn);
                return Ok(());
            };
            if !holds(&current.rrdatas, &record.value) {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            }
            let rest: Vec<String> = current
                .rrdatas
                .iter()
                .filter(|d| dns::unquote_txt(d) != record.value)
                .cloned()
                .collect();
            let addition =
                (!rest.is_empty()).then(|| RecordSet::txt(&record.fqdn, current.ttl, rest));
            api.change(&zone, Some(current), addition)?;
            log::info!(
                "removed a TXT value at {} in zone {}",
                record.fqdn,
                zone.name
            );
            Ok(())
        })
    }
}

acmebox_provider::export!(GoogleCloud);

/// Whether one of `rrdatas` (quoted, as Cloud DNS keeps TXT data) holds `value`.
fn holds(rrdatas: &[String], value: &str) -> bool {
    rrdatas.iter().any(|d| dns::unquote_txt(d) == value)
}

/// The fields of a service-account JSON key this provider uses.
#[derive(Deserialize)]
struct ServiceAccountKey {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    private_key_id: Option<String>,
    private_key: String,
    client_email: String,
    #[serde(default)]
    token_uri: Option<String>,
}

/// A managed zone as `managedZones.list` returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagedZone {
    name: String,
    dns_name: String,
    #[serde(default)]
    visibility: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZonePage {
    #[serde(default)]
    managed_zones: Vec<ManagedZone>,
}

/// A resource record set, as read and as written in a change.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct RecordSet {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    ttl: u32,
    rrdatas: Vec<String>,
}

impl RecordSet {
    fn txt(fqdn: &str, ttl: u32, rrdatas: Vec<String>) -> Self {
        Self {
            name: dns::absolute(fqdn),
            kind: "TXT".into(),
            ttl,
            rrdatas,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RecordSetPage {
    #[serde(default)]
    rrsets: Vec<RecordSet>,
}

/// A change as `changes.create` and `changes.get` return it.
#[derive(Debug, Deserialize)]
struct Change {
    id: String,
    #[serde(default)]
    status: String,
}

/// Google's error body: `{"error": {"code": 404, "message": "…", "status": "NOT_FOUND",
/// "errors": [{"reason": "notFound", …}]}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

/// The API as configured, with a fresh access token.
struct Api {
    /// `<api_url>/dns/v1/projects/<project>`.
    project_url: String,
    token: AccessToken,
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
        let key = parse_key(&config::require("service_account_key")?)?;
        let project = config::get("project")
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .or_else(|| key.project_id.clone())
            .ok_or_else(|| {
                ProviderError::InvalidConfig(
                    "set config key `project`: the service account key names no project_id".into(),
                )
            })?;
        let token = access_token(&key)?;
        Ok(Self {
            project_url: format!(
                "{base}/dns/v1/projects/{}",
                http::encode_component(&project)
            ),
            token,
        })
    }

    fn zone_url(&self, zone: &ManagedZone) -> String {
        format!(
            "{}/managedZones/{}",
            self.project_url,
            http::encode_component(&zone.name)
        )
    }

    /// The public managed zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<ManagedZone, ProviderError> {
        let (_, zone) = dns::find_zone("Google Cloud DNS", record, |candidate| {
            let dns_name = dns::absolute(candidate);
            let url = format!(
                "{}/managedZones?dnsName={}",
                self.project_url,
                http::encode_component(&dns_name)
            );
            let page: ZonePage = self.send(http::Request::get(url))?.json()?;
            Ok(page.managed_zones.into_iter().find(|z| {
                dns::same_name(&z.dns_name, &dns_name)
                    && !z
                        .visibility
                        .as_deref()
                        .is_some_and(|v| v.eq_ignore_ascii_case("private"))
            }))
        })?;
        Ok(zone)
    }

    /// The TXT set at `record.fqdn`, if any.
    fn txt_set(
        &self,
        zone: &ManagedZone,
        record: &TxtRecord,
    ) -> Result<Option<RecordSet>, ProviderError> {
        let name = dns::absolute(&record.fqdn);
        let url = format!(
            "{}/rrsets?name={}&type=TXT",
            self.zone_url(zone),
            http::encode_component(&name)
        );
        let page: RecordSetPage = self.send(http::Request::get(url))?.json()?;
        Ok(page
            .rrsets
            .into_iter()
            .find(|s| s.kind.eq_ignore_ascii_case("TXT") && dns::same_name(&s.name, &name)))
    }

    /// Replaces `deletion` (the set exactly as read) with `addition`, and waits until the
    /// change is applied.
    fn change(
        &self,
        zone: &ManagedZone,
        deletion: Option<RecordSet>,
        addition: Option<RecordSet>,
    ) -> Result<(), ProviderError> {
        let body = json!({
            "kind": "dns#change",
            "deletions": deletion.into_iter().collect::<Vec<_>>(),
            "additions": addition.into_iter().collect::<Vec<_>>(),
        });
        let url = format!("{}/changes", self.zone_url(zone));
        let mut change: Change = self.send(http::Request::post(url).json(&body))?.json()?;
        let mut polls = 0;
        while change.status != "done" {
            polls += 1;
            if polls > CHANGE_POLLS {
                return Err(ProviderError::Other(format!(
                    "Google Cloud DNS change {} in zone {} was still `{}` after {CHANGE_POLLS} \
                     reads",
                    change.id, zone.name, change.status
                )));
            }
            std::thread::sleep(CHANGE_POLL_PAUSE);
            let url = format!(
                "{}/changes/{}",
                self.zone_url(zone),
                http::encode_component(&change.id)
            );
            change = self.send(http::Request::get(url))?.json()?;
        }
        Ok(())
    }

    /// Sends `request` with the access token; maps Google's errors to the WIT variants.
    fn send(&self, request: http::Request) -> Result<http::Response, ProviderError> {
        let response = request.bearer_auth(self.token.secret()).send()?;
        if response.is_success() {
            return Ok(response);
        }
        Err(api_error(&response))
    }
}

/// The key in `text`; the error names the fields expected, never the content.
fn parse_key(text: &str) -> Result<ServiceAccountKey, ProviderError> {
    let key: ServiceAccountKey = serde_json::from_str(text).map_err(|e| {
        ProviderError::InvalidConfig(format!(
            "config key `service_account_key` is not a service account's JSON key with \
             private_key and client_email (JSON error at line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(kind) = &key.kind
        && kind != "service_account"
    {
        return Err(ProviderError::InvalidConfig(format!(
            "config key `service_account_key` holds a key of type `{kind}`; create a key for a \
             service account (type `service_account`)"
        )));
    }
    Ok(key)
}

/// A fresh access token for `key`, from its token endpoint.
fn access_token(key: &ServiceAccountKey) -> Result<AccessToken, ProviderError> {
    let token_uri = key.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
    let signer = RsaKey::from_pem(&key.private_key)?;
    let now = jwt::now();
    let claims = json!({
        "iss": key.client_email,
        "scope": SCOPE,
        "aud": token_uri,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
    });
    let assertion = jwt::rs256(&claims, key.private_key_id.as_deref(), &signer)?;
    jwt::bearer_grant(token_uri, &assertion).map_err(|e| match e {
        ProviderError::Unauthorized(m) => ProviderError::Unauthorized(format!(
            "{m} (Google refused the service account key in `service_account_key`: it may be \
             deleted or disabled, or the machine's clock may be off)"
        )),
        other => other,
    })
}

/// The error a failed API response means.
fn api_error(response: &http::Response) -> ProviderError {
    let status = response.status;
    let message = response
        .json::<ErrorBody>()
        .map(|e| format!("{} ({})", e.error.message, e.error.status))
        .unwrap_or_else(|_| response.text().chars().take(300).collect());
    match status {
        401 | 403 => ProviderError::Unauthorized(format!(
            "Google Cloud DNS refused the access token ({status}): {message}"
        )),
        429 => ProviderError::RateLimited(response.retry_after()),
        _ => ProviderError::api(
            status,
            format!("Google Cloud DNS answered {status}: {message}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_in_quoted_rrdatas() {
        let rrdatas = vec!["\"one\"".to_owned(), "\"tw\" \"o\"".to_owned()];
        assert!(holds(&rrdatas, "one"));
        assert!(holds(&rrdatas, "two"));
        assert!(!holds(&rrdatas, "three"));
    }

    #[test]
    fn keys_parse_and_errors_hide_the_content() {
        let key = parse_key(
            r#"{"type":"service_account","project_id":"p","private_key_id":"k",
                "private_key":"-----BEGIN PRIVATE KEY-----\nX\n-----END PRIVATE KEY-----\n",
                "client_email":"dns@p.iam.gserviceaccount.com",
                "token_uri":"https://oauth2.googleapis.com/token"}"#,
        )
        .expect("a key");
        assert_eq!(key.project_id.as_deref(), Some("p"));
        assert_eq!(key.client_email, "dns@p.iam.gserviceaccount.com");
        for bad in [
            r#"{"private_key":"SECRETPEM"}"#,
            r#"{"private_key":7,"client_email":"SECRETPEM"}"#,
            "SECRETPEM",
            r#"{"type":"authorized_user","private_key":"SECRETPEM","client_email":"a"}"#,
        ] {
            match parse_key(bad) {
                Err(ProviderError::InvalidConfig(m)) => assert!(!m.contains("SECRET"), "{m}"),
                _ => panic!("{bad} parsed"),
            }
        }
    }

    #[test]
    fn api_errors_map_to_variants() {
        let body = |status: u16, reason: &str| {
            json!({"error": {"code": status, "message": "m", "status": reason,
                             "errors": [{"domain": "global", "reason": "r"}]}})
            .to_string()
            .into_bytes()
        };
        let cases = [
            (401, "UNAUTHENTICATED", "unauthorized"),
            (403, "PERMISSION_DENIED", "unauthorized"),
            (404, "NOT_FOUND", "api"),
            (412, "FAILED_PRECONDITION", "api"),
            (429, "RESOURCE_EXHAUSTED", "rate-limited"),
        ];
        for (status, reason, want) in cases {
            let response = http::Response {
                status,
                headers: vec![("retry-after".into(), "7".into())],
                body: body(status, reason),
            };
            let got = match api_error(&response) {
                ProviderError::Unauthorized(m) => {
                    assert!(m.contains(reason), "{m}");
                    "unauthorized"
                }
                ProviderError::RateLimited(Some(7)) => "rate-limited",
                ProviderError::ApiError(e) if e.status == status => "api",
                other => panic!("{status}: {other:?}"),
            };
            assert_eq!(got, want, "{status}");
        }
    }

    #[test]
    fn record_sets_are_written_absolute() {
        let set = RecordSet::txt("_acme-challenge.example.com", 60, vec!["\"v\"".into()]);
        assert_eq!(
            serde_json::to_value(&set).expect("serializes"),
            json!({"name": "_acme-challenge.example.com.", "type": "TXT", "ttl": 60,
                   "rrdatas": ["\"v\""]})
        );
    }
}
