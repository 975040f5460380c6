//! What a provider is loaded from: its spec and its config values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use crate::limits::Limits;

/// The TTL records are published with unless a provider sets `ttl`.
pub const DEFAULT_TTL: u32 = 60;

/// A secret config value (API token, password). Its `Debug` prints only the type name.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: hand it only to the provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret")
    }
}

/// One config value a provider can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// A value that may be shown.
    Plain(String),
    /// A value redacted from every log, error, audit record and `Debug`.
    Secret(Secret),
}

impl ConfigValue {
    /// The value.
    pub fn expose(&self) -> &str {
        match self {
            ConfigValue::Plain(v) => v,
            ConfigValue::Secret(s) => s.expose(),
        }
    }

    /// Whether it is secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, ConfigValue::Secret(_))
    }
}

/// Everything needed to load one provider. Built from the config file by
/// [`Config::provider_spec`](crate::config::Config::provider_spec), or by hand.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderSpec {
    /// The provider's name, used in every message.
    pub name: String,
    /// The component file.
    pub component: PathBuf,
    /// The SHA-256 the component must have (hex), if pinned.
    pub sha256: Option<String>,
    /// Allow-list entries (`https://api.example.com`).
    pub allow: Vec<String>,
    /// Per-call limits.
    pub limits: Limits,
    /// Config values the provider may read.
    pub config: BTreeMap<String, ConfigValue>,
    /// TTL for the records it publishes.
    pub ttl: u32,
    /// Where its presented records are journalled; `None`: not at all (a provider built by
    /// hand, or `inspect`).
    pub journal: Option<crate::journal::JournalSpec>,
    /// The config file the spec was read from, named in config errors; `None` for a spec built
    /// by hand.
    pub config_file: Option<PathBuf>,
    /// The config keys whose values are written in the config file itself rather than read
    /// from the environment or a file: a credential among them is warned about.
    pub inline_keys: BTreeSet<String>,
}

impl ProviderSpec {
    /// A spec with default limits, no grant and no config.
    pub fn new(name: impl Into<String>, component: impl Into<PathBuf>) -> Self {
        ProviderSpec {
            name: name.into(),
            component: component.into(),
            sha256: None,
            allow: Vec::new(),
            limits: Limits::default(),
            config: BTreeMap::new(),
            ttl: DEFAULT_TTL,
            journal: None,
            config_file: None,
            inline_keys: BTreeSet::new(),
        }
    }
}
