//! The checks themselves, one method each, run in order by [`Kit::run`].

use std::time::Duration;

use super::served::{Expect, Servers};
use super::{
    Check, CheckResult, ConformanceOptions, ConformanceReport, Outcome, random_label, random_value,
};
use crate::Result;
use acmebox_challenge::Identifier;
use acmebox_challenge::dns01::record_name;
use acmebox_egress::Grant;
use acmebox_propagation::Resolver;
use acmebox_sandbox::{CallReport, ProviderError, ProviderInfo, TxtRecord, WasmDnsProvider};

/// One run of the kit: the provider, where it publishes, and what it was asked to publish.
pub(super) struct Kit<'a> {
    provider: &'a WasmDnsProvider,
    options: &'a ConformanceOptions,
    domain: String,
    /// The record name after CNAMEs, absolute: where values are published and polled.
    fqdn: String,
    /// The zone of `fqdn`: the one given, or the one a CNAME leads into.
    fqdn_zone: String,
    /// The apex's value and the wildcard's.
    apex: String,
    wildcard: String,
    /// A value only ever cleaned up.
    never: String,
    /// Every record handed to `present` (failed calls included, since a call may fail after it
    /// published; not the record in a zone that cannot exist when it was refused): all cleaned
    /// up at the end.
    presented: Vec<TxtRecord>,
    /// Whether the wildcard's value was seen served after the apex's cleanup.
    other_served: bool,
}

/// The checks after `describe`, in the order they run.
const AFTER_DESCRIBE: [Check; 8] = [
    Check::Present,
    Check::SecondValue,
    Check::CleanupRemoves,
    Check::CleanupKeepsOther,
    Check::CleanupTwice,
    Check::CleanupNeverPresented,
    Check::TypedError,
    Check::NothingLeft,
];

/// The outcome of a check that was under way or not yet run when the run was stopped.
const INTERRUPTED: &str = "not completed: the run was interrupted (everything presented was \
                           cleaned up)";

impl<'a> Kit<'a> {
    /// Checks the options and finds where the test name's values go.
    pub(super) async fn start(
        provider: &'a WasmDnsProvider,
        options: &'a ConformanceOptions,
    ) -> Result<Kit<'a>> {
        let zone = absolute(&options.zone)?;
        let domain = match &options.domain {
            Some(domain) => base_domain(domain)?,
            None => format!(
                "acmebox-conformance-{}.{}",
                random_label()?,
                zone.trim_end_matches('.')
            ),
        };
        let absolute_domain = format!("{domain}.");
        if absolute_domain != zone && !absolute_domain.ends_with(&format!(".{zone}")) {
            return Err(acmebox_challenge::Error::InvalidIdentifier {
                identifier: domain,
                reason: format!("it is not in zone {zone}; give a domain under the zone"),
            }
            .into());
        }
        let name = record_name(&domain)?;
        let resolver = Resolver::new(options.propagation.clone())?;
        let fqdn = resolver.follow_cname(&name).await?;
        let fqdn_zone = if fqdn == name {
            zone
        } else {
            resolver.find_zone_apex(&fqdn).await?
        };
        Ok(Kit {
            provider,
            options,
            domain,
            fqdn,
            fqdn_zone,
            apex: random_value()?,
            wildcard: random_value()?,
            never: random_value()?,
            presented: Vec::new(),
            other_served: false,
        })
    }

    /// Runs every check in order, then cleans up everything presented. When `stop` completes
    /// first, the check under way is abandoned, the rest are not run (both fail as
    /// interrupted), and everything presented so far is cleaned up.
    pub(super) async fn run(
        mut self,
        mut progress: impl FnMut(&CheckResult),
        stop: impl Future<Output = ()>,
    ) -> Result<ConformanceReport> {
        let mut checks = Vec::new();
        let mut record = |name: Check, outcome: Outcome| {
            let result = CheckResult { name, outcome };
            progress(&result);
            checks.push(result);
        };

        let (outcome, info) = self.describe().await;
        record(Check::Describe, outcome);
        let mut propagation = self.options.propagation.clone();
        if let Some(info) = &info {
            propagation = propagation
                .with_provider_timing(info.propagation_timeout_secs, info.polling_interval_secs);
        }
        if let Some(cap) = self.options.timeout_cap {
            propagation.timeout = propagation.timeout.min(cap);
            propagation.interval = propagation.interval.min(cap.max(Duration::from_secs(1)));
        }
        let resolver = Resolver::new(propagation.clone())?;
        let servers = Servers::new(&propagation, random_value()?)?;

        let mut stop = std::pin::pin!(stop);
        let mut interrupted = false;
        for check in AFTER_DESCRIBE {
            if interrupted {
                record(check, Outcome::Failed(INTERRUPTED.to_owned()));
                continue;
            }
            tokio::select! {
                outcome = self.run_check(check, &resolver, &servers) => record(check, outcome),
                () = stop.as_mut() => {
                    interrupted = true;
                    record(check, Outcome::Failed(INTERRUPTED.to_owned()));
                }
            }
        }
        if interrupted {
            // Whatever the interrupted check had filed is removed too; nothing is checked.
            if let Err(failures) = self.clean_up_presented().await {
                record(
                    Check::NothingLeft,
                    Outcome::Failed(format!(
                        "cleanup after the interruption failed, remove these values by hand: {}",
                        failures.join("; ")
                    )),
                );
            }
        }

        Ok(ConformanceReport {
            provider: self.provider.name().to_owned(),
            domain: self.domain,
            fqdn: self.fqdn,
            checks,
        })
    }

    /// Runs one of the checks after `describe`.
    async fn run_check(&mut self, check: Check, resolver: &Resolver, servers: &Servers) -> Outcome {
        match check {
            Check::Describe => Outcome::Failed("describe runs first, on its own".to_owned()),
            Check::Present => self.present(resolver).await,
            Check::SecondValue => self.second_value(servers).await,
            Check::CleanupRemoves => self.cleanup_removes(servers).await,
            Check::CleanupKeepsOther => self.keeps_other(servers).await,
            Check::CleanupTwice => self.cleanup_twice().await,
            Check::CleanupNeverPresented => self.never_presented(servers).await,
            Check::TypedError => self.typed_error(servers).await,
            Check::NothingLeft => self.nothing_left(servers).await,
        }
    }

    /// Cleans up every value presented so far, each once; the failures, each naming the
    /// record, when any. Returns how many values it cleaned up.
    async fn clean_up_presented(&mut self) -> std::result::Result<usize, Vec<String>> {
        let presented = std::mem::take(&mut self.presented);
        let mut failures = Vec::new();
        let mut done: Vec<(&str, &str)> = Vec::new();
        for record in &presented {
            let key = (record.fqdn.as_str(), record.value.as_str());
            if done.contains(&key) {
                continue;
            }
            done.push(key);
            if let Err(Outcome::Failed(reason)) = self.call_cleanup(record).await {
                failures.push(format!("{} {:?}: {reason}", record.fqdn, record.value));
            }
        }
        if failures.is_empty() {
            Ok(done.len())
        } else {
            Err(failures)
        }
    }

    /// 1. `describe` is complete.
    async fn describe(&self) -> (Outcome, Option<ProviderInfo>) {
        let info = match self.provider.describe().await {
            Ok(info) => info,
            Err(err) => return (Outcome::Failed(err.to_string()), None),
        };
        let mut gaps = Vec::new();
        for (field, value) in [
            ("name", &info.name),
            ("version", &info.version),
            ("description", &info.description),
        ] {
            if value.trim().is_empty() {
                gaps.push(format!("its {field} is empty"));
            }
        }
        for key in &info.config_keys {
            if key.description.trim().is_empty() {
                gaps.push(format!("config key `{}` has no description", key.name));
            }
        }
        if info.hosts.is_empty() {
            gaps.push(
                "it lists no hosts; operators copy them into `allow` (list the API's origin, \
                 from the config when it is configurable)"
                    .to_owned(),
            );
        } else if let Err(err) = Grant::parse_lenient(&info.hosts) {
            gaps.push(format!("its hosts are not allow-list entries: {err}"));
        }
        if info.propagation_timeout_secs == 0 {
            gaps.push("its propagation timeout is 0 s".to_owned());
        }
        if info.polling_interval_secs == 0 {
            gaps.push("its polling interval is 0 s".to_owned());
        }
        let outcome = if gaps.is_empty() {
            Outcome::Passed(format!(
                "{} {}, {} config key(s), hosts {}, propagation timeout {} s, polling every {} s",
                info.name,
                info.version,
                info.config_keys.len(),
                info.hosts.join(", "),
                info.propagation_timeout_secs,
                info.polling_interval_secs
            ))
        } else {
            Outcome::Failed(gaps.join("; "))
        };
        (outcome, Some(info))
    }

    /// 2. `present` makes the apex's value visible at every authoritative server.
    async fn present(&mut self, resolver: &Resolver) -> Outcome {
        let record = self.record(&self.apex);
        if let Err(failed) = self.call_present(&record).await {
            return failed;
        }
        match resolver.wait_for_txt(&self.fqdn, &self.apex, |_| {}).await {
            Ok(report) => Outcome::Passed(format!(
                "{} served by {} server(s) after {:.1?}",
                self.fqdn,
                report.servers.len(),
                report.elapsed
            )),
            Err(err) => Outcome::Failed(format!("present returned ok, but {err}")),
        }
    }

    /// 3. The wildcard's value is served beside the apex's.
    async fn second_value(&mut self, servers: &Servers) -> Outcome {
        let record = self.record(&self.wildcard);
        if let Err(failed) = self.call_present(&record).await {
            return failed;
        }
        let both = [self.apex.as_str(), self.wildcard.as_str()];
        let expect = Expect {
            served: &both,
            absent: &[],
        };
        match servers.wait_until(&self.fqdn, expect).await {
            Ok(elapsed) => Outcome::Passed(format!(
                "both values served after {elapsed:.1?} (a domain and its wildcard share the name)"
            )),
            Err(unmet) => Outcome::Failed(format!(
                "present of a second value returned ok, but the two are not both served {unmet}; \
                 a provider must add to the TXT rrset, not replace it"
            )),
        }
    }

    /// 4. `cleanup` of the apex's value removes it.
    async fn cleanup_removes(&self, servers: &Servers) -> Outcome {
        let record = self.record(&self.apex);
        if let Err(failed) = self.call_cleanup(&record).await {
            return failed;
        }
        if self.options.cleanup_keeps_values {
            return keeps_values();
        }
        let expect = Expect {
            served: &[],
            absent: &[&self.apex],
        };
        match servers.wait_until(&self.fqdn, expect).await {
            Ok(elapsed) => Outcome::Passed(format!("the value was gone after {elapsed:.1?}")),
            Err(unmet) => Outcome::Failed(format!(
                "cleanup returned ok, but the value is still served {unmet}"
            )),
        }
    }

    /// 5. ... and leaves the wildcard's value served.
    async fn keeps_other(&mut self, servers: &Servers) -> Outcome {
        let expect = Expect {
            served: &[&self.wildcard],
            absent: &[],
        };
        match servers.wait_until(&self.fqdn, expect).await {
            Ok(_) => {
                self.other_served = true;
                Outcome::Passed("the other value is still served".to_owned())
            }
            Err(unmet) => Outcome::Failed(format!(
                "after the cleanup of one value the other is not served {unmet}; cleanup must \
                 remove only the value it is given"
            )),
        }
    }

    /// 6. `cleanup` of the apex's value again succeeds.
    async fn cleanup_twice(&self) -> Outcome {
        match self.call_cleanup(&self.record(&self.apex)).await {
            Ok(()) => Outcome::Passed("a second cleanup of the same value returned ok".to_owned()),
            Err(failed) => failed,
        }
    }

    /// 7. `cleanup` of a value never presented succeeds and takes nothing else away.
    async fn never_presented(&self, servers: &Servers) -> Outcome {
        if let Err(failed) = self.call_cleanup(&self.record(&self.never)).await {
            return failed;
        }
        if !self.other_served {
            return Outcome::Passed(
                "returned ok (no other value was served at the name, so the kit could not see \
                 whether it stays)"
                    .to_owned(),
            );
        }
        let expect = Expect {
            served: &[&self.wildcard],
            absent: &[],
        };
        match servers.wait_until(&self.fqdn, expect).await {
            Ok(_) => Outcome::Passed(
                "returned ok, and the value presented at the name is still served".to_owned(),
            ),
            Err(unmet) => Outcome::Failed(format!(
                "returned ok, but the value presented at the name is no longer served {unmet}"
            )),
        }
    }

    /// 8. A record in a zone that cannot exist fails with a typed error, and the provider
    ///    keeps working: the apex's value, presented again, is served.
    async fn typed_error(&mut self, servers: &Servers) -> Outcome {
        if self.options.ignores_record_name {
            return Outcome::NotApplicable(
                "the operator says the provider publishes at a place of its own whatever the \
                 record's name and zone (ignores_record_name, --ignores-record-name)"
                    .to_owned(),
            );
        }
        let invalid = match (random_label(), random_value()) {
            (Ok(label), Ok(value)) => {
                let domain = format!("acmebox-conformance-{label}.invalid");
                TxtRecord {
                    fqdn: format!("_acme-challenge.{domain}."),
                    zone: Some(format!("{domain}.")),
                    domain,
                    value,
                    ttl: self.provider.ttl(),
                }
            }
            (Err(err), _) | (_, Err(err)) => return Outcome::Failed(err.to_string()),
        };
        let report = self.provider.present(&invalid).await;
        let typed = match report.outcome {
            Ok(()) => {
                // It says it published: clean it up at the end, as anything else presented.
                self.presented.push(invalid.clone());
                return Outcome::Failed(format!(
                    "present of {} in zone {} returned ok, but that zone cannot exist (.invalid \
                     is reserved, RFC 6761); a provider must refuse what it cannot publish, \
                     with zone-not-found",
                    invalid.fqdn,
                    invalid.zone.as_deref().unwrap_or_default()
                ));
            }
            Err(acmebox_sandbox::Error::ProviderFailed {
                error: ProviderError::Other(message),
                ..
            }) => {
                return Outcome::Failed(format!(
                    "present in a zone that cannot exist failed with the untyped `other` error \
                     ({message}); use zone-not-found, or api-error with the API's status"
                ));
            }
            Err(acmebox_sandbox::Error::ProviderFailed { error, .. }) => error,
            Err(err) => {
                return Outcome::Failed(format!(
                    "present in a zone that cannot exist did not fail with a provider error: \
                     {err}"
                ));
            }
        };
        let record = self.record(&self.apex);
        if let Err(Outcome::Failed(reason)) = self.call_present(&record).await {
            return Outcome::Failed(format!(
                "refused the bad record ({typed}), but the next present failed: {reason}"
            ));
        }
        let expect = Expect {
            served: &[&self.apex],
            absent: &[],
        };
        match servers.wait_until(&self.fqdn, expect).await {
            Ok(_) => Outcome::Passed(format!(
                "{} ({typed}); the next present worked",
                typed.wit_name()
            )),
            Err(unmet) => Outcome::Failed(format!(
                "refused the bad record ({typed}), but the value presented next is not served \
                 {unmet}"
            )),
        }
    }

    /// 9. After cleaning up everything it presented, none of the kit's values is served.
    async fn nothing_left(&mut self, servers: &Servers) -> Outcome {
        let cleaned = match self.clean_up_presented().await {
            Ok(cleaned) => cleaned,
            Err(failures) => {
                return Outcome::Failed(format!(
                    "cleanup failed, remove these values by hand: {}",
                    failures.join("; ")
                ));
            }
        };
        if self.options.cleanup_keeps_values {
            return keeps_values();
        }
        let ours = [
            self.apex.as_str(),
            self.wildcard.as_str(),
            self.never.as_str(),
        ];
        let expect = Expect {
            served: &[],
            absent: &ours,
        };
        match servers.wait_until(&self.fqdn, expect).await {
            Ok(_) => Outcome::Passed(format!("cleaned up {cleaned} value(s); none is served")),
            Err(unmet) => Outcome::Failed(format!(
                "every cleanup returned ok, but values are left {unmet}"
            )),
        }
    }

    /// The record of `value` at the test name, as an ACME client hands it over.
    fn record(&self, value: &str) -> TxtRecord {
        TxtRecord {
            domain: self.domain.clone(),
            fqdn: self.fqdn.clone(),
            value: value.to_owned(),
            ttl: self.provider.ttl(),
            zone: Some(self.fqdn_zone.clone()),
        }
    }

    /// Presents `record`, filing it for the final cleanup first.
    async fn call_present(&mut self, record: &TxtRecord) -> std::result::Result<(), Outcome> {
        self.presented.push(record.clone());
        settle(self.provider.present(record).await)
    }

    async fn call_cleanup(&self, record: &TxtRecord) -> std::result::Result<(), Outcome> {
        settle(self.provider.cleanup(record).await)
    }
}

/// A failed call as a failed check, with the provider's last log line for context.
fn settle(report: CallReport) -> std::result::Result<(), Outcome> {
    let Err(err) = report.outcome else {
        return Ok(());
    };
    let log = report
        .logs
        .last()
        .map(|line| format!(" (its last log line: {})", line.message))
        .unwrap_or_default();
    Err(Outcome::Failed(format!("{err}{log}")))
}

fn keeps_values() -> Outcome {
    Outcome::NotApplicable(
        "the operator says the provider's cleanup keeps values by design \
         (cleanup_keeps_values, --cleanup-keeps-values)"
            .to_owned(),
    )
}

/// `name` lower case, with one trailing dot.
fn absolute(name: &str) -> Result<String> {
    Ok(format!("{}.", base_domain(name)?))
}

/// A DNS name as an identifier takes it (IDNA, lower case), without `*.` and trailing dot.
fn base_domain(name: &str) -> Result<String> {
    match Identifier::parse(name)? {
        id @ Identifier::Dns(_) => Ok(id.base_name()),
        Identifier::Ip(ip) => Err(acmebox_challenge::Error::InvalidIdentifier {
            identifier: ip.to_string(),
            reason: "the conformance kit needs a DNS name, not an IP address".to_owned(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(absolute("Example.Test").unwrap(), "example.test.");
        assert_eq!(absolute("example.test.").unwrap(), "example.test.");
        assert_eq!(base_domain("*.A.example.test").unwrap(), "a.example.test");
        assert!(base_domain("192.0.2.1").is_err());
    }
}
