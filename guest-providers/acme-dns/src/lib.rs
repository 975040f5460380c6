//! An acmebox DNS-01 provider for [acme-dns] servers.
//!
//! acme-dns is a small DNS server with one HTTP call: `POST /update` sets the TXT value of one
//! account's subdomain. Each domain to validate points at it with a CNAME from
//! `_acme-challenge.<domain>` to `<subdomain>.<acme-dns zone>`; acmebox follows that CNAME when
//! it checks propagation.
//!
//! * `present`: `POST <api_url>/update` with `X-Api-User` and `X-Api-Key`, and the body
//!   `{"subdomain": <subdomain>, "txt": <value>}`. acme-dns keeps the two most recent values
//!   of a subdomain, enough for a domain and its wildcard at once.
//! * `cleanup`: nothing to do. acme-dns has no delete; newer values push old ones out.
//!
//! acme-dns takes only values of exactly 43 characters (a DNS-01 digest), so the provider
//! refuses any other before it makes a request.
//!
//! [acme-dns]: https://github.com/joohoi/acme-dns

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, http, log,
};
use serde::Deserialize;

/// The length of every value acme-dns accepts: an unpadded base64url SHA-256 digest, as
/// DNS-01 uses (RFC 8555 §8.4).
const VALUE_LEN: usize = 43;

/// acme-dns answers from its database at once, so a minute is ample.
const PROPAGATION_TIMEOUT_SECS: u32 = 60;

/// How often the host checks propagation.
const POLLING_INTERVAL_SECS: u32 = 2;

struct AcmeDns;

impl Provider for AcmeDns {
    fn describe() -> ProviderInfo {
        // `describe` makes no request; the origin is known only when the operator set api_url.
        let hosts = config::get("api_url")
            .and_then(|url| http::origin(&url))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_url",
                    "the acme-dns server's base URL, such as https://auth.acme-dns.io",
                ),
                ConfigKey::required("username", "the account's username (sent as X-Api-User)"),
                ConfigKey::required("password", "the account's password (sent as X-Api-Key)")
                    .secret(),
                ConfigKey::required(
                    "subdomain",
                    "the account's subdomain, the CNAME target's first label",
                ),
            ],
            hosts,
            propagation_timeout_secs: PROPAGATION_TIMEOUT_SECS,
            polling_interval_secs: POLLING_INTERVAL_SECS,
            ..ProviderInfo::new(
                "acme-dns",
                env!("CARGO_PKG_VERSION"),
                "TXT values through an acme-dns server's update API",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        check_value(&record)?;
        let account = Account::from_config()?;
        let response = http::Request::post(format!("{}/update", account.api_url))
            .header("x-api-user", &account.username)
            .header("x-api-key", &account.password)
            .header("accept", "application/json")
            .json(&serde_json::json!({ "subdomain": account.subdomain, "txt": record.value }))
            .send()?;
        if !response.is_success() {
            return Err(update_error(&response));
        }
        let updated: Updated = response.json()?;
        if updated.txt != record.value {
            return Err(ProviderError::Other(format!(
                "acme-dns answered the update of subdomain {} with another value ({})",
                account.subdomain, updated.txt
            )));
        }
        log::info!(
            "set a TXT value of acme-dns subdomain {} for {} (acme-dns keeps the two latest)",
            account.subdomain,
            record.fqdn
        );
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let subdomain = config::get("subdomain").unwrap_or_else(|| "(not set)".to_owned());
        log::info!(
            "nothing to remove for {}: acme-dns has no delete; subdomain {} keeps its two \
             latest values until newer ones replace them",
            record.fqdn,
            subdomain.trim()
        );
        Ok(())
    }
}

acmebox_provider::export!(AcmeDns);

/// One acme-dns account, as configured.
struct Account {
    api_url: String,
    username: String,
    password: String,
    subdomain: String,
}

impl Account {
    fn from_config() -> Result<Self, ProviderError> {
        let api_url = config::require("api_url")?;
        let api_url = api_url.trim().trim_end_matches('/').to_owned();
        if http::origin(&api_url).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({api_url}) is not an http:// or https:// URL"
            )));
        }
        if api_url.ends_with("/update") {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({api_url}) must be the server's base URL; the provider \
                 adds /update"
            )));
        }
        Ok(Self {
            api_url,
            username: config::require("username")?.trim().to_owned(),
            password: config::require("password")?.trim().to_owned(),
            subdomain: config::require("subdomain")?.trim().to_owned(),
        })
    }
}

/// acme-dns's answer to a successful update.
#[derive(Deserialize)]
struct Updated {
    txt: String,
}

/// Refuses a value acme-dns would refuse (`bad_txt`), naming what is wrong with it.
fn check_value(record: &TxtRecord) -> Result<(), ProviderError> {
    let length = record.value.chars().count();
    if length != VALUE_LEN {
        return Err(ProviderError::Other(format!(
            "invalid record: acme-dns takes only DNS-01 values of exactly {VALUE_LEN} \
             characters, and the value for {} has {length}",
            record.fqdn
        )));
    }
    if let Some(c) = record
        .value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && *c != '-' && *c != '_')
    {
        return Err(ProviderError::Other(format!(
            "invalid record: acme-dns takes only base64url values (A-Z, a-z, 0-9, `-`, `_`), \
             and the value for {} holds {c:?}",
            record.fqdn
        )));
    }
    Ok(())
}

/// The error an unsuccessful update means. acme-dns answers errors as `{"error": "<code>"}`:
/// `forbidden` (401) for wrong credentials, a subdomain of another account or an address
/// outside the account's `allowfrom`; `bad_subdomain` or `bad_txt` (400) for a rejected body.
fn update_error(response: &http::Response) -> ProviderError {
    #[derive(Deserialize)]
    struct Failure {
        error: String,
    }
    let message = match serde_json::from_slice::<Failure>(&response.body) {
        Ok(failure) => failure.error,
        Err(_) => response.text().trim().chars().take(300).collect(),
    };
    match response.status {
        401 | 403 => ProviderError::Unauthorized(format!(
            "acme-dns answered {} ({message}); check `username`, `password` and `subdomain`, \
             and that the account's allowfrom admits this host's address",
            response.status
        )),
        429 => ProviderError::RateLimited(response.retry_after()),
        status => ProviderError::api(status, format!("acme-dns refused the update: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> TxtRecord {
        TxtRecord {
            domain: "example.com".into(),
            fqdn: "_acme-challenge.example.com.".into(),
            value: value.into(),
            ttl: 60,
            zone: None,
        }
    }

    #[test]
    fn values_must_be_43_base64url_characters() {
        let good = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
        assert!(check_value(&record(good)).is_ok());
        assert!(check_value(&record("_-AZaz09_-AZaz09_-AZaz09_-AZaz09_-AZaz09_-A")).is_ok());
        let cases = [
            ("short", "has 5"),
            ("", "has 0"),
            (&format!("{good}=") as &str, "has 44"),
            ("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEu+0", "holds '+'"),
            ("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEu 0", "holds ' '"),
        ];
        for (value, want) in cases {
            let Err(ProviderError::Other(message)) = check_value(&record(value)) else {
                panic!("{value:?} was accepted");
            };
            assert!(message.starts_with("invalid record: "), "{message}");
            assert!(message.contains(want), "{value:?}: {message}");
        }
    }

    #[test]
    fn origins() {
        let cases = [
            ("https://auth.acme-dns.io", Some("https://auth.acme-dns.io")),
            ("http://127.0.0.1:8053/", Some("http://127.0.0.1:8053")),
            (
                "HTTPS://ACME.example.com/x",
                Some("https://acme.example.com"),
            ),
            ("auth.acme-dns.io", None),
            ("https://user:key@auth.acme-dns.io", None),
        ];
        for (url, want) in cases {
            assert_eq!(http::origin(url).as_deref(), want, "{url}");
        }
    }
}
