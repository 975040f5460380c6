//! `wasi:sockets` for providers granted a DNS server (`dns://IP:port`, see
//! [`acmebox_egress::socket`]).
//!
//! A provider without such a grant has no sockets at all: TCP and UDP are off in its WASI
//! context and every address is refused. With one, TCP and UDP are on, and:
//!
//! - **The address check.** wasmtime-wasi asks [`CallEgress::check_socket`] before every bind,
//!   connect, listen and accept, before every datagram sent and for every datagram received;
//!   the grant decides ([`Grant::check_socket`]). A refused use fails in the guest with
//!   `access-denied` before anything is sent, and is recorded; a datagram from an address
//!   outside the grant is dropped before the guest sees it.
//! - **Limits.** Sockets per call ([`Limits::max_connections`]: TCP connects and UDP binds)
//!   are counted at the check. Bytes sent and received per call
//!   ([`Limits::max_socket_bytes_sent`], [`Limits::max_socket_bytes_received`]) are counted by
//!   wrappers around a TCP connection's streams, installed by shadowing
//!   `tcp-socket.finish-connect`, and for UDP by shadowing `outgoing-datagram-stream.send`
//!   (each datagram is counted at its address check, so one over the limit is never sent) and
//!   `incoming-datagram-stream.receive`. The call's deadline covers socket I/O like any other
//!   host I/O.
//! - **Audit.** Every TCP connection and every UDP peer, allowed or refused, becomes a
//!   [`SocketRecord`]: provider, protocol, address, decision, bytes each way, duration. After
//!   [`MAX_REFUSED_RECORDS`] refusals in one call, further ones are counted, not kept.
//!
//! [`Grant::check_socket`]: acmebox_egress::Grant::check_socket

use std::collections::VecDeque;
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
use wasmtime_wasi::p2::bindings::sockets::udp::{
    HostIncomingDatagramStream, HostOutgoingDatagramStream, IncomingDatagram,
    IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream,
};
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

/// The `wasi:sockets/udp` instance name, as [`WASI_TCP`].
const WASI_UDP: &str = "wasi:sockets/udp@0.2.12";

/// Refusals kept as records per call; a provider looping on refused addresses is counted past
/// this, not remembered.
pub(crate) const MAX_REFUSED_RECORDS: usize = 64;

/// The sockets of one call: counters and the connections made or refused.
#[derive(Debug, Default)]
pub(crate) struct CallSockets {
    connects: AtomicU32,
    sent: AtomicU64,
    received: AtomicU64,
    connections: Mutex<Vec<Arc<Connection>>>,
    refused: Mutex<Vec<SocketRecord>>,
    refused_uncounted: AtomicU64,
    /// The sizes of the datagrams a `send` in progress is about to send, in order; `None`
    /// outside a send (a UDP connect is checked without one).
    udp_sending: Mutex<Option<VecDeque<usize>>>,
}

/// One TCP connection, or the UDP datagrams exchanged with one address, in a call: counted as
/// data passes, recorded at the end of the call.
#[derive(Debug)]
pub(crate) struct Connection {
    operation: SocketUse,
    addr: SocketAddr,
    started: Instant,
    sent: AtomicU64,
    received: AtomicU64,
    attached: AtomicBool,
    ended: Mutex<Option<Instant>>,
    failure: Mutex<Option<String>>,
}

impl Connection {
    fn new(operation: SocketUse, addr: SocketAddr) -> Self {
        Connection {
            operation,
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
        match socket_use {
            SocketUse::TcpConnect | SocketUse::UdpBind => {}
            SocketUse::UdpSend => return self.count_datagram(addr),
            _ => return true,
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
        if socket_use == SocketUse::TcpConnect
            && let Ok(mut connections) = self.sockets.connections.lock()
        {
            connections.push(Arc::new(Connection::new(socket_use, addr)));
        }
        true
    }

    /// The datagram about to go to `addr` inside a `send`: counted against the byte limit
    /// before it is sent. Outside a send (a UDP connect) there is nothing to count.
    fn count_datagram(&self, addr: SocketAddr) -> bool {
        let size = match self.sockets.udp_sending.lock() {
            Ok(mut sending) => match sending.as_mut() {
                None => return true,
                Some(sizes) => sizes.pop_front(),
            },
            Err(_) => None,
        };
        let Some(size) = size else {
            // More datagrams checked than the send holds: nothing unmetered goes out.
            return false;
        };
        let flow = self.udp_flow(addr);
        flow.end();
        self.count_sent(&flow, size)
    }

    /// The record of the datagrams exchanged with `addr`, made on first use.
    fn udp_flow(&self, addr: SocketAddr) -> Arc<Connection> {
        let mut connections = self
            .sockets
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(flow) = connections
            .iter()
            .find(|c| c.operation == SocketUse::UdpSend && c.addr == addr)
        {
            return flow.clone();
        }
        let flow = Arc::new(Connection::new(SocketUse::UdpSend, addr));
        connections.push(flow.clone());
        flow
    }

    fn refuse_socket(&self, socket_use: SocketUse, addr: SocketAddr, reason: String) {
        if socket_use == SocketUse::UdpReceive {
            // A datagram from elsewhere, dropped by wasmtime-wasi: anyone can send those, so
            // they are not the provider's doing and not worth a line each.
            return;
        }
        let full = self
            .sockets
            .refused
            .lock()
            .map_or(true, |r| r.len() >= MAX_REFUSED_RECORDS);
        if full {
            self.sockets
                .refused_uncounted
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
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
            .find(|c| {
                c.operation == SocketUse::TcpConnect
                    && !c.attached.load(Ordering::Relaxed)
                    && addr.is_none_or(|addr| c.addr == addr)
            })
            .cloned()
    }

    /// Refusals past [`MAX_REFUSED_RECORDS`] in this call, counted but not recorded.
    pub(crate) fn refusals_not_recorded(&self) -> u64 {
        self.sockets.refused_uncounted.load(Ordering::Relaxed)
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
                protocol: connection.operation.protocol().to_owned(),
                operation: connection.operation.as_str().to_owned(),
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

/// Replaces `tcp-socket.finish-connect`, `outgoing-datagram-stream.send` and
/// `incoming-datagram-stream.receive` in `linker` with ones that count what passes (see the
/// module docs). The linker must already hold the WASI imports.
pub(crate) fn add_metering_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = add_metering(linker);
    linker.allow_shadowing(false);
    result
}

fn add_metering(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker
        .instance(WASI_TCP)?
        .func_wrap("[method]tcp-socket.finish-connect", finish_connect)?;
    let mut udp = linker.instance(WASI_UDP)?;
    udp.func_wrap("[method]outgoing-datagram-stream.send", send_datagrams)?;
    udp.func_wrap(
        "[method]incoming-datagram-stream.receive",
        receive_datagrams,
    )
}

fn send_datagrams(
    mut store: StoreContextMut<'_, StoreState>,
    (this, datagrams): (Resource<OutgoingDatagramStream>, Vec<OutgoingDatagram>),
) -> wasmtime::Result<(Result<u64, ErrorCode>,)> {
    let state = store.data_mut();
    let call = state.call().clone();
    let sizes = datagrams.iter().map(|d| d.data.len()).collect();
    set_sending(&call, Some(sizes));
    let result = HostOutgoingDatagramStream::send(&mut state.sockets(), this, datagrams);
    set_sending(&call, None);
    match result {
        Ok(count) => Ok((Ok(count),)),
        Err(err) => Ok((Err(err.downcast()?),)),
    }
}

fn set_sending(call: &CallEgress, sizes: Option<VecDeque<usize>>) {
    if let Ok(mut sending) = call.sockets.udp_sending.lock() {
        *sending = sizes;
    }
}

fn receive_datagrams(
    mut store: StoreContextMut<'_, StoreState>,
    (this, max_results): (Resource<IncomingDatagramStream>, u64),
) -> wasmtime::Result<(Result<Vec<IncomingDatagram>, ErrorCode>,)> {
    let state = store.data_mut();
    let call = state.call().clone();
    let datagrams =
        match HostIncomingDatagramStream::receive(&mut state.sockets(), this, max_results) {
            Ok(datagrams) => datagrams,
            Err(err) => return Ok((Err(err.downcast()?),)),
        };
    for datagram in &datagrams {
        let flow = call.udp_flow(SocketAddr::from(datagram.remote_address));
        flow.end();
        if !call.count_received(&flow, datagram.data.len()) {
            // Past the limit: what came in is dropped, and the provider is told why.
            return Ok((Err(ErrorCode::AccessDenied),));
        }
    }
    Ok((Ok(datagrams),))
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
