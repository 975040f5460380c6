//! Cross-checks acmebox against acmeow, the Python ACME library used as reference peer.
//!
//! `tests/data/acmeow-vectors.json` holds, for ~30 identifiers and key authorizations, what
//! acmeow 1.2.0 computes for DNS-01 (RFC 8555 §8.4) and TLS-ALPN-01 (RFC 8737 §3), next to
//! what the RFCs call for. `scripts/acmeow-vectors.py` writes it.
//!
//! Where acmeow follows the RFCs, acmebox must produce exactly acmeow's output. Where the file
//! flags an `acmeow_quirk` (IDN names left in Unicode, letter case kept, `*.` kept in the DNS
//! record name, IP addresses given DNS-01 records or dNSName SANs, ...), acmebox must follow
//! the RFC instead, and the test checks that it indeed differs from acmeow there.

use std::net::IpAddr;

use acmebox_challenge::dns01::{self, Dns01Record, TxtValue};
use acmebox_challenge::tls_alpn01::{self, CertificateKey, CertificateOptions, KeyType};
use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
use serde::Deserialize;
use x509_parser::extensions::GeneralName;

const VECTORS: &str = include_str!("data/acmeow-vectors.json");

#[derive(Debug, Deserialize)]
struct Vectors {
    acmeow_version: String,
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    identifier: String,
    key_authorization: String,
    acmeow: Sides,
    rfc: Sides,
}

#[derive(Debug, Deserialize)]
struct Sides {
    dns01: Dns01Outcome,
    tls_alpn01: TlsAlpn01Outcome,
}

/// One side's DNS-01 outcome: a record, a refusal (RFC) or an error (acmeow).
#[derive(Debug, Deserialize)]
struct Dns01Outcome {
    record_name: Option<String>,
    record_value: Option<String>,
    refused: Option<String>,
    error: Option<String>,
    acmeow_quirk: Option<String>,
}

impl Dns01Outcome {
    /// The record as (absolute name, value); acmeow writes names without the trailing dot.
    fn record(&self) -> Option<(String, &str)> {
        let name = self.record_name.as_deref()?;
        let value = self.record_value.as_deref()?;
        let absolute = if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        };
        Some((absolute, value))
    }
}

/// One side's TLS-ALPN-01 outcome: the certificate's acmeIdentifier extension and
/// subjectAltNames, a refusal (RFC) or an error (acmeow).
#[derive(Debug, Deserialize)]
struct TlsAlpn01Outcome {
    acme_identifier_hex: Option<String>,
    critical: Option<bool>,
    subject_alt_names: Option<Vec<San>>,
    refused: Option<String>,
    error: Option<String>,
    acmeow_quirk: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum San {
    Dns(String),
    Ip(IpAddr),
    Other(String),
}

/// What acmebox's certificate carries, in the vectors' terms.
#[derive(Debug, PartialEq, Eq)]
struct CertFacts {
    acme_identifier_hex: String,
    critical: bool,
    subject_alt_names: Vec<San>,
}

impl TlsAlpn01Outcome {
    fn facts(&self) -> Option<CertFacts> {
        Some(CertFacts {
            acme_identifier_hex: self.acme_identifier_hex.clone()?,
            critical: self.critical?,
            subject_alt_names: self.subject_alt_names.clone()?,
        })
    }
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("tests/data/acmeow-vectors.json is valid JSON")
}

/// acmebox's DNS-01 answer for a row: `Ok((fqdn, value))` or the refusal message.
fn acmebox_dns01(v: &Vector) -> Result<(String, String), String> {
    let ka = KeyAuthorization::parse(&v.key_authorization).map_err(|e| e.to_string())?;
    let id = Identifier::parse(&v.identifier).map_err(|e| e.to_string())?;
    let record = Dns01Record::new(&id, &ka).map_err(|e| e.to_string())?;
    // The free function and the record type must agree on the name.
    let name = dns01::record_name(&v.identifier).map_err(|e| e.to_string())?;
    assert_eq!(
        name,
        record.fqdn(),
        "{}: record_name vs Dns01Record",
        v.identifier
    );
    assert_eq!(
        TxtValue::new(&ka),
        *record.value(),
        "{}: TxtValue vs Dns01Record",
        v.identifier
    );
    Ok((record.fqdn().to_owned(), record.value().as_str().to_owned()))
}

#[test]
fn dns01_matches_acmeow_where_acmeow_follows_rfc_8555() {
    let vectors = vectors();
    let mut failures = Vec::new();
    let mut quirks = 0;
    for v in &vectors.vectors {
        let ours = acmebox_dns01(v);
        let theirs = &v.acmeow.dns01;
        let rfc = &v.rfc.dns01;

        // Against the RFC, on every row.
        match (&ours, rfc.record(), &rfc.refused) {
            (Ok((name, value)), Some((want_name, want_value)), _) => {
                if *name != want_name || value != want_value {
                    failures.push(format!(
                        "{:?}: acmebox gives ({name}, {value}), RFC 8555 §8.4 wants ({want_name}, {want_value})",
                        v.identifier
                    ));
                }
            }
            (Err(_), None, Some(_)) => {}
            (ours, _, refused) => failures.push(format!(
                "{:?}: acmebox gives {ours:?}, the RFC column says {:?} / refused {refused:?}",
                v.identifier,
                rfc.record()
            )),
        }

        // Against acmeow: equal unless the row documents an acmeow quirk.
        match &theirs.acmeow_quirk {
            None => match (&ours, theirs.record()) {
                (Ok((name, value)), Some((their_name, their_value))) => {
                    if *name != their_name || value != their_value {
                        failures.push(format!(
                            "{:?}: acmebox gives ({name}, {value}), acmeow {} gives ({their_name}, {their_value})",
                            v.identifier, vectors.acmeow_version
                        ));
                    }
                }
                (Err(_), None) if theirs.error.is_some() => {}
                (ours, theirs_record) => failures.push(format!(
                    "{:?}: acmebox gives {ours:?}, acmeow gives {theirs_record:?} / error {:?}",
                    v.identifier, theirs.error
                )),
            },
            Some(quirk) => {
                quirks += 1;
                let same = match (&ours, theirs.record()) {
                    (Ok((name, value)), Some((their_name, their_value))) => {
                        *name == their_name && value == their_value
                    }
                    (Err(_), None) => true,
                    _ => false,
                };
                if same {
                    failures.push(format!(
                        "{:?}: flagged as an acmeow quirk ({quirk}) yet acmebox gives the same answer; regenerate the vectors or fix the flag",
                        v.identifier
                    ));
                }
            }
        }
    }
    assert!(quirks > 0, "the vectors flag no acmeow quirk for DNS-01");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// acmebox's TLS-ALPN-01 certificate for a row, parsed back with x509-parser.
fn acmebox_tls_alpn01(v: &Vector, options: &CertificateOptions) -> Result<CertFacts, String> {
    let ka = KeyAuthorization::parse(&v.key_authorization).map_err(|e| e.to_string())?;
    let id = Identifier::parse(&v.identifier).map_err(|e| e.to_string())?;
    let cert = tls_alpn01::generate(&id, &ka, options).map_err(|e| e.to_string())?;
    let (rest, parsed) = x509_parser::parse_x509_certificate(cert.cert_der())
        .map_err(|e| format!("x509-parser cannot parse our certificate: {e}"))?;
    assert!(
        rest.is_empty(),
        "{}: trailing bytes after the certificate",
        v.identifier
    );

    let acme_oid = tls_alpn01::ACME_IDENTIFIER_OID
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let matching: Vec<_> = parsed
        .extensions()
        .iter()
        .filter(|ext| ext.oid.to_id_string() == acme_oid)
        .collect();
    let [ext] = matching[..] else {
        return Err(format!("{} acmeIdentifier extensions", matching.len()));
    };
    assert_eq!(
        ext.value,
        tls_alpn01::acme_identifier_value(&ka),
        "{}: extension vs acme_identifier_value",
        v.identifier
    );

    let san = parsed
        .subject_alternative_name()
        .map_err(|e| format!("bad subjectAltName: {e}"))?
        .ok_or("no subjectAltName")?;
    let subject_alt_names = san
        .value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => San::Dns((*dns).to_owned()),
            GeneralName::IPAddress([a, b, c, d]) => San::Ip(IpAddr::from([*a, *b, *c, *d])),
            GeneralName::IPAddress(bytes) => match <[u8; 16]>::try_from(*bytes) {
                Ok(v6) => San::Ip(IpAddr::from(v6)),
                Err(_) => San::Other(format!("{name:?}")),
            },
            other => San::Other(format!("{other:?}")),
        })
        .collect();
    Ok(CertFacts {
        acme_identifier_hex: hex(ext.value),
        critical: ext.critical,
        subject_alt_names,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn tls_alpn01_acme_identifier_matches_acmeow() {
    let vectors = vectors();
    // One reused key keeps the test fast; the first row also gets a fresh key.
    let key = CertificateKey::generate(KeyType::P256).expect("P-256 key generation works");
    let reused = CertificateOptions::default().with_key(key);
    let mut failures = Vec::new();
    let mut quirks = 0;
    for (i, v) in vectors.vectors.iter().enumerate() {
        let options = if i == 0 {
            CertificateOptions::default()
        } else {
            reused.clone()
        };
        let ours = acmebox_tls_alpn01(v, &options);
        let theirs = &v.acmeow.tls_alpn01;
        let rfc = &v.rfc.tls_alpn01;

        // Against the RFC, on every row.
        match (&ours, rfc.facts(), &rfc.refused) {
            (Ok(ours), Some(want), _) => {
                if *ours != want {
                    failures.push(format!(
                        "{:?}: acmebox's certificate has {ours:?}, RFC 8737 §3 wants {want:?}",
                        v.identifier
                    ));
                }
            }
            (Err(_), None, Some(_)) => {
                // Refused by generate; the challenge itself must be refused too.
                let ka = KeyAuthorization::parse(&v.key_authorization).expect("valid");
                let id = Identifier::parse(&v.identifier).expect("valid identifier");
                if Challenge::new(ChallengeType::TlsAlpn01, id, ka).is_ok() {
                    failures.push(format!(
                        "{:?}: a tls-alpn-01 challenge is accepted although the RFC column refuses it",
                        v.identifier
                    ));
                }
            }
            (ours, want, refused) => failures.push(format!(
                "{:?}: acmebox gives {ours:?}, the RFC column says {want:?} / refused {refused:?}",
                v.identifier
            )),
        }

        // Against acmeow: the acmeIdentifier extension wherever acmeow made a certificate for
        // a name acmebox accepts (its quirks are elsewhere: names, SANs, refusals) ...
        if let (Ok(ours), Some(theirs_facts)) = (&ours, theirs.facts())
            && (&ours.acme_identifier_hex, ours.critical)
                != (&theirs_facts.acme_identifier_hex, theirs_facts.critical)
        {
            failures.push(format!(
                "{:?}: acmeIdentifier {} (critical {}), acmeow {} has {} (critical {})",
                v.identifier,
                ours.acme_identifier_hex,
                ours.critical,
                vectors.acmeow_version,
                theirs_facts.acme_identifier_hex,
                theirs_facts.critical
            ));
        }
        // ... and everything, SANs included, where no quirk is flagged.
        match &theirs.acmeow_quirk {
            None => match (&ours, theirs.facts()) {
                (Ok(ours), Some(theirs_facts)) if *ours == theirs_facts => {}
                (Err(_), None) if theirs.error.is_some() => {}
                (ours, theirs_facts) => failures.push(format!(
                    "{:?}: acmebox gives {ours:?}, acmeow gives {theirs_facts:?} / error {:?}",
                    v.identifier, theirs.error
                )),
            },
            Some(quirk) => {
                quirks += 1;
                let same = match (&ours, theirs.facts()) {
                    (Ok(ours), Some(theirs_facts)) => *ours == theirs_facts,
                    (Err(_), None) => true,
                    _ => false,
                };
                if same {
                    failures.push(format!(
                        "{:?}: flagged as an acmeow quirk ({quirk}) yet acmebox gives the same answer; regenerate the vectors or fix the flag",
                        v.identifier
                    ));
                }
            }
        }
    }
    assert!(
        quirks > 0,
        "the vectors flag no acmeow quirk for TLS-ALPN-01"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vectors_cover_the_cases_that_matter() {
    let vectors = vectors();
    assert!(!vectors.acmeow_version.is_empty());
    let ids: Vec<&str> = vectors
        .vectors
        .iter()
        .map(|v| v.identifier.as_str())
        .collect();
    assert!(ids.len() >= 25, "only {} vectors", ids.len());
    let covers = |what: &str, f: &dyn Fn(&str) -> bool| {
        assert!(ids.iter().any(|id| f(id)), "no vector with {what}");
    };
    covers("upper case", &|id| id.chars().any(|c| c.is_uppercase()));
    covers("a trailing dot", &|id| id.ends_with('.'));
    covers("a wildcard", &|id| id.starts_with("*."));
    covers("an IDN", &|id| !id.is_ascii());
    covers("an IP address", &|id| id.parse::<IpAddr>().is_ok());
    for v in &vectors.vectors {
        let (token, thumbprint) = v
            .key_authorization
            .split_once('.')
            .expect("key authorizations are token.thumbprint");
        assert_eq!(
            (token.len(), thumbprint.len()),
            (43, 43),
            "{}",
            v.identifier
        );
    }
}
