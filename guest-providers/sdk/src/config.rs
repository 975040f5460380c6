//! The config keys the operator set for this provider.
//!
//! Keys are the ones the provider declares in [`ProviderInfo::config_keys`](crate::ProviderInfo);
//! the host hands over nothing else (no environment, no files).

use crate::ProviderError;
use crate::bindings::acmebox::provider::config as host;

/// The value of `key`, or `None` when the operator did not set it.
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}

/// The value of `key`, or an [`InvalidConfig`](ProviderError::InvalidConfig) error naming the
/// key when it is missing or empty.
pub fn require(key: &str) -> Result<String, ProviderError> {
    match get(key) {
        None => Err(ProviderError::InvalidConfig(format!(
            "missing config key `{key}`"
        ))),
        Some(value) if value.trim().is_empty() => Err(ProviderError::InvalidConfig(format!(
            "config key `{key}` is empty"
        ))),
        Some(value) => Ok(value),
    }
}

/// The value of `key`, or `default` when the operator did not set it.
pub fn with_default(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_owned())
}
