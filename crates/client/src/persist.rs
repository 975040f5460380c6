//! dns-persist-01 on the client's side: the CA's issuer domain names, and the handler an
//! order answered by a persistent record runs with.
//!
//! The record itself ([`acmebox_challenge::dns_persist01::PersistRecord`]) is placed once,
//! before any order, and left in place; [`Account::issue`] with [`PersistentRecords`] then
//! only tells the CA to check it, and sets up and cleans up nothing.

use acmebox_challenge::handlers::{ChallengeHandler, async_trait};
use acmebox_challenge::{Challenge, ChallengeType};

use crate::account::{AccountOptions, fetch_directory, http_client};
use crate::{Account, Error, Result};

/// The handler of an order validated by dns-persist-01 records already in place: its setup
/// and cleanup change nothing (and [`Account::issue`] calls neither for this type).
#[derive(Debug, Clone, Copy, Default)]
pub struct PersistentRecords;

#[async_trait]
impl ChallengeHandler for PersistentRecords {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::DnsPersist01
    }

    async fn setup(&self, _challenge: &Challenge) -> acmebox_challenge::Result<()> {
        Ok(())
    }

    async fn cleanup(&self, _challenge: &Challenge) -> acmebox_challenge::Result<()> {
        Ok(())
    }
}

impl Account {
    /// The issuer domain names the CA accepts in dns-persist-01 records: its directory's
    /// `meta.caaIdentities` (the names a CAA record authorizes it by, which it also offers as a
    /// dns-persist-01 challenge's `issuer-domain-names`). Fails when it names none.
    pub async fn issuer_domain_names(&self, options: &AccountOptions) -> Result<Vec<String>> {
        let http = http_client(options)?;
        let directory = fetch_directory(http.as_ref(), options).await?;
        let names: Vec<String> = directory["meta"]["caaIdentities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|name| name.as_str().map(str::to_owned))
            .collect();
        if names.is_empty() {
            return Err(Error::Acme {
                directory: options.directory().to_owned(),
                action: "find its issuer domain name",
                problem_type: None,
                detail: "the directory names no caaIdentities".into(),
                hint: Some("give the CA's issuer domain name with --issuer-domain-name".into()),
            });
        }
        Ok(names)
    }
}
