//! Revocation signed by the certificate's own key (RFC 8555 §7.6), for when the account that
//! got the certificate is lost, or the key leaked and whoever holds it should not keep a valid
//! certificate.
//!
//! instant-acme signs every request with the account key and its `kid`; this request is the
//! one ACME request signed with another key, so acmebox builds its JWS here (RFC 7515, the
//! flattened JSON serialization): the protected header carries `alg`, the certificate key's
//! public `jwk`, the `nonce` and the `url`, and the signature is ring's, over
//! `BASE64URL(protected) || '.' || BASE64URL(payload)`. Keys: ECDSA P-256 (ES256) and P-384
//! (ES384), RSA (RS256), as PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`, as lego writes
//! them) or PKCS#1 (`RSA PRIVATE KEY`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use instant_acme::{BodyWrapper, HttpClient};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;

use crate::account::{AccountOptions, RevocationReason, USER_AGENT, fetch_directory, http_client};
use crate::{Error, Result};

/// A certificate's private key, ready to sign a JWS.
enum CertificateKey {
    Ec {
        key: EcdsaKeyPair,
        alg: &'static str,
        crv: &'static str,
    },
    Rsa(RsaKeyPair),
}

/// DER of the algorithm identifiers a SEC1 key is wrapped in: id-ecPublicKey and the curve.
const EC_PUBLIC_KEY_OID: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// One DER element: `tag`, its length, `content`.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEC1 `ECPrivateKey` wrapped as the PKCS#8 `PrivateKeyInfo` ring reads (RFC 5915 §3,
/// RFC 5208 §5), for the curve whose OID is `curve`.
fn sec1_as_pkcs8(sec1: &[u8], curve: &[u8]) -> Vec<u8> {
    let algorithm = der(0x30, &[EC_PUBLIC_KEY_OID, curve].concat());
    let body = [&[0x02, 0x01, 0x00][..], &algorithm, &der(0x04, sec1)].concat();
    der(0x30, &body)
}

impl CertificateKey {
    fn from_pem(pem: &[u8]) -> std::result::Result<Self, String> {
        let rng = SystemRandom::new();
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|err| {
            format!("it holds no PEM private key ({err}); give the certificate's key.pem")
        })?;
        let ec = |pkcs8: &[u8]| {
            [
                (
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    "ES256",
                    "P-256",
                ),
                (
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                    "ES384",
                    "P-384",
                ),
            ]
            .into_iter()
            .find_map(|(algorithm, alg, crv)| {
                EcdsaKeyPair::from_pkcs8(algorithm, pkcs8, &rng)
                    .ok()
                    .map(|key| CertificateKey::Ec { key, alg, crv })
            })
        };
        let unsupported = "only ECDSA P-256 and P-384 and RSA keys can sign the request";
        match key {
            PrivateKeyDer::Pkcs8(der) => ec(der.secret_pkcs8_der())
                .or_else(|| {
                    RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
                        .ok()
                        .map(CertificateKey::Rsa)
                })
                .ok_or_else(|| unsupported.to_owned()),
            PrivateKeyDer::Sec1(der) => [P256_OID, P384_OID]
                .into_iter()
                .find_map(|curve| ec(&sec1_as_pkcs8(der.secret_sec1_der(), curve)))
                .ok_or_else(|| unsupported.to_owned()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der())
                .map(CertificateKey::Rsa)
                .map_err(|err| format!("the RSA key is unusable: {err}")),
            _ => Err(unsupported.to_owned()),
        }
    }

    /// The public key as the certificate's SubjectPublicKeyInfo holds it: the uncompressed
    /// point for EC, the DER `RSAPublicKey` for RSA.
    fn public_key(&self) -> &[u8] {
        match self {
            CertificateKey::Ec { key, .. } => key.public_key().as_ref(),
            CertificateKey::Rsa(key) => key.public_key().as_ref(),
        }
    }

    fn alg(&self) -> &'static str {
        match self {
            CertificateKey::Ec { alg, .. } => alg,
            CertificateKey::Rsa(_) => "RS256",
        }
    }

    /// The public JWK (RFC 7517, RFC 7518 §6).
    fn jwk(&self) -> serde_json::Value {
        match self {
            CertificateKey::Ec { key, crv, .. } => {
                // The uncompressed point: 0x04, x, y.
                let point = &key.public_key().as_ref()[1..];
                let (x, y) = point.split_at(point.len() / 2);
                json!({"crv": crv, "kty": "EC", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)})
            }
            CertificateKey::Rsa(key) => {
                let public: signature::RsaPublicKeyComponents<Vec<u8>> = key.public().into();
                json!({
                    "e": URL_SAFE_NO_PAD.encode(&public.e),
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(&public.n),
                })
            }
        }
    }

    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        match self {
            CertificateKey::Ec { key, .. } => Ok(key.sign(&rng, message)?.as_ref().to_vec()),
            CertificateKey::Rsa(key) => {
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut signature)?;
                Ok(signature)
            }
        }
    }

    /// The flattened JWS of `payload` for `url` with `nonce`, the key given as `jwk`.
    fn jws(&self, url: &str, nonce: &str, payload: &serde_json::Value) -> Result<Vec<u8>> {
        let protected = json!({"alg": self.alg(), "jwk": self.jwk(), "nonce": nonce, "url": url});
        let protected = URL_SAFE_NO_PAD.encode(protected.to_string());
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signature = self
            .sign(format!("{protected}.{payload}").as_bytes())
            .map_err(|_| Error::Revocation {
                reason: "signing with the certificate's key failed".into(),
            })?;
        Ok(json!({
            "protected": protected,
            "payload": payload,
            "signature": URL_SAFE_NO_PAD.encode(signature),
        })
        .to_string()
        .into_bytes())
    }
}

/// Revokes the certificate in `cert_pem` with a request signed by its own private key,
/// `key_pem`, at the server of `options` (its directory and trust anchors; no account is
/// used or needed). The key is checked against the certificate before anything is sent.
pub async fn revoke_with_certificate_key(
    options: &AccountOptions,
    cert_pem: &str,
    key_pem: &[u8],
    reason: Option<RevocationReason>,
) -> Result<()> {
    let der = crate::account::certificate_der(cert_pem)?;
    let key = CertificateKey::from_pem(key_pem).map_err(|reason| Error::Revocation {
        reason: format!("the key file: {reason}"),
    })?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|err| Error::Revocation {
        reason: format!("the certificate does not parse: {err}"),
    })?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key() {
        return Err(Error::Revocation {
            reason: "the key file does not hold the certificate's private key: give the key.pem \
                     that was issued with it"
                .into(),
        });
    }

    let http = http_client(options)?;
    let directory = fetch_directory(http.as_ref(), options).await?;
    let url_of = |name: &str| {
        directory[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| problem(options, None, format!("the directory has no `{name}`")))
    };
    let (new_nonce, revoke_cert) = (url_of("newNonce")?, url_of("revokeCert")?);
    let mut payload = json!({ "certificate": URL_SAFE_NO_PAD.encode(&der) });
    if let Some(reason) = reason {
        payload["reason"] = json!(reason.code());
    }

    let mut nonce = fresh_nonce(http.as_ref(), options, &new_nonce).await?;
    // A server may refuse a nonce it no longer knows (`badNonce`) and hand a new one: one retry.
    for attempt in 0..2 {
        let request = http::Request::post(revoke_cert.as_str())
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(http::header::CONTENT_TYPE, "application/jose+json")
            .body(BodyWrapper::from(key.jws(
                &revoke_cert,
                &nonce,
                &payload,
            )?))
            .map_err(|err| problem(options, None, err.to_string()))?;
        let mut response = http
            .request(request)
            .await
            .map_err(|err| problem(options, None, crate::issue::error_chain(&err)))?;
        if response.parts.status.is_success() {
            return Ok(());
        }
        let next_nonce = replay_nonce(&response.parts);
        let body = response.body.into_bytes().await.unwrap_or_default();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let problem_type = answer["type"].as_str().map(str::to_owned);
        let detail = answer["detail"].as_str().map_or_else(
            || format!("it answered {}", response.parts.status),
            str::to_owned,
        );
        match next_nonce {
            Some(next)
                if attempt == 0
                    && problem_type
                        .as_deref()
                        .is_some_and(|t| t.ends_with(":badNonce")) =>
            {
                nonce = next;
            }
            _ => return Err(problem(options, problem_type, detail)),
        }
    }
    unreachable!("the loop returns on its second attempt")
}

fn problem(options: &AccountOptions, problem_type: Option<String>, detail: String) -> Error {
    Error::Acme {
        directory: options.directory().to_owned(),
        action: "revoke the certificate with its own key",
        problem_type,
        detail,
        hint: None,
    }
}

fn replay_nonce(parts: &http::response::Parts) -> Option<String> {
    parts
        .headers
        .get("replay-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A nonce from the server's `newNonce` (RFC 8555 §7.2).
async fn fresh_nonce(
    http: &dyn HttpClient,
    options: &AccountOptions,
    new_nonce: &str,
) -> Result<String> {
    let request = http::Request::head(new_nonce)
        .header(http::header::USER_AGENT, USER_AGENT)
        .body(BodyWrapper::from(Vec::new()))
        .map_err(|err| problem(options, None, err.to_string()))?;
    let response = http
        .request(request)
        .await
        .map_err(|err| problem(options, None, crate::issue::error_chain(&err)))?;
    replay_nonce(&response.parts).ok_or_else(|| {
        problem(
            options,
            None,
            "newNonce answered without a Replay-Nonce".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 key made by `openssl ecparam -genkey -name prime256v1 -noout` (SEC1, with the
    /// curve and the public key inside, as lego and Go's x509 write them), and the same key
    /// converted by `openssl pkcs8 -topk8 -nocrypt`.
    const SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIB92lbcOpYg5x8KDJY3H2SvstN1dGBSCGW0bn1PvWXaxoAoGCCqGSM49
AwEHoUQDQgAEsMsu+pDvEMFineMz6G7NUE1ViooMUgaOh33K+xGM442zBUxgCUWs
4Ayk6NpWDiq6eZ+4kz2zFx+A8SqREmrJAg==
-----END EC PRIVATE KEY-----
";
    const PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgH3aVtw6liDnHwoMl
jcfZK+y03V0YFIIZbRufU+9ZdrGhRANCAASwyy76kO8QwWKd4zPobs1QTVWKigxS
Bo6Hfcr7EYzjjbMFTGAJRazgDKTo2lYOKrp5n7iTPbMXH4DxKpESaskC
-----END PRIVATE KEY-----
";

    #[test]
    fn a_sec1_key_reads_as_the_same_key_as_its_pkcs8_form() {
        let sec1 = CertificateKey::from_pem(SEC1.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let pkcs8 = CertificateKey::from_pem(PKCS8.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sec1.public_key(), pkcs8.public_key());
        assert_eq!(sec1.jwk(), pkcs8.jwk());
        assert_eq!(sec1.alg(), "ES256");
        assert_eq!(sec1.jwk()["crv"], "P-256");
    }

    #[test]
    fn the_jws_verifies_with_the_jwk_in_its_header() {
        let key = CertificateKey::from_pem(SEC1.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let jws: serde_json::Value = serde_json::from_slice(
            &key.jws(
                "https://ca.test/revoke",
                "nonce-1",
                &json!({"certificate": "AA"}),
            )
            .expect("jws"),
        )
        .expect("JSON");
        let decode = |field: &str| {
            URL_SAFE_NO_PAD
                .decode(jws[field].as_str().expect(field))
                .expect("base64url")
        };
        let protected: serde_json::Value =
            serde_json::from_slice(&decode("protected")).expect("header JSON");
        assert_eq!(protected["alg"], "ES256");
        assert_eq!(protected["url"], "https://ca.test/revoke");
        assert_eq!(protected["nonce"], "nonce-1");
        assert!(
            protected.get("kid").is_none(),
            "signed by jwk, not by an account"
        );
        let x = URL_SAFE_NO_PAD
            .decode(protected["jwk"]["x"].as_str().expect("x"))
            .expect("x");
        let y = URL_SAFE_NO_PAD
            .decode(protected["jwk"]["y"].as_str().expect("y"))
            .expect("y");
        let point = [&[0x04][..], &x, &y].concat();
        let signed = format!(
            "{}.{}",
            jws["protected"].as_str().expect("protected"),
            jws["payload"].as_str().expect("payload")
        );
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
            .verify(signed.as_bytes(), &decode("signature"))
            .expect("the signature verifies with the header's key");
        let mut tampered = decode("signature");
        tampered[0] ^= 1;
        assert!(
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                .verify(signed.as_bytes(), &tampered)
                .is_err()
        );
    }

    #[test]
    fn long_der_lengths_use_the_long_form() {
        assert_eq!(der(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }

    #[test]
    fn text_that_is_not_a_key_says_what_to_give() {
        let err = CertificateKey::from_pem(b"hello").err().expect("refused");
        assert!(err.contains("key.pem"), "{err}");
    }
}
