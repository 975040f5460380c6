//! The `acmebox` command: the library's challenge core and sandbox, for scripts and ACME
//! clients. Every subcommand parses its arguments, calls the library and prints.

mod challenge_cmd;
mod conformance_cmd;
mod dns_args;
mod hook_cmd;
mod issue_cmd;
mod sandbox_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Answer ACME challenges natively and run DNS providers as sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "acmebox", version, about, propagate_version = true)]
struct Cli {
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
    Issue(issue_cmd::IssueArgs),
    #[command(flatten)]
    Sandbox(sandbox_cmd::SandboxCommand),
    /// certbot's --manual-auth-hook / --manual-cleanup-hook: reads CERTBOT_DOMAIN,
    /// CERTBOT_VALIDATION and (http-01) CERTBOT_TOKEN.
    CertbotHook(hook_cmd::CertbotHookArgs),
    /// Serve lego's httpreq protocol (POST /present, /cleanup) backed by a sandboxed provider.
    Serve(hook_cmd::ServeArgs),
    /// Check a provider against its real backend and the DNS servers that serve its zone.
    Conformance(conformance_cmd::ConformanceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Challenge(cmd) => challenge_cmd::run(cmd).map(|()| ExitCode::SUCCESS),
        Command::Issue(args) => issue_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Sandbox(cmd) => sandbox_cmd::run(cmd),
        Command::CertbotHook(args) => hook_cmd::certbot_hook(args),
        Command::Serve(args) => hook_cmd::serve(args),
        Command::Conformance(args) => conformance_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("acmebox: {err:#}");
            ExitCode::FAILURE
        }
    }
}
