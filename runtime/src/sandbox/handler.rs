//! DNS-01 through a sandboxed provider: the host computes the record natively, the guest only
//! places and removes it.

use crate::challenge::{Challenge, ChallengeType};
use crate::{Error, Result};

use super::{CallReport, TxtRecord, WasmDnsProvider};

/// A DNS-01 handler backed by a [`WasmDnsProvider`].
#[derive(Debug, Clone)]
pub struct WasmDns01Handler {
    provider: WasmDnsProvider,
}

impl WasmDns01Handler {
    /// A handler publishing through `provider`, with the provider's configured TTL.
    pub fn new(provider: WasmDnsProvider) -> Self {
        WasmDns01Handler { provider }
    }

    /// The provider behind this handler.
    pub fn provider(&self) -> &WasmDnsProvider {
        &self.provider
    }

    /// The TXT record for `challenge` (RFC 8555 §8.4), computed by the host.
    pub fn record(&self, challenge: &Challenge) -> Result<TxtRecord> {
        if challenge.kind != ChallengeType::Dns01 {
            return Err(Error::UnsupportedChallenge {
                challenge: challenge.kind,
                identifier: challenge.identifier.to_string(),
                reason: "a DNS provider answers dns-01 challenges only",
            });
        }
        let record = challenge.dns01_record()?;
        Ok(TxtRecord::from_dns01(&record, self.provider.ttl()))
    }

    /// Publishes the challenge's TXT value; the report says what the provider did.
    pub async fn present(&self, challenge: &Challenge) -> Result<CallReport> {
        let record = self.record(challenge)?;
        Ok(self.provider.present(&record).await)
    }

    /// Removes the challenge's TXT value.
    pub async fn cleanup(&self, challenge: &Challenge) -> Result<CallReport> {
        let record = self.record(challenge)?;
        Ok(self.provider.cleanup(&record).await)
    }
}
