//! `acmebox serve`: an HTTP service speaking lego's `httpreq` protocol and the acmeproxy
//! protocol it shares, so many clients (lego, Caddy, acme.sh, scripts) share sandboxed
//! providers without holding provider credentials.
//!
//! * `POST <base>/present` and `POST <base>/cleanup`, JSON body `{"fqdn", "value"}` (lego's
//!   default mode, Caddy's and acme.sh's acmeproxy providers) or `{"domain", "token",
//!   "keyAuth"}` (`HTTPREQ_MODE=RAW`), field names in any letter case ([`parse_body`] lists
//!   what each client sends and expects);
//! * one provider or several: with one, any `<base>` reaches it; with several, the last segment
//!   of `<base>` names the provider (`/pdns/present`, so lego's `HTTPREQ_ENDPOINT` is
//!   `http://host:port/pdns`), and an unknown name is a `404` listing the names served;
//! * optional HTTP basic auth, and TLS from a certificate and key file ([`ServeTls`], read
//!   again on request without dropping connections);
//! * `GET /health`: `200` with the providers served, for load balancers and probes;
//! * with [`HttpreqServer::with_cert_manager_group`], cert-manager's DNS-01 webhook solver API
//!   under `/apis` ([`crate::cert_manager`]);
//! * `GET /metrics`: calls by provider, operation and outcome, their latency, and requests the
//!   egress policy denied, for Prometheus ([`crate::metrics`]);
//! * `200` with a JSON summary when the provider succeeded, with the record's `fqdn` and
//!   `value` (as the client sent them) that acmeproxy clients check, `400` for a malformed request,
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
use crate::cert_manager::CertManagerApi;
use crate::metrics::{self, ServeMetrics};
use crate::serve_tls::ServeTls;
use crate::{Error, Result};
use acmebox_sandbox::{CallReport, Operation, TxtRecord};

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

    pub(crate) fn admits(&self, request: &Request<Incoming>) -> bool {
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
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared>,
}

/// What every request of one server reads.
#[derive(Debug)]
struct Shared {
    runners: Vec<HookRunner>,
    auth: Option<BasicAuth>,
    metrics: Arc<ServeMetrics>,
    cert_manager: Option<CertManagerApi>,
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
            tls: None,
            shared: Arc::new(Shared {
                runners,
                auth,
                metrics: Arc::default(),
                cert_manager: None,
            }),
        })
    }

    /// Answers over TLS with `tls`'s certificate (and whatever [`ServeTls::reload`] swaps in
    /// later) instead of plain HTTP.
    pub fn with_tls(mut self, tls: &ServeTls) -> Result<Self> {
        self.tls = Some(tls.server_config()?);
        Ok(self)
    }

    /// Also answers cert-manager's DNS-01 webhook solver API for the API `group` (the
    /// Issuer's `groupName`), each provider a solver named after it ([`crate::cert_manager`]).
    pub fn with_cert_manager_group(mut self, group: &str) -> Result<Self> {
        let api = CertManagerApi::new(group)?;
        // Only `serve`, which takes the server, clones `shared`.
        let Some(shared) = Arc::get_mut(&mut self.shared) else {
            return Err(invalid(
                "set the cert-manager group before the server starts".to_owned(),
            ));
        };
        if shared.runners.len() > 1 && shared.runners.iter().any(|r| r.provider().name() == "apis")
        {
            return Err(invalid(
                "a provider named `apis` is unreachable at /apis/present next to cert-manager's \
                 API; rename it in the configuration"
                    .to_owned(),
            ));
        }
        shared.cert_manager = Some(api);
        Ok(self)
    }

    /// The server's metrics, as `/metrics` shows them.
    pub fn metrics(&self) -> Arc<ServeMetrics> {
        self.shared.metrics.clone()
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
        let shared = self.shared;
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
            let tls = self.tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => serve_connection(stream, shared, peer).await,
                    Some(config) => {
                        // The handshake gets the same time as a request head.
                        let tls = tokio_rustls::TlsAcceptor::from(config);
                        match tokio::time::timeout(HEADER_READ_TIMEOUT, tls.accept(stream)).await {
                            Ok(Ok(stream)) => serve_connection(stream, shared, peer).await,
                            Ok(Err(err)) => {
                                tracing::debug!(%peer, error = %err, "httpreq service: TLS handshake failed");
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "httpreq service: TLS handshake timed out");
                            }
                        }
                    }
                }
                drop(slot);
            });
        }
    }
}

/// Serves the requests of one connection, plain or TLS.
async fn serve_connection<S>(stream: S, shared: Arc<Shared>, peer: SocketAddr)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(answer(&shared, request).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(err) = connection.await {
        tracing::debug!(%peer, error = %err, "httpreq service: connection ended");
    }
}

/// The request a body of the `httpreq` / acmeproxy family asks for; `None` when it is none of
/// its shapes. Nothing is checked beyond the shape: [`DnsRequest::txt_record`] checks the rest.
///
/// What each client of the family sends and what it expects back, read from its source:
///
/// * lego's `httpreq` provider (`providers/dns/httpreq/httpreq.go`, lego 4.9.1 and 5.x):
///   `POST <endpoint>/present` and `/cleanup`, `Content-Type: application/json`, basic auth
///   when both a username and a password are set; the body `{"fqdn","value"}`, or
///   `{"domain","token","keyAuth"}` with `HTTPREQ_MODE=RAW`. Any `2xx` is success (4.9.1:
///   anything below `400`); the answer's body is not read.
/// * Caddy's `dns.providers.acmeproxy` (github.com/caddy-dns/acmeproxy v1.1.1, a wrapper of
///   github.com/libdns/acmeproxy, `provider.go` at f8e0a66): `POST <endpoint>/present` (for
///   Caddy's append and set) and `/cleanup` (delete), one request per record, `Accept` and
///   `Content-Type: application/json`, basic auth when a username or a password is set; the body
///   `{"fqdn","value"}` with `fqdn` the absolute name with its trailing dot. Versions before
///   2023-12-25 (commit e51d10d) spell the fields `{"FQDN","Value"}`. Success is status `200`
///   exactly, with a JSON body whose `fqdn` and `value` are the ones sent (decoded by Go's
///   `encoding/json`: field names in any letter case, other fields ignored); anything else
///   fails the call.
/// * acme.sh's `dns_acmeproxy` (`dnsapi/dns_acmeproxy.sh`): `POST $ACMEPROXY_ENDPOINT/present`
///   and `/cleanup`, `Accept` and `Content-Type: application/json`, basic auth when both
///   `ACMEPROXY_USERNAME` and `ACMEPROXY_PASSWORD` are set; the body
///   `{"fqdn": "<name>.", "value": "<value>"}`. It ignores the status: the call succeeded when
///   the answer contains the value in double quotes, so a failure must never echo it.
/// * The server these clients were written for, github.com/mdbraber/acmeproxy
///   (`acmeproxy/handlers.go`), decodes with Go's `encoding/json` (any letter case; its raw
///   field is tagged `keyauth`) and answers success with `200` and the request's JSON.
///
/// So a field name matches in any ASCII letter case (`FQDN`, `keyauth`), as those servers
/// match them; an empty `token` counts as absent. Refused: anything but a JSON object of
/// string fields, an unknown field, a field given twice (in any spelling), and a body mixing
/// the two shapes. The answer to a call the provider carried out is `200` with `fqdn` and
/// `value` as sent (see the module docs).
pub fn parse_body(body: &[u8]) -> Option<DnsRequest> {
    let Fields(fields) = serde_json::from_slice(body).ok()?;
    let (mut fqdn, mut value, mut domain, mut token, mut key_auth) = (None, None, None, None, None);
    for (name, text) in fields {
        let slot = match name.to_ascii_lowercase().as_str() {
            "fqdn" => &mut fqdn,
            "value" => &mut value,
            "domain" => &mut domain,
            "token" => &mut token,
            "keyauth" => &mut key_auth,
            _ => return None,
        };
        if slot.replace(text).is_some() {
            return None;
        }
    }
    let token = token.filter(|token: &String| !token.is_empty());
    match (fqdn, value, domain, token, key_auth) {
        (Some(fqdn), Some(value), None, None, None) => Some(DnsRequest::Record { fqdn, value }),
        (None, None, Some(domain), token, Some(key_authorization)) => Some(DnsRequest::Raw {
            domain,
            token,
            key_authorization,
        }),
        _ => None,
    }
}

/// The fields of a JSON object in their order, duplicates kept (a map would keep one of them
/// silently); every value must be a string.
struct Fields(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Fields;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object of strings")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The `fqdn` and `value` a success answer echoes: the client's own strings for a record it
/// computed (Caddy compares them with what it sent), the record acmebox placed for a raw
/// request (never the key authorization).
fn echoed<'a>(request: &'a DnsRequest, record: &'a TxtRecord) -> (&'a str, &'a str) {
    match request {
        DnsRequest::Record { fqdn, value } => (fqdn, value),
        DnsRequest::Raw { .. } => (&record.fqdn, &record.value),
    }
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (runners, auth, metrics) = (&shared.runners, shared.auth.as_ref(), &*shared.metrics);
    if let Some(api) = &shared.cert_manager
        && crate::cert_manager::is_api_path(request.uri().path())
    {
        return api.answer(runners, auth, metrics, request).await;
    }
    if request.method() == Method::GET {
        match request.uri().path() {
            "/health" => return health(runners),
            "/metrics" => {
                let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static(metrics::CONTENT_TYPE),
                );
                return response;
            }
            _ => {}
        }
    }
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
    let runner = match (runners.as_slice(), segments.next()) {
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
        log_refused(
            metrics,
            runner,
            operation,
            "unauthorized",
            StatusCode::UNAUTHORIZED,
        );
        return ask_for_credentials(text(StatusCode::UNAUTHORIZED, CREDENTIALS_REQUIRED));
    }
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            log_refused(
                metrics,
                runner,
                operation,
                INVALID_REQUEST,
                StatusCode::BAD_REQUEST,
            );
            return text(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the body (at most {MAX_BODY_BYTES} bytes): {err}"),
            );
        }
    };
    let Some(dns_request) = parse_body(&body) else {
        log_refused(
            metrics,
            runner,
            operation,
            INVALID_REQUEST,
            StatusCode::BAD_REQUEST,
        );
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
            let response = report_response(&report, echoed(&dns_request, &record));
            log_call(metrics, &report, &record.fqdn, response.status());
            response
        }
        Err(err) => {
            log_refused(
                metrics,
                runner,
                operation,
                INVALID_REQUEST,
                StatusCode::BAD_REQUEST,
            );
            text(StatusCode::BAD_REQUEST, &err.to_string())
        }
    }
}

/// What a request without valid credentials is told.
pub(crate) const CREDENTIALS_REQUIRED: &str = "valid basic-auth credentials are required";

/// `response` (a 401) asking for basic-auth credentials.
pub(crate) fn ask_for_credentials(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"acmebox\""),
    );
    response
}

/// The outcome of a request refused for what it held.
pub(crate) const INVALID_REQUEST: &str = "invalid-request";

/// The line of one call (see [`HttpreqServer::serve`]): info if the provider succeeded, warn
/// if it failed. Every value comes from the report, already redacted.
pub(crate) fn log_call(
    metrics: &ServeMetrics,
    report: &CallReport,
    fqdn: &str,
    status: StatusCode,
) {
    metrics.observe(report);
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

/// The line (and count) of a request refused before its provider ran.
pub(crate) fn log_refused(
    metrics: &ServeMetrics,
    runner: &HookRunner,
    operation: Operation,
    outcome: &str,
    status: StatusCode,
) {
    metrics.refused(runner.provider().name(), operation, outcome);
    tracing::info!(
        target: LOG_TARGET,
        provider = runner.provider().name(),
        operation = %operation,
        outcome,
        status = status.as_u16(),
        "call"
    );
}

/// `GET /health`: the service answers, and which providers it serves.
fn health(runners: &[HookRunner]) -> Response<Full<Bytes>> {
    let providers: Vec<&str> = runners.iter().map(|r| r.provider().name()).collect();
    json(
        StatusCode::OK,
        &serde_json::json!({ "status": "ok", "providers": providers }),
    )
}

/// The JSON answer to a call that ran: a summary, and on success the record's `fqdn` and
/// `value` (`echo`), which Caddy's acmeproxy provider checks and acme.sh looks for. A failed
/// call never carries the value: acme.sh would take it for success.
fn report_response(report: &CallReport, echo: (&str, &str)) -> Response<Full<Bytes>> {
    let status = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    let mut body = serde_json::json!({
        "provider": report.provider,
        "operation": report.operation,
        "ok": report.is_ok(),
        "error": report.error().map(ToString::to_string),
        "requests": report.audit.len(),
        "connections": report.sockets.len(),
        "duration_ms": report.duration.as_millis(),
    });
    if report.is_ok() {
        body["fqdn"] = echo.0.into();
        body["value"] = echo.1.into();
    }
    json(status, &body)
}

pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
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
pub(crate) mod tests {
    use super::*;

    /// A record request, as [`parse_body`] should return it.
    fn record(fqdn: &str, value: &str) -> Option<(String, String)> {
        Some((fqdn.to_owned(), value.to_owned()))
    }

    fn as_record(body: &str) -> Option<(String, String)> {
        match parse_body(body.as_bytes())? {
            DnsRequest::Record { fqdn, value } => Some((fqdn, value)),
            DnsRequest::Raw { .. } => None,
        }
    }

    fn as_raw(body: &str) -> Option<(String, Option<String>, String)> {
        match parse_body(body.as_bytes())? {
            DnsRequest::Raw {
                domain,
                token,
                key_authorization,
            } => Some((domain, token, key_authorization)),
            DnsRequest::Record { .. } => None,
        }
    }

    #[test]
    fn record_bodies_of_every_client_parse() {
        let name = "_acme-challenge.example.com.";
        for (client, body) in [
            // lego's default mode, Go's `json.Encoder`: compact, with a newline.
            (
                "lego",
                "{\"fqdn\":\"_acme-challenge.example.com.\",\"value\":\"v\"}\n",
            ),
            // Caddy's acmeproxy provider (libdns/acmeproxy since 2023-12-25): the same shape.
            (
                "caddy",
                r#"{"fqdn":"_acme-challenge.example.com.","value":"v"}"#,
            ),
            // libdns/acmeproxy before 2023-12-25.
            (
                "caddy-old",
                r#"{"FQDN":"_acme-challenge.example.com.","Value":"v"}"#,
            ),
            // acme.sh's dns_acmeproxy, written by hand with spaces.
            (
                "acme.sh",
                r#"{"fqdn": "_acme-challenge.example.com.", "value": "v"}"#,
            ),
            (
                "any case",
                r#"{"Fqdn":"_acme-challenge.example.com.","vALUE":"v"}"#,
            ),
            (
                "order",
                r#"{"value":"v","fqdn":"_acme-challenge.example.com."}"#,
            ),
        ] {
            assert_eq!(as_record(body), record(name, "v"), "{client}: {body}");
        }
        // Kept as sent: the answer echoes it, and `txt_record` checks and normalizes it.
        assert_eq!(
            as_record(r#"{"fqdn":"_Acme-Challenge.Example.COM","value":"v"}"#),
            record("_Acme-Challenge.Example.COM", "v")
        );
    }

    #[test]
    fn raw_bodies_parse() {
        let raw = |token: Option<&str>| {
            Some((
                "example.com".to_owned(),
                token.map(str::to_owned),
                "t.k".to_owned(),
            ))
        };
        for (client, body, want) in [
            (
                "lego RAW",
                r#"{"domain":"example.com","token":"t","keyAuth":"t.k"}"#,
                raw(Some("t")),
            ),
            (
                "acmeproxy",
                r#"{"domain":"example.com","token":"t","keyauth":"t.k"}"#,
                raw(Some("t")),
            ),
            (
                "no token",
                r#"{"domain":"example.com","keyAuth":"t.k"}"#,
                raw(None),
            ),
            (
                "empty token",
                r#"{"domain":"example.com","token":"","KEYAUTH":"t.k"}"#,
                raw(None),
            ),
        ] {
            assert_eq!(as_raw(body), want, "{client}: {body}");
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [
            "",
            "not json",
            "[]",
            r#""fqdn""#,
            "null",
            r#"{"fqdn":1,"value":"v"}"#,
            r#"{"fqdn":null,"value":"v"}"#,
            r#"{"fqdn":"x"}"#,
            r#"{"value":"v"}"#,
            r#"{"domain":"example.com","token":"t"}"#,
            r#"{"token":"t","keyAuth":"t.k"}"#,
            // A field unknown to every client, or given twice.
            r#"{"fqdn":"x","value":"v","ttl":"60"}"#,
            r#"{"fqdn":"x","value":"v","fqdn":"y"}"#,
            r#"{"fqdn":"x","value":"v","FQDN":"y"}"#,
            r#"{"domain":"example.com","keyAuth":"t.k","keyauth":"u.k"}"#,
            // The two shapes at once: which one is meant is unknown.
            r#"{"fqdn":"x","value":"v","domain":"example.com","keyAuth":"t.k"}"#,
            r#"{"fqdn":"x","value":"v","token":"t"}"#,
            // Trailing bytes after the object.
            r#"{"fqdn":"x","value":"v"} {}"#,
        ] {
            assert!(parse_body(body.as_bytes()).is_none(), "{body}");
        }
    }

    #[tokio::test]
    async fn answers_echo_the_record_only_on_success() {
        let report = |outcome| CallReport {
            provider: "pdns".to_owned(),
            operation: Operation::Present,
            outcome,
            audit: Vec::new(),
            sockets: Vec::new(),
            logs: Vec::new(),
            duration: Duration::from_millis(5),
        };
        let echo = ("_acme-challenge.example.com.", "value-43");
        let (status, ok) = json_answer(report_response(&report(Ok(())), echo)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (ok["fqdn"].as_str(), ok["value"].as_str()),
            (Some(echo.0), Some(echo.1))
        );
        let failed = Err(acmebox_sandbox::Error::ProviderTrap {
            provider: "pdns".to_owned(),
            operation: Operation::Present,
            message: "boom".to_owned(),
        });
        let (status, failed) = json_answer(report_response(&report(failed), echo)).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(
            failed.get("value").is_none() && failed.get("fqdn").is_none(),
            "{failed}"
        );
        assert!(!failed.to_string().contains("\"value-43\""), "{failed}");
    }

    /// The status and JSON body of an answer.
    pub(crate) async fn json_answer(
        response: Response<Full<Bytes>>,
    ) -> (StatusCode, serde_json::Value) {
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a full body")
            .to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).expect("a JSON answer"),
        )
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
