//! # acmebox-hooks
//!
//! acmebox as a hook of existing ACME clients: lego's `exec` and `httpreq` providers and
//! certbot's manual hooks hand over a DNS-01 record (or the raw challenge), and a sandboxed
//! provider publishes or removes it.
//!
//! The clients speak in two shapes, both a [`DnsRequest`]:
//!
//! * the record itself, name and value computed by the client: lego's default `exec` and
//!   `httpreq` modes, certbot's `CERTBOT_DOMAIN` + `CERTBOT_VALIDATION`;
//! * the raw challenge, domain and key authorization (lego's `RAW` modes), from which acmebox
//!   computes the record natively.
//!
//! Either way the input is checked before any provider runs, so a mistyped hook line fails
//! with what to fix instead of a provider error.
//!
//! ```
//! use acmebox_hooks::DnsRequest;
//!
//! let request = DnsRequest::Record {
//!     fqdn: "_acme-challenge.Example.com.".into(),
//!     value: "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0".into(),
//! };
//! let record = request.txt_record(60)?;
//! assert_eq!(record.fqdn, "_acme-challenge.example.com.");
//! assert_eq!(record.domain, "example.com");
//! # Ok::<(), acmebox_hooks::Error>(())
//! ```

#![deny(missing_docs)]

pub mod cert_manager;
pub mod certbot;
mod error;
pub mod httpreq;
pub mod lego;
pub mod metrics;
mod serve_tls;

use std::path::Path;

use acmebox_challenge::dns01::{CHALLENGE_LABEL, Dns01Record};
use acmebox_challenge::names::MAX_NAME_LEN;
use acmebox_challenge::{Identifier, KeyAuthorization, normalize_domain};
use acmebox_propagation::{PropagationOptions, PropagationReport, Resolver};
use acmebox_sandbox::config::Config;
use acmebox_sandbox::{CallReport, Operation, Sandbox, TxtRecord, WasmDnsProvider};

pub use error::{Error, Result};
pub use serve_tls::ServeTls;

/// Length of a DNS-01 TXT value: base64url without padding of a SHA-256 digest.
const VALUE_LEN: usize = 43;

/// A DNS-01 record change an ACME client asks for. Its `Debug` hides the key authorization.
#[derive(Clone, PartialEq, Eq)]
pub enum DnsRequest {
    /// The record as the client computed it.
    Record {
        /// The record name, usually `_acme-challenge.<domain>.` (or where its CNAME points).
        fqdn: String,
        /// The TXT value.
        value: String,
    },
    /// The challenge; acmebox computes the record.
    Raw {
        /// The identifier the challenge is for (`example.com`, `*.example.com`).
        domain: String,
        /// The challenge token, when the client passes it apart from the key authorization;
        /// it must then be the key authorization's first part.
        token: Option<String>,
        /// `<token>.<account key thumbprint>`.
        key_authorization: String,
    },
}

impl std::fmt::Debug for DnsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DnsRequest::Record { fqdn, value } => f
                .debug_struct("Record")
                .field("fqdn", fqdn)
                .field("value", value)
                .finish(),
            DnsRequest::Raw { domain, token, .. } => f
                .debug_struct("Raw")
                .field("domain", domain)
                .field("token", token)
                .field("key_authorization", &"[redacted]")
                .finish(),
        }
    }
}

impl DnsRequest {
    /// The TXT record to publish with `ttl`, after checking the request.
    pub fn txt_record(&self, ttl: u32) -> Result<TxtRecord> {
        match self {
            DnsRequest::Record { fqdn, value } => record_from_parts(fqdn, value, ttl),
            DnsRequest::Raw {
                domain,
                token,
                key_authorization,
            } => {
                let key_authorization = KeyAuthorization::parse(key_authorization)?;
                if let Some(token) = token
                    && key_authorization.token().as_str() != token
                {
                    // Only the token part is shown: the key authorization is the proof itself.
                    return Err(invalid(format!(
                        "the token {token:?} is not the first part of the key authorization \
                         (whose token is {:?}); pass the two from the same challenge",
                        key_authorization.token().as_str()
                    )));
                }
                let record = Dns01Record::new(&Identifier::parse(domain)?, &key_authorization)?;
                Ok(TxtRecord::from_dns01(&record, ttl))
            }
        }
    }
}

fn invalid(reason: String) -> Error {
    Error::HookRequest { reason }
}

/// Checks a client-computed record: a DNS name (labels of letters, digits, `-` and `_`) and a
/// 43-character base64url value.
fn record_from_parts(fqdn: &str, value: &str, ttl: u32) -> Result<TxtRecord> {
    let name = fqdn.trim().trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() {
        return Err(invalid(
            "the record name is empty; pass `_acme-challenge.<domain>.`".to_owned(),
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "the record name {fqdn:?} is {} characters long; DNS allows at most {MAX_NAME_LEN}",
            name.len()
        )));
    }
    for label in name.split('.') {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if label.is_empty() || label.len() > 63 || !label.chars().all(allowed) {
            return Err(invalid(format!(
                "the record name {fqdn:?} has the label {label:?}; labels are 1 to 63 letters, \
                 digits, '-' or '_'"
            )));
        }
    }
    let domain = match name.strip_prefix(&format!("{CHALLENGE_LABEL}.")) {
        Some(domain) => normalize_domain(domain)?,
        // A name a CNAME led the client to: the record is the name itself.
        None => name.clone(),
    };
    if value.len() != VALUE_LEN
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        // The value is not shown: what is passed by mistake here is often the key authorization.
        return Err(invalid(format!(
            "the TXT value ({} characters) is not a DNS-01 value (43 base64url characters, the \
             SHA-256 of the key authorization); did the client pass the key authorization \
             instead? Then use its raw mode",
            value.chars().count()
        )));
    }
    Ok(TxtRecord {
        domain,
        fqdn: format!("{name}."),
        value: value.to_owned(),
        ttl,
        zone: None,
    })
}

/// Which requests have their record name moved to where its CNAMEs end
/// ([`acmebox_sandbox::place_record`]) before the provider is called.
///
/// A client that passes the record name (lego's default modes) has followed the CNAMEs itself,
/// as lego does; where acmebox computes the name (lego's `RAW` modes, certbot, which passes only
/// the domain) acmebox follows them, so that every command publishes, and waits, where the CA
/// looks.
#[derive(Debug, Clone)]
pub enum Placement {
    /// Publish at the name as given or computed.
    AsGiven,
    /// Follow the CNAMEs of names acmebox computed ([`DnsRequest::Raw`]); client-given names
    /// are used as they are.
    FollowComputed(Resolver),
    /// Follow the CNAMEs of every name: for clients that pass `_acme-challenge.<domain>.`
    /// without following them (certbot).
    FollowAll(Resolver),
}

/// A configured provider loaded once, answering hook requests; optionally waiting, after a
/// present, until every authoritative nameserver serves the value.
#[derive(Debug, Clone)]
pub struct HookRunner {
    provider: WasmDnsProvider,
    resolver: Option<Resolver>,
    placement: Placement,
}

impl HookRunner {
    /// Loads provider `name` from the config file at `config`, its config checked against
    /// what it reads ([`Sandbox::load_checked`]).
    pub async fn from_config(config: &Path, name: &str) -> Result<Self> {
        let config = Config::load(config)?;
        let spec = config.provider_spec(name)?;
        let provider = Sandbox::new(config.cache_dir())?.load_checked(spec).await?;
        Ok(Self::new(provider))
    }

    /// Loads providers `names` from the config file at `config`, sharing one sandbox (one
    /// engine and compiled-component cache), each with its own limits.
    pub async fn from_config_many(config: &Path, names: &[String]) -> Result<Vec<Self>> {
        let config = Config::load(config)?;
        let sandbox = Sandbox::new(config.cache_dir())?;
        let mut runners = Vec::with_capacity(names.len());
        for name in names {
            let spec = config.provider_spec(name)?;
            runners.push(Self::new(sandbox.load_checked(spec).await?));
        }
        Ok(runners)
    }

    /// Runs requests through `provider`.
    pub fn new(provider: WasmDnsProvider) -> Self {
        HookRunner {
            provider,
            resolver: None,
            placement: Placement::AsGiven,
        }
    }

    /// Moves record names to where their CNAMEs end, as `placement` says.
    pub fn with_placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// After each present, waits for propagation with `options`, timed as the provider
    /// suggests unless `options` already carries a timing of its own.
    pub async fn with_propagation_wait(
        mut self,
        mut options: PropagationOptions,
        provider_timing: bool,
    ) -> Result<Self> {
        if provider_timing {
            let info = self.provider.info().await?;
            options = options
                .with_provider_timing(info.propagation_timeout_secs, info.polling_interval_secs);
        }
        self.resolver = Some(Resolver::new(options)?);
        Ok(self)
    }

    /// The provider.
    pub fn provider(&self) -> &WasmDnsProvider {
        &self.provider
    }

    /// The record `request` asks for, checked, at the name it is published at (see
    /// [`Placement`]): what [`run_record`](Self::run_record) and
    /// [`wait_record`](Self::wait_record) take.
    pub async fn record(&self, request: &DnsRequest) -> Result<TxtRecord> {
        let record = request.txt_record(self.provider.ttl())?;
        let resolver = match (&self.placement, request) {
            (Placement::FollowAll(resolver), _)
            | (Placement::FollowComputed(resolver), DnsRequest::Raw { .. }) => resolver,
            _ => return Ok(record),
        };
        Ok(acmebox_sandbox::place_record(&record, resolver).await?)
    }

    /// Runs `operation` for `request`. `Err` means nothing ran (the request was invalid, or
    /// its record name could not be looked up); a provider failure is in the report's outcome.
    pub async fn run(&self, operation: Operation, request: &DnsRequest) -> Result<CallReport> {
        let record = self.record(request).await?;
        self.run_record(operation, &record).await
    }

    /// Runs `operation` for a record from [`record`](Self::record).
    ///
    /// A provider that describes itself as `sequential` gets one live value at a time: a
    /// present while its journal holds another live value of it is refused, saying which.
    pub async fn run_record(&self, operation: Operation, record: &TxtRecord) -> Result<CallReport> {
        if operation == Operation::Present && self.provider.is_sequential().await {
            let live = self.provider.live_records()?;
            if let Some(other) = live
                .iter()
                .find(|e| !(e.fqdn.eq_ignore_ascii_case(&record.fqdn) && e.value == record.value))
            {
                return Err(invalid(format!(
                    "provider `{}` is sequential (its API takes one value at a time) and {} \
                     still holds a value presented by {}; have the client validate and clean up \
                     each value before it presents the next (lego: set EXEC_SEQUENCE_INTERVAL; \
                     certbot presents every value first, so use `acmebox issue` instead)",
                    self.provider.name(),
                    other.fqdn,
                    other.owner
                )));
            }
        }
        match operation {
            Operation::Present => Ok(self.provider.present(record).await),
            Operation::Cleanup => Ok(self.provider.cleanup(record).await),
            other => Err(invalid(format!(
                "{other} is not a record operation; use present or cleanup"
            ))),
        }
    }

    /// Waits until every authoritative nameserver serves the record's value, when the runner
    /// was built [`with_propagation_wait`](Self::with_propagation_wait); `None` otherwise.
    pub async fn wait(
        &self,
        request: &DnsRequest,
        progress: impl FnMut(&acmebox_propagation::PropagationStatus),
    ) -> Result<Option<PropagationReport>> {
        let record = self.record(request).await?;
        self.wait_record(&record, progress).await
    }

    /// [`wait`](Self::wait) for a record from [`record`](Self::record): polls at its name.
    pub async fn wait_record(
        &self,
        record: &TxtRecord,
        progress: impl FnMut(&acmebox_propagation::PropagationStatus),
    ) -> Result<Option<PropagationReport>> {
        let Some(resolver) = &self.resolver else {
            return Ok(None);
        };
        let report = resolver
            .wait_for_txt(&record.fqdn, &record.value, progress)
            .await?;
        Ok(Some(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    const KEY_AUTHORIZATION: &str =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

    fn record(fqdn: &str, value: &str) -> Result<TxtRecord> {
        DnsRequest::Record {
            fqdn: fqdn.into(),
            value: value.into(),
        }
        .txt_record(120)
    }

    #[test]
    fn records_are_normalised() -> Result<()> {
        let r = record("_ACME-challenge.Sub.Example.COM", VALUE)?;
        assert_eq!(
            (r.fqdn.as_str(), r.domain.as_str(), r.value.as_str(), r.ttl),
            (
                "_acme-challenge.sub.example.com.",
                "sub.example.com",
                VALUE,
                120
            )
        );
        // A CNAME target keeps its own name as the domain.
        let r = record("abc123.acme-dns.example.net.", VALUE)?;
        assert_eq!(r.fqdn, "abc123.acme-dns.example.net.");
        assert_eq!(r.domain, "abc123.acme-dns.example.net");
        Ok(())
    }

    #[test]
    fn bad_records_say_what_is_wrong() {
        let cases = [
            ("", VALUE, "the record name is empty"),
            ("_acme-challenge..example.com", VALUE, "has the label \"\""),
            ("_acme-challenge.exa mple.com", VALUE, "labels are 1 to 63"),
            (
                "_acme-challenge.example.com",
                "short",
                "is not a DNS-01 value",
            ),
            (
                "_acme-challenge.example.com",
                KEY_AUTHORIZATION,
                "use its raw mode",
            ),
            (
                "_acme-challenge.example.com",
                "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX=",
                "43 base64url",
            ),
        ];
        for (fqdn, value, want) in cases {
            let err = record(fqdn, value).expect_err(fqdn).to_string();
            assert!(err.contains(want), "{fqdn:?} {value:?}: {err}");
        }
        let long = format!("_acme-challenge.{}.com", "a.".repeat(130));
        let err = record(&long, VALUE).expect_err("long").to_string();
        assert!(err.contains("DNS allows at most 253"), "{err}");
    }

    #[test]
    fn raw_requests_are_computed_natively() -> Result<()> {
        let raw = |domain: &str, token: Option<&str>| DnsRequest::Raw {
            domain: domain.into(),
            token: token.map(str::to_owned),
            key_authorization: KEY_AUTHORIZATION.into(),
        };
        let want = Dns01Record::new(
            &Identifier::parse("example.com")?,
            &KeyAuthorization::parse(KEY_AUTHORIZATION)?,
        )?;
        for request in [
            raw("example.com", None),
            raw(
                "*.Example.com.",
                Some("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"),
            ),
        ] {
            let r = request.txt_record(60)?;
            assert_eq!(r.fqdn, "_acme-challenge.example.com.");
            assert_eq!(r.value, want.value().as_str());
        }
        let err = raw("example.com", Some("another-token"))
            .txt_record(60)
            .expect_err("token mismatch")
            .to_string();
        assert!(err.contains("is not the first part"), "{err}");
        assert!(!err.contains(KEY_AUTHORIZATION), "{err}");
        let err = DnsRequest::Raw {
            domain: "example.com".into(),
            token: None,
            key_authorization: VALUE.into(),
        }
        .txt_record(60)
        .expect_err("no thumbprint")
        .to_string();
        assert!(err.contains("key authorization"), "{err}");
        Ok(())
    }
}
