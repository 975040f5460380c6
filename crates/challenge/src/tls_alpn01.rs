//! TLS-ALPN-01 (RFC 8737, and RFC 8738 §6 for IP addresses): a self-signed certificate served
//! during a TLS handshake that negotiates the `acme-tls/1` protocol.
//!
//! The ACME server connects to port 443 of the identifier, offers only the
//! [`ACME_TLS_ALPN_PROTOCOL`] in ALPN and names the identifier in SNI ([`sni_name`]: the DNS
//! name, or for an IP address its reverse name, RFC 8738 §6). The server must select
//! `acme-tls/1` and present a certificate ([`generate`]) that (RFC 8737 §3):
//!
//! - has exactly one subjectAltName: the dNSName, or the iPAddress (RFC 8738 §6);
//! - carries the `id-pe-acmeIdentifier` extension ([`ACME_IDENTIFIER_OID`], RFC 8737 §6.1),
//!   marked critical, whose value is SHA-256 of the key authorization as a DER OCTET STRING
//!   ([`acme_identifier_value`]).
//!
//! No application data flows on such a connection (RFC 8737 §4): the handshake is the answer.
//!
//! ## Serving the certificate with rustls
//!
//! [`TlsAlpnCertificate::certified_key`] gives a `rustls::sign::CertifiedKey` ready for a cert
//! resolver. Use a resolver rather than `ConfigBuilder::with_single_cert`: that one checks the
//! key against the certificate by parsing it with webpki, which refuses the critical
//! acmeIdentifier extension it does not know.
//!
//! ```
//! use std::sync::Arc;
//! use acmebox_challenge::{Identifier, KeyAuthorization};
//! use acmebox_challenge::tls_alpn01::{self, CertificateOptions, KeyType, ACME_TLS_ALPN_PROTOCOL};
//!
//! let ka = KeyAuthorization::parse(
//!     "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
//! )?;
//! let identifier = Identifier::parse("www.example.com")?;
//! let options = CertificateOptions::default().with_key_type(KeyType::Ed25519);
//! let cert = tls_alpn01::generate(&identifier, &ka, &options)?;
//! assert!(cert.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! assert_eq!(tls_alpn01::sni_name(&"192.0.2.1".parse()?), "1.2.0.192.in-addr.arpa");
//!
//! let resolver = rustls::sign::SingleCertAndKey::from(cert.certified_key()?);
//! let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
//!     rustls::crypto::ring::default_provider(),
//! ))
//! .with_safe_default_protocol_versions()?
//! .with_no_client_auth()
//! .with_cert_resolver(Arc::new(resolver));
//! config.alpn_protocols = vec![ACME_TLS_ALPN_PROTOCOL.to_vec()];
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A server that also serves real traffic picks this certificate only when the ClientHello
//! offers `acme-tls/1` and names [`sni_name`].

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, PublicKeyData as _,
    SanType, SerialNumber, SignatureAlgorithm,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

use crate::{ChallengeType, Identifier, KeyAuthorization, normalize_domain};
use crate::{Error, Result};

/// The ALPN protocol name of the challenge, `acme-tls/1` (RFC 8737 §4, §6.2).
pub const ACME_TLS_ALPN_PROTOCOL: &[u8] = b"acme-tls/1";

/// The OID of the `id-pe-acmeIdentifier` certificate extension, 1.3.6.1.5.5.7.1.31
/// (RFC 8737 §3, §6.1).
pub const ACME_IDENTIFIER_OID: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 31];

/// How long a challenge certificate stays valid from the moment it is made: 7 days.
///
/// The certificate only has to live while the ACME server validates (minutes), and nobody
/// should trust it, so the window is short: a certificate left behind by a crashed run, or
/// copied off the machine, soon stops being usable. A week leaves room for an order that waits
/// on other authorizations and for clocks that are off by hours.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How far `notBefore` is set before the current time: 5 minutes.
///
/// It protects against clock skew: a validation server whose clock is a little behind ours
/// would otherwise see a certificate that is not valid yet.
pub const DEFAULT_BACKDATE: Duration = Duration::from_secs(5 * 60);

/// The fixed, short subject common name. The identifier itself is only in the
/// subjectAltName, so a 253-character name never meets the 64-character CN limit.
const SUBJECT_COMMON_NAME: &str = "ACME TLS-ALPN-01 challenge";

/// Random serial number length: 128 bits, well above the 64 bits CAs are held to.
const SERIAL_LEN: usize = 16;

/// The private-key algorithm of a challenge certificate.
///
/// RFC 8737 places no constraint on it; P-256 is small, fast and accepted everywhere.
/// Parses from `p256`, `p384`, `ed25519`, `rsa2048`, `rsa3072` or `rsa4096`
/// (case-insensitive; `p-256`, `ecdsa-p256`, `secp256r1`, `rsa` and similar spellings too).
///
/// ```
/// use acmebox_challenge::tls_alpn01::KeyType;
/// assert_eq!("P-384".parse::<KeyType>()?, KeyType::P384);
/// assert_eq!(KeyType::default().to_string(), "p256");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256 (the default).
    #[default]
    P256,
    /// ECDSA on NIST P-384 with SHA-384.
    P384,
    /// Ed25519 (RFC 8410).
    Ed25519,
    /// RSA with a 2048-bit modulus, PKCS#1 v1.5 with SHA-256 for the self-signature.
    Rsa2048,
    /// RSA with a 3072-bit modulus (for certificates whose policy asks for more than 2048).
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
}

impl KeyType {
    /// Every key type, in the order the CLI lists them.
    pub const ALL: [KeyType; 6] = [
        KeyType::P256,
        KeyType::P384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The short name: `p256`, `p384`, `ed25519`, `rsa2048`, `rsa3072` or `rsa4096`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::P256 => "p256",
            KeyType::P384 => "p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
        }
    }

    /// The modulus size of an RSA key type; `None` for the others.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
            KeyType::P256 | KeyType::P384 | KeyType::Ed25519 => None,
        }
    }

    fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let squashed: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .collect::<String>()
            .to_ascii_lowercase();
        match squashed.as_str() {
            "p256" | "ecdsap256" | "secp256r1" | "prime256v1" => Ok(KeyType::P256),
            "p384" | "ecdsap384" | "secp384r1" => Ok(KeyType::P384),
            "ed25519" => Ok(KeyType::Ed25519),
            "rsa2048" | "rsa" => Ok(KeyType::Rsa2048),
            "rsa3072" => Ok(KeyType::Rsa3072),
            "rsa4096" => Ok(KeyType::Rsa4096),
            _ => Err(format!(
                "unknown key type {:?}; use p256, p384, ed25519, rsa2048, rsa3072 or rsa4096",
                crate::echoed(s)
            )),
        }
    }
}

/// The private key of a challenge certificate. A secret: `Debug` prints only the key type.
///
/// Cloning is cheap (the key is shared), so one key can sign many certificates; see
/// [`CertificateOptions::with_key`].
///
/// ```
/// use acmebox_challenge::tls_alpn01::{CertificateKey, KeyType};
/// let key = CertificateKey::generate(KeyType::P384)?;
/// let again = CertificateKey::from_pem(&key.to_pem())?;
/// assert_eq!(again.key_type(), KeyType::P384);
/// assert_eq!(format!("{key:?}"), "CertificateKey(p384)");
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
#[derive(Clone)]
pub struct CertificateKey {
    key_type: KeyType,
    pair: Arc<KeyPair>,
}

impl CertificateKey {
    /// Generates a fresh key. RSA keys come from the pure-Rust `rsa` crate (ring cannot
    /// generate them) and take a moment; the others from ring.
    pub fn generate(key_type: KeyType) -> Result<Self> {
        let pair = match key_type.rsa_bits() {
            Some(bits) => generate_rsa(key_type, bits)?,
            None => KeyPair::generate_for(key_type.signature_algorithm()).map_err(|err| {
                certificate_error(format!("generating a {key_type} key failed: {err}"))
            })?,
        };
        Ok(CertificateKey {
            key_type,
            pair: Arc::new(pair),
        })
    }

    /// Loads an unencrypted PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) of one of the
    /// [`KeyType`]s. Errors never contain the key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let Ok(pair) = KeyPair::from_pem(pem) else {
            return Err(certificate_error(pem_hint(pem)));
        };
        CertificateKey::from_pair(pair)
    }

    /// Loads an unencrypted PKCS#8 private key in DER form, as [`CertificateKey::to_der`]
    /// writes it. Errors never contain the key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let Ok(pair) = KeyPair::try_from(&PrivatePkcs8KeyDer::from(der)) else {
            return Err(certificate_error(
                "the private key is not an unencrypted PKCS#8 P-256, P-384, Ed25519 or RSA key",
            ));
        };
        CertificateKey::from_pair(pair)
    }

    /// The key's algorithm.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). A secret.
    pub fn to_pem(&self) -> String {
        self.pair.serialize_pem()
    }

    /// The private key as PKCS#8 DER. A secret.
    pub fn to_der(&self) -> Vec<u8> {
        self.pair.serialize_der()
    }

    /// The public key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). Public.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    fn from_pair(pair: KeyPair) -> Result<Self> {
        let algorithm = pair.algorithm();
        let Some(mut key_type) = KeyType::ALL
            .into_iter()
            .find(|kt| kt.signature_algorithm() == algorithm)
        else {
            return Err(certificate_error(
                "the private key's algorithm is not one of p256, p384, ed25519 or rsa",
            ));
        };
        if key_type.rsa_bits().is_some() {
            key_type = rsa_key_type(&pair)?;
        }
        Ok(CertificateKey {
            key_type,
            pair: Arc::new(pair),
        })
    }
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateKey({})", self.key_type)
    }
}

/// How [`generate`] makes a certificate: which key, and its validity window.
///
/// The default generates a fresh P-256 key per certificate, valid from [`DEFAULT_BACKDATE`]
/// ago until [`DEFAULT_VALIDITY`] from now.
///
/// ```
/// use std::time::Duration;
/// use acmebox_challenge::tls_alpn01::{CertificateOptions, KeyType};
/// let options = CertificateOptions::default()
///     .with_key_type(KeyType::Rsa2048)
///     .with_validity(Duration::from_secs(3600));
/// assert_eq!(options.key_type(), KeyType::Rsa2048);
/// ```
#[derive(Debug, Clone)]
pub struct CertificateOptions {
    key: KeyChoice,
    validity: Duration,
    backdate: Duration,
}

#[derive(Debug, Clone)]
enum KeyChoice {
    Generate(KeyType),
    Reuse(CertificateKey),
}

impl Default for CertificateOptions {
    fn default() -> Self {
        CertificateOptions {
            key: KeyChoice::Generate(KeyType::default()),
            validity: DEFAULT_VALIDITY,
            backdate: DEFAULT_BACKDATE,
        }
    }
}

impl CertificateOptions {
    /// Generates a fresh key of this type for every certificate (replaces any key set with
    /// [`CertificateOptions::with_key`]).
    pub fn with_key_type(mut self, key_type: KeyType) -> Self {
        self.key = KeyChoice::Generate(key_type);
        self
    }

    /// Signs every certificate with this key instead of a fresh one, for example to skip
    /// RSA key generation for each challenge.
    pub fn with_key(mut self, key: CertificateKey) -> Self {
        self.key = KeyChoice::Reuse(key);
        self
    }

    /// Sets how long a certificate stays valid, counted from the time it is made (`notAfter`
    /// is now plus `validity`). Must be longer than zero.
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// Sets how far `notBefore` lies before the time the certificate is made.
    pub fn with_backdate(mut self, backdate: Duration) -> Self {
        self.backdate = backdate;
        self
    }

    /// The key type of the certificates these options make.
    pub fn key_type(&self) -> KeyType {
        match &self.key {
            KeyChoice::Generate(key_type) => *key_type,
            KeyChoice::Reuse(key) => key.key_type(),
        }
    }

    /// The validity set with [`CertificateOptions::with_validity`].
    pub fn validity(&self) -> Duration {
        self.validity
    }

    /// The backdate set with [`CertificateOptions::with_backdate`].
    pub fn backdate(&self) -> Duration {
        self.backdate
    }
}

/// A TLS-ALPN-01 challenge certificate and its private key (RFC 8737 §3).
///
/// `Debug` shows the identifier, the key type and the validity, never the private key.
#[derive(Clone)]
pub struct TlsAlpnCertificate {
    identifier: Identifier,
    cert: rcgen::Certificate,
    key: CertificateKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl TlsAlpnCertificate {
    /// The certificate, DER encoded.
    pub fn cert_der(&self) -> &[u8] {
        self.cert.der()
    }

    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// The private key as PKCS#8 DER. A secret.
    pub fn key_der(&self) -> &[u8] {
        self.key.pair.serialized_der()
    }

    /// The private key as PKCS#8 PEM. A secret.
    pub fn key_pem(&self) -> String {
        self.key.to_pem()
    }

    /// The private key, for example to reuse it with [`CertificateOptions::with_key`].
    pub fn key(&self) -> &CertificateKey {
        &self.key
    }

    /// The identifier the certificate validates.
    pub fn identifier(&self) -> &Identifier {
        &self.identifier
    }

    /// The start of the validity window (`notBefore`), whole seconds.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The end of the validity window (`notAfter`), whole seconds.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The certificate and key as a rustls `CertifiedKey`, loaded with rustls's ring provider,
    /// ready for a `ResolvesServerCert` that answers `acme-tls/1` handshakes (RFC 8737 §4).
    pub fn certified_key(&self) -> Result<Arc<rustls::sign::CertifiedKey>> {
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der().to_vec()));
        let signer = rustls::crypto::ring::sign::any_supported_type(&der).map_err(|err| {
            certificate_error(format!(
                "rustls cannot load the {} key: {err}",
                self.key.key_type()
            ))
        })?;
        Ok(Arc::new(rustls::sign::CertifiedKey::new(
            vec![self.cert.der().clone()],
            signer,
        )))
    }
}

impl fmt::Debug for TlsAlpnCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAlpnCertificate")
            .field("identifier", &self.identifier)
            .field("key", &self.key)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Makes the self-signed TLS-ALPN-01 certificate for `identifier` (RFC 8737 §3; RFC 8738 §6
/// for IP addresses).
///
/// Its only subjectAltName is the identifier (a dNSName, or an iPAddress); its critical
/// acmeIdentifier extension holds [`acme_identifier_value`]; its serial number is random; its
/// subject is a short fixed common name. Wildcards are refused: TLS-ALPN-01 proves control of
/// one host, and ACME servers only offer dns-01 for `*.` names.
///
/// ```
/// use acmebox_challenge::{Identifier, KeyAuthorization};
/// use acmebox_challenge::tls_alpn01::{generate, CertificateOptions};
/// let ka = KeyAuthorization::parse(
///     "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
/// )?;
/// let options = CertificateOptions::default();
/// let cert = generate(&"2001:db8::1".parse()?, &ka, &options)?;
/// assert_eq!(cert.identifier().to_string(), "2001:db8::1");
/// let err = generate(&"*.example.com".parse()?, &ka, &options).unwrap_err();
/// assert!(err.to_string().contains("dns-01"));
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub fn generate(
    identifier: &Identifier,
    key_authorization: &KeyAuthorization,
    options: &CertificateOptions,
) -> Result<TlsAlpnCertificate> {
    let san = subject_alt_name(identifier)?;
    let (not_before, not_after) = validity_window(options.validity, options.backdate)?;
    let key = match &options.key {
        KeyChoice::Generate(key_type) => CertificateKey::generate(*key_type)?,
        KeyChoice::Reuse(key) => key.clone(),
    };

    let mut acme_identifier = CustomExtension::from_oid_content(
        ACME_IDENTIFIER_OID,
        acme_identifier_value(key_authorization).to_vec(),
    );
    acme_identifier.set_criticality(true);
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, SUBJECT_COMMON_NAME);

    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.subject_alt_names = vec![san];
    params.custom_extensions = vec![acme_identifier];
    params.serial_number = Some(random_serial()?);
    params.not_before = not_before;
    params.not_after = not_after;

    let cert = params.self_signed(&*key.pair).map_err(|err| {
        certificate_error(format!(
            "signing the certificate for {identifier} with the {} key failed: {err}",
            key.key_type()
        ))
    })?;
    Ok(TlsAlpnCertificate {
        identifier: identifier.clone(),
        cert,
        key,
        not_before,
        not_after,
    })
}

/// The value of the acmeIdentifier extension (RFC 8737 §3): the DER encoding of an OCTET
/// STRING holding SHA-256 of the key authorization, that is `04 20` and the 32-byte digest.
///
/// ```
/// use acmebox_challenge::{KeyAuthorization, tls_alpn01::acme_identifier_value};
/// let ka = KeyAuthorization::parse(
///     "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
/// )?;
/// assert_eq!(acme_identifier_value(&ka)[..2], [0x04, 0x20]);
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub fn acme_identifier_value(key_authorization: &KeyAuthorization) -> [u8; 34] {
    let digest = ring::digest::digest(&ring::digest::SHA256, key_authorization.as_str().as_bytes());
    let mut value = [0u8; 34];
    value[0] = 0x04; // OCTET STRING
    value[1] = 0x20; // of 32 bytes
    // A SHA-256 digest is always 32 bytes, so the slices have equal lengths.
    value[2..].copy_from_slice(digest.as_ref());
    value
}

/// The server name the ACME server sends in SNI when validating `identifier`.
///
/// For a DNS name, the name itself (RFC 8737 §3). For an IP address, its reverse-mapping name
/// (RFC 8738 §6): `in-addr.arpa` with the octets reversed, or `ip6.arpa` with the 32 nibbles
/// reversed. No trailing dot.
///
/// ```
/// use acmebox_challenge::tls_alpn01::sni_name;
/// assert_eq!(sni_name(&"www.example.com".parse()?), "www.example.com");
/// assert_eq!(sni_name(&"192.0.2.1".parse()?), "1.2.0.192.in-addr.arpa");
/// assert_eq!(
///     sni_name(&"2001:db8::1".parse()?),
///     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
/// );
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub fn sni_name(identifier: &Identifier) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match identifier {
        Identifier::Dns(name) => name.clone(),
        Identifier::Ip(IpAddr::V4(ip)) => {
            let [a, b, c, d] = ip.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        Identifier::Ip(IpAddr::V6(ip)) => {
            let mut name = String::with_capacity(72);
            for byte in ip.octets().iter().rev() {
                for nibble in [byte & 0x0f, byte >> 4] {
                    name.push(char::from(HEX[usize::from(nibble)]));
                    name.push('.');
                }
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}

/// The one subjectAltName of the certificate; refuses wildcards.
fn subject_alt_name(identifier: &Identifier) -> Result<SanType> {
    match identifier {
        Identifier::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        Identifier::Dns(_) if identifier.is_wildcard() => Err(Error::UnsupportedChallenge {
            challenge: ChallengeType::TlsAlpn01,
            identifier: identifier.to_string(),
            reason: "tls-alpn-01 proves control of a single host, so it cannot validate a \
                     wildcard name and ACME servers do not offer it for one; use dns-01",
        }),
        Identifier::Dns(name) => {
            // The variant is public, so check the name again rather than trust its maker.
            let name = normalize_domain(name)?;
            let name = rcgen::string::Ia5String::try_from(name.as_str())
                .map_err(|err| certificate_error(format!("{name:?} cannot be a dNSName: {err}")))?;
            Ok(SanType::DnsName(name))
        }
    }
}

/// `notBefore` and `notAfter` in whole seconds, as the certificate will carry them.
fn validity_window(
    validity: Duration,
    backdate: Duration,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    if validity.is_zero() {
        return Err(certificate_error(
            "the validity must be longer than zero; the default is 7 days",
        ));
    }
    let now = OffsetDateTime::now_utc();
    let now = now - time::Duration::nanoseconds(i64::from(now.nanosecond()));
    let out_of_range = |what: &str| {
        certificate_error(format!(
            "the {what} is too long to fit in a certificate (years 1950 to 9999)"
        ))
    };
    let not_before = time::Duration::try_from(backdate)
        .ok()
        .and_then(|backdate| now.checked_sub(backdate))
        .filter(|t| t.year() >= 1950)
        .ok_or_else(|| out_of_range("backdate"))?;
    let not_after = time::Duration::try_from(validity)
        .ok()
        .and_then(|validity| now.checked_add(validity))
        .filter(|t| t.year() <= 9999)
        .ok_or_else(|| out_of_range("validity"))?;
    Ok((not_before, not_after))
}

fn random_serial() -> Result<SerialNumber> {
    let mut serial = [0u8; SERIAL_LEN];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| certificate_error("the system random number generator failed"))?;
    // Positive, and without a leading zero byte, so the DER INTEGER keeps its full length.
    serial[0] = (serial[0] & 0x7f).max(1);
    Ok(SerialNumber::from_slice(&serial))
}

fn generate_rsa(key_type: KeyType, bits: usize) -> Result<KeyPair> {
    use rsa::pkcs8::EncodePrivateKey as _;

    let fail = |what: &str, err: &dyn fmt::Display| {
        certificate_error(format!(
            "generating an RSA-{bits} key failed ({what}): {err}"
        ))
    };
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|err| fail("generation", &err))?;
    let pkcs8 = private
        .to_pkcs8_der()
        .map_err(|err| fail("PKCS#8 encoding", &err))?;
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8.as_bytes()),
        key_type.signature_algorithm(),
    )
    .map_err(|err| fail("loading into the signer", &err))
}

/// The RSA key type of `pair` by its modulus size; other sizes are refused, so that a
/// [`KeyType`] never lies.
fn rsa_key_type(pair: &KeyPair) -> Result<KeyType> {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::traits::PublicKeyParts as _;

    // ring exposes an RSA public key as a DER RSAPublicKey (RFC 8017 appendix A.1.1).
    let public = rsa::RsaPublicKey::from_pkcs1_der(pair.public_key_raw())
        .map_err(|_| certificate_error("the RSA public key could not be read"))?;
    let bits = public.n().bits();
    KeyType::ALL
        .into_iter()
        .find(|kt| kt.rsa_bits() == Some(bits))
        .ok_or_else(|| {
            certificate_error(format!(
                "the RSA key has {bits} bits; RSA keys of 2048, 3072 or 4096 bits are \
                 supported, or use an ECDSA p256 key"
            ))
        })
}

/// Why a PEM private key could not be loaded, with what to do; never quotes the key.
fn pem_hint(pem: &str) -> &'static str {
    if pem.contains("ENCRYPTED PRIVATE KEY") {
        "the private key is encrypted; decrypt it first, for example with \
         `openssl pkcs8 -in key.pem -out plain.pem`"
    } else if pem.contains("BEGIN RSA PRIVATE KEY") || pem.contains("BEGIN EC PRIVATE KEY") {
        "the private key is in a legacy (PKCS#1 or SEC1) format; convert it to PKCS#8 with \
         `openssl pkcs8 -topk8 -nocrypt -in key.pem -out pkcs8.pem`"
    } else if pem.contains("-----BEGIN PRIVATE KEY-----") {
        "the PKCS#8 private key could not be parsed as a P-256, P-384, Ed25519 or RSA key"
    } else {
        "no `-----BEGIN PRIVATE KEY-----` block found; expected an unencrypted PKCS#8 PEM key"
    }
}

fn certificate_error(reason: impl Into<String>) -> Error {
    Error::Certificate {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
    use x509_parser::prelude::*;

    use super::*;

    const KA: &str =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    fn ka() -> KeyAuthorization {
        KeyAuthorization::parse(KA).unwrap()
    }

    fn id(s: &str) -> Identifier {
        Identifier::parse(s).unwrap()
    }

    fn make(identifier: &str, options: &CertificateOptions) -> TlsAlpnCertificate {
        generate(&id(identifier), &ka(), options).unwrap()
    }

    fn parse(der: &[u8]) -> X509Certificate<'_> {
        let (rest, cert) = X509Certificate::from_der(der).unwrap();
        assert!(rest.is_empty(), "trailing bytes after the certificate");
        cert
    }

    fn sans<'a>(cert: &'a X509Certificate<'_>) -> Vec<GeneralName<'a>> {
        let ext = cert.subject_alternative_name().unwrap().unwrap();
        ext.value.general_names.clone()
    }

    #[test]
    fn acme_identifier_extension_is_critical_and_holds_the_digest() {
        let digest = ring::digest::digest(&ring::digest::SHA256, KA.as_bytes());
        let mut want = vec![0x04, 0x20];
        want.extend_from_slice(digest.as_ref());
        assert_eq!(acme_identifier_value(&ka()).to_vec(), want);

        for identifier in ["example.com", "192.0.2.1", "2001:db8::1"] {
            let generated = make(identifier, &CertificateOptions::default());
            let cert = parse(generated.cert_der());
            let acme: Vec<_> = cert
                .extensions()
                .iter()
                .filter(|ext| ext.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
                .collect();
            assert_eq!(acme.len(), 1, "{identifier}: one acmeIdentifier extension");
            assert!(
                acme[0].critical,
                "{identifier}: acmeIdentifier not critical"
            );
            assert_eq!(acme[0].value, want.as_slice(), "{identifier}");
        }
        let oid: Vec<String> = ACME_IDENTIFIER_OID.iter().map(u64::to_string).collect();
        assert_eq!(oid.join("."), "1.3.6.1.5.5.7.1.31");
        assert_eq!(ACME_TLS_ALPN_PROTOCOL, b"acme-tls/1");
    }

    #[test]
    fn exactly_one_subject_alt_name_of_the_right_kind() {
        let cases: &[(&str, GeneralName<'_>)] = &[
            ("example.com", GeneralName::DNSName("example.com")),
            ("WWW.Example.COM.", GeneralName::DNSName("www.example.com")),
            (
                "bücher.example",
                GeneralName::DNSName("xn--bcher-kva.example"),
            ),
            ("192.0.2.1", GeneralName::IPAddress(&[192, 0, 2, 1])),
            (
                "[2001:db8::1]",
                GeneralName::IPAddress(&[
                    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                ]),
            ),
        ];
        let key = CertificateKey::generate(KeyType::P256).unwrap();
        let options = CertificateOptions::default().with_key(key);
        for (identifier, want) in cases {
            let generated = make(identifier, &options);
            let cert = parse(generated.cert_der());
            let san_extensions = cert
                .extensions()
                .iter()
                .filter(|ext| ext.oid.to_id_string() == "2.5.29.17")
                .count();
            assert_eq!(san_extensions, 1, "{identifier}");
            assert_eq!(sans(&cert), vec![want.clone()], "{identifier}");
        }
    }

    #[test]
    fn key_types_match_the_public_key_and_the_signature_verifies() {
        // (key type, SPKI algorithm OID, EC curve OID, key size in bits)
        let cases = [
            (
                KeyType::P256,
                "1.2.840.10045.2.1",
                Some("1.2.840.10045.3.1.7"),
                256,
            ),
            (
                KeyType::P384,
                "1.2.840.10045.2.1",
                Some("1.3.132.0.34"),
                384,
            ),
            (KeyType::Ed25519, "1.3.101.112", None, 256),
            (KeyType::Rsa2048, "1.2.840.113549.1.1.1", None, 2048),
            (KeyType::Rsa3072, "1.2.840.113549.1.1.1", None, 3072),
            (KeyType::Rsa4096, "1.2.840.113549.1.1.1", None, 4096),
        ];
        for (key_type, algorithm, curve, bits) in cases {
            let options = CertificateOptions::default().with_key_type(key_type);
            let generated = make("example.com", &options);
            assert_eq!(generated.key().key_type(), key_type);
            let cert = parse(generated.cert_der());
            let spki = cert.public_key();
            assert_eq!(
                spki.algorithm.algorithm.to_id_string(),
                algorithm,
                "{key_type}"
            );
            // Only EC keys name a curve; RSA has NULL parameters and Ed25519 none.
            let got_curve = spki
                .algorithm
                .parameters
                .as_ref()
                .filter(|_| curve.is_some())
                .map(|p| p.as_oid().unwrap().to_id_string());
            assert_eq!(got_curve.as_deref(), curve, "{key_type}");
            let got_bits = match spki.parsed().unwrap() {
                // x509-parser does not size Ed25519 keys: count the raw 32-byte key instead.
                public_key::PublicKey::Unknown(raw) => raw.len() * 8,
                parsed => parsed.key_size(),
            };
            assert_eq!(got_bits, bits, "{key_type}");
            assert_eq!(spki.raw, generated.key().public_key_der(), "{key_type}");
            cert.verify_signature(None)
                .unwrap_or_else(|err| panic!("{key_type}: self-signature: {err}"));
            assert_eq!(cert.subject(), cert.issuer(), "{key_type}: self-issued");
        }
    }

    #[test]
    fn validity_window_is_backdated_and_short() {
        let check = |options: &CertificateOptions, validity: i64, backdate: i64| {
            let generated = make("example.com", options);
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let cert = parse(generated.cert_der());
            let not_before = cert.validity().not_before.timestamp();
            let not_after = cert.validity().not_after.timestamp();
            assert_eq!(not_before, generated.not_before().unix_timestamp());
            assert_eq!(not_after, generated.not_after().unix_timestamp());
            assert!(
                (now - backdate - not_before).abs() <= 5,
                "not_before {not_before}, now {now}, backdate {backdate}"
            );
            assert!(
                (now + validity - not_after).abs() <= 5,
                "not_after {not_after}, now {now}, validity {validity}"
            );
        };
        check(&CertificateOptions::default(), 7 * 86_400, 300);
        let custom = CertificateOptions::default()
            .with_validity(Duration::from_secs(3600))
            .with_backdate(Duration::ZERO);
        assert_eq!(custom.validity(), Duration::from_secs(3600));
        assert_eq!(custom.backdate(), Duration::ZERO);
        check(&custom, 3600, 0);

        let bad = [
            (Duration::ZERO, DEFAULT_BACKDATE, "longer than zero"),
            (Duration::MAX, DEFAULT_BACKDATE, "validity is too long"),
            (
                Duration::from_secs(9000 * 365 * 86_400),
                DEFAULT_BACKDATE,
                "validity is too long",
            ),
            (DEFAULT_VALIDITY, Duration::MAX, "backdate is too long"),
        ];
        for (validity, backdate, want) in bad {
            let options = CertificateOptions::default()
                .with_validity(validity)
                .with_backdate(backdate);
            let msg = generate(&id("example.com"), &ka(), &options)
                .unwrap_err()
                .to_string();
            assert!(msg.contains(want), "{msg:?} lacks {want:?}");
        }
    }

    #[test]
    fn long_names_stay_out_of_the_common_name() {
        let name = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(name.len(), 253);
        let generated = make(&name, &CertificateOptions::default());
        let cert = parse(generated.cert_der());
        for cn in cert.subject().iter_common_name() {
            let cn = cn.as_str().unwrap();
            assert!(cn.len() <= 64, "CN {cn:?} longer than 64");
            assert!(!cn.contains("aaaa"), "CN {cn:?} carries the name");
        }
        assert_eq!(sans(&cert), vec![GeneralName::DNSName(&name)]);
    }

    #[test]
    fn reused_key_signs_both_certificates_with_random_serials() {
        let key = CertificateKey::generate(KeyType::Ed25519).unwrap();
        let options = CertificateOptions::default().with_key(key.clone());
        assert_eq!(options.key_type(), KeyType::Ed25519);
        let first = make("a.example.com", &options);
        let second = make("b.example.com", &options);
        let (c1, c2) = (parse(first.cert_der()), parse(second.cert_der()));
        assert_eq!(c1.public_key().raw, c2.public_key().raw);
        assert_eq!(c1.public_key().raw, key.public_key_der());
        assert_eq!(first.key_der(), key.to_der());
        assert_ne!(c1.raw_serial(), c2.raw_serial(), "serials must be random");
        assert_eq!(c1.raw_serial().len(), SERIAL_LEN);

        let fresh = CertificateOptions::default();
        let (f1, f2) = (make("a.example.com", &fresh), make("a.example.com", &fresh));
        assert_ne!(f1.key_der(), f2.key_der(), "default must use a fresh key");
    }

    #[test]
    fn wildcards_are_refused() {
        let err =
            generate(&id("*.example.com"), &ka(), &CertificateOptions::default()).unwrap_err();
        assert!(matches!(
            err,
            Error::UnsupportedChallenge {
                challenge: ChallengeType::TlsAlpn01,
                ..
            }
        ));
        let msg = err.to_string();
        for want in ["*.example.com", "wildcard", "dns-01"] {
            assert!(msg.contains(want), "{msg:?} lacks {want:?}");
        }
        // A hand-made identifier that bypassed parsing is checked again.
        let sneaky = Identifier::Dns("bad name.example".into());
        let msg = generate(&sneaky, &ka(), &CertificateOptions::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("contains ' '"), "{msg}");
    }

    #[test]
    fn sni_name_table() {
        let cases = [
            ("example.com", "example.com"),
            ("Www.Example.com.", "www.example.com"),
            ("192.0.2.1", "1.2.0.192.in-addr.arpa"),
            ("198.51.100.255", "255.100.51.198.in-addr.arpa"),
            ("0.0.0.0", "0.0.0.0.in-addr.arpa"),
            (
                "2001:db8::1",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            ),
            (
                "2001:DB8:ABCD:12::F0",
                "0.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.1.0.0.d.c.b.a.8.b.d.0.1.0.0.2.ip6.arpa",
            ),
            (
                "::1",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
            ),
        ];
        for (identifier, want) in cases {
            assert_eq!(sni_name(&id(identifier)), want, "{identifier}");
        }
    }

    #[test]
    fn key_type_from_str_table() {
        let ok = [
            ("p256", KeyType::P256),
            ("P-256", KeyType::P256),
            ("ecdsa-p256", KeyType::P256),
            ("prime256v1", KeyType::P256),
            ("p384", KeyType::P384),
            ("ECDSA_P384", KeyType::P384),
            ("secp384r1", KeyType::P384),
            ("ed25519", KeyType::Ed25519),
            ("Ed25519", KeyType::Ed25519),
            ("rsa2048", KeyType::Rsa2048),
            ("RSA-2048", KeyType::Rsa2048),
            ("rsa", KeyType::Rsa2048),
            ("RSA-3072", KeyType::Rsa3072),
            ("rsa4096", KeyType::Rsa4096),
        ];
        for (input, want) in ok {
            assert_eq!(input.parse::<KeyType>(), Ok(want), "{input}");
        }
        for key_type in KeyType::ALL {
            assert_eq!(key_type.to_string().parse::<KeyType>(), Ok(key_type));
        }
        for bad in ["", "p521", "rsa1024", "dsa", "ed448"] {
            let msg = bad.parse::<KeyType>().unwrap_err();
            for choice in ["p256", "p384", "ed25519", "rsa2048", "rsa3072", "rsa4096"] {
                assert!(msg.contains(choice), "{bad:?}: {msg:?} lacks {choice}");
            }
        }
        assert_eq!(KeyType::default(), KeyType::P256);
    }

    #[test]
    fn keys_round_trip_through_pem_and_der() {
        for key_type in KeyType::ALL {
            let key = CertificateKey::generate(key_type).unwrap();
            let pem = key.to_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{key_type}");
            let from_pem = CertificateKey::from_pem(&pem).unwrap();
            assert_eq!(from_pem.key_type(), key_type);
            assert_eq!(from_pem.to_der(), key.to_der(), "{key_type}");
            let from_der = CertificateKey::from_der(&key.to_der()).unwrap();
            assert_eq!(
                from_der.public_key_der(),
                key.public_key_der(),
                "{key_type}"
            );
        }
    }

    #[test]
    fn bad_keys_are_refused_without_quoting_them() {
        let body = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET";
        let cases = [
            (
                format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
                "could not be parsed",
            ),
            (
                format!("-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n"),
                "openssl pkcs8 -topk8",
            ),
            (
                format!(
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----\n"
                ),
                "encrypted",
            ),
            (body.to_owned(), "no `-----BEGIN PRIVATE KEY-----`"),
        ];
        for (pem, want) in cases {
            let msg = CertificateKey::from_pem(&pem).unwrap_err().to_string();
            assert!(msg.contains(want), "{msg:?} lacks {want:?}");
            assert!(!msg.contains("SECRET"), "error quotes the key: {msg}");
        }
        let msg = CertificateKey::from_der(body.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("PKCS#8") && !msg.contains("SECRET"), "{msg}");
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        for key_type in KeyType::ALL {
            let options = CertificateOptions::default().with_key_type(key_type);
            let generated = make("example.com", &options);
            let pem = generated.key_pem();
            let base64_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let shown = format!(
                "{generated:?} {:?} {options:?} {:?}",
                generated.key(),
                CertificateOptions::default().with_key(generated.key().clone())
            );
            assert!(!shown.contains("PRIVATE KEY"), "{shown}");
            for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                assert!(
                    !shown.contains(line),
                    "{key_type}: Debug shows key material"
                );
            }
            assert!(!shown.contains(&base64_body[..16]), "{shown}");
            assert!(!shown.contains(KA), "{shown}");
            assert_eq!(
                format!("{:?}", generated.key()),
                format!("CertificateKey({key_type})")
            );
            assert!(shown.contains("example.com"), "{shown}");
        }
    }

    /// An ACME-validator-like client: accepts the self-signed certificate, remembers it, and
    /// checks the handshake signature against the certificate's public key.
    #[derive(Debug)]
    struct CapturingVerifier {
        provider: Arc<rustls::crypto::CryptoProvider>,
        seen: Mutex<Option<Vec<u8>>>,
    }

    impl rustls::client::danger::ServerCertVerifier for CapturingVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error>
        {
            *self.seen.lock().unwrap() = Some(end_entity.to_vec());
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &rustls::DigitallySignedStruct,
        ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>
        {
            Err(rustls::Error::General(
                "this test speaks TLS 1.3 only".into(),
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>
        {
            let parsed = parse(cert);
            rustls::crypto::verify_tls13_signature_with_raw_key(
                message,
                &SubjectPublicKeyInfoDer::from(parsed.public_key().raw),
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    /// Runs an in-memory `acme-tls/1` handshake against a rustls server holding `generated`.
    fn handshake(generated: &TlsAlpnCertificate) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls13 = [&rustls::version::TLS13];
        let resolver = rustls::sign::SingleCertAndKey::from(generated.certified_key().unwrap());
        let mut server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&tls13)
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        server_config.alpn_protocols = vec![ACME_TLS_ALPN_PROTOCOL.to_vec()];
        let verifier = Arc::new(CapturingVerifier {
            provider: provider.clone(),
            seen: Mutex::new(None),
        });
        let mut client_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&tls13)
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        client_config.alpn_protocols = vec![ACME_TLS_ALPN_PROTOCOL.to_vec()];

        let sni = sni_name(generated.identifier());
        let server_name = ServerName::try_from(sni.clone()).unwrap();
        let mut client =
            rustls::ClientConnection::new(Arc::new(client_config), server_name).unwrap();
        let mut server = rustls::ServerConnection::new(Arc::new(server_config)).unwrap();
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets().unwrap();
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets().unwrap();
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert_eq!(server.alpn_protocol(), Some(ACME_TLS_ALPN_PROTOCOL));
        assert_eq!(client.alpn_protocol(), Some(ACME_TLS_ALPN_PROTOCOL));
        assert_eq!(server.server_name(), Some(sni.as_str()));
        let seen = verifier.seen.lock().unwrap().clone();
        assert_eq!(seen.as_deref(), Some(generated.cert_der()));
    }

    #[test]
    fn certified_key_serves_an_acme_tls_handshake_for_every_key_type() {
        for key_type in KeyType::ALL {
            let options = CertificateOptions::default().with_key_type(key_type);
            let generated = make("example.com", &options);
            let certified = generated.certified_key().unwrap();
            assert_eq!(certified.cert.len(), 1);
            assert_eq!(certified.cert[0].as_ref(), generated.cert_der());
            let spki = certified.key.public_key().unwrap();
            assert_eq!(
                spki.as_ref(),
                generated.key().public_key_der(),
                "{key_type}"
            );
            handshake(&generated);
        }
        handshake(&make("2001:db8::1", &CertificateOptions::default()));
        handshake(&make("192.0.2.1", &CertificateOptions::default()));
    }
}
