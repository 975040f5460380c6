//! `acmebox present|cleanup|inspect`: run a sandboxed DNS-01 provider by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use acmebox::sandbox::{self, CallReport, Operation};

/// The sandbox subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SandboxCommand {
    /// Publish the DNS-01 TXT value for an identifier through a configured provider.
    Present(CallArgs),
    /// Remove the DNS-01 TXT value for an identifier through a configured provider.
    Cleanup(CallArgs),
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
        SandboxCommand::Present(args) => (args, Operation::Present),
        SandboxCommand::Cleanup(args) => (args, Operation::Cleanup),
        SandboxCommand::Inspect {
            component,
            json,
            cache_dir,
        } => return inspect(component, json, cache_dir).await,
    };
    let provider = sandbox::load_from_config(&args.config, &args.provider)?;
    let report = sandbox::run_record(
        provider,
        operation,
        &args.identifier,
        &args.key_authorization,
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
