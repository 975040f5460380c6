//! Feeds text to the parsers of ACME identifiers, DNS-01 record names, host names, tokens and
//! key authorizations (`acmebox_challenge`).
//!
//! Input: the text itself.
//!
//! Checks: no panic; whatever parses is normalised to a form that parses back to itself; an
//! accepted DNS name is valid UTS 46 and its Unicode form (ToUnicode) normalises back to it, so
//! a name given in ASCII is held to the rules of one given in Unicode; a record name exists
//! exactly for DNS identifiers; a key authorization never shows in its
//! `Debug`, and the error for one that does not parse quotes nothing of it.
#![cfg_attr(fuzzing, no_main)]

use acmebox_challenge::{Identifier, KeyAuthorization, Token, dns01, normalize_domain};
use acmebox_fuzz::rotate;

fn check(input: &str) {
    if let Ok(id) = Identifier::parse(input) {
        let printed = id.to_string();
        let again = Identifier::parse(&printed).unwrap_or_else(|err| {
            panic!("{input:?} normalises to {printed:?}, which fails: {err}")
        });
        assert_eq!(again, id, "{input:?} -> {printed:?}");
        let base = id.base_name();
        assert!(!base.starts_with("*."), "{base:?}");
        if let Identifier::Dns(name) = &id {
            assert_eq!(name, &name.to_ascii_lowercase(), "{input:?}");
            assert!(!name.ends_with('.'), "{name:?}");
            assert_eq!(normalize_domain(&base).ok().as_deref(), Some(base.as_str()));
            same_in_unicode(&base);
        }
    }
    if let Ok(name) = normalize_domain(input) {
        assert_eq!(
            normalize_domain(&name).ok().as_deref(),
            Some(name.as_str()),
            "{input:?}"
        );
        assert_eq!(
            Identifier::parse(input).ok(),
            Some(Identifier::Dns(name.clone())),
            "{input:?}"
        );
    }
    match (dns01::record_name(input), Identifier::parse(input)) {
        (Ok(name), Ok(id)) => {
            let from_normalised = dns01::record_name(&id.to_string())
                .unwrap_or_else(|err| panic!("{input:?} -> {id}: {err}"));
            assert_eq!(name, from_normalised, "{input:?}");
            assert!(
                name.starts_with("_acme-challenge.") && name.ends_with('.'),
                "{name:?}"
            );
            assert!(name.len() <= 254, "{name:?}");
        }
        (Ok(name), Err(err)) => {
            panic!("{input:?} has record name {name:?} but no identifier: {err}")
        }
        (Err(_), Ok(id)) => assert!(
            id.is_ip() || id.base_name().len() > 253 - "_acme-challenge.".len(),
            "{input:?} is an identifier without a record name"
        ),
        (Err(_), Err(_)) => {}
    }
    if let Ok(token) = Token::new(input) {
        assert_eq!(token.as_str(), input);
        assert_eq!(Token::new(token.as_str()).ok(), Some(token.clone()));
        assert!(!token.as_str().contains(['/', '.']), "{token:?}");
    }
    let rotated = rotate(input);
    match KeyAuthorization::parse(input) {
        Ok(ka) => {
            let again =
                KeyAuthorization::parse(ka.as_str()).expect("a key authorization re-parses");
            assert_eq!(again, ka);
            assert_eq!(format!("{}.{}", ka.token(), ka.thumbprint()), ka.as_str());
            assert_eq!(ka.as_str(), input);
            assert_eq!(format!("{ka:?}"), "KeyAuthorization(..)");
            assert!(KeyAuthorization::parse(&rotated).is_ok(), "{rotated:?}");
        }
        Err(err) => {
            // The verdict depends on lengths and character classes only, so the rotated text
            // fails the same way; a message that quoted its input would differ.
            let other = KeyAuthorization::parse(&rotated)
                .err()
                .unwrap_or_else(|| panic!("{rotated:?} parses, {input:?} does not"));
            assert_eq!(
                err.to_string(),
                other.to_string(),
                "a key authorization error quotes its input"
            );
        }
    }
}

/// `name`, accepted in its ASCII form, is valid UTS 46 (with _CheckHyphens_), and its Unicode
/// form is the same name.
fn same_in_unicode(name: &str) {
    use idna::uts46::{AsciiDenyList, Hyphens, Uts46};
    let (unicode, valid) =
        Uts46::new().to_unicode(name.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    assert!(
        valid.is_ok(),
        "{name:?} was accepted but UTS 46 finds it invalid"
    );
    assert_eq!(
        normalize_domain(&unicode).ok().as_deref(),
        Some(name),
        "{name:?} is {unicode:?} in Unicode, which does not normalise back"
    );
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|input: &str| check(input));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    acmebox_fuzz::replay(|bytes| acmebox_fuzz::with_input(bytes, check))
}
