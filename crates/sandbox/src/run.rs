//! What the `acmebox present|cleanup|inspect` commands do, as library functions.

use std::path::Path;

use crate::config::Config;
use crate::handler::{WasmDns01Handler, place_record};
use crate::host::Sandbox;
use crate::provider::{ProviderInfo, TxtRecord, WasmDnsProvider};
use crate::report::{CallReport, Operation};
use crate::{Error, Result};
use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
use acmebox_propagation::Resolver;

/// Loads provider `provider` from the config file at `config_path` and runs `operation`
/// (present or cleanup) for the DNS-01 challenge of `identifier` with `key_authorization`.
///
/// A failed call is still a report: its `outcome` holds the error. `Err` means nothing ran
/// (bad config, unloadable component, invalid identifier).
pub async fn run_from_config(
    config_path: &Path,
    provider: &str,
    operation: Operation,
    identifier: &str,
    key_authorization: &str,
) -> Result<CallReport> {
    let provider = load_from_config(config_path, provider).await?;
    run_record(provider, operation, identifier, key_authorization, None).await
}

/// Loads provider `provider` from the config file at `config_path`, with its own sandbox, and
/// checks its config against what it reads ([`Sandbox::load_checked`]).
pub async fn load_from_config(config_path: &Path, provider: &str) -> Result<WasmDnsProvider> {
    let config = Config::load(config_path)?;
    let spec = config.provider_spec(provider)?;
    Sandbox::new(config.cache_dir())?.load_checked(spec).await
}

/// Runs `operation` (present or cleanup) through `provider` for the DNS-01 challenge of
/// `identifier` with `key_authorization`; see [`run_from_config`]. With `placement`, the record
/// goes where the CNAMEs of `_acme-challenge.<identifier>.` end ([`place_record`]).
pub async fn run_record(
    provider: WasmDnsProvider,
    operation: Operation,
    identifier: &str,
    key_authorization: &str,
    placement: Option<&Resolver>,
) -> Result<CallReport> {
    let handler = WasmDns01Handler::new(provider);
    let challenge = Challenge::new(
        ChallengeType::Dns01,
        Identifier::parse(identifier)?,
        KeyAuthorization::parse(key_authorization)?,
    )?;
    let mut record: TxtRecord = handler.record(&challenge)?;
    if let Some(resolver) = placement {
        record = place_record(&record, resolver).await?;
    }
    match operation {
        Operation::Present => Ok(handler.provider().present(&record).await),
        Operation::Cleanup => Ok(handler.provider().cleanup(&record).await),
        other => Err(Error::Sandbox {
            reason: format!("{other} is not a record operation; use present or cleanup"),
        }),
    }
}

/// Describes a component and lists its imports, with the cache under `cache_dir`.
pub async fn inspect(cache_dir: &Path, component: &Path) -> Result<(ProviderInfo, Vec<String>)> {
    Sandbox::new(cache_dir)?.inspect(component).await
}
