//! An endpoint speaking lego's `httpreq` protocol on 127.0.0.1, for the tests of httpreq
//! providers: `POST /present` and `POST /cleanup` with `{"fqdn": ..., "value": ...}` add and
//! remove that value in the TXT rrset at `fqdn` in the real PowerDNS's zone `example.test.`,
//! through the PowerDNS API. It checks HTTP basic auth when given credentials, and records
//! every request it receives.
//!
//! The PowerDNS helpers it uses ([`pdns::txt_values`], [`add_txt_value`], [`remove_txt_value`],
//! [`delete_txt_rrset`]) are public, so tests can check and clean up the same rrsets.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http_server::Received;
use crate::pdns;

/// The zone the endpoint writes into.
pub const ZONE: &str = "example.test.";

/// The TTL the endpoint publishes with.
pub const TTL: u32 = 60;

/// The largest request the endpoint reads, head and body.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A running endpoint; stops when dropped.
#[derive(Debug)]
pub struct HttpreqEndpoint {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl HttpreqEndpoint {
    /// Starts an endpoint on an ephemeral loopback port. With `credentials` (user name and
    /// password) it answers 401 to any request without that basic auth.
    pub async fn start(credentials: Option<(&str, &str)>) -> anyhow::Result<Self> {
        let expected: Option<Arc<str>> = credentials.map(|(u, p)| basic_auth(u, p).into());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the httpreq endpoint to 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        // One PowerDNS change at a time: each is a read followed by a write of the rrset.
        let changes = Arc::new(tokio::sync::Mutex::new(()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (sink, expected, changes) = (sink.clone(), expected.clone(), changes.clone());
                tokio::spawn(async move {
                    if let Err(err) = serve(stream, expected, changes, sink).await {
                        eprintln!("httpreq endpoint: {err:#}");
                    }
                });
            }
        });
        Ok(HttpreqEndpoint {
            port,
            received,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: the provider's `endpoint` and its grant.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for HttpreqEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `Authorization` header value of HTTP basic auth (RFC 7617) for `user` and `password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Adds `value` to the TXT rrset at `fqdn` in `example.test.`, keeping the other values.
pub fn add_txt_value(fqdn: &str, value: &str) -> anyhow::Result<()> {
    let mut records = pdns::txt_records(ZONE, fqdn)?;
    let content = format!("\"{value}\"");
    if records.iter().any(|r| r["content"] == content.as_str()) {
        return Ok(());
    }
    records.push(json!({ "content": content, "disabled": false }));
    patch(
        json!({ "name": fqdn, "type": "TXT", "ttl": TTL, "changetype": "REPLACE", "records": records }),
    )
}

/// Removes `value` from the TXT rrset at `fqdn` in `example.test.`, deleting the rrset when it
/// was the last value.
pub fn remove_txt_value(fqdn: &str, value: &str) -> anyhow::Result<()> {
    let records = pdns::txt_records(ZONE, fqdn)?;
    let content = format!("\"{value}\"");
    let rest: Vec<Value> = records
        .iter()
        .filter(|r| r["content"] != content.as_str())
        .cloned()
        .collect();
    if rest.len() == records.len() {
        return Ok(());
    }
    if rest.is_empty() {
        return delete_txt_rrset(fqdn);
    }
    patch(
        json!({ "name": fqdn, "type": "TXT", "ttl": TTL, "changetype": "REPLACE", "records": rest }),
    )
}

/// Deletes the TXT rrset at `fqdn` in `example.test.`, if there is one.
pub fn delete_txt_rrset(fqdn: &str) -> anyhow::Result<()> {
    pdns::delete_rrset(ZONE, fqdn, "TXT").map_err(anyhow::Error::msg)
}

async fn serve(
    mut stream: TcpStream,
    expected: Option<Arc<str>>,
    changes: Arc<tokio::sync::Mutex<()>>,
    sink: Arc<Mutex<Vec<Received>>>,
) -> anyhow::Result<()> {
    while let Some(request) = read_request(&mut stream).await? {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        let (status, body) = {
            let _one_at_a_time = changes.lock().await;
            let expected = expected.clone();
            tokio::task::spawn_blocking(move || respond(&request, expected.as_deref())).await?
        };
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            reason(status),
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
    }
    Ok(())
}

/// The status and JSON body answering `request`; PowerDNS is changed here.
fn respond(request: &Received, expected: Option<&str>) -> (u16, String) {
    let error = |status: u16, message: &str| (status, json!({ "error": message }).to_string());
    if let Some(expected) = expected {
        let given = request
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str());
        if given != Some(expected) {
            return error(401, "missing or wrong basic auth credentials");
        }
    }
    let action = request.target.rsplit('/').next().unwrap_or_default();
    if request.method != "POST" || !matches!(action, "present" | "cleanup") {
        return error(404, "only POST /present and POST /cleanup are served");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error(400, "the body is not JSON");
    };
    let (Some(fqdn), Some(value)) = (body["fqdn"].as_str(), body["value"].as_str()) else {
        return error(400, "the body needs string fields fqdn and value");
    };
    if !fqdn.ends_with(".example.test.") {
        return error(400, "fqdn must be an absolute name under example.test.");
    }
    let result = if action == "present" {
        add_txt_value(fqdn, value)
    } else {
        remove_txt_value(fqdn, value)
    };
    match result {
        Ok(()) => (200, "{}".to_owned()),
        Err(err) => error(502, &format!("PowerDNS: {err:#}")),
    }
}

/// Reads one HTTP/1.1 request with a `content-length` body; `None` when the peer closed.
async fn read_request(stream: &mut TcpStream) -> anyhow::Result<Option<Received>> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        anyhow::ensure!(buf.len() < MAX_REQUEST_BYTES, "request head too large");
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    anyhow::ensure!(length <= MAX_REQUEST_BYTES, "request body too large");
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the peer closed before the whole body");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Received {
        method,
        target,
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Bad Gateway",
    }
}

/// One rrset change in `example.test.`, retried while PowerDNS's sqlite backend is busy.
fn patch(rrset: Value) -> anyhow::Result<()> {
    pdns::patch_rrset(ZONE, rrset).map_err(anyhow::Error::msg)
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(basic_auth("user", "s3cret"), "Basic dXNlcjpzM2NyZXQ=");
    }
}
