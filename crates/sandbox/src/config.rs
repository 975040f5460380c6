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
//! naming the config key that wanted it.

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
        let mut limits = Limits::default();
        if let Some(mib) = raw.memory_mib {
            limits.memory_bytes = mib.saturating_mul(1024 * 1024);
        }
        if let Some(secs) = raw.timeout_secs {
            limits.timeout = Duration::from_secs(secs);
        }
        if let Some(n) = raw.max_requests {
            limits.max_requests = n;
        }
        if let Some(n) = raw.max_concurrent_calls {
            limits.max_concurrent_calls = n.max(1);
        }
        if let Some(kib) = raw.max_request_body_kib {
            limits.max_request_body_bytes = kib.saturating_mul(1024);
        }
        if let Some(kib) = raw.max_response_body_kib {
            limits.max_response_body_bytes = kib.saturating_mul(1024);
        }
        if let Some(kib) = raw.max_header_kib {
            limits.max_header_bytes = kib.saturating_mul(1024);
        }
        if let Some(n) = raw.max_connections {
            limits.max_connections = n;
        }
        if let Some(kib) = raw.max_socket_kib_sent {
            limits.max_socket_bytes_sent = kib.saturating_mul(1024);
        }
        if let Some(kib) = raw.max_socket_kib_received {
            limits.max_socket_bytes_received = kib.saturating_mul(1024);
        }
        let mut config = BTreeMap::new();
        for (key, value) in &raw.config {
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
