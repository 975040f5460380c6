//! # acmebox-client
//!
//! An ACME client (RFC 8555) that gets a certificate by answering challenges through
//! [`ChallengeHandler`]s: the core of `acmebox issue`.
//!
//! The protocol is spoken by [`instant_acme`] over rustls with the ring provider. This crate
//! adds what an operator needs around it:
//!
//! - an [`Account`] whose credentials live in a file created with mode 0600 and are reused on the
//!   next run for the same directory URL; the server is trusted through a CA certificate file,
//!   optionally together with the system roots ([`AccountOptions`]);
//! - [`Account::issue`]: a new order, every challenge set up before any is validated (so the
//!   apex and the wildcard DNS-01 values of a domain coexist), the handler's
//!   [`propagation_delay`](ChallengeHandler::propagation_delay) and an optional [`ReadyCheck`],
//!   validation polled with backoff, finalization with a fresh key, and `cert.pem`, `chain.pem`,
//!   `fullchain.pem` and `key.pem` (0600) written atomically;
//! - a cleanup guarantee: every challenge that was set up is registered in a [`Presented`] list
//!   *before* its setup runs, and cleaned up on every way out. `issue` cleans up itself when it
//!   returns; when its future is dropped instead (Ctrl-C), the caller still holds the list and
//!   calls [`Presented::cleanup`]. Cleanup failures are all reported and never replace the
//!   error that ended the issuance ([`Error::Cleanup`]);
//! - built-in responders: [`Http01Responder`] (a minimal HTTP/1.1 server) and
//!   [`TlsAlpnResponder`] (a rustls server for `acme-tls/1`), both [`ChallengeHandler`]s;
//! - progress reports as [`IssueEvent`]s.
//!
//! ```no_run
//! use std::sync::Arc;
//! use acmebox_challenge::Identifier;
//! use acmebox_client::{Account, AccountOptions, Http01Responder, IssueRequest, Presented};
//!
//! # async fn run() -> acmebox_client::Result<()> {
//! let options = AccountOptions::new("https://127.0.0.1:14000/dir", "/var/lib/acme/account.json")
//!     .with_ca_cert("/etc/acme/test-ca.pem")
//!     .with_terms_of_service_agreed(true);
//! let account = Account::load_or_create(&options).await?;
//! let responder = Arc::new(Http01Responder::bind("127.0.0.1:5002".parse().unwrap()).await?);
//! let request = IssueRequest::new(vec![Identifier::parse("www.example.test")?], "/etc/certs/www")
//!     .with_progress(|event| eprintln!("{event}"));
//! let presented = Presented::new();
//! let issued = account.issue(request, responder, &presented).await?;
//! println!("{}", issued.paths().fullchain.display());
//! # Ok(())
//! # }
//! ```
//!
//! [`Error::Cleanup`]: crate::Error::Cleanup
#![deny(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use acmebox_challenge::handlers::ChallengeHandler;
use acmebox_challenge::tls_alpn01::KeyType;
use acmebox_challenge::{ChallengeType, Identifier};

mod account;
mod error;
mod http01_responder;
mod issue;
mod output;
mod persist;
mod presented;
mod renewal;
mod revoke_by_key;
mod tls_alpn_responder;

pub use account::{
    Account, AccountOptions, DEFAULT_REQUEST_TIMEOUT, ExternalAccountBinding, RevocationReason,
    default_account_file,
};
pub use acmebox_challenge::handlers::ReadyCheck;
pub use error::{Error, Result};
pub use http01_responder::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUEST_HEAD, DEFAULT_READ_TIMEOUT, Http01Responder,
};
pub use issue::{csr_der, csr_identifiers};
pub use output::OutputPaths;
pub use persist::PersistentRecords;
pub use presented::Presented;
pub use renewal::{
    CertificateInfo, DEFAULT_RENEW_REMAINING, Decision as RenewalDecision, RenewalState, rfc3339,
};
pub use revoke_by_key::revoke_with_certificate_key;
pub use tls_alpn_responder::{DEFAULT_HANDSHAKE_TIMEOUT, TlsAlpnResponder};

/// How long to wait for the ACME server to validate every challenge. Bounds a run against a
/// server that never decides.
pub const DEFAULT_VALIDATION_TIMEOUT: Duration = Duration::from_secs(180);

/// How long to wait for the ACME server to issue the certificate once the order is finalized.
pub const DEFAULT_ISSUANCE_TIMEOUT: Duration = Duration::from_secs(120);

/// The first delay between two polls of an order or authorization. Servers such as Pebble send
/// no `Retry-After`, and validate within a second.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The longest delay between two polls: the delay grows by half after every poll up to this,
/// so a slow server is not hammered.
pub const DEFAULT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A progress callback; see [`IssueRequest::with_progress`].
pub type ProgressFn = dyn Fn(&IssueEvent) + Send + Sync;

/// What [`Account::issue`] is doing, reported through [`IssueRequest::with_progress`].
///
/// `Display` gives one human-readable line per event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueEvent {
    /// The order exists on the server (RFC 8555 §7.4).
    OrderCreated {
        /// The order URL.
        order_url: String,
        /// The identifiers ordered.
        identifiers: Vec<Identifier>,
    },
    /// The server already holds a valid authorization for this identifier; nothing to answer.
    AlreadyValid {
        /// The identifier.
        identifier: Identifier,
    },
    /// The handler has published the response for one challenge.
    ChallengeReady {
        /// The identifier the challenge is for.
        identifier: Identifier,
        /// The challenge type.
        kind: ChallengeType,
    },
    /// Waiting for the handler's propagation delay before validation.
    WaitingForPropagation {
        /// How long.
        delay: Duration,
    },
    /// Running the [`ReadyCheck`] over every challenge.
    CheckingReady {
        /// How many challenges it checks.
        challenges: usize,
    },
    /// The server has been asked to validate this challenge (RFC 8555 §7.5.1).
    Validating {
        /// The identifier.
        identifier: Identifier,
        /// The challenge type.
        kind: ChallengeType,
    },
    /// The authorization for this identifier is valid.
    Valid {
        /// The identifier.
        identifier: Identifier,
    },
    /// Every authorization is valid; the CSR has been sent and the certificate is being made.
    Finalizing,
    /// The certificate, chain and key are written.
    Done {
        /// Where.
        paths: OutputPaths,
    },
    /// One challenge's response has been cleaned up (or its cleanup failed).
    ChallengeCleanedUp {
        /// The identifier the challenge is for.
        identifier: Identifier,
        /// The challenge type.
        kind: ChallengeType,
        /// Whether the cleanup worked (a failure is in the error of the issuance).
        ok: bool,
    },
    /// The challenges that were set up have been cleaned up.
    CleanedUp {
        /// How many cleanups ran.
        count: usize,
        /// How many of them failed (the error lists each).
        failed: usize,
    },
}

impl fmt::Display for IssueEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueEvent::OrderCreated { identifiers, .. } => {
                let names: Vec<String> = identifiers.iter().map(ToString::to_string).collect();
                write!(f, "order created for {}", names.join(", "))
            }
            IssueEvent::AlreadyValid { identifier } => {
                write!(f, "{identifier}: already authorized")
            }
            IssueEvent::ChallengeReady { identifier, kind } => {
                write!(f, "{identifier}: {kind} response published")
            }
            IssueEvent::WaitingForPropagation { delay } => {
                write!(
                    f,
                    "waiting {} s for the responses to propagate",
                    delay.as_secs_f32()
                )
            }
            IssueEvent::CheckingReady { challenges } => {
                write!(f, "checking that {challenges} response(s) are visible")
            }
            IssueEvent::Validating { identifier, kind } => {
                write!(f, "{identifier}: the CA is validating {kind}")
            }
            IssueEvent::Valid { identifier } => write!(f, "{identifier}: valid"),
            IssueEvent::Finalizing => f.write_str("finalizing the order"),
            IssueEvent::Done { paths } => {
                write!(f, "certificate written to {}", paths.dir.display())
            }
            IssueEvent::ChallengeCleanedUp {
                identifier,
                kind,
                ok: true,
            } => write!(f, "removed the {kind} response for {identifier}"),
            IssueEvent::ChallengeCleanedUp {
                identifier, kind, ..
            } => write!(f, "removing the {kind} response for {identifier} failed"),
            IssueEvent::CleanedUp { count, failed: 0 } => {
                write!(f, "cleaned up {count} challenge response(s)")
            }
            IssueEvent::CleanedUp { count, failed } => {
                write!(
                    f,
                    "cleaned up {count} challenge response(s), {failed} failed"
                )
            }
        }
    }
}

/// What to issue and where to put it; see [`Account::issue`].
pub struct IssueRequest {
    identifiers: Vec<Identifier>,
    out_dir: PathBuf,
    key_type: KeyType,
    profile: Option<String>,
    replaces: Option<String>,
    csr: Option<Vec<u8>>,
    ready_check: Option<Arc<dyn ReadyCheck>>,
    progress: Option<Arc<ProgressFn>>,
    validation_timeout: Duration,
    issuance_timeout: Duration,
    poll_interval: Duration,
    max_poll_interval: Duration,
}

impl IssueRequest {
    /// A certificate for `identifiers` (DNS names, wildcards, IP addresses), written into
    /// `out_dir` (created if missing). The key is a fresh P-256 key.
    pub fn new(identifiers: Vec<Identifier>, out_dir: impl Into<PathBuf>) -> Self {
        IssueRequest {
            identifiers,
            out_dir: out_dir.into(),
            key_type: KeyType::P256,
            profile: None,
            replaces: None,
            csr: None,
            ready_check: None,
            progress: None,
            validation_timeout: DEFAULT_VALIDATION_TIMEOUT,
            issuance_timeout: DEFAULT_ISSUANCE_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_poll_interval: DEFAULT_MAX_POLL_INTERVAL,
        }
    }

    /// The type of the certificate's key (P-256 unless set).
    pub fn with_key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = key_type;
        self
    }

    /// The certificate profile to ask the CA for (one of [`Account::profiles`]); the CA's
    /// default unless set. A profile the CA does not offer is refused before an order is
    /// created ([`Error::Profile`]).
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// The certificate this one replaces, by its ARI identifier ([`CertificateInfo::id`]): the
    /// new order says so (RFC 9773 §5), so the CA can let the renewal through rate limits
    /// and know the old one is superseded.
    pub fn with_replaces(mut self, certificate_id: impl Into<String>) -> Self {
        self.replaces = Some(certificate_id.into());
        self
    }

    /// Finalizes with this certificate signing request (DER) instead of a fresh key: the key
    /// stays with whoever made the request, and no `key.pem` is written. Its names must be
    /// the request's identifiers ([`csr_identifiers`]).
    pub fn with_csr(mut self, der: Vec<u8>) -> Self {
        self.csr = Some(der);
        self
    }

    /// A check to run before the server is asked to validate (DNS-01 propagation).
    pub fn with_ready_check(mut self, check: Arc<dyn ReadyCheck>) -> Self {
        self.ready_check = Some(check);
        self
    }

    /// A callback that receives every [`IssueEvent`]. It runs on the issuing task: keep it short.
    pub fn with_progress(mut self, progress: impl Fn(&IssueEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// How long to wait for validation ([`DEFAULT_VALIDATION_TIMEOUT`] unless set).
    pub fn with_validation_timeout(mut self, timeout: Duration) -> Self {
        self.validation_timeout = timeout;
        self
    }

    /// How long to wait for the certificate after finalizing ([`DEFAULT_ISSUANCE_TIMEOUT`]).
    pub fn with_issuance_timeout(mut self, timeout: Duration) -> Self {
        self.issuance_timeout = timeout;
        self
    }

    /// The first and the longest delay between polls ([`DEFAULT_POLL_INTERVAL`],
    /// [`DEFAULT_MAX_POLL_INTERVAL`] unless set).
    pub fn with_poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.poll_interval = first;
        self.max_poll_interval = max.max(first);
        self
    }

    /// Checks, before anything is sent, what a server would refuse anyway: no identifiers,
    /// duplicates, and identifiers `kind` cannot validate (a wildcard needs dns-01; an IP
    /// address cannot use it). [`Account::issue`] runs this check too.
    pub fn check(&self, kind: ChallengeType) -> Result<()> {
        issue::check_request(self, kind)
    }

    /// The identifiers to issue for.
    pub fn identifiers(&self) -> &[Identifier] {
        &self.identifiers
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    fn emit(&self, event: IssueEvent) {
        if let Some(progress) = &self.progress {
            progress(&event);
        }
    }
}

impl fmt::Debug for IssueRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssueRequest")
            .field("identifiers", &self.identifiers)
            .field("out_dir", &self.out_dir)
            .field("key_type", &self.key_type)
            .field("ready_check", &self.ready_check.is_some())
            .field("progress", &self.progress.is_some())
            .field("validation_timeout", &self.validation_timeout)
            .field("issuance_timeout", &self.issuance_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("max_poll_interval", &self.max_poll_interval)
            .finish()
    }
}

/// A certificate [`Account::issue`] obtained and wrote to disk. The private key is only in
/// `key.pem`; it is not kept here.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    identifiers: Vec<Identifier>,
    order_url: String,
    cert_pem: String,
    chain_pem: String,
    paths: OutputPaths,
}

impl IssuedCertificate {
    /// The identifiers the certificate is for.
    pub fn identifiers(&self) -> &[Identifier] {
        &self.identifiers
    }

    /// The order URL.
    pub fn order_url(&self) -> &str {
        &self.order_url
    }

    /// The leaf certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The intermediate certificates (PEM, possibly empty).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The leaf followed by the intermediates (PEM).
    pub fn fullchain_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.chain_pem)
    }

    /// Where the files were written.
    pub fn paths(&self) -> &OutputPaths {
        &self.paths
    }
}

/// A shared challenge handler, as [`Account::issue`] takes it.
pub type SharedHandler = Arc<dyn ChallengeHandler>;
