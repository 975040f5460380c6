//! Cleaning up records left behind: journal entries whose owner no longer runs (a process
//! killed with `kill -9`, a power cut), each removed through the provider that presented it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Result;
use crate::config::Config;
use crate::host::Sandbox;
use crate::journal::{Entry, Journal};
use crate::provider::WasmDnsProvider;

/// Which stale entries [`clean_stale`] takes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StaleOptions {
    /// Only entries at least this old (default: any age).
    pub older_than: Duration,
    /// Only entries of this config file (absolute); `None`: every entry.
    pub config: Option<PathBuf>,
}

impl StaleOptions {
    /// Sets [`older_than`](Self::older_than).
    pub fn with_older_than(mut self, age: Duration) -> Self {
        self.older_than = age;
        self
    }

    /// Sets [`config`](Self::config).
    pub fn with_config(mut self, config: &Path) -> Self {
        self.config = Some(config.to_owned());
        self
    }
}

/// What [`clean_stale`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StaleSummary {
    /// Records removed through their provider.
    pub cleaned: usize,
    /// Records whose cleanup failed; their entries stay for the next attempt.
    pub failed: usize,
    /// Unreadable entries set aside as `.corrupt`.
    pub corrupt: usize,
}

/// Cleans up every stale entry of `journal` that `options` select, through its provider
/// (loaded again from the entry's config file), and removes the entry once that worked. Calls
/// `line` with one sentence per record, and per unreadable entry. Entries another process is
/// cleaning up at the same moment are skipped.
pub async fn clean_stale(
    journal: &Journal,
    options: &StaleOptions,
    mut line: impl FnMut(&str),
) -> Result<StaleSummary> {
    let mut summary = StaleSummary::default();
    let scan = {
        let journal = journal.clone();
        tokio::task::spawn_blocking(move || journal.scan())
            .await
            .map_err(|e| crate::Error::Sandbox {
                reason: format!("reading the journal failed: {e}"),
            })??
    };
    for (path, reason) in &scan.corrupt {
        summary.corrupt += 1;
        line(&format!(
            "journal entry {} is unreadable ({reason}); kept aside for you to look at: the \
             record it names may still be published",
            path.display()
        ));
    }
    let mut providers: HashMap<(PathBuf, String), WasmDnsProvider> = HashMap::new();
    for (path, entry) in scan.entries {
        if options.config.as_ref().is_some_and(|c| *c != entry.config)
            || entry.age() < options.older_than
            || entry.owner.is_running()
        {
            continue;
        }
        let Some(_claim) = journal.claim(&path) else {
            continue;
        };
        let what = describe(&entry);
        let key = (entry.config.clone(), entry.provider.clone());
        let provider = match providers.get(&key) {
            Some(provider) => provider.clone(),
            None => match load(&entry).await {
                Ok(provider) => providers.entry(key).or_insert(provider).clone(),
                Err(err) => {
                    summary.failed += 1;
                    line(&format!("could not clean up {what}: {err}"));
                    continue;
                }
            },
        };
        let report = provider.cleanup(&entry.record()).await;
        match report.outcome {
            Ok(()) => {
                summary.cleaned += 1;
                // The provider's own journal may be another directory than this one.
                journal.remove(&entry.config, &entry.provider, &entry.record())?;
                line(&format!("cleaned up {what}"));
            }
            Err(err) => {
                summary.failed += 1;
                line(&format!(
                    "could not clean up {what}: {err}; the entry stays for the next attempt"
                ));
            }
        }
    }
    Ok(summary)
}

async fn load(entry: &Entry) -> Result<WasmDnsProvider> {
    let config = Config::load(&entry.config)?;
    Sandbox::new(config.cache_dir())?
        .load_checked(config.provider_spec(&entry.provider)?)
        .await
}

fn describe(entry: &Entry) -> String {
    format!(
        "stale record {} TXT {:?} of provider `{}` ({}), presented {} s ago by {}, which no \
         longer runs",
        entry.fqdn,
        entry.value,
        entry.provider,
        entry.config.display(),
        entry.age().as_secs(),
        entry.owner
    )
}
