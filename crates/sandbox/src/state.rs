//! The per-call store: what one provider call can reach, and nothing more.
//!
//! WASI is present but empty: no preopened directories, no environment, no arguments, no
//! sockets (every address is refused and name lookup is off) unless the grant names a DNS
//! server (see [`crate::sockets`]); stdout and stderr are captured into the call's log. HTTP
//! goes through [`EgressHooks`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::{
    ConfigCtx, ConfigView, LogCtx, LogSource, LogView, add_config_to_linker, add_log_to_linker,
};
use crate::egress_hooks::{CallEgress, EgressHooks};
use crate::limits::MemoryLimiter;
use crate::report::LogLevel;

/// The data of one call's `Store`.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: EgressHooks,
    call: Arc<CallEgress>,
    config: ConfigCtx,
    pub(crate) log: LogCtx,
    pub(crate) limiter: MemoryLimiter,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl StoreState {
    /// What this call's requests and sockets share.
    pub(crate) fn call(&self) -> &Arc<CallEgress> {
        &self.call
    }

    /// Moves captured stdout and stderr into the log, one record per line.
    pub(crate) fn flush_stdio(&mut self) {
        for (pipe, source, level) in [
            (&self.stdout, LogSource::Stdout, LogLevel::Info),
            (&self.stderr, LogSource::Stderr, LogLevel::Warn),
        ] {
            let bytes = pipe.contents();
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                self.log.push(level, source, line);
            }
        }
    }

    /// The last non-empty line the guest wrote to stderr (a panic message, usually).
    pub(crate) fn last_stderr_line(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(str::to_owned)
    }
}

/// The linker every provider is instantiated with: WASI (empty; TCP metered), `wasi:http`,
/// `config`, `log`.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::sockets::add_metering_to_linker(&mut linker)?;
    add_config_to_linker(&mut linker, |s: &mut StoreState| ConfigView::new(&s.config))?;
    add_log_to_linker(&mut linker, |s: &mut StoreState| LogView::new(&mut s.log))?;
    Ok(linker)
}

/// A fresh store for one call, with its memory limit and epoch deadline set.
pub(crate) fn new_store(
    engine: &Engine,
    call: Arc<CallEgress>,
    config: ConfigCtx,
) -> Store<StoreState> {
    let limits = call.limits;
    let stdout = MemoryOutputPipe::new(limits.max_log_bytes);
    let stderr = MemoryOutputPipe::new(limits.max_log_bytes);
    let wasi = WasiCtxBuilder::new()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_ip_name_lookup(false)
        .allow_tcp(call.grant.grants_sockets())
        .allow_udp(call.grant.grants_sockets())
        .socket_addr_check(crate::sockets::addr_check(call.clone()))
        .build();
    let mut http = WasiHttpCtx::new();
    http.set_field_size_limit(limits.max_header_bytes.saturating_mul(4));
    let state = StoreState {
        wasi,
        table: ResourceTable::new(),
        http,
        hooks: EgressHooks::new(call.clone()),
        call: call.clone(),
        config,
        log: LogCtx::new(
            call.provider.clone(),
            call.redactor.clone(),
            limits.max_log_bytes,
        ),
        limiter: MemoryLimiter::new(limits.memory_bytes),
        stdout,
        stderr,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    // Every tick, a running guest gives its executor thread back (so one spinning provider
    // cannot hold up the others or the server around it), and past the call's deadline it is
    // interrupted with the same trap as a plain epoch deadline. A guest that has used
    // CPU_BOUND_AFTER of CPU time lowers its thread's priority once, so that calls doing their
    // usual little work between requests (and the rest of the process) get the CPU first; the
    // call's thread is not reused (see `crate::call_threads`).
    let deadline = call.deadline;
    let cpu_at_start = thread_cpu_time();
    let mut demoted = false;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            return Ok(UpdateDeadline::Interrupt);
        }
        if !demoted && thread_cpu_time().saturating_sub(cpu_at_start) >= CPU_BOUND_AFTER {
            demoted = true;
            lower_thread_priority();
        }
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    });
    store
}

/// The CPU time a call's thread may use before its priority is lowered (20 ms): many times what
/// a provider computes between two requests (parsing, signing), far less than a loop takes.
const CPU_BOUND_AFTER: Duration = Duration::from_millis(20);

/// The nice value a CPU-bound call's thread gets where the idle scheduling class is refused
/// (19, the lowest priority).
const CPU_BOUND_NICE: i32 = 19;

/// CPU time the current thread has used (zero where the clock is missing).
fn thread_cpu_time() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(t.tv_nsec).unwrap_or(0);
        Duration::new(secs, nanos)
    }
    #[cfg(not(target_os = "linux"))]
    Duration::ZERO
}

/// Moves the current thread to the idle scheduling class (`SCHED_IDLE`): any other thread that
/// wants the CPU preempts it at once, so calls doing their usual work, and everything else in
/// the process, never wait behind a CPU-bound guest. Where that is refused, the thread's nice
/// value goes to [`CPU_BOUND_NICE`] instead. Either cannot be undone by an unprivileged
/// process, so the thread ends after this call. Best effort: where both are refused, the call
/// runs on at its priority (its deadline still ends it).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let idle = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        );
        let lowered = idle.is_ok()
            || rustix::process::setpriority_process(Some(rustix::thread::gettid()), CPU_BOUND_NICE)
                .is_ok();
        if lowered {
            crate::call_threads::retire_current();
        }
    }
}
