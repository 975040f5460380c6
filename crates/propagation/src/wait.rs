//! Polling the authoritative servers until each serves a TXT value.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::proto::rr::RecordType;

use super::lookup::{Data, Nameserver, Pool, Transport as _, list};
use crate::{Error, Result};

/// Where a propagation check stands after one round of queries; given to the progress hook of
/// [`Resolver::wait_for_txt`](super::Resolver::wait_for_txt) after every round.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropagationStatus {
    /// The name polled (after CNAMEs), absolute.
    pub fqdn: String,
    /// The TXT value waited for.
    pub value: String,
    /// Which round this is, from 1.
    pub attempt: u32,
    /// Time since the wait started.
    pub elapsed: Duration,
    /// The time the wait gives up after.
    pub timeout: Duration,
    /// What each authoritative server answered in this round.
    pub servers: Vec<ServerStatus>,
}

impl PropagationStatus {
    /// True when every authoritative server serves the value. A server address that gave no
    /// answer does not hold the check up when another address of the same nameserver serves
    /// the value (say its IPv6 address, on a host without IPv6).
    pub fn is_complete(&self) -> bool {
        self.pending().next().is_none()
    }

    /// The servers that do not serve the value yet.
    pub fn pending(&self) -> impl Iterator<Item = &ServerStatus> {
        self.servers.iter().filter(|server| match &server.state {
            ServerState::Serving => false,
            ServerState::Missing { .. } => true,
            ServerState::Failed { .. } => !server.nameserver.as_ref().is_some_and(|name| {
                self.servers.iter().any(|other| {
                    other.nameserver.as_ref() == Some(name) && other.state == ServerState::Serving
                })
            }),
        })
    }
}

impl fmt::Display for PropagationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = self.pending().count();
        write!(
            f,
            "{} TXT {:?}: {} of {} servers serve it (attempt {}, {:.1?} of {:?})",
            self.fqdn,
            self.value,
            self.servers.len() - pending,
            self.servers.len(),
            self.attempt,
            self.elapsed,
            self.timeout
        )
    }
}

/// One authoritative server and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStatus {
    /// Its NS name, or `None` for a server given in
    /// [`PropagationOptions::authoritative_servers`](super::PropagationOptions::authoritative_servers).
    pub nameserver: Option<String>,
    /// The address queried.
    pub addr: SocketAddr,
    /// What it answered.
    pub state: ServerState,
}

impl ServerStatus {
    /// The status of the server at `addr` (named `nameserver` in the zone's NS records, if it
    /// was found there).
    pub fn new(nameserver: Option<String>, addr: SocketAddr, state: ServerState) -> Self {
        ServerStatus {
            nameserver,
            addr,
            state,
        }
    }
}

impl fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.nameserver {
            Some(name) => write!(f, "{name} ({})", self.addr)?,
            None => write!(f, "{}", self.addr)?,
        }
        match &self.state {
            ServerState::Serving => f.write_str(" serves the value"),
            ServerState::Missing { seen } if seen.is_empty() => {
                f.write_str(" serves no TXT value at the name")
            }
            ServerState::Missing { seen } => {
                let quoted: Vec<String> = seen.iter().map(|v| format!("{v:?}")).collect();
                write!(f, " serves only {}", quoted.join(", "))
            }
            ServerState::Failed { reason } => write!(f, " gave no usable answer: {reason}"),
        }
    }
}

/// What one server answered for the TXT name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerState {
    /// It serves the value (possibly among others: a domain and its wildcard share the name).
    Serving,
    /// It answered authoritatively without the value; `seen` holds the TXT values it serves at
    /// the name, if any.
    Missing {
        /// The TXT values it serves there.
        seen: Vec<String>,
    },
    /// It did not answer, refused, or is not authoritative for the name.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// The result of a successful [`Resolver::wait_for_txt`](super::Resolver::wait_for_txt).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropagationReport {
    /// The name polled (after CNAMEs), absolute.
    pub fqdn: String,
    /// Its zone; `None` when the authoritative servers were given, so no zone was looked up.
    pub zone: Option<String>,
    /// What each server answered in the last round.
    pub servers: Vec<ServerStatus>,
    /// How many rounds it took, from 1.
    pub attempts: u32,
    /// How long it took.
    pub elapsed: Duration,
}

/// What to poll and for how long.
pub(crate) struct Poll<'a> {
    pub(crate) fqdn: String,
    pub(crate) zone: Option<String>,
    pub(crate) value: &'a str,
    pub(crate) servers: Vec<Nameserver>,
    pub(crate) timeout: Duration,
    pub(crate) interval: Duration,
    pub(crate) query_timeout: Duration,
}

impl Poll<'_> {
    /// Polls every server each `interval` until all serve the value or `timeout` has passed
    /// (checked after each round, so one last round runs at the deadline).
    pub(crate) async fn run(
        self,
        mut progress: impl FnMut(&PropagationStatus),
    ) -> Result<PropagationReport> {
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            let servers = self.round().await;
            let status = PropagationStatus {
                fqdn: self.fqdn.clone(),
                value: self.value.to_owned(),
                attempt,
                elapsed: start.elapsed(),
                timeout: self.timeout,
                servers,
            };
            tracing::debug!(%status, "propagation check");
            progress(&status);
            if status.is_complete() {
                return Ok(PropagationReport {
                    fqdn: status.fqdn,
                    zone: self.zone,
                    servers: status.servers,
                    attempts: attempt,
                    elapsed: start.elapsed(),
                });
            }
            let elapsed = start.elapsed();
            if elapsed >= self.timeout {
                return Err(Error::PropagationTimeout {
                    pending: status.pending().map(ToString::to_string).collect(),
                    fqdn: status.fqdn,
                    value: status.value,
                    timeout: self.timeout,
                });
            }
            tokio::time::sleep(self.interval.min(self.timeout - elapsed)).await;
        }
    }

    /// Asks every server once, all at the same time, each through a fresh client so that no
    /// state (and no answer) carries over from the previous round.
    async fn round(&self) -> Vec<ServerStatus> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, server) in self.servers.iter().enumerate() {
            let fqdn = self.fqdn.clone();
            let value = self.value.to_owned();
            let addr = server.addr;
            let query_timeout = self.query_timeout;
            tasks.spawn(async move { (index, check(addr, &fqdn, &value, query_timeout).await) });
        }
        let mut states: Vec<Option<ServerState>> = vec![None; self.servers.len()];
        while let Some(joined) = tasks.join_next().await {
            // A task that panicked leaves its slot empty; it is reported as failed below.
            if let Ok((index, state)) = joined
                && let Some(slot) = states.get_mut(index)
            {
                *slot = Some(state);
            }
        }
        self.servers
            .iter()
            .zip(states)
            .map(|(server, state)| ServerStatus {
                nameserver: server.name.clone(),
                addr: server.addr,
                state: state.unwrap_or_else(|| ServerState::Failed {
                    reason: "the query task failed".into(),
                }),
            })
            .collect()
    }
}

/// Asks `addr`, without recursion, for the TXT values at `fqdn`.
async fn check(addr: SocketAddr, fqdn: &str, value: &str, query_timeout: Duration) -> ServerState {
    let pool = match Pool::new(&[addr], false, query_timeout) {
        Ok(pool) => pool,
        Err(err) => {
            return ServerState::Failed {
                reason: err.to_string(),
            };
        }
    };
    let reply = match pool.query(fqdn, RecordType::TXT).await {
        Ok(reply) => reply,
        Err(reason) => return ServerState::Failed { reason },
    };
    if !reply.is_usable() {
        return ServerState::Failed {
            reason: format!("it answered {}", reply.rcode),
        };
    }
    if !reply.referral.is_empty() {
        return ServerState::Failed {
            reason: format!(
                "it referred the query to {}: it is not authoritative for the zone",
                list(&reply.referral)
            ),
        };
    }
    if !reply.answers.is_empty() && !reply.authoritative {
        return ServerState::Failed {
            reason: "it answered without the AA bit: it is not authoritative for the zone".into(),
        };
    }
    // Any TXT in the answer counts, including one at the end of a CNAME the server followed
    // itself: a CA's resolver would follow it too.
    let seen: Vec<String> = reply
        .answers
        .into_iter()
        .filter_map(|rr| match rr.data {
            Data::Txt(text) => Some(text),
            _ => None,
        })
        .collect();
    if seen.iter().any(|text| text == value) {
        ServerState::Serving
    } else {
        ServerState::Missing { seen }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: Option<&str>, addr: &str, state: ServerState) -> ServerStatus {
        ServerStatus {
            nameserver: name.map(Into::into),
            addr: addr.parse().unwrap(),
            state,
        }
    }

    fn status(servers: Vec<ServerStatus>) -> PropagationStatus {
        PropagationStatus {
            fqdn: "_acme-challenge.example.test.".into(),
            value: "v".into(),
            attempt: 1,
            elapsed: Duration::ZERO,
            timeout: Duration::from_secs(60),
            servers,
        }
    }

    fn failed() -> ServerState {
        ServerState::Failed {
            reason: "no answer".into(),
        }
    }

    fn missing(seen: &[&str]) -> ServerState {
        ServerState::Missing {
            seen: seen.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn completeness_table() {
        let ns1 = Some("ns1.example.test.");
        let ns2 = Some("ns2.example.test.");
        let table = [
            (
                vec![server(ns1, "127.0.0.1:53", ServerState::Serving)],
                true,
            ),
            (
                vec![
                    server(ns1, "127.0.0.1:53", ServerState::Serving),
                    server(ns2, "127.0.0.2:53", missing(&["other"])),
                ],
                false,
            ),
            // The unreachable IPv6 address of ns1 does not count: its IPv4 address serves.
            (
                vec![
                    server(ns1, "127.0.0.1:53", ServerState::Serving),
                    server(ns1, "[::1]:53", failed()),
                ],
                true,
            ),
            // ... but an address that answers without the value does.
            (
                vec![
                    server(ns1, "127.0.0.1:53", ServerState::Serving),
                    server(ns1, "[::1]:53", missing(&[])),
                ],
                false,
            ),
            // A nameserver none of whose addresses answers is pending.
            (
                vec![
                    server(ns1, "127.0.0.1:53", ServerState::Serving),
                    server(ns2, "127.0.0.2:53", failed()),
                ],
                false,
            ),
            // Servers given by address stand alone.
            (
                vec![
                    server(None, "127.0.0.1:53", ServerState::Serving),
                    server(None, "127.0.0.2:53", failed()),
                ],
                false,
            ),
        ];
        for (servers, want) in table {
            let status = status(servers);
            assert_eq!(status.is_complete(), want, "{:#?}", status.servers);
        }
    }

    /// A one-shot DNS server on loopback: answers the first query it gets with the query's own
    /// question, a TXT "v" and the AA bit as given; returns whether the query asked recursion.
    async fn one_shot_server(authoritative: bool) -> (SocketAddr, tokio::task::JoinHandle<bool>) {
        use hickory_resolver::proto::op::{Message, MessageType};
        use hickory_resolver::proto::rr::rdata::TXT;
        use hickory_resolver::proto::rr::{RData, Record};

        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (len, peer) = socket.recv_from(&mut buf).await.unwrap();
            let request = Message::from_vec(&buf[..len]).unwrap();
            let mut response = request.clone();
            response.metadata.message_type = MessageType::Response;
            response.metadata.authoritative = authoritative;
            let name = request.queries[0].name().clone();
            let txt = RData::TXT(TXT::new(vec!["v".into()]));
            response.answers.push(Record::from_rdata(name, 60, txt));
            socket
                .send_to(&response.to_vec().unwrap(), peer)
                .await
                .unwrap();
            request.metadata.recursion_desired
        });
        (addr, task)
    }

    #[test]
    fn servers_are_asked_without_recursion_and_must_be_authoritative() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let name = "_acme-challenge.example.test.";
            let (addr, server) = one_shot_server(true).await;
            let state = check(addr, name, "v", Duration::from_secs(2)).await;
            assert!(!server.await.unwrap(), "the RD bit must be clear");
            assert_eq!(state, ServerState::Serving);

            // Lookups through the resolvers do ask for recursion.
            let (addr, server) = one_shot_server(false).await;
            let pool = Pool::new(&[addr], true, Duration::from_secs(2)).unwrap();
            pool.query(name, RecordType::TXT).await.unwrap();
            assert!(server.await.unwrap(), "the RD bit must be set");

            // A server that answers from a cache (AA clear) does not prove anything.
            let (addr, server) = one_shot_server(false).await;
            let state = check(addr, name, "v", Duration::from_secs(2)).await;
            server.await.unwrap();
            assert!(
                matches!(&state, ServerState::Failed { reason } if reason.contains("AA bit")),
                "{state:?}"
            );
        });
    }

    #[test]
    fn pending_servers_say_what_they_serve() {
        let status = status(vec![
            server(
                Some("ns1.example.test."),
                "127.0.0.1:53",
                missing(&["a", "b"]),
            ),
            server(None, "127.0.0.2:5353", missing(&[])),
            server(None, "127.0.0.3:53", failed()),
        ]);
        let pending: Vec<String> = status.pending().map(ToString::to_string).collect();
        assert_eq!(
            pending,
            [
                r#"ns1.example.test. (127.0.0.1:53) serves only "a", "b""#,
                "127.0.0.2:5353 serves no TXT value at the name",
                "127.0.0.3:53 gave no usable answer: no answer",
            ]
        );
        assert!(status.to_string().contains("0 of 3 servers"), "{status}");
    }
}
