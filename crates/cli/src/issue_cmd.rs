//! `acmebox issue`: get a certificate from an ACME server.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use acmebox::challenge::tls_alpn01::KeyType;
use acmebox::challenge::{ChallengeType, Identifier};
use acmebox::client::{
    Account, AccountOptions, ExternalAccountBinding, Http01Responder, IssueEvent, IssueRequest,
    PersistentRecords, Presented, ReadyCheck, SharedHandler, TlsAlpnResponder,
    default_account_file,
};
use acmebox::config::Config;
use acmebox::handlers::FileHttpHandler;
use acmebox::propagation::{DnsReadyCheck, Resolver};
use acmebox::sandbox::{Sandbox, WasmDns01Handler};

use crate::dns_args::DnsArgs;
use anyhow::{Context, bail};
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

/// Get a certificate: order it, answer its challenges, write cert.pem, chain.pem,
/// fullchain.pem and key.pem. Creating an account agrees to the CA's terms of service.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// A name (or `*.` wildcard, or IP address) the certificate is for; repeat for more.
    #[arg(
        short = 'd',
        long = "domain",
        value_name = "NAME",
        required_unless_present = "csr"
    )]
    domains: Vec<String>,
    /// Bring your own certificate signing request (PEM or DER): the key stays yours, no
    /// key.pem is written, and the names come from the request unless -d gives them.
    #[arg(long, value_name = "FILE")]
    csr: Option<PathBuf>,
    /// The challenge type to answer: dns-01, dns-account-01, dns-persist-01, http-01 or
    /// tls-alpn-01. dns-persist-01 places each domain's persistent record through the provider
    /// if it is missing (and leaves it), or, without --config, expects it in place.
    #[arg(long, value_name = "TYPE")]
    challenge: ChallengeType,
    /// The CA: an ACME directory URL (https://...) or a name: letsencrypt,
    /// letsencrypt-staging, zerossl, google, google-staging, buypass.
    #[arg(long, value_name = "URL|NAME", value_parser = directory_url)]
    directory: String,
    /// Agree to the CA's terms of service when an account is registered (acmebox shows where
    /// they are and refuses to register without this).
    #[arg(long)]
    agree_tos: bool,
    /// Trust this CA certificate (PEM) for the ACME server instead of the system roots.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// With --ca-cert, trust the system roots as well.
    #[arg(long)]
    system_roots: bool,
    /// Where to write the certificate, chain and key (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The account file (created with mode 0600, reused for the same directory URL).
    /// Default: one file per directory under $XDG_STATE_HOME/acmebox/accounts.
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// A contact e-mail address for a new account.
    #[arg(long, value_name = "ADDR")]
    email: Option<String>,
    /// External Account Binding for a new account: the key id the CA gave (ZeroSSL, Google
    /// and most commercial CAs require one). The MAC key is read from --eab-hmac-key-file or
    /// the environment variable ACMEBOX_EAB_HMAC_KEY, never from the command line.
    #[arg(long, value_name = "KID")]
    eab_kid: Option<String>,
    /// The file holding the External Account Binding MAC key (base64url, as the CA gives it).
    #[arg(long, value_name = "FILE", requires = "eab_kid")]
    eab_hmac_key_file: Option<PathBuf>,
    /// http-01: write the responses into this web root (served by your web server).
    #[arg(long, value_name = "DIR", conflicts_with = "standalone")]
    webroot: Option<PathBuf>,
    /// http-01 / tls-alpn-01: answer the challenges with a built-in server on this address.
    #[arg(long, value_name = "ADDR")]
    standalone: Option<SocketAddr>,
    /// dns-01: the provider configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// dns-01: the provider to use from the configuration.
    #[arg(long, value_name = "NAME")]
    provider: Option<String>,
    #[command(flatten)]
    dns: DnsArgs,
    /// The certificate's key type: p256, p384, ed25519, rsa2048, rsa3072 or rsa4096.
    #[arg(long, default_value = "p256", value_name = "TYPE")]
    key_type: KeyType,
    /// The certificate profile to ask the CA for (one its directory lists in
    /// `meta.profiles`, such as Let's Encrypt's `shortlived`); the CA's default otherwise.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// A shell command run after the certificate is written (and after every renewal), with
    /// ACMEBOX_LINEAGE, ACMEBOX_CERT_PATH, ACMEBOX_KEY_PATH, ACMEBOX_CHAIN_PATH,
    /// ACMEBOX_FULLCHAIN_PATH, ACMEBOX_DOMAINS and ACMEBOX_RENEWED in its environment.
    #[arg(long, value_name = "COMMAND")]
    deploy_hook: Option<String>,
    /// dns-persist-01: the CA's issuer domain name to write into the record (default: the
    /// first of its directory's caaIdentities).
    #[arg(long, value_name = "NAME")]
    issuer_domain_name: Option<String>,
}

impl IssueArgs {
    /// The output directory.
    pub(crate) fn out(&self) -> &std::path::Path {
        &self.out
    }

    /// The names the certificate is for, as given.
    pub(crate) fn domains(&self) -> &[String] {
        &self.domains
    }

    /// The `--deploy-hook` command.
    pub(crate) fn deploy_hook(&self) -> Option<&str> {
        self.deploy_hook.as_deref()
    }

    /// Where the account is kept and how the CA is reached, as `issue` uses them.
    pub(crate) fn account_options(&self) -> anyhow::Result<AccountOptions> {
        let mut options = base_account_options(
            &self.directory,
            self.account.as_deref(),
            self.ca_cert.as_deref(),
            self.agree_tos,
        )?;
        if self.ca_cert.is_some() {
            options = options.with_system_roots(self.system_roots);
        }
        if let Some(email) = &self.email {
            options = options.with_email(email);
        }
        if let Some(binding) = external_account_binding(self)? {
            options = options.with_external_account_binding(binding);
        }
        Ok(options)
    }
}

/// The account file (given, or the default one of `directory`), the CA's certificate and the
/// agreement to its terms, as `issue` and `persist` take them.
pub(crate) fn base_account_options(
    directory: &str,
    account: Option<&std::path::Path>,
    ca_cert: Option<&std::path::Path>,
    agree_tos: bool,
) -> anyhow::Result<AccountOptions> {
    let account_file = match account {
        Some(file) => file.to_owned(),
        None => default_account_file(directory)
            .context("neither $XDG_STATE_HOME nor $HOME is set; pass --account <file>")?,
    };
    let mut options =
        AccountOptions::new(directory, account_file).with_terms_of_service_agreed(agree_tos);
    if let Some(ca_cert) = ca_cert {
        options = options.with_ca_cert(ca_cert);
    }
    Ok(options)
}

pub fn run(args: IssueArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // What follows `issue` on the command line is the lineage `renew` repeats.
    let raw: Vec<String> = std::env::args()
        .skip_while(|arg| arg != "issue")
        .skip(1)
        .collect();
    runtime.block_on(async {
        issue(&args, None).await?;
        crate::renew_cmd::record_lineage(&args, &raw)?;
        crate::renew_cmd::deploy(&args, false)
    })
}

/// Gets the certificate `args` describe; with `replaces`, as the renewal of the certificate
/// with that ARI identifier.
pub(crate) async fn issue(args: &IssueArgs, replaces: Option<&str>) -> anyhow::Result<()> {
    let csr = match &args.csr {
        Some(file) => Some(acmebox::client::csr_der(
            &std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
        )?),
        None => None,
    };
    let identifiers = match (&csr, args.domains.is_empty()) {
        (Some(der), true) => acmebox::client::csr_identifiers(der)?,
        _ => args
            .domains
            .iter()
            .map(|name| Identifier::parse(name))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let options = args.account_options()?;

    let progress = Progress::new();
    let reporter = progress.clone();
    let mut request = IssueRequest::new(identifiers, &args.out)
        .with_key_type(args.key_type)
        .with_progress(move |event| reporter.event(event));
    if let Some(profile) = &args.profile {
        request = request.with_profile(profile);
    }
    if let Some(replaces) = replaces {
        request = request.with_replaces(replaces);
    }
    if let Some(der) = csr {
        request = request.with_csr(der);
    }
    request.check(args.challenge)?;
    let answering = challenge_handler(args, &progress).await?;
    if let Some(check) = answering.ready_check {
        request = request.with_ready_check(check);
    }
    let persist = answering
        .persist
        .map(|placer| (placer, args.issuer_domain_name.clone()));
    let result = run_issue(request, options, answering.handler, persist, &progress).await;
    // Success or not, show every request the provider made.
    if let Some(dns) = &answering.dns {
        print_audit(dns);
    }
    result
}

async fn run_issue(
    request: IssueRequest,
    options: AccountOptions,
    handler: SharedHandler,
    persist: Option<(crate::persist_cmd::Placer, Option<String>)>,
    progress: &Progress,
) -> anyhow::Result<()> {
    let presented = Presented::new();
    let mut sigterm = signal(SignalKind::terminate()).context("listening for SIGTERM")?;

    let work = async {
        let account = Account::load_or_create(&options).await?;
        progress.line(&format!(
            "account {} ({})",
            account.id(),
            match (account.created(), account.terms_of_service()) {
                (true, Some(terms)) =>
                    format!("registered, agreeing to the terms of service {terms}"),
                (true, None) => "registered".to_owned(),
                (false, _) => "reused".to_owned(),
            }
        ));
        if let Some((placer, issuer)) = &persist {
            let issuer =
                crate::persist_cmd::issuer_domain_name(&account, &options, issuer.as_deref())
                    .await?;
            let records = crate::persist_cmd::persist_records(
                request.identifiers(),
                &issuer,
                account.id(),
                None,
            )?;
            placer.ensure(&records, &|line| progress.line(line)).await?;
        }
        anyhow::Ok(account.issue(request, handler, &presented).await?)
    };
    let signal_name = tokio::select! {
        result = work => {
            progress.finish();
            let issued = result?;
            println!("{}", issued.paths().fullchain.display());
            return Ok(());
        }
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = sigterm.recv() => "SIGTERM",
    };

    // The issue future is gone; whatever it set up is still listed in `presented`.
    progress.finish();
    let pending = presented.len();
    eprintln!("acmebox: {signal_name} received; cleaning up {pending} challenge response(s)");
    let cleanup = tokio::select! {
        result = presented.cleanup() => result,
        _ = tokio::signal::ctrl_c() => bail!(abandoned(&presented)),
        _ = sigterm.recv() => bail!(abandoned(&presented)),
    };
    match cleanup {
        Ok(count) => {
            bail!("interrupted by {signal_name}; cleaned up {count} challenge response(s)")
        }
        Err(err) => bail!("interrupted by {signal_name}; {err}"),
    }
}

/// How the challenges get answered: the handler, and for dns-01 the propagation check and
/// the provider whose requests are audited.
struct Answering {
    handler: SharedHandler,
    ready_check: Option<Arc<dyn ReadyCheck>>,
    dns: Option<WasmDns01Handler>,
    /// dns-persist-01 with a provider: places each missing persistent record before the order.
    persist: Option<crate::persist_cmd::Placer>,
}

impl Answering {
    fn plain(handler: SharedHandler) -> Self {
        Answering {
            handler,
            ready_check: None,
            dns: None,
            persist: None,
        }
    }
}

/// The CAs `--directory` knows by name, and their production ACME directories.
pub(crate) const KNOWN_CAS: &[(&str, &str)] = &[
    (
        "letsencrypt",
        "https://acme-v02.api.letsencrypt.org/directory",
    ),
    (
        "letsencrypt-staging",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
    ),
    ("zerossl", "https://acme.zerossl.com/v2/DV90"),
    ("google", "https://dv.acme-v02.api.pki.goog/directory"),
    (
        "google-staging",
        "https://dv.acme-v02.test-api.pki.goog/directory",
    ),
    ("buypass", "https://api.buypass.com/acme/directory"),
];

/// `--directory`: a CA of [`KNOWN_CAS`] by name, or a URL as given.
pub(crate) fn directory_url(text: &str) -> Result<String, String> {
    if let Some((_, url)) = KNOWN_CAS.iter().find(|(name, _)| *name == text) {
        return Ok((*url).to_owned());
    }
    if text.contains("://") {
        return Ok(text.to_owned());
    }
    let names: Vec<&str> = KNOWN_CAS.iter().map(|(name, _)| *name).collect();
    Err(format!(
        "{} is neither an ACME directory URL nor a CA acmebox knows ({})",
        acmebox::challenge::echoed(text),
        names.join(", ")
    ))
}

/// The environment variable `--eab-kid` reads the MAC key from when no file is given.
const EAB_HMAC_KEY_VAR: &str = "ACMEBOX_EAB_HMAC_KEY";

/// The External Account Binding of `--eab-kid`, its MAC key from `--eab-hmac-key-file` or
/// [`EAB_HMAC_KEY_VAR`].
fn external_account_binding(args: &IssueArgs) -> anyhow::Result<Option<ExternalAccountBinding>> {
    let Some(kid) = &args.eab_kid else {
        return Ok(None);
    };
    let key = match &args.eab_hmac_key_file {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the MAC key file {}", file.display()))?,
        None => std::env::var(EAB_HMAC_KEY_VAR).map_err(|_| {
            anyhow::anyhow!(
                "--eab-kid needs the MAC key the CA gave with it: put it in a file for \
                 --eab-hmac-key-file, or in the environment variable {EAB_HMAC_KEY_VAR}"
            )
        })?,
    };
    Ok(Some(ExternalAccountBinding::new(kid, &key)?))
}

/// The one place a challenge type and its flags become a handler.
async fn challenge_handler(args: &IssueArgs, progress: &Progress) -> anyhow::Result<Answering> {
    match (args.challenge, &args.webroot, args.standalone) {
        (ChallengeType::Http01, Some(webroot), None) => Ok(Answering::plain(Arc::new(
            FileHttpHandler::new(webroot.clone()),
        ))),
        (ChallengeType::Http01, None, Some(addr)) => Ok(Answering::plain(Arc::new(
            Http01Responder::bind(addr).await?,
        ))),
        (ChallengeType::Http01, _, _) => {
            bail!("http-01 needs either --webroot <dir> or --standalone <addr>")
        }
        (ChallengeType::TlsAlpn01, None, Some(addr)) => Ok(Answering::plain(Arc::new(
            TlsAlpnResponder::bind(addr).await?,
        ))),
        (ChallengeType::TlsAlpn01, _, _) => {
            bail!("tls-alpn-01 needs --standalone <addr> (and no --webroot)")
        }
        (ChallengeType::DnsPersist01, None, None) => {
            let mut answering = Answering::plain(Arc::new(PersistentRecords));
            if let (Some(config), Some(name)) = (&args.config, &args.provider) {
                answering.persist = Some(crate::persist_cmd::Placer::new(config, name, &args.dns)?);
            }
            Ok(answering)
        }
        (kind, None, None) if kind.is_dns() => dns_provider(args, progress).await,
        (kind, _, _) => {
            bail!("{kind} answers through a provider: drop --webroot and --standalone")
        }
    }
}

/// dns-01: the configured provider in the sandbox, publishing at the effective record, and a
/// check that every authoritative server serves each value, timed as the provider suggests.
async fn dns_provider(args: &IssueArgs, progress: &Progress) -> anyhow::Result<Answering> {
    let (Some(config), Some(name)) = (&args.config, &args.provider) else {
        bail!(
            "{} needs --config <file> and --provider <name>",
            args.challenge
        );
    };
    crate::clean_stale_of(config, "acmebox: ").await?;
    let config = Config::load(config)?;
    let provider = Sandbox::new(config.cache_dir())?
        .load_checked(config.provider_spec(name)?)
        .await?;

    let mut options = args.dns.propagation_options();
    let mut sequential = false;
    match provider.info().await {
        Ok(info) => {
            options = options
                .with_provider_timing(info.propagation_timeout_secs, info.polling_interval_secs);
            sequential = info.sequential;
        }
        Err(err) => progress.line(&format!(
            "{err}; using the default propagation timeout and polling interval"
        )),
    }
    let options = args.dns.override_timing(options);
    let resolver = Resolver::new(options)?;

    let mut dns = WasmDns01Handler::new(provider)
        .with_resolver(resolver.clone())
        .with_one_at_a_time(sequential);
    if args.challenge == ChallengeType::DnsAccount01 {
        dns = dns.answering_dns_account_01();
    }
    let reporter = progress.clone();
    let check = DnsReadyCheck::new(resolver).with_progress(move |status| {
        reporter.line(&status.to_string());
    });
    Ok(Answering {
        handler: Arc::new(dns.clone()),
        ready_check: Some(Arc::new(check)),
        dns: Some(dns),
        persist: None,
    })
}

/// One line per HTTP request and socket connection the provider made or tried, oldest first.
fn print_audit(dns: &WasmDns01Handler) {
    let reports = dns.take_reports();
    let provider = dns.provider().name();
    if reports
        .iter()
        .all(|report| report.audit.is_empty() && report.sockets.is_empty())
    {
        eprintln!("acmebox: audit: provider `{provider}` made no HTTP request and no connection");
        return;
    }
    for report in &reports {
        for record in &report.audit {
            eprintln!(
                "acmebox: audit: {} {} {record}",
                record.provider, report.operation
            );
        }
        for record in &report.sockets {
            eprintln!(
                "acmebox: audit: {} {} {record}",
                record.provider, report.operation
            );
        }
    }
}

fn abandoned(presented: &Presented) -> String {
    let left: Vec<String> = presented
        .challenges()
        .iter()
        .map(|c| format!("{} {}", c.kind, c.identifier))
        .collect();
    format!(
        "cleanup abandoned by a second signal; these responses may still be published: {}",
        left.join(", ")
    )
}

/// The environment variable naming the step at which `acmebox issue` kills itself with
/// SIGKILL, as a crash or power cut would: a test aid for proving that nothing is left behind
/// (the next command cleans up through the journal). Steps: `order-created` (before any
/// present), `challenge-ready` (after the first present), `checking-ready` (while waiting for
/// propagation), `validating` (while the CA validates), `challenge-cleaned-up` (after the first
/// cleanup).
const CRASH_AT: &str = "ACMEBOX_CRASH_AT";

/// Kills this process with SIGKILL when `event` is the step [`CRASH_AT`] names.
fn crash_point(event: &IssueEvent) {
    static STEP: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let Some(step) = STEP.get_or_init(|| std::env::var(CRASH_AT).ok()) else {
        return;
    };
    let reached = match event {
        IssueEvent::OrderCreated { .. } => "order-created",
        IssueEvent::ChallengeReady { .. } => "challenge-ready",
        IssueEvent::CheckingReady { .. } => "checking-ready",
        IssueEvent::Validating { .. } => "validating",
        IssueEvent::ChallengeCleanedUp { .. } => "challenge-cleaned-up",
        _ => return,
    };
    if step == reached {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}

/// Progress on stderr: one updating line on a terminal, plain lines otherwise.
#[derive(Clone)]
struct Progress {
    terminal: bool,
    dirty: Arc<Mutex<bool>>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            dirty: Arc::new(Mutex::new(false)),
        }
    }

    fn event(&self, event: &IssueEvent) {
        self.line(&event.to_string());
        crash_point(event);
    }

    fn line(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(stderr, "\r\x1b[2K{text}");
            let _ = stderr.flush();
            *self.dirty.lock().unwrap_or_else(|p| p.into_inner()) = true;
        } else {
            let _ = writeln!(stderr, "acmebox: {text}");
        }
    }

    /// Ends the updating line, so that what follows starts on a line of its own.
    fn finish(&self) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        if std::mem::take(&mut *dirty) {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_by_name_and_urls_as_given() {
        assert_eq!(
            directory_url("letsencrypt").unwrap(),
            "https://acme-v02.api.letsencrypt.org/directory"
        );
        assert_eq!(
            directory_url("google-staging").unwrap(),
            "https://dv.acme-v02.test-api.pki.goog/directory"
        );
        assert_eq!(
            directory_url("https://127.0.0.1:14000/dir").unwrap(),
            "https://127.0.0.1:14000/dir"
        );
        assert!(directory_url("LetsEncrypt").is_err());
    }
}
