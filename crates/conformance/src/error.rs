//! The error type of the conformance kit.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a conformance run before its checks give a verdict. A provider that fails a
/// check is not an error: the report says which check failed and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The domain or zone given is not usable.
    #[error(transparent)]
    Challenge(#[from] acmebox_challenge::Error),

    /// The provider could not be loaded or called.
    #[error(transparent)]
    Sandbox(#[from] acmebox_sandbox::Error),

    /// Looking up the zone's authoritative servers failed.
    #[error(transparent)]
    Propagation(#[from] acmebox_propagation::Error),
}
