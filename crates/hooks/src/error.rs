//! The error type of the ACME clients' hooks.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong answering an ACME client's hook call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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

    /// A TLS certificate or key file of `serve` cannot be used.
    #[error("TLS: {}: {reason}", path.display())]
    Tls {
        /// The file at fault.
        path: std::path::PathBuf,
        /// What is wrong with it and what to give instead.
        reason: String,
    },

    /// The record asked for is not a valid DNS-01 record.
    #[error(transparent)]
    Challenge(#[from] acmebox_challenge::Error),

    /// Loading or calling the provider failed.
    #[error(transparent)]
    Sandbox(#[from] acmebox_sandbox::Error),

    /// Finding where the record goes, or waiting until it is served, failed.
    #[error(transparent)]
    Propagation(#[from] acmebox_propagation::Error),
}
