//! The error type of DNS-01 propagation checks.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong finding where a DNS-01 record goes or waiting until it is served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A DNS lookup made for a DNS-01 propagation check failed or gave an unusable answer.
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

    /// A challenge could not be turned into its DNS-01 record.
    #[error(transparent)]
    Challenge(#[from] acmebox_challenge::Error),
}

/// A propagation error as a handler's error: a challenge error stays itself, a DNS failure
/// becomes [`acmebox_challenge::Error::Backend`].
impl From<Error> for acmebox_challenge::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Challenge(inner) => inner,
            other => acmebox_challenge::Error::backend_from(other),
        }
    }
}
