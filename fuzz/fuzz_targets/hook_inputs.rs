//! Feeds the arguments of lego's exec hook and the environment of certbot's manual hooks to
//! `acmebox_hooks::{lego, certbot}` and checks the requests they make.
//!
//! Input: two paragraphs (separated by an empty line): lego's arguments, one a line; then
//! certbot's environment, one `NAME=value` a line.
//!
//! Checks: no panic; lego's arguments parse exactly in its two shapes and keep every value as
//! given; certbot's DNS-01 request names `_acme-challenge.<domain>.` and its HTTP-01 challenge
//! holds the token and key authorization given; every request yields a record or an error with
//! the properties of `acmebox_fuzz::check_dns_request`.
#![cfg_attr(fuzzing, no_main)]

use std::collections::HashMap;

use acmebox_challenge::ChallengeType;
use acmebox_fuzz::{check_dns_request, paragraphs};
use acmebox_hooks::certbot::{self, CertbotChallenge};
use acmebox_hooks::{DnsRequest, lego};
use acmebox_sandbox::Operation;

fn check(input: &str) {
    let paragraphs = paragraphs(input);
    let part = |i: usize| paragraphs.get(i).cloned().unwrap_or_default();
    lego_args(&part(0));
    certbot_env(&part(1));
}

fn lego_args(args: &[&str]) {
    let result = lego::parse_args(args);
    let operation = match args.first() {
        Some(&"present") => Some(Operation::Present),
        Some(&"cleanup") => Some(Operation::Cleanup),
        _ => None,
    };
    let expected = match (operation, args.get(1..).unwrap_or_default()) {
        (Some(_), [fqdn, value]) => Some(DnsRequest::Record {
            fqdn: (*fqdn).to_owned(),
            value: (*value).to_owned(),
        }),
        (Some(_), ["--", domain, token, key_authorization]) => Some(DnsRequest::Raw {
            domain: (*domain).to_owned(),
            token: Some((*token).to_owned()),
            key_authorization: (*key_authorization).to_owned(),
        }),
        _ => None,
    };
    match (result, operation.zip(expected)) {
        (Ok(parsed), Some(expected)) => assert_eq!(parsed, expected, "{args:?}"),
        (Err(err), None) => assert!(err.to_string().contains("EXEC_MODE=RAW"), "{err}"),
        (result, _) => panic!("{args:?} parses as {result:?}"),
    }
    if let Ok((_, request)) = lego::parse_args(args) {
        check_dns_request(&request);
    }
}

fn certbot_env(lines: &[&str]) {
    let env: HashMap<&str, &str> = lines.iter().filter_map(|l| l.split_once('=')).collect();
    let var = |name: &str| env.get(name).map(|v| (*v).to_owned());
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    let Ok(challenge) = certbot::from_env(var) else {
        return;
    };
    let (Some(domain), Some(validation)) = (set("CERTBOT_DOMAIN"), set("CERTBOT_VALIDATION"))
    else {
        panic!("a challenge without CERTBOT_DOMAIN and CERTBOT_VALIDATION: {env:?}");
    };
    match challenge {
        CertbotChallenge::Dns(request) => {
            assert_eq!(set("CERTBOT_TOKEN"), None);
            let base = domain.strip_prefix("*.").unwrap_or(&domain);
            assert_eq!(
                request,
                DnsRequest::Record {
                    fqdn: format!("_acme-challenge.{base}."),
                    value: validation,
                }
            );
            check_dns_request(&request);
        }
        CertbotChallenge::Http(challenge) => {
            assert_eq!(challenge.kind, ChallengeType::Http01);
            assert_eq!(
                set("CERTBOT_TOKEN").as_deref(),
                Some(challenge.token.as_str())
            );
            assert_eq!(challenge.key_authorization.as_str(), validation);
            assert!(!challenge.identifier.is_wildcard());
            assert!(!format!("{challenge:?}").contains(&validation));
        }
    }
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|input: &str| check(input));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    acmebox_fuzz::replay(|bytes| acmebox_fuzz::with_input(bytes, check))
}
