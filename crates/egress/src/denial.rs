//! A refused request, as data: the host turns it into an error the guest can handle.

use std::fmt;
use std::net::IpAddr;

/// Why a request was refused, with what the operator can change.
///
/// Each variant notes the `wasi:http` `error-code` a host would naturally map it to; the guest
/// sees that error, never a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenialReason {
    /// The URL or authority cannot be parsed strictly (`HTTP-request-URI-invalid`).
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The scheme is neither `https` nor `http` (`HTTP-protocol-error`).
    UnsupportedScheme {
        /// The scheme as the guest wrote it.
        scheme: String,
    },
    /// No allow-list entry matches the scheme, host and port (`HTTP-request-denied`).
    NotAllowed {
        /// The entry that would allow the request, `scheme://host[:port]`.
        suggestion: String,
    },
    /// Every address the host resolved to is in a network refused by default and not named by
    /// the allow list (`destination-IP-prohibited`). This is the DNS-rebinding defence: a name
    /// in the allow list does not let a provider reach `127.0.0.1` or `169.254.169.254`.
    BlockedAddress {
        /// The first refused address.
        addr: IpAddr,
        /// Its network, from [`blocked_reason`](super::blocked_reason).
        network: &'static str,
        /// The entry that would allow connecting to it, `scheme://address[:port]`.
        suggestion: String,
    },
    /// Resolution returned no address at all (`destination-IP-unroutable`).
    NoAddresses,
    /// A socket use by a provider whose allow list has no `dns://` entry: it has no sockets at
    /// all (`access-denied`).
    NoSocketGrant,
    /// A socket use no grant allows: binding to a chosen address or port, listening,
    /// accepting (`access-denied`).
    SocketUseRefused {
        /// What was refused and what a provider may do instead.
        what: &'static str,
    },
}

/// A refused request: the URL (redacted, see [`redact_url`](super::redact_url)), or for a
/// socket the use and address (`tcp connect 192.0.2.53:53`), and why.
///
/// `Display` writes the operator's message without a provider name;
/// [`message`](Self::message) names the provider.
///
/// ```
/// use acmebox_egress::Grant;
/// let grant = Grant::parse(&["https://api.example.com"])?;
/// let denial = grant.check_url("http://10.0.0.5/zones?key=s3cret").unwrap_err();
/// assert_eq!(
///     denial.message("pdns"),
///     "provider `pdns` asked for http://10.0.0.5/zones?<redacted> which is not in its allow list; \
///      add `danger:http://10.0.0.5` to `allow` if that is intended",
/// );
/// # Ok::<(), acmebox_egress::GrantError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Denial {
    url: String,
    reason: DenialReason,
}

impl Denial {
    pub(super) fn new(url: String, reason: DenialReason) -> Self {
        Denial { url, reason }
    }

    /// The requested URL, redacted: no query, fragment or user information; for a socket, the
    /// use and address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Why the request was refused.
    pub fn reason(&self) -> &DenialReason {
        &self.reason
    }

    /// The operator-facing message, naming the provider whose request was refused.
    pub fn message(&self, provider: &str) -> String {
        format!("provider `{provider}` asked for {}", Explain(self))
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a provider asked for {}", Explain(self))
    }
}

/// The message after "… asked for ".
struct Explain<'a>(&'a Denial);

impl fmt::Display for Explain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0.url;
        match &self.0.reason {
            DenialReason::InvalidUrl { reason } => {
                write!(f, "{url}, which is not a valid request URL: {reason}")
            }
            DenialReason::UnsupportedScheme { scheme } => write!(
                f,
                "{url}, whose scheme {scheme:?} is not allowed; providers can use https, and http where the allow list grants it"
            ),
            DenialReason::NotAllowed { suggestion } => write!(
                f,
                "{url} which is not in its allow list; add `{suggestion}` to `allow` if that is intended"
            ),
            DenialReason::BlockedAddress {
                addr,
                network,
                suggestion,
            } => write!(
                f,
                "{url}, whose host resolved to {addr}, {network}; such addresses are refused unless the allow list names them, so that a name cannot be pointed at internal services; add `{suggestion}` to `allow` if that is intended"
            ),
            DenialReason::NoAddresses => {
                write!(f, "{url}, whose host resolved to no address")
            }
            DenialReason::NoSocketGrant => write!(
                f,
                "{url}, but it has no socket grant; add `dns://<server address>:<port>` to `allow` to let it reach a DNS server"
            ),
            DenialReason::SocketUseRefused { what } => {
                write!(f, "{url}, which is refused: no grant allows {what}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let cases = [
            (
                DenialReason::InvalidUrl {
                    reason: "it has no host".into(),
                },
                "provider `pdns` asked for https://, which is not a valid request URL: it has no host",
            ),
            (
                DenialReason::UnsupportedScheme {
                    scheme: "ftp".into(),
                },
                "provider `pdns` asked for https://, whose scheme \"ftp\" is not allowed",
            ),
            (
                DenialReason::BlockedAddress {
                    addr: "127.0.0.1".parse().expect("the test input is valid"),
                    network: "a loopback address (127.0.0.0/8)",
                    suggestion: "https://127.0.0.1".into(),
                },
                "provider `pdns` asked for https://, whose host resolved to 127.0.0.1, a loopback address (127.0.0.0/8); such addresses are refused unless the allow list names them",
            ),
            (
                DenialReason::NoAddresses,
                "provider `pdns` asked for https://, whose host resolved to no address",
            ),
        ];
        for (reason, want) in cases {
            let denial = Denial::new("https://".into(), reason);
            let msg = denial.message("pdns");
            assert!(
                msg.starts_with(want),
                "{msg:?} does not start with {want:?}"
            );
            assert!(
                denial
                    .to_string()
                    .starts_with("a provider asked for https://")
            );
        }
    }
}
