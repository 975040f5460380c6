//! The challenge types and one challenge to answer (RFC 8555 §8).

use std::fmt;

use crate::dns01;
use crate::{Error, Identifier, KeyAuthorization, Result, Token};

/// The challenge types acmebox answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeType {
    /// DNS-01 (RFC 8555 §8.4): a TXT record at `_acme-challenge.<domain>`.
    Dns01,
    /// DNS-ACCOUNT-01 (draft-ietf-acme-dns-account-label): the DNS-01 value at a name of the
    /// ACME account's own, `_<account label>._acme-challenge.<domain>`, so several accounts
    /// (clients, data centres) can validate one domain at once without touching each other's
    /// records. See [`dns01::account_label`].
    DnsAccount01,
    /// DNS-PERSIST-01 (draft-ietf-acme-dns-persist): a TXT record at
    /// `_validation-persist.<domain>` naming the CA and the account, placed once and left in
    /// place; orders validate against it with no record change. See
    /// [`crate::dns_persist01`].
    DnsPersist01,
    /// HTTP-01 (RFC 8555 §8.3): a file at `/.well-known/acme-challenge/<token>`.
    Http01,
    /// TLS-ALPN-01 (RFC 8737): a self-signed certificate served for the `acme-tls/1` protocol.
    TlsAlpn01,
}

impl ChallengeType {
    /// The type's name as it appears in ACME (`dns-01`, `http-01`, `tls-alpn-01`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeType::Dns01 => "dns-01",
            ChallengeType::DnsAccount01 => "dns-account-01",
            ChallengeType::DnsPersist01 => "dns-persist-01",
            ChallengeType::Http01 => "http-01",
            ChallengeType::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

impl ChallengeType {
    /// True for the types answered with a TXT record (dns-01, dns-account-01,
    /// dns-persist-01): they can validate wildcards, and cannot validate IP addresses.
    pub fn is_dns(self) -> bool {
        matches!(
            self,
            ChallengeType::Dns01 | ChallengeType::DnsAccount01 | ChallengeType::DnsPersist01
        )
    }
}

impl fmt::Display for ChallengeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChallengeType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "dns-01" | "dns01" | "dns" => Ok(ChallengeType::Dns01),
            "dns-account-01" | "dns-account01" | "dns-account" => Ok(ChallengeType::DnsAccount01),
            "dns-persist-01" | "dns-persist01" | "dns-persist" => Ok(ChallengeType::DnsPersist01),
            "http-01" | "http01" | "http" => Ok(ChallengeType::Http01),
            "tls-alpn-01" | "tls-alpn01" | "tls-alpn" | "tls" => Ok(ChallengeType::TlsAlpn01),
            _ => Err(format!(
                "unknown challenge type {:?}; use dns-01, dns-account-01, dns-persist-01, http-01 \
                 or tls-alpn-01",
                crate::echoed(s)
            )),
        }
    }
}

/// One challenge to answer: what a handler's `setup` and `cleanup` receive.
///
/// The same value is passed to both, so a handler can remove exactly the response it published
/// (the apex and the wildcard of a domain share one DNS-01 record name with two values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Which challenge type this is.
    pub kind: ChallengeType,
    /// The identifier being validated, as in the authorization (a wildcard keeps its `*.`).
    pub identifier: Identifier,
    /// The challenge token from the ACME server.
    pub token: Token,
    /// `token || "." || thumbprint` (RFC 8555 §8.1). A secret: its `Debug` hides it.
    pub key_authorization: KeyAuthorization,
    /// The URL of the ACME account answering (RFC 8555 §7.3, the `Location` of its
    /// registration): dns-account-01 derives its record name from it. `None` until set with
    /// [`with_account_url`](Self::with_account_url).
    pub account_url: Option<String>,
}

impl Challenge {
    /// Builds a challenge, checking that the key authorization belongs to the token and that
    /// the challenge type can validate the identifier (DNS-01 cannot validate an IP address).
    pub fn new(
        kind: ChallengeType,
        identifier: Identifier,
        key_authorization: KeyAuthorization,
    ) -> Result<Self> {
        if kind.is_dns() && identifier.is_ip() {
            return Err(Error::UnsupportedChallenge {
                challenge: kind,
                identifier: identifier.to_string(),
                reason: "IP identifiers cannot be validated by DNS (RFC 8738 §7); use http-01 or tls-alpn-01",
            });
        }
        if !kind.is_dns() && identifier.is_wildcard() {
            return Err(Error::UnsupportedChallenge {
                challenge: kind,
                identifier: identifier.to_string(),
                reason: "wildcard names can only be validated with a DNS challenge (dns-01, dns-account-01, dns-persist-01; RFC 8555 §7.1.3)",
            });
        }
        let token = key_authorization.token();
        Ok(Challenge {
            kind,
            identifier,
            token,
            key_authorization,
            account_url: None,
        })
    }

    /// The challenge answered by the account at `account_url` (what dns-account-01 needs).
    pub fn with_account_url(mut self, account_url: impl Into<String>) -> Self {
        self.account_url = Some(account_url.into());
        self
    }

    /// The TXT record for this dns-01 or dns-account-01 challenge (name and value).
    ///
    /// Fails for IP identifiers (see [`dns01::Dns01Record::new`]), for dns-account-01 without
    /// an account URL, and for the other challenge types.
    pub fn dns01_record(&self) -> Result<dns01::Dns01Record> {
        match (self.kind, &self.account_url) {
            (ChallengeType::Dns01, _) => {
                dns01::Dns01Record::new(&self.identifier, &self.key_authorization)
            }
            (ChallengeType::DnsAccount01, Some(account_url)) => dns01::Dns01Record::for_account(
                &self.identifier,
                &self.key_authorization,
                account_url,
            ),
            (ChallengeType::DnsAccount01, None) => Err(Error::UnsupportedChallenge {
                challenge: self.kind,
                identifier: self.identifier.to_string(),
                reason: "dns-account-01 names its record after the ACME account: the challenge needs the account URL (Challenge::with_account_url)",
            }),
            (other, _) => Err(Error::UnsupportedChallenge {
                challenge: other,
                identifier: self.identifier.to_string(),
                reason: "only dns-01 and dns-account-01 challenges are answered with a TXT record",
            }),
        }
    }
}
