//! The error type of the egress policy.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading an egress policy. A refused request is not an error but a
/// [`Denial`](crate::Denial): data the host hands back to the guest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An entry of a provider's egress allow list is not valid.
    #[error("provider `{provider}`: allow-list entry {entry:?} is invalid: {reason}")]
    InvalidGrant {
        /// The provider whose allow list it is.
        provider: String,
        /// The entry as written.
        entry: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
}
