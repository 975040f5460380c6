//! What the authoritative servers serve at a name, seen through [`crate::propagation`].
//!
//! [`Resolver::wait_for_txt`] waits for one value to appear. The kit also needs to see values
//! go away, and two values at once. One polling round for a value nobody publishes (a random
//! sentinel) shows every TXT value each server serves at the name: every server is then
//! [`ServerState::Missing`], with what it serves in `seen`. [`Servers::wait_until`] repeats
//! such rounds until each server serves what it should and nothing it should not.

use std::time::{Duration, Instant};

use crate::Result;
use acmebox_propagation::{PropagationOptions, Resolver, ServerState, ServerStatus};

/// Polls the authoritative servers of the name the kit works at.
#[derive(Debug, Clone)]
pub(super) struct Servers {
    /// A resolver whose wait gives up after its first round.
    one_round: Resolver,
    /// A value no one publishes.
    sentinel: String,
    /// How long [`Self::wait_until`] waits.
    pub(super) timeout: Duration,
    /// The pause between its rounds.
    interval: Duration,
}

/// What the servers should serve at a name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expect<'a> {
    /// Values every server must serve.
    pub(super) served: &'a [&'a str],
    /// Values no server may serve.
    pub(super) absent: &'a [&'a str],
}

impl Servers {
    /// Servers polled as `options` say (its timeout and interval are the kit's waits).
    pub(super) fn new(options: &PropagationOptions, sentinel: String) -> Result<Self> {
        let mut one_round = options.clone();
        one_round.timeout = Duration::ZERO;
        Ok(Servers {
            one_round: Resolver::new(one_round)?,
            sentinel,
            timeout: options.timeout,
            interval: options.interval,
        })
    }

    /// Polls until every server of `fqdn`'s zone meets `expect`, for at most
    /// [`timeout`](Self::timeout). Returns how long that took, or a sentence saying what each
    /// server that did not meet it served.
    pub(super) async fn wait_until(
        &self,
        fqdn: &str,
        expect: Expect<'_>,
    ) -> std::result::Result<Duration, String> {
        let started = Instant::now();
        loop {
            let unmet = match self.round(fqdn).await {
                Ok(servers) => unmet(&servers, expect),
                Err(err) => vec![err.to_string()],
            };
            if unmet.is_empty() {
                return Ok(started.elapsed());
            }
            let elapsed = started.elapsed();
            if elapsed >= self.timeout {
                return Err(format!("after {:.1?}: {}", self.timeout, unmet.join("; ")));
            }
            tokio::time::sleep(self.interval.min(self.timeout - elapsed)).await;
        }
    }

    /// What each server answers for `fqdn` in one round.
    async fn round(&self, fqdn: &str) -> Result<Vec<ServerStatus>> {
        let mut last = None;
        let result = self
            .one_round
            .wait_for_txt(fqdn, &self.sentinel, |status| {
                last = Some(status.servers.clone());
            })
            .await;
        match (result, last) {
            (_, Some(servers)) => Ok(servers),
            (Err(err), None) => Err(err.into()),
            (Ok(_), None) => Err(acmebox_propagation::Error::Dns {
                name: fqdn.to_owned(),
                reason: "the polling round reported no server".into(),
            }
            .into()),
        }
    }
}

/// A sentence for each server that does not meet `expect`; empty when all do. A server that
/// gave no answer is excused when another address of the same nameserver meets it (as
/// [`acmebox_propagation::PropagationStatus::pending`] does).
fn unmet(servers: &[ServerStatus], expect: Expect<'_>) -> Vec<String> {
    let meets = |server: &ServerStatus| match &server.state {
        ServerState::Missing { seen } => {
            expect.served.iter().all(|v| seen.iter().any(|s| s == v))
                && !expect.absent.iter().any(|v| seen.iter().any(|s| s == v))
        }
        // Only the sentinel makes a server `Serving`, and no one publishes it.
        _ => false,
    };
    servers
        .iter()
        .filter(|server| !meets(server))
        .filter(|server| {
            !matches!(server.state, ServerState::Failed { .. })
                || !server.nameserver.as_ref().is_some_and(|name| {
                    servers
                        .iter()
                        .any(|other| other.nameserver.as_ref() == Some(name) && meets(other))
                })
        })
        .map(|server| describe(server, expect))
        .collect()
}

fn describe(server: &ServerStatus, expect: Expect<'_>) -> String {
    let who = match &server.nameserver {
        Some(name) => format!("{name} ({})", server.addr),
        None => server.addr.to_string(),
    };
    let seen = match &server.state {
        ServerState::Missing { seen } => seen,
        ServerState::Failed { reason } => return format!("{who} gave no usable answer: {reason}"),
        _ => return format!("{who} serves a value no one should have published"),
    };
    let missing: Vec<&&str> = expect
        .served
        .iter()
        .filter(|v| !seen.iter().any(|s| s == *v))
        .collect();
    let extra: Vec<&&str> = expect
        .absent
        .iter()
        .filter(|v| seen.iter().any(|s| s == *v))
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("does not serve {}", quoted(&missing)));
    }
    if !extra.is_empty() {
        parts.push(format!("still serves {}", quoted(&extra)));
    }
    let serves = if seen.is_empty() {
        "no TXT value at all".to_owned()
    } else {
        quoted(&seen.iter().collect::<Vec<_>>())
    };
    format!("{who} {} (it serves {serves})", parts.join(" and "))
}

fn quoted<T: AsRef<str>>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| format!("{:?}", v.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: Option<&str>, addr: &str, state: ServerState) -> ServerStatus {
        ServerStatus::new(name.map(Into::into), addr.parse().unwrap(), state)
    }

    fn seen(values: &[&str]) -> ServerState {
        ServerState::Missing {
            seen: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn expectations_table() {
        let both = Expect {
            served: &["a", "b"],
            absent: &[],
        };
        let only_b = Expect {
            served: &["b"],
            absent: &["a"],
        };
        let failed = ServerState::Failed {
            reason: "timed out".into(),
        };
        let ns = Some("ns1.example.test.");
        let table: Vec<(Vec<ServerStatus>, Expect<'_>, Vec<&str>)> = vec![
            (
                vec![server(None, "127.0.0.1:53", seen(&["b", "a"]))],
                both,
                vec![],
            ),
            (
                vec![server(None, "127.0.0.1:53", seen(&["a"]))],
                both,
                vec![r#"127.0.0.1:53 does not serve "b" (it serves "a")"#],
            ),
            (
                vec![server(ns, "127.0.0.1:53", seen(&["a", "b"]))],
                only_b,
                vec![r#"ns1.example.test. (127.0.0.1:53) still serves "a" (it serves "a", "b")"#],
            ),
            (
                vec![server(None, "127.0.0.1:53", seen(&[]))],
                only_b,
                vec![r#"127.0.0.1:53 does not serve "b" (it serves no TXT value at all)"#],
            ),
            // An unreachable address of a nameserver whose other address answers is excused...
            (
                vec![
                    server(ns, "127.0.0.1:53", seen(&["b"])),
                    server(ns, "[::1]:53", failed.clone()),
                ],
                only_b,
                vec![],
            ),
            // ... a server given by address is not.
            (
                vec![
                    server(None, "127.0.0.1:53", seen(&["b"])),
                    server(None, "127.0.0.2:53", failed),
                ],
                only_b,
                vec!["127.0.0.2:53 gave no usable answer: timed out"],
            ),
        ];
        for (servers, expect, want) in table {
            assert_eq!(unmet(&servers, expect), want, "{servers:?}");
        }
    }
}
