//! The error type of the challenge vocabulary and the handlers.

use std::path::PathBuf;

use crate::ChallengeType;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error of a handler built outside this crate (a sandboxed provider, a DNS check).
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong computing a challenge response or publishing it. Every message says what
/// was wrong and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An ACME challenge token is not a valid base64url token of at least 128 bits.
    #[error("invalid challenge token {token:?}: {reason}")]
    InvalidToken {
        /// The token as given (tokens are public, so it may be shown), cut to
        /// [`MAX_ECHOED_CHARS`](crate::MAX_ECHOED_CHARS).
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
        /// The identifier as given, cut to [`MAX_ECHOED_CHARS`](crate::MAX_ECHOED_CHARS).
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
    #[error(transparent)]
    Io(#[from] IoError),

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

    /// A handler or readiness check built on another layer failed (a sandboxed provider, a
    /// DNS propagation check). Its message is the backend's own; [`Error::backend`] gives
    /// the backend's error type back.
    #[error(transparent)]
    Backend(BackendError),
}

/// A file-system operation that failed: what was being done, to which path, and why. Every
/// layer's error holds it as its `Io` variant.
///
/// The operating system's reason is part of the message, so it is not also the error's
/// `source()`: every error of acmebox either says its cause or returns it as its source,
/// never both, so a chain printed whole (anyhow's `{:#}`) says each cause once.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {error}")]
pub struct IoError {
    /// What was being done ("create", "rename", ...).
    pub action: &'static str,
    /// The path it was done to.
    pub path: PathBuf,
    /// The underlying error (part of the message, so not repeated as a `source`).
    pub error: std::io::Error,
}

impl IoError {
    /// `action` ("create", "rename") failed on `path` with `error`.
    pub fn new(action: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        IoError {
            action,
            path: path.into(),
            error,
        }
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
    /// A file-system error: `action` ("create", "rename") failed on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(IoError::new(action, path, source))
    }

    /// Wraps the error of a handler built on another layer.
    pub fn backend_from(error: impl Into<BackendError>) -> Self {
        Error::Backend(error.into())
    }

    /// The backend's own error, if this is a [`Error::Backend`] of type `E`.
    pub fn backend<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Backend(inner) => inner.downcast_ref::<E>(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error and its sources joined as anyhow's `{:#}` joins them.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    }

    #[test]
    fn a_chain_says_each_cause_once() {
        let missing = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let reason = missing().to_string();
        let io = IoError::new("read config", "/nonexistent/acmebox.toml", missing());
        assert_eq!(
            chain(&io),
            format!("read config /nonexistent/acmebox.toml: {reason}")
        );
        let wrapped = Error::io("create", "/nonexistent/dir", missing());
        assert_eq!(
            chain(&wrapped),
            format!("create /nonexistent/dir: {reason}")
        );
        // Through a backend, as a sandboxed provider's error reaches a handler's caller.
        let backend = Error::backend_from(io);
        assert_eq!(
            chain(&backend).matches(&reason).count(),
            1,
            "{}",
            chain(&backend)
        );
    }
}
