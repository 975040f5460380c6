//! `acmebox conformance`: run a configured provider through the conformance kit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use acmebox::config::Config;
use acmebox::conformance::{self, ConformanceOptions};
use acmebox::sandbox::Sandbox;
use anyhow::Context as _;
use clap::Args;

use crate::dns_args::DnsArgs;

/// Check a provider against its real backend: present, coexisting values, cleanup and errors,
/// verified with DNS queries to the zone's authoritative servers. Prints one line per check
/// and a summary; exits non-zero when a check failed.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// The provider configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The provider to check, from the configuration.
    #[arg(long, value_name = "NAME")]
    provider: String,
    /// The zone the provider manages; the kit publishes only under it.
    #[arg(long, value_name = "ZONE")]
    zone: String,
    /// The name to test with, in the zone (default: a random label under the zone).
    #[arg(long, value_name = "NAME")]
    domain: Option<String>,
    #[command(flatten)]
    dns: DnsArgs,
    /// Wait at most this many seconds for a change to show at the servers, even when the
    /// provider suggests longer.
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// The provider's cleanup leaves values in place by design (acme-dns): the checks that
    /// cleanup removes values are reported as not applicable.
    #[arg(long)]
    cleanup_keeps_values: bool,
    /// The provider publishes at a place of its own whatever the record's name and zone
    /// (acme-dns): the check with a record in a zone that does not exist is not applicable.
    #[arg(long)]
    ignores_record_name: bool,
    /// Print the report as JSON instead of lines.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ConformanceArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(check(args))
}

async fn check(args: ConformanceArgs) -> anyhow::Result<ExitCode> {
    crate::clean_stale_of(&args.config, "acmebox: ").await?;
    let config = Config::load(&args.config)?;
    let provider = Sandbox::new(config.cache_dir())?
        .load_checked(config.provider_spec(&args.provider)?)
        .await?;

    let dns = args.dns.propagation_options();
    let mut options = ConformanceOptions::new(&args.zone)
        .with_propagation(dns)
        .with_cleanup_keeps_values(args.cleanup_keeps_values)
        .with_ignores_record_name(args.ignores_record_name);
    if let Some(domain) = &args.domain {
        options = options.with_domain(domain);
    }
    if let Some(secs) = args.timeout {
        options = options.with_timeout_cap(Duration::from_secs(secs));
    }

    let json = args.json;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let stop = async move {
        let name = tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        };
        eprintln!("acmebox: {name} received; cleaning up what the kit presented");
    };
    let report = conformance::run_until(
        &provider,
        &options,
        |result| {
            if !json {
                println!("{result}");
            }
        },
        stop,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.summary());
    }
    Ok(if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
