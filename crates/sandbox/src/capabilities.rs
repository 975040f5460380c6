//! The two acmebox host capabilities, `config` and `log`, in wasmtime's pattern: a per-store
//! `*Ctx`, a borrowed `*View` the generated `Host` traits are implemented on, and an
//! `add_to_linker`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use wasmtime::component::{HasData, Linker};

use crate::bindings::{config, log, types};
use crate::log_targets::PROVIDER_LOG;
use crate::redact::Redactor;
use crate::spec::ConfigValue;

/// `acmebox:provider/config`: the keys the operator set for this provider, and nothing else.
#[derive(Debug, Clone, Default)]
pub struct ConfigCtx {
    values: Arc<BTreeMap<String, ConfigValue>>,
}

impl ConfigCtx {
    /// A context serving `values`.
    pub fn new(values: Arc<BTreeMap<String, ConfigValue>>) -> Self {
        ConfigCtx { values }
    }
}

/// A borrowed view of a [`ConfigCtx`]; the bindings are implemented on it.
#[derive(Debug)]
pub struct ConfigView<'a> {
    ctx: &'a ConfigCtx,
}

impl<'a> ConfigView<'a> {
    /// Borrows `ctx`.
    pub fn new(ctx: &'a ConfigCtx) -> Self {
        ConfigView { ctx }
    }
}

impl config::Host for ConfigView<'_> {
    fn get(&mut self, key: String) -> Option<String> {
        self.ctx.values.get(&key).map(|v| v.expose().to_owned())
    }
}

struct HasConfig;

impl HasData for HasConfig {
    type Data<'a> = ConfigView<'a>;
}

/// Adds `acmebox:provider/config` to `linker`.
pub fn add_config_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> ConfigView<'_>,
) -> wasmtime::Result<()> {
    config::add_to_linker::<T, HasConfig>(linker, view)
}

/// Severity of a provider log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The `log` capability.
    Log,
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr.
    Stderr,
    /// The host, about this provider (egress denials, limits).
    Host,
}

/// One provider log message, secrets already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// The provider's name.
    pub provider: String,
    /// Severity.
    pub level: LogLevel,
    /// Where it came from.
    pub source: LogSource,
    /// The message with known secrets replaced by `[redacted]`.
    pub message: String,
}

impl LogRecord {
    /// Builds a record, redacting the message, and emits it as a `tracing` event (target
    /// [`PROVIDER_LOG`]).
    pub(crate) fn emit(
        provider: &str,
        level: LogLevel,
        source: LogSource,
        message: &str,
        redactor: &Redactor,
    ) -> LogRecord {
        let message = redactor.redact(message);
        let source_name = match source {
            LogSource::Log => "log",
            LogSource::Stdout => "stdout",
            LogSource::Stderr => "stderr",
            LogSource::Host => "host",
        };
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: PROVIDER_LOG, provider, source = source_name, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: PROVIDER_LOG, provider, source = source_name, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: PROVIDER_LOG, provider, source = source_name, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: PROVIDER_LOG, provider, source = source_name, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: PROVIDER_LOG, provider, source = source_name, "{message}")
            }
        }
        LogRecord {
            provider: provider.to_owned(),
            level,
            source,
            message,
        }
    }
}

/// `acmebox:provider/log`: leveled messages to `tracing` and into the call's report.
#[derive(Debug)]
pub struct LogCtx {
    provider: Arc<str>,
    redactor: Arc<Redactor>,
    records: Vec<LogRecord>,
    bytes: usize,
    max_bytes: usize,
    dropped: usize,
}

impl LogCtx {
    /// A log for one call of `provider`, keeping at most `max_bytes` of messages.
    pub fn new(provider: Arc<str>, redactor: Arc<Redactor>, max_bytes: usize) -> Self {
        LogCtx {
            provider,
            redactor,
            records: Vec::new(),
            bytes: 0,
            max_bytes,
            dropped: 0,
        }
    }

    /// Records one message (redacted), unless the log is full.
    pub fn push(&mut self, level: LogLevel, source: LogSource, message: &str) {
        if self.bytes + message.len() > self.max_bytes {
            self.dropped += 1;
            return;
        }
        self.bytes += message.len();
        let message = self
            .redactor
            .redact_bounded(message, crate::limits::MAX_GUEST_STRING_BYTES);
        let record = LogRecord::emit(&self.provider, level, source, &message, &self.redactor);
        self.records.push(record);
    }

    /// Takes the records, with a note when some were dropped.
    pub fn take(&mut self) -> Vec<LogRecord> {
        if self.dropped > 0 {
            let note = format!("{} log messages dropped: log limit reached", self.dropped);
            self.dropped = 0;
            self.records.push(LogRecord::emit(
                &self.provider,
                LogLevel::Warn,
                LogSource::Log,
                &note,
                &self.redactor,
            ));
        }
        std::mem::take(&mut self.records)
    }
}

/// A borrowed view of a [`LogCtx`]; the bindings are implemented on it.
#[derive(Debug)]
pub struct LogView<'a> {
    ctx: &'a mut LogCtx,
}

impl<'a> LogView<'a> {
    /// Borrows `ctx`.
    pub fn new(ctx: &'a mut LogCtx) -> Self {
        LogView { ctx }
    }
}

impl log::Host for LogView<'_> {
    fn log(&mut self, level: types::LogLevel, message: String) {
        let level = match level {
            types::LogLevel::Trace => LogLevel::Trace,
            types::LogLevel::Debug => LogLevel::Debug,
            types::LogLevel::Info => LogLevel::Info,
            types::LogLevel::Warn => LogLevel::Warn,
            types::LogLevel::Error => LogLevel::Error,
        };
        self.ctx.push(level, LogSource::Log, &message);
    }
}

impl types::Host for LogView<'_> {}

struct HasLog;

impl HasData for HasLog {
    type Data<'a> = LogView<'a>;
}

/// Adds `acmebox:provider/log` (and the `types` interface it uses) to `linker`.
pub fn add_log_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> LogView<'_>,
) -> wasmtime::Result<()> {
    types::add_to_linker::<T, HasLog>(linker, view)?;
    log::add_to_linker::<T, HasLog>(linker, view)
}
