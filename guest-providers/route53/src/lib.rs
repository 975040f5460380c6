//! An acmebox DNS-01 provider for Amazon Route 53, through the Route 53 API (2013-04-01)
//! signed with AWS Signature Version 4 (`acmebox_provider::auth::sigv4`).
//!
//! Route 53 keeps all TXT values at a name in one record set, which a change batch replaces
//! whole. Each call is one read-modify-write round, run again from the read by
//! [`retry::retrying`] when Route 53 says the set changed meanwhile:
//!
//! * `GET /2013-04-01/hostedzone/<id>/rrset?name=<fqdn>&type=TXT&maxitems=1` reads the set;
//! * `POST /2013-04-01/hostedzone/<id>/rrset/` sends one atomic batch: `DELETE` of the set
//!   exactly as read (values and TTL), then `CREATE` of the new set; only `CREATE` when there
//!   was none, only `DELETE` when the last value goes. A `DELETE` whose values no longer match,
//!   or a `CREATE` of a set that now exists, is refused (`InvalidChangeBatch`), so two calls at
//!   one name never overwrite each other's value, as an `UPSERT` could;
//! * after a present, `GET /2013-04-01/change/<id>` until `INSYNC` (bounded).
//!
//! The hosted zone is the `hosted_zone_id` key when set, else the public zone that
//! `GET /2013-04-01/hostedzonesbyname?dnsname=<name>` finds for the zone the host passes, or
//! for the closest parent of the record's name.

mod xml;

use std::time::{Duration, Instant};

use acmebox_provider::auth::sigv4::{Credentials, Signer};
use acmebox_provider::http::{self, Method};
use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, log, retry,
};

use crate::xml::{Action, TxtSet};

/// Route 53's API endpoint, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://route53.amazonaws.com";

/// The region Route 53 requests are signed for in the `aws` partition.
const DEFAULT_REGION: &str = "us-east-1";

/// The API version prefix of every path.
const VERSION: &str = "/2013-04-01";

/// How long a present waits for its change to be `INSYNC`. Route 53 documents changes as
/// propagating to all its name servers "generally within 60 seconds".
const INSYNC_TIMEOUT: Duration = Duration::from_secs(90);

/// The pause between two `GetChange` polls.
const INSYNC_POLL: Duration = Duration::from_secs(2);

/// How long a request may go without a response byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

struct Route53;

impl Provider for Route53 {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "access_key_id",
                    "the access key id of an IAM user or role allowed \
                     route53:ListHostedZonesByName, ListResourceRecordSets, \
                     ChangeResourceRecordSets and GetChange (lego: AWS_ACCESS_KEY_ID)",
                )
                .secret(),
                ConfigKey::required(
                    "secret_access_key",
                    "its secret access key (lego: AWS_SECRET_ACCESS_KEY)",
                )
                .secret(),
                ConfigKey::optional(
                    "session_token",
                    "the session token of temporary credentials from AWS STS \
                     (lego: AWS_SESSION_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "hosted_zone_id",
                    "the hosted zone to write to (Z…); default: the public zone found by \
                     name (lego: AWS_HOSTED_ZONE_ID)",
                ),
                ConfigKey::optional(
                    "region",
                    "the region requests are signed for (default us-east-1; cn-northwest-1 \
                     or us-gov-west-1 in the other partitions; lego: AWS_REGION)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the API endpoint (default https://route53.amazonaws.com)",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 180,
            polling_interval_secs: 5,
            ..ProviderInfo::new(
                "route53",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Amazon Route 53 API, signed with AWS SigV4",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let change = retry::retrying("Route 53", || {
            api.change(&zone, &record, |contents, value| {
                if contents.iter().any(|c| dns::unquote_txt(c) == value) {
                    return false;
                }
                contents.push(dns::quote_txt(value));
                true
            })
        })?;
        match change {
            Some(id) => api.wait_insync(&id),
            None => {
                log::info!("TXT value already present at {}", record.fqdn);
                Ok(())
            }
        }
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let zone = api.zone_for(&record)?;
        let change = retry::retrying("Route 53", || {
            api.change(&zone, &record, |contents, value| {
                let before = contents.len();
                contents.retain(|c| dns::unquote_txt(c) != value);
                contents.len() != before
            })
        })?;
        if change.is_none() {
            log::info!("TXT value already absent at {}", record.fqdn);
        }
        Ok(())
    }
}

acmebox_provider::export!(Route53);

/// The API as configured.
struct Api {
    base: String,
    signer: Signer,
    hosted_zone_id: Option<String>,
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
        let credentials = Credentials::new(
            config::require("access_key_id")?.trim(),
            config::require("secret_access_key")?.trim(),
            config::get("session_token").map(|t| t.trim().to_owned()),
        );
        let region = config::get("region")
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        Ok(Self {
            base,
            signer: Signer::new(credentials, &region, "route53"),
            hosted_zone_id: config::get("hosted_zone_id")
                .map(|id| xml::zone_id(&id))
                .filter(|id| !id.is_empty()),
        })
    }

    /// The id of the hosted zone holding `record.fqdn`.
    fn zone_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        if let Some(id) = &self.hosted_zone_id {
            return Ok(id.clone());
        }
        let (name, id) = dns::find_zone("Route 53", record, |candidate| {
            let url = format!(
                "{}{VERSION}/hostedzonesbyname?dnsname={}&maxitems=10",
                self.base,
                http::encode_component(candidate)
            );
            let zones: xml::HostedZonesByName = parse(&self.send(Method::Get, &url, None)?)?;
            Ok(zones.public_zone(candidate))
        })?;
        log::debug!("{} is in hosted zone {id} ({name})", record.fqdn);
        Ok(id)
    }

    /// One read-modify-write round: reads the TXT set at `record.fqdn`, lets `edit` change its
    /// contents (quoted strings) with the record's value (bare), and writes it back when `edit` says it
    /// changed. Returns the change id, `None` when nothing had to change.
    fn change(
        &self,
        zone: &str,
        record: &TxtRecord,
        edit: impl Fn(&mut Vec<String>, &str) -> bool,
    ) -> Result<Option<String>, ProviderError> {
        let fqdn = dns::absolute(&record.fqdn);
        let current = self.txt_set(zone, &fqdn)?;
        let mut contents = current
            .as_ref()
            .map(|s| s.contents.clone())
            .unwrap_or_default();
        if !edit(&mut contents, &record.value) {
            return Ok(None);
        }
        let next = TxtSet {
            name: current.as_ref().map_or(fqdn.clone(), |s| s.name.clone()),
            ttl: record.ttl.max(1),
            contents,
        };
        let mut changes = Vec::new();
        if let Some(current) = &current {
            changes.push((Action::Delete, current));
        }
        if !next.contents.is_empty() {
            changes.push((Action::Create, &next));
        }
        let body = xml::change_batch("acmebox DNS-01", &changes);
        let url = format!("{}{VERSION}/hostedzone/{zone}/rrset/", self.base);
        let answer: xml::ChangeResponse =
            parse(&self.send(Method::Post, &url, Some(body.into_bytes()))?)?;
        log::info!(
            "changed the TXT set at {fqdn} in hosted zone {zone} to {} value(s) ({})",
            next.contents.len(),
            answer.change_info.id
        );
        Ok(Some(answer.change_info.id))
    }

    /// The simple TXT set at `fqdn`, if any.
    fn txt_set(&self, zone: &str, fqdn: &str) -> Result<Option<TxtSet>, ProviderError> {
        let url = format!(
            "{}{VERSION}/hostedzone/{zone}/rrset?name={}&type=TXT&maxitems=1",
            self.base,
            http::encode_component(fqdn)
        );
        let sets: xml::RecordSets = parse(&self.send(Method::Get, &url, None)?)?;
        Ok(sets.txt_at(fqdn))
    }

    /// Polls `GetChange` until the change is `INSYNC`, for at most [`INSYNC_TIMEOUT`]. A change
    /// still pending then is not an error: acmebox checks the name servers itself next.
    fn wait_insync(&self, change_id: &str) -> Result<(), ProviderError> {
        let id = change_id.trim().trim_start_matches("/change/");
        let url = format!(
            "{}{VERSION}/change/{}",
            self.base,
            http::encode_component(id)
        );
        let start = Instant::now();
        loop {
            let answer: xml::ChangeResponse = parse(&self.send(Method::Get, &url, None)?)?;
            if answer.change_info.status.eq_ignore_ascii_case("INSYNC") {
                log::info!("change {id} is INSYNC");
                return Ok(());
            }
            if start.elapsed() + INSYNC_POLL > INSYNC_TIMEOUT {
                log::warn!(
                    "change {id} is still {} after {} s; going on",
                    answer.change_info.status,
                    INSYNC_TIMEOUT.as_secs()
                );
                return Ok(());
            }
            std::thread::sleep(INSYNC_POLL);
        }
    }

    /// Sends one signed request; maps Route 53's errors to the WIT variants.
    fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<http::Response, ProviderError> {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", "text/xml")]
        } else {
            &[]
        };
        let response = self
            .signer
            .request(method, url, headers, body.unwrap_or_default())
            .timeout(REQUEST_TIMEOUT)
            .send()?;
        if response.is_success() {
            return Ok(response);
        }
        Err(xml::error_for(
            response.status,
            response.retry_after(),
            &response.text(),
        ))
    }
}

/// An answer's body as one of the shapes of [`xml`].
fn parse<T: serde::de::DeserializeOwned>(response: &http::Response) -> Result<T, ProviderError> {
    quick_xml::de::from_str(&response.text()).map_err(|e| {
        ProviderError::Other(format!(
            "Route 53 answered {} with XML that is not what the API reference describes: {e}",
            response.status
        ))
    })
}
