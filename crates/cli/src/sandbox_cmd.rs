//! `acmebox present|cleanup|inspect`: run a sandboxed DNS-01 provider by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use acmebox::sandbox::{self, CallReport, Operation};

/// The sandbox subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SandboxCommand {
    /// Publish the DNS-01 TXT value for an identifier through a configured provider.
    Present(CallArgs),
    /// Remove the DNS-01 TXT value for an identifier through a configured provider; with
    /// --stale, remove every record left behind by a process that no longer runs.
    Cleanup(CleanupArgs),
    /// Describe a provider component and list its imports.
    Inspect {
        /// The component file.
        component: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Where precompiled components are cached (default: `$XDG_CACHE_HOME/acmebox`).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
}

/// Arguments of `present` and `cleanup`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The config file.
    #[arg(long)]
    config: PathBuf,
    /// The provider's name in the config.
    #[arg(long)]
    provider: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The identifier (`example.com`, `*.example.com`).
    identifier: String,
    /// The key authorization (`<token>.<thumbprint>`).
    key_authorization: String,
    /// The recursive resolver (ip:port) for following the CNAMEs of
    /// `_acme-challenge.<identifier>.`; repeat for more. Default: the system's.
    #[arg(long = "resolver", value_name = "ADDR")]
    resolvers: Vec<std::net::SocketAddr>,
}

/// Arguments of `cleanup`: those of `present`, or `--stale`.
#[derive(Debug, clap::Args)]
pub struct CleanupArgs {
    /// Remove every record in the journal of presented records whose owner (the process that
    /// presented it, or the ACME client that ran the hook) no longer runs, each through its
    /// provider, with a line per record.
    #[arg(long, conflicts_with_all = ["provider", "identifier", "key_authorization", "json"])]
    stale: bool,
    /// With --stale: only records presented at least this long ago (`90s`, `10m`, `1h`).
    #[arg(long, value_name = "DURATION", requires = "stale", value_parser = crate::dns_args::parse_duration)]
    older_than: Option<std::time::Duration>,
    /// With --stale: the state directory whose journal to read (default: the config's
    /// `state_dir`, else `$XDG_STATE_HOME/acmebox` or `~/.local/state/acmebox`).
    #[arg(long, value_name = "DIR", requires = "stale")]
    state_dir: Option<PathBuf>,
    /// The config file (with --stale: only its records).
    #[arg(long, required_unless_present = "stale")]
    config: Option<PathBuf>,
    /// The provider's name in the config.
    #[arg(long, required_unless_present = "stale")]
    provider: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The identifier (`example.com`, `*.example.com`).
    #[arg(required_unless_present = "stale")]
    identifier: Option<String>,
    /// The key authorization (`<token>.<thumbprint>`).
    #[arg(required_unless_present = "stale")]
    key_authorization: Option<String>,
    /// The recursive resolver (ip:port) for following the CNAMEs of
    /// `_acme-challenge.<identifier>.`; repeat for more. Default: the system's.
    #[arg(long = "resolver", value_name = "ADDR")]
    resolvers: Vec<std::net::SocketAddr>,
}

impl CleanupArgs {
    /// The arguments of a plain cleanup (clap guarantees them without --stale).
    fn into_call(self) -> anyhow::Result<CallArgs> {
        let (Some(config), Some(provider), Some(identifier), Some(key_authorization)) = (
            self.config,
            self.provider,
            self.identifier,
            self.key_authorization,
        ) else {
            anyhow::bail!(
                "cleanup needs --config, --provider, the identifier and the key authorization \
                 (or --stale)"
            );
        };
        Ok(CallArgs {
            config,
            provider,
            json: self.json,
            identifier,
            key_authorization,
            resolvers: self.resolvers,
        })
    }
}

/// `acmebox cleanup --stale`.
async fn cleanup_stale(args: CleanupArgs) -> anyhow::Result<ExitCode> {
    use acmebox::sandbox::{StaleOptions, clean_stale, journal};
    let config = args
        .config
        .as_deref()
        .map(acmebox::config::Config::load)
        .transpose()?;
    let state_dir = args
        .state_dir
        .clone()
        .or_else(|| {
            config
                .as_ref()
                .and_then(|c| c.state_dir().map(PathBuf::from))
        })
        .or_else(journal::default_state_dir);
    let Some(state_dir) = state_dir else {
        anyhow::bail!("no state directory: pass --state-dir, or set XDG_STATE_HOME or HOME");
    };
    let journal = journal::Journal::open(&state_dir)?;
    let mut options = StaleOptions::default();
    if let Some(age) = args.older_than {
        options = options.with_older_than(age);
    }
    if let Some(config) = &config {
        options = options.with_config(config.path());
    }
    let summary = clean_stale(&journal, &options, |line| eprintln!("acmebox: {line}")).await?;
    eprintln!(
        "acmebox: {} stale record(s) cleaned up, {} failed, {} unreadable journal entr{} kept aside ({})",
        summary.cleaned,
        summary.failed,
        summary.corrupt,
        if summary.corrupt == 1 { "y" } else { "ies" },
        journal.dir().display()
    );
    Ok(if summary.failed == 0 && summary.corrupt == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs a sandbox subcommand on a runtime of its own.
pub fn run(command: SandboxCommand) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run_async(command))
}

async fn run_async(command: SandboxCommand) -> anyhow::Result<ExitCode> {
    let (args, operation) = match command {
        SandboxCommand::Present(args) => {
            // The value outlives this command: the shell or script that ran it owns it.
            sandbox::journal::set_owner(sandbox::journal::Owner::parent());
            (args, Operation::Present)
        }
        SandboxCommand::Cleanup(args) if args.stale => return cleanup_stale(args).await,
        SandboxCommand::Cleanup(args) => (args.into_call()?, Operation::Cleanup),
        SandboxCommand::Inspect {
            component,
            json,
            cache_dir,
        } => return inspect(component, json, cache_dir).await,
    };
    crate::clean_stale_of(&args.config, "acmebox: ").await?;
    let provider = sandbox::load_from_config(&args.config, &args.provider).await?;
    let placement = acmebox::propagation::Resolver::new(
        acmebox::propagation::PropagationOptions::default().with_resolvers(args.resolvers.clone()),
    )?;
    let report = sandbox::run_record(
        provider,
        operation,
        &args.identifier,
        &args.key_authorization,
        Some(&placement),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report)?;
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn inspect(
    component: PathBuf,
    json: bool,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let Some(cache_dir) = cache_dir.or_else(acmebox::config::default_cache_dir) else {
        anyhow::bail!("no cache directory: pass --cache-dir or set XDG_CACHE_HOME or HOME");
    };
    let (info, imports) = sandbox::inspect(&cache_dir, &component).await?;
    if json {
        let out = serde_json::json!({ "info": info, "imports": imports });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} {}: {}", info.name, info.version, info.description);
    println!("hosts: {}", info.hosts.join(", "));
    println!("config keys:");
    for key in &info.config_keys {
        let flags = match (key.required, key.secret) {
            (true, true) => " (required, secret)",
            (true, false) => " (required)",
            (false, true) => " (secret)",
            (false, false) => "",
        };
        println!("  {}{flags}: {}", key.name, key.description);
    }
    println!(
        "propagation: timeout {} s, polling {} s{}",
        info.propagation_timeout_secs,
        info.polling_interval_secs,
        if info.sequential { ", sequential" } else { "" }
    );
    println!("imports:");
    for import in imports {
        println!("  {import}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &CallReport) -> anyhow::Result<()> {
    report.write_lines(&mut std::io::stdout().lock(), "")?;
    Ok(())
}
