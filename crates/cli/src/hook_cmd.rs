//! `acmebox certbot-hook auth|cleanup` and `acmebox serve`: acmebox as a hook of existing ACME
//! clients (certbot's manual hooks, lego's and acme.sh's `httpreq` providers).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use acmebox::handlers::{ChallengeHandler, FileHttpHandler};
use acmebox::hooks::certbot::{self, CertbotChallenge};
use acmebox::hooks::httpreq::{BasicAuth, HttpreqServer, LOG_TARGET as SERVE};
use acmebox::hooks::{DnsRequest, HookRunner, Placement, ServeTls};
use acmebox::propagation::{PropagationOptions, Resolver};
use acmebox::sandbox::{Operation, journal};
use anyhow::{Context as _, bail};

use crate::dns_args::DnsArgs;

/// Which certbot hook runs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CertbotPhase {
    /// `--manual-auth-hook`: publish the response.
    Auth,
    /// `--manual-cleanup-hook`: remove it.
    Cleanup,
}

/// `acmebox certbot-hook`.
#[derive(Debug, clap::Args)]
pub struct CertbotHookArgs {
    /// `auth` for --manual-auth-hook, `cleanup` for --manual-cleanup-hook.
    phase: CertbotPhase,
    /// dns-01: the provider configuration file.
    #[arg(long, env = "ACMEBOX_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// dns-01: the provider to use from the configuration.
    #[arg(long, env = "ACMEBOX_PROVIDER", value_name = "NAME")]
    provider: Option<String>,
    /// http-01: the web root to write `.well-known/acme-challenge/<token>` into.
    #[arg(long, value_name = "DIR")]
    webroot: Option<PathBuf>,
    /// dns-01: return right after the provider's call, without waiting until every
    /// authoritative nameserver serves the value (certbot itself does not wait).
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    dns: DnsArgs,
}

/// `acmebox serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on, such as 127.0.0.1:8053.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The provider configuration file.
    #[arg(long, env = "ACMEBOX_CONFIG", value_name = "FILE")]
    config: PathBuf,
    /// The provider to serve from the configuration; repeat it (or separate names with
    /// commas) to serve several, each at /<NAME>/present and /<NAME>/cleanup.
    #[arg(
        long,
        env = "ACMEBOX_PROVIDER",
        value_name = "NAME",
        required = true,
        value_delimiter = ','
    )]
    provider: Vec<String>,
    /// Require HTTP basic auth with this user name; the password is read from the
    /// ACMEBOX_SERVE_PASSWORD environment variable (never from the command line). Needs TLS
    /// (--tls-cert and --tls-key) unless --insecure-http is given.
    #[arg(long, value_name = "NAME")]
    basic_auth_user: Option<String>,
    /// Answer over TLS with this PEM certificate chain (leaf first); read again, with
    /// --tls-key, on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow basic auth over plain HTTP, where the password crosses the network in clear
    /// (only for loopback or a network you trust).
    #[arg(long)]
    insecure_http: bool,
    /// The recursive resolver (ip:port) for following the CNAMEs of record names acmebox
    /// computes (RAW requests; in the default mode the client has followed them); repeat or
    /// separate with commas. Default: the system's.
    #[arg(
        long = "resolver",
        env = "ACMEBOX_RESOLVER",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    resolvers: Vec<SocketAddr>,
    /// Also answer cert-manager's DNS-01 webhook solver API for this API group (the Issuer's
    /// groupName), each provider a solver named after it, at /apis/<NAME>/v1alpha1/<provider>.
    #[arg(long, value_name = "NAME")]
    cert_manager_group: Option<String>,
}

/// Runs `acmebox certbot-hook`.
pub fn certbot_hook(args: CertbotHookArgs) -> anyhow::Result<ExitCode> {
    let challenge = certbot::from_env(|name| std::env::var(name).ok())?;
    runtime()?.block_on(async {
        match challenge {
            CertbotChallenge::Dns(request) => certbot_dns(&args, &request).await,
            CertbotChallenge::Http(challenge) => {
                let Some(webroot) = &args.webroot else {
                    bail!("certbot asked for http-01; pass --webroot <dir> to the hook");
                };
                let handler = FileHttpHandler::new(webroot);
                match args.phase {
                    CertbotPhase::Auth => handler.setup(&challenge).await?,
                    CertbotPhase::Cleanup => handler.cleanup(&challenge).await?,
                }
                eprintln!(
                    "acmebox: http-01 {} for {} in {}",
                    phase_name(args.phase),
                    challenge.identifier,
                    webroot.display()
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn certbot_dns(args: &CertbotHookArgs, request: &DnsRequest) -> anyhow::Result<ExitCode> {
    let (Some(config), Some(provider)) = (&args.config, &args.provider) else {
        bail!(
            "certbot asked for dns-01; pass --config <file> and --provider <name> to the hook \
             (or set ACMEBOX_CONFIG and ACMEBOX_PROVIDER)"
        );
    };
    // The record lives from this hook to the cleanup hook: certbot, running both, owns it.
    journal::set_owner(journal::Owner::client());
    crate::clean_stale_of(config, "acmebox: ").await?;
    let mut runner = HookRunner::from_config(config, provider).await?;
    let operation = match args.phase {
        CertbotPhase::Auth => Operation::Present,
        CertbotPhase::Cleanup => Operation::Cleanup,
    };
    if matches!(args.phase, CertbotPhase::Auth) && !args.no_wait {
        let info = runner.provider().info().await?;
        let options = args
            .dns
            .propagation_options()
            .with_provider_timing(info.propagation_timeout_secs, info.polling_interval_secs);
        runner = runner
            .with_propagation_wait(args.dns.override_timing(options), false)
            .await?;
    }
    // certbot passes only the domain: the record goes where `_acme-challenge.<domain>.`'s
    // CNAMEs end, and the wait below polls that same name.
    runner = runner.with_placement(Placement::FollowAll(Resolver::new(
        args.dns.propagation_options(),
    )?));
    let record = runner.record(request).await?;
    let report = runner.run_record(operation, &record).await?;
    report.write_lines(&mut std::io::stderr().lock(), "acmebox: ")?;
    if let Err(err) = &report.outcome {
        bail!("{err}");
    }
    if let Some(propagation) = runner
        .wait_record(&record, |status| eprintln!("acmebox: {status}"))
        .await
        .context("the record was published, but did not propagate")?
    {
        eprintln!(
            "acmebox: {} served by {} nameserver(s) after {} round(s), {} ms",
            propagation.fqdn,
            propagation.servers.len(),
            propagation.attempts,
            propagation.elapsed.as_millis()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `acmebox serve` until SIGINT or SIGTERM.
pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let auth = match &args.basic_auth_user {
        Some(user) => {
            let password = std::env::var("ACMEBOX_SERVE_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
                .context(
                    "--basic-auth-user needs the password in the ACMEBOX_SERVE_PASSWORD \
                     environment variable",
                )?;
            Some(BasicAuth::new(user, &password))
        }
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ServeTls::load(cert, key)?),
        _ => None,
    };
    if auth.is_some() && tls.is_none() && !args.insecure_http {
        bail!(
            "--basic-auth-user over plain HTTP would send the password in clear: give \
             --tls-cert and --tls-key, or --insecure-http to allow it on a network you trust"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    runtime()?.block_on(async {
        let placement =
            Resolver::new(PropagationOptions::default().with_resolvers(args.resolvers.clone()))?;
        crate::clean_stale_of(&args.config, "acmebox: ").await?;
        let runners: Vec<HookRunner> = HookRunner::from_config_many(&args.config, &args.provider)
            .await?
            .into_iter()
            .map(|runner| runner.with_placement(Placement::FollowComputed(placement.clone())))
            .collect();
        let mut server = HttpreqServer::bind_providers(args.listen, runners, auth).await?;
        if let Some(tls) = &tls {
            server = server.with_tls(tls)?;
        }
        if let Some(group) = &args.cert_manager_group {
            server = server.with_cert_manager_group(group)?;
            tracing::info!(
                target: SERVE,
                group = group.as_str(),
                "serving cert-manager's webhook solver API on {scheme}://{}/apis/{group}/v1alpha1/",
                server.local_addr()
            );
        }
        let addr = server.local_addr();
        match args.provider.as_slice() {
            [only] => tracing::info!(
                target: SERVE,
                provider = only.as_str(),
                %addr,
                "serving lego's httpreq protocol on {scheme}://{addr}/present and /cleanup \
                 with provider `{only}`"
            ),
            several => {
                for name in several {
                    tracing::info!(
                        target: SERVE,
                        provider = name.as_str(),
                        %addr,
                        "serving lego's httpreq protocol on {scheme}://{addr}/{name}/present \
                         and /cleanup with provider `{name}`"
                    );
                }
            }
        }
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("listening for SIGHUP")?;
        let reload_on_sighup = async {
            loop {
                sighup.recv().await;
                match &tls {
                    Some(tls) => match tls.reload() {
                        Ok(()) => tracing::info!(
                            target: SERVE,
                            "SIGHUP received; TLS certificate and key reloaded"
                        ),
                        Err(err) => tracing::error!(
                            target: SERVE,
                            "SIGHUP received; still serving the previous TLS certificate: {err}"
                        ),
                    },
                    None => tracing::info!(
                        target: SERVE,
                        "SIGHUP received; nothing to reload without --tls-cert"
                    ),
                }
            }
        };
        let signal = tokio::select! {
            () = server.serve() => return Ok(ExitCode::SUCCESS),
            () = reload_on_sighup => return Ok(ExitCode::SUCCESS),
            _ = sigterm.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        };
        tracing::info!(target: SERVE, "{signal} received; stopping");
        Ok(ExitCode::SUCCESS)
    })
}

fn phase_name(phase: CertbotPhase) -> &'static str {
    match phase {
        CertbotPhase::Auth => "published",
        CertbotPhase::Cleanup => "removed",
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
