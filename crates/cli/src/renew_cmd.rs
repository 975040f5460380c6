//! `acmebox renew`: renews what `issue` got, from the lineage `issue` stored beside each
//! certificate, when the CA's renewal window (ARI) or the certificate's age says so.
//!
//! A lineage is `lineage.json` in the output directory: the working directory and the
//! arguments of the `issue` that made it, repeated as they were. `issue` also registers the
//! output directory under `$XDG_STATE_HOME/acmebox/lineages/`, so `renew --all` needs no
//! other argument. What a check decided is kept in `renewal.json` beside the certificate.

use std::path::{Path, PathBuf};

use acmebox::client::{
    Account, AccountOptions, CertificateInfo, DEFAULT_RENEW_REMAINING, OutputPaths, RenewalState,
    RevocationReason, revoke_with_certificate_key, rfc3339,
};
use anyhow::{Context, bail};
use clap::{Args, Parser};
use serde::{Deserialize, Serialize};

use crate::issue_cmd::IssueArgs;

/// The lineage file in an output directory.
const LINEAGE_FILE: &str = "lineage.json";

/// What renewal checks decided, beside the certificate.
const STATE_FILE: &str = "renewal.json";

/// Renew certificates `acmebox issue` got, when they are due.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Check every certificate `issue` registered (for a timer: run it daily or more often).
    #[arg(long, required_unless_present = "cert_dir")]
    all: bool,
    /// Check the certificate in this output directory only.
    #[arg(long, value_name = "DIR", conflicts_with = "all")]
    cert_dir: Option<PathBuf>,
    /// Where `issue` registered its lineages (default: $XDG_STATE_HOME/acmebox).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// When the CA gives no renewal window: renew once this share of the lifetime is left
    /// (0 to 1; default a third, as Let's Encrypt suggests).
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_RENEW_REMAINING, value_parser = parse_share)]
    renew_remaining: f64,
    /// Renew now, whatever the renewal window says.
    #[arg(long)]
    force: bool,
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!(
            "{} is not a share of the lifetime; give a number from 0 to 1, such as 0.33",
            acmebox::challenge::echoed(text)
        )),
    }
}

/// `lineage.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Lineage {
    version: u32,
    /// The working directory of the `issue` (its relative paths are relative to it).
    cwd: PathBuf,
    /// The arguments after `issue`.
    args: Vec<String>,
}

/// An entry of the lineage registry.
#[derive(Debug, Serialize, Deserialize)]
struct Registered {
    out: PathBuf,
}

/// The `issue` arguments of a lineage, parsed.
#[derive(Debug, Parser)]
#[command(no_binary_name = true)]
struct LineageArgs {
    #[command(flatten)]
    issue: IssueArgs,
}

fn registry(state_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match state_dir {
        Some(dir) => dir.to_owned(),
        None => acmebox::sandbox::journal::default_state_dir()
            .context("neither $XDG_STATE_HOME nor $HOME is set; pass --state-dir <dir>")?,
    };
    Ok(dir.join("lineages"))
}

/// Writes `lineage.json` beside the certificate `args` got (`raw`: the arguments after
/// `issue`), and registers its directory for `renew --all`.
pub(crate) fn record_lineage(args: &IssueArgs, raw: &[String]) -> anyhow::Result<()> {
    let out = std::path::absolute(args.out()).context("finding the output directory")?;
    let lineage = Lineage {
        version: 1,
        cwd: std::env::current_dir().context("finding the working directory")?,
        args: raw.to_vec(),
    };
    write_json(&out.join(LINEAGE_FILE), &lineage)?;
    let registry = registry(None)?;
    std::fs::create_dir_all(&registry)
        .with_context(|| format!("creating {}", registry.display()))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, out.as_os_str().as_encoded_bytes());
    let name: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    write_json(&registry.join(format!("{name}.json")), &Registered { out })
}

/// Runs the `--deploy-hook` of `args`, if any, for the certificate in its output directory.
pub(crate) fn deploy(args: &IssueArgs, renewed: bool) -> anyhow::Result<()> {
    let Some(hook) = args.deploy_hook() else {
        return Ok(());
    };
    let out = std::path::absolute(args.out()).context("finding the output directory")?;
    let paths = OutputPaths::in_dir(&out);
    let status = std::process::Command::new("sh")
        .args(["-c", hook])
        .env("ACMEBOX_LINEAGE", &out)
        .env("ACMEBOX_CERT_PATH", &paths.cert)
        .env("ACMEBOX_KEY_PATH", &paths.key)
        .env("ACMEBOX_CHAIN_PATH", &paths.chain)
        .env("ACMEBOX_FULLCHAIN_PATH", &paths.fullchain)
        .env("ACMEBOX_DOMAINS", args.domains().join(" "))
        .env("ACMEBOX_RENEWED", if renewed { "1" } else { "0" })
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running the deploy hook {hook:?}"))?;
    if !status.success() {
        bail!(
            "the deploy hook {hook:?} failed ({status}); the certificate is in place in {}",
            out.display()
        );
    }
    Ok(())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(value)?;
    acmebox::handlers::write_file_atomic(path, &json, 0o600)
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: RenewArgs) -> anyhow::Result<std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(renew(args))
}

async fn renew(args: RenewArgs) -> anyhow::Result<std::process::ExitCode> {
    let dirs: Vec<PathBuf> = match &args.cert_dir {
        Some(dir) => vec![std::path::absolute(dir)?],
        None => registered(&registry(args.state_dir.as_deref())?)?,
    };
    let (mut renewed, mut waiting, mut failed) = (0, 0, 0);
    // Lineages of one account share it: the CA's directory is fetched once per account.
    let mut accounts = Accounts::new();
    for dir in &dirs {
        match renew_one(dir, &args, &mut accounts).await {
            Ok(true) => renewed += 1,
            Ok(false) => waiting += 1,
            Err(err) => {
                failed += 1;
                eprintln!("acmebox: {}: {err:#}", dir.display());
            }
        }
    }
    eprintln!("acmebox: {renewed} renewed, {waiting} not due, {failed} failed");
    Ok(if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// The output directories in the registry, sorted.
fn registered(registry: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(registry) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", registry.display())),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let entry: Registered = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a lineage registration", path.display()))?;
        dirs.push(entry.out);
    }
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

/// The accounts loaded so far, by directory URL and account file.
type Accounts = std::collections::HashMap<(String, PathBuf), Account>;

/// Checks and, when due, renews the lineage in `dir`; `Ok(true)` when renewed.
async fn renew_one(dir: &Path, args: &RenewArgs, accounts: &mut Accounts) -> anyhow::Result<bool> {
    let Some(lineage) = read_lineage(dir)? else {
        bail!("it has no {LINEAGE_FILE}; was this certificate got with `acmebox issue`?");
    };
    std::env::set_current_dir(&lineage.cwd).with_context(|| {
        format!(
            "the lineage was issued in {}, which is gone",
            lineage.cwd.display()
        )
    })?;
    let issue = LineageArgs::try_parse_from(&lineage.args)
        .map_err(|err| anyhow::anyhow!("the lineage's issue arguments no longer parse: {err}"))?
        .issue;

    let paths = OutputPaths::in_dir(dir);
    let pem = std::fs::read_to_string(&paths.cert)
        .with_context(|| format!("reading {}", paths.cert.display()))?;
    let cert = CertificateInfo::from_pem(&pem)?;
    let state_file = dir.join(STATE_FILE);
    let mut state: RenewalState = std::fs::read(&state_file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let options = issue.account_options()?;
    let key = (
        options.directory().to_owned(),
        std::path::absolute(options.account_file())?,
    );
    let account = match accounts.get(&key) {
        Some(account) => account.clone(),
        None => {
            let account = Account::load_or_create(&options).await?;
            accounts.insert(key, account.clone());
            account
        }
    };
    let now = time::OffsetDateTime::now_utc();
    let decision = account
        .renewal_decision(&cert, &mut state, args.renew_remaining, now)
        .await;
    write_json(&state_file, &state)?;
    if !decision.due && !args.force {
        eprintln!(
            "acmebox: {}: not due until {}: {}",
            dir.display(),
            rfc3339(decision.renew_at),
            decision.reason
        );
        return Ok(false);
    }
    eprintln!(
        "acmebox: {}: {}: {}; renewing, replacing {}",
        dir.display(),
        if decision.due { "due" } else { "forced" },
        decision.reason,
        cert.id
    );
    // A CA without renewal information does not know `replaces` (RFC 9773 §5).
    let replaces = decision.replaces.then_some(cert.id.as_str());
    crate::issue_cmd::issue(&issue, replaces).await?;
    deploy(&issue, true)?;
    Ok(true)
}

/// Revoke a certificate, signed by the account that got it or by the certificate's own key.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The certificate (PEM); the account and CA come from the lineage beside it, or from
    /// --directory, --account and --ca-cert.
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Sign the request with the certificate's own private key (PEM: PKCS#8, SEC1 or PKCS#1)
    /// instead of an account: for a certificate whose account is lost, or whose key leaked.
    #[arg(long, value_name = "FILE", conflicts_with = "account")]
    key: Option<PathBuf>,
    /// Why: keyCompromise, superseded, affiliationChanged, cessationOfOperation or
    /// privilegeWithdrawn (default: unspecified).
    #[arg(long, value_name = "REASON")]
    reason: Option<RevocationReason>,
    /// The ACME directory URL, for a certificate without a lineage (with --account or --key).
    #[arg(long, value_name = "URL")]
    directory: Option<String>,
    /// The account file, for a certificate without a lineage.
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// Trust this CA certificate (PEM) for the ACME server, for a certificate without a
    /// lineage.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
}

pub fn revoke(args: RevokeArgs) -> anyhow::Result<std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(async {
            let pem = std::fs::read_to_string(&args.cert)
                .with_context(|| format!("reading {}", args.cert.display()))?;
            let signer = args
                .account
                .clone()
                .or_else(|| args.key.as_ref().map(|_| PathBuf::new()));
            let options = match (&args.directory, signer) {
                (Some(directory), Some(account)) => {
                    let mut options = AccountOptions::new(directory, account);
                    if let Some(ca) = &args.ca_cert {
                        options = options.with_ca_cert(ca);
                    }
                    options
                }
                (Some(_), None) => bail!(
                    "--directory needs --account <file> (the account that got the certificate) \
                     or --key <file> (the certificate's own key)"
                ),
                _ => {
                    let dir = args.cert.parent().unwrap_or(Path::new("."));
                    let Some(lineage) = read_lineage(dir)? else {
                        bail!(
                            "{} has no lineage.json beside it, so the account that got it is \
                             unknown: pass --directory <url> and --account <file> (and \
                             --ca-cert for a private CA)",
                            args.cert.display()
                        );
                    };
                    std::env::set_current_dir(&lineage.cwd)?;
                    LineageArgs::try_parse_from(&lineage.args)
                        .map_err(|err| anyhow::anyhow!("the lineage no longer parses: {err}"))?
                        .issue
                        .account_options()?
                }
            };
            let reason = args.reason.map(|r| format!(" ({r:?})")).unwrap_or_default();
            if let Some(key) = &args.key {
                let key_pem =
                    std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
                revoke_with_certificate_key(&options, &pem, &key_pem, args.reason).await?;
                eprintln!(
                    "acmebox: revoked {}{reason}, signed by its own key",
                    args.cert.display()
                );
                return Ok(std::process::ExitCode::SUCCESS);
            }
            if !options.account_file().exists() {
                bail!(
                    "the account file {} does not exist: revoke with the account that got the \
                     certificate",
                    options.account_file().display()
                );
            }
            let account = Account::load_or_create(&options).await?;
            account.revoke(&pem, args.reason).await?;
            eprintln!("acmebox: revoked {}{reason}", args.cert.display());
            Ok(std::process::ExitCode::SUCCESS)
        })
}

/// The lineage in `dir`, if there is one.
fn read_lineage(dir: &Path) -> anyhow::Result<Option<Lineage>> {
    let file = dir.join(LINEAGE_FILE);
    match std::fs::read(&file) {
        Ok(text) => Ok(Some(serde_json::from_slice(&text).with_context(|| {
            format!("{} is not a lineage file", file.display())
        })?)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("reading {}", file.display())),
    }
}
