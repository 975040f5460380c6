//! `acmebox persist set|show|remove`: the dns-persist-01 record of a domain
//! (`_validation-persist.<domain>`, naming the CA and the account), placed once through a
//! provider and deliberately left in place, so that every later order of the account
//! validates with no provider call. `issue --challenge dns-persist-01` places a missing one
//! the same way.

use std::path::PathBuf;
use std::time::Duration;

use acmebox::challenge::Identifier;
use acmebox::challenge::dns_persist01::PersistRecord;
use acmebox::client::{Account, AccountOptions};
use acmebox::config::Config;
use acmebox::propagation::Resolver;
use acmebox::sandbox::{Operation, Sandbox, TxtRecord, WasmDnsProvider, place_record};
use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use crate::dns_args::DnsArgs;

/// What `persist` does.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PersistAction {
    /// Place the record through the provider unless every nameserver already serves it.
    Set,
    /// Print the record's name and value, and whether the nameservers serve it.
    Show,
    /// Remove the record's value through the provider.
    Remove,
}

/// `acmebox persist`.
#[derive(Debug, Args)]
pub struct PersistArgs {
    /// set, show or remove.
    action: PersistAction,
    /// A domain the record is for; `*.` asks for `policy=wildcard` (which covers the domain
    /// too); repeat for more.
    #[arg(short = 'd', long = "domain", value_name = "NAME", required = true)]
    domains: Vec<String>,
    /// The CA: an ACME directory URL or a name (letsencrypt, ...), as for `issue`.
    #[arg(long, value_name = "URL|NAME", value_parser = crate::issue_cmd::directory_url)]
    directory: String,
    /// The account the record authorizes (default: the account file `issue` uses for the
    /// directory).
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// Trust this CA certificate (PEM) for the ACME server.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Agree to the CA's terms of service if the account must be registered.
    #[arg(long)]
    agree_tos: bool,
    /// The CA's issuer domain name (default: the first of the directory's caaIdentities).
    #[arg(long, value_name = "NAME")]
    issuer_domain_name: Option<String>,
    /// Add `persistUntil`: the record stops authorizing after this many seconds from now.
    #[arg(long, value_name = "SECONDS")]
    persist_for: Option<u64>,
    /// The provider configuration file (set, remove).
    #[arg(long, env = "ACMEBOX_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The provider to place the record with (set, remove).
    #[arg(long, env = "ACMEBOX_PROVIDER", value_name = "NAME")]
    provider: Option<String>,
    #[command(flatten)]
    dns: DnsArgs,
}

/// The persistent records for `identifiers` (one per domain; `policy=wildcard` when a
/// wildcard of it is among them), authorizing `account_url` at the CA named `issuer`.
pub(crate) fn persist_records(
    identifiers: &[Identifier],
    issuer: &str,
    account_url: &str,
    until: Option<u64>,
) -> anyhow::Result<Vec<PersistRecord>> {
    let mut records: Vec<PersistRecord> = Vec::new();
    for identifier in identifiers {
        let base = identifier.base_name();
        let wildcard = identifiers
            .iter()
            .any(|other| other.is_wildcard() && other.base_name() == base);
        let record = PersistRecord::with_policy(identifier, issuer, account_url, wildcard, until)?;
        if !records.iter().any(|r| r.fqdn() == record.fqdn()) {
            records.push(record);
        }
    }
    Ok(records)
}

/// Where persistent records are checked, and the provider that places a missing one, loaded
/// only then: an order whose records are all in place instantiates no provider.
pub(crate) struct Placer {
    config: PathBuf,
    provider: String,
    dns: DnsArgs,
    /// The operator's lookups, for checking what is served.
    lookups: Resolver,
    /// The provider and the propagation wait timed as it suggests, once loaded.
    loaded: tokio::sync::OnceCell<(WasmDnsProvider, Resolver)>,
}

impl Placer {
    /// The placer of `provider` in `config` (checked to be there now; loaded when needed).
    pub(crate) fn new(
        config: &std::path::Path,
        provider: &str,
        dns: &DnsArgs,
    ) -> anyhow::Result<Placer> {
        Config::load(config)?.provider_spec(provider)?;
        Ok(Placer {
            config: config.to_owned(),
            provider: provider.to_owned(),
            dns: dns.clone(),
            lookups: Resolver::new(dns.propagation_options())?,
            loaded: tokio::sync::OnceCell::new(),
        })
    }

    /// Loads the provider, with no journal: a persistent record is meant to stay, so nothing
    /// may clean it up as a record left behind.
    async fn loaded(&self) -> anyhow::Result<&(WasmDnsProvider, Resolver)> {
        self.loaded
            .get_or_try_init(|| async {
                let config = Config::load(&self.config)?;
                let mut spec = config.provider_spec(&self.provider)?;
                spec.journal = None;
                let provider = Sandbox::new(config.cache_dir())?.load_checked(spec).await?;
                let mut options = self.dns.propagation_options();
                if let Ok(info) = provider.info().await {
                    options = options.with_provider_timing(
                        info.propagation_timeout_secs,
                        info.polling_interval_secs,
                    );
                }
                let resolver = Resolver::new(self.dns.override_timing(options))?;
                anyhow::Ok((provider, resolver))
            })
            .await
    }

    /// Places each record that is not served yet and waits until it is; returns how many it
    /// placed. `say` gets one line per record.
    pub(crate) async fn ensure(
        &self,
        records: &[PersistRecord],
        say: &impl Fn(&str),
    ) -> anyhow::Result<usize> {
        let mut placed = 0;
        for record in records {
            if served(&self.lookups, record).await {
                say(&format!(
                    "dns-persist-01 record at {} already in place; no provider call",
                    record.fqdn()
                ));
                continue;
            }
            self.call(Operation::Present, record).await?;
            self.loaded()
                .await?
                .1
                .wait_for_txt(record.fqdn(), record.value(), |_| {})
                .await
                .with_context(|| format!("{} was placed, but did not propagate", record.fqdn()))?;
            say(&format!(
                "dns-persist-01 record placed at {}: {} (it stays; `acmebox persist remove` \
                 removes it)",
                record.fqdn(),
                record.value()
            ));
            placed += 1;
        }
        Ok(placed)
    }

    /// Presents or removes `record` through the provider, at the end of its CNAMEs.
    async fn call(&self, operation: Operation, record: &PersistRecord) -> anyhow::Result<()> {
        let (provider, resolver) = self.loaded().await?;
        let txt = TxtRecord {
            domain: record.domain().to_owned(),
            fqdn: record.fqdn().to_owned(),
            value: record.value().to_owned(),
            ttl: provider.ttl(),
            zone: None,
        };
        let txt = place_record(&txt, resolver).await?;
        let report = match operation {
            Operation::Cleanup => provider.cleanup(&txt).await,
            _ => provider.present(&txt).await,
        };
        report.write_lines(&mut std::io::stderr().lock(), "acmebox: ")?;
        if let Err(err) = &report.outcome {
            bail!("{operation} of {} failed: {err}", txt.fqdn);
        }
        Ok(())
    }
}

/// Runs `acmebox persist`.
pub fn persist(args: PersistArgs) -> anyhow::Result<std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(async {
            let identifiers = args
                .domains
                .iter()
                .map(|name| Identifier::parse(name))
                .collect::<Result<Vec<_>, _>>()?;
            let options = crate::issue_cmd::base_account_options(
                &args.directory,
                args.account.as_deref(),
                args.ca_cert.as_deref(),
                args.agree_tos,
            )?;
            let account = Account::load_or_create(&options).await?;
            let issuer =
                issuer_domain_name(&account, &options, args.issuer_domain_name.as_deref()).await?;
            let until = args.persist_for.map(|secs| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |now| now.as_secs())
                    .saturating_add(secs)
            });
            let records = persist_records(&identifiers, &issuer, account.id(), until)?;
            let say = |line: &str| eprintln!("acmebox: {line}");
            if let PersistAction::Show = args.action {
                let resolver = Resolver::new(args.dns.propagation_options())?;
                for record in &records {
                    let served = served(&resolver, record).await;
                    println!("{} TXT \"{}\"", record.fqdn(), record.value());
                    say(&format!(
                        "{}: {}",
                        record.fqdn(),
                        if served {
                            "served by every nameserver"
                        } else {
                            "not served everywhere yet"
                        }
                    ));
                }
                return Ok(std::process::ExitCode::SUCCESS);
            }
            let (Some(config), Some(provider)) = (&args.config, &args.provider) else {
                bail!("persist set and remove need --config <file> and --provider <name>");
            };
            let placer = Placer::new(config, provider, &args.dns)?;
            match args.action {
                PersistAction::Set => {
                    placer.ensure(&records, &say).await?;
                }
                PersistAction::Remove => {
                    for record in &records {
                        placer.call(Operation::Cleanup, record).await?;
                        say(&format!(
                            "dns-persist-01 record removed from {}",
                            record.fqdn()
                        ));
                    }
                }
                PersistAction::Show => {}
            }
            Ok(std::process::ExitCode::SUCCESS)
        })
}

/// Whether every nameserver (or `--authoritative` server) of `resolver` serves `record` now:
/// one round of queries.
async fn served(resolver: &Resolver, record: &PersistRecord) -> bool {
    let once = resolver
        .options()
        .clone()
        .with_timing(Duration::from_millis(1), Duration::from_millis(1));
    match Resolver::new(once) {
        Ok(resolver) => resolver
            .wait_for_txt(record.fqdn(), record.value(), |_| {})
            .await
            .is_ok(),
        Err(_) => false,
    }
}

/// `--issuer-domain-name`, else the CA's first caaIdentities name.
pub(crate) async fn issuer_domain_name(
    account: &Account,
    options: &AccountOptions,
    given: Option<&str>,
) -> anyhow::Result<String> {
    match given {
        Some(name) => Ok(name.to_owned()),
        None => Ok(account
            .issuer_domain_names(options)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default()),
    }
}
