//! Route 53's XML: the answers of the four calls the provider makes, the change batch it sends,
//! and its error bodies as WIT errors. Shapes from the Route 53 API reference
//! (<https://docs.aws.amazon.com/Route53/latest/APIReference/>).

use acmebox_provider::{ProviderError, dns};
use serde::Deserialize;

/// The namespace of every Route 53 request and answer.
const NAMESPACE: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

/// Error codes that mean the credentials or the signature were refused (AWS's common errors).
const UNAUTHORIZED: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "InvalidSignatureException",
    "UnrecognizedClientException",
];

/// `ListHostedZonesByNameResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HostedZonesByName {
    #[serde(default)]
    hosted_zones: HostedZones,
}

#[derive(Debug, Default, Deserialize)]
struct HostedZones {
    #[serde(rename = "HostedZone", default)]
    zones: Vec<HostedZone>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HostedZone {
    id: String,
    name: String,
    #[serde(default)]
    config: ZoneConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneConfig {
    #[serde(default)]
    private_zone: bool,
}

impl HostedZonesByName {
    /// The id (without `/hostedzone/`) of the public zone called `name`. The API lists zones
    /// from `name` on in its order, so others may follow; private zones are not what a public
    /// ACME server reads.
    pub(crate) fn public_zone(&self, name: &str) -> Option<String> {
        self.hosted_zones
            .zones
            .iter()
            .find(|z| !z.config.private_zone && dns::same_name(&unescape_name(&z.name), name))
            .map(|z| zone_id(&z.id))
    }
}

/// `ListResourceRecordSetsResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RecordSets {
    #[serde(default)]
    resource_record_sets: RecordSetList,
}

#[derive(Debug, Default, Deserialize)]
struct RecordSetList {
    #[serde(rename = "ResourceRecordSet", default)]
    sets: Vec<RecordSet>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordSet {
    name: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "TTL", default)]
    ttl: Option<u32>,
    #[serde(default)]
    resource_records: ResourceRecords,
    #[serde(default)]
    set_identifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ResourceRecords {
    #[serde(rename = "ResourceRecord", default)]
    records: Vec<ResourceRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceRecord {
    value: String,
}

/// The simple (not weighted, latency or failover) TXT set at a name, as Route 53 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxtSet {
    /// The name as Route 53 wrote it, so a DELETE names it the same way.
    pub(crate) name: String,
    pub(crate) ttl: u32,
    /// The values as zone-file content: quoted strings.
    pub(crate) contents: Vec<String>,
}

impl RecordSets {
    /// The TXT set at `fqdn`, if the first set listed from `fqdn` on is that one.
    pub(crate) fn txt_at(self, fqdn: &str) -> Option<TxtSet> {
        self.resource_record_sets
            .sets
            .into_iter()
            .find(|s| {
                s.kind.eq_ignore_ascii_case("TXT")
                    && s.set_identifier.is_none()
                    && dns::same_name(&unescape_name(&s.name), fqdn)
            })
            .map(|s| TxtSet {
                name: s.name,
                ttl: s.ttl.unwrap_or(300),
                contents: s
                    .resource_records
                    .records
                    .into_iter()
                    .map(|r| r.value)
                    .collect(),
            })
    }
}

/// `ChangeResourceRecordSetsResponse` and `GetChangeResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChangeResponse {
    pub(crate) change_info: ChangeInfo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChangeInfo {
    /// `/change/C2682N5HXP0BZ4`.
    pub(crate) id: String,
    /// `PENDING` or `INSYNC`.
    pub(crate) status: String,
}

/// One change of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Delete,
}

/// A `ChangeResourceRecordSetsRequest` body: each change with the TXT set it applies to.
pub(crate) fn change_batch(comment: &str, changes: &[(Action, &TxtSet)]) -> String {
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ChangeResourceRecordSetsRequest xmlns=\"{NAMESPACE}\"><ChangeBatch>\
         <Comment>{}</Comment><Changes>",
        escape(comment)
    );
    for (action, set) in changes {
        let action = match action {
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
        };
        body.push_str(&format!(
            "<Change><Action>{action}</Action><ResourceRecordSet><Name>{}</Name>\
             <Type>TXT</Type><TTL>{}</TTL><ResourceRecords>",
            escape(&set.name),
            set.ttl
        ));
        for content in &set.contents {
            body.push_str(&format!(
                "<ResourceRecord><Value>{}</Value></ResourceRecord>",
                escape(content)
            ));
        }
        body.push_str("</ResourceRecords></ResourceRecordSet></Change>");
    }
    body.push_str("</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
    body
}

/// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// `<InvalidChangeBatch><Messages><Message>…</Message></Messages></InvalidChangeBatch>`, the
/// other shape ChangeResourceRecordSets answers a refused batch with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InvalidChangeBatch {
    #[serde(default)]
    messages: Messages,
}

#[derive(Debug, Default, Deserialize)]
struct Messages {
    #[serde(rename = "Message", default)]
    messages: Vec<String>,
}

/// The error code and message of an error body; the start of the body when it is neither shape.
pub(crate) fn error_code(body: &str) -> (String, String) {
    if let Ok(e) = quick_xml::de::from_str::<ErrorResponse>(body) {
        return (e.error.code, e.error.message);
    }
    if let Ok(e) = quick_xml::de::from_str::<InvalidChangeBatch>(body)
        && body.contains("<InvalidChangeBatch")
    {
        return ("InvalidChangeBatch".into(), e.messages.messages.join("; "));
    }
    (String::new(), body.trim().chars().take(300).collect())
}

/// The WIT error for a Route 53 answer of `status` with `body`. A change batch refused because
/// the set is not what was read (a DELETE of values that changed, a CREATE of a set that now
/// exists) and `PriorRequestNotComplete` are conflicts: they come back as 409 so that
/// [`retry::retrying`](acmebox_provider::retry::retrying) runs the round again from the read.
pub(crate) fn error_for(status: u16, retry_after: Option<u32>, body: &str) -> ProviderError {
    let (code, message) = error_code(body);
    let what = if code.is_empty() {
        format!("Route 53 answered {status}: {message}")
    } else {
        format!("Route 53 answered {status} {code}: {message}")
    };
    if status == 401 || status == 403 || UNAUTHORIZED.contains(&code.as_str()) {
        return ProviderError::Unauthorized(what);
    }
    if status == 429 || code == "Throttling" || code == "ThrottlingException" {
        return ProviderError::RateLimited(retry_after);
    }
    if code == "NoSuchHostedZone" {
        return ProviderError::ZoneNotFound(what);
    }
    if code == "PriorRequestNotComplete" || (code == "InvalidChangeBatch" && is_conflict(&message))
    {
        return ProviderError::api(409, format!("{what} (the set changed meanwhile)"));
    }
    ProviderError::api(status, what)
}

/// Whether an InvalidChangeBatch message says the set is not the one the batch expected.
fn is_conflict(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("already exists")
        || message.contains("values provided do not match")
        || message.contains("but it was not found")
}

/// `Z2ABCDEF` of `/hostedzone/Z2ABCDEF` (or of `Z2ABCDEF`).
pub(crate) fn zone_id(id: &str) -> String {
    id.trim()
        .trim_start_matches("/hostedzone/")
        .trim_matches('/')
        .to_owned()
}

/// A name as Route 53 writes it, with `\ddd` octal escapes (`\052` for `*`) undone.
fn unescape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let digits = rest
            .get(i + 1..i + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
        match digits.and_then(|d| u8::from_str_radix(d, 8).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zones_and_skips_private_ones() {
        let body = r#"<?xml version="1.0"?>
<ListHostedZonesByNameResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
<HostedZones>
 <HostedZone><Id>/hostedzone/ZPRIV</Id><Name>example.com.</Name><CallerReference>a</CallerReference>
  <Config><PrivateZone>true</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>
 <HostedZone><Id>/hostedzone/ZPUB</Id><Name>example.com.</Name><CallerReference>b</CallerReference>
  <Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>
 <HostedZone><Id>/hostedzone/ZOTHER</Id><Name>example.net.</Name><CallerReference>c</CallerReference></HostedZone>
</HostedZones><DNSName>example.com</DNSName><IsTruncated>false</IsTruncated><MaxItems>10</MaxItems>
</ListHostedZonesByNameResponse>"#;
        let zones: HostedZonesByName = quick_xml::de::from_str(body).expect("parses");
        assert_eq!(zones.public_zone("example.com").as_deref(), Some("ZPUB"));
        assert_eq!(zones.public_zone("example.org"), None);
        let empty: HostedZonesByName = quick_xml::de::from_str(
            "<ListHostedZonesByNameResponse><HostedZones></HostedZones></ListHostedZonesByNameResponse>",
        )
        .expect("parses");
        assert_eq!(empty.public_zone("example.com"), None);
    }

    #[test]
    fn reads_the_txt_set_at_a_name_only() {
        let body = r#"<ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
<ResourceRecordSets><ResourceRecordSet><Name>\052._acme-challenge.example.com.</Name><Type>TXT</Type><TTL>60</TTL>
<ResourceRecords><ResourceRecord><Value>"a"</Value></ResourceRecord><ResourceRecord><Value>"b &amp; c"</Value></ResourceRecord></ResourceRecords>
</ResourceRecordSet></ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>"#;
        let sets: RecordSets = quick_xml::de::from_str(body).expect("parses");
        let set = sets
            .txt_at("*._acme-challenge.example.com.")
            .expect("found");
        assert_eq!(set.ttl, 60);
        assert_eq!(set.contents, ["\"a\"", "\"b & c\""]);
        let sets: RecordSets = quick_xml::de::from_str(body).expect("parses");
        assert_eq!(sets.txt_at("_acme-challenge.example.com."), None);
    }

    #[test]
    fn writes_a_change_batch() {
        let set = TxtSet {
            name: "_acme-challenge.example.com.".into(),
            ttl: 60,
            contents: vec!["\"a<b\"".into()],
        };
        let body = change_batch("acmebox", &[(Action::Delete, &set), (Action::Create, &set)]);
        assert!(body.contains("<Change><Action>DELETE</Action><ResourceRecordSet><Name>_acme-challenge.example.com.</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>&quot;a&lt;b&quot;</Value>"), "{body}");
        assert!(body.contains("<Action>CREATE</Action>"));
    }

    #[test]
    fn maps_errors() {
        let error = |code: &str| {
            format!(
                "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            )
        };
        assert!(matches!(
            error_for(403, None, &error("SignatureDoesNotMatch")),
            ProviderError::Unauthorized(_)
        ));
        assert!(matches!(
            error_for(400, Some(7), &error("Throttling")),
            ProviderError::RateLimited(Some(7))
        ));
        assert!(matches!(
            error_for(404, None, &error("NoSuchHostedZone")),
            ProviderError::ZoneNotFound(_)
        ));
        assert_eq!(
            error_for(400, None, &error("PriorRequestNotComplete")).status(),
            Some(409)
        );
        let stale = "<InvalidChangeBatch><Messages><Message>Tried to delete resource record set [name='x.', type='TXT'] but the values provided do not match the current values</Message></Messages></InvalidChangeBatch>";
        assert_eq!(error_for(400, None, stale).status(), Some(409));
        assert_eq!(
            error_for(400, None, &error("InvalidInput")).status(),
            Some(400)
        );
        assert_eq!(error_for(500, None, "oops").status(), Some(500));
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(zone_id("Z123"), "Z123");
        assert_eq!(unescape_name("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape_name("a\\b"), "a\\b");
    }
}
