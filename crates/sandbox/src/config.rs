//! The operator's config file (TOML): where providers are, what they may reach, their limits
//! and their config values.
//!
//! ```toml
//! # cache_dir = "/var/cache/acmebox"   # default: $XDG_CACHE_HOME/acmebox or ~/.cache/acmebox
//! # state_dir = "/var/lib/acmebox"     # the journal of presented records; default:
//! #                                     # $XDG_STATE_HOME/acmebox or ~/.local/state/acmebox
//!
//! [providers.pdns]
//! component = "providers/powerdns.wasm"    # relative to this file
//! sha256 = "…"                              # optional pin
//! allow = ["https://dns.example.com"]
//! timeout_secs = 20                         # optional limit overrides
//! ttl = 60
//!
//! [providers.pdns.config]
//! url = "https://dns.example.com"
//! token = { env = "PDNS_API_KEY", secret = true }
//! ca = { file = "pdns-ca.pem" }
//! ```
//!
//! Unknown keys are errors naming the key. A missing environment variable or file is an error
//! naming the config key that wanted it. A limit of zero or beyond what the engine can give is
//! an error with the allowed range. The config values are checked against the keys the provider
//! reads when it is loaded with [`Sandbox::load_checked`](crate::Sandbox::load_checked).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use crate::limits::Limits;
use crate::spec::ProviderSpec;
pub use crate::spec::{ConfigValue, DEFAULT_TTL, Secret};
use crate::{Error, Result};
use acmebox_challenge::IoError;

/// A parsed config file.
#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    cache_dir: PathBuf,
    state_dir: Option<PathBuf>,
    providers: BTreeMap<String, RawProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    cache_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    component: PathBuf,
    sha256: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    memory_mib: Option<usize>,
    timeout_secs: Option<u64>,
    max_requests: Option<u32>,
    max_concurrent_calls: Option<usize>,
    max_request_body_kib: Option<usize>,
    max_response_body_kib: Option<usize>,
    max_header_kib: Option<usize>,
    max_connections: Option<u32>,
    max_socket_kib_sent: Option<usize>,
    max_socket_kib_received: Option<usize>,
    ttl: Option<u32>,
    #[serde(default)]
    config: BTreeMap<String, RawValue>,
}

#[derive(Clone)]
enum RawValue {
    Literal(String),
    Source(Source),
}

impl fmt::Debug for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawValue::Literal(v) => f.debug_tuple("Literal").field(v).finish(),
            RawValue::Source(s) => f
                .debug_struct("Source")
                .field(
                    "value",
                    &s.value
                        .as_ref()
                        .map(|_| if s.secret { "Secret" } else { "…" }),
                )
                .field("env", &s.env)
                .field("file", &s.file)
                .field("secret", &s.secret)
                .finish(),
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    value: Option<String>,
    env: Option<String>,
    file: Option<PathBuf>,
    #[serde(default)]
    secret: bool,
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or a table with one of `value`, `env`, `file` and an optional `secret`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Literal(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawValue, A::Error> {
                let source = Source::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let sources = [
                    source.value.is_some(),
                    source.env.is_some(),
                    source.file.is_some(),
                ];
                if sources.iter().filter(|s| **s).count() != 1 {
                    return Err(de::Error::custom(
                        "a config value table needs exactly one of `value`, `env` or `file`",
                    ));
                }
                Ok(RawValue::Source(source))
            }
        }
        d.deserialize_any(V)
    }
}

/// `Some(value)` when `value` is within `min..=max`, else the error naming `key` and the range.
fn in_range<T>(key: &str, value: Option<T>, min: T, max: T, unit: &str) -> Result<Option<T>, String>
where
    T: PartialOrd + fmt::Display + Copy,
{
    match value {
        Some(v) if v < min || v > max => Err(format!(
            "`{key} = {v}` is out of range: allowed {min} to {max}{unit}, or leave it out for the default"
        )),
        other => Ok(other),
    }
}

impl RawProvider {
    /// The per-call limits this provider's keys set over the defaults; a value of zero, or
    /// beyond what the engine can give (the `MAX_*` constants of [`crate::limits`]), is refused
    /// with the allowed range.
    fn limits(&self) -> Result<Limits, String> {
        use crate::limits::*;
        const KIB: usize = 1024;
        const MIB: usize = 1024 * 1024;
        let mut limits = Limits::default();
        if let Some(mib) = in_range(
            "memory_mib",
            self.memory_mib,
            1,
            MAX_MEMORY_BYTES / MIB,
            " MiB",
        )? {
            limits.memory_bytes = mib * MIB;
        }
        let max_secs = MAX_TIMEOUT.as_secs();
        if let Some(secs) = in_range("timeout_secs", self.timeout_secs, 1, max_secs, " s")? {
            limits.timeout = Duration::from_secs(secs);
        }
        if let Some(n) = in_range("max_requests", self.max_requests, 1, MAX_REQUESTS, "")? {
            limits.max_requests = n;
        }
        let calls = self.max_concurrent_calls;
        if let Some(n) = in_range("max_concurrent_calls", calls, 1, MAX_CONCURRENT_CALLS, "")? {
            limits.max_concurrent_calls = n;
        }
        let body = MAX_BODY_BYTES / KIB;
        let request = self.max_request_body_kib;
        if let Some(kib) = in_range("max_request_body_kib", request, 1, body, " KiB")? {
            limits.max_request_body_bytes = kib * KIB;
        }
        let response = self.max_response_body_kib;
        if let Some(kib) = in_range("max_response_body_kib", response, 1, body, " KiB")? {
            limits.max_response_body_bytes = kib * KIB;
        }
        let header = MAX_HEADER_BYTES / KIB;
        if let Some(kib) = in_range("max_header_kib", self.max_header_kib, 1, header, " KiB")? {
            limits.max_header_bytes = kib * KIB;
        }
        let connections = self.max_connections;
        if let Some(n) = in_range("max_connections", connections, 1, MAX_CONNECTIONS, "")? {
            limits.max_connections = n;
        }
        let socket = MAX_SOCKET_BYTES / KIB;
        let sent = self.max_socket_kib_sent;
        if let Some(kib) = in_range("max_socket_kib_sent", sent, 1, socket, " KiB")? {
            limits.max_socket_bytes_sent = kib * KIB;
        }
        let received = self.max_socket_kib_received;
        if let Some(kib) = in_range("max_socket_kib_received", received, 1, socket, " KiB")? {
            limits.max_socket_bytes_received = kib * KIB;
        }
        Ok(limits)
    }
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| IoError::new("read config", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` locates relative paths and names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let cache_dir = match raw.cache_dir {
            Some(dir) => base.join(dir),
            None => default_cache_dir().ok_or_else(|| Error::Config {
                path: path.to_owned(),
                reason: "cannot find a cache directory: set `cache_dir`, XDG_CACHE_HOME or HOME"
                    .into(),
            })?,
        };
        // Journal entries name the config file so a later process can load it again.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let state_dir = raw
            .state_dir
            .map(|dir| base.join(dir))
            .or_else(crate::journal::default_state_dir)
            .map(|dir| std::path::absolute(&dir).unwrap_or(dir));
        Ok(Config {
            path,
            cache_dir,
            state_dir,
            providers: raw.providers,
        })
    }

    /// Where precompiled components are cached.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Where the journal of presented records is kept (`state_dir`, else
    /// [`default_state_dir`](crate::journal::default_state_dir)); `None` when there is no home
    /// directory to default to, and then nothing is journalled.
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// The config file, absolute.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the configured providers.
    pub fn provider_names(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// Resolves provider `name`: its component path, grant, limits and config values (reading
    /// environment variables and files now).
    pub fn provider_spec(&self, name: &str) -> Result<ProviderSpec> {
        let err = |reason: String| Error::Config {
            path: self.path.clone(),
            reason,
        };
        let Some(raw) = self.providers.get(name) else {
            let known: Vec<&str> = self.provider_names().collect();
            return Err(err(format!(
                "no provider `{name}`; configured: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        };
        let base = self.path.parent().unwrap_or(Path::new("."));
        let limits = raw
            .limits()
            .map_err(|reason| err(format!("provider `{name}`: {reason}")))?;
        let mut config = BTreeMap::new();
        let mut inline_keys = std::collections::BTreeSet::new();
        for (key, value) in &raw.config {
            let inline = match value {
                RawValue::Literal(_) => true,
                RawValue::Source(source) => source.value.is_some(),
            };
            if inline {
                inline_keys.insert(key.clone());
            }
            let value = match value {
                RawValue::Literal(v) => ConfigValue::Plain(v.clone()),
                RawValue::Source(source) => {
                    let text = if let Some(v) = &source.value {
                        v.clone()
                    } else if let Some(var) = &source.env {
                        std::env::var(var).map_err(|_| {
                            err(format!(
                                "provider `{name}`: config key `{key}` reads environment variable {var}, which is not set"
                            ))
                        })?
                    } else if let Some(file) = &source.file {
                        let file = base.join(file);
                        let text = std::fs::read_to_string(&file).map_err(|e| {
                            err(format!(
                                "provider `{name}`: config key `{key}` reads {}: {e}",
                                file.display()
                            ))
                        })?;
                        text.trim_end_matches(['\n', '\r']).to_owned()
                    } else {
                        return Err(err(format!(
                            "provider `{name}`: config key `{key}` has no value"
                        )));
                    };
                    if source.secret {
                        ConfigValue::Secret(Secret::new(text))
                    } else {
                        ConfigValue::Plain(text)
                    }
                }
            };
            config.insert(key.clone(), value);
        }
        let mut spec = ProviderSpec::new(name, base.join(&raw.component));
        spec.sha256 = raw.sha256.clone();
        spec.allow = raw.allow.clone();
        spec.limits = limits;
        spec.config = config;
        spec.ttl = raw.ttl.unwrap_or(DEFAULT_TTL);
        spec.config_file = Some(self.path.clone());
        spec.inline_keys = inline_keys;
        spec.journal = self
            .state_dir
            .as_ref()
            .map(|state_dir| crate::journal::JournalSpec {
                state_dir: state_dir.clone(),
                config: self.path.clone(),
            });
        Ok(spec)
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/acmebox`, else `~/.cache/acmebox`.
pub fn default_cache_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CACHE_HOME", &[".cache"])
}

/// `$<var>/acmebox` when the variable is set, else `$HOME/<under...>/acmebox` (XDG base
/// directories); `None` without either.
pub(crate) fn xdg_dir(var: &str, under: &[&str]) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("acmebox"));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
    let mut dir = PathBuf::from(home);
    dir.extend(under);
    Some(dir.join("acmebox"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("/etc/acmebox/acmebox.toml"))
    }

    #[test]
    fn full_provider() {
        let c = parse(
            r#"
            cache_dir = "cache"
            [providers.pdns]
            component = "p.wasm"
            sha256 = "ab"
            allow = ["https://dns.example.com", "dns://192.0.2.53"]
            memory_mib = 32
            timeout_secs = 5
            max_requests = 3
            max_concurrent_calls = 2
            max_connections = 4
            max_socket_kib_sent = 8
            max_socket_kib_received = 16
            ttl = 120
            [providers.pdns.config]
            url = "https://dns.example.com"
            token = { value = "hunter2", secret = true }
            "#,
        )
        .unwrap();
        assert_eq!(c.cache_dir(), Path::new("/etc/acmebox/cache"));
        let spec = c.provider_spec("pdns").unwrap();
        assert_eq!(spec.component, Path::new("/etc/acmebox/p.wasm"));
        assert_eq!(spec.limits.memory_bytes, 32 * 1024 * 1024);
        assert_eq!(spec.limits.timeout, Duration::from_secs(5));
        assert_eq!(spec.limits.max_requests, 3);
        assert_eq!(spec.limits.max_concurrent_calls, 2);
        assert_eq!(spec.limits.max_connections, 4);
        assert_eq!(spec.limits.max_socket_bytes_sent, 8 * 1024);
        assert_eq!(spec.limits.max_socket_bytes_received, 16 * 1024);
        assert_eq!(spec.allow.len(), 2);
        assert_eq!(spec.ttl, 120);
        assert!(spec.config["token"].is_secret());
        assert!(!format!("{spec:?}").contains("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let cases = [
            ("bogus = 1", "bogus"),
            ("[providers.a]\ncomponent = \"a\"\nallowed = []", "allowed"),
            (
                "[providers.a]\ncomponent = \"a\"\n[providers.a.config]\nt = { env = \"X\", secrt = true }",
                "secrt",
            ),
        ];
        for (text, key) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn limits_of_zero_or_beyond_the_engine_are_refused_with_the_range() {
        let cases = [
            (
                "memory_mib = 0",
                "`memory_mib = 0` is out of range: allowed 1 to 4096 MiB",
            ),
            ("memory_mib = 4097", "allowed 1 to 4096 MiB"),
            (
                "timeout_secs = 0",
                "`timeout_secs = 0` is out of range: allowed 1 to 3600 s",
            ),
            ("timeout_secs = 3601", "allowed 1 to 3600 s"),
            ("max_requests = 0", "allowed 1 to 10000,"),
            ("max_concurrent_calls = 0", "allowed 1 to 256,"),
            ("max_concurrent_calls = 257", "allowed 1 to 256,"),
            ("max_request_body_kib = 0", "allowed 1 to 262144 KiB"),
            ("max_response_body_kib = 262145", "allowed 1 to 262144 KiB"),
            ("max_header_kib = 0", "allowed 1 to 1024 KiB"),
            ("max_connections = 0", "allowed 1 to 1024,"),
            ("max_socket_kib_sent = 0", "allowed 1 to 262144 KiB"),
            (
                "max_socket_kib_received = 262145",
                "allowed 1 to 262144 KiB",
            ),
        ];
        for (line, expected) in cases {
            let c = parse(&format!("[providers.a]\ncomponent = \"a\"\n{line}")).unwrap();
            let err = c.provider_spec("a").unwrap_err().to_string();
            assert!(
                err.starts_with("/etc/acmebox/acmebox.toml: provider `a`: `")
                    && err.contains(expected)
                    && err.ends_with("or leave it out for the default"),
                "{line}: {err}"
            );
        }
        // The bounds themselves are accepted.
        let c = parse(
            "[providers.a]\ncomponent = \"a\"\nmemory_mib = 4096\ntimeout_secs = 3600\n\
             max_concurrent_calls = 256\nmax_header_kib = 1",
        )
        .unwrap();
        let limits = c.provider_spec("a").unwrap().limits;
        assert_eq!(limits.memory_bytes, crate::limits::MAX_MEMORY_BYTES);
        assert_eq!(limits.timeout, crate::limits::MAX_TIMEOUT);
        assert_eq!(
            limits.max_concurrent_calls,
            crate::limits::MAX_CONCURRENT_CALLS
        );
        assert_eq!(limits.max_header_bytes, 1024);
    }

    #[test]
    fn value_table_needs_one_source() {
        let err = parse("[providers.a]\ncomponent = \"a\"\n[providers.a.config]\nt = { env = \"X\", file = \"y\" }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one"), "{err}");
    }

    #[test]
    fn missing_env_and_file_name_the_key() {
        let c = parse(
            "[providers.a]\ncomponent = \"a\"\n[providers.a.config]\ntoken = { env = \"ACMEBOX_TEST_SURELY_UNSET\" }",
        )
        .unwrap();
        let err = c.provider_spec("a").unwrap_err().to_string();
        assert!(
            err.contains("`token`") && err.contains("ACMEBOX_TEST_SURELY_UNSET"),
            "{err}"
        );
        let c = parse(
            "[providers.a]\ncomponent = \"a\"\n[providers.a.config]\nca = { file = \"nope.pem\" }",
        )
        .unwrap();
        let err = c.provider_spec("a").unwrap_err().to_string();
        assert!(err.contains("`ca`") && err.contains("nope.pem"), "{err}");
        let err = c.provider_spec("b").unwrap_err().to_string();
        assert!(err.contains("no provider `b`"), "{err}");
    }
}
