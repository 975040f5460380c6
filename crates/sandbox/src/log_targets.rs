//! The `tracing` targets of the sandbox's events. Each kind of event has a target of its own,
//! whichever module emits it, so a subscriber can show or hide it by name
//! (`RUST_LOG=acmebox::audit=info`); every target starts with `acmebox`, so `acmebox=debug`
//! shows all of them. The library never installs a subscriber: the program that embeds it does.

/// Each line a provider logged (its `log` import, its stdout and stderr) and each line the
/// host logged about it (refused requests, limits), at the line's own level, with the fields
/// `provider` and `source`. The same lines, redacted alike, are in [`CallReport::logs`]: a
/// program that prints the report should hide this target so no line shows twice.
///
/// [`CallReport::logs`]: crate::CallReport::logs
pub const PROVIDER_LOG: &str = "acmebox::provider";

/// One event per provider call, at debug, when it ends: `provider`, `operation`, `outcome`
/// (`ok` or [`CallReport::outcome_kind`]), `error`, `duration_ms`, `requests`, `connections`.
///
/// [`CallReport::outcome_kind`]: crate::CallReport::outcome_kind
pub const CALL: &str = "acmebox::call";

/// One event per HTTP request (message `egress`) and per socket use (message `socket`), at
/// info, with the fields of [`AuditRecord`] and [`SocketRecord`].
///
/// [`AuditRecord`]: crate::AuditRecord
/// [`SocketRecord`]: crate::SocketRecord
pub const AUDIT: &str = "acmebox::audit";

/// The warnings of a provider's grant (each entry marked `danger:`), at warn, once per entry
/// every time the provider is loaded; the same sentences as
/// [`WasmDnsProvider::grant_warnings`](crate::WasmDnsProvider::grant_warnings).
pub const GRANT: &str = "acmebox::grant";

/// The warnings about a provider's config values, at warn, every time the provider is loaded
/// with [`Sandbox::load_checked`](crate::Sandbox::load_checked); the same sentences as
/// [`WasmDnsProvider::config_warnings`](crate::WasmDnsProvider::config_warnings).
pub const CONFIG: &str = "acmebox::config";
