//! Per-call limits: what one provider call may use before the host stops it.
//!
//! Every limit has a `DEFAULT_*` constant saying what it protects against; the operator can
//! override each one per provider in the config file. Raising them weakens the sandbox.

use std::time::Duration;

use serde::Serialize;

/// Linear memory a provider may hold across all its memories: bounds how much host RAM one
/// runaway or hostile provider can take (64 MiB).
pub const DEFAULT_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Wall-clock time one call may take, guest CPU and host I/O together: a provider that loops
/// or waits on a slow API cannot stall certificate issuance forever (30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Outgoing HTTP requests one call may make: stops a provider from using the host as a
/// request amplifier or hammering an API in a loop (32).
pub const DEFAULT_MAX_REQUESTS: u32 = 32;

/// Bytes one outgoing request body may have: bounds what a provider can send out, and the host
/// memory used to buffer it before the policy lets it leave (1 MiB).
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// Bytes one response body may have: a hostile or broken API cannot fill host memory, since the
/// host buffers the body before handing it to the guest (4 MiB).
pub const DEFAULT_MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Bytes of header names and values in one request or one response: bounds header floods in
/// both directions (32 KiB).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;

/// Bytes of stdout and of stderr kept per call, and of log messages: a chatty provider cannot
/// fill host memory through its log (64 KiB).
pub const DEFAULT_MAX_LOG_BYTES: usize = 64 * 1024;

/// The longest string a guest can hand the host whole: an error message, a log message, a
/// `describe` field, and a request's method, scheme, host and path as recorded. A longer one is
/// redacted, then cut and marked (`… [cut: N bytes in all]`) before the host keeps, prints or
/// returns it (4 KiB).
pub const MAX_GUEST_STRING_BYTES: usize = 4 * 1024;

/// The most config keys, and the most hosts, a `describe` answer keeps (256 each); more are
/// dropped.
pub const MAX_DESCRIBED_ITEMS: usize = 256;

/// Calls of one provider that run at once; more wait their turn, and the wait does not count
/// against their [`DEFAULT_TIMEOUT`]. DNS APIs refuse or throttle bursts of writes (PowerDNS
/// on sqlite answers 500 to simultaneous writes; hosted APIs rate-limit), so a thousand
/// challenges at once become steady work instead of a storm of retries (4).
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 4;

/// TCP connections one call may open to its granted DNS servers (`dns://` entries): a lookup
/// of the zone and one update need two or three; the limit stops a provider from using the
/// host to flood a server with connections (16).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Bytes one call may send over sockets, all connections together: a DNS update with its TSIG
/// signature is a few hundred bytes, so this bounds what a provider can push at a granted
/// server (64 KiB).
pub const DEFAULT_MAX_SOCKET_BYTES_SENT: usize = 64 * 1024;

/// Bytes one call may receive over sockets, all connections together: answers to a zone lookup
/// and an update are small; a hostile or broken server cannot stream data into the host for
/// the whole deadline (1 MiB).
pub const DEFAULT_MAX_SOCKET_BYTES_RECEIVED: usize = 1024 * 1024;

/// The most linear memory a call may be given (4 GiB): a provider's memories are 32-bit, so
/// one memory cannot use more.
pub const MAX_MEMORY_BYTES: usize = 4 * 1024 * 1024 * 1024;

/// The longest deadline a call may be given (1 h): a call that needs longer is stuck, and an
/// ACME order's authorizations do not wait for it.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The most outgoing HTTP requests a call may be allowed (10,000).
pub const MAX_REQUESTS: u32 = 10_000;

/// The most calls of one provider that may run at once (256): the engine's pool has that many
/// instance slots, and calls beyond them wait for one anyway.
pub const MAX_CONCURRENT_CALLS: usize = 256;

/// The largest request or response body limit (256 MiB): the host buffers whole bodies, and a
/// guest's 32-bit memory must hold them too.
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The largest header limit (1 MiB), each direction.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;

/// The most TCP connections to granted DNS servers a call may be allowed (1,024).
pub const MAX_CONNECTIONS: u32 = 1024;

/// The largest socket byte limit (256 MiB), each direction.
pub const MAX_SOCKET_BYTES: usize = 256 * 1024 * 1024;

/// How often the epoch ticker advances the engine's epoch: a running guest yields its thread and
/// checks its deadline at every tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The limits applied to each call of one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Limits {
    /// See [`DEFAULT_MEMORY_BYTES`].
    pub memory_bytes: usize,
    /// See [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// See [`DEFAULT_MAX_REQUESTS`].
    pub max_requests: u32,
    /// See [`DEFAULT_MAX_REQUEST_BODY_BYTES`].
    pub max_request_body_bytes: usize,
    /// See [`DEFAULT_MAX_RESPONSE_BODY_BYTES`].
    pub max_response_body_bytes: usize,
    /// See [`DEFAULT_MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// See [`DEFAULT_MAX_LOG_BYTES`].
    pub max_log_bytes: usize,
    /// See [`DEFAULT_MAX_CONCURRENT_CALLS`]; at least 1.
    pub max_concurrent_calls: usize,
    /// See [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: u32,
    /// See [`DEFAULT_MAX_SOCKET_BYTES_SENT`].
    pub max_socket_bytes_sent: usize,
    /// See [`DEFAULT_MAX_SOCKET_BYTES_RECEIVED`].
    pub max_socket_bytes_received: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: DEFAULT_MEMORY_BYTES,
            timeout: DEFAULT_TIMEOUT,
            max_requests: DEFAULT_MAX_REQUESTS,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            max_response_body_bytes: DEFAULT_MAX_RESPONSE_BODY_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_socket_bytes_sent: DEFAULT_MAX_SOCKET_BYTES_SENT,
            max_socket_bytes_received: DEFAULT_MAX_SOCKET_BYTES_RECEIVED,
        }
    }
}

/// Which limit a provider ran into. Its `Display` is the phrase used in errors:
/// "provider `x` exceeded its 30 s deadline during present".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The wall-clock deadline ([`Limits::timeout`]).
    Deadline(Duration),
    /// The memory limit ([`Limits::memory_bytes`]).
    Memory(usize),
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitExceeded::Deadline(d) if d.subsec_millis() == 0 => {
                write!(f, "{} s deadline", d.as_secs())
            }
            LimitExceeded::Deadline(d) => write!(f, "{} ms deadline", d.as_millis()),
            LimitExceeded::Memory(bytes) if bytes % (1024 * 1024) == 0 => {
                write!(f, "{} MiB memory limit", bytes / (1024 * 1024))
            }
            LimitExceeded::Memory(bytes) => write!(f, "{bytes} byte memory limit"),
        }
    }
}

/// The store's resource limiter: counts linear memory across all memories of the instance and
/// remembers when a growth was refused, so a trap that follows is reported as the memory limit.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: usize,
    used: usize,
    pub(crate) exceeded: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: usize) -> Self {
        MemoryLimiter {
            limit,
            used: 0,
            exceeded: false,
        }
    }
}

/// Tables and instances are bounded too, so memory is not the only way to grow a store.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(desired.saturating_sub(current));
        if total > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_phrases() {
        assert_eq!(
            LimitExceeded::Deadline(Duration::from_secs(30)).to_string(),
            "30 s deadline"
        );
        assert_eq!(
            LimitExceeded::Deadline(Duration::from_millis(250)).to_string(),
            "250 ms deadline"
        );
        assert_eq!(
            LimitExceeded::Memory(DEFAULT_MEMORY_BYTES).to_string(),
            "64 MiB memory limit"
        );
    }

    #[test]
    fn limiter_counts_all_memories() {
        use wasmtime::ResourceLimiter as _;
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        assert!(!limiter.memory_growing(0, 60, None).unwrap());
        assert!(limiter.exceeded);
        assert!(limiter.memory_growing(60, 100, None).unwrap());
    }
}
