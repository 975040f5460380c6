//! An acmebox DNS-01 provider for Duck DNS, through its update URL with the account token.
//!
//! Duck DNS holds one TXT value per domain (a subname of `duckdns.org`), served at the domain and
//! at every name below it. So this provider cannot keep two values at one name: a certificate
//! for a name and its wildcard needs the two validated one after the other, which `describe`
//! asks of the host (`sequential`).
//!
//! * `present`: `GET /update?domains=<subname>&token=<token>&txt=<value>&verbose=true`, which
//!   replaces the domain's TXT value. The answer is `OK` or `KO` in text.
//! * `cleanup`: the same with `&clear=true`, which empties the domain's TXT value, whichever
//!   value it holds: the API has no way to read it first.
//!
//! The subname is the label right below `duckdns.org` in the record's name: `foo` for
//! `_acme-challenge.foo.duckdns.org` and for `_acme-challenge.www.foo.duckdns.org`. A name
//! outside `duckdns.org` is `zone-not-found` without a request. `KO` means a wrong token or a
//! domain the account does not have; Duck DNS does not say which, and both are `unauthorized`.

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log,
};

/// Duck DNS's API base URL, used when the operator sets no `api_url`.
const DEFAULT_API_URL: &str = "https://www.duckdns.org";

/// The domain Duck DNS's domains are subnames of, used when the operator sets no
/// `base_domain`.
const DEFAULT_BASE_DOMAIN: &str = "duckdns.org";

struct DuckDns;

impl Provider for DuckDns {
    fn describe() -> ProviderInfo {
        let api_url = config::with_default("api_url", DEFAULT_API_URL);
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "token",
                    "the Duck DNS account token shown on duckdns.org once signed in \
                     (lego: DUCKDNS_TOKEN)",
                )
                .secret(),
                ConfigKey::optional(
                    "api_url",
                    "the API base URL (default https://www.duckdns.org)",
                ),
                ConfigKey::optional(
                    "base_domain",
                    "the domain the account's domains are subnames of (default duckdns.org); \
                     set it only for a Duck DNS-compatible service under another domain",
                ),
            ],
            hosts: http::origin(&api_url).into_iter().collect(),
            propagation_timeout_secs: 120,
            polling_interval_secs: 5,
            sequential: true,
            ..ProviderInfo::new(
                "duckdns",
                env!("CARGO_PKG_VERSION"),
                "the TXT value of a Duck DNS domain (one value per domain)",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let sub = api.subname_for(&record)?;
        api.update(&sub, &record.value, false)?;
        log::info!(
            "set the TXT value of Duck DNS domain {sub} (served at {})",
            record.fqdn
        );
        Ok(())
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        let sub = api.subname_for(&record)?;
        api.update(&sub, &record.value, true)?;
        log::info!("cleared the TXT value of Duck DNS domain {sub}");
        Ok(())
    }
}

acmebox_provider::export!(DuckDns);

/// The API as configured.
struct Api {
    base: String,
    base_domain: String,
    token: String,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let base = config::with_default("api_url", DEFAULT_API_URL)
            .trim()
            .trim_end_matches('/')
            .to_owned();
        if http::origin(&base).is_none() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `api_url` ({base}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            )));
        }
        let base_domain = dns::bare(&config::with_default("base_domain", DEFAULT_BASE_DOMAIN));
        if base_domain.is_empty() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `base_domain` is empty; leave it out for {DEFAULT_BASE_DOMAIN}"
            )));
        }
        Ok(Self {
            base,
            base_domain,
            token: config::require("token")?.trim().to_owned(),
        })
    }

    /// The Duck DNS domain (subname) serving `record.fqdn`. Duck DNS has no zones to look up:
    /// every domain is a subname of the base domain, so a name outside it has no zone here.
    fn subname_for(&self, record: &TxtRecord) -> Result<String, ProviderError> {
        subname(&record.fqdn, &self.base_domain).ok_or_else(|| {
            ProviderError::ZoneNotFound(format!(
                "{} is in no Duck DNS domain: Duck DNS serves only <subname>.{} and the names \
                 below it; point _acme-challenge at one by CNAME to validate another name",
                record.fqdn, self.base_domain
            ))
        })
    }

    /// Sets (or, with `clear`, empties) the TXT value of Duck DNS domain `sub`.
    fn update(&self, sub: &str, value: &str, clear: bool) -> Result<(), ProviderError> {
        let mut url = format!(
            "{}/update?domains={}&token={}&txt={}&verbose=true",
            self.base,
            http::encode_component(sub),
            http::encode_component(&self.token),
            http::encode_component(value)
        );
        if clear {
            url.push_str("&clear=true");
        }
        let response = http::Request::get(url).send()?;
        let status = response.status;
        if status == 429 {
            return Err(ProviderError::RateLimited(response.retry_after()));
        }
        if !response.is_success() {
            let text: String = response.text().chars().take(300).collect();
            return Err(ProviderError::api(
                status,
                format!("Duck DNS answered {status}: {}", text.trim()),
            ));
        }
        match Answer::parse(&response.text()) {
            Answer::Ok => Ok(()),
            Answer::Ko => Err(ProviderError::Unauthorized(format!(
                "Duck DNS answered KO for domain {sub}: the token is wrong, or {sub}.{} is not \
                 a domain of this account",
                self.base_domain
            ))),
            Answer::Unexpected(first) => Err(ProviderError::api(
                status,
                format!("Duck DNS answered neither OK nor KO: {first}"),
            )),
        }
    }
}

/// What the update URL answered, from its first line.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Ko,
    /// Anything else: its first line, cut short.
    Unexpected(String),
}

impl Answer {
    fn parse(text: &str) -> Self {
        let first = text.lines().next().unwrap_or_default().trim();
        match first {
            "OK" => Self::Ok,
            "KO" => Self::Ko,
            other => Self::Unexpected(other.chars().take(100).collect()),
        }
    }
}

/// The label right below `base` in `fqdn`, lower case: `foo` for `_acme-challenge.foo.duckdns.org.`
/// under `duckdns.org`. `None` when `fqdn` is `base` itself, is not below it, or when that label
/// cannot be a Duck DNS domain (letters, digits and hyphens only, such as `_acme-challenge` in
/// `_acme-challenge.duckdns.org`).
fn subname(fqdn: &str, base: &str) -> Option<String> {
    let relative = dns::relative_name(fqdn, base)?;
    let label = relative.rsplit('.').next()?.to_ascii_lowercase();
    let valid = !label.is_empty()
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnames_are_the_label_below_the_base() {
        let cases = [
            ("_acme-challenge.foo.duckdns.org.", Some("foo")),
            ("_acme-challenge.www.foo.duckdns.org.", Some("foo")),
            ("foo.duckdns.org.", Some("foo")),
            ("_acme-challenge.FOO.DuckDNS.org", Some("foo")),
            ("duckdns.org.", None),
            ("_acme-challenge.duckdns.org.", None),
            ("_acme-challenge.-foo.duckdns.org.", None),
            ("_acme-challenge.foo.example.com.", None),
            ("_acme-challenge.foo.notduckdns.org.", None),
        ];
        for (fqdn, want) in cases {
            assert_eq!(subname(fqdn, "duckdns.org").as_deref(), want, "{fqdn}");
        }
        assert_eq!(
            subname("_acme-challenge.a.example.test.", "example.test.").as_deref(),
            Some("a")
        );
    }

    #[test]
    fn answers_are_read_from_the_first_line() {
        assert_eq!(Answer::parse("OK"), Answer::Ok);
        assert_eq!(Answer::parse("OK\nvalue\nUPDATED"), Answer::Ok);
        assert_eq!(Answer::parse("OK\n\nNOCHANGE\n"), Answer::Ok);
        assert_eq!(Answer::parse("KO"), Answer::Ko);
        assert_eq!(Answer::parse("KO\n"), Answer::Ko);
        assert_eq!(
            Answer::parse("<html>busy</html>"),
            Answer::Unexpected("<html>busy</html>".into())
        );
        assert_eq!(Answer::parse(""), Answer::Unexpected(String::new()));
    }
}
