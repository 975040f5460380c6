//! What one provider call did: its outcome, every HTTP request and socket connection it made,
//! and its log.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

pub use super::capabilities::{LogLevel, LogRecord, LogSource};
use crate::log_targets::{AUDIT, CALL};

/// Which provider entry point a call ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Loading and checking the component.
    Load,
    /// `metadata.describe`.
    Describe,
    /// `dns-provider.present`.
    Present,
    /// `dns-provider.cleanup`.
    Cleanup,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Load => "load",
            Operation::Describe => "describe",
            Operation::Present => "present",
            Operation::Cleanup => "cleanup",
        })
    }
}

/// Whether the host let a request leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Sent (its status may still be an error).
    Allowed,
    /// Refused by the egress policy or a limit; the guest got an HTTP error code.
    Denied,
}

/// One outgoing request, as the audit log records it. The query string is never recorded:
/// APIs put tokens there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// The provider's name.
    pub provider: String,
    /// The HTTP method.
    pub method: String,
    /// `http` or `https`.
    pub scheme: String,
    /// The host as the guest asked for it.
    pub host: String,
    /// The port (explicit or the scheme's default).
    pub port: u16,
    /// The path, with `?[redacted]` in place of any query.
    pub path: String,
    /// Allowed or denied.
    pub decision: Decision,
    /// Why it was denied or why it failed, operator-facing; `None` for a completed request.
    pub reason: Option<String>,
    /// The response status, when one arrived.
    pub status: Option<u16>,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// How long the request took, in milliseconds.
    pub duration_ms: u64,
}

/// One line: `GET https://host:443/path allowed 200 sent 0 B, received 446 B, 1 ms`, with the
/// reason in parentheses when there is one.
impl std::fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let decision = decision_name(self.decision);
        write!(
            f,
            "{} {}://{}:{}{} {decision} ",
            self.method, self.scheme, self.host, self.port, self.path
        )?;
        match self.status {
            Some(status) => write!(f, "{status}")?,
            None => f.write_str("-")?,
        }
        write!(
            f,
            " sent {} B, received {} B, {} ms",
            self.bytes_sent, self.bytes_received, self.duration_ms
        )?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

impl CallReport {
    /// Writes the outcome, each HTTP request and each log line, one per line, each prefixed
    /// with `prefix`: what the command-line front ends print.
    pub fn write_lines(&self, out: &mut impl std::io::Write, prefix: &str) -> std::io::Result<()> {
        match &self.outcome {
            Ok(()) => writeln!(
                out,
                "{prefix}{} {}: ok ({} ms)",
                self.provider,
                self.operation,
                self.duration.as_millis()
            )?,
            Err(e) => writeln!(out, "{prefix}{} {}: {e}", self.provider, self.operation)?,
        }
        for record in &self.audit {
            writeln!(out, "{prefix}  http {record}")?;
        }
        for record in &self.sockets {
            writeln!(out, "{prefix}  socket {record}")?;
        }
        for log in &self.logs {
            writeln!(
                out,
                "{prefix}  log {:?} {:?}: {}",
                log.level, log.source, log.message
            )?;
        }
        Ok(())
    }
}

impl AuditRecord {
    /// Emits the record as a `tracing` event (target [`AUDIT`]).
    pub(crate) fn trace(&self) {
        let decision = decision_name(self.decision);
        tracing::info!(
            target: AUDIT,
            provider = %self.provider,
            method = %self.method,
            scheme = %self.scheme,
            host = %self.host,
            port = self.port,
            path = %self.path,
            decision,
            reason = self.reason.as_deref().unwrap_or(""),
            status = self.status.unwrap_or(0),
            bytes_sent = self.bytes_sent,
            bytes_received = self.bytes_received,
            duration_ms = self.duration_ms,
            "egress"
        );
    }
}

/// One socket use, as the audit log records it: a connection to a granted DNS server (with the
/// bytes it carried), or a refused bind, connect, listen or accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketRecord {
    /// The provider's name.
    pub provider: String,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// What was asked: `tcp connect`, `tcp bind`, `tcp listen`, ...
    pub operation: String,
    /// The address asked for (the remote address; the local one for a bind).
    pub addr: SocketAddr,
    /// Allowed or denied.
    pub decision: Decision,
    /// Why it was denied, or why an allowed connection failed or was cut; `None` otherwise.
    pub reason: Option<String>,
    /// Bytes the provider sent over the connection.
    pub bytes_sent: u64,
    /// Bytes the provider received over the connection.
    pub bytes_received: u64,
    /// From the connect to the last use of the connection, in milliseconds.
    pub duration_ms: u64,
}

/// One line: `tcp connect 127.0.0.1:53 allowed sent 180 B, received 120 B, 2 ms`, with the
/// reason in parentheses when there is one.
impl std::fmt::Display for SocketRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let decision = decision_name(self.decision);
        write!(
            f,
            "{} {} {decision} sent {} B, received {} B, {} ms",
            self.operation, self.addr, self.bytes_sent, self.bytes_received, self.duration_ms
        )?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

impl SocketRecord {
    /// Emits the record as a `tracing` event (target [`AUDIT`]).
    pub(crate) fn trace(&self) {
        let decision = decision_name(self.decision);
        tracing::info!(
            target: AUDIT,
            provider = %self.provider,
            protocol = %self.protocol,
            operation = %self.operation,
            addr = %self.addr,
            decision,
            reason = self.reason.as_deref().unwrap_or(""),
            bytes_sent = self.bytes_sent,
            bytes_received = self.bytes_received,
            duration_ms = self.duration_ms,
            "socket"
        );
    }
}

/// The report of one provider call. Serialises for `--json`; the error becomes its message.
#[derive(Debug, Serialize)]
pub struct CallReport {
    /// The provider's name.
    pub provider: String,
    /// Which entry point ran.
    pub operation: Operation,
    /// Success, or the error (deadline, memory, trap, the provider's own error...).
    #[serde(serialize_with = "serialize_outcome")]
    pub outcome: crate::Result<()>,
    /// Every HTTP request the call made or tried.
    pub audit: Vec<AuditRecord>,
    /// Every socket connection the call made, and every socket use it was refused.
    pub sockets: Vec<SocketRecord>,
    /// Everything the call logged, stdout and stderr included, secrets redacted.
    pub logs: Vec<LogRecord>,
    /// Wall-clock time of the call.
    #[serde(serialize_with = "serialize_millis", rename = "duration_ms")]
    pub duration: Duration,
}

impl CallReport {
    /// The outcome's error, if the call failed.
    pub fn error(&self) -> Option<&crate::Error> {
        self.outcome.as_ref().err()
    }

    /// True when the call succeeded.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }

    /// `ok`, or the [kind](crate::Error::kind) of the call's error (`zone-not-found`,
    /// `deadline`, `trap`, ...).
    pub fn outcome_kind(&self) -> &'static str {
        match &self.outcome {
            Ok(()) => "ok",
            Err(e) => e.kind(),
        }
    }

    /// Every HTTP request and socket use of the call on one line, oldest first, `; ` between
    /// them: `GET https://api.example.com:443/zones?[redacted] allowed 200`, and the reason
    /// in parentheses for a refused or failed one; `tcp connect 192.0.2.53:53 allowed` for a
    /// socket. Empty when the call made none. Built from the redacted records: no query string
    /// and no secret config value appears in it.
    pub fn audit_summary(&self) -> String {
        let requests = self.audit.iter().map(|r| {
            let status = r.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
            let line = format!(
                "{} {}://{}:{}{} {} {status}",
                r.method,
                r.scheme,
                r.host,
                r.port,
                r.path,
                decision_name(r.decision)
            );
            with_reason(line, r.reason.as_deref())
        });
        let sockets = self.sockets.iter().map(|s| {
            let line = format!("{} {} {}", s.operation, s.addr, decision_name(s.decision));
            with_reason(line, s.reason.as_deref())
        });
        requests.chain(sockets).collect::<Vec<_>>().join("; ")
    }

    /// Emits the call's end as one `tracing` event at debug (target [`CALL`]).
    pub(crate) fn trace(&self) {
        tracing::debug!(
            target: CALL,
            provider = %self.provider,
            operation = %self.operation,
            outcome = self.outcome_kind(),
            error = self.error().map(tracing::field::display),
            duration_ms = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            requests = self.audit.len(),
            connections = self.sockets.len(),
            "call"
        );
    }
}

fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Allowed => "allowed",
        Decision::Denied => "denied",
    }
}

fn with_reason(line: String, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{line} ({reason})"),
        None => line,
    }
}

fn serialize_outcome<S: Serializer>(outcome: &crate::Result<()>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "lowercase")]
    enum Shown {
        Ok,
        Error(String),
    }
    match outcome {
        Ok(()) => Shown::Ok.serialize(s),
        Err(e) => Shown::Error(e.to_string()).serialize(s),
    }
}

fn serialize_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `path?query` with the query replaced by `[redacted]`.
pub(crate) fn redact_query(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, _)) => format!("{path}?[redacted]"),
        None => path_and_query.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LimitExceeded, ProviderError};

    fn report(outcome: crate::Result<()>) -> CallReport {
        CallReport {
            provider: "pdns".into(),
            operation: Operation::Present,
            outcome,
            audit: vec![
                AuditRecord {
                    provider: "pdns".into(),
                    method: "GET".into(),
                    scheme: "https".into(),
                    host: "dns.example.test".into(),
                    port: 443,
                    path: "/zones?[redacted]".into(),
                    decision: Decision::Allowed,
                    reason: None,
                    status: Some(200),
                    bytes_sent: 0,
                    bytes_received: 10,
                    duration_ms: 3,
                },
                AuditRecord {
                    provider: "pdns".into(),
                    method: "PATCH".into(),
                    scheme: "https".into(),
                    host: "192.0.2.1".into(),
                    port: 443,
                    path: "/zones/example.test.".into(),
                    decision: Decision::Denied,
                    reason: Some("not in the allow list".into()),
                    status: None,
                    bytes_sent: 0,
                    bytes_received: 0,
                    duration_ms: 0,
                },
            ],
            sockets: vec![SocketRecord {
                provider: "pdns".into(),
                protocol: "tcp".into(),
                operation: "tcp connect".into(),
                addr: SocketAddr::from(([192, 0, 2, 53], 53)),
                decision: Decision::Allowed,
                reason: None,
                bytes_sent: 12,
                bytes_received: 34,
                duration_ms: 1,
            }],
            logs: Vec::new(),
            duration: Duration::from_millis(5),
        }
    }

    #[test]
    fn audit_summary_is_one_line_of_every_request_and_socket() {
        assert_eq!(
            report(Ok(())).audit_summary(),
            "GET https://dns.example.test:443/zones?[redacted] allowed 200; \
             PATCH https://192.0.2.1:443/zones/example.test. denied - (not in the allow list); \
             tcp connect 192.0.2.53:53 allowed"
        );
        let mut empty = report(Ok(()));
        empty.audit.clear();
        empty.sockets.clear();
        assert_eq!(empty.audit_summary(), "");
    }

    #[test]
    fn outcome_kinds_name_the_error() {
        let failed = |error| {
            report(Err(crate::Error::ProviderFailed {
                provider: "pdns".into(),
                operation: Operation::Present,
                error,
            }))
        };
        let limited = |limit| {
            report(Err(crate::Error::ProviderLimit {
                provider: "pdns".into(),
                operation: Operation::Present,
                limit,
            }))
        };
        let cases = [
            (report(Ok(())), "ok"),
            (
                failed(ProviderError::ZoneNotFound("no zone".into())),
                "zone-not-found",
            ),
            (
                failed(ProviderError::Api {
                    status: 500,
                    message: "boom".into(),
                }),
                "api-error",
            ),
            (
                limited(LimitExceeded::Deadline(Duration::from_secs(1))),
                "deadline",
            ),
            (limited(LimitExceeded::Memory(1 << 20)), "memory-limit"),
            (
                report(Err(crate::Error::ProviderTrap {
                    provider: "pdns".into(),
                    operation: Operation::Present,
                    message: "unreachable".into(),
                })),
                "trap",
            ),
        ];
        for (report, want) in cases {
            assert_eq!(report.outcome_kind(), want, "{:?}", report.outcome);
        }
    }
}
