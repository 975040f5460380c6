//! DNS-01 through a sandboxed provider: the host computes the record natively, the guest only
//! places and removes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Error, Result};
use acmebox_challenge::handlers::{ChallengeHandler, async_trait};
use acmebox_challenge::{Challenge, ChallengeType};
use acmebox_propagation::Resolver;

use crate::provider::{TxtRecord, WasmDnsProvider};
use crate::report::CallReport;

/// Where a DNS-01 value is published and waited for: `record` moved to the name its CNAMEs end
/// at (RFC 8555 §8.4: a CA follows them; [`Resolver::follow_cname`], which also honours
/// turning following off). Every entry point that presents (`issue`, the hooks, `serve`) asks
/// this one function, then publishes and polls at the name it returns. The zone is kept only
/// when the name did not move.
pub async fn place_record(record: &TxtRecord, resolver: &Resolver) -> Result<TxtRecord> {
    let fqdn = resolver.follow_cname(&record.fqdn).await?;
    let moved = !fqdn.eq_ignore_ascii_case(&record.fqdn);
    Ok(TxtRecord {
        zone: if moved { None } else { record.zone.clone() },
        fqdn,
        ..record.clone()
    })
}

/// A DNS-01 handler backed by a [`WasmDnsProvider`].
///
/// As a [`ChallengeHandler`] it keeps the report of every call (audit records and logs) for
/// the caller to show: see [`WasmDns01Handler::take_reports`].
///
/// With a [`Resolver`] ([`WasmDns01Handler::with_resolver`]) it publishes where a CA looks:
/// it follows the CNAMEs of `_acme-challenge.<domain>.` and finds the zone of the name they end
/// at (RFC 8555 §8.4, [`Resolver::effective_record`]) before it calls the provider, and gives
/// the provider that name and zone. Cleanup removes the value from the very record setup
/// published, even if the CNAMEs change in between.
#[derive(Debug, Clone)]
pub struct WasmDns01Handler {
    provider: WasmDnsProvider,
    resolver: Option<Resolver>,
    one_at_a_time: bool,
    /// dns-01, or dns-account-01.
    kind: ChallengeType,
    reports: Arc<Mutex<Vec<CallReport>>>,
    /// What setup handed to the provider, by the challenge's own (name, value).
    presented: Arc<Mutex<HashMap<(String, String), TxtRecord>>>,
}

impl WasmDns01Handler {
    /// A handler publishing through `provider`, with the provider's configured TTL, at
    /// `_acme-challenge.<domain>.` itself (no CNAME following, no zone given).
    pub fn new(provider: WasmDnsProvider) -> Self {
        WasmDns01Handler {
            provider,
            resolver: None,
            one_at_a_time: false,
            kind: ChallengeType::Dns01,
            reports: Arc::default(),
            presented: Arc::default(),
        }
    }

    /// Publishes at the effective record `resolver` finds: the name after CNAMEs (unless its
    /// options turn following off) and that name's zone.
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Asks ACME clients for one live value at a time ([`ChallengeHandler::one_at_a_time`]):
    /// pass the provider's `describe().sequential`.
    pub fn with_one_at_a_time(mut self, one_at_a_time: bool) -> Self {
        self.one_at_a_time = one_at_a_time;
        self
    }

    /// The reports of the calls made through [`ChallengeHandler`] so far, oldest first; the
    /// list is emptied. A failed call's outcome holds its error message.
    pub fn take_reports(&self) -> Vec<CallReport> {
        std::mem::take(&mut *self.reports.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The provider behind this handler.
    pub fn provider(&self) -> &WasmDnsProvider {
        &self.provider
    }

    /// Answers dns-account-01 challenges instead of dns-01 ones: the same value, at the
    /// account's own name `_<account label>._acme-challenge.<domain>.`
    /// ([`acmebox_challenge::dns01::account_label`]).
    pub fn answering_dns_account_01(mut self) -> Self {
        self.kind = ChallengeType::DnsAccount01;
        self
    }

    /// The TXT record for `challenge` (RFC 8555 §8.4), computed by the host, at
    /// `_acme-challenge.<domain>.` (dns-01) or `_<account label>._acme-challenge.<domain>.`
    /// (dns-account-01).
    pub fn record(&self, challenge: &Challenge) -> Result<TxtRecord> {
        if !challenge.kind.is_dns() {
            return Err(acmebox_challenge::Error::UnsupportedChallenge {
                challenge: challenge.kind,
                identifier: challenge.identifier.to_string(),
                reason: "a DNS provider answers dns-01 and dns-account-01 challenges only",
            }
            .into());
        }
        let record = challenge.dns01_record()?;
        Ok(TxtRecord::from_dns01(&record, self.provider.ttl()))
    }

    /// The TXT record the provider is asked to publish: [`record`](Self::record), moved to the
    /// effective name and zone when the handler has a resolver.
    pub async fn effective_record(&self, challenge: &Challenge) -> Result<TxtRecord> {
        let record = self.record(challenge)?;
        let Some(resolver) = &self.resolver else {
            return Ok(record);
        };
        let mut record = place_record(&record, resolver).await?;
        record.zone = Some(resolver.find_zone_apex(&record.fqdn).await?);
        Ok(record)
    }

    /// Publishes the challenge's TXT value at its effective record; the report says what the
    /// provider did.
    pub async fn present(&self, challenge: &Challenge) -> Result<CallReport> {
        let record = self.effective_record(challenge).await?;
        Ok(self.provider.present(&record).await)
    }

    /// Removes the challenge's TXT value from its effective record, looked up again.
    pub async fn cleanup(&self, challenge: &Challenge) -> Result<CallReport> {
        let record = self.effective_record(challenge).await?;
        Ok(self.provider.cleanup(&record).await)
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

    /// The key `presented` files a challenge's record under.
    fn key(record: &TxtRecord) -> (String, String) {
        (record.fqdn.clone(), record.value.clone())
    }

    /// Files the record, then has the provider publish it ([`ChallengeHandler::setup`]).
    async fn setup_record(&self, challenge: &Challenge) -> Result<()> {
        let key = Self::key(&self.record(challenge)?);
        let record = self.effective_record(challenge).await?;
        // Filed before the call: a call that fails half-way still gets its cleanup.
        self.presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, record.clone());
        let report = self.provider.present(&record).await;
        self.settle(report)
    }

    /// Has the provider remove what setup filed ([`ChallengeHandler::cleanup`]).
    async fn cleanup_record(&self, challenge: &Challenge) -> Result<()> {
        let plain = self.record(challenge)?;
        let filed = self
            .presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&Self::key(&plain));
        let record = match (filed, &self.resolver) {
            (Some(record), _) => record,
            (None, None) => plain,
            // Setup failed before it reached the provider (the lookups failed): nothing to undo.
            (None, Some(_)) => return Ok(()),
        };
        let report = self.provider.cleanup(&record).await;
        self.settle(report)
    }
}

#[async_trait]
impl ChallengeHandler for WasmDns01Handler {
    fn challenge_type(&self) -> ChallengeType {
        self.kind
    }

    async fn setup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
        Ok(self.setup_record(challenge).await?)
    }

    async fn cleanup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
        Ok(self.cleanup_record(challenge).await?)
    }

    fn one_at_a_time(&self) -> bool {
        self.one_at_a_time
    }
}
