//! A local stand-in for the Cloudflare API v4 (DNS records only), for the Cloudflare provider's
//! tests. It serves the documented request and response shapes under `/client/v4` on
//! 127.0.0.1, checks the bearer token, and writes every TXT record it holds through to the
//! test PowerDNS (zone `example.test.`), so what a test presents there is answered over DNS.
//!
//! The module also holds the plumbing the acme-dns stand-in shares: a keep-alive HTTP/1.1
//! server loop and [`PowerDnsZone`], the write-through to PowerDNS.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http_server::Received;

/// The zone the stand-in serves, as Cloudflare names zones (no trailing dot).
pub const ZONE: &str = "example.test";

/// The path prefix of every API call, as at api.cloudflare.com.
const BASE_PATH: &str = "/client/v4";

/// A running Cloudflare stand-in. Dropping it stops it and deletes, at PowerDNS, every rrset
/// it wrote.
#[derive(Debug)]
pub struct CloudflareApi {
    port: u16,
    zone_id: String,
    received: Arc<Mutex<Vec<Received>>>,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl CloudflareApi {
    /// Starts a stand-in on an ephemeral loopback port that accepts `token` as its only API
    /// token and holds one zone, [`ZONE`].
    pub async fn start(token: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the Cloudflare stand-in to 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        // Cloudflare ids are 32 hex digits; these differ between servers and processes.
        let zone_id = format!("{:016x}{:016x}", std::process::id(), u64::from(port));
        let state = Arc::new(State {
            token: token.to_owned(),
            zone_id: zone_id.clone(),
            records: tokio::sync::Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            pdns: PowerDnsZone::default(),
        });
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler_state = state.clone();
        let task = serve(listener, received.clone(), move |request| {
            let state = handler_state.clone();
            async move { state.handle(&request).await }
        });
        Ok(Self {
            port,
            zone_id,
            received,
            state,
            task,
        })
    }

    /// The API base URL, `http://127.0.0.1:<port>/client/v4`: what `api_url` takes.
    pub fn api_url(&self) -> String {
        format!("{}{BASE_PATH}", self.origin())
    }

    /// `http://127.0.0.1:<port>`: what the grant takes.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The id of [`ZONE`].
    pub fn zone_id(&self) -> &str {
        &self.zone_id
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The contents of the TXT records the stand-in holds at `name` (no trailing dot needed).
    pub async fn txt_contents(&self, name: &str) -> Vec<String> {
        let name = bare(name);
        self.state
            .records
            .lock()
            .await
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.content.clone())
            .collect()
    }
}

impl Drop for CloudflareApi {
    fn drop(&mut self) {
        self.task.abort();
        self.state.pdns.remove_all();
    }
}

/// One DNS record the stand-in holds.
#[derive(Debug, Clone)]
struct DnsRecord {
    id: String,
    name: String,
    content: String,
    ttl: u32,
}

impl DnsRecord {
    /// The record as Cloudflare returns it.
    fn to_json(&self, zone_id: &str) -> Value {
        json!({
            "id": self.id,
            "zone_id": zone_id,
            "zone_name": ZONE,
            "name": self.name,
            "type": "TXT",
            "content": self.content,
            "proxiable": false,
            "proxied": false,
            "ttl": self.ttl,
            "settings": {},
            "meta": {},
            "comment": null,
            "tags": [],
        })
    }
}

#[derive(Debug)]
struct State {
    token: String,
    zone_id: String,
    /// Held across the write to PowerDNS, so the two never disagree.
    records: tokio::sync::Mutex<Vec<DnsRecord>>,
    next_id: AtomicU64,
    pdns: PowerDnsZone,
}

/// A response: status and JSON body.
pub(crate) type Reply = (u16, Value);

impl State {
    async fn handle(&self, request: &Received) -> Reply {
        if let Some(refusal) = self.check_token(request) {
            return refusal;
        }
        let (path, query) = split_target(&request.target);
        let Some(path) = path.strip_prefix(BASE_PATH) else {
            return no_route(&path);
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["zones"]) => self.list_zones(&query),
            ("GET", ["zones", zone, "dns_records"]) if *zone == self.zone_id => {
                self.list_records(&query).await
            }
            ("POST", ["zones", zone, "dns_records"]) if *zone == self.zone_id => {
                self.create_record(&request.body).await
            }
            ("DELETE", ["zones", zone, "dns_records", id]) if *zone == self.zone_id => {
                self.delete_record(id).await
            }
            (_, ["zones", zone, ..]) if *zone != self.zone_id => unknown_object(path),
            _ => no_route(path),
        }
    }

    /// `None` when the request carries `Authorization: Bearer <the token>`, else the
    /// refusal Cloudflare sends: 400 for a missing or malformed header, 403 for another token.
    fn check_token(&self, request: &Received) -> Option<Reply> {
        let header = request
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            let error = json!({
                "code": 6003,
                "message": "Invalid request headers",
                "error_chain": [{ "code": 6111, "message": "Invalid format for Authorization header" }],
            });
            return Some(failure(400, vec![error]));
        };
        (token != self.token).then(|| failure(403, vec![error(10000, "Authentication error")]))
    }

    fn list_zones(&self, query: &[(String, String)]) -> Reply {
        let wanted = param(query, "name");
        let zones: Vec<Value> = [ZONE]
            .into_iter()
            .filter(|zone| wanted.is_none_or(|w| w.eq_ignore_ascii_case(zone)))
            .map(|zone| {
                json!({
                    "id": self.zone_id,
                    "name": zone,
                    "status": "active",
                    "paused": false,
                    "type": "full",
                    "name_servers": ["ns1.example.test", "ns2.example.test"],
                })
            })
            .collect();
        list(zones)
    }

    async fn list_records(&self, query: &[(String, String)]) -> Reply {
        let kind = param(query, "type");
        let name = param(query, "name").map(bare);
        let content = param(query, "content");
        let records = self.records.lock().await;
        let found: Vec<Value> = records
            .iter()
            .filter(|_| kind.is_none_or(|k| k.eq_ignore_ascii_case("TXT")))
            .filter(|r| name.as_ref().is_none_or(|n| *n == r.name))
            .filter(|r| content.is_none_or(|c| c == r.content))
            .map(|r| r.to_json(&self.zone_id))
            .collect();
        list(found)
    }

    async fn create_record(&self, body: &[u8]) -> Reply {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return failure(400, vec![error(9207, "Request body is invalid.")]);
        };
        if !body["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("TXT"))
        {
            return validation_error("this test server holds TXT records only");
        }
        let Some(name) = body["name"].as_str().map(absolute_in_zone) else {
            return validation_error("name is required");
        };
        if name != ZONE && !name.ends_with(&format!(".{ZONE}")) {
            return validation_error(&format!("{name} is not in zone {ZONE}"));
        }
        let content = match body["content"].as_str() {
            Some(c) if !c.is_empty() && c.len() <= 2048 => c.to_owned(),
            _ => return validation_error("content must be 1 to 2048 characters"),
        };
        let ttl = match body["ttl"].as_u64() {
            None => 1,
            Some(ttl @ (1 | 60..=86_400)) => u32::try_from(ttl).unwrap_or(1),
            Some(_) => {
                return validation_error(
                    "TTL must be between 60 and 86400 seconds, or 1 for Automatic",
                );
            }
        };

        let mut records = self.records.lock().await;
        if records
            .iter()
            .any(|r| r.name == name && r.content == content)
        {
            return failure(
                400,
                vec![error(81058, "An identical record already exists.")],
            );
        }
        let id = format!(
            "{:016x}{:016x}",
            u64::from(std::process::id()),
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let record = DnsRecord {
            id,
            name,
            content,
            ttl,
        };
        let mut after = records.clone();
        after.push(record.clone());
        if let Err(e) = self.write_through(&after, &record.name).await {
            return failure(500, vec![error(10001, &format!("PowerDNS: {e:#}"))]);
        }
        *records = after;
        (200, envelope(record.to_json(&self.zone_id)))
    }

    async fn delete_record(&self, id: &str) -> Reply {
        let mut records = self.records.lock().await;
        let Some(index) = records.iter().position(|r| r.id == id) else {
            return failure(404, vec![error(81044, "Record does not exist.")]);
        };
        let mut after = records.clone();
        let removed = after.remove(index);
        if let Err(e) = self.write_through(&after, &removed.name).await {
            return failure(500, vec![error(10001, &format!("PowerDNS: {e:#}"))]);
        }
        *records = after;
        (200, envelope(json!({ "id": removed.id })))
    }

    /// Makes the TXT rrset at `name` in PowerDNS hold exactly the contents of `records` there.
    async fn write_through(&self, records: &[DnsRecord], name: &str) -> anyhow::Result<()> {
        let here: Vec<&DnsRecord> = records.iter().filter(|r| r.name == name).collect();
        // PowerDNS has one TTL per rrset: the lowest of the records'. Automatic (1) is 300 s.
        let ttl = here
            .iter()
            .map(|r| if r.ttl == 1 { 300 } else { r.ttl })
            .min()
            .unwrap_or(300);
        let contents = here.iter().map(|r| quote_txt(&r.content)).collect();
        self.pdns
            .replace(&format!("{name}."), "TXT", contents, ttl)
            .await
    }
}

/// `{"success": true, ...}` around `result`.
fn envelope(result: Value) -> Value {
    json!({ "success": true, "errors": [], "messages": [], "result": result })
}

/// A list envelope, with `result_info` for one page holding everything.
fn list(items: Vec<Value>) -> Reply {
    let count = items.len();
    let mut body = envelope(Value::Array(items));
    body["result_info"] = json!({
        "page": 1,
        "per_page": count.max(20),
        "count": count,
        "total_count": count,
        "total_pages": 1,
    });
    (200, body)
}

/// `{"success": false, "errors": errors, ...}` with `status`.
fn failure(status: u16, errors: Vec<Value>) -> Reply {
    let body = json!({ "success": false, "errors": errors, "messages": [], "result": null });
    (status, body)
}

fn error(code: u32, message: &str) -> Value {
    json!({ "code": code, "message": message })
}

fn validation_error(detail: &str) -> Reply {
    failure(
        400,
        vec![json!({
            "code": 1004,
            "message": "DNS Validation Error",
            "error_chain": [{ "code": 9999, "message": detail }],
        })],
    )
}

/// What Cloudflare answers for an id it does not know in a path.
fn unknown_object(path: &str) -> Reply {
    let message = format!("Could not route to {path}, perhaps your object identifier is invalid?");
    failure(
        400,
        vec![error(7003, &message), error(7000, "No route for that URI")],
    )
}

fn no_route(path: &str) -> Reply {
    let message = format!("No route for that URI: {path}");
    failure(404, vec![error(7000, &message)])
}

/// A record name as Cloudflare stores it: lower case, no trailing dot, `@` and names without
/// the zone taken relative to the zone.
fn absolute_in_zone(name: &str) -> String {
    let name = bare(name);
    if name == "@" || name.is_empty() {
        return ZONE.to_owned();
    }
    if name == ZONE || name.ends_with(&format!(".{ZONE}")) {
        return name;
    }
    format!("{name}.{ZONE}")
}

fn bare(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Shared with the acme-dns stand-in.

/// The zone `example.test.` at the test PowerDNS, written through its HTTP API. It remembers
/// every rrset it wrote and deletes them all in [`remove_all`](Self::remove_all).
#[derive(Debug, Default)]
pub struct PowerDnsZone {
    written: Mutex<BTreeSet<(String, String)>>,
}

impl PowerDnsZone {
    /// The zone, absolute.
    pub const NAME: &str = "example.test.";

    /// Makes the `kind` rrset at `name` (absolute) hold exactly `contents`, in PowerDNS's
    /// presentation format (TXT values quoted); deletes the rrset when `contents` is empty.
    pub async fn replace(
        &self,
        name: &str,
        kind: &str,
        contents: Vec<String>,
        ttl: u32,
    ) -> anyhow::Result<()> {
        if !name.ends_with(&format!(".{}", Self::NAME)) {
            bail!("{name} is not in {}", Self::NAME);
        }
        self.written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((name.to_owned(), kind.to_owned()));
        let rrset = if contents.is_empty() {
            json!({ "name": name, "type": kind, "changetype": "DELETE" })
        } else {
            let records: Vec<Value> = contents
                .iter()
                .map(|c| json!({ "content": c, "disabled": false }))
                .collect();
            json!({ "name": name, "type": kind, "ttl": ttl, "changetype": "REPLACE", "records": records })
        };
        tokio::task::spawn_blocking(move || crate::pdns::patch_rrset(Self::NAME, rrset))
            .await?
            .map_err(anyhow::Error::msg)
    }

    /// Deletes every rrset written so far. Blocking: it runs from `Drop`, when a test ends
    /// however it ends; a failure is printed, not raised.
    pub fn remove_all(&self) {
        let written =
            std::mem::take(&mut *self.written.lock().unwrap_or_else(PoisonError::into_inner));
        for (name, kind) in written {
            if let Err(e) = crate::pdns::delete_rrset(Self::NAME, &name, &kind) {
                eprintln!("removing the {kind} rrset at {name} from PowerDNS: {e}");
            }
        }
    }
}

/// `"value"`: a TXT value as PowerDNS content.
pub fn quote_txt(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Serves HTTP/1.1 on `listener`, several requests per connection: records each request in
/// `received`, then answers it with `handle`'s status and JSON body.
pub(crate) fn serve<H, F>(
    listener: TcpListener,
    received: Arc<Mutex<Vec<Received>>>,
    handle: H,
) -> JoinHandle<()>
where
    H: Fn(Received) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send,
{
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let handle = handle.clone();
            let received = received.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                while let Ok(Some(request)) = read_request(&mut stream, &mut buffer).await {
                    received
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(request.clone());
                    let (status, body) = handle(request).await;
                    if write_json(&mut stream, status, &body).await.is_err() {
                        break;
                    }
                }
            });
        }
    })
}

/// Reads one request (`content-length` bodies only) from `stream`, keeping what follows it
/// in `buffer`; `None` when the client closed the connection.
async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Received>> {
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(stream, buffer).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        if !fill(stream, buffer).await? {
            return Ok(None);
        }
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Ok(Some(Received {
        method,
        target,
        headers,
        body,
    }))
}

/// Reads more of `stream` into `buffer`; false at the end of the stream.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

async fn write_json(stream: &mut TcpStream, status: u16, body: &Value) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}

/// The path and the decoded query parameters of a request target.
pub(crate) fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect();
    (decode(path), params)
}

/// The value of query parameter `key`, if present.
fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Undoes percent-encoding (and `+` for a space, as in forms); bad escapes stay as they are.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_and_decode() {
        let (path, query) = split_target(
            "/client/v4/zones/abc/dns_records?type=TXT&name=_acme-challenge.a.example.test&content=a%2Bb+c%",
        );
        assert_eq!(path, "/client/v4/zones/abc/dns_records");
        assert_eq!(param(&query, "type"), Some("TXT"));
        assert_eq!(
            param(&query, "name"),
            Some("_acme-challenge.a.example.test")
        );
        assert_eq!(param(&query, "content"), Some("a+b c%"));
        assert_eq!(param(&query, "missing"), None);
    }

    #[test]
    fn record_names_are_taken_in_the_zone() {
        assert_eq!(absolute_in_zone("@"), "example.test");
        assert_eq!(
            absolute_in_zone("_acme-challenge"),
            "_acme-challenge.example.test"
        );
        assert_eq!(
            absolute_in_zone("_acme-challenge.A.Example.Test."),
            "_acme-challenge.a.example.test"
        );
    }
}
