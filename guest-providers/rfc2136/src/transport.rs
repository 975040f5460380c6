//! One DNS exchange over TCP: each message goes with a two-octet length in front (RFC 1035
//! §4.2.2, RFC 7766 §8), on a connection of its own.
//!
//! TCP only: the sandbox grants a provider TCP connections to `dns://IP:PORT`, never UDP. An
//! UPDATE may go over TCP as well as UDP (RFC 2136 §3.8).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use acmebox_provider::ProviderError;

/// How long connecting, sending and each read may take. Protects against a server that accepts
/// the connection and never answers; the host's deadline for the whole call still applies.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `request` to `server` and returns the answer.
pub fn exchange(
    server: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ProviderError> {
    let len = u16::try_from(request.len()).map_err(|_| {
        ProviderError::Other(format!(
            "the request is {} octets, more than a DNS message over TCP can hold",
            request.len()
        ))
    })?;
    let mut stream =
        connect(server, timeout).map_err(|e| failure(server, "connecting to", &e, timeout))?;
    // Best effort: without timeouts the host's deadline ends a stuck call instead.
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_nodelay(true);

    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream
        .write_all(&framed)
        .and_then(|()| stream.flush())
        .map_err(|e| failure(server, "sending to", &e, timeout))?;

    let mut len = [0; 2];
    stream
        .read_exact(&mut len)
        .map_err(|e| failure(server, "reading the answer from", &e, timeout))?;
    let mut answer = vec![0; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut answer)
        .map_err(|e| failure(server, "reading the answer from", &e, timeout))?;
    Ok(answer)
}

/// Connects with a timeout, or without one where the platform cannot time a connect.
fn connect(server: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    match TcpStream::connect_timeout(&server, timeout) {
        Err(e) if e.kind() == ErrorKind::Unsupported => TcpStream::connect(server),
        other => other,
    }
}

/// A transport error that names the address and says what to check.
fn failure(server: SocketAddr, doing: &str, e: &io::Error, timeout: Duration) -> ProviderError {
    let url = format!("dns://{server}");
    let message = match e.kind() {
        ErrorKind::ConnectionRefused => format!(
            "{url} refused the TCP connection: is the DNS server listening on TCP at that \
             address and port?"
        ),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => {
            format!("{doing} {url} timed out after {timeout:?}")
        }
        ErrorKind::PermissionDenied => format!(
            "acmebox did not let the provider connect to {url}: add `{url}` to the provider's \
             `allow` list"
        ),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
            format!("{url} closed the connection while the provider was {doing} it")
        }
        _ => format!("{doing} {url} failed: {e}"),
    };
    ProviderError::TransportError(message)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    fn transport_error(result: Result<Vec<u8>, ProviderError>) -> String {
        match result {
            Err(ProviderError::TransportError(message)) => message,
            other => panic!("expected a transport error, got {other:?}"),
        }
    }

    /// A one-connection server on loopback that reads one framed message and runs `answer`.
    fn serve(answer: impl FnOnce(Vec<u8>, TcpStream) + Send + 'static) -> SocketAddr {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
            panic!("bind");
        };
        let Ok(address) = listener.local_addr() else {
            panic!("local_addr");
        };
        thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut len = [0; 2];
            let _ = stream.read_exact(&mut len);
            let mut request = vec![0; usize::from(u16::from_be_bytes(len))];
            let _ = stream.read_exact(&mut request);
            answer(request, stream);
        });
        address
    }

    #[test]
    fn frames_both_ways() {
        let address = serve(|request, mut stream| {
            let mut answer = request;
            answer.reverse();
            let len = u16::try_from(answer.len()).unwrap_or_default();
            // Length and message in two writes: the reader must not assume one segment.
            let _ = stream.write_all(&len.to_be_bytes());
            let _ = stream.flush();
            let _ = stream.write_all(&answer);
        });
        let answer = exchange(address, b"abc", DEFAULT_TIMEOUT);
        assert_eq!(answer, Ok(b"cba".to_vec()));
    }

    #[test]
    fn closed_and_refused_connections() {
        let address = serve(|_, stream| drop(stream));
        let message = transport_error(exchange(address, b"abc", DEFAULT_TIMEOUT));
        assert!(message.contains(&format!("dns://{address}")), "{message}");
        assert!(message.contains("closed the connection"), "{message}");

        // A port nothing listens on: bind one, then free it.
        let address = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(address) => address,
            Err(e) => panic!("bind: {e}"),
        };
        let message = transport_error(exchange(address, b"abc", DEFAULT_TIMEOUT));
        assert!(message.contains("refused the TCP connection"), "{message}");
        assert!(message.contains(&format!("dns://{address}")), "{message}");
    }

    #[test]
    fn silent_servers_time_out() {
        let address = serve(|_, stream| {
            thread::sleep(Duration::from_millis(500));
            drop(stream);
        });
        let message = transport_error(exchange(address, b"abc", Duration::from_millis(100)));
        assert!(message.contains("timed out"), "{message}");
    }
}
