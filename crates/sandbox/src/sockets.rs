//! `wasi:sockets` for providers granted a DNS server (`dns://IP:port`, see
//! [`acmebox_egress::socket`]).
//!
//! A provider without such a grant has no sockets at all: TCP and UDP are off in its WASI
//! context and every address is refused. With one, TCP is on, and:
//!
//! - **The address check.** wasmtime-wasi asks [`CallEgress::check_socket`] before every bind,
//!   connect, listen and accept; the grant decides ([`Grant::check_socket`]). A refused use
//!   fails in the guest with `access-denied` before anything is sent, and is recorded.
//! - **Limits.** Connections per call ([`Limits::max_connections`]) are counted at the check;
//!   bytes sent and received per call ([`Limits::max_socket_bytes_sent`],
//!   [`Limits::max_socket_bytes_received`]) are counted by wrappers around the connection's
//!   streams, installed by shadowing `tcp-socket.finish-connect` in the linker. The call's
//!   deadline covers socket I/O like any other host I/O.
//! - **Audit.** Every connection, allowed or refused, becomes a [`SocketRecord`]: provider,
//!   protocol, address, decision, bytes each way, duration.
//!
//! UDP stays off even with a grant: a datagram stream cannot be metered the way a TCP stream
//! can in this host, and DNS updates go over TCP everywhere (RFC 7766).
//!
//! [`Grant::check_socket`]: acmebox_egress::Grant::check_socket

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use acmebox_egress::SocketUse;
use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, Pollable, StreamError,
    StreamResult, TcpSocket,
};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsView};

use crate::egress_hooks::CallEgress;
use crate::report::{Decision, LogLevel, SocketRecord};
use crate::state::StoreState;

/// The `wasi:sockets/tcp` instance name the WASI linker defines (the version of the WIT files
/// wasmtime-wasi ships; guests importing older 0.2 versions are matched to it).
const WASI_TCP: &str = "wasi:sockets/tcp@0.2.12";

/// The sockets of one call: counters and the connections made or refused.
#[derive(Debug, Default)]
pub(crate) struct CallSockets {
    connects: AtomicU32,
    sent: AtomicU64,
    received: AtomicU64,
    connections: Mutex<Vec<Arc<Connection>>>,
    refused: Mutex<Vec<SocketRecord>>,
}

/// One TCP connection a call made: counted by its streams, recorded at the end of the call.
#[derive(Debug)]
pub(crate) struct Connection {
    addr: SocketAddr,
    started: Instant,
    sent: AtomicU64,
    received: AtomicU64,
    attached: AtomicBool,
    ended: Mutex<Option<Instant>>,
    failure: Mutex<Option<String>>,
}

impl Connection {
    fn new(addr: SocketAddr) -> Self {
        Connection {
            addr,
            started: Instant::now(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            attached: AtomicBool::new(false),
            ended: Mutex::new(None),
            failure: Mutex::new(None),
        }
    }

    fn fail(&self, reason: String) {
        if let Ok(mut failure) = self.failure.lock() {
            failure.get_or_insert(reason);
        }
        self.end();
    }

    fn end(&self) {
        if let Ok(mut ended) = self.ended.lock() {
            *ended = Some(Instant::now());
        }
    }
}

impl CallEgress {
    /// The check wasmtime-wasi makes before a socket is bound, connected, listened on or
    /// accepted from: the grant decides, then the connection limit. Refusals are recorded.
    pub(crate) fn check_socket(&self, addr: SocketAddr, wasi_use: SocketAddrUse) -> bool {
        let socket_use = match wasi_use {
            SocketAddrUse::TcpBind => SocketUse::TcpBind,
            SocketAddrUse::TcpConnect => SocketUse::TcpConnect,
            SocketAddrUse::TcpListen => SocketUse::TcpListen,
            SocketAddrUse::TcpAccept => SocketUse::TcpAccept,
            SocketAddrUse::UdpBind => SocketUse::UdpBind,
            SocketAddrUse::UdpSend => SocketUse::UdpSend,
            SocketAddrUse::UdpReceive => SocketUse::UdpReceive,
        };
        if let Err(denial) = self.grant.check_socket(addr, socket_use) {
            self.refuse_socket(socket_use, addr, denial.message(&self.provider));
            return false;
        }
        if socket_use != SocketUse::TcpConnect {
            return true;
        }
        let connects = self.sockets.connects.fetch_add(1, Ordering::Relaxed) + 1;
        if connects > self.limits.max_connections {
            let reason = format!(
                "provider `{}` opened more than {} connections in one call (the limit); raise \
                 max_connections for it if that is intended",
                self.provider, self.limits.max_connections
            );
            self.refuse_socket(socket_use, addr, reason);
            return false;
        }
        if let Ok(mut connections) = self.sockets.connections.lock() {
            connections.push(Arc::new(Connection::new(addr)));
        }
        true
    }

    fn refuse_socket(&self, socket_use: SocketUse, addr: SocketAddr, reason: String) {
        self.host_log(LogLevel::Warn, &reason);
        let record = SocketRecord {
            provider: self.provider.to_string(),
            protocol: socket_use.protocol().to_owned(),
            operation: socket_use.as_str().to_owned(),
            addr,
            decision: Decision::Denied,
            reason: Some(reason),
            bytes_sent: 0,
            bytes_received: 0,
            duration_ms: 0,
        };
        record.trace();
        if let Ok(mut refused) = self.sockets.refused.lock() {
            refused.push(record);
        }
    }

    /// The connection a finished connect belongs to: the oldest one to `addr` without streams
    /// yet (or, when the address is unknown, the oldest without streams).
    fn pending_connection(&self, addr: Option<SocketAddr>) -> Option<Arc<Connection>> {
        let connections = self.sockets.connections.lock().ok()?;
        connections
            .iter()
            .find(|c| !c.attached.load(Ordering::Relaxed) && addr.is_none_or(|addr| c.addr == addr))
            .cloned()
    }

    /// Every socket record of the call, refused ones first, then connections in order.
    pub(crate) fn take_socket_records(&self) -> Vec<SocketRecord> {
        let mut records = self
            .sockets
            .refused
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        let connections = self
            .sockets
            .connections
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        for connection in connections {
            let ended = connection
                .ended
                .lock()
                .ok()
                .and_then(|e| *e)
                .unwrap_or_else(Instant::now);
            let failure = connection.failure.lock().ok().and_then(|f| f.clone());
            let record = SocketRecord {
                provider: self.provider.to_string(),
                protocol: "tcp".to_owned(),
                operation: SocketUse::TcpConnect.as_str().to_owned(),
                addr: connection.addr,
                decision: Decision::Allowed,
                reason: failure,
                bytes_sent: connection.sent.load(Ordering::Relaxed),
                bytes_received: connection.received.load(Ordering::Relaxed),
                duration_ms: u64::try_from(
                    ended
                        .saturating_duration_since(connection.started)
                        .as_millis(),
                )
                .unwrap_or(u64::MAX),
            };
            record.trace();
            records.push(record);
        }
        records
    }

    /// Counts `n` more bytes sent; false (and the connection failed) when that passes the
    /// call's limit.
    fn count_sent(&self, connection: &Connection, n: usize) -> bool {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let limit = u64::try_from(self.limits.max_socket_bytes_sent).unwrap_or(u64::MAX);
        let total = self
            .sockets
            .sent
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        if total > limit {
            self.limit_reached(connection, "sent", limit);
            return false;
        }
        connection.sent.fetch_add(n, Ordering::Relaxed);
        true
    }

    /// Counts `n` more bytes received; false when that passes the call's limit.
    fn count_received(&self, connection: &Connection, n: usize) -> bool {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let limit = u64::try_from(self.limits.max_socket_bytes_received).unwrap_or(u64::MAX);
        let total = self
            .sockets
            .received
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        if total > limit {
            self.limit_reached(connection, "received", limit);
            return false;
        }
        connection.received.fetch_add(n, Ordering::Relaxed);
        true
    }

    fn limit_reached(&self, connection: &Connection, way: &str, limit: u64) {
        let setting = if way == "sent" {
            "max_socket_kib_sent"
        } else {
            "max_socket_kib_received"
        };
        let reason = format!(
            "provider `{}` {way} more than {limit} bytes over sockets in one call (the limit); \
             the connection to {} was cut; raise {setting} for it if that is intended",
            self.provider, connection.addr
        );
        self.host_log(LogLevel::Warn, &reason);
        connection.fail(reason);
    }
}

/// The `socket_addr_check` for a call's WASI context.
pub(crate) fn addr_check(
    call: Arc<CallEgress>,
) -> impl Fn(SocketAddr, SocketAddrUse) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + Sync>>
+ Send
+ Sync
+ 'static {
    move |addr, wasi_use| {
        let allowed = call.check_socket(addr, wasi_use);
        Box::pin(async move { allowed })
    }
}

/// Replaces `tcp-socket.finish-connect` in `linker` with one that wraps the new connection's
/// streams in counters (see the module docs). The linker must already hold the WASI imports.
pub(crate) fn add_metering_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = linker
        .instance(WASI_TCP)?
        .func_wrap("[method]tcp-socket.finish-connect", finish_connect);
    linker.allow_shadowing(false);
    result
}

type Streams = (Resource<DynInputStream>, Resource<DynOutputStream>);

fn finish_connect(
    mut store: StoreContextMut<'_, StoreState>,
    (this,): (Resource<TcpSocket>,),
) -> wasmtime::Result<(Result<Streams, ErrorCode>,)> {
    let rep = this.rep();
    let state = store.data_mut();
    let call = state.call().clone();
    let view = &mut state.sockets();
    let remote = HostTcpSocket::remote_address(view, Resource::new_borrow(rep))
        .ok()
        .map(SocketAddr::from);
    match HostTcpSocket::finish_connect(view, this) {
        Ok((input, output)) => {
            let Some(connection) = call.pending_connection(remote) else {
                // Every connect passed the check, which registered it: an unknown connection
                // cannot carry data unmetered.
                return Err(wasmtime::format_err!(
                    "a connection to {remote:?} finished that was never checked"
                ));
            };
            connection.attached.store(true, Ordering::Relaxed);
            let parent = Resource::<TcpSocket>::new_borrow(rep);
            let streams = meter(view.table, &parent, input, output, &call, &connection)?;
            Ok((Ok(streams),))
        }
        Err(err) => {
            let code = err.downcast()?;
            if code != ErrorCode::WouldBlock
                && let Some(connection) = call.pending_connection(remote)
            {
                connection.attached.store(true, Ordering::Relaxed);
                connection.fail(format!("the connection failed: {code:?}"));
            }
            Ok((Err(code),))
        }
    }
}

/// Replaces the two streams in `table` with counting wrappers, children of the same socket.
fn meter(
    table: &mut ResourceTable,
    parent: &Resource<TcpSocket>,
    input: Resource<DynInputStream>,
    output: Resource<DynOutputStream>,
    call: &Arc<CallEgress>,
    connection: &Arc<Connection>,
) -> wasmtime::Result<Streams> {
    let inner_input = table.delete(input)?;
    let inner_output = table.delete(output)?;
    let input: DynInputStream = Box::new(MeteredInput {
        inner: inner_input,
        call: call.clone(),
        connection: connection.clone(),
    });
    let output: DynOutputStream = Box::new(MeteredOutput {
        inner: inner_output,
        call: call.clone(),
        connection: connection.clone(),
    });
    Ok((
        table.push_child(input, parent)?,
        table.push_child(output, parent)?,
    ))
}

fn limit_error(way: &str) -> StreamError {
    StreamError::LastOperationFailed(wasmtime::format_err!(
        "the call's socket byte limit ({way}) was reached"
    ))
}

/// A connection's input stream, counting what the provider reads.
struct MeteredInput {
    inner: DynInputStream,
    call: Arc<CallEgress>,
    connection: Arc<Connection>,
}

#[wasmtime_wasi::async_trait]
impl InputStream for MeteredInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.connection.failure.lock().is_ok_and(|f| f.is_some()) {
            return Err(limit_error("received"));
        }
        let bytes = self.inner.read(size)?;
        if !self.call.count_received(&self.connection, bytes.len()) {
            return Err(limit_error("received"));
        }
        Ok(bytes)
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await;
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for MeteredInput {
    async fn ready(&mut self) {
        self.inner.ready().await;
    }
}

impl Drop for MeteredInput {
    fn drop(&mut self) {
        self.connection.end();
    }
}

/// A connection's output stream, counting what the provider writes before it is written.
struct MeteredOutput {
    inner: DynOutputStream,
    call: Arc<CallEgress>,
    connection: Arc<Connection>,
}

#[wasmtime_wasi::async_trait]
impl OutputStream for MeteredOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if !self.call.count_sent(&self.connection, bytes.len()) {
            return Err(limit_error("sent"));
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        if self.connection.failure.lock().is_ok_and(|f| f.is_some()) {
            return Err(limit_error("sent"));
        }
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await;
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for MeteredOutput {
    async fn ready(&mut self) {
        self.inner.ready().await;
    }
}

impl Drop for MeteredOutput {
    fn drop(&mut self) {
        self.connection.end();
    }
}
