//! `acmebox serve`: an HTTP service speaking lego's `httpreq` protocol, so many clients (lego,
//! acme.sh, scripts) share sandboxed providers without holding provider credentials.
//!
//! * `POST <base>/present` and `POST <base>/cleanup`, JSON body `{"fqdn", "value"}` (lego's
//!   default mode) or `{"domain", "token", "keyAuth"}` (`HTTPREQ_MODE=RAW`);
//! * one provider or several: with one, any `<base>` reaches it; with several, the last segment
//!   of `<base>` names the provider (`/pdns/present`, so lego's `HTTPREQ_ENDPOINT` is
//!   `http://host:port/pdns`), and an unknown name is a `404` listing the names served;
//! * optional HTTP basic auth;
//! * `200` with a JSON summary when the provider succeeded, `400` for a malformed request,
//!   `401` without valid credentials, `502` when the provider failed (its redacted error in
//!   the body), `404` / `405` for other paths and methods.
//!
//! Each request to a served provider's `present` or `cleanup` is logged as one `tracing` event
//! (target [`LOG_TARGET`]): see [`HttpreqServer::serve`].
//!
//! The service keeps no state between requests (each call gets a fresh sandbox instance), so
//! any number of copies can run behind a load balancer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{DnsRequest, HookRunner, invalid};
use crate::{Error, Result};
use acmebox_sandbox::{CallReport, Operation};

/// The largest request body read; a request is about 100 bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Connections served at once; more wait for a slot.
pub const MAX_CONNECTIONS: usize = 1024;

/// The `tracing` target of the line [`HttpreqServer::serve`] writes per call.
pub const LOG_TARGET: &str = "acmebox::serve";

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP basic-auth credentials a client must send.
#[derive(Clone)]
pub struct BasicAuth {
    expected: String,
}

impl BasicAuth {
    /// Credentials `username` / `password`.
    pub fn new(username: &str, password: &str) -> Self {
        BasicAuth {
            expected: base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{password}")),
        }
    }

    fn admits(&self, request: &Request<Incoming>) -> bool {
        let Some(value) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, credentials)) = value.split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("basic")
            && constant_time_eq(credentials.trim().as_bytes(), self.expected.as_bytes())
    }
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicAuth([redacted])")
    }
}

/// Equality whose time depends on the lengths only, not on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `httpreq` service on a bound listener.
#[derive(Debug)]
pub struct HttpreqServer {
    addr: SocketAddr,
    listener: TcpListener,
    runners: Vec<HookRunner>,
    auth: Option<BasicAuth>,
}

impl HttpreqServer {
    /// Listens on `addr` (port 0 picks a free port) for one provider.
    pub async fn bind(
        addr: SocketAddr,
        runner: HookRunner,
        auth: Option<BasicAuth>,
    ) -> Result<Self> {
        Self::bind_providers(addr, vec![runner], auth).await
    }

    /// Listens on `addr` for several providers, each at `/<its name>/present` and
    /// `/<its name>/cleanup` (see the module docs). Calls of one provider never wait for
    /// another's: each has its own concurrency limit, and a guest busy on the CPU gives its
    /// thread back at every epoch tick.
    pub async fn bind_providers(
        addr: SocketAddr,
        runners: Vec<HookRunner>,
        auth: Option<BasicAuth>,
    ) -> Result<Self> {
        if runners.is_empty() {
            return Err(invalid("`serve` needs at least one provider".to_owned()));
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|error| Error::ServiceListen { addr, error })?;
        let addr = listener
            .local_addr()
            .map_err(|error| Error::ServiceListen { addr, error })?;
        Ok(HttpreqServer {
            addr,
            listener,
            runners,
            auth,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the task is dropped or aborted.
    ///
    /// Each request to a provider's `present` or `cleanup` is one `tracing` event, target
    /// [`LOG_TARGET`], message `call`, with the fields `provider`, `operation`, `fqdn` (the
    /// record name; never the value or a key authorization), `outcome` (`ok` or
    /// [`CallReport::outcome_kind`]), `error` (the provider's redacted error, when it failed),
    /// `status` (the HTTP status answered), `duration_ms`, `requests` and `connections` (how
    /// many the provider made) and `audit` ([`CallReport::audit_summary`]). It is at info
    /// when the provider succeeded and at warn when it failed. A request refused before any
    /// provider ran (bad credentials, a malformed body) is one event at info with `provider`,
    /// `operation`, `outcome` (`unauthorized` or `invalid-request`) and `status`; why it was
    /// refused goes to the client only, since a malformed body may hold a key authorization.
    pub async fn serve(self) {
        let shared = Arc::new((self.runners, self.auth));
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "httpreq service: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let shared = shared.clone();
                    async move {
                        Ok::<_, Infallible>(answer(&shared.0, shared.1.as_ref(), request).await)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(err) = connection.await {
                    tracing::debug!(%peer, error = %err, "httpreq service: connection ended");
                }
                drop(slot);
            });
        }
    }
}

/// The two request bodies of lego's `httpreq` provider.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Body {
    Record {
        fqdn: String,
        value: String,
    },
    Raw {
        domain: String,
        token: String,
        #[serde(rename = "keyAuth")]
        key_auth: String,
    },
}

/// The request a body of lego's `httpreq` protocol asks for: `{"fqdn", "value"}`, or
/// `{"domain", "token", "keyAuth"}` in raw mode; `None` when it is neither. Nothing is checked
/// beyond the JSON shape: [`DnsRequest::txt_record`] checks the rest.
pub fn parse_body(body: &[u8]) -> Option<DnsRequest> {
    match serde_json::from_slice::<Body>(body).ok()? {
        Body::Record { fqdn, value } => Some(DnsRequest::Record { fqdn, value }),
        Body::Raw {
            domain,
            token,
            key_auth,
        } => Some(DnsRequest::Raw {
            domain,
            token: Some(token),
            key_authorization: key_auth,
        }),
    }
}

async fn answer(
    runners: &[HookRunner],
    auth: Option<&BasicAuth>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let mut segments = request.uri().path().trim_end_matches('/').rsplit('/');
    let operation = match segments.next() {
        Some("present") => Operation::Present,
        Some("cleanup") => Operation::Cleanup,
        _ => {
            return text(
                StatusCode::NOT_FOUND,
                "not found; POST to /present or /cleanup",
            );
        }
    };
    let runner = match (runners, segments.next()) {
        ([only], _) => only,
        (_, name) => {
            let name = name.unwrap_or_default();
            let Some(runner) = runners.iter().find(|r| r.provider().name() == name) else {
                let served: Vec<&str> = runners.iter().map(|r| r.provider().name()).collect();
                return text(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "no provider `{}` here; POST to /<provider>/present or /cleanup, one \
                         of: {}",
                        acmebox_sandbox::bound(name, 64),
                        served.join(", ")
                    ),
                );
            };
            runner
        }
    };
    if request.method() != Method::POST {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        response
            .headers_mut()
            .insert(header::ALLOW, http::HeaderValue::from_static("POST"));
        return response;
    }
    if let Some(auth) = auth
        && !auth.admits(&request)
    {
        log_refused(runner, operation, "unauthorized", StatusCode::UNAUTHORIZED);
        let mut response = text(
            StatusCode::UNAUTHORIZED,
            "valid basic-auth credentials are required",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"acmebox\""),
        );
        return response;
    }
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            log_refused(runner, operation, INVALID_REQUEST, StatusCode::BAD_REQUEST);
            return text(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the body (at most {MAX_BODY_BYTES} bytes): {err}"),
            );
        }
    };
    let Some(dns_request) = parse_body(&body) else {
        log_refused(runner, operation, INVALID_REQUEST, StatusCode::BAD_REQUEST);
        return text(
            StatusCode::BAD_REQUEST,
            "the body must be JSON {\"fqdn\", \"value\"} or, in raw mode, \
             {\"domain\", \"token\", \"keyAuth\"}",
        );
    };
    let report = match runner.record(&dns_request).await {
        Ok(record) => runner
            .run_record(operation, &record)
            .await
            .map(|report| (report, record)),
        Err(err) => Err(err),
    };
    match report {
        Ok((report, record)) => {
            let response = report_response(&report);
            log_call(&report, &record.fqdn, response.status());
            response
        }
        Err(err) => {
            log_refused(runner, operation, INVALID_REQUEST, StatusCode::BAD_REQUEST);
            text(StatusCode::BAD_REQUEST, &err.to_string())
        }
    }
}

/// The outcome of a request refused for what it held.
const INVALID_REQUEST: &str = "invalid-request";

/// The line of one call (see [`HttpreqServer::serve`]): info if the provider succeeded, warn
/// if it failed. Every value comes from the report, already redacted.
fn log_call(report: &CallReport, fqdn: &str, status: StatusCode) {
    macro_rules! call_event {
        ($level:expr) => {
            tracing::event!(
                target: LOG_TARGET,
                $level,
                provider = report.provider.as_str(),
                operation = %report.operation,
                fqdn,
                outcome = report.outcome_kind(),
                error = report.error().map(tracing::field::display),
                status = status.as_u16(),
                duration_ms = u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
                requests = report.audit.len(),
                connections = report.sockets.len(),
                audit = report.audit_summary().as_str(),
                "call"
            )
        };
    }
    if report.is_ok() {
        call_event!(tracing::Level::INFO);
    } else {
        call_event!(tracing::Level::WARN);
    }
}

/// The line of a request refused before its provider ran.
fn log_refused(runner: &HookRunner, operation: Operation, outcome: &str, status: StatusCode) {
    tracing::info!(
        target: LOG_TARGET,
        provider = runner.provider().name(),
        operation = %operation,
        outcome,
        status = status.as_u16(),
        "call"
    );
}

fn report_response(report: &CallReport) -> Response<Full<Bytes>> {
    let status = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    let body = serde_json::json!({
        "provider": report.provider,
        "operation": report.operation,
        "ok": report.is_ok(),
        "error": report.error().map(ToString::to_string),
        "requests": report.audit.len(),
        "connections": report.sockets.len(),
        "duration_ms": report.duration.as_millis(),
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_of_both_modes_parse() {
        let record: Body =
            serde_json::from_str(r#"{"fqdn":"_acme-challenge.example.com.","value":"v"}"#)
                .expect("record");
        assert!(matches!(record, Body::Record { .. }));
        let raw: Body =
            serde_json::from_str(r#"{"domain":"example.com","token":"t","keyAuth":"t.k"}"#)
                .expect("raw");
        assert!(matches!(raw, Body::Raw { ref key_auth, .. } if key_auth == "t.k"));
        assert!(serde_json::from_str::<Body>(r#"{"fqdn":"x"}"#).is_err());
    }

    #[test]
    fn credentials_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert_eq!(
            format!("{:?}", BasicAuth::new("u", "secret")),
            "BasicAuth([redacted])"
        );
    }
}
