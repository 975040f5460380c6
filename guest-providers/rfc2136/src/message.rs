//! The DNS messages the provider sends, and what the server's answers mean.
//!
//! * An UPDATE (RFC 2136 §2) that adds one TXT RR to an RRset (§2.5.1) or deletes one TXT RR
//!   from it by its RDATA (class NONE, §2.5.4), with no prerequisites: other values at the name
//!   stay, adding a value that is there and deleting one that is not are both no-ops that the
//!   server answers NOERROR (§3.4.2.2, §3.4.2.4).
//! * A query for the SOA of a name, whose answer names the zone holding it (RFC 2136 §4.3).

use acmebox_provider::ProviderError;
use hickory_proto::op::{Message, Query, ResponseCode, update_message};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record, RecordSet, RecordType};

/// The longest character-string in a TXT RDATA (RFC 1035 §3.3).
const TXT_STRING_MAX: usize = 255;

/// What an UPDATE does to the TXT RRset at a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add one RR (RFC 2136 §2.5.1).
    Add,
    /// Delete one RR by its RDATA (RFC 2136 §2.5.4).
    Delete,
}

/// `text` as an absolute DNS name; `what` says which name it is in the error.
pub fn name(text: &str, what: &str) -> Result<Name, ProviderError> {
    let text = text.trim();
    match Name::from_ascii(text) {
        Ok(mut name) => {
            name.set_fqdn(true);
            Ok(name)
        }
        Err(e) => Err(ProviderError::Other(format!(
            "the {what} {text} is not a DNS name: {e}"
        ))),
    }
}

/// The UPDATE to `zone` that makes `change` to the TXT RR at `fqdn` holding `value`.
pub fn update(
    change: Change,
    zone: &Name,
    fqdn: &Name,
    value: &str,
    ttl: u32,
) -> Result<Message, ProviderError> {
    // hickory's builders assert this; an error is kinder than a trap.
    if !zone.zone_of(fqdn) {
        return Err(ProviderError::Other(format!(
            "{fqdn} is not in zone {zone}, so an update of that zone cannot change it"
        )));
    }
    // A DNS-01 value is 43 characters; anything longer is split into strings of 255 octets.
    let strings: Vec<&[u8]> = if value.is_empty() {
        vec![b""]
    } else {
        value.as_bytes().chunks(TXT_STRING_MAX).collect()
    };
    let mut rrset = RecordSet::with_ttl(fqdn.clone(), RecordType::TXT, ttl);
    rrset.add_rdata(RData::TXT(TXT::from_bytes(strings)));
    Ok(match change {
        Change::Add => update_message::append(rrset, zone.clone(), false, false),
        Change::Delete => update_message::delete_by_rdata(rrset, zone.clone(), false),
    })
}

/// A query for the SOA RRset of `name`, not recursive: the server asked is the primary.
pub fn soa_query(name: &Name) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name.clone(), RecordType::SOA));
    message
}

/// What the answer to [`soa_query`] for `name` says: `Some(zone)` when it holds the SOA of a
/// zone that is `name` or one of its ancestors, `None` when the zone must be looked for higher
/// up, an error when the server failed.
pub fn zone_in_answer(answer: &Message, name: &Name) -> Result<Option<Name>, ProviderError> {
    match answer.metadata.response_code {
        // The SOA is in the answer section at the apex, else in the authority section of a
        // negative answer (RFC 2308 §3).
        ResponseCode::NoError | ResponseCode::NXDomain => {
            let zone = closest_owner(
                answer.answers.iter().chain(&answer.authorities),
                RecordType::SOA,
                name,
            );
            if zone.is_some() {
                return Ok(zone);
            }
            // A referral (RFC 1034 §4.3.2): the name is in a child zone that the server
            // delegates, so an update of the parent would land below the cut, unseen.
            let cut = closest_owner(answer.authorities.iter(), RecordType::NS, name);
            match cut {
                Some(child) if !answer.metadata.authoritative => {
                    Err(ProviderError::ZoneNotFound(format!(
                        "{name} is in zone {child}, which the server delegates to other name \
                         servers; point `server` at that zone's primary"
                    )))
                }
                _ => Ok(None),
            }
        }
        // Not a zone of this server: its parent may be.
        ResponseCode::Refused | ResponseCode::NotAuth => Ok(None),
        code => Err(ProviderError::api(
            u16::from(code),
            format!(
                "the server answered {} to an SOA query while looking for the zone of {name}",
                rcode_name(code)
            ),
        )),
    }
}

/// The longest owner of a `kind` record among `records` that is `name` or one of its ancestors.
fn closest_owner<'a>(
    records: impl Iterator<Item = &'a Record>,
    kind: RecordType,
    name: &Name,
) -> Option<Name> {
    records
        .filter(|r| r.record_type() == kind)
        .map(|r| &r.name)
        .filter(|owner| !owner.is_root() && owner.zone_of(name))
        .max_by_key(|owner| owner.num_labels())
        .cloned()
}

/// What the RCODE of the answer to an UPDATE (RFC 2136 §2.2) means for the caller.
pub fn update_outcome(
    code: ResponseCode,
    key_name: &Name,
    zone: &Name,
    fqdn: &Name,
) -> Result<(), ProviderError> {
    match code {
        ResponseCode::NoError => Ok(()),
        ResponseCode::Refused => Err(ProviderError::Unauthorized(format!(
            "the server refused the update: its update policy does not let key {key_name} change \
             TXT at {fqdn} in zone {zone}; grant it (see the provider's README for BIND and Knot)"
        ))),
        ResponseCode::NotAuth => Err(ProviderError::ZoneNotFound(format!(
            "the server is not authoritative for zone {zone}; point `server` at the zone's primary"
        ))),
        ResponseCode::NotZone => Err(ProviderError::ZoneNotFound(format!(
            "the server says {fqdn} is not in zone {zone} (NOTZONE): the name may be delegated \
             to a child zone"
        ))),
        code => Err(ProviderError::api(
            u16::from(code),
            format!(
                "the server answered {} to the update of TXT at {fqdn} in zone {zone}",
                rcode_name(code)
            ),
        )),
    }
}

/// The mnemonic of an RCODE (RFC 1035 §4.1.1, RFC 2136 §2.2), or its number.
pub fn rcode_name(code: ResponseCode) -> String {
    let name = match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        other => return format!("RCODE {}", u16::from(other)),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::DNSClass;
    use hickory_proto::rr::rdata::NS;
    use hickory_proto::rr::rdata::SOA;

    use super::*;

    fn n(text: &str) -> Name {
        let Ok(name) = name(text, "test name") else {
            panic!("{text}");
        };
        name
    }

    fn txt_of(record: &Record) -> Vec<u8> {
        let RData::TXT(txt) = &record.data else {
            panic!("not TXT: {record:?}");
        };
        txt.txt_data
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect()
    }

    #[test]
    fn adds_one_rr() {
        let zone = n("rfc2136.test.");
        let fqdn = n("_acme-challenge.www.rfc2136.test.");
        let Ok(message) = update(Change::Add, &zone, &fqdn, "value-1", 60) else {
            panic!("update");
        };
        assert_eq!(message.metadata.op_code, OpCode::Update);
        assert_eq!(message.queries.len(), 1);
        assert_eq!(message.queries[0].name(), &zone);
        assert_eq!(message.queries[0].query_type(), RecordType::SOA);
        assert!(message.answers.is_empty(), "no prerequisites");
        let [rr] = message.authorities.as_slice() else {
            panic!("{:?}", message.authorities);
        };
        assert_eq!(rr.name, fqdn);
        assert_eq!(rr.dns_class, DNSClass::IN);
        assert_eq!(rr.ttl, 60);
        assert_eq!(txt_of(rr), b"value-1");
    }

    #[test]
    fn deletes_one_rr_by_rdata() {
        let zone = n("rfc2136.test");
        let fqdn = n("_acme-challenge.rfc2136.test");
        let Ok(message) = update(Change::Delete, &zone, &fqdn, "value-1", 60) else {
            panic!("update");
        };
        let [rr] = message.authorities.as_slice() else {
            panic!("{:?}", message.authorities);
        };
        assert_eq!(rr.dns_class, DNSClass::NONE);
        assert_eq!(rr.ttl, 0);
        assert_eq!(txt_of(rr), b"value-1");
        // It survives the wire: class NONE with the RDATA, not an RRset deletion.
        let Ok(wire) = message.to_vec() else {
            panic!("encode");
        };
        let Ok(decoded) = Message::from_vec(&wire) else {
            panic!("decode");
        };
        assert_eq!(decoded.authorities[0].dns_class, DNSClass::NONE);
        assert_eq!(txt_of(&decoded.authorities[0]), b"value-1");
    }

    #[test]
    fn long_values_are_split_and_names_outside_the_zone_refused() {
        let zone = n("rfc2136.test.");
        let fqdn = n("_acme-challenge.rfc2136.test.");
        let value = "x".repeat(300);
        let Ok(message) = update(Change::Add, &zone, &fqdn, &value, 60) else {
            panic!("update");
        };
        let RData::TXT(txt) = &message.authorities[0].data else {
            panic!("not TXT");
        };
        assert_eq!(txt.txt_data.len(), 2);
        assert_eq!(txt.txt_data[0].len(), 255);

        let outside = n("_acme-challenge.example.test.");
        assert!(matches!(
            update(Change::Add, &zone, &outside, "v", 60),
            Err(ProviderError::Other(_))
        ));
        let sibling = n("_acme-challenge.xrfc2136.test.");
        assert!(update(Change::Delete, &zone, &sibling, "v", 60).is_err());
    }

    fn answer(code: ResponseCode, answers: &[&str], authorities: &[&str]) -> Message {
        let soa = |owner: &str| {
            let rdata = SOA::new(n("ns.test."), n("admin.test."), 1, 2, 3, 4, 5);
            Record::from_rdata(n(owner), 60, RData::SOA(rdata))
        };
        let mut message = Message::response(1, OpCode::Query);
        message.metadata.response_code = code;
        message.add_answers(answers.iter().map(|o| soa(o)));
        message.add_authorities(authorities.iter().map(|o| soa(o)));
        message
    }

    #[test]
    fn zones_in_soa_answers() {
        let name = n("_acme-challenge.www.rfc2136.test.");
        let cases: [(Message, Option<&str>); 8] = [
            // Negative answers carry the zone's SOA in the authority section.
            (
                answer(ResponseCode::NXDomain, &[], &["rfc2136.test."]),
                Some("rfc2136.test."),
            ),
            (
                answer(ResponseCode::NoError, &[], &["RFC2136.test."]),
                Some("rfc2136.test."),
            ),
            // The apex answers with its SOA.
            (
                answer(ResponseCode::NoError, &["www.rfc2136.test."], &[]),
                Some("www.rfc2136.test."),
            ),
            // An SOA that is not an ancestor (a sibling, a child, the root) does not count.
            (answer(ResponseCode::NoError, &[], &["other.test."]), None),
            (
                answer(ResponseCode::NoError, &[], &["x.www.rfc2136.test."]),
                None,
            ),
            (answer(ResponseCode::NoError, &[], &["."]), None),
            // A referral, and a server that is not authoritative: look higher up.
            (answer(ResponseCode::NoError, &[], &[]), None),
            (answer(ResponseCode::Refused, &[], &[]), None),
        ];
        for (message, want) in cases {
            let got = zone_in_answer(&message, &name);
            assert_eq!(got, Ok(want.map(n)), "{message}");
        }
        // A referral to a child zone that holds the name is a zone this server does not have.
        let mut referral = answer(ResponseCode::NoError, &[], &[]);
        let ns =
            |owner: &str| Record::from_rdata(n(owner), 60, RData::NS(NS(n("ns.elsewhere.test."))));
        referral.add_authority(ns("www.rfc2136.test."));
        let message = match zone_in_answer(&referral, &name) {
            Err(ProviderError::ZoneNotFound(message)) => message,
            other => panic!("{other:?}"),
        };
        assert!(message.contains("in zone www.rfc2136.test., which the server delegates"));
        // The zone's own NS in an authoritative answer, or NS records elsewhere, are no referral.
        referral.metadata.authoritative = true;
        assert_eq!(zone_in_answer(&referral, &name), Ok(None));
        let mut elsewhere = answer(ResponseCode::NoError, &[], &[]);
        elsewhere.add_authority(ns("other.test."));
        assert_eq!(zone_in_answer(&elsewhere, &name), Ok(None));

        let failed = zone_in_answer(&answer(ResponseCode::ServFail, &[], &[]), &name);
        assert_eq!(failed.map_err(|e| e.status()), Err(Some(2)));
    }

    #[test]
    fn rcodes() {
        let key = n("acme-key.");
        let zone = n("rfc2136.test.");
        let fqdn = n("_acme-challenge.rfc2136.test.");
        let cases: [(ResponseCode, &str, Option<u16>, &str); 9] = [
            (ResponseCode::NoError, "ok", None, ""),
            (
                ResponseCode::Refused,
                "unauthorized",
                None,
                "does not let key acme-key. change TXT at _acme-challenge.rfc2136.test.",
            ),
            (
                ResponseCode::NotAuth,
                "zone-not-found",
                None,
                "not authoritative for zone rfc2136.test.",
            ),
            (ResponseCode::NotZone, "zone-not-found", None, "NOTZONE"),
            (ResponseCode::ServFail, "api-error", Some(2), "SERVFAIL"),
            (ResponseCode::FormErr, "api-error", Some(1), "FORMERR"),
            (ResponseCode::NotImp, "api-error", Some(4), "NOTIMP"),
            (ResponseCode::YXRRSet, "api-error", Some(7), "YXRRSET"),
            (ResponseCode::Unknown(15), "api-error", Some(15), "RCODE 15"),
        ];
        for (code, kind, status, text) in cases {
            let got = update_outcome(code, &key, &zone, &fqdn);
            let (got_kind, message) = match &got {
                Ok(()) => ("ok", String::new()),
                Err(ProviderError::Unauthorized(m)) => ("unauthorized", m.clone()),
                Err(ProviderError::ZoneNotFound(m)) => ("zone-not-found", m.clone()),
                Err(ProviderError::ApiError(e)) => ("api-error", e.message.clone()),
                Err(other) => panic!("{code:?}: {other:?}"),
            };
            assert_eq!(got_kind, kind, "{code:?}");
            assert_eq!(got.err().and_then(|e| e.status()), status, "{code:?}");
            assert!(message.contains(text), "{code:?}: {message}");
        }
    }
}
