//! The one error type of the `acmebox` library.

use std::path::PathBuf;

use crate::challenge::ChallengeType;
use crate::sandbox::{LimitExceeded, Operation, ProviderError};

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in acmebox. Every message says what was wrong and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An ACME challenge token is not a valid base64url token of at least 128 bits.
    #[error("invalid challenge token {token:?}: {reason}")]
    InvalidToken {
        /// The token as given (tokens are public, so it may be shown).
        token: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A key authorization is not of the form `<token>.<thumbprint>`.
    #[error("invalid key authorization: {reason}")]
    InvalidKeyAuthorization {
        /// Why it was refused. Never contains the key authorization itself.
        reason: String,
    },

    /// A JSON Web Key could not be used to compute an RFC 7638 thumbprint.
    #[error("invalid JWK: {reason}")]
    InvalidJwk {
        /// Why it was refused.
        reason: String,
    },

    /// An identifier (domain name or IP address) is not usable.
    #[error("invalid identifier {identifier:?}: {reason}")]
    InvalidIdentifier {
        /// The identifier as given.
        identifier: String,
        /// Why it was refused.
        reason: String,
    },

    /// A challenge type cannot be used for an identifier (for example DNS-01 for an IP address).
    #[error("{challenge} cannot be used for {identifier:?}: {reason}")]
    UnsupportedChallenge {
        /// The challenge type asked for.
        challenge: ChallengeType,
        /// The identifier it was asked for.
        identifier: String,
        /// Why not, and what to use instead.
        reason: &'static str,
    },

    /// Generating a TLS-ALPN-01 certificate or loading its key failed.
    #[error("TLS-ALPN-01 certificate: {reason}")]
    Certificate {
        /// What failed.
        reason: String,
    },

    /// A path is unsafe to write to: it would escape its directory or pass through a symlink.
    #[error("refusing to write {path}: {reason}")]
    UnsafePath {
        /// The offending path.
        path: PathBuf,
        /// Why it is unsafe.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("create", "rename", ...).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A reload hook (run after TLS-ALPN-01 files change) failed.
    #[error("reload hook {command:?} failed: {reason}")]
    ReloadHook {
        /// The hook's command line.
        command: String,
        /// Its exit status or spawn error.
        reason: String,
    },

    /// A challenge handler was given a challenge of a type it does not answer.
    #[error(
        "{handler} answers {expected} challenges but was given a {actual} challenge for {identifier}; route {actual} challenges to a {actual} handler"
    )]
    WrongChallengeType {
        /// Which handler ("file http-01 handler", ...).
        handler: &'static str,
        /// The type the handler answers.
        expected: ChallengeType,
        /// The type it was given.
        actual: ChallengeType,
        /// The identifier of the challenge.
        identifier: String,
    },

    /// An entry of a provider's egress allow list is not valid (see [`crate::egress`]).
    #[error("provider `{provider}`: allow-list entry {entry:?} is invalid: {reason}")]
    InvalidGrant {
        /// The provider whose allow list it is.
        provider: String,
        /// The entry as written.
        entry: String,
        /// What is wrong and what to write instead.
        reason: String,
    },

    /// A DNS lookup made for a DNS-01 propagation check failed or gave an unusable answer
    /// (see [`crate::propagation`]).
    #[error("DNS lookup for {name}: {reason}")]
    Dns {
        /// The name looked up (or given), as written.
        name: String,
        /// What went wrong and what to do.
        reason: String,
    },

    /// The CNAMEs from a DNS-01 record name loop or go on past the hop limit.
    #[error(
        "the CNAME chain from {name} {reason}: {}; fix the CNAME records, or turn CNAME following off to publish at {name} itself",
        .chain.join(" -> ")
    )]
    CnameChain {
        /// The name the chain starts at.
        name: String,
        /// Every name passed, from `name` to the one that closes the loop or passes the limit.
        chain: Vec<String>,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Not every authoritative server served a DNS-01 TXT value before the propagation timeout.
    #[error(
        "{fqdn} TXT {value:?} was not served by every authoritative server within {timeout:?}; still waiting for: {}. Check that the provider published it in the zone these servers serve, or raise the propagation timeout if they are slow to update",
        .pending.join("; ")
    )]
    PropagationTimeout {
        /// The name polled, after CNAMEs.
        fqdn: String,
        /// The TXT value waited for (public once published).
        value: String,
        /// How long was waited.
        timeout: std::time::Duration,
        /// Each server that did not serve it, with what it served or why it did not answer.
        pending: Vec<String>,
    },

    /// Propagation checks cannot run with the options given or the system's resolver
    /// configuration.
    #[error("DNS propagation check: {reason}")]
    PropagationSetup {
        /// What is wrong and what to do.
        reason: String,
    },

    /// A user-supplied handler callback reported an error.
    #[error("{handler} {phase} for {identifier}: {message}")]
    Handler {
        /// Which handler ("dns callback", ...).
        handler: &'static str,
        /// `setup` or `cleanup`.
        phase: Phase,
        /// The identifier of the challenge.
        identifier: String,
        /// The callback's error message.
        message: String,
    },

    /// A provider component could not be read or is not a provider.
    #[error("provider `{provider}` could not be loaded from {path}: {reason}")]
    ProviderLoad {
        /// The provider's name.
        provider: String,
        /// The component file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// A provider imports an interface the host does not provide.
    #[error(
        "provider `{provider}` imports `{import}`, which acmebox does not provide; a provider may import only acmebox:provider/config, acmebox:provider/log, wasi:http/outgoing-handler and the WASI interfaces toolchains add"
    )]
    ProviderImport {
        /// The provider's name.
        provider: String,
        /// The import the host refused.
        import: String,
    },

    /// A provider component does not have the SHA-256 the config pins.
    #[error(
        "provider `{provider}`: {path} has SHA-256 {actual} but the config pins {expected}; update `sha256` if this build is intended"
    )]
    ProviderPin {
        /// The provider's name.
        provider: String,
        /// The component file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The file's digest.
        actual: String,
    },

    /// A provider ran into one of its limits and was stopped.
    #[error("provider `{provider}` exceeded its {limit} during {operation}")]
    ProviderLimit {
        /// The provider's name.
        provider: String,
        /// The call it was in.
        operation: Operation,
        /// Which limit.
        limit: LimitExceeded,
    },

    /// A provider trapped (a panic, an `unreachable`, a bad memory access).
    #[error("provider `{provider}` trapped during {operation}: {message}")]
    ProviderTrap {
        /// The provider's name.
        provider: String,
        /// The call it was in.
        operation: Operation,
        /// The trap and the last line of stderr, secrets redacted.
        message: String,
    },

    /// A provider reported an error.
    #[error("provider `{provider}` failed during {operation}: {error}")]
    ProviderFailed {
        /// The provider's name.
        provider: String,
        /// The call it was in.
        operation: Operation,
        /// What it reported, secrets redacted.
        error: ProviderError,
    },

    /// The config file is invalid.
    #[error("{path}: {reason}")]
    Config {
        /// The config file (or the component, for a provider's allow list).
        path: PathBuf,
        /// What is wrong, naming the key.
        reason: String,
    },

    /// The precompiled-component cache failed.
    #[error("component cache {path}: {reason}")]
    Cache {
        /// The artifact.
        path: PathBuf,
        /// What failed.
        reason: String,
    },

    /// Talking to the ACME server failed (RFC 8555 §7): it could not be reached, it is not an
    /// ACME server, or it answered with a problem document (RFC 8555 §6.7).
    #[error("ACME server {directory}: {action} failed: {detail}{}", hint_suffix(.hint))]
    Acme {
        /// The directory URL of the server.
        directory: String,
        /// What was being done ("fetch the directory", "create the order", ...).
        action: &'static str,
        /// The problem type (`urn:ietf:params:acme:error:...`), when the server sent one.
        problem_type: Option<String>,
        /// What went wrong, with every underlying cause.
        detail: String,
        /// What the operator can do about it, when known.
        hint: Option<String>,
    },

    /// The ACME server tried to validate a challenge and failed (RFC 8555 §7.1.6: the
    /// authorization became `invalid`).
    #[error(
        "the ACME server could not validate {challenge} for {identifier}: {detail}; check that the {challenge} response is published where the server looks for it"
    )]
    ValidationFailed {
        /// The identifier whose authorization failed.
        identifier: String,
        /// The challenge type that was tried.
        challenge: ChallengeType,
        /// The problem type, such as `urn:ietf:params:acme:error:unauthorized`.
        problem_type: Option<String>,
        /// The server's explanation.
        detail: String,
    },

    /// An ACME order, authorization or certificate is not what RFC 8555 says it should be.
    #[error("ACME order {order}: {reason}")]
    Order {
        /// The order URL (or the identifiers, before the order exists).
        order: String,
        /// What is wrong, and what to do.
        reason: String,
    },

    /// The ACME server did not finish a step in time.
    #[error(
        "the ACME server did not {what} within {} s; try again later, or raise the timeout",
        .after.as_secs()
    )]
    Timeout {
        /// The step waited for ("validate the challenges", "issue the certificate").
        what: &'static str,
        /// How long was waited.
        after: std::time::Duration,
    },

    /// An ACME account file cannot be read, used or written.
    #[error("account file {path}: {reason}")]
    AccountFile {
        /// The account file.
        path: PathBuf,
        /// What is wrong and what to do. Never contains the account key.
        reason: String,
    },

    /// A CA certificate file given to trust an ACME server cannot be used.
    #[error("CA certificate file {path}: {reason}")]
    CaCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Making the key or the certificate signing request for a new certificate failed.
    #[error("certificate request for {identifiers}: {reason}")]
    CertificateRequest {
        /// The identifiers, comma-separated.
        identifiers: String,
        /// What failed.
        reason: String,
    },

    /// The sandbox host could not be set up.
    #[error("sandbox: {reason}")]
    Sandbox {
        /// What failed.
        reason: String,
    },

    /// A built-in challenge responder cannot listen on its address.
    #[error(
        "the {challenge} responder cannot listen on {addr}: {error}; stop whatever uses the port or choose another address"
    )]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The challenge type the responder answers.
        challenge: ChallengeType,
        /// The bind error (part of the message, so not repeated as a `source`).
        error: std::io::Error,
    },

    /// An ACME client's hook call (lego exec, certbot hook, httpreq request) is malformed.
    #[error("invalid hook request: {reason}")]
    HookRequest {
        /// What is wrong and what to pass instead.
        reason: String,
    },

    /// A service cannot listen on its address.
    #[error(
        "cannot listen on {addr}: {error}; stop whatever uses the port or choose another address"
    )]
    ServiceListen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The bind error.
        error: std::io::Error,
    },

    /// Cleaning up one or more challenges failed. `original` is the error that ended the
    /// issuance, if any: cleanup failures never replace it.
    #[error("{}", cleanup_message(.original.as_deref(), .failures))]
    Cleanup {
        /// The error that ended the issuance; `None` if the certificate was issued. Its text is
        /// part of this error's message, so it is not repeated as a `source`.
        original: Option<Box<Error>>,
        /// Every cleanup that failed, in the order they ran.
        failures: Vec<Error>,
    },
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) => format!("; {hint}"),
        None => String::new(),
    }
}

fn cleanup_message(original: Option<&Error>, failures: &[Error]) -> String {
    let count = failures.len();
    let list = failures
        .iter()
        .map(|err| err.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let plural = if count == 1 { "" } else { "s" };
    match original {
        Some(original) => format!(
            "{original}; in addition, {count} cleanup{plural} failed (remove those responses by hand): {list}"
        ),
        None => format!(
            "the certificate was issued and saved, but {count} cleanup{plural} failed (remove those responses by hand): {list}"
        ),
    }
}

/// The two phases of a challenge handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Publishing the challenge response (lego's `Present`).
    Setup,
    /// Removing it again (lego's `CleanUp`).
    Cleanup,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Setup => "setup",
            Phase::Cleanup => "cleanup",
        })
    }
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
