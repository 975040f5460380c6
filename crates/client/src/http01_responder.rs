//! A built-in HTTP-01 responder (RFC 8555 §8.3): a minimal HTTP/1.1 server that answers
//! `GET /.well-known/acme-challenge/<token>` from memory.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::{Error, Result};
use acmebox_challenge::handlers::{self, ChallengeHandler, async_trait};
use acmebox_challenge::http01::CHALLENGE_DIR;
use acmebox_challenge::{Challenge, ChallengeType, KeyAuthorization};

/// The largest request head (request line and headers) read. A validation request is a few
/// hundred bytes; the bound keeps a client from making the responder buffer without end.
pub const DEFAULT_MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How long a client may take to send its request head. Bounds idle connections.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections are served at once; more are closed at once. Bounds the tasks a flood
/// of connections can start.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// Serves HTTP-01 responses from memory on one address: `setup` adds the key authorization
/// for a token, `cleanup` removes it. Any other path answers 404.
///
/// One request per connection (`Connection: close`), `GET` and `HEAD` only. The server stops
/// when the responder is dropped.
///
/// ```no_run
/// # async fn run() -> acmebox_client::Result<()> {
/// use std::sync::Arc;
/// let responder = Arc::new(acmebox_client::Http01Responder::bind("127.0.0.1:80".parse().unwrap()).await?);
/// println!("listening on {}", responder.local_addr());
/// # Ok(())
/// # }
/// ```
pub struct Http01Responder {
    local_addr: SocketAddr,
    responses: Responses,
    task: JoinHandle<()>,
}

type Responses = Arc<Mutex<HashMap<String, KeyAuthorization>>>;

impl Http01Responder {
    /// Listens on `addr` (port 0 picks a free port; see [`local_addr`](Self::local_addr)).
    pub async fn bind(addr: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|error| Error::Listen {
                addr,
                challenge: ChallengeType::Http01,
                error,
            })?;
        let local_addr = listener.local_addr().map_err(|error| Error::Listen {
            addr,
            challenge: ChallengeType::Http01,
            error,
        })?;
        let responses = Responses::default();
        let task = tokio::spawn(serve(listener, responses.clone()));
        Ok(Http01Responder {
            local_addr,
            responses,
            task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many responses are being served.
    pub fn len(&self) -> usize {
        lock(&self.responses).len()
    }

    /// True if no response is being served.
    pub fn is_empty(&self) -> bool {
        lock(&self.responses).is_empty()
    }
}

impl Drop for Http01Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for Http01Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http01Responder")
            .field("local_addr", &self.local_addr)
            .field("responses", &self.len())
            .finish()
    }
}

#[async_trait]
impl ChallengeHandler for Http01Responder {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::Http01
    }

    async fn setup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
        handlers::ensure_type("HTTP-01 responder", ChallengeType::Http01, challenge)?;
        lock(&self.responses).insert(
            challenge.token.as_str().to_owned(),
            challenge.key_authorization.clone(),
        );
        Ok(())
    }

    async fn cleanup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
        handlers::ensure_type("HTTP-01 responder", ChallengeType::Http01, challenge)?;
        let mut responses = lock(&self.responses);
        // Remove only what this challenge published.
        if responses.get(challenge.token.as_str()) == Some(&challenge.key_authorization) {
            responses.remove(challenge.token.as_str());
        }
        Ok(())
    }
}

fn lock(responses: &Responses) -> MutexGuard<'_, HashMap<String, KeyAuthorization>> {
    // Every change is a single insert or remove, so a poisoned map is still consistent.
    responses
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(listener: TcpListener, responses: Responses) {
    let slots = Arc::new(Semaphore::new(DEFAULT_MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "HTTP-01 responder: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "HTTP-01 responder: too many connections, closing one");
            continue;
        };
        let responses = responses.clone();
        tokio::spawn(async move {
            if let Err(err) = answer(stream, &responses).await {
                tracing::debug!(%peer, error = %err, "HTTP-01 responder: connection failed");
            }
            drop(slot);
        });
    }
}

/// Reads one request head and answers it.
async fn answer(mut stream: TcpStream, responses: &Responses) -> std::io::Result<()> {
    let head = match tokio::time::timeout(DEFAULT_READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let (status, body) = match parse_request_line(&head) {
        Some((method @ ("GET" | "HEAD"), target)) => {
            let found = target_token(target).and_then(|token| lock(responses).get(token).cloned());
            match found {
                Some(ka) if method == "GET" => ("200 OK", ka.as_str().to_owned()),
                Some(_) => ("200 OK", String::new()),
                None => ("404 Not Found", String::new()),
            }
        }
        Some(_) => ("405 Method Not Allowed", String::new()),
        None => ("400 Bad Request", String::new()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads until the blank line that ends the head, at most [`DEFAULT_MAX_REQUEST_HEAD`] bytes.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < DEFAULT_MAX_REQUEST_HEAD {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// The method and target of an HTTP/1.x request line.
fn parse_request_line(head: &[u8]) -> Option<(&str, &str)> {
    let end = head.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") {
        return None;
    }
    Some((method, target))
}

/// The token of `/.well-known/acme-challenge/<token>` (a query string is ignored), if the
/// target is that path and the token is a single path segment.
fn target_token(target: &str) -> Option<&str> {
    let path = target.split('?').next()?;
    let token = path
        .strip_prefix('/')?
        .strip_prefix(CHALLENGE_DIR)?
        .strip_prefix('/')?;
    (!token.is_empty() && !token.contains('/')).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use acmebox_challenge::Identifier;

    const KA: &str =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    #[test]
    fn request_line_table() {
        type Case<'a> = (&'a [u8], Option<(&'a str, &'a str)>);
        let cases: &[Case] = &[
            (b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", Some(("GET", "/x"))),
            (b"HEAD /x HTTP/1.0\r\n\r\n", Some(("HEAD", "/x"))),
            (b"GET /x HTTP/2\r\n\r\n", None),
            (b"GET /x\r\n\r\n", None),
            (b"GET  /x HTTP/1.1\r\n\r\n", None),
            (b"GET /x HTTP/1.1", None),
            (b"\xff /x HTTP/1.1\r\n", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_request_line(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn target_token_table() {
        let cases = [
            ("/.well-known/acme-challenge/abc", Some("abc")),
            ("/.well-known/acme-challenge/abc?x=1", Some("abc")),
            ("/.well-known/acme-challenge/", None),
            ("/.well-known/acme-challenge/a/b", None),
            ("/.well-known/acme-challengeabc", None),
            ("/other/abc", None),
            ("*", None),
        ];
        for (input, want) in cases {
            assert_eq!(target_token(input), want, "{input}");
        }
    }

    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_while_set_up_and_404_after_cleanup() {
        let responder = Http01Responder::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = responder.local_addr();
        let ka = KeyAuthorization::parse(KA).unwrap();
        let challenge = Challenge::new(
            ChallengeType::Http01,
            Identifier::parse("a.example.test").unwrap(),
            ka,
        )
        .unwrap();
        let request = format!(
            "GET /.well-known/acme-challenge/{} HTTP/1.1\r\nHost: a.example.test\r\n\r\n",
            challenge.token
        );
        assert!(get(addr, &request).await.starts_with("HTTP/1.1 404"));
        responder.setup(&challenge).await.unwrap();
        let response = get(addr, &request).await;
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with(&format!("\r\n\r\n{KA}")), "{response}");
        assert!(
            get(addr, "POST / HTTP/1.1\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 405")
        );
        assert!(
            get(addr, "nonsense\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 400")
        );
        responder.cleanup(&challenge).await.unwrap();
        responder.cleanup(&challenge).await.unwrap();
        assert!(responder.is_empty());
        assert!(get(addr, &request).await.starts_with("HTTP/1.1 404"));

        let dns = Challenge::new(
            ChallengeType::Dns01,
            Identifier::parse("a.example.test").unwrap(),
            KeyAuthorization::parse(KA).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            responder.setup(&dns).await,
            Err(acmebox_challenge::Error::WrongChallengeType { .. })
        ));
    }

    #[tokio::test]
    async fn busy_address_is_a_clear_error() {
        let responder = Http01Responder::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let err = Http01Responder::bind(responder.local_addr())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot listen on"), "{err}");
    }
}
