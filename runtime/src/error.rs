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

    /// The sandbox host could not be set up.
    #[error("sandbox: {reason}")]
    Sandbox {
        /// What failed.
        reason: String,
    },
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
