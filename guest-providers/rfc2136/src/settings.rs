//! The provider's config keys, read and checked.
//!
//! Parsing takes a lookup function rather than the host's config interface so that it can be
//! tested natively; the provider passes `acmebox_provider::config::get`.

use std::net::{IpAddr, SocketAddr};

use acmebox_provider::ProviderError;
use hickory_proto::rr::Name;

use crate::tsig::{Algorithm, Secret, TsigKey};

/// The DNS port, used when neither `server` nor `port` names one (RFC 1035 §4.2).
pub const DEFAULT_PORT: u16 = 53;

/// What the provider needs to send a signed update.
#[derive(Debug)]
pub struct Settings {
    /// The primary server the updates go to, over TCP.
    pub server: SocketAddr,
    /// The TSIG key every message is signed with.
    pub key: TsigKey,
}

impl Settings {
    /// Reads and checks every key; an [`InvalidConfig`](ProviderError::InvalidConfig) error names
    /// the key at fault and says what to write instead.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        let server = server_address(&lookup)?;
        let name = key_name(&require(&lookup, "key_name")?)?;
        let secret = key_secret(&require(&lookup, "key_secret")?)?;
        let algorithm = match lookup("algorithm") {
            Some(text) if !text.trim().is_empty() => algorithm(&text)?,
            _ => Algorithm::HmacSha256,
        };
        Ok(Self {
            server,
            key: TsigKey::new(name, algorithm, secret),
        })
    }
}

/// The server's address from `server` and `port`: what `describe` lists and the operator
/// grants as `dns://<address>`.
pub fn server_address(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<SocketAddr, ProviderError> {
    let server = require(&lookup, "server")?;
    let port = match lookup("port") {
        Some(text) if !text.trim().is_empty() => Some(port(&text)?),
        _ => None,
    };
    let (ip, port_in_server) = ip_and_port(server.trim())?;
    let port = match (port_in_server, port) {
        (Some(a), Some(b)) if a != b => {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `server` ({server}) names port {a} but config key `port` says {b}; \
                 set the port in one of them"
            )));
        }
        (Some(port), _) | (None, Some(port)) => port,
        (None, None) => DEFAULT_PORT,
    };
    if ip.is_unspecified() {
        return Err(ProviderError::InvalidConfig(format!(
            "config key `server` ({server}) is the unspecified address; write the address of the \
             primary DNS server"
        )));
    }
    Ok(SocketAddr::new(ip, port))
}

/// The value of `key`, or an error naming it when it is missing or blank.
fn require(lookup: impl Fn(&str) -> Option<String>, key: &str) -> Result<String, ProviderError> {
    match lookup(key) {
        None => Err(ProviderError::InvalidConfig(format!(
            "missing config key `{key}`"
        ))),
        Some(value) if value.trim().is_empty() => Err(ProviderError::InvalidConfig(format!(
            "config key `{key}` is empty"
        ))),
        Some(value) => Ok(value),
    }
}

/// `192.0.2.53`, `192.0.2.53:53`, `2001:db8::53`, `[2001:db8::53]` or `[2001:db8::53]:53`.
fn ip_and_port(server: &str) -> Result<(IpAddr, Option<u16>), ProviderError> {
    if let Ok(ip) = server.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    if let Ok(address) = server.parse::<SocketAddr>() {
        return Ok((address.ip(), Some(address.port())));
    }
    if let Some(ip) = server.strip_prefix('[').and_then(|s| s.strip_suffix(']'))
        && let Ok(ip) = ip.parse::<IpAddr>()
    {
        return Ok((ip, None));
    }
    let hint = if server.contains("://") {
        "write the address alone, without a scheme"
    } else {
        "the sandbox gives the provider no name lookup, so write the primary server's IP \
         address, not a host name"
    };
    Err(ProviderError::InvalidConfig(format!(
        "config key `server` ({server}) is not an IP address such as 192.0.2.53, \
         192.0.2.53:53 or [2001:db8::53]:53; {hint}"
    )))
}

fn port(text: &str) -> Result<u16, ProviderError> {
    match text.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(ProviderError::InvalidConfig(format!(
            "config key `port` ({}) is not a port number from 1 to 65535",
            text.trim()
        ))),
    }
}

/// The key name as an absolute DNS name (`acme-key` and `acme-key.` are the same key).
fn key_name(text: &str) -> Result<Name, ProviderError> {
    let text = text.trim();
    match Name::from_ascii(text) {
        Ok(mut name) if !name.is_root() => {
            name.set_fqdn(true);
            Ok(name)
        }
        _ => Err(ProviderError::InvalidConfig(format!(
            "config key `key_name` ({text}) is not a DNS name; write the name of the TSIG key \
             as the server knows it, such as acme-key."
        ))),
    }
}

/// The secret in base64, as `tsig-keygen` and `keymgr` print it. The message never quotes it.
fn key_secret(text: &str) -> Result<Secret, ProviderError> {
    use base64::Engine as _;
    use base64::alphabet::STANDARD;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

    const BASE64: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    match BASE64.decode(text.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(Secret::new(bytes)),
        _ => Err(ProviderError::InvalidConfig(
            "config key `key_secret` is not a base64 TSIG secret; copy the `secret` of the key \
             as tsig-keygen or keymgr printed it"
                .into(),
        )),
    }
}

/// The algorithm, case-insensitive, with or without a trailing dot.
fn algorithm(text: &str) -> Result<Algorithm, ProviderError> {
    let name = text.trim().trim_end_matches('.');
    Algorithm::ALL
        .into_iter()
        .find(|a| {
            a.config_name().eq_ignore_ascii_case(name) || a.wire_name().eq_ignore_ascii_case(name)
        })
        .ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.config_name()).collect();
            ProviderError::InvalidConfig(format!(
                "config key `algorithm` ({name}) is not a supported TSIG algorithm; use one of {} \
                 (default hmac-sha256)",
                names.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| map.get(key).cloned()
    }

    fn invalid(result: Result<impl std::fmt::Debug, ProviderError>) -> String {
        match result {
            Err(ProviderError::InvalidConfig(message)) => message,
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn server_forms() {
        let cases = [
            ("192.0.2.53", None, "192.0.2.53:53"),
            (" 192.0.2.53 ", None, "192.0.2.53:53"),
            ("192.0.2.53:5353", None, "192.0.2.53:5353"),
            ("192.0.2.53", Some("5353"), "192.0.2.53:5353"),
            ("192.0.2.53:5353", Some("5353"), "192.0.2.53:5353"),
            ("2001:db8::53", None, "[2001:db8::53]:53"),
            ("[2001:db8::53]", None, "[2001:db8::53]:53"),
            ("[2001:db8::53]:5353", None, "[2001:db8::53]:5353"),
            ("2001:db8::53", Some("5353"), "[2001:db8::53]:5353"),
            ("::1", None, "[::1]:53"),
            ("127.0.0.1", Some(""), "127.0.0.1:53"),
        ];
        for (server, port, want) in cases {
            let mut pairs = vec![("server", server)];
            pairs.extend(port.map(|p| ("port", p)));
            let got = server_address(lookup(&pairs));
            assert_eq!(got.map(|a| a.to_string()), Ok(want.to_owned()), "{server}");
        }
    }

    #[test]
    fn refused_servers() {
        let cases = [
            ("ns1.example.com", None, "no name lookup"),
            ("ns1.example.com:53", None, "no name lookup"),
            ("dns://192.0.2.53:53", None, "without a scheme"),
            ("192.0.2.53:53:53", None, "not an IP address"),
            ("2001:db8::53:53]", None, "not an IP address"),
            ("0.0.0.0", None, "unspecified"),
            ("::", None, "unspecified"),
            ("", None, "`server` is empty"),
            ("192.0.2.53:53", Some("5353"), "set the port in one of them"),
            (
                "[2001:db8::53]:53",
                Some("54"),
                "set the port in one of them",
            ),
            ("192.0.2.53", Some("0"), "not a port number"),
            ("192.0.2.53", Some("65536"), "not a port number"),
            ("192.0.2.53", Some("domain"), "not a port number"),
        ];
        for (server, port, want) in cases {
            let mut pairs = vec![("server", server)];
            pairs.extend(port.map(|p| ("port", p)));
            let message = invalid(server_address(lookup(&pairs)));
            assert!(message.contains(want), "{server}: {message}");
        }
        let message = invalid(server_address(lookup(&[])));
        assert_eq!(message, "missing config key `server`");
    }

    #[test]
    fn algorithms() {
        let cases = [
            ("hmac-sha256", Algorithm::HmacSha256),
            ("HMAC-SHA256", Algorithm::HmacSha256),
            ("hmac-sha256.", Algorithm::HmacSha256),
            ("hmac-sha1", Algorithm::HmacSha1),
            ("hmac-sha224", Algorithm::HmacSha224),
            ("hmac-sha384", Algorithm::HmacSha384),
            ("Hmac-Sha512", Algorithm::HmacSha512),
            ("hmac-md5", Algorithm::HmacMd5),
            ("HMAC-MD5.SIG-ALG.REG.INT", Algorithm::HmacMd5),
            ("hmac-md5.sig-alg.reg.int.", Algorithm::HmacMd5),
        ];
        for (text, want) in cases {
            assert_eq!(algorithm(text), Ok(want), "{text}");
        }
        for text in ["hmac-sha256-128", "gss-tsig", "sha256", "hmac-sha3"] {
            let message = invalid(algorithm(text));
            assert!(message.contains("hmac-sha256, hmac-sha512"), "{message}");
        }
    }

    #[test]
    fn whole_config() {
        let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
        let settings = Settings::from_lookup(lookup(&[
            ("server", "127.0.0.1:38353"),
            ("key_name", "acme-key"),
            ("key_secret", secret),
        ]));
        let Ok(settings) = settings else {
            panic!("{settings:?}");
        };
        assert_eq!(settings.server.to_string(), "127.0.0.1:38353");
        assert_eq!(settings.key.name().to_ascii(), "acme-key.");
        assert_eq!(settings.key.algorithm(), Algorithm::HmacSha256);
        // The secret never shows in Debug output.
        assert!(!format!("{settings:?}").contains(secret));
        assert!(!format!("{settings:?}").contains("secret-secret"));

        let settings = Settings::from_lookup(lookup(&[
            ("server", "127.0.0.1"),
            ("key_name", "Acme-Key."),
            ("key_secret", "c2VjcmV0"),
            ("algorithm", "hmac-sha512"),
        ]));
        assert!(matches!(settings, Ok(s) if s.key.algorithm() == Algorithm::HmacSha512));
    }

    #[test]
    fn refused_keys() {
        let base = [("server", "127.0.0.1")];
        let cases: [(&[(&str, &str)], &str); 7] = [
            (
                &[("key_secret", "c2VjcmV0")],
                "missing config key `key_name`",
            ),
            (&[("key_name", "k")], "missing config key `key_secret`"),
            (
                &[("key_name", " "), ("key_secret", "c2VjcmV0")],
                "`key_name` is empty",
            ),
            (
                &[("key_name", "a..b"), ("key_secret", "c2VjcmV0")],
                "not a DNS name",
            ),
            (
                &[("key_name", "."), ("key_secret", "c2VjcmV0")],
                "not a DNS name",
            ),
            (
                &[("key_name", "k"), ("key_secret", "not base64!")],
                "not a base64",
            ),
            (
                &[
                    ("key_name", "k"),
                    ("key_secret", "c2VjcmV0"),
                    ("algorithm", "md5"),
                ],
                "not a supported TSIG algorithm",
            ),
        ];
        for (pairs, want) in cases {
            let all: Vec<(&str, &str)> = base.iter().chain(pairs.iter()).copied().collect();
            let message = invalid(Settings::from_lookup(lookup(&all)));
            assert!(message.contains(want), "{pairs:?}: {message}");
            assert!(
                !message.contains("not base64!"),
                "the secret leaked: {message}"
            );
        }
    }
}
