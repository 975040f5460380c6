//! certbot's manual hooks (`--manual-auth-hook`, `--manual-cleanup-hook`): certbot passes the
//! challenge in the environment.
//!
//! * `CERTBOT_DOMAIN`: the domain being validated (`example.com` also for `*.example.com`);
//! * `CERTBOT_VALIDATION`: for DNS-01 the TXT value, for HTTP-01 the key authorization;
//! * `CERTBOT_TOKEN`: set for HTTP-01 only, the resource name under
//!   `/.well-known/acme-challenge/`.

use super::{DnsRequest, invalid};
use crate::Result;
use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};

/// The challenge certbot handed to a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertbotChallenge {
    /// DNS-01: the TXT record at `_acme-challenge.<CERTBOT_DOMAIN>`.
    Dns(DnsRequest),
    /// HTTP-01: the file to serve.
    Http(Challenge),
}

/// Reads the challenge from the environment `var` gives (`std::env::var` in the hook).
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<CertbotChallenge> {
    let get = |name: &str| -> Result<String> {
        var(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            invalid(format!(
                "{name} is not set; run this as certbot's --manual-auth-hook or \
                 --manual-cleanup-hook, which sets it"
            ))
        })
    };
    let domain = get("CERTBOT_DOMAIN")?;
    let validation = get("CERTBOT_VALIDATION")?;
    match var("CERTBOT_TOKEN").filter(|t| !t.is_empty()) {
        None => {
            let base = domain.strip_prefix("*.").unwrap_or(&domain);
            Ok(CertbotChallenge::Dns(DnsRequest::Record {
                fqdn: format!("_acme-challenge.{base}."),
                value: validation,
            }))
        }
        Some(token) => {
            let key_authorization = KeyAuthorization::parse(&validation)?;
            if key_authorization.token().as_str() != token {
                return Err(invalid(format!(
                    "CERTBOT_TOKEN {token:?} is not the first part of CERTBOT_VALIDATION"
                )));
            }
            Ok(CertbotChallenge::Http(Challenge::new(
                ChallengeType::Http01,
                Identifier::parse(&domain)?,
                key_authorization,
            )?))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY_AUTHORIZATION: &str =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn dns_and_http_challenges() -> Result<()> {
        let dns = from_env(env(&[
            ("CERTBOT_DOMAIN", "example.com"),
            ("CERTBOT_VALIDATION", "value"),
            ("CERTBOT_TOKEN", ""),
        ]))?;
        assert_eq!(
            dns,
            CertbotChallenge::Dns(DnsRequest::Record {
                fqdn: "_acme-challenge.example.com.".into(),
                value: "value".into()
            })
        );
        let http = from_env(env(&[
            ("CERTBOT_DOMAIN", "example.com"),
            ("CERTBOT_VALIDATION", KEY_AUTHORIZATION),
            (
                "CERTBOT_TOKEN",
                "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
            ),
        ]))?;
        let CertbotChallenge::Http(challenge) = http else {
            panic!("not http: {http:?}");
        };
        assert_eq!(challenge.kind, ChallengeType::Http01);
        assert_eq!(challenge.key_authorization.as_str(), KEY_AUTHORIZATION);
        Ok(())
    }

    #[test]
    fn missing_or_mismatched_variables_are_explained() {
        let err = from_env(env(&[("CERTBOT_DOMAIN", "example.com")]))
            .expect_err("no validation")
            .to_string();
        assert!(err.contains("CERTBOT_VALIDATION is not set"), "{err}");
        let err = from_env(env(&[
            ("CERTBOT_DOMAIN", "example.com"),
            ("CERTBOT_VALIDATION", KEY_AUTHORIZATION),
            ("CERTBOT_TOKEN", "other"),
        ]))
        .expect_err("mismatch")
        .to_string();
        assert!(err.contains("not the first part"), "{err}");
    }
}
