//! `wasi:http` egress: the `send_request` hook every outgoing request of a guest goes through.
//!
//! A request is checked against the request limit, the scheme and the provider's grant before
//! anything leaves; names are vetted when resolved (see [`super::client`]). A denied request is
//! an `error-code` the guest can handle, never a trap, and is recorded in the audit log and the
//! call's log. The headers the host controls (`Host`, hop-by-hop, proxy, client-address,
//! forwarding and method-override headers: [`acmebox_egress::FORBIDDEN_REQUEST_HEADERS`]) cannot
//! be set by a guest and are removed again on the way out. Bodies are buffered
//! under the size limits; a denied request's body is drained so the guest sees the denial
//! rather than a reset stream.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{
    Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks,
};

use crate::client::find_resolve_error;
use crate::limits::{Limits, MAX_GUEST_STRING_BYTES};
use crate::redact::Redactor;
use crate::report::{AuditRecord, Decision, LogLevel, LogRecord, LogSource, redact_query};
use acmebox_egress::{
    ALLOWED_METHODS, Denial, Grant, is_allowed_method, is_forbidden_request_header,
};

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

/// What the requests of one call share: the policy, the client, and where records go.
#[derive(Debug)]
pub(crate) struct CallEgress {
    pub(crate) provider: Arc<str>,
    pub(crate) grant: Arc<Grant>,
    pub(crate) limits: Limits,
    pub(crate) client: reqwest::Client,
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) deadline: Instant,
    pub(crate) audit: Mutex<Vec<AuditRecord>>,
    pub(crate) logs: Mutex<Vec<LogRecord>>,
    /// Socket connections and refusals (see [`crate::sockets`]).
    pub(crate) sockets: crate::sockets::CallSockets,
}

/// The per-store `wasi:http` hooks.
#[derive(Debug)]
pub(crate) struct EgressHooks {
    call: Arc<CallEgress>,
    requests: u32,
}

impl EgressHooks {
    pub(crate) fn new(call: Arc<CallEgress>) -> Self {
        EgressHooks { call, requests: 0 }
    }
}

impl WasiHttpHooks for EgressHooks {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        is_forbidden_request_header(name.as_str())
    }

    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(|name: &HeaderName| is_forbidden_request_header(name.as_str()))
    }

    fn set_host_header(&mut self) -> bool {
        // The client sets `Host` from the vetted URL.
        false
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        self.requests = self.requests.saturating_add(1);
        let over_limit = self.requests > self.call.limits.max_requests;
        let call = self.call.clone();
        Box::new(async move { call.send(request, over_limit).await })
    }
}

/// Removes every header the host controls ([`acmebox_egress::FORBIDDEN_REQUEST_HEADERS`]). The
/// guest cannot set them in the first place (see [`EgressHooks::forbidden_header_filter`]);
/// this is the second line, on the way out.
fn strip_headers(headers: &mut HeaderMap) {
    let forbidden: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_forbidden_request_header(name.as_str()))
        .cloned()
        .collect();
    for name in forbidden {
        headers.remove(name);
    }
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum()
}

impl CallEgress {
    async fn send(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
        over_limit: bool,
    ) -> Result<
        (
            http::Response<WasiBody>,
            Box<dyn Future<Output = Result<(), HttpError>> + Send>,
        ),
        HttpError,
    > {
        let started = Instant::now();
        let (mut parts, body) = request.into_parts();
        let uri = parts.uri.clone();
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let https = scheme == "https";
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        // Every field a guest chose is redacted and bounded before it is kept or shown.
        let shown = |text: &str| self.redactor.redact_bounded(text, MAX_GUEST_STRING_BYTES);
        let host = shown(uri.host().unwrap_or_default());
        let path = shown(&redact_query(
            uri.path_and_query().map_or("/", |p| p.as_str()),
        ));
        let method = shown(parts.method.as_str());
        let shown_scheme = shown(&scheme);
        let mut record = AuditRecord {
            provider: self.provider.to_string(),
            method: method.clone(),
            scheme: shown_scheme.clone(),
            host: host.clone(),
            port,
            path: path.clone(),
            decision: Decision::Denied,
            reason: None,
            status: None,
            bytes_sent: 0,
            bytes_received: 0,
            duration_ms: 0,
        };
        let shown_url = match uri.port_u16() {
            Some(p) => format!("{shown_scheme}://{host}:{p}{path}"),
            None => format!("{shown_scheme}://{host}{path}"),
        };
        let asked = format!("provider `{}` asked for {shown_url}", self.provider);

        let denial = if over_limit {
            Some(format!(
                "{asked} but has already made {} requests in this call; raise `max_requests` if that is intended",
                self.limits.max_requests
            ))
        } else if scheme != "https" && scheme != "http" {
            Some(format!("{asked}: only http and https are supported"))
        } else if !is_allowed_method(parts.method.as_str()) {
            Some(format!(
                "{asked} with method {method}, which an API client does not need (the methods \
                 allowed: {})",
                ALLOWED_METHODS.join(", ")
            ))
        } else if let Err(denial) = self.check_grant(&scheme, &uri) {
            Some(denial.message(&self.provider))
        } else if header_bytes(&parts.headers) > self.limits.max_header_bytes {
            Some(format!(
                "{asked} with {} bytes of headers, more than its limit of {}",
                header_bytes(&parts.headers),
                self.limits.max_header_bytes
            ))
        } else {
            None
        };
        if let Some(message) = denial {
            record.bytes_sent = drain(body, self.limits.max_request_body_bytes).await;
            return Err(self.deny(record, started, message));
        }

        let limit = self.limits.max_request_body_bytes;
        let body = match http_body_util::Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                let message =
                    format!("{asked} with a request body larger than its limit of {limit} bytes");
                return Err(self.deny(record, started, message));
            }
        };
        record.bytes_sent = body.len() as u64;
        strip_headers(&mut parts.headers);

        let timeout = self.deadline.saturating_duration_since(Instant::now());
        let sent = self
            .client
            .request(parts.method.clone(), uri.to_string())
            .headers(parts.headers)
            .body(body)
            .timeout(timeout)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(err) => return Err(self.failed(record, started, &asked, &err)),
        };
        record.decision = Decision::Allowed;
        record.status = Some(response.status().as_u16());
        if header_bytes(response.headers()) > self.limits.max_header_bytes {
            let message = format!(
                "{asked} and got {} bytes of response headers, more than its limit of {}",
                header_bytes(response.headers()),
                self.limits.max_header_bytes
            );
            return Err(self.fail(
                record,
                started,
                message,
                HttpError::HttpResponseHeaderSectionSize(None),
            ));
        }
        let limit = self.limits.max_response_body_bytes;
        let mut received = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if received.len() + chunk.len() > limit {
                        let message = format!(
                            "{asked} and got a response body larger than its limit of {limit} bytes"
                        );
                        record.bytes_received = (received.len() + chunk.len()) as u64;
                        return Err(self.fail(
                            record,
                            started,
                            message,
                            HttpError::HttpResponseBodySize(Some(limit as u64)),
                        ));
                    }
                    received.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => return Err(self.failed(record, started, &asked, &err)),
            }
        }
        record.bytes_received = received.len() as u64;
        record.duration_ms = elapsed_ms(started);
        record.trace();

        let mut builder = http::Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = response.headers().clone();
            headers.remove(header::TRANSFER_ENCODING);
            headers.remove(header::CONNECTION);
        }
        let body = Full::new(Bytes::from(received))
            .map_err(|never: std::convert::Infallible| -> HttpError { match never {} })
            .boxed_unsync();
        let response = builder
            .body(body)
            .map_err(|e| HttpError::InternalError(Some(e.to_string())))?;
        self.push_audit(record);
        Ok((response, Box::new(async { Ok(()) })))
    }

    /// Records a denial and returns the error code the guest sees: the operator-facing message
    /// itself, so the provider can show it.
    /// The grant's verdict on a request, before anything is resolved or sent. An IP-literal
    /// target is vetted here too (a blocked address needs an entry naming it); a name is vetted
    /// after resolution by the shared client's resolver, which never lets it reach a blocked
    /// address.
    fn check_grant(&self, scheme: &str, uri: &http::Uri) -> Result<(), Denial> {
        let authority = uri.authority().map_or("", |a| a.as_str());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let target = self.grant.check_request(scheme, authority, path)?;
        if let Some(ip) = target.literal_addr() {
            self.grant.vet_addr(&target, ip)?;
        }
        Ok(())
    }

    fn deny(&self, mut record: AuditRecord, started: Instant, message: String) -> HttpError {
        let message = self.redactor.redact(&message);
        record.decision = Decision::Denied;
        record.reason = Some(message.clone());
        record.duration_ms = elapsed_ms(started);
        record.trace();
        self.push_audit(record);
        self.host_log(LogLevel::Warn, &message);
        HttpError::InternalError(Some(message))
    }

    /// Records an allowed request that failed on the way.
    fn fail(
        &self,
        mut record: AuditRecord,
        started: Instant,
        message: String,
        code: HttpError,
    ) -> HttpError {
        let message = self.redactor.redact(&message);
        record.reason = Some(message.clone());
        record.duration_ms = elapsed_ms(started);
        record.trace();
        self.push_audit(record);
        self.host_log(LogLevel::Warn, &message);
        code
    }

    /// Maps a client error: a policy refusal at resolution is a denial, the rest failures.
    fn failed(
        &self,
        record: AuditRecord,
        started: Instant,
        asked: &str,
        err: &reqwest::Error,
    ) -> HttpError {
        if let Some(resolve) = find_resolve_error(err) {
            let message = format!("{asked} which is denied: {}", resolve.message);
            if resolve.denied {
                return self.deny(record, started, message);
            }
            let message = format!("{asked}: {}", resolve.message);
            return self.fail(
                record,
                started,
                message.clone(),
                HttpError::DnsError {
                    rcode: Some(message),
                    info_code: None,
                },
            );
        }
        let message = format!("{asked}: {}", error_chain(err));
        let code = if err.is_timeout() {
            HttpError::ConnectionTimeout
        } else if err.is_connect() {
            HttpError::ConnectionRefused
        } else {
            HttpError::InternalError(Some(message.clone()))
        };
        let mut record = record;
        record.decision = Decision::Allowed;
        self.fail(record, started, message, code)
    }

    fn push_audit(&self, record: AuditRecord) {
        if let Ok(mut audit) = self.audit.lock() {
            audit.push(record);
        }
    }

    pub(crate) fn host_log(&self, level: LogLevel, message: &str) {
        let record = LogRecord::emit(
            &self.provider,
            level,
            LogSource::Host,
            message,
            &self.redactor,
        );
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(record);
        }
    }
}

/// Reads and discards a body, up to `limit` bytes; returns how much was read.
async fn drain(mut body: WasiBody, limit: usize) -> u64 {
    let mut read = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            read += data.len() as u64;
        }
        if read > limit as u64 {
            break;
        }
    }
    read
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
