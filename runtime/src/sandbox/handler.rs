//! DNS-01 through a sandboxed provider: the host computes the record natively, the guest only
//! places and removes it.

use std::sync::{Arc, Mutex, PoisonError};

use crate::challenge::{Challenge, ChallengeType};
use crate::handlers::{ChallengeHandler, async_trait};
use crate::{Error, Result};

use super::{CallReport, TxtRecord, WasmDnsProvider};

/// A DNS-01 handler backed by a [`WasmDnsProvider`].
///
/// As a [`ChallengeHandler`] it keeps the report of every call (audit records and logs) for
/// the caller to show: see [`WasmDns01Handler::take_reports`].
#[derive(Debug, Clone)]
pub struct WasmDns01Handler {
    provider: WasmDnsProvider,
    reports: Arc<Mutex<Vec<CallReport>>>,
}

impl WasmDns01Handler {
    /// A handler publishing through `provider`, with the provider's configured TTL.
    pub fn new(provider: WasmDnsProvider) -> Self {
        WasmDns01Handler {
            provider,
            reports: Arc::default(),
        }
    }

    /// The reports of the calls made through [`ChallengeHandler`] so far, oldest first; the
    /// list is emptied. A failed call's outcome holds its error message.
    pub fn take_reports(&self) -> Vec<CallReport> {
        std::mem::take(&mut *self.reports.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Keeps `report` and turns its outcome into the handler's result.
    fn settle(&self, mut report: CallReport) -> Result<()> {
        let outcome = std::mem::replace(&mut report.outcome, Ok(()));
        if let Err(err) = &outcome {
            report.outcome = Err(Error::Sandbox {
                reason: err.to_string(),
            });
        }
        self.reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(report);
        outcome
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

#[async_trait]
impl ChallengeHandler for WasmDns01Handler {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::Dns01
    }

    async fn setup(&self, challenge: &Challenge) -> Result<()> {
        let report = self.present(challenge).await?;
        self.settle(report)
    }

    async fn cleanup(&self, challenge: &Challenge) -> Result<()> {
        let report = WasmDns01Handler::cleanup(self, challenge).await?;
        self.settle(report)
    }
}
