//! Sockets in the sandbox: a `dns://IP:port` grant gives TCP to exactly that address, under the
//! call's connection and byte limits and deadline, with every connection audited; without one,
//! a provider has no sockets at all. The peers are TCP listeners of the test on loopback that
//! count the connections they accept, so "refused before anything is sent" is checked on the
//! wire.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use acmebox::sandbox::{CallReport, Decision, ProviderSpec, SocketRecord};
use acmebox_tests::danger;
use acmebox_tests::guests::fixture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use crate::sandbox::{error_text, good_still_works, plain, record, sandbox, spec};

/// A loopback TCP listener counting the connections it accepted.
struct Peer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Peer {
    /// Echoes what it reads until the client shuts its side, then closes.
    async fn echo() -> anyhow::Result<Self> {
        Self::start(true).await
    }

    /// Accepts and reads, and never answers.
    async fn silent() -> anyhow::Result<Self> {
        Self::start(false).await
    }

    async fn start(answer: bool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut received = Vec::new();
                    if stream.read_to_end(&mut received).await.is_ok() && answer {
                        let _ = stream.write_all(&received).await;
                    }
                    if !answer {
                        std::future::pending::<()>().await;
                    }
                });
            }
        });
        Ok(Peer { addr, hits, task })
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The grant for this loopback peer (marked: loopback weakens the sandbox).
    fn grant(&self) -> String {
        danger(format!("dns://{}", self.addr))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback UDP socket echoing every datagram to its sender, counting what it received.
struct UdpPeer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl UdpPeer {
    async fn echo() -> anyhow::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = socket.send_to(&buf[..len], from).await;
            }
        });
        Ok(UdpPeer { addr, hits, task })
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for UdpPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn sockets_spec(name: &str, allow: &[String], steps: &[String]) -> anyhow::Result<ProviderSpec> {
    Ok(spec(
        name,
        fixture("fixture-sockets")?,
        allow,
        &[("steps", plain(steps.join(";")))],
    ))
}

/// The fixture's outcomes, one per step, from its `other(...)` error.
fn outcomes(report: &CallReport) -> Vec<String> {
    let text = error_text(report);
    let Some((_, list)) = text.split_once("failed during present: ") else {
        panic!("unexpected outcome: {text}");
    };
    list.split("; ").map(str::to_owned).collect()
}

fn denied(report: &CallReport) -> Vec<&SocketRecord> {
    report
        .sockets
        .iter()
        .filter(|r| r.decision == Decision::Denied)
        .collect()
}

#[tokio::test]
async fn dns_grant_allows_tcp_to_exactly_that_address() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let granted = Peer::echo().await?;
    let other = Peer::echo().await?;
    let steps = [
        format!("echo {} 300", granted.addr),
        format!("connect {}", other.addr),
        format!("connect 127.0.0.2:{}", granted.addr.port()),
        "listen 0.0.0.0:0".to_owned(),
        format!("listen 127.0.0.1:{}", other.addr.port() + 1),
        format!("udp 127.0.0.2:{} 10", granted.addr.port()),
        "lookup example.com".to_owned(),
    ];
    let provider = sandbox.load(sockets_spec("sockets", &[granted.grant()], &steps)?)?;
    let report = provider.present(&record()).await;
    let got = outcomes(&report);
    assert_eq!(got.len(), steps.len(), "{got:?}");
    assert_eq!(got[0], format!("{} => sent 300 received 300", steps[0]));
    for (i, outcome) in got.iter().enumerate().skip(1) {
        assert!(
            outcome.contains("=> error"),
            "step {i} was not refused: {outcome}"
        );
    }
    // Refused before anything was sent: the other listener saw no connection at all.
    assert_eq!(
        other.hits(),
        0,
        "a refused connect reached the other listener"
    );
    assert_eq!(granted.hits(), 1);

    // The audit: the echo connection with its bytes, and every refusal with its reason.
    let allowed: Vec<&SocketRecord> = report
        .sockets
        .iter()
        .filter(|r| r.decision == Decision::Allowed)
        .collect();
    assert_eq!(allowed.len(), 1, "{:?}", report.sockets);
    assert_eq!(allowed[0].addr, granted.addr);
    assert_eq!(allowed[0].protocol, "tcp");
    assert_eq!(
        (allowed[0].bytes_sent, allowed[0].bytes_received),
        (300, 300)
    );
    assert_eq!(allowed[0].reason, None);
    // A listen is checked on the socket's bound address: the wildcard with the ephemeral port
    // the allowed bind gave it, which the test cannot know; only its address is compared.
    let refusals: Vec<(String, SocketAddr)> = denied(&report)
        .iter()
        .map(|r| match r.operation.as_str() {
            "tcp listen" => (r.operation.clone(), SocketAddr::new(r.addr.ip(), 0)),
            _ => (r.operation.clone(), r.addr),
        })
        .collect();
    let listen_bind: SocketAddr = format!("127.0.0.1:{}", other.addr.port() + 1).parse()?;
    assert_eq!(
        refusals,
        [
            ("tcp connect".to_owned(), other.addr),
            (
                "tcp connect".to_owned(),
                format!("127.0.0.2:{}", granted.addr.port()).parse()?
            ),
            ("tcp listen".to_owned(), "0.0.0.0:0".parse()?),
            ("tcp bind".to_owned(), listen_bind),
            (
                "udp send".to_owned(),
                format!("127.0.0.2:{}", granted.addr.port()).parse()?
            ),
        ]
    );
    let reason = denied(&report)[0].reason.clone().unwrap_or_default();
    assert_eq!(
        reason,
        format!(
            "provider `sockets` asked for tcp connect {} which is not in its allow list; add \
             `danger:dns://{}` to `allow` if that is intended",
            other.addr, other.addr
        )
    );
    // Each refusal is in the provider's log too, and the report prints one line per record.
    assert!(
        report.logs.iter().any(|l| l.message == reason),
        "{:?}",
        report.logs
    );
    let mut lines = Vec::new();
    report.write_lines(&mut lines, "")?;
    let lines = String::from_utf8(lines)?;
    assert!(
        lines.contains(&format!(
            "  socket tcp connect {} allowed sent 300 B, received 300 B,",
            granted.addr
        )),
        "{lines}"
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn dns_grant_allows_udp_to_exactly_that_address() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let granted = UdpPeer::echo().await?;
    let other = UdpPeer::echo().await?;
    let allow = [danger(format!("dns://{}", granted.addr))];
    let steps = [
        format!("udp {} 300", granted.addr),
        format!("udp {} 10", other.addr),
    ];
    let report = sandbox
        .load(sockets_spec("udp", &allow, &steps)?)?
        .present(&record())
        .await;
    let got = outcomes(&report);
    assert_eq!(got[0], format!("{} => sent 300 received 300", steps[0]));
    assert!(got[1].contains("=> error"), "{got:?}");
    assert_eq!((granted.hits(), other.hits()), (1, 0));
    let summary: Vec<(&str, Decision, SocketAddr, u64, u64)> = report
        .sockets
        .iter()
        .map(|r| {
            (
                r.operation.as_str(),
                r.decision,
                r.addr,
                r.bytes_sent,
                r.bytes_received,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("udp send", Decision::Denied, other.addr, 0, 0),
            ("udp send", Decision::Allowed, granted.addr, 300, 300),
        ]
    );
    assert!(report.sockets.iter().all(|r| r.protocol == "udp"));

    // A datagram that would pass the byte limit is refused at its check: never sent.
    let mut s = sockets_spec("udpsent", &allow, &[format!("udp {} 300", granted.addr)])?;
    s.limits.max_socket_bytes_sent = 100;
    let report = sandbox.load(s)?.present(&record()).await;
    assert!(outcomes(&report)[0].contains("=> error"), "{report:?}");
    assert_eq!(granted.hits(), 1, "a datagram over the limit was sent");
    let reason = report.sockets[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("provider `udpsent` sent more than 100 bytes over sockets"),
        "{reason}"
    );

    // One received past the limit is dropped, and the provider is told.
    let mut s = sockets_spec("udprecv", &allow, &[format!("udp {} 300", granted.addr)])?;
    s.limits.max_socket_bytes_received = 100;
    let report = sandbox.load(s)?.present(&record()).await;
    assert!(outcomes(&report)[0].contains("=> error"), "{report:?}");
    assert_eq!(granted.hits(), 2);
    assert_eq!(report.sockets[0].bytes_received, 0, "{:?}", report.sockets);
    assert!(
        report.sockets[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("received more than 100 bytes")),
        "{:?}",
        report.sockets
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn without_a_dns_grant_there_are_no_sockets() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let peer = Peer::echo().await?;
    // An HTTP grant for the very same address and port gives no socket.
    let allow = [danger(format!("http://{}", peer.addr))];
    let steps = [
        format!("connect {}", peer.addr),
        format!("echo {} 10", peer.addr),
        format!("udp {} 10", peer.addr),
    ];
    let provider = sandbox.load(sockets_spec("nosock", &allow, &steps)?)?;
    let report = provider.present(&record()).await;
    let got = outcomes(&report);
    assert!(got.iter().all(|o| o.contains("=> error")), "{got:?}");
    assert_eq!(peer.hits(), 0);
    assert!(
        report.sockets.iter().all(|r| r.bytes_sent == 0),
        "{:?}",
        report.sockets
    );
    Ok(())
}

#[tokio::test]
async fn connections_per_call_are_limited() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let peer = Peer::echo().await?;
    let steps = vec![format!("echo {} 10", peer.addr); 3];
    let mut s = sockets_spec("conns", &[peer.grant()], &steps)?;
    s.limits.max_connections = 2;
    let report = sandbox.load(s)?.present(&record()).await;
    let got = outcomes(&report);
    assert!(got[0].ends_with("sent 10 received 10"), "{got:?}");
    assert!(got[1].ends_with("sent 10 received 10"), "{got:?}");
    assert!(got[2].contains("=> error"), "{got:?}");
    assert_eq!(peer.hits(), 2);
    let refused = denied(&report);
    assert_eq!(refused.len(), 1, "{:?}", report.sockets);
    assert_eq!(
        refused[0].reason.as_deref(),
        Some(
            "provider `conns` opened more than 2 connections in one call (the limit); raise \
             max_connections for it if that is intended"
        )
    );
    Ok(())
}

#[tokio::test]
async fn refusals_past_the_record_limit_are_counted_not_kept() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let peer = Peer::echo().await?;
    let steps = vec![format!("connect 127.0.0.2:{}", peer.addr.port()); 70];
    let report = sandbox
        .load(sockets_spec("looping", &[peer.grant()], &steps)?)?
        .present(&record())
        .await;
    // Every step was refused (the error listing them is cut at the bound on guest strings).
    assert!(
        error_text(&report).contains("=> error"),
        "{}",
        error_text(&report)
    );
    assert_eq!(denied(&report).len(), 64, "{:?}", report.sockets);
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message == "6 more socket uses were refused than the 64 recorded"),
        "{:?}",
        report.logs
    );
    Ok(())
}

#[tokio::test]
async fn bytes_per_call_are_limited_both_ways() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let peer = Peer::echo().await?;

    // Sending: the write that would pass the limit is refused, and never reaches the peer.
    let steps = [format!("echo {} 20000", peer.addr)];
    let mut s = sockets_spec("sent", &[peer.grant()], &steps)?;
    s.limits.max_socket_bytes_sent = 10_000;
    let report = sandbox.load(s)?.present(&record()).await;
    let got = outcomes(&report);
    assert!(got[0].contains("then error"), "{got:?}");
    let record = &report.sockets[0];
    assert!(record.bytes_sent <= 10_000, "{record:?}");
    let reason = record.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("provider `sent` sent more than 10000 bytes over sockets in one call"),
        "{reason}"
    );

    // Receiving: the peer echoes 3000 bytes; the provider may take 1000.
    let steps = [format!("echo {} 3000", peer.addr)];
    let mut s = sockets_spec("received", &[peer.grant()], &steps)?;
    s.limits.max_socket_bytes_received = 1000;
    let report = sandbox.load(s)?.present(&crate::sandbox::record()).await;
    let got = outcomes(&report);
    assert!(got[0].contains("sent 3000 received"), "{got:?}");
    assert!(got[0].contains("then error"), "{got:?}");
    let record = &report.sockets[0];
    assert_eq!(record.bytes_sent, 3000);
    assert!(record.bytes_received <= 1000, "{record:?}");
    assert!(
        record
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("received more than 1000 bytes")),
        "{record:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_deadline_covers_socket_io() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let peer = Peer::silent().await?;
    let steps = [format!("echo {} 10", peer.addr)];
    let mut s = sockets_spec("stalled", &[peer.grant()], &steps)?;
    s.limits.timeout = Duration::from_secs(1);
    let report = sandbox.load(s)?.present(&record()).await;
    assert_eq!(
        error_text(&report),
        "provider `stalled` exceeded its 1 s deadline during present"
    );
    assert_eq!(peer.hits(), 1);
    // The connection is still audited, with what it carried.
    assert_eq!(report.sockets.len(), 1, "{:?}", report.sockets);
    assert_eq!(report.sockets[0].bytes_sent, 10);
    good_still_works(&sandbox).await
}
