//! # acmebox-conformance
//!
//! The conformance kit: runs a provider through the `dns-provider` contract against its real
//! backend, and checks what the authoritative DNS servers actually serve.
//!
//! A provider's own word proves nothing: a `present` that returns `ok` may have published
//! nothing, replaced a value it should have added to, or written into the wrong zone. [`run`]
//! makes the calls an ACME client makes, and after each one asks the zone's authoritative
//! servers (through [`acmebox_propagation`], without recursion, so no cache answers) what they
//! serve. The checks, in the order they run ([`Check`]):
//!
//! 1. `describe` is complete: name, version and description set, every config key described,
//!    hosts listed (as valid allow-list entries), timings above zero;
//! 2. `present` makes the value visible at every authoritative server, within the provider's
//!    propagation timeout;
//! 3. a second value at the same name (the apex and the wildcard of one domain) is served
//!    beside the first;
//! 4. `cleanup` of the first value removes it;
//! 5. ... and leaves the second one served;
//! 6. `cleanup` of the same value again succeeds;
//! 7. `cleanup` of a value never presented succeeds (and removes nothing else);
//! 8. `present` of a record in a zone that cannot exist (under `.invalid.`, RFC 6761) fails with
//!    a typed provider error (not a trap, not `other`), and the provider keeps working
//!    afterwards;
//! 9. once the kit has cleaned up everything it presented, none of its values is served.
//!
//! The kit cleans up every value it presented, whichever checks failed. Every value is random,
//! at a random name under the zone unless [`ConformanceOptions::with_domain`] says otherwise.
//!
//! Some providers cannot do some checks by design, and the kit cannot tell that apart from a
//! bug. The operator says so, and those checks are reported as not applicable, never as passed:
//!
//! - [`ConformanceOptions::cleanup_keeps_values`]: `cleanup` leaves values in place (acme-dns,
//!   which has no delete and keeps the two latest values); checks 4 and 9 are not applicable,
//!   though the `cleanup` calls must still succeed.
//! - [`ConformanceOptions::ignores_record_name`]: the provider publishes at a place of its own
//!   whatever the record's name and zone (acme-dns: the account's subdomain, which
//!   `_acme-challenge.<domain>` points at by CNAME); check 8 is not applicable.
//!
//! ```no_run
//! use std::time::Duration;
//! use acmebox_conformance::ConformanceOptions;
//! use acmebox_propagation::PropagationOptions;
//! # async fn example(
//! #     provider: acmebox_sandbox::WasmDnsProvider,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let dns = PropagationOptions::default()
//!     .with_resolvers(vec!["127.0.0.1:5353".parse().unwrap()])
//!     .with_authoritative_servers(vec!["127.0.0.1:5353".parse().unwrap()]);
//! let options = ConformanceOptions::new("example.test")
//!     .with_propagation(dns)
//!     .with_timeout_cap(Duration::from_secs(30));
//! let report = acmebox_conformance::run(&provider, &options).await?;
//! report.write_lines(&mut std::io::stdout())?;
//! assert!(report.is_success(), "{}", report.summary());
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod checks;
mod error;
mod served;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use acmebox_propagation::PropagationOptions;
use acmebox_sandbox::WasmDnsProvider;

pub use error::{Error, Result};

/// One check of the kit, in the order [`run`] runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Check {
    /// `describe` is complete.
    Describe,
    /// `present` makes the value visible at every authoritative server.
    Present,
    /// A second value at the same name is served beside the first.
    SecondValue,
    /// `cleanup` removes the value it is given.
    CleanupRemoves,
    /// `cleanup` of one value leaves the other served.
    CleanupKeepsOther,
    /// `cleanup` of a value already removed succeeds.
    CleanupTwice,
    /// `cleanup` of a value never presented succeeds and removes nothing else.
    CleanupNeverPresented,
    /// A record the provider cannot publish fails with a typed error, and the provider keeps
    /// working afterwards.
    TypedError,
    /// Nothing the kit presented is served once it has cleaned up.
    NothingLeft,
}

impl Check {
    /// Every check, in the order they run.
    pub const ALL: [Check; 9] = [
        Check::Describe,
        Check::Present,
        Check::SecondValue,
        Check::CleanupRemoves,
        Check::CleanupKeepsOther,
        Check::CleanupTwice,
        Check::CleanupNeverPresented,
        Check::TypedError,
        Check::NothingLeft,
    ];

    /// Its name, as the report prints it (`cleanup-removes`).
    pub fn name(self) -> &'static str {
        match self {
            Check::Describe => "describe",
            Check::Present => "present",
            Check::SecondValue => "second-value",
            Check::CleanupRemoves => "cleanup-removes",
            Check::CleanupKeepsOther => "cleanup-keeps-other",
            Check::CleanupTwice => "cleanup-twice",
            Check::CleanupNeverPresented => "cleanup-never-presented",
            Check::TypedError => "typed-error",
            Check::NothingLeft => "nothing-left",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one check came out. Each carries a sentence for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum Outcome {
    /// The provider did what the contract asks; what the kit saw.
    Passed(String),
    /// It did not; what went wrong.
    Failed(String),
    /// The operator said the provider cannot do this by design; which option said so.
    NotApplicable(String),
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Which check.
    #[serde(rename = "check")]
    pub name: Check,
    /// How it came out.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl CheckResult {
    /// True when it passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Passed(_))
    }

    /// True when it failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

/// One line: `PASS present: ...`, `FAIL ...` or `N/A ...`.
impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tag, reason) = match &self.outcome {
            Outcome::Passed(reason) => ("PASS", reason),
            Outcome::Failed(reason) => ("FAIL", reason),
            Outcome::NotApplicable(reason) => ("N/A", reason),
        };
        write!(f, "{tag} {}: {reason}", self.name)
    }
}

/// What [`run`] found: one [`CheckResult`] per [`Check`], in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConformanceReport {
    /// The provider's name (from the config).
    pub provider: String,
    /// The domain the kit worked under.
    pub domain: String,
    /// The name its values were published at (after CNAMEs), absolute.
    pub fqdn: String,
    /// Every check's outcome.
    pub checks: Vec<CheckResult>,
}

impl ConformanceReport {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed()).count()
    }

    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.failed()).count()
    }

    /// How many checks were not applicable.
    pub fn not_applicable(&self) -> usize {
        self.checks.len() - self.passed() - self.failed()
    }

    /// True when no check failed.
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }

    /// The outcome of `check`.
    pub fn outcome(&self, check: Check) -> Option<&Outcome> {
        self.checks
            .iter()
            .find(|c| c.name == check)
            .map(|c| &c.outcome)
    }

    /// `7 passed, 0 failed`, with `, 2 not applicable` when there are any.
    pub fn summary(&self) -> String {
        let mut summary = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.not_applicable() > 0 {
            summary.push_str(&format!(", {} not applicable", self.not_applicable()));
        }
        summary
    }

    /// Writes one line per check and the summary line: what `acmebox conformance` prints.
    pub fn write_lines(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for check in &self.checks {
            writeln!(out, "{check}")?;
        }
        writeln!(out, "{}", self.summary())
    }
}

/// Where and how [`run`] tests a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformanceOptions {
    /// The zone the provider manages, absolute or not (`example.test`).
    pub zone: String,
    /// The domain to test with, in the zone; `None` (the default): a random label under it.
    pub domain: Option<String>,
    /// How the authoritative servers are found and polled (resolvers, servers, port). Its
    /// timeout and interval are replaced by the provider's own (`describe`), or left as they
    /// are when the provider gives none.
    pub propagation: PropagationOptions,
    /// The longest the kit waits for any one thing to show at the servers, whatever the
    /// provider asks for; `None`: as long as the provider asks.
    pub timeout_cap: Option<Duration>,
    /// The provider leaves values in place on `cleanup` by design (acme-dns).
    pub cleanup_keeps_values: bool,
    /// The provider publishes at a place of its own whatever the record's name and zone, by
    /// design (acme-dns).
    pub ignores_record_name: bool,
}

impl ConformanceOptions {
    /// Options for testing in `zone`, with default propagation options (the system's
    /// resolvers, the zone's nameservers on port 53).
    pub fn new(zone: impl Into<String>) -> Self {
        ConformanceOptions {
            zone: zone.into(),
            domain: None,
            propagation: PropagationOptions::default(),
            timeout_cap: None,
            cleanup_keeps_values: false,
            ignores_record_name: false,
        }
    }

    /// Sets [`domain`](Self::domain).
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets [`propagation`](Self::propagation).
    pub fn with_propagation(mut self, propagation: PropagationOptions) -> Self {
        self.propagation = propagation;
        self
    }

    /// Sets [`timeout_cap`](Self::timeout_cap).
    pub fn with_timeout_cap(mut self, cap: Duration) -> Self {
        self.timeout_cap = Some(cap);
        self
    }

    /// Sets [`cleanup_keeps_values`](Self::cleanup_keeps_values).
    pub fn with_cleanup_keeps_values(mut self, keeps: bool) -> Self {
        self.cleanup_keeps_values = keeps;
        self
    }

    /// Sets [`ignores_record_name`](Self::ignores_record_name).
    pub fn with_ignores_record_name(mut self, ignores: bool) -> Self {
        self.ignores_record_name = ignores;
        self
    }
}

/// Runs every [`Check`] against `provider` and reports each outcome.
///
/// `Err` only when the kit could not start: an invalid zone or domain, a domain outside the
/// zone, unusable propagation options, or a failed lookup of the test name before any call.
/// Everything the provider does wrong is a failed check.
pub async fn run(
    provider: &WasmDnsProvider,
    options: &ConformanceOptions,
) -> Result<ConformanceReport> {
    run_with_progress(provider, options, |_| {}).await
}

/// [`run`], calling `progress` with each check's result as soon as it is known (a run takes
/// several propagation waits).
pub async fn run_with_progress(
    provider: &WasmDnsProvider,
    options: &ConformanceOptions,
    progress: impl FnMut(&CheckResult),
) -> Result<ConformanceReport> {
    run_until(provider, options, progress, std::future::pending()).await
}

/// [`run_with_progress`] that stops early when `stop` completes (Ctrl-C, a deadline): the
/// check under way and those not yet run fail as interrupted, and every value presented so
/// far is cleaned up before it returns, so an interrupted run leaves nothing behind.
pub async fn run_until(
    provider: &WasmDnsProvider,
    options: &ConformanceOptions,
    progress: impl FnMut(&CheckResult),
    stop: impl Future<Output = ()>,
) -> Result<ConformanceReport> {
    checks::Kit::start(provider, options)
        .await?
        .run(progress, stop)
        .await
}

/// 32 random bytes, base64url without padding: 43 characters, the shape of a DNS-01 value.
fn random_value() -> Result<String> {
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A random DNS label of 16 hex digits.
fn random_label() -> Result<String> {
    Ok(random_bytes::<8>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| acmebox_sandbox::Error::Sandbox {
            reason: "the system's random number generator failed".into(),
        })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcomes: &[Outcome]) -> ConformanceReport {
        ConformanceReport {
            provider: "p".into(),
            domain: "a.example.test".into(),
            fqdn: "_acme-challenge.a.example.test.".into(),
            checks: Check::ALL
                .iter()
                .zip(outcomes)
                .map(|(check, outcome)| CheckResult {
                    name: *check,
                    outcome: outcome.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn summary_and_lines() {
        let pass = Outcome::Passed("fine".into());
        let report_all = report(&[pass.clone(), pass.clone()]);
        assert_eq!(report_all.summary(), "2 passed, 0 failed");
        assert!(report_all.is_success());

        let mixed = report(&[
            pass,
            Outcome::Failed("nothing served".into()),
            Outcome::NotApplicable("--cleanup-keeps-values".into()),
        ]);
        assert_eq!(mixed.summary(), "1 passed, 1 failed, 1 not applicable");
        assert!(!mixed.is_success());
        let mut out = Vec::new();
        mixed.write_lines(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PASS describe: fine\nFAIL present: nothing served\n\
             N/A second-value: --cleanup-keeps-values\n1 passed, 1 failed, 1 not applicable\n"
        );
        assert_eq!(
            mixed.outcome(Check::Present),
            Some(&Outcome::Failed("nothing served".into()))
        );
    }

    #[test]
    fn results_serialise_with_their_check_name() {
        let result = CheckResult {
            name: Check::CleanupNeverPresented,
            outcome: Outcome::NotApplicable("why".into()),
        };
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            serde_json::json!({
                "check": "cleanup-never-presented",
                "outcome": "not_applicable",
                "reason": "why"
            })
        );
    }

    #[test]
    fn random_values_look_like_dns01_values() {
        let (a, b) = (random_value().unwrap(), random_value().unwrap());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(random_label().unwrap().len(), 16);
    }
}
