//! The checks every catalog provider passes against its stand-in (`tests/standins`): the
//! conformance kit, bad credentials as `unauthorized`, a 429 as `rate-limited` with the
//! `Retry-After` seconds, an unknown zone as `zone-not-found`, secrets kept out of every report,
//! and a `describe()` that lists the vendor's real API host, an `api_url` key and every
//! credential as secret.
//!
//! A provider's test module builds a [`Case`] and calls each check from a `#[tokio::test]` of
//! its own, so a failure names the provider and the check.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use acmebox::config::{ConfigValue, Secret};
use acmebox::conformance::{self, Check, ConformanceOptions, ConformanceReport, Outcome};
use acmebox::propagation::PropagationOptions;
use acmebox::sandbox::{ProviderError, ProviderSpec, Sandbox, WasmDnsProvider};
use anyhow::{Context as _, ensure};

use crate::guests::provider;
use crate::http_server::{Received, TestServer};
use crate::servers::servers;
use crate::standin::Standin;
use crate::support::{APEX_VALUE, ensure_hidden, provider_error, record, unique};

/// The zone every stand-in holds and PowerDNS serves.
pub const ZONE: &str = "example.test.";

/// One provider of the catalog and how to run it against its stand-in.
#[derive(Debug, Clone)]
pub struct Case {
    /// The provider's crate in `guest-providers/` (`acmebox-provider-digitalocean`).
    pub crate_name: &'static str,
    /// The stand-in module in `tests/standins/standins/` (`digitalocean`).
    pub vendor: &'static str,
    /// The credentials the stand-in accepts, as its `KEY=VALUE` options.
    pub standin_options: Vec<(&'static str, String)>,
    /// The provider's config keys and values, `api_url` excepted; secrets marked.
    pub config: Vec<(&'static str, String, bool)>,
    /// The path appended to the stand-in's origin to make `api_url` (`""`, `/v1`, ...).
    pub api_path: &'static str,
    /// Config keys to override for a call with credentials the stand-in refuses.
    pub wrong_credentials: Vec<(&'static str, String)>,
    /// The origin `describe()` lists when no `api_url` is set: the vendor's real API.
    pub real_host: &'static str,
    /// Conformance checks that end otherwise than `PASS`, with the outcome they must have.
    pub kit_exceptions: Vec<(Check, &'static str)>,
}

impl Case {
    /// Starts this case's stand-in.
    pub fn standin(&self) -> anyhow::Result<Standin> {
        let options: Vec<(&str, &str)> = self
            .standin_options
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        Standin::start(self.vendor, &options)
    }

    /// The provider's config for `standin`, with `overrides` applied.
    pub fn config_for(
        &self,
        standin: &Standin,
        overrides: &[(&'static str, String)],
    ) -> BTreeMap<String, ConfigValue> {
        self.config_at(&standin.origin(), overrides)
    }

    /// The provider's config for an API served at `origin`, with `overrides` applied.
    pub fn config_at(
        &self,
        origin: &str,
        overrides: &[(&'static str, String)],
    ) -> BTreeMap<String, ConfigValue> {
        let mut config = BTreeMap::new();
        config.insert(
            "api_url".to_owned(),
            ConfigValue::Plain(format!("{origin}{}", self.api_path)),
        );
        for (key, value, secret) in &self.config {
            let value = overrides
                .iter()
                .find(|(k, _)| k == key)
                .map_or(value.clone(), |(_, v)| v.clone());
            let value = if *secret {
                ConfigValue::Secret(Secret::new(&value))
            } else {
                ConfigValue::Plain(value)
            };
            config.insert((*key).to_owned(), value);
        }
        config
    }

    /// The provider loaded in a sandbox of its own, configured for `standin`.
    pub fn load(
        &self,
        standin: &Standin,
        overrides: &[(&'static str, String)],
    ) -> anyhow::Result<(WasmDnsProvider, tempfile::TempDir)> {
        self.load_at(&standin.origin(), overrides)
    }

    /// The provider loaded in a sandbox of its own, configured for an API served at `origin`.
    pub fn load_at(
        &self,
        origin: &str,
        overrides: &[(&'static str, String)],
    ) -> anyhow::Result<(WasmDnsProvider, tempfile::TempDir)> {
        let mut spec = ProviderSpec::new(self.vendor, provider(self.crate_name)?);
        spec.allow = vec![crate::danger(origin)];
        spec.config = self.config_at(origin, overrides);
        let dir = tempfile::tempdir()?;
        let loaded = Sandbox::new(&dir.path().join("cache"))?.load(spec)?;
        Ok((loaded, dir))
    }

    /// Every secret value of the config: none may appear in a report.
    pub fn secrets(&self) -> Vec<String> {
        self.config
            .iter()
            .filter(|(_, _, secret)| *secret)
            .map(|(_, v, _)| v.clone())
            .collect()
    }
}

fn pdns() -> SocketAddr {
    servers()
        .pdns_dns
        .parse()
        .expect("ACMEBOX_PDNS_DNS is host:port")
}

/// Kit options for `domain`: lookups at PowerDNS, the zone's nameservers polled on its port,
/// and no wait longer than 20 s.
pub fn kit_options(domain: &str) -> ConformanceOptions {
    let mut dns = PropagationOptions::default()
        .with_resolvers(vec![pdns()])
        .with_nameserver_port(pdns().port());
    dns.query_timeout = Duration::from_secs(2);
    ConformanceOptions::new(ZONE)
        .with_domain(domain)
        .with_propagation(dns)
        .with_timeout_cap(Duration::from_secs(20))
}

/// Each check's name and `PASS`, `FAIL` or `N/A`, in order.
pub fn outcomes(report: &ConformanceReport) -> Vec<(Check, &'static str)> {
    report
        .checks
        .iter()
        .map(|c| {
            let tag = match c.outcome {
                Outcome::Passed(_) => "PASS",
                Outcome::Failed(_) => "FAIL",
                Outcome::NotApplicable(_) => "N/A",
            };
            (c.name, tag)
        })
        .collect()
}

/// Asserts every check's outcome: `PASS` except the checks listed with another.
pub fn assert_outcomes(report: &ConformanceReport, except: &[(Check, &'static str)]) {
    let want: Vec<(Check, &str)> = Check::ALL
        .iter()
        .map(|check| {
            let tag = except
                .iter()
                .find(|(c, _)| c == check)
                .map_or("PASS", |(_, tag)| *tag);
            (*check, tag)
        })
        .collect();
    let mut lines = Vec::new();
    report.write_lines(&mut lines).expect("writing to a Vec");
    assert_eq!(
        outcomes(report),
        want,
        "\n{}",
        String::from_utf8_lossy(&lines)
    );
}

/// The conformance kit passes against the stand-in (which writes through to PowerDNS, so the
/// kit reads real DNS answers), and the stand-in holds none of the kit's values afterwards.
pub async fn conformance_passes(case: &Case) -> anyhow::Result<()> {
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique(case.vendor);
    let report = conformance::run(&loaded, &kit_options(&domain)).await?;
    assert_outcomes(&report, &case.kit_exceptions);
    if !case
        .kit_exceptions
        .iter()
        .any(|(c, _)| *c == Check::NothingLeft)
    {
        let left = standin.txt(&format!("_acme-challenge.{domain}"))?;
        ensure!(left.is_empty(), "the stand-in still holds {left:?}");
    }
    Ok(())
}

/// Credentials the stand-in refuses make `present` fail with `unauthorized`; no secret shows.
pub async fn bad_credentials_are_unauthorized(case: &Case) -> anyhow::Result<()> {
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &case.wrong_credentials)?;
    let domain = unique(case.vendor);
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "expected unauthorized, got {:?}; logs {:?}",
        report.error(),
        report.logs
    );
    for secret in case.secrets() {
        ensure_hidden(&report, &secret)?;
    }
    for (_, wrong) in &case.wrong_credentials {
        ensure_hidden(&report, wrong)?;
    }
    Ok(())
}

/// A request signed with a wrong secret (`case.wrong_credentials`) is `unauthorized` with a
/// message that names each of `names` (the vendor's error code or text), so an operator knows
/// which key to check; no secret, right or wrong, shows. Returns the message.
pub async fn refused_signature_is_named(case: &Case, names: &[&str]) -> anyhow::Result<String> {
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &case.wrong_credentials)?;
    let report = loaded
        .present(&record(&unique(case.vendor), APEX_VALUE, Some(ZONE)))
        .await;
    let Some(ProviderError::Unauthorized(message)) = provider_error(&report) else {
        anyhow::bail!("expected unauthorized, got {:?}", report.error());
    };
    for name in names {
        ensure!(message.contains(name), "{name:?} is not in: {message}");
    }
    let wrong = case.wrong_credentials.iter().map(|(_, v)| v.clone());
    for secret in case.secrets().into_iter().chain(wrong) {
        ensure_hidden(&report, &secret)?;
    }
    Ok(message.clone())
}

/// A call that fails after signed requests went out: the provider against a server answering
/// every request with 200 and `answer`, which must make `present` fail after at least
/// `min_signed` requests. `signatures` gives the values each request carries that derive from a
/// secret (signatures, authorization headers), and fails for a request that is not signed as it
/// should be; none of them, and no secret of the case, shows in the report.
pub async fn signatures_stay_hidden(
    case: &Case,
    answer: &str,
    min_signed: usize,
    signatures: impl Fn(&Received) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<()> {
    let api = TestServer::start(200, answer.to_owned()).await?;
    let (loaded, _dir) = case.load_at(&api.origin(), &[])?;
    let report = loaded
        .present(&record(&unique(case.vendor), APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(report.error().is_some(), "the call should have failed");
    let received = api.received();
    ensure!(
        received.len() >= min_signed,
        "expected {min_signed} signed requests, got {received:?}"
    );
    for request in &received {
        for derived in signatures(request)? {
            ensure_hidden(&report, &derived)?;
        }
    }
    for secret in case.secrets() {
        ensure_hidden(&report, &secret)?;
    }
    Ok(())
}

/// A 429 with `Retry-After: 7` makes `present` fail with `rate-limited(7)`, and nothing is
/// left at the stand-in.
pub async fn rate_limit_is_typed(case: &Case) -> anyhow::Result<()> {
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique(case.vendor);
    standin.inject(429, Some(7), 1)?;
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::RateLimited(Some(7)))
        ),
        "expected rate-limited(7), got {:?}; logs {:?}",
        report.error(),
        report.logs
    );
    let held = standin.txt(&format!("_acme-challenge.{domain}"))?;
    ensure!(held.is_empty(), "a refused present left {held:?}");
    Ok(())
}

/// A record in a zone the account does not have fails with `zone-not-found`, with the zone
/// passed and without.
pub async fn unknown_zone_is_typed(case: &Case) -> anyhow::Result<()> {
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    for zone in [Some("no-such-zone.test."), None] {
        let report = loaded
            .present(&record("x.no-such-zone.test", APEX_VALUE, zone))
            .await;
        ensure!(
            matches!(
                provider_error(&report),
                Some(ProviderError::ZoneNotFound(_))
            ),
            "zone {zone:?}: expected zone-not-found, got {:?}; logs {:?}",
            report.error(),
            report.logs
        );
    }
    Ok(())
}

/// `describe()`: the vendor's real API origin without `api_url` and the stand-in's with it, an
/// optional `api_url` key, every credential key secret and described.
pub async fn describe_is_complete(case: &Case) -> anyhow::Result<()> {
    let standin = case.standin()?;
    let dir = tempfile::tempdir()?;
    let sandbox = Sandbox::new(&dir.path().join("cache"))?;

    let mut spec = ProviderSpec::new(case.vendor, provider(case.crate_name)?);
    spec.config = case.config_for(&standin, &[]);
    spec.config.remove("api_url");
    spec.allow = vec![case.real_host.to_owned()];
    let info = sandbox.load(spec)?.describe().await?;
    ensure!(
        info.hosts == [case.real_host],
        "hosts without api_url: {:?}",
        info.hosts
    );
    let api_url = info
        .config_keys
        .iter()
        .find(|k| k.name == "api_url")
        .context("no api_url config key")?;
    ensure!(!api_url.required, "api_url must be optional");
    for (key, _, secret) in &case.config {
        let described = info
            .config_keys
            .iter()
            .find(|k| k.name == *key)
            .with_context(|| format!("config key {key} is not described"))?;
        ensure!(
            described.secret == *secret,
            "config key {key}: secret is {}",
            described.secret
        );
        ensure!(
            !described.description.is_empty(),
            "config key {key} has no description"
        );
    }

    let (loaded, _dir) = case.load(&standin, &[])?;
    let info = loaded.describe().await?;
    ensure!(
        info.hosts == [standin.origin()],
        "hosts with api_url: {:?}",
        info.hosts
    );
    Ok(())
}

/// The five generic checks as `#[tokio::test]`s named `conformance`, `bad_credentials`,
/// `rate_limited`, `unknown_zone` and `describe`, for the [`Case`] that `$case` builds. Use it
/// once in a provider's test module: `acmebox_tests::catalog_tests!(case());`.
#[macro_export]
macro_rules! catalog_tests {
    ($case:expr) => {
        #[tokio::test]
        async fn conformance() -> anyhow::Result<()> {
            $crate::catalog::conformance_passes(&$case).await
        }

        #[tokio::test]
        async fn bad_credentials() -> anyhow::Result<()> {
            $crate::catalog::bad_credentials_are_unauthorized(&$case).await
        }

        #[tokio::test]
        async fn rate_limited() -> anyhow::Result<()> {
            $crate::catalog::rate_limit_is_typed(&$case).await
        }

        #[tokio::test]
        async fn unknown_zone() -> anyhow::Result<()> {
            $crate::catalog::unknown_zone_is_typed(&$case).await
        }

        #[tokio::test]
        async fn describe() -> anyhow::Result<()> {
            $crate::catalog::describe_is_complete(&$case).await
        }
    };
}
