//! The DNS-01 [`ReadyCheck`]: every challenge's TXT value served by every authoritative
//! server before the CA is asked to validate.

use std::fmt;
use std::sync::Arc;

use super::{PropagationReport, PropagationStatus, Resolver};
use acmebox_challenge::Challenge;
use acmebox_challenge::handlers::{ReadyCheck, async_trait};

use crate::Result;

/// A progress hook of [`DnsReadyCheck`]; it sees every polling round of every challenge.
pub type StatusFn = dyn Fn(&PropagationStatus) + Send + Sync;

/// A [`ReadyCheck`] for DNS-01 (RFC 8555 §8.4): for each challenge it follows the CNAMEs of
/// `_acme-challenge.<domain>.` to where the value is published and waits, with
/// [`Resolver::wait_for_txt`], until every authoritative server of that zone serves it.
///
/// All challenges are waited for at the same time, each under the resolver's
/// [`timeout`](super::PropagationOptions::timeout). Challenges of other types pass.
///
/// ```no_run
/// use std::sync::Arc;
/// use acmebox_challenge::handlers::ReadyCheck;
/// use acmebox_propagation::{DnsReadyCheck, PropagationOptions, Resolver};
///
/// # fn run() -> acmebox_propagation::Result<()> {
/// let resolver = Resolver::new(PropagationOptions::default().with_provider_timing(120, 5))?;
/// let check = DnsReadyCheck::new(resolver).with_progress(|status| eprintln!("{status}"));
/// // Hand it to an ACME client, such as acmebox-client's `IssueRequest::with_ready_check`.
/// let check: Arc<dyn ReadyCheck> = Arc::new(check);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DnsReadyCheck {
    resolver: Resolver,
    progress: Option<Arc<StatusFn>>,
}

impl DnsReadyCheck {
    /// A check polling as `resolver`'s options say.
    pub fn new(resolver: Resolver) -> Self {
        DnsReadyCheck {
            resolver,
            progress: None,
        }
    }

    /// A callback that sees the status after every polling round. It runs on the polling
    /// tasks: keep it short.
    pub fn with_progress(
        mut self,
        progress: impl Fn(&PropagationStatus) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The resolver it polls with.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Waits for every DNS-01 challenge in `challenges`, all at once, and returns a report per
    /// challenge in the order given. Fails with the error of the first challenge (in that
    /// order) that failed, once every wait has ended.
    pub async fn wait(&self, challenges: &[Challenge]) -> Result<Vec<PropagationReport>> {
        let mut waits = tokio::task::JoinSet::new();
        for (index, challenge) in challenges.iter().enumerate() {
            if !challenge.kind.is_dns() {
                continue;
            }
            let record = challenge.dns01_record()?;
            let resolver = self.resolver.clone();
            let progress = self.progress.clone();
            waits.spawn(async move {
                let report = resolver
                    .wait_for_txt(record.fqdn(), record.value().as_str(), |status| {
                        if let Some(progress) = &progress {
                            progress(status);
                        }
                    })
                    .await;
                (index, report)
            });
        }
        let mut results = Vec::with_capacity(waits.len());
        while let Some(joined) = waits.join_next().await {
            match joined {
                Ok(result) => results.push(result),
                // A wait never panics; if one did, that is a bug to surface, not to hide.
                Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Err(_cancelled) => {}
            }
        }
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }
}

impl fmt::Debug for DnsReadyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsReadyCheck")
            .field("resolver", &self.resolver)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

#[async_trait]
impl ReadyCheck for DnsReadyCheck {
    async fn wait_until_ready(&self, challenges: &[Challenge]) -> acmebox_challenge::Result<()> {
        let reports = self.wait(challenges).await?;
        for report in &reports {
            tracing::debug!(
                fqdn = %report.fqdn,
                attempts = report.attempts,
                elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
                "served by every authoritative server"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PropagationOptions;
    use acmebox_challenge::{ChallengeType, Identifier, KeyAuthorization};

    fn challenge(kind: ChallengeType, name: &str) -> Challenge {
        let ka = KeyAuthorization::parse(
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        )
        .unwrap();
        Challenge::new(kind, Identifier::parse(name).unwrap(), ka).unwrap()
    }

    #[tokio::test]
    async fn other_challenge_types_pass_without_lookups() {
        // Nothing listens on the discard port: any lookup would fail.
        let options =
            PropagationOptions::default().with_resolvers(vec!["127.0.0.1:9".parse().unwrap()]);
        let check = DnsReadyCheck::new(Resolver::new(options).unwrap());
        let challenges = [
            challenge(ChallengeType::Http01, "a.example.test"),
            challenge(ChallengeType::TlsAlpn01, "b.example.test"),
        ];
        assert!(check.wait(&challenges).await.unwrap().is_empty());
        check.wait_until_ready(&[]).await.unwrap();
    }

    #[test]
    fn the_check_is_shareable() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<DnsReadyCheck>();
    }
}
