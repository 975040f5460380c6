//! One DNS query and the part of its reply the checks read, and the walks built on it: the SOA
//! walk to a zone apex, CNAME following, and a zone's nameservers with their addresses.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::{DnsHandle as _, FirstAnswer as _};
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::{DnsRequestOptions, Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};

use super::name::{absolute, is_at_or_below, self_and_parents};
use crate::{Error, Result};

/// The record data the checks read; everything else is [`Data::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Data {
    Soa,
    Cname(String),
    Ns(String),
    Addr(IpAddr),
    Txt(String),
    Other,
}

/// One answer record: its owner name (absolute, lower case) and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rr {
    pub(crate) owner: String,
    pub(crate) data: Data,
}

/// What a server answered, reduced to what the checks need.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) rcode: ResponseCode,
    /// The AA bit. Replies without answers are reported as authoritative: the pool does not
    /// keep the header of an empty reply, and the checks only read this bit next to answers.
    pub(crate) authoritative: bool,
    pub(crate) answers: Vec<Rr>,
    /// The owner of an SOA record in the authority section: the zone the answer came from.
    pub(crate) authority_soa: Option<String>,
    /// NS names in the authority section of an empty reply without SOA: a referral.
    pub(crate) referral: Vec<String>,
}

impl Reply {
    fn empty(rcode: ResponseCode) -> Self {
        Reply {
            rcode,
            authoritative: true,
            answers: Vec::new(),
            authority_soa: None,
            referral: Vec::new(),
        }
    }

    fn from_message(message: &Message) -> Self {
        let soa = message
            .authorities
            .iter()
            .find(|rr| matches!(rr.data, RData::SOA(_)));
        Reply {
            rcode: message.metadata.response_code,
            authoritative: message.metadata.authoritative,
            answers: message.answers.iter().map(rr).collect(),
            authority_soa: soa.map(|rr| name_text(&rr.name)),
            referral: Vec::new(),
        }
    }

    fn from_no_records(no: &NoRecords) -> Self {
        let mut reply = Reply::empty(no.response_code);
        reply.authority_soa = no.soa.as_ref().map(|soa| name_text(&soa.name));
        if reply.authority_soa.is_none() {
            reply.referral = no
                .ns
                .iter()
                .flat_map(|ns| ns.iter())
                .filter_map(|forward| match &forward.ns.data {
                    RData::NS(ns) => Some(name_text(ns)),
                    _ => None,
                })
                .collect();
        }
        reply
    }

    /// The target of a CNAME owned by `name`, if the answer has one.
    pub(crate) fn cname_of(&self, name: &str) -> Option<&str> {
        self.answers.iter().find_map(|rr| match &rr.data {
            Data::Cname(target) if rr.owner == name => Some(target.as_str()),
            _ => None,
        })
    }

    /// True for the answers a resolver gives about a name that exists or does not.
    pub(crate) fn is_usable(&self) -> bool {
        matches!(self.rcode, ResponseCode::NoError | ResponseCode::NXDomain)
    }
}

fn rr(record: &Record) -> Rr {
    let data = match &record.data {
        RData::SOA(_) => Data::Soa,
        RData::CNAME(target) => Data::Cname(name_text(target)),
        RData::NS(ns) => Data::Ns(name_text(ns)),
        RData::A(a) => Data::Addr(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Data::Addr(IpAddr::V6(aaaa.0)),
        // A TXT record is a list of character-strings; a value longer than 255 bytes is split
        // over several and is read back joined (RFC 7208 §3.3 does the same for SPF).
        RData::TXT(txt) => Data::Txt(
            txt.txt_data
                .iter()
                .map(|part| String::from_utf8_lossy(part))
                .collect(),
        ),
        _ => Data::Other,
    };
    Rr {
        owner: name_text(&record.name),
        data,
    }
}

/// A name from the wire as absolute lower-case text; names that are not valid record names
/// keep hickory's escaped form, which then fails [`absolute`] where it matters.
fn name_text(name: &Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    if text.ends_with('.') {
        text
    } else {
        text + "."
    }
}

/// Sends one query and returns the reply, or why there was none.
pub(crate) trait Transport: Send + Sync {
    fn query(
        &self,
        name: &str,
        kind: RecordType,
    ) -> impl Future<Output = std::result::Result<Reply, String>> + Send;

    /// The servers this transport asks, for messages.
    fn servers(&self) -> String;
}

/// Queries through a hickory name-server pool: UDP, with TCP when a reply is truncated, every
/// server in turn until one answers. It has no cache, so every query is sent afresh.
#[derive(Clone)]
pub(crate) struct Pool {
    pool: NameServerPool<TokioRuntimeProvider>,
    recursion_desired: bool,
    limit: Duration,
    servers: Arc<[SocketAddr]>,
}

impl Pool {
    /// A pool asking `servers` with RD set to `recursion_desired`; each attempt at one server
    /// waits at most `query_timeout`.
    pub(crate) fn new(
        servers: &[SocketAddr],
        recursion_desired: bool,
        query_timeout: Duration,
    ) -> Result<Self> {
        let mut options = ResolverOpts::default();
        options.timeout = query_timeout;
        options.recursion_desired = recursion_desired;
        options.cache_size = 0;
        let configs = servers.iter().map(|addr| {
            let mut config = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut config.connections {
                connection.port = addr.port();
            }
            config
        });
        let tls = TlsConfig::new().map_err(|err| Error::PropagationSetup {
            reason: format!("cannot set up the DNS client: {err}"),
        })?;
        let context = Arc::new(PoolContext::new(options, tls));
        let pool = NameServerPool::from_config(configs, context, TokioRuntimeProvider::new());
        // Each server may take a full timeout (UDP, then TCP after truncation) before the next.
        let attempts = u32::try_from(servers.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        Ok(Pool {
            pool,
            recursion_desired,
            limit: query_timeout.saturating_mul(attempts),
            servers: servers.into(),
        })
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("servers", &self.servers)
            .field("recursion_desired", &self.recursion_desired)
            .finish_non_exhaustive()
    }
}

impl Transport for Pool {
    async fn query(&self, name: &str, kind: RecordType) -> std::result::Result<Reply, String> {
        let name = Name::from_ascii(name).map_err(|err| format!("cannot query {name}: {err}"))?;
        let mut options = DnsRequestOptions::default();
        options.recursion_desired = self.recursion_desired;
        let answer = self
            .pool
            .lookup(Query::query(name, kind), options)
            .first_answer();
        match tokio::time::timeout(self.limit, answer).await {
            Err(_) => Err(format!("no answer within {:?}", self.limit)),
            Ok(Ok(response)) => Ok(Reply::from_message(&response)),
            Ok(Err(NetError::Dns(DnsError::NoRecordsFound(no)))) => Ok(Reply::from_no_records(&no)),
            Ok(Err(NetError::Dns(DnsError::ResponseCode(code)))) => Ok(Reply::empty(code)),
            Ok(Err(NetError::Timeout)) => Err("no answer (timed out)".into()),
            Ok(Err(err)) => Err(err.to_string()),
        }
    }

    fn servers(&self) -> String {
        list(&self.servers)
    }
}

/// `a, b, c` for messages.
pub(crate) fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The hint for a lookup that failed or could not see the zone.
const RESOLVER_HINT: &str =
    "use --resolver (the resolvers option) to point at a server that can see the zone";

/// Sends a query whose failure ends the lookup, turning both kinds of failure into errors.
async fn ask<T: Transport>(dns: &T, name: &str, kind: RecordType) -> Result<Reply> {
    let reply = dns.query(name, kind).await.map_err(|reason| Error::Dns {
        name: name.to_owned(),
        reason: format!(
            "{kind} query to {} failed: {reason}; {RESOLVER_HINT}",
            dns.servers()
        ),
    })?;
    if !reply.is_usable() {
        return Err(Error::Dns {
            name: name.to_owned(),
            reason: format!(
                "{} answered the {kind} query with {}; {RESOLVER_HINT}",
                dns.servers(),
                reply.rcode
            ),
        });
    }
    Ok(reply)
}

/// The apex of the zone `name` is in: ask SOA for `name`, then for each parent, and stop at
/// the first SOA answer. A negative answer's authority-section SOA names the zone at once.
/// A name that is a CNAME is skipped: a CNAME cannot be at a zone apex (RFC 1034 §3.6.2), and
/// the authority section then describes the target's zone, not this name's.
pub(crate) async fn zone_apex<T: Transport>(dns: &T, name: &str) -> Result<String> {
    let name = absolute(name)?;
    for candidate in self_and_parents(&name) {
        let reply = ask(dns, candidate, RecordType::SOA).await?;
        if reply.cname_of(candidate).is_some() {
            continue;
        }
        let soa_here = reply
            .answers
            .iter()
            .any(|rr| rr.owner == candidate && rr.data == Data::Soa);
        if soa_here {
            return Ok(candidate.to_owned());
        }
        if let Some(zone) = reply.authority_soa.as_deref()
            && is_at_or_below(candidate, zone)
            && absolute(zone).is_ok()
        {
            return Ok(zone.to_owned());
        }
    }
    Err(Error::Dns {
        reason: format!(
            "{} gave no SOA record for it or any parent, so its zone is unknown; {RESOLVER_HINT}",
            dns.servers()
        ),
        name,
    })
}

/// Follows the CNAMEs from `fqdn`, at most `max_hops` of them, and returns the name they end
/// at (where a TXT record must be published). A chain that comes back to a name it passed is
/// an error, as is one longer than `max_hops`.
pub(crate) async fn cname_target<T: Transport>(
    dns: &T,
    fqdn: &str,
    max_hops: usize,
) -> Result<String> {
    let start = absolute(fqdn)?;
    let mut chain = vec![start.clone()];
    loop {
        let current = chain.last().map(String::as_str).unwrap_or(start.as_str());
        let reply = ask(dns, current, RecordType::CNAME).await?;
        let Some(target) = reply.cname_of(current) else {
            return Ok(current.to_owned());
        };
        let target = absolute(target).map_err(|err| Error::Dns {
            name: current.to_owned(),
            reason: format!("its CNAME target is unusable: {err}"),
        })?;
        let looped = chain.contains(&target);
        chain.push(target);
        if looped {
            return Err(Error::CnameChain {
                name: start,
                chain,
                reason: "comes back to a name it passed",
            });
        }
        if chain.len() > max_hops + 1 {
            return Err(Error::CnameChain {
                name: start,
                chain,
                reason: "is longer than the CNAME hop limit",
            });
        }
    }
}

/// One authoritative server to poll: its NS name (none when given by the operator) and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nameserver {
    pub(crate) name: Option<String>,
    pub(crate) addr: SocketAddr,
}

/// The nameservers of `zone` (its NS records) and their A and AAAA addresses, with `port`.
/// A nameserver without any address is skipped with a warning; none with an address is an
/// error.
pub(crate) async fn nameservers<T: Transport>(
    dns: &T,
    zone: &str,
    port: u16,
) -> Result<Vec<Nameserver>> {
    let zone = absolute(zone)?;
    let reply = ask(dns, &zone, RecordType::NS).await?;
    let mut names: Vec<String> = reply
        .answers
        .iter()
        .filter(|rr| rr.owner == zone)
        .filter_map(|rr| match &rr.data {
            Data::Ns(ns) => Some(ns.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(Error::Dns {
            reason: format!(
                "{} gave no NS records for it: it is not a zone apex there; {RESOLVER_HINT}, or give the authoritative servers explicitly",
                dns.servers()
            ),
            name: zone,
        });
    }
    let mut found = Vec::new();
    let mut unresolved = Vec::new();
    for ns in &names {
        let mut addrs = Vec::new();
        for kind in [RecordType::A, RecordType::AAAA] {
            match dns.query(ns, kind).await {
                Ok(reply) => addrs.extend(reply.answers.iter().filter_map(|rr| match rr.data {
                    Data::Addr(ip) => Some(ip),
                    _ => None,
                })),
                Err(reason) => {
                    tracing::debug!(%ns, %kind, %reason, "nameserver address lookup failed")
                }
            }
        }
        addrs.sort();
        addrs.dedup();
        if addrs.is_empty() {
            unresolved.push(ns.clone());
        }
        found.extend(addrs.into_iter().map(|ip| Nameserver {
            name: Some(ns.clone()),
            addr: SocketAddr::new(ip, port),
        }));
    }
    if found.is_empty() {
        return Err(Error::Dns {
            reason: format!(
                "none of its nameservers ({}) has an address at {}; {RESOLVER_HINT}, or give the authoritative servers explicitly",
                list(&unresolved),
                dns.servers()
            ),
            name: zone,
        });
    }
    if !unresolved.is_empty() {
        tracing::warn!(%zone, nameservers = %list(&unresolved), "nameservers without an address are not checked");
    }
    Ok(found)
}

#[cfg(test)]
pub(crate) mod fake {
    //! An in-memory DNS for the cases a real server cannot show (long chains, odd replies).

    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Answers from a table; unknown questions get NXDOMAIN. Records every question asked.
    #[derive(Debug, Default)]
    pub(crate) struct FakeDns {
        pub(crate) replies: HashMap<(String, RecordType), Reply>,
        pub(crate) asked: Mutex<Vec<(String, RecordType)>>,
    }

    impl FakeDns {
        pub(crate) fn answer(&mut self, name: &str, kind: RecordType, answers: Vec<Rr>) {
            let mut reply = Reply::empty(ResponseCode::NoError);
            reply.answers = answers;
            self.replies.insert((name.to_owned(), kind), reply);
        }

        pub(crate) fn reply(&mut self, name: &str, kind: RecordType, reply: Reply) {
            self.replies.insert((name.to_owned(), kind), reply);
        }

        pub(crate) fn cname(&mut self, from: &str, to: &str) {
            self.answer(
                from,
                RecordType::CNAME,
                vec![rr(from, Data::Cname(to.into()))],
            );
        }

        pub(crate) fn asked(&self) -> Vec<(String, RecordType)> {
            self.asked.lock().unwrap().clone()
        }
    }

    pub(crate) fn rr(owner: &str, data: Data) -> Rr {
        Rr {
            owner: owner.into(),
            data,
        }
    }

    pub(crate) fn negative(rcode: ResponseCode, soa: Option<&str>) -> Reply {
        let mut reply = Reply::empty(rcode);
        reply.authority_soa = soa.map(Into::into);
        reply
    }

    impl Transport for FakeDns {
        async fn query(&self, name: &str, kind: RecordType) -> std::result::Result<Reply, String> {
            self.asked.lock().unwrap().push((name.to_owned(), kind));
            Ok(self
                .replies
                .get(&(name.to_owned(), kind))
                .cloned()
                .unwrap_or_else(|| Reply::empty(ResponseCode::NXDomain)))
        }

        fn servers(&self) -> String {
            "the fake".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{FakeDns, negative, rr};
    use super::*;

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn soa_walk_strips_labels_left_to_right() {
        let mut dns = FakeDns::default();
        dns.answer(
            "example.test.",
            RecordType::SOA,
            vec![rr("example.test.", Data::Soa)],
        );
        let zone = run(zone_apex(&dns, "A.b.Example.test")).unwrap();
        assert_eq!(zone, "example.test.");
        let asked: Vec<_> = dns.asked().into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            asked,
            ["a.b.example.test.", "b.example.test.", "example.test."]
        );
    }

    #[test]
    fn authority_soa_names_the_zone_at_once() {
        let mut dns = FakeDns::default();
        let nodata = negative(ResponseCode::NoError, Some("example.test."));
        dns.reply("a.b.example.test.", RecordType::SOA, nodata);
        assert_eq!(
            run(zone_apex(&dns, "a.b.example.test.")).unwrap(),
            "example.test."
        );
        assert_eq!(dns.asked().len(), 1);
    }

    #[test]
    fn authority_soa_of_an_unrelated_zone_is_ignored() {
        let mut dns = FakeDns::default();
        let odd = negative(ResponseCode::NXDomain, Some("other.test."));
        dns.reply("a.example.test.", RecordType::SOA, odd);
        dns.answer(
            "example.test.",
            RecordType::SOA,
            vec![rr("example.test.", Data::Soa)],
        );
        assert_eq!(
            run(zone_apex(&dns, "a.example.test")).unwrap(),
            "example.test."
        );
    }

    #[test]
    fn a_cname_is_never_a_zone_apex() {
        // The resolver followed the CNAME into delegated.test and put that zone's SOA in the
        // authority section: it must not be taken as the zone of the CNAME's owner.
        let mut dns = FakeDns::default();
        let owner = "_acme-challenge.x.example.test.";
        let mut reply = negative(ResponseCode::NoError, Some("delegated.test."));
        reply.answers = vec![rr(owner, Data::Cname("t.delegated.test.".into()))];
        dns.reply(owner, RecordType::SOA, reply);
        let nodata = negative(ResponseCode::NoError, Some("example.test."));
        dns.reply("x.example.test.", RecordType::SOA, nodata);
        assert_eq!(run(zone_apex(&dns, owner)).unwrap(), "example.test.");
    }

    #[test]
    fn soa_walk_errors() {
        let dns = FakeDns::default();
        let err = run(zone_apex(&dns, "a.example.test"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no SOA record") && err.contains("--resolver"),
            "{err}"
        );

        let mut dns = FakeDns::default();
        dns.reply(
            "a.example.test.",
            RecordType::SOA,
            negative(ResponseCode::ServFail, None),
        );
        let err = run(zone_apex(&dns, "a.example.test"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SERVFAIL") || err.contains("Server Failure"),
            "{err}"
        );
    }

    #[test]
    fn cname_chain_is_followed_to_its_end() {
        let mut dns = FakeDns::default();
        dns.cname("_acme-challenge.a.test.", "b.test.");
        dns.cname("b.test.", "C.Test.");
        assert_eq!(
            run(cname_target(&dns, "_acme-challenge.A.test", 50)).unwrap(),
            "c.test."
        );
        // No CNAME at all: the name itself.
        assert_eq!(
            run(cname_target(&dns, "plain.test", 50)).unwrap(),
            "plain.test."
        );
    }

    #[test]
    fn cname_loops_are_detected() {
        let table: [&[&str]; 3] = [
            &["a.test.", "a.test."],
            &["a.test.", "b.test.", "a.test."],
            &["a.test.", "b.test.", "c.test.", "b.test."],
        ];
        for hops in table {
            let mut dns = FakeDns::default();
            for pair in hops.windows(2) {
                dns.cname(pair[0], pair[1]);
            }
            let err = run(cname_target(&dns, hops[0], 50)).unwrap_err();
            let Error::CnameChain { chain, .. } = &err else {
                panic!("{err}");
            };
            assert_eq!(chain, hops, "{err}");
            assert!(err.to_string().contains("comes back"), "{err}");
        }
    }

    #[test]
    fn cname_hop_limit() {
        let mut dns = FakeDns::default();
        let names: Vec<String> = (0..=51).map(|i| format!("n{i}.test.")).collect();
        for pair in names.windows(2) {
            dns.cname(&pair[0], &pair[1]);
        }
        // 50 hops from n1 end at n51, which has no CNAME.
        assert_eq!(
            run(cname_target(&dns, "n1.test.", 50)).unwrap(),
            "n51.test."
        );
        // 51 hops from n0 are one too many.
        let err = run(cname_target(&dns, "n0.test.", 50)).unwrap_err();
        assert!(err.to_string().contains("hop limit"), "{err}");
    }

    #[test]
    fn nameservers_with_addresses() {
        let mut dns = FakeDns::default();
        dns.answer(
            "example.test.",
            RecordType::NS,
            vec![
                rr("example.test.", Data::Ns("ns2.example.test.".into())),
                rr("example.test.", Data::Ns("ns1.example.test.".into())),
                rr("example.test.", Data::Ns("ns3.example.test.".into())),
            ],
        );
        let v4 = |s: &str| Data::Addr(s.parse().unwrap());
        dns.answer(
            "ns1.example.test.",
            RecordType::A,
            vec![rr("ns1.example.test.", v4("127.0.0.1"))],
        );
        dns.answer(
            "ns1.example.test.",
            RecordType::AAAA,
            vec![rr("ns1.example.test.", v4("::1"))],
        );
        dns.answer(
            "ns2.example.test.",
            RecordType::A,
            vec![rr("ns2.example.test.", v4("127.0.0.2"))],
        );
        let found = run(nameservers(&dns, "Example.test", 5353)).unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|ns| (ns.name.clone().unwrap(), ns.addr.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("ns1.example.test.".to_owned(), "127.0.0.1:5353".to_owned()),
                ("ns1.example.test.".to_owned(), "[::1]:5353".to_owned()),
                ("ns2.example.test.".to_owned(), "127.0.0.2:5353".to_owned()),
            ]
        );

        let err = run(nameservers(&dns, "other.test", 53))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no NS records"), "{err}");
        dns.answer(
            "nothing.test.",
            RecordType::NS,
            vec![rr("nothing.test.", Data::Ns("ns.nowhere.test.".into()))],
        );
        let err = run(nameservers(&dns, "nothing.test", 53))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ns.nowhere.test.") && err.contains("has an address"),
            "{err}"
        );
    }
}
