//! Computes the responses to the three ACME challenges for one token, natively: the DNS-01
//! TXT record, the HTTP-01 resource and the TLS-ALPN-01 certificate.
//!
//! It needs only `acmebox-challenge` (no wasmtime, no ACME client):
//!
//! ```text
//! cargo run -p acmebox-examples --example challenge_responses -- example.com
//! ```

use acmebox_challenge::tls_alpn01::{CertificateOptions, generate};
use acmebox_challenge::{Identifier, Jwk, KeyAuthorization, Token, dns01, http01};

/// The account key's public JWK, as an ACME client holds it (RFC 7517).
const ACCOUNT_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

/// A challenge token, as the ACME server sends it (RFC 8555 §8.1).
const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";

fn main() -> Result<(), acmebox_challenge::Error> {
    let domain = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "example.com".to_owned());
    let identifier = Identifier::parse(&domain)?;

    // The key authorization binds the token to the account key (RFC 8555 §8.1).
    let jwk = Jwk::from_json(ACCOUNT_JWK)?;
    let token = Token::new(TOKEN)?;
    let key_authorization = KeyAuthorization::new(&token, &jwk.thumbprint());

    // DNS-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<domain>.
    let record = dns01::Dns01Record::new(&identifier, &key_authorization)?;
    println!(
        "dns-01      {} TXT \"{}\"",
        record.fqdn(),
        record.value().as_str()
    );

    // HTTP-01 (RFC 8555 §8.3): a file under /.well-known/acme-challenge/.
    let body = http01::body(&key_authorization);
    println!(
        "http-01     GET {} -> {} bytes",
        http01::path(&token),
        body.len()
    );

    // TLS-ALPN-01 (RFC 8737): a self-signed certificate with the acmeIdentifier extension.
    let certificate = generate(
        &identifier,
        &key_authorization,
        &CertificateOptions::default(),
    )?;
    println!(
        "tls-alpn-01 certificate for {} valid until {}, key {}",
        certificate.identifier(),
        certificate.not_after(),
        certificate.key().key_type().as_str()
    );
    Ok(())
}
