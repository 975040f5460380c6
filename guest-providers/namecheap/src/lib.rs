//! An acmebox DNS-01 provider for Namecheap's DNS, through the Namecheap XML API.
//!
//! Namecheap has no call that adds or removes one record: `namecheap.domains.dns.setHosts`
//! replaces every host record of a domain with the list it is sent. So each call reads the
//! domain's records, changes them and writes all of them back:
//!
//! * `present`: `namecheap.domains.dns.getHosts`; when the value is not among the TXT records at
//!   the name, `setHosts` with every record read (name, type, address, MX preference, TTL, and
//!   the domain's `EmailType`) and the new TXT record after them.
//! * `cleanup`: `getHosts`; when the value is there, `setHosts` with every record read but the
//!   TXT records holding it. Not there is success.
//!
//! A round (finding the domain, reading, writing) that fails with a 5xx is run again from the
//! start, so a retry never writes back a stale list. Every command is a POST with a form body: `setHosts` of a long list does not fit
//! in a URL, and the API key then never travels in one.
//!
//! The domain is the zone the host passes, else the closest parent of the record's name that
//! `getHosts` knows (Namecheap calls a domain `SLD` + `TLD`: `example` + `co.uk`).

use std::net::Ipv4Addr;

use acmebox_provider::{
    ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, dns, http, log, retry,
};
use xml::{Host, NOT_IN_ACCOUNT, NOT_NAMECHEAP_DNS, Reply};

mod xml;

/// Namecheap's production XML API, used when the operator sets neither `api_url` nor `sandbox`.
const DEFAULT_API_URL: &str = "https://api.namecheap.com/xml.response";

/// Namecheap's sandbox (a separate site with its own account, key and allow list).
const SANDBOX_API_URL: &str = "https://api.sandbox.namecheap.com/xml.response";

struct Namecheap;

impl Provider for Namecheap {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "api_user",
                    "the API user (ApiUser), normally the account's user name \
                     (lego: NAMECHEAP_API_USER)",
                )
                .secret(),
                ConfigKey::required(
                    "api_key",
                    "the API key from Profile > Tools > Namecheap API Access \
                     (lego: NAMECHEAP_API_KEY)",
                )
                .secret(),
                ConfigKey::required(
                    "client_ip",
                    "the public IPv4 address this machine's API calls come from (ClientIp); \
                     it must be on the API allow list in Namecheap's dashboard",
                ),
                ConfigKey::optional(
                    "user_name",
                    "the account the commands act on (UserName; default: api_user)",
                ),
                ConfigKey::optional(
                    "sandbox",
                    "`true` for Namecheap's sandbox, https://api.sandbox.namecheap.com \
                     (lego: NAMECHEAP_SANDBOX)",
                ),
                ConfigKey::optional(
                    "api_url",
                    "the XML API endpoint (default https://api.namecheap.com/xml.response)",
                ),
            ],
            hosts: configured_endpoint()
                .ok()
                .and_then(|url| http::origin(&url))
                .into_iter()
                .collect(),
            propagation_timeout_secs: 3600,
            polling_interval_secs: 15,
            // setHosts replaces every record of the domain. Two changes at once would each
            // write back the list they read, the later one dropping the earlier one's value
            // (the apex and the wildcard of one domain are presented together). Run one at a
            // time, each round reads what the one before it wrote.
            sequential: true,
            ..ProviderInfo::new(
                "namecheap",
                env!("CARGO_PKG_VERSION"),
                "TXT records through the Namecheap XML API (getHosts and setHosts)",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        retry::retrying("Namecheap", || {
            let (domain, mut zone) = api.domain_for(&record)?;
            let name = host_name(&record.fqdn, &domain);
            if zone.hosts.iter().any(|h| h.holds(&name, &record.value)) {
                log::info!("TXT value already present at {}", record.fqdn);
                return Ok(());
            }
            zone.hosts.push(Host::txt(&name, &record.value, record.ttl));
            api.set_hosts(&domain, &zone)?;
            log::info!(
                "added a TXT value at {} in domain {domain}, keeping its other {} records",
                record.fqdn,
                zone.hosts.len() - 1
            );
            Ok(())
        })
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        let api = Api::from_config()?;
        retry::retrying("Namecheap", || {
            let (domain, mut zone) = api.domain_for(&record)?;
            let name = host_name(&record.fqdn, &domain);
            let before = zone.hosts.len();
            zone.hosts.retain(|h| !h.holds(&name, &record.value));
            if zone.hosts.len() == before {
                log::info!("TXT value already absent at {}", record.fqdn);
                return Ok(());
            }
            api.set_hosts(&domain, &zone)?;
            log::info!(
                "removed a TXT value at {} in domain {domain}, keeping its other {} records",
                record.fqdn,
                zone.hosts.len()
            );
            Ok(())
        })
    }
}

acmebox_provider::export!(Namecheap);

/// The host records of a domain, as getHosts answers and setHosts takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Zone {
    /// The domain's mail setting (`MX`, `MXE`, `FWD`, `OX`, ...), as getHosts reports it.
    email_type: Option<String>,
    hosts: Vec<Host>,
}

/// The API as configured.
struct Api {
    endpoint: String,
    api_user: String,
    api_key: String,
    user_name: String,
    client_ip: String,
}

impl Api {
    fn from_config() -> Result<Self, ProviderError> {
        let api_user = config::require("api_user")?.trim().to_owned();
        let client_ip = config::require("client_ip")?.trim().to_owned();
        if client_ip.parse::<Ipv4Addr>().is_err() {
            return Err(ProviderError::InvalidConfig(format!(
                "config key `client_ip` ({client_ip}) is not an IPv4 address: Namecheap wants \
                 the public IPv4 address this machine's API calls come from, on the API allow \
                 list"
            )));
        }
        Ok(Self {
            endpoint: configured_endpoint()?,
            user_name: config::get("user_name")
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| api_user.clone()),
            api_user,
            api_key: config::require("api_key")?.trim().to_owned(),
            client_ip,
        })
    }

    /// The domain holding `record.fqdn` and its records, as read on the way.
    fn domain_for(&self, record: &TxtRecord) -> Result<(String, Zone), ProviderError> {
        dns::find_zone("Namecheap", record, |candidate| self.hosts(candidate))
    }

    /// The records of `domain`; `None` when the account has no such domain.
    fn hosts(&self, domain: &str) -> Result<Option<Zone>, ProviderError> {
        let Some((sld, tld)) = split_domain(domain) else {
            return Ok(None);
        };
        let reply = self.call(
            "namecheap.domains.dns.getHosts",
            vec![("SLD".into(), sld.into()), ("TLD".into(), tld.into())],
        )?;
        if reply.has_error(NOT_IN_ACCOUNT) {
            return Ok(None);
        }
        if reply.has_error(&[NOT_NAMECHEAP_DNS]) {
            return Err(not_namecheap_dns(domain));
        }
        let Some(result) = reply.result()?.get_hosts else {
            return Err(ProviderError::Other(
                "Namecheap's getHosts answer has no DomainDNSGetHostsResult".into(),
            ));
        };
        if result
            .is_using_our_dns
            .as_deref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
        {
            return Err(not_namecheap_dns(domain));
        }
        Ok(Some(Zone {
            email_type: result.email_type,
            hosts: result.hosts,
        }))
    }

    /// Replaces every record of `domain` with `zone`.
    fn set_hosts(&self, domain: &str, zone: &Zone) -> Result<(), ProviderError> {
        let Some((sld, tld)) = split_domain(domain) else {
            return Err(ProviderError::Other(format!("{domain} is not a domain")));
        };
        let reply = self.call(
            "namecheap.domains.dns.setHosts",
            set_hosts_form(sld, tld, zone),
        )?;
        let status = reply.status;
        match reply.result()?.set_hosts {
            Some(r) if r.is_success.trim().eq_ignore_ascii_case("true") => Ok(()),
            _ => Err(ProviderError::api(
                status,
                format!("Namecheap did not confirm setHosts for {domain} (no IsSuccess=\"true\")"),
            )),
        }
    }

    /// POSTs `command` with the global parameters and `params` as a form; the parsed answer.
    fn call(&self, command: &str, params: Vec<(String, String)>) -> Result<Reply, ProviderError> {
        let mut form = vec![
            ("ApiUser".to_owned(), self.api_user.clone()),
            ("ApiKey".to_owned(), self.api_key.clone()),
            ("UserName".to_owned(), self.user_name.clone()),
            ("ClientIp".to_owned(), self.client_ip.clone()),
            ("Command".to_owned(), command.to_owned()),
        ];
        form.extend(params);
        let response = http::Request::post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(&form))
            .send()?;
        if response.status == 429 {
            return Err(ProviderError::RateLimited(response.retry_after()));
        }
        match Reply::parse(response.status, response.retry_after(), &response.text()) {
            Ok(reply) => Ok(reply),
            Err(e) => {
                let body: String = response.text().trim().chars().take(200).collect();
                Err(ProviderError::api(
                    response.status,
                    format!(
                        "Namecheap answered {} to {command} with something other than its XML \
                         ({e}): {body}",
                        response.status
                    ),
                ))
            }
        }
    }
}

/// The error for a domain in the account whose DNS Namecheap does not serve.
fn not_namecheap_dns(domain: &str) -> ProviderError {
    ProviderError::ZoneNotFound(format!(
        "{domain} is in the Namecheap account but does not use Namecheap's DNS; use the \
         provider of the DNS host its name servers point at"
    ))
}

/// The endpoint from `api_url`, else `sandbox`, else Namecheap's production API.
fn configured_endpoint() -> Result<String, ProviderError> {
    if let Some(url) = config::get("api_url").filter(|u| !u.trim().is_empty()) {
        return endpoint_url(&url).ok_or_else(|| {
            ProviderError::InvalidConfig(format!(
                "config key `api_url` ({url}) is not an http:// or https:// URL, such as \
                 {DEFAULT_API_URL}"
            ))
        });
    }
    let Some(sandbox) = config::get("sandbox") else {
        return Ok(DEFAULT_API_URL.to_owned());
    };
    match sandbox.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(SANDBOX_API_URL.to_owned()),
        "false" | "0" | "no" | "" => Ok(DEFAULT_API_URL.to_owned()),
        _ => Err(ProviderError::InvalidConfig(format!(
            "config key `sandbox` ({sandbox}) is neither `true` nor `false`"
        ))),
    }
}

/// `api_url` as the endpoint to POST to: as given, or with `/xml.response` added when it names
/// only an origin (`https://api.namecheap.com`). `None` when it is not an http(s) URL.
fn endpoint_url(api_url: &str) -> Option<String> {
    let url = api_url.trim();
    let origin = http::origin(url)?;
    let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
    let has_path = rest
        .split_once('/')
        .is_some_and(|(_, path)| !path.is_empty());
    Some(if has_path {
        url.to_owned()
    } else {
        format!("{origin}/xml.response")
    })
}

/// Namecheap's `SLD` and `TLD` of a domain: `example` and `co.uk` for `example.co.uk`. `None`
/// for a single label.
fn split_domain(domain: &str) -> Option<(&str, &str)> {
    let (sld, tld) = domain.trim_end_matches('.').split_once('.')?;
    (!sld.is_empty() && !tld.is_empty()).then_some((sld, tld))
}

/// `fqdn` as a `HostName` in `domain`: relative, `@` for the apex.
fn host_name(fqdn: &str, domain: &str) -> String {
    dns::relative_name(fqdn, domain)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "@".to_owned())
}

/// The setHosts parameters for `zone`: every record numbered from 1, with its MX preference
/// and TTL when it had them, and the domain's `EmailType`.
fn set_hosts_form(sld: &str, tld: &str, zone: &Zone) -> Vec<(String, String)> {
    let mut form = vec![
        ("SLD".to_owned(), sld.to_owned()),
        ("TLD".to_owned(), tld.to_owned()),
    ];
    if let Some(email_type) = email_type(zone) {
        form.push(("EmailType".to_owned(), email_type));
    }
    for (i, host) in zone.hosts.iter().enumerate() {
        let n = i + 1;
        form.push((format!("HostName{n}"), host.name.clone()));
        form.push((format!("RecordType{n}"), host.kind.clone()));
        form.push((format!("Address{n}"), host.address.clone()));
        if let Some(pref) = &host.mx_pref {
            form.push((format!("MXPref{n}"), pref.clone()));
        }
        if let Some(ttl) = &host.ttl {
            form.push((format!("TTL{n}"), ttl.clone()));
        }
    }
    form
}

/// The `EmailType` to send back: as read, else `MX` or `MXE` when the domain has such records
/// (MX records go with `EmailType=MX`, MXE records with `EmailType=MXE`).
fn email_type(zone: &Zone) -> Option<String> {
    if let Some(t) = zone.email_type.as_deref().filter(|t| !t.trim().is_empty()) {
        return Some(t.trim().to_owned());
    }
    ["MX", "MXE"]
        .into_iter()
        .find(|kind| zone.hosts.iter().any(|h| h.kind.eq_ignore_ascii_case(kind)))
        .map(str::to_owned)
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn encode_form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                http::encode_component(k),
                http::encode_component(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, kind: &str, address: &str, pref: &str, ttl: &str) -> Host {
        Host {
            name: name.into(),
            kind: kind.into(),
            address: address.into(),
            mx_pref: Some(pref.into()),
            ttl: Some(ttl.into()),
        }
    }

    #[test]
    fn splits_domains() {
        assert_eq!(split_domain("example.com"), Some(("example", "com")));
        assert_eq!(split_domain("example.co.uk."), Some(("example", "co.uk")));
        assert_eq!(split_domain("com"), None);
        assert_eq!(split_domain(".com"), None);
    }

    #[test]
    fn names_hosts() {
        assert_eq!(
            host_name("_acme-challenge.example.com.", "example.com"),
            "_acme-challenge"
        );
        assert_eq!(
            host_name("_acme-challenge.a.b.example.com.", "example.com"),
            "_acme-challenge.a.b"
        );
        assert_eq!(host_name("example.com.", "example.com"), "@");
    }

    #[test]
    fn writes_every_record_back() {
        let zone = Zone {
            email_type: Some("MX".into()),
            hosts: vec![
                host("@", "MX", "mail.example.com.", "20", "3600"),
                Host::txt("_acme-challenge", "v a&b", 30),
            ],
        };
        let form = set_hosts_form("example", "com", &zone);
        let want: Vec<(String, String)> = [
            ("SLD", "example"),
            ("TLD", "com"),
            ("EmailType", "MX"),
            ("HostName1", "@"),
            ("RecordType1", "MX"),
            ("Address1", "mail.example.com."),
            ("MXPref1", "20"),
            ("TTL1", "3600"),
            ("HostName2", "_acme-challenge"),
            ("RecordType2", "TXT"),
            ("Address2", "v a&b"),
            ("TTL2", "60"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(form, want);
        assert_eq!(
            encode_form(&form[9..11]),
            "RecordType2=TXT&Address2=v%20a%26b"
        );
    }

    #[test]
    fn email_type_kept_or_derived() {
        let mx = host("@", "MX", "m.example.com.", "10", "1800");
        let a = host("@", "A", "192.0.2.1", "10", "1800");
        let zone = |email_type: Option<&str>, hosts: Vec<Host>| Zone {
            email_type: email_type.map(str::to_owned),
            hosts,
        };
        assert_eq!(
            email_type(&zone(Some("FWD"), vec![a.clone()])).as_deref(),
            Some("FWD")
        );
        assert_eq!(
            email_type(&zone(None, vec![a.clone(), mx])).as_deref(),
            Some("MX")
        );
        assert_eq!(email_type(&zone(Some(" "), vec![a])), None);
    }

    #[test]
    fn endpoints() {
        let cases = [
            (
                "https://api.namecheap.com/xml.response",
                Some("https://api.namecheap.com/xml.response"),
            ),
            (
                "https://api.namecheap.com",
                Some("https://api.namecheap.com/xml.response"),
            ),
            (
                "https://api.namecheap.com/",
                Some("https://api.namecheap.com/xml.response"),
            ),
            (
                "http://127.0.0.1:8080/xml.response",
                Some("http://127.0.0.1:8080/xml.response"),
            ),
            ("api.namecheap.com", None),
            ("ftp://api.namecheap.com/xml.response", None),
        ];
        for (url, want) in cases {
            assert_eq!(endpoint_url(url).as_deref(), want, "{url}");
        }
    }
}
