//! Namecheap's XML answers: the `<ApiResponse>` envelope, host records, and what its error
//! numbers mean as WIT errors.

use acmebox_provider::ProviderError;
use serde::Deserialize;

/// The TTL range `setHosts` accepts.
const MIN_TTL: u32 = 60;
const MAX_TTL: u32 = 60_000;

/// Global error numbers about the credentials, the account or the client's IP address (not on
/// the API allow list: 1011150), from Namecheap's "Global Parameters" page; 4011103 is
/// "access denied".
const UNAUTHORIZED: &[&str] = &[
    "1010101", "1010102", "1011102", "1010105", "1011105", "1030408", "1050900", "1011150",
    "1017150", "1017105", "1017101", "1017410", "1017411", "1019103", "1016103", "1017103",
    "4011103",
];

/// getHosts/setHosts error numbers for a domain this account cannot edit: not found (2019166),
/// not associated with the account (2016166), edit permission not supported (2030166).
pub(crate) const NOT_IN_ACCOUNT: &[&str] = &["2019166", "2016166", "2030166"];

/// "Cannot complete this command as this domain is not using proper DNS servers": the domain
/// is in the account but its DNS is served elsewhere.
pub(crate) const NOT_NAMECHEAP_DNS: &str = "2030288";

/// "Too many requests", which the API answers when a client goes over its rate limit.
const TOO_MANY_REQUESTS: &str = "500000";

/// One host record. Every field is kept as the API wrote it, so it goes back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Host {
    /// Relative to the domain; `@` for the apex.
    #[serde(rename = "@Name")]
    pub(crate) name: String,
    #[serde(rename = "@Type")]
    pub(crate) kind: String,
    #[serde(rename = "@Address")]
    pub(crate) address: String,
    #[serde(rename = "@MXPref", default)]
    pub(crate) mx_pref: Option<String>,
    #[serde(rename = "@TTL", default)]
    pub(crate) ttl: Option<String>,
}

impl Host {
    /// A new TXT record, its TTL brought into the range setHosts takes.
    pub(crate) fn txt(name: &str, value: &str, ttl: u32) -> Self {
        Self {
            name: name.to_owned(),
            kind: "TXT".to_owned(),
            address: value.to_owned(),
            mx_pref: None,
            ttl: Some(ttl.clamp(MIN_TTL, MAX_TTL).to_string()),
        }
    }

    /// Whether this is a TXT record at `name` holding `value`.
    pub(crate) fn holds(&self, name: &str, value: &str) -> bool {
        self.kind.eq_ignore_ascii_case("TXT")
            && self.name.eq_ignore_ascii_case(name)
            && self.address == value
    }
}

/// `<ApiResponse Status="OK|ERROR">`, the envelope of every answer.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "@Status", default)]
    status: String,
    #[serde(rename = "Errors", default)]
    errors: Errors,
    #[serde(rename = "CommandResponse", default)]
    command_response: CommandResponse,
}

#[derive(Debug, Default, Deserialize)]
struct Errors {
    #[serde(rename = "Error", default)]
    list: Vec<ApiErrorEntry>,
}

/// `<Error Number="2019166">Domain not found</Error>`.
#[derive(Debug, Deserialize)]
struct ApiErrorEntry {
    #[serde(rename = "@Number", default)]
    number: String,
    #[serde(rename = "$text", default)]
    message: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CommandResponse {
    #[serde(rename = "DomainDNSGetHostsResult")]
    pub(crate) get_hosts: Option<GetHostsResult>,
    #[serde(rename = "DomainDNSSetHostsResult")]
    pub(crate) set_hosts: Option<SetHostsResult>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GetHostsResult {
    #[serde(rename = "@EmailType", default)]
    pub(crate) email_type: Option<String>,
    #[serde(rename = "@IsUsingOurDNS", default)]
    pub(crate) is_using_our_dns: Option<String>,
    // Namecheap's own Go SDK reads `<host>`; the reference's example shows `<Host>`.
    #[serde(rename = "host", alias = "Host", default)]
    pub(crate) hosts: Vec<Host>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SetHostsResult {
    #[serde(rename = "@IsSuccess", default)]
    pub(crate) is_success: String,
}

/// A parsed answer with what came with it over HTTP.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    retry_after: Option<u32>,
    envelope: Envelope,
}

impl Reply {
    /// Parses `body`, an answer with HTTP `status` and `retry-after` seconds.
    pub(crate) fn parse(
        status: u16,
        retry_after: Option<u32>,
        body: &str,
    ) -> Result<Self, quick_xml::DeError> {
        Ok(Self {
            status,
            retry_after,
            envelope: quick_xml::de::from_str(body)?,
        })
    }

    /// Whether Namecheap answered one of the error `numbers`.
    pub(crate) fn has_error(&self, numbers: &[&str]) -> bool {
        self.envelope
            .errors
            .list
            .iter()
            .any(|e| numbers.contains(&e.number.trim()))
    }

    /// The command's response when the API did it, else the error its errors mean.
    pub(crate) fn result(self) -> Result<CommandResponse, ProviderError> {
        let errors = &self.envelope.errors.list;
        if errors.is_empty() && self.envelope.status.eq_ignore_ascii_case("OK") {
            return Ok(self.envelope.command_response);
        }
        let said = if errors.is_empty() {
            format!("Status=\"{}\" without an error", self.envelope.status)
        } else {
            errors
                .iter()
                .map(|e| format!("error {}: {}", e.number.trim(), e.message.trim()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let is = |number: &str| errors.iter().any(|e| e.number.trim() == number);
        let too_many = errors
            .iter()
            .any(|e| e.message.to_ascii_lowercase().contains("too many requests"));
        Err(if is(TOO_MANY_REQUESTS) || too_many {
            ProviderError::RateLimited(self.retry_after)
        } else if UNAUTHORIZED.iter().any(|n| is(n)) {
            ProviderError::Unauthorized(format!(
                "Namecheap refused the request ({said}); check api_user, api_key and user_name, \
                 that API access is enabled for the account, and that client_ip is this \
                 machine's public IPv4 address and on the API allow list"
            ))
        } else if is(NOT_NAMECHEAP_DNS) {
            ProviderError::ZoneNotFound(format!(
                "the domain does not use Namecheap's DNS ({said}); use the provider of the DNS \
                 host its name servers point at"
            ))
        } else if NOT_IN_ACCOUNT.iter().any(|n| is(n)) {
            ProviderError::ZoneNotFound(format!("Namecheap: {said}"))
        } else {
            ProviderError::api(self.status, format!("Namecheap answered {said}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET_HOSTS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response">
  <Errors />
  <Warnings />
  <RequestedCommand>namecheap.domains.dns.gethosts</RequestedCommand>
  <CommandResponse Type="namecheap.domains.dns.getHosts">
    <DomainDNSGetHostsResult Domain="example.com" EmailType="MX" IsUsingOurDNS="true">
      <host HostId="12" Name="@" Type="A" Address="192.0.2.1" MXPref="10" TTL="1799" AssociatedAppTitle="" FriendlyName="" IsActive="true" IsDDNSEnabled="false" />
      <host HostId="13" Name="@" Type="MX" Address="mail.example.com." MXPref="20" TTL="3600" />
      <host HostId="14" Name="@" Type="TXT" Address="v=spf1 a &amp; &quot;mx&quot; ~all" MXPref="10" TTL="300" />
    </DomainDNSGetHostsResult>
  </CommandResponse>
  <Server>SERVER</Server>
  <GMTTimeDifference>--5:00</GMTTimeDifference>
  <ExecutionTime>0.05</ExecutionTime>
</ApiResponse>"#;

    fn host(name: &str, kind: &str, address: &str, pref: &str, ttl: &str) -> Host {
        Host {
            name: name.into(),
            kind: kind.into(),
            address: address.into(),
            mx_pref: Some(pref.into()),
            ttl: Some(ttl.into()),
        }
    }

    fn reply(xml: &str) -> Reply {
        Reply::parse(200, None, xml).expect("valid XML")
    }

    fn error_reply(number: &str, message: &str) -> Reply {
        reply(&format!(
            r#"<ApiResponse Status="ERROR" xmlns="http://api.namecheap.com/xml.response">
  <Errors><Error Number="{number}">{message}</Error></Errors>
  <Warnings /><RequestedCommand /><Server>S</Server></ApiResponse>"#
        ))
    }

    #[test]
    fn reads_get_hosts() {
        let result = reply(GET_HOSTS)
            .result()
            .expect("OK")
            .get_hosts
            .expect("a result");
        assert_eq!(result.email_type.as_deref(), Some("MX"));
        assert_eq!(result.is_using_our_dns.as_deref(), Some("true"));
        assert_eq!(
            result.hosts,
            [
                host("@", "A", "192.0.2.1", "10", "1799"),
                host("@", "MX", "mail.example.com.", "20", "3600"),
                host("@", "TXT", "v=spf1 a & \"mx\" ~all", "10", "300"),
            ]
        );
    }

    #[test]
    fn reads_capitalised_hosts_of_the_documentation() {
        let xml = GET_HOSTS.replace("<host ", "<Host ");
        let result = reply(&xml)
            .result()
            .expect("OK")
            .get_hosts
            .expect("a result");
        assert_eq!(result.hosts.len(), 3);
    }

    #[test]
    fn reads_set_hosts() {
        let xml = r#"<ApiResponse Status="OK"><Errors /><CommandResponse Type="namecheap.domains.dns.setHosts">
            <DomainDNSSetHostsResult Domain="example.com" IsSuccess="true" /></CommandResponse></ApiResponse>"#;
        let result = reply(xml)
            .result()
            .expect("OK")
            .set_hosts
            .expect("a result");
        assert_eq!(result.is_success, "true");
    }

    #[test]
    fn maps_error_numbers() {
        type Want = fn(&ProviderError) -> bool;
        let cases: [(&str, &str, Want); 7] = [
            (
                "1011102",
                "API Key is invalid or API access has not been enabled",
                |e| matches!(e, ProviderError::Unauthorized(_)),
            ),
            ("1011150", "Invalid request IP: 192.0.2.9", |e| {
                matches!(e, ProviderError::Unauthorized(_))
            }),
            ("2019166", "Domain not found", |e| {
                matches!(e, ProviderError::ZoneNotFound(_))
            }),
            (
                "2030288",
                "Cannot complete this command as this domain is not using proper DNS servers",
                |e| matches!(e, ProviderError::ZoneNotFound(m) if m.contains("Namecheap's DNS")),
            ),
            ("500000", "Too many requests", |e| {
                matches!(e, ProviderError::RateLimited(None))
            }),
            ("123", "Too Many Requests, slow down", |e| {
                matches!(e, ProviderError::RateLimited(None))
            }),
            (
                "3050900",
                "Unknown error from Enom",
                |e| matches!(e, ProviderError::ApiError(a) if a.status == 200 && a.message.contains("3050900")),
            ),
        ];
        for (number, message, want) in cases {
            let error = error_reply(number, message).result().expect_err(number);
            assert!(want(&error), "{number}: {error:?}");
        }
        let error = reply(r#"<ApiResponse Status="ERROR"><Errors /></ApiResponse>"#)
            .result()
            .expect_err("an error status");
        assert!(matches!(error, ProviderError::ApiError(_)), "{error:?}");
    }

    #[test]
    fn knows_domains_missing_from_the_account() {
        assert!(error_reply("2019166", "Domain not found").has_error(NOT_IN_ACCOUNT));
        assert!(error_reply("2016166", "not associated").has_error(NOT_IN_ACCOUNT));
        assert!(!error_reply("2030288", "not our DNS").has_error(NOT_IN_ACCOUNT));
    }

    #[test]
    fn ttls_are_clamped() {
        assert_eq!(Host::txt("x", "v", 1).ttl.as_deref(), Some("60"));
        assert_eq!(Host::txt("x", "v", 120).ttl.as_deref(), Some("120"));
        assert_eq!(Host::txt("x", "v", 1_000_000).ttl.as_deref(), Some("60000"));
    }

    #[test]
    fn matches_only_its_own_value() {
        let mine = Host::txt("_acme-challenge", "abc", 60);
        assert!(mine.holds("_ACME-challenge", "abc"));
        assert!(!mine.holds("_acme-challenge", "ABC"));
        assert!(!mine.holds("_acme-challenge.www", "abc"));
        assert!(
            !host("_acme-challenge", "CNAME", "abc", "10", "60").holds("_acme-challenge", "abc")
        );
    }
}
