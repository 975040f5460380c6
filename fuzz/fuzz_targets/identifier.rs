//! Feeds arbitrary text to the parsers of ACME identifiers, tokens and key authorizations.
//!
//! Never panics; whatever parses is normalised to a form that parses back to itself.
#![no_main]

use acmebox_challenge::{Identifier, KeyAuthorization, Token, dns01};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(id) = Identifier::parse(input) {
        let printed = id.to_string();
        let again = Identifier::parse(&printed)
            .unwrap_or_else(|err| panic!("{input:?} normalises to {printed:?}, which fails: {err}"));
        assert_eq!(again, id, "{input:?} -> {printed:?}");
        let _ = id.base_name();
    }
    match (dns01::record_name(input), Identifier::parse(input)) {
        (Ok(name), Ok(id)) => {
            let from_normalised = dns01::record_name(&id.to_string())
                .unwrap_or_else(|err| panic!("{input:?} -> {id}: {err}"));
            assert_eq!(name, from_normalised, "{input:?}");
            assert!(name.starts_with("_acme-challenge.") && name.ends_with('.'), "{name:?}");
        }
        (Ok(name), Err(err)) => panic!("{input:?} has record name {name:?} but no identifier: {err}"),
        _ => {}
    }
    if let Ok(token) = Token::new(input) {
        assert_eq!(Token::new(token.as_str()).ok(), Some(token.clone()));
        assert_eq!(token.as_str(), input);
    }
    if let Ok(ka) = KeyAuthorization::parse(input) {
        let again = KeyAuthorization::parse(ka.as_str()).expect("a key authorization re-parses");
        assert_eq!(again, ka);
        assert_eq!(format!("{}.{}", ka.token(), ka.thumbprint()), ka.as_str());
    }
});
