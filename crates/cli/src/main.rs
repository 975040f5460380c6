//! The `acmebox` command: the library's challenge core and sandbox, for scripts and ACME
//! clients. Every subcommand parses its arguments, calls the library and prints. The libraries'
//! `tracing` events go to stderr through the subscriber of [`logging`].

mod challenge_cmd;
mod conformance_cmd;
mod dns_args;
mod hook_cmd;
mod issue_cmd;
mod lego_exec_cmd;
mod logging;
mod persist_cmd;
mod renew_cmd;
mod sandbox_cmd;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Answer ACME challenges natively and run DNS providers as sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "acmebox", version, about, propagate_version = true)]
struct Cli {
    /// How log lines on stderr look: `text` for people, `json` for one JSON object per line.
    /// Which lines show is set by RUST_LOG (default: warnings and errors, and the line per call
    /// of `serve`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ACMEBOX_LOG_FORMAT",
        default_value_t = logging::LogFormat::Text,
        value_name = "FORMAT"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute challenge responses: key authorizations, DNS-01 records, HTTP-01 resources,
    /// TLS-ALPN-01 certificates.
    #[command(subcommand)]
    Challenge(challenge_cmd::ChallengeCommand),
    /// Get a certificate from an ACME server, answering its challenges.
    Issue(Box<issue_cmd::IssueArgs>),
    /// Renew what `issue` got, when the CA's renewal window (ARI) or the certificate's age
    /// says so; for a timer: `acmebox renew --all`.
    Renew(renew_cmd::RenewArgs),
    /// Revoke a certificate, signed by the account that got it or by its own key.
    Revoke(renew_cmd::RevokeArgs),
    /// The dns-persist-01 record of a domain: set it once through a provider, show it, or
    /// remove it.
    Persist(Box<persist_cmd::PersistArgs>),
    #[command(flatten)]
    Sandbox(sandbox_cmd::SandboxCommand),
    /// certbot's --manual-auth-hook / --manual-cleanup-hook: reads CERTBOT_DOMAIN,
    /// CERTBOT_VALIDATION and (http-01) CERTBOT_TOKEN.
    CertbotHook(hook_cmd::CertbotHookArgs),
    /// Serve lego's httpreq protocol (POST /present, /cleanup) backed by a sandboxed provider.
    Serve(hook_cmd::ServeArgs),
    /// Check a provider against its real backend and the DNS servers that serve its zone.
    Conformance(conformance_cmd::ConformanceArgs),
    /// lego's exec provider (what a link named `acmebox-lego-exec` runs): `present|cleanup
    /// <fqdn> <value>`, or `present|cleanup -- <domain> <token> <key authorization>`; the
    /// provider comes from ACMEBOX_CONFIG and ACMEBOX_PROVIDER.
    #[command(disable_help_flag = true)]
    LegoExec {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

impl Command {
    /// What the command logs when RUST_LOG is unset: the commands that print each call's
    /// report (the provider's log lines with it) leave those lines out of the log.
    fn log_defaults(&self) -> logging::Defaults {
        match self {
            Command::Sandbox(_) | Command::CertbotHook(_) | Command::LegoExec { .. } => {
                logging::Defaults::WarningsWithoutProviderLog
            }
            Command::Challenge(_)
            | Command::Issue(_)
            | Command::Renew(_)
            | Command::Revoke(_)
            | Command::Persist(_)
            | Command::Serve(_)
            | Command::Conformance(_) => logging::Defaults::Warnings,
        }
    }
}

/// Cleans up the records that processes no longer running left behind through this config
/// file (see `acmebox::sandbox::journal`), one line each, before a command presents anything.
async fn clean_stale_of(config: &Path, prefix: &str) -> anyhow::Result<()> {
    use acmebox::sandbox::{StaleOptions, clean_stale, journal::Journal};
    let config = acmebox::config::Config::load(config)?;
    let Some(state_dir) = config.state_dir() else {
        return Ok(());
    };
    let journal = Journal::open(state_dir)?;
    let options = StaleOptions::default().with_config(config.path());
    clean_stale(&journal, &options, |line| eprintln!("{prefix}{line}")).await?;
    Ok(())
}

fn main() -> ExitCode {
    // One binary: run under the name `acmebox-lego-exec` (lego's `EXEC_PATH`, which takes no
    // arguments), it is lego's exec provider.
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    if Path::new(&program)
        .file_stem()
        .is_some_and(|stem| stem == lego_exec_cmd::PROGRAM)
    {
        match logging::format_from_env() {
            Ok(format) => logging::init(format, logging::Defaults::WarningsWithoutProviderLog),
            Err(err) => {
                eprintln!("{}: {err:#}", lego_exec_cmd::PROGRAM);
                return ExitCode::FAILURE;
            }
        }
        return lego_exec_cmd::main(args.collect());
    }
    let cli = Cli::parse();
    logging::init(cli.log_format, cli.command.log_defaults());
    let result = match cli.command {
        Command::Challenge(cmd) => challenge_cmd::run(cmd).map(|()| ExitCode::SUCCESS),
        Command::Issue(args) => issue_cmd::run(*args).map(|()| ExitCode::SUCCESS),
        Command::Renew(args) => renew_cmd::run(args),
        Command::Revoke(args) => renew_cmd::revoke(args),
        Command::Persist(args) => persist_cmd::persist(*args),
        Command::Sandbox(cmd) => sandbox_cmd::run(cmd),
        Command::CertbotHook(args) => hook_cmd::certbot_hook(args),
        Command::Serve(args) => hook_cmd::serve(args),
        Command::Conformance(args) => conformance_cmd::run(args),
        Command::LegoExec { args } => return lego_exec_cmd::main(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("acmebox: {err:#}");
            ExitCode::FAILURE
        }
    }
}
