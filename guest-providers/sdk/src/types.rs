//! Conveniences on the WIT types the crate re-exports.

use crate::{ApiError, ConfigKey, ProviderError, ProviderInfo};

/// How long a provider that does not say otherwise lets a record take to propagate, in
/// seconds. Long enough for most APIs that publish within a minute; a provider whose API is
/// slower says so in its [`ProviderInfo`].
pub const DEFAULT_PROPAGATION_TIMEOUT_SECS: u32 = 120;

/// How often a provider that does not say otherwise has propagation checked, in seconds.
pub const DEFAULT_POLLING_INTERVAL_SECS: u32 = 5;

impl ProviderInfo {
    /// A description with no config keys and no hosts, the default propagation timings, and
    /// concurrent calls allowed. Fill in the rest with struct update syntax:
    ///
    /// ```
    /// use acmebox_provider::{ConfigKey, ProviderInfo};
    ///
    /// let info = ProviderInfo {
    ///     config_keys: vec![ConfigKey::required("token", "API token").secret()],
    ///     hosts: vec!["https://api.example.com".into()],
    ///     ..ProviderInfo::new("example", "0.1.0", "TXT records through the example.com API")
    /// };
    /// assert!(info.config_keys[0].secret);
    /// ```
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            config_keys: Vec::new(),
            hosts: Vec::new(),
            propagation_timeout_secs: DEFAULT_PROPAGATION_TIMEOUT_SECS,
            polling_interval_secs: DEFAULT_POLLING_INTERVAL_SECS,
            sequential: false,
        }
    }
}

impl ConfigKey {
    /// A key the provider cannot work without.
    pub fn required(name: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            required: true,
            secret: false,
        }
    }

    /// A key the provider can do without.
    pub fn optional(name: &str, description: &str) -> Self {
        Self {
            required: false,
            ..Self::required(name, description)
        }
    }

    /// Marks the key as a credential: the host never logs its value and redacts it from the
    /// provider's log.
    pub fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }
}

impl ProviderError {
    /// An error the API answered with `status`.
    pub fn api(status: u16, message: impl Into<String>) -> Self {
        Self::ApiError(ApiError {
            status,
            message: message.into(),
        })
    }

    /// The HTTP status of an [`ProviderError::ApiError`], `None` for the other variants.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::ApiError(e) => Some(e.status),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for ProviderError {
    /// A JSON document the provider built or read was not what it expected.
    fn from(e: serde_json::Error) -> Self {
        Self::Other(format!("JSON: {e}"))
    }
}
