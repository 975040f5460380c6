//! The error type of the sandbox host and the config file.

use std::path::PathBuf;

use acmebox_challenge::IoError;

use crate::limits::LimitExceeded;
use crate::provider::ProviderError;
use crate::report::Operation;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong loading, configuring or calling a sandboxed provider. Every message says
/// what was wrong and, where it can, what to do; secret config values never appear in it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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

    /// The journal of presented records failed: the value is not presented (or its entry not
    /// removed), since acmebox could not promise to clean it up after a crash.
    #[error(
        "journal of presented records {path}: {reason}; check that the state directory is writable (`state_dir` in the config)"
    )]
    Journal {
        /// The entry file or the journal directory.
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

    /// A file-system operation failed.
    #[error(transparent)]
    Io(#[from] IoError),

    /// A challenge could not be turned into the record a provider is asked to publish.
    #[error(transparent)]
    Challenge(#[from] acmebox_challenge::Error),

    /// A provider's allow list is invalid.
    #[error(transparent)]
    Egress(#[from] acmebox_egress::Error),

    /// Finding where a DNS-01 record goes (CNAMEs, zone) failed.
    #[error(transparent)]
    Propagation(#[from] acmebox_propagation::Error),
}

impl Error {
    /// A short name of what went wrong, for logs and metrics: the provider's own error kind
    /// (`zone-not-found`, `unauthorized`, ... as [`ProviderError::wit_name`]), `deadline`,
    /// `memory-limit`, `trap`, or the kind of a host error (`provider-load`, `config`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ProviderLoad { .. } => "provider-load",
            Error::ProviderImport { .. } => "provider-import",
            Error::ProviderPin { .. } => "provider-pin",
            Error::ProviderLimit {
                limit: LimitExceeded::Deadline(_),
                ..
            } => "deadline",
            Error::ProviderLimit {
                limit: LimitExceeded::Memory(_),
                ..
            } => "memory-limit",
            Error::ProviderTrap { .. } => "trap",
            Error::ProviderFailed { error, .. } => error.wit_name(),
            Error::Config { .. } => "config",
            Error::Cache { .. } => "cache",
            Error::Journal { .. } => "journal",
            Error::Sandbox { .. } => "sandbox",
            Error::Io(_) => "io",
            Error::Challenge(_) => "challenge",
            Error::Egress(_) => "egress",
            Error::Propagation(_) => "propagation",
        }
    }
}

/// A sandbox error as a handler's error: a challenge error stays itself, anything else becomes
/// [`acmebox_challenge::Error::Backend`] (downcast it back with
/// [`acmebox_challenge::Error::backend`]).
impl From<Error> for acmebox_challenge::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Challenge(inner) => inner,
            other => acmebox_challenge::Error::backend_from(other),
        }
    }
}
