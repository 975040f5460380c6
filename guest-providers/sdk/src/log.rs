//! The provider's log.
//!
//! Each message goes to the host, which tags it with the provider's name and redacts the
//! secrets it knows of (the values of config keys declared `secret`) before writing it. Still,
//! do not log credentials on purpose.
//!
//! Plain functions take a `&str`; the macros of the same names take `format!` arguments:
//!
//! ```no_run
//! use acmebox_provider::log;
//!
//! log::info("looking up the zone");
//! let fqdn = "_acme-challenge.example.com.";
//! log::debug!("zone lookup for {fqdn}");
//! ```

use crate::LogLevel;
use crate::bindings::acmebox::provider::log as host;

/// Writes `message` at `level`.
pub fn log(level: LogLevel, message: &str) {
    host::log(level, message);
}

/// Writes `message` at trace level.
pub fn trace(message: &str) {
    log(LogLevel::Trace, message);
}

/// Writes `message` at debug level.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Writes `message` at info level.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Writes `message` at warn level.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Writes `message` at error level.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log_trace {
    ($($arg:tt)+) => { $crate::log::trace(&::std::format!($($arg)+)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log_debug {
    ($($arg:tt)+) => { $crate::log::debug(&::std::format!($($arg)+)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log_info {
    ($($arg:tt)+) => { $crate::log::info(&::std::format!($($arg)+)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log_warn {
    ($($arg:tt)+) => { $crate::log::warn(&::std::format!($($arg)+)) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __log_error {
    ($($arg:tt)+) => { $crate::log::error(&::std::format!($($arg)+)) };
}

/// Writes a `format!` message at trace level.
#[doc(inline)]
pub use crate::__log_trace as trace;

/// Writes a `format!` message at debug level.
#[doc(inline)]
pub use crate::__log_debug as debug;

/// Writes a `format!` message at info level.
#[doc(inline)]
pub use crate::__log_info as info;

/// Writes a `format!` message at warn level.
#[doc(inline)]
pub use crate::__log_warn as warn;

/// Writes a `format!` message at error level.
#[doc(inline)]
pub use crate::__log_error as error;
