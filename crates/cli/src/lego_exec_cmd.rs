//! `acmebox-lego-exec`: lego's `exec` DNS provider (`EXEC_PATH`) backed by a sandboxed acmebox
//! provider. It is the `acmebox` binary run under that name (a link to it: lego's `EXEC_PATH`
//! takes no arguments), or `acmebox lego-exec`. lego passes no arguments of its own, so the
//! provider comes from the environment:
//!
//! * `ACMEBOX_CONFIG`: the acmebox config file;
//! * `ACMEBOX_PROVIDER`: the provider's name in it;
//! * `ACMEBOX_RESOLVER` (optional): recursive resolvers (`ip:port`, comma-separated) for the
//!   CNAME lookups of `RAW` mode, where acmebox computes the record name and follows its
//!   CNAMEs (in the default mode lego has followed them). Default: the system's.
//!
//! Both lego modes work: `present|cleanup <fqdn> <value>` and, with `EXEC_MODE=RAW`,
//! `present|cleanup -- <domain> <token> <key authorization>`. lego checks propagation itself
//! (`EXEC_PROPAGATION_TIMEOUT`, `EXEC_POLLING_INTERVAL`). Everything is printed to stderr,
//! which lego shows in its log.

use std::path::PathBuf;
use std::process::ExitCode;

use std::net::SocketAddr;

use acmebox::hooks::{HookRunner, Placement, lego};
use acmebox::propagation::{PropagationOptions, Resolver};

/// The program name under which `acmebox` acts as lego's exec provider.
pub const PROGRAM: &str = "acmebox-lego-exec";

/// Runs as lego's exec provider with `args` (the program name excluded).
pub fn main(args: Vec<String>) -> ExitCode {
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("acmebox-lego-exec: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> anyhow::Result<ExitCode> {
    if matches!(args.first().map(String::as_str), Some("--help" | "-h")) {
        eprintln!("{}", HELP.trim());
        return Ok(ExitCode::SUCCESS);
    }
    if matches!(args.first().map(String::as_str), Some("--version" | "-V")) {
        println!("acmebox-lego-exec {}", env!("CARGO_PKG_VERSION"));
        return Ok(ExitCode::SUCCESS);
    }
    let (operation, request) = lego::parse_args(&args)?;
    let config = PathBuf::from(required_env("ACMEBOX_CONFIG")?);
    let provider = required_env("ACMEBOX_PROVIDER")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let resolvers = resolvers_from_env()?;
    // The record lives from this run to the cleanup run: lego, running both, owns it.
    acmebox::sandbox::journal::set_owner(acmebox::sandbox::journal::Owner::client());
    runtime.block_on(crate::clean_stale_of(&config, "acmebox-lego-exec: "))?;
    let report = runtime.block_on(async {
        let placement = Resolver::new(PropagationOptions::default().with_resolvers(resolvers))?;
        let runner = HookRunner::from_config(&config, &provider)
            .await?
            .with_placement(Placement::FollowComputed(placement));
        runner.run(operation, &request).await
    })?;
    report.write_lines(&mut std::io::stderr().lock(), "acmebox-lego-exec: ")?;
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `ACMEBOX_RESOLVER`: comma-separated `ip:port` addresses; none when unset.
fn resolvers_from_env() -> anyhow::Result<Vec<SocketAddr>> {
    let Ok(list) = std::env::var("ACMEBOX_RESOLVER") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|addr| !addr.is_empty())
        .map(|addr| {
            addr.parse().map_err(|_| {
                anyhow::anyhow!(
                    "ACMEBOX_RESOLVER has {addr:?}, which is not an ip:port address; write \
                     resolvers as 192.0.2.53:53, separated by commas"
                )
            })
        })
        .collect()
}

fn required_env(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => anyhow::bail!(
            "{name} is not set; lego runs this program with its own environment, so export \
             ACMEBOX_CONFIG=<acmebox config file> and ACMEBOX_PROVIDER=<provider name> before \
             running lego"
        ),
    }
}

const HELP: &str = "
acmebox-lego-exec: lego's exec DNS provider, running an acmebox provider in the sandbox.

Usage (lego runs it; set EXEC_PATH to a link named acmebox-lego-exec to the acmebox binary):
  acmebox-lego-exec present|cleanup <fqdn> <value>
  acmebox-lego-exec present|cleanup -- <domain> <token> <key authorization>   (EXEC_MODE=RAW)

Environment:
  ACMEBOX_CONFIG    the acmebox config file
  ACMEBOX_PROVIDER  the provider's name in it
  ACMEBOX_RESOLVER  optional: resolvers (ip:port, comma-separated) for following the CNAMEs
                    of RAW mode's record names; default: the system's
";
