//! A small blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! Requests go through the host, which lets them out only to the hosts the operator granted.
//! A denied request is an ordinary error, [`ProviderError::TransportError`] with the host's
//! message, never a crash; so are connection failures and timeouts.
//!
//! ```no_run
//! use acmebox_provider::{ProviderError, http};
//!
//! #[derive(serde::Deserialize)]
//! struct Zone {
//!     id: String,
//! }
//!
//! fn zones(token: &str) -> Result<Vec<Zone>, ProviderError> {
//!     http::Request::get("https://dns.example.com/v1/zones")
//!         .bearer_auth(token)
//!         .send()?
//!         .error_for_status()?
//!         .json()
//! }
//! ```

use core::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse,
    Method as WasiMethod, OutgoingBody, RequestOptions, Scheme,
};
use wasip2::io::error::Error as IoError;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use crate::ProviderError;

/// The largest response body [`Request::send`] reads; past it the request fails. Protects the
/// provider's memory, which the host caps, from a runaway or hostile API.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 16 << 20;

/// How much of an error response's body goes into the error message, in bytes.
const ERROR_MESSAGE_LIMIT: usize = 512;

/// How many bytes one read from the response body asks for.
const READ_CHUNK: u64 = 64 << 10;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

/// An HTTP request, built then [sent](Request::send).
///
/// Its `Debug` shows the method, the URL and the header names, never header values, which
/// often hold credentials.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    /// A builder step that failed (a body that would not serialize), reported by `send`.
    error: Option<String>,
}

impl Request {
    /// A request with `method` to `url` (`http://` or `https://`).
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            error: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }

    /// A `PATCH` request.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::Patch, url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Adds a header. Names are case-insensitive; adding one twice sends both values.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.as_ref().to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }

    /// Adds `authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: impl fmt::Display) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sets the body to `value` as JSON, and `content-type: application/json` unless a
    /// content type is already set.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => {
                if self.header_value("content-type").is_none() {
                    self = self.header("content-type", "application/json");
                }
                self.body(bytes)
            }
            Err(e) => {
                self.error = Some(format!("the request body would not serialize to JSON: {e}"));
                self
            }
        }
    }

    /// Sets the body. `content-length` is sent with it.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some(bytes.into());
        self
    }

    /// Fails the request when connecting, the first response byte, or any gap between response
    /// bytes takes longer than `timeout`. The host enforces its own deadline on every call
    /// regardless.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends the request, writes the whole body, and reads the whole response.
    ///
    /// Any response, whatever its status, is `Ok`: follow with [`Response::error_for_status`]
    /// to turn error statuses into errors. A request the host denies, or that fails on the way,
    /// is [`ProviderError::TransportError`] with the host's message.
    pub fn send(self) -> Result<Response, ProviderError> {
        if let Some(message) = &self.error {
            return Err(self.other(message));
        }
        let request = self.outgoing()?;
        let body = match &self.body {
            Some(_) => Some(request.body().map_err(|()| self.other("no request body"))?),
            None => None,
        };
        let options = self.timeout.map(request_options);
        let future =
            outgoing_handler::handle(request, options).map_err(|code| self.transport(&code))?;

        if let (Some(body), Some(bytes)) = (body, &self.body)
            && let Err(write_error) = write_body(body, bytes)
        {
            // A failed write usually means the request failed; the response says why.
            return Err(match await_response(&future) {
                Err(code) => self.transport(&code),
                Ok(_) => self.transport_message(&write_error),
            });
        }

        let response = await_response(&future).map_err(|code| self.transport(&code))?;
        read_response(&response).map_err(|message| self.transport_message(&message))
    }

    /// The value of the first header called `name`, if any.
    fn header_value(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The wasi:http request: method, URL parts and headers.
    fn outgoing(&self) -> Result<wasip2::http::types::OutgoingRequest, ProviderError> {
        let target = Target::parse(&self.url).map_err(|e| self.other(&e))?;
        let mut headers = self.headers.clone();
        if let Some(body) = &self.body
            && self.header_value("content-length").is_none()
        {
            headers.push(("content-length".into(), body.len().to_string().into_bytes()));
        }
        let fields = Fields::from_list(&headers)
            .map_err(|e| self.other(&format!("invalid request header: {e:?}")))?;
        let request = wasip2::http::types::OutgoingRequest::new(fields);
        request
            .set_method(&self.method.into())
            .map_err(|()| self.other("invalid method"))?;
        request
            .set_scheme(Some(&target.scheme))
            .map_err(|()| self.other("invalid scheme"))?;
        request
            .set_authority(Some(&target.authority))
            .map_err(|()| self.other("invalid host"))?;
        request
            .set_path_with_query(Some(&target.path_and_query))
            .map_err(|()| self.other("invalid path"))?;
        Ok(request)
    }

    fn other(&self, message: &str) -> ProviderError {
        ProviderError::Other(format!("{} {}: {message}", self.method, self.url))
    }

    fn transport(&self, code: &ErrorCode) -> ProviderError {
        self.transport_message(&describe(code))
    }

    fn transport_message(&self, message: &str) -> ProviderError {
        ProviderError::TransportError(format!("{} {}: {message}", self.method, self.url))
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// A complete HTTP response: status, headers and the whole body.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers in the order received, names in lower case. Values that are not UTF-8 are
    /// converted lossily.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ProviderError::Other(format!(
                "the API answered {} with a body that is not the JSON expected: {e}",
                self.status
            ))
        })
    }

    /// The `retry-after` header in seconds, when it is a number of seconds.
    pub fn retry_after(&self) -> Option<u32> {
        self.header("retry-after")?.trim().parse().ok()
    }

    /// The response when its status is 2xx, otherwise the error it means:
    /// 401 and 403 are [`Unauthorized`](ProviderError::Unauthorized), 429 is
    /// [`RateLimited`](ProviderError::RateLimited) with `retry-after`, anything else is
    /// [`ApiError`](ProviderError::ApiError) with the status and the start of the body.
    pub fn error_for_status(self) -> Result<Self, ProviderError> {
        if self.is_success() {
            return Ok(self);
        }
        Err(match self.status {
            401 | 403 => ProviderError::Unauthorized(format!(
                "the API answered {}: {}",
                self.status,
                self.error_message()
            )),
            429 => ProviderError::RateLimited(self.retry_after()),
            status => ProviderError::api(status, self.error_message()),
        })
    }

    /// The start of the body, trimmed, for an error message; the status when the body is empty.
    fn error_message(&self) -> String {
        let text = self.text();
        let text = text.trim();
        if text.is_empty() {
            return format!("HTTP {} with an empty body", self.status);
        }
        let mut end = text.len().min(ERROR_MESSAGE_LIMIT);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            format!("{}…", &text[..end])
        } else {
            text.to_owned()
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        })
    }
}

impl From<Method> for WasiMethod {
    fn from(method: Method) -> Self {
        match method {
            Method::Get => Self::Get,
            Method::Head => Self::Head,
            Method::Post => Self::Post,
            Method::Put => Self::Put,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
        }
    }
}

/// The parts of an `http` or `https` URL that wasi:http takes separately.
#[derive(Debug)]
struct Target {
    scheme: Scheme,
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the URL contains whitespace or control characters".into());
        }
        let (Some(scheme), authority, path_and_query) = url_parts(url) else {
            return Err("not an absolute URL: expected http:// or https://".into());
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => return Err(format!("unsupported scheme `{other}`: use http or https")),
        };
        if authority.is_empty() {
            return Err("the URL has no host".into());
        }
        if authority.contains('@') {
            return Err("credentials in the URL are not supported: send them in a header".into());
        }
        let path_and_query = match path_and_query.chars().next() {
            Some('/') => path_and_query.to_owned(),
            _ => format!("/{path_and_query}"),
        };
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            path_and_query,
        })
    }
}

/// `url` split into its scheme (`None` without `://`), its authority and its path with the
/// query, each as written (the path may be empty, or start with `?`); the fragment is dropped.
/// Nothing is checked: the HTTP client checks URLs, and request signers sign what it sends.
pub(crate) fn url_parts(url: &str) -> (Option<&str>, &str, &str) {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(end);
    (scheme, authority, path_and_query)
}

fn request_options(timeout: Duration) -> RequestOptions {
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    let options = RequestOptions::new();
    // A host that does not support a timeout refuses to set it; its own deadline still applies.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));
    options
}

/// Writes all of `bytes` to the request body, then finishes it.
fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    let stream = body
        .write()
        .map_err(|()| "the request body stream was already taken".to_owned())?;
    write_all(&stream, bytes).map_err(|e| stream_error("writing the request body", e))?;
    stream
        .blocking_flush()
        .map_err(|e| stream_error("writing the request body", e))?;
    // The stream is a child of the body: it must go before the body is finished.
    drop(stream);
    OutgoingBody::finish(body, None).map_err(|code| describe(&code))
}

fn write_all(stream: &OutputStream, mut rest: &[u8]) -> Result<(), StreamError> {
    let ready = stream.subscribe();
    while !rest.is_empty() {
        let permitted = stream.check_write()?;
        if permitted == 0 {
            ready.block();
            continue;
        }
        let n = usize::try_from(permitted).map_or(rest.len(), |p| p.min(rest.len()));
        let (chunk, tail) = rest.split_at(n);
        stream.write(chunk)?;
        rest = tail;
    }
    Ok(())
}

/// Waits for the response head.
fn await_response(future: &FutureIncomingResponse) -> Result<IncomingResponse, ErrorCode> {
    let ready = future.subscribe();
    loop {
        match future.get() {
            Some(Ok(result)) => return result,
            // Only when the response was already taken, which happens once, just above.
            Some(Err(())) => {
                return Err(ErrorCode::InternalError(Some(
                    "the response was already taken".into(),
                )));
            }
            None => ready.block(),
        }
    }
}

/// Reads the status, the headers and the whole body.
fn read_response(response: &IncomingResponse) -> Result<Response, String> {
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body = response
        .consume()
        .map_err(|()| "the response body was already taken".to_owned())?;
    let stream = body
        .stream()
        .map_err(|()| "the response body stream was already taken".to_owned())?;
    let bytes = read_all(&stream, DEFAULT_MAX_RESPONSE_BODY)?;
    // The stream is a child of the body: it must go before the body is finished. Trailers are
    // not used.
    drop(stream);
    drop(IncomingBody::finish(body));
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}

/// Reads `stream` until it closes, blocking on its pollable while it has nothing to give.
fn read_all(stream: &InputStream, limit: usize) -> Result<Vec<u8>, String> {
    let ready = stream.subscribe();
    let mut bytes = Vec::new();
    loop {
        match stream.read(READ_CHUNK) {
            Ok(chunk) if chunk.is_empty() => ready.block(),
            Ok(chunk) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(format!("the response body is larger than {limit} bytes"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(bytes),
            Err(e) => return Err(stream_error("reading the response body", e)),
        }
    }
}

fn stream_error(doing: &str, error: StreamError) -> String {
    match error {
        StreamError::Closed => format!("{doing}: the stream closed early"),
        StreamError::LastOperationFailed(e) => format!("{doing}: {}", io_error(&e)),
    }
}

/// The HTTP error code behind a stream error when there is one, else the host's description.
fn io_error(error: &IoError) -> String {
    match wasip2::http::types::http_error_code(error) {
        Some(code) => describe(&code),
        None => error.to_debug_string(),
    }
}

/// An operator-readable description of a wasi:http error code. The host's own message, when it
/// sent one, is kept verbatim.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::InternalError(Some(message)) => message.clone(),
        ErrorCode::InternalError(None) => "internal error in the host".into(),
        ErrorCode::HttpRequestDenied => "the host denied the request (HTTP-request-denied)".into(),
        ErrorCode::DestinationIpProhibited => {
            "the host refused the destination address (destination-IP-prohibited)".into()
        }
        ErrorCode::DnsTimeout => "DNS lookup timed out".into(),
        ErrorCode::DnsError(e) => match &e.rcode {
            Some(rcode) => format!("DNS lookup failed: {rcode}"),
            None => "DNS lookup failed".into(),
        },
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::ConnectionTimeout => "connection timed out".into(),
        ErrorCode::ConnectionTerminated => "connection closed by the server".into(),
        ErrorCode::HttpResponseTimeout => "the response timed out".into(),
        ErrorCode::TlsCertificateError => "the server's TLS certificate was not accepted".into(),
        other => {
            let debug = format!("{other:?}");
            debug
                .strip_prefix("ErrorCode::")
                .unwrap_or(&debug)
                .to_owned()
        }
    }
}

/// `scheme://host[:port]` of an `http://` or `https://` URL, lower-cased: the allow-list entry
/// a provider lists in its `describe` for a URL the operator configured. `None` for any other
/// scheme, an empty host, or credentials in the URL.
///
/// ```
/// use acmebox_provider::http::origin;
///
/// assert_eq!(origin("HTTPS://API.example.com/v1/").as_deref(), Some("https://api.example.com"));
/// assert_eq!(origin("https://user:pw@example.com"), None);
/// ```
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986 (letters, digits,
/// `-._~`): for a path segment or a query value built from a name or a value.
///
/// ```
/// use acmebox_provider::http::encode_component;
///
/// assert_eq!(encode_component("_acme-challenge.example.com."), "_acme-challenge.example.com.");
/// assert_eq!(encode_component("a b&c=d/e"), "a%20b%26c%3Dd%2Fe");
/// ```
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let cases = [
            ("https://api.example.com", "api.example.com", "/"),
            ("https://api.example.com/", "api.example.com", "/"),
            (
                "http://127.0.0.1:8080/a/b?c=d",
                "127.0.0.1:8080",
                "/a/b?c=d",
            ),
            ("https://[::1]:8443?x", "[::1]:8443", "/?x"),
            ("HTTPS://example.com/p#frag", "example.com", "/p"),
        ];
        for (url, authority, path) in cases {
            let target = Target::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(target.authority, authority, "{url}");
            assert_eq!(target.path_and_query, path, "{url}");
        }
    }

    #[test]
    fn origins_of_urls() {
        let cases = [
            ("http://127.0.0.1:8081", Some("http://127.0.0.1:8081")),
            ("http://127.0.0.1:8081/", Some("http://127.0.0.1:8081")),
            (
                "HTTPS://DNS.example.com/x?y",
                Some("https://dns.example.com"),
            ),
            ("https://[::1]:8443/x", Some("https://[::1]:8443")),
            ("ftp://example.com", None),
            ("example.com", None),
            ("https://u:p@example.com", None),
            ("https:///path", None),
        ];
        for (url, want) in cases {
            assert_eq!(origin(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn encodes_components() {
        assert_eq!(encode_component("Az09-._~"), "Az09-._~");
        assert_eq!(encode_component("*.a/b c"), "%2A.a%2Fb%20c");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn rejects_bad_urls() {
        for url in [
            "example.com/x",
            "ftp://example.com/",
            "https:///path",
            "https://user:pass@example.com/",
            "https://example.com/a b",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
    }
}
