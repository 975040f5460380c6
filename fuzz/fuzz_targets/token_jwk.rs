//! Feeds JSON Web Keys, tokens and thumbprints to `acmebox_challenge` and builds key
//! authorizations and DNS-01 / HTTP-01 responses from what parses.
//!
//! Input: the first line is a token (and a thumbprint candidate), the rest a JWK's JSON text.
//!
//! Checks: no panic; a parsed JWK written back as JSON (members reordered, private and extra
//! members added) parses to the same key and thumbprint; a thumbprint is 43 base64url
//! characters; a key authorization made from a token and a thumbprint parses back to itself and
//! yields a 43-character TXT value; an error about a private JWK never quotes its private part.
#![cfg_attr(fuzzing, no_main)]

use acmebox_challenge::dns01::{Dns01Record, TxtValue};
use acmebox_challenge::{Identifier, Jwk, KeyAuthorization, Thumbprint, Token, http01};
use acmebox_fuzz::shows;
use serde_json::{Value, json};

fn check(input: &str) {
    let (first, json) = input.split_once('\n').unwrap_or((input, ""));
    if let Ok(thumbprint) = Thumbprint::parse(first) {
        assert_eq!(thumbprint.as_str(), first);
        assert_eq!(thumbprint.to_string(), first);
    }
    match Jwk::from_json(json) {
        Ok(jwk) => parsed(&jwk, Token::new(first).ok()),
        Err(err) => private_part_stays_hidden(json, &err.to_string()),
    }
}

fn parsed(jwk: &Jwk, token: Option<Token>) {
    let thumbprint = jwk.thumbprint();
    assert!(is_base64url(thumbprint.as_str(), 43), "{thumbprint:?}");
    assert_eq!(
        Thumbprint::parse(thumbprint.as_str()).ok().as_ref(),
        Some(&thumbprint)
    );

    // Member order, private members and extra members change neither the key nor its thumbprint.
    let private = "nZ0e8P1dBlQw3XhQ0m9kN7qYtV2rS5uI4oJ6aL8cE1g";
    let mut value = match jwk {
        Jwk::Ec { crv, x, y } => json!({"y": y, "x": x, "crv": crv, "kty": "EC", "d": private}),
        Jwk::Rsa { n, e } => json!({"e": e, "kty": "RSA", "n": n, "d": private, "p": private}),
        Jwk::Okp { crv, x } => json!({"x": x, "kty": "OKP", "crv": crv, "d": private}),
    };
    if let Value::Object(map) = &mut value {
        map.insert("kid".into(), json!("fuzz"));
        map.insert("alg".into(), json!("ES256"));
        map.insert("use".into(), json!("sig"));
    }
    let again = Jwk::from_json(&value.to_string())
        .unwrap_or_else(|err| panic!("{jwk:?} written as {value} fails: {err}"));
    assert_eq!(&again, jwk);
    assert_eq!(again.thumbprint(), thumbprint);

    let Some(token) = token else { return };
    let ka = KeyAuthorization::new(&token, &thumbprint);
    assert_eq!(
        KeyAuthorization::parse(ka.as_str()).ok().as_ref(),
        Some(&ka)
    );
    assert_eq!(ka.token(), token);
    assert_eq!(ka.thumbprint(), thumbprint.as_str());
    assert_eq!(http01::body(&ka), ka.as_str());
    assert_eq!(
        http01::path(&token),
        format!("/.well-known/acme-challenge/{token}")
    );
    let value = TxtValue::new(&ka);
    assert!(is_base64url(value.as_str(), 43), "{value:?}");
    let identifier = Identifier::parse("*.example.com").expect("a valid identifier");
    let record = Dns01Record::new(&identifier, &ka).expect("a DNS-01 record for a DNS name");
    assert_eq!(record.value(), &value);
    assert_eq!(record.fqdn(), "_acme-challenge.example.com.");
    assert!(!format!("{record:?}").contains(ka.as_str()));
}

/// A private JWK is passed as it is, so its `d` must not come back in an error (unless a
/// public member spells it out too).
fn private_part_stays_hidden(json: &str, message: &str) {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(json) else {
        return;
    };
    let Some(Value::String(d)) = map.get("d") else {
        return;
    };
    if d.len() < 24
        || !d
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return;
    }
    let elsewhere = map
        .iter()
        .any(|(name, v)| name.contains(d.as_str()) || name != "d" && shows(&v.to_string(), d));
    if !elsewhere {
        assert!(
            !shows(message, d),
            "the error quotes the private key: {message}"
        );
    }
}

fn is_base64url(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|input: &str| check(input));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    acmebox_fuzz::replay(|bytes| acmebox_fuzz::with_input(bytes, check))
}
