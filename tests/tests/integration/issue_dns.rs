//! DNS-01 end to end: a certificate for a name and its wildcard from the real Pebble, the TXT
//! values published by the PowerDNS provider component in the sandbox, each checked on the
//! authoritative server before validation, and removed afterwards. Through the library and
//! through `acmebox issue`; with a CNAME into another zone; and with a wrong API key.
//!
//! Every test uses its own names (`<test>-<pid>-<n>.example.test`) and temp dirs, and checks
//! through the PowerDNS API that no `_acme-challenge` TXT rrset is left.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acmebox::challenge::Identifier;
use acmebox::client::Error;
use acmebox::client::{Account, AccountOptions, IssueEvent, IssueRequest, Presented};
use acmebox::config::Config;
use acmebox::propagation::{DnsReadyCheck, PropagationOptions, Resolver};
use acmebox::sandbox::{Decision, Operation, ProviderError, Sandbox, WasmDns01Handler};
use acmebox_tests::certs::{check_certificate, run_issue, run_issue_with};
use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::pdns::{patch_rrset, txt_values_in};
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;
use serde_json::json;

/// The environment variable the CLI test's config reads the API key from.
const API_KEY_VAR: &str = "ACMEBOX_TEST_PDNS_API_KEY";

/// PowerDNS's DNS listener: the tests' resolver and the authoritative server polled.
fn pdns_dns() -> SocketAddr {
    servers()
        .pdns_dns
        .parse()
        .expect("ACMEBOX_PDNS_DNS is host:port")
}

/// The PowerDNS webserver's base URL (`http://127.0.0.1:PORT`), as the provider wants it.
fn pdns_base_url() -> String {
    let api = &servers().pdns_api_url;
    let Some(base) = api.split("/api/").next() else {
        panic!("unexpected PowerDNS API URL {api}");
    };
    base.to_owned()
}

/// The component of the PowerDNS provider, built once per test process.
async fn powerdns_component() -> PathBuf {
    tokio::task::spawn_blocking(|| provider("acmebox-provider-powerdns"))
        .await
        .expect("the build task")
        .expect("the powerdns provider builds")
}

/// Writes `acmebox.toml` in `dir` for provider `pdns`, its API key read as `api_key_source`
/// (a TOML inline table such as `{ env = "...", secret = true }`).
fn write_config(dir: &Path, component: &Path, api_key_source: &str) -> PathBuf {
    let path = dir.join("acmebox.toml");
    let base = pdns_base_url();
    let text = format!(
        r#"cache_dir = "cache"

[providers.pdns]
component = {component:?}
allow = [{grant:?}]
ttl = 60

[providers.pdns.config]
api_url = {base:?}
server_id = "localhost"
api_key = {api_key_source}
"#,
        grant = danger(&base),
        component = component.display().to_string(),
    );
    std::fs::write(&path, text).expect("writing acmebox.toml");
    path
}

/// A config whose API key is read from a file. The library tests use a file, not an
/// environment variable: tests share the process's environment and run at the same time.
fn config_with_key_file(dir: &Path, component: &Path, key: &str) -> PathBuf {
    std::fs::write(dir.join("pdns-api-key"), key).expect("writing the key file");
    write_config(
        dir,
        component,
        r#"{ file = "pdns-api-key", secret = true }"#,
    )
}

fn account_options(dir: &Path) -> AccountOptions {
    let s = servers();
    AccountOptions::new(&s.pebble_directory, dir.join("account.json"))
        .with_ca_cert(&s.pebble_ca_cert)
        .with_terms_of_service_agreed(true)
}

/// What the CLI does, through the library: the provider from the config, publishing at the
/// effective record, and a ready check polling PowerDNS with the provider's timing.
async fn dns_setup(config: &Path) -> (WasmDns01Handler, DnsReadyCheck) {
    let config = Config::load(config).expect("the config loads");
    let spec = config.provider_spec("pdns").expect("provider pdns");
    let provider = Sandbox::new(config.cache_dir())
        .expect("a sandbox")
        .load(spec)
        .expect("the provider loads");
    let info = provider
        .describe()
        .await
        .expect("the provider describes itself");
    let options = PropagationOptions::default()
        .with_resolvers(vec![pdns_dns()])
        .with_authoritative_servers(vec![pdns_dns()])
        .with_provider_timing(info.propagation_timeout_secs, info.polling_interval_secs);
    let resolver = Resolver::new(options).expect("valid propagation options");
    let handler = WasmDns01Handler::new(provider).with_resolver(resolver.clone());
    (handler, DnsReadyCheck::new(resolver))
}

/// Fails if PowerDNS still holds a TXT value at `_acme-challenge.<name>.` in `zone`.
fn assert_nothing_left(zone: &str, name: &str) {
    let record = format!("_acme-challenge.{name}.");
    let left = txt_values_in(zone, &record).expect("reading PowerDNS");
    assert!(left.is_empty(), "{record} still holds {left:?}");
}

/// Sets (or, with `None`, deletes) the CNAME at `name` in `zone`.
fn set_cname(zone: &str, name: &str, target: Option<&str>) {
    let rrset = match target {
        Some(target) => json!({
            "name": name, "type": "CNAME", "ttl": 60, "changetype": "REPLACE",
            "records": [{ "content": target, "disabled": false }],
        }),
        None => json!({ "name": name, "type": "CNAME", "changetype": "DELETE" }),
    };
    if let Err(err) = patch_rrset(zone, rrset) {
        panic!("CNAME at {name}: {err}");
    }
}

/// Removes a CNAME when dropped, so a failing test leaves none behind.
struct CnameGuard(&'static str, String);

impl Drop for CnameGuard {
    fn drop(&mut self) {
        set_cname(self.0, &self.1, None);
    }
}

fn ids(names: &[&str]) -> Vec<Identifier> {
    names
        .iter()
        .map(|name| Identifier::parse(name).expect("a valid test identifier"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_issues_a_wildcard_through_the_powerdns_provider() {
    let component = powerdns_component().await;
    let tmp = tempfile::tempdir().unwrap();
    let key = &servers().pdns_api_key;
    let config = config_with_key_file(tmp.path(), &component, key);
    let (handler, check) = dns_setup(&config).await;
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let sink = statuses.clone();
    let check = check
        .with_progress(move |status| sink.lock().expect("the status list").push(status.clone()));

    let name = unique("dns-lib");
    let wildcard = format!("*.{name}");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let request = IssueRequest::new(ids(&[&name, &wildcard]), tmp.path().join("out"))
        .with_ready_check(Arc::new(check))
        .with_progress(move |event| sink.lock().expect("the event list").push(event.clone()));
    let account = Account::load_or_create(&account_options(tmp.path()))
        .await
        .unwrap();
    let presented = Presented::new();
    let issued = account
        .issue(request, Arc::new(handler.clone()), &presented)
        .await
        .unwrap();

    check_certificate(issued.paths(), &[&name, &wildcard]);
    assert!(presented.is_empty());
    assert_nothing_left("example.test.", &name);
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|event| matches!(event, IssueEvent::CheckingReady { challenges: 2 })),
        "{events:?}"
    );
    // Both values were seen at the one name before validation.
    let statuses = statuses.lock().unwrap();
    let record = format!("_acme-challenge.{name}.");
    let complete: Vec<_> = statuses.iter().filter(|s| s.is_complete()).collect();
    assert_eq!(complete.len(), 2, "{statuses:#?}");
    assert!(complete.iter().all(|s| s.fqdn == record), "{statuses:#?}");

    // Two presents and two cleanups, each a read and a write of the PowerDNS API, all allowed;
    // the key never shows.
    let reports = handler.take_reports();
    let operations: Vec<Operation> = reports.iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        [
            Operation::Present,
            Operation::Present,
            Operation::Cleanup,
            Operation::Cleanup
        ]
    );
    for report in &reports {
        assert!(report.is_ok(), "{report:?}");
        assert!(!report.audit.is_empty(), "{report:?}");
        for record in &report.audit {
            assert_eq!(record.decision, Decision::Allowed, "{record:?}");
            assert_eq!(record.provider, "pdns");
            assert!(
                record
                    .path
                    .starts_with("/api/v1/servers/localhost/zones/example.test."),
                "{record:?}"
            );
            assert!(
                record.status.is_some_and(|s| (200..300).contains(&s)),
                "{record:?}"
            );
        }
    }
    let shown = format!("{reports:?}{}", serde_json::to_string(&reports).unwrap());
    assert!(!shown.contains(key.as_str()), "the API key leaked: {shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_presents_where_the_cname_points() {
    let component = powerdns_component().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = config_with_key_file(tmp.path(), &component, &servers().pdns_api_key);
    let (handler, check) = dns_setup(&config).await;

    // _acme-challenge.<name>.example.test. -> _acme-challenge.<label>.delegated.test.
    let name = unique("dns-cname");
    let label = name.trim_end_matches(".example.test");
    let owner = format!("_acme-challenge.{name}.");
    let target = format!("_acme-challenge.{label}.delegated.test.");
    set_cname("example.test.", &owner, Some(&target));
    let _cname = CnameGuard("example.test.", owner.clone());

    let request =
        IssueRequest::new(ids(&[&name]), tmp.path().join("out")).with_ready_check(Arc::new(check));
    let account = Account::load_or_create(&account_options(tmp.path()))
        .await
        .unwrap();
    let presented = Presented::new();
    let issued = account
        .issue(request, Arc::new(handler.clone()), &presented)
        .await
        .unwrap();
    check_certificate(issued.paths(), &[&name]);

    // The provider wrote into delegated.test., never at the CNAME's owner.
    let reports = handler.take_reports();
    assert_eq!(reports.len(), 2, "{reports:?}");
    for record in reports.iter().flat_map(|r| &r.audit) {
        assert!(record.path.contains("/zones/delegated.test."), "{record:?}");
    }
    assert!(
        txt_values_in("delegated.test.", &target)
            .expect("reading PowerDNS")
            .is_empty()
    );
    assert!(
        txt_values_in("example.test.", &owner)
            .expect("reading PowerDNS")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_with_a_wrong_api_key_fails_as_unauthorized_and_leaves_nothing() {
    let component = powerdns_component().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = config_with_key_file(tmp.path(), &component, "not-the-api-key");
    let (handler, check) = dns_setup(&config).await;
    let name = unique("dns-badkey");
    let wildcard = format!("*.{name}");
    let request = IssueRequest::new(ids(&[&name, &wildcard]), tmp.path().join("out"))
        .with_ready_check(Arc::new(check));
    let account = Account::load_or_create(&account_options(tmp.path()))
        .await
        .unwrap();
    let presented = Presented::new();
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        account.issue(request, Arc::new(handler.clone()), &presented),
    )
    .await
    .expect("a refused key fails at once, with no waiting")
    .unwrap_err();

    // The error that ended the issuance is the provider's unauthorized, whatever cleanup said.
    let original = match &err {
        Error::Cleanup {
            original: Some(original),
            ..
        } => original.as_ref(),
        other => other,
    };
    // The handler's error is the sandbox's own, inside the client's.
    let Some(acmebox::sandbox::Error::ProviderFailed {
        provider,
        operation: Operation::Present,
        error: ProviderError::Unauthorized(_),
    }) = original.backend::<acmebox::sandbox::Error>()
    else {
        panic!("expected the provider's unauthorized error, got {err}");
    };
    assert_eq!(provider, "pdns");
    let message = err.to_string();
    assert!(
        message.starts_with("provider `pdns` failed during present: unauthorized"),
        "{message}"
    );
    assert!(!message.contains("not-the-api-key"), "{message}");

    assert!(presented.is_empty());
    assert!(!tmp.path().join("out").exists());
    assert_nothing_left("example.test.", &name);
    let reports = handler.take_reports();
    let statuses: Vec<Option<u16>> = reports
        .iter()
        .flat_map(|r| &r.audit)
        .map(|a| a.status)
        .collect();
    assert!(!statuses.is_empty(), "{reports:?}");
    assert!(statuses.iter().all(|s| *s == Some(401)), "{statuses:?}");
}

/// `acmebox issue` for `name` and `*.name` with dns-01 through the PowerDNS provider, its
/// key from the environment, polling `authoritative`; account and `out/` under `dir`.
async fn cli_dns01_command(dir: &Path, name: &str, authoritative: &str) -> tokio::process::Command {
    cli_dns_command("dns-01", dir, name, authoritative).await
}

/// [`cli_dns01_command`] answering challenges of type `challenge` (`dns-01`, `dns-account-01`).
async fn cli_dns_command(
    challenge: &str,
    dir: &Path,
    name: &str,
    authoritative: &str,
) -> tokio::process::Command {
    cli_dns_command_at(
        &servers().pebble_directory,
        challenge,
        dir,
        name,
        authoritative,
    )
    .await
}

/// [`cli_dns_command`] against the ACME server at `directory`.
async fn cli_dns_command_at(
    directory: &str,
    challenge: &str,
    dir: &Path,
    name: &str,
    authoritative: &str,
) -> tokio::process::Command {
    let bin = tokio::task::spawn_blocking(acmebox_bin)
        .await
        .expect("building acmebox");
    let component = powerdns_component().await;
    let config = write_config(
        dir,
        &component,
        &format!("{{ env = {API_KEY_VAR:?}, secret = true }}"),
    );
    let s = servers();
    let wildcard = format!("*.{name}");
    let mut command = tokio::process::Command::new(&bin);
    command
        .args([
            "issue",
            "-d",
            name,
            "-d",
            &wildcard,
            "--challenge",
            challenge,
            "--agree-tos",
        ])
        .arg("--config")
        .arg(&config)
        .args(["--provider", "pdns"])
        .args(["--resolver", &s.pdns_dns, "--authoritative", authoritative])
        .args(["--directory", directory, "--ca-cert", &s.pebble_ca_cert])
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--account")
        .arg(dir.join("account.json"))
        .env(API_KEY_VAR, &s.pdns_api_key);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_issues_with_dns01_and_prints_the_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let s = servers();
    let name = unique("dns-cli");
    let wildcard = format!("*.{name}");
    let command = cli_dns01_command(tmp.path(), &name, &s.pdns_dns).await;
    let stderr = run_issue(command, &tmp.path().join("out"), &[&name, &wildcard]).await;
    assert_nothing_left("example.test.", &name);

    let zone_url = format!(
        "{}/api/v1/servers/localhost/zones/example.test.",
        pdns_base_url()
    );
    for line in [
        "checking that 2 response(s) are visible".to_owned(),
        format!("_acme-challenge.{name}. TXT"),
        "1 of 1 servers serve it".to_owned(),
        "registered, agreeing to the terms of service data:text/plain,Do%20what%20thou%20wilt"
            .to_owned(),
        "cleaned up 2".to_owned(),
        format!("audit: pdns present GET {zone_url}"),
        format!("audit: pdns present PATCH {zone_url} allowed 204"),
        format!("audit: pdns cleanup PATCH {zone_url} allowed 204"),
    ] {
        assert!(stderr.contains(&line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert!(!stderr.contains(s.pdns_api_key.as_str()), "{stderr}");
}

/// SIGTERM while `acmebox issue` waits for propagation: the two published TXT values are
/// removed from PowerDNS before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_removes_published_records_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    // The propagation check polls this socket, which never answers, so issuance waits after
    // the values are published until the signal comes.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let name = unique("dns-sigterm");
    let child = cli_dns01_command(tmp.path(), &name, &silent_addr)
        .await
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();

    let record = format!("_acme-challenge.{name}.");
    let published = async {
        while txt_values_in("example.test.", &record)
            .expect("reading PowerDNS")
            .len()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(90), published)
        .await
        .expect("the two TXT values were never published");
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("acmebox did not exit after SIGTERM")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for line in [
        "SIGTERM received; cleaning up 2 challenge response(s)",
        "interrupted by SIGTERM; cleaned up 2",
        "audit: pdns cleanup PATCH",
    ] {
        assert!(stderr.contains(line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert_nothing_left("example.test.", &name);
    assert!(!tmp.path().join("out").exists());
}

/// `--propagation-timeout` and `--polling-interval` override the provider's timing (PowerDNS
/// suggests minutes): with a server that never answers, issuance gives up after the 2 s given,
/// says so, and removes both values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_propagation_timeout_overrides_the_providers() {
    let tmp = tempfile::tempdir().unwrap();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let name = unique("dns-timeout");
    let mut command = cli_dns01_command(tmp.path(), &name, &silent_addr).await;
    command.args(["--propagation-timeout", "2s", "--polling-interval", "1"]);
    let out = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("acmebox did not give up after its propagation timeout")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for line in [
        "was not served by every authoritative server within 2s".to_owned(),
        "cleaned up 2".to_owned(),
    ] {
        assert!(stderr.contains(&line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert_nothing_left("example.test.", &name);
    // Zero is no interval at all: refused before anything runs.
    let mut command = cli_dns01_command(tmp.path(), &name, &silent_addr).await;
    command.args(["--polling-interval", "0s"]);
    let out = command.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("a polling interval of zero would poll without pause; give at least `1s`"),
        "{stderr}"
    );
}

/// The journal entries under `dir`'s state directory (`XDG_STATE_HOME=<dir>/xdg`).
fn journal_entries(dir: &Path) -> Vec<serde_json::Value> {
    let journal = dir.join("xdg").join("acmebox").join("journal");
    let Ok(files) = std::fs::read_dir(&journal) else {
        return Vec::new();
    };
    files
        .filter_map(Result::ok)
        .filter(|f| f.file_name().to_string_lossy().ends_with(".json"))
        .map(|f| {
            serde_json::from_slice(&std::fs::read(f.path()).expect("the test environment works"))
                .expect("the test environment works")
        })
        .collect()
}

/// `acmebox issue` for a name and its wildcard is killed with SIGKILL at `step`; the TXT values
/// it had presented by then are in its journal. The next command (`next`: `cleanup --stale`, or
/// `issue` again, which cleans up what dead processes left before it starts) leaves no TXT value
/// in PowerDNS and an empty journal.
async fn killed_at(step: &str, presented: usize, next: &str) {
    let tmp = tempfile::tempdir().expect("the test environment works");
    let s = servers();
    let name = unique(&format!("kill-{step}"));
    let record = format!("_acme-challenge.{name}.");
    let xdg = tmp.path().join("xdg");
    let mut command = cli_dns01_command(tmp.path(), &name, &s.pdns_dns).await;
    command
        .env("XDG_STATE_HOME", &xdg)
        .env("ACMEBOX_CRASH_AT", step);
    let out = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("acmebox issue neither finished nor crashed")
        .expect("the test environment works");
    let stderr = String::from_utf8_lossy(&out.stderr);
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(
            out.status.signal(),
            Some(9),
            "not killed at {step}:\n{stderr}"
        );
    }
    let left = txt_values_in("example.test.", &record).expect("reading PowerDNS");
    assert_eq!(
        left.len(),
        presented,
        "TXT values after a kill at {step}: {left:?}"
    );
    let journalled: Vec<String> = journal_entries(tmp.path())
        .iter()
        .map(|e| e["value"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(journalled.len(), presented, "{journalled:?}");
    assert!(
        left.iter().all(|v| journalled.contains(v)),
        "{left:?} {journalled:?}"
    );

    let config = tmp.path().join("acmebox.toml");
    let out = match next {
        "cleanup" => {
            let bin = tokio::task::spawn_blocking(acmebox_bin)
                .await
                .expect("the test environment works");
            tokio::process::Command::new(bin)
                .args(["cleanup", "--stale", "--config"])
                .arg(&config)
                .env("XDG_STATE_HOME", &xdg)
                .env(API_KEY_VAR, &s.pdns_api_key)
                .output()
                .await
                .expect("the test environment works")
        }
        _ => {
            let mut command = cli_dns01_command(tmp.path(), &name, &s.pdns_dns).await;
            command.env("XDG_STATE_HOME", &xdg);
            tokio::time::timeout(Duration::from_secs(120), command.output())
                .await
                .expect("the next acmebox issue did not finish")
                .expect("the test environment works")
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{next} after a kill at {step}:\n{stderr}"
    );
    let cleaned = stderr.matches("cleaned up stale record").count();
    assert_eq!(cleaned, presented, "{stderr}");
    if presented > 0 {
        assert!(
            stderr.contains(&format!("cleaned up stale record {record} TXT")),
            "{stderr}"
        );
        assert!(stderr.contains("which no longer runs"), "{stderr}");
    }
    assert_nothing_left("example.test.", &name);
    assert_eq!(journal_entries(tmp.path()), Vec::<serde_json::Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_presenting_leaves_nothing() {
    killed_at("order-created", 0, "cleanup").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_two_presents_leaves_nothing() {
    killed_at("challenge-ready", 1, "issue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_propagation_leaves_nothing() {
    killed_at("checking-ready", 2, "cleanup").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_validation_leaves_nothing() {
    killed_at("validating", 2, "issue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_two_cleanups_leaves_nothing() {
    killed_at("challenge-cleaned-up", 1, "cleanup").await;
}

/// A handler asking for one live response at a time (a `sequential` provider): the name and its
/// wildcard share one record name, and the second value is set up only after the first was
/// validated and removed, so PowerDNS never holds two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_at_a_time_handlers_never_have_two_values_live() {
    let component = powerdns_component().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = config_with_key_file(tmp.path(), &component, &servers().pdns_api_key);
    let (handler, check) = dns_setup(&config).await;
    let handler = handler.with_one_at_a_time(true);
    let name = unique("dns-sequential");
    let record = format!("_acme-challenge.{name}.");
    // What PowerDNS holds at the record each time a challenge becomes ready.
    let live = Arc::new(Mutex::new(Vec::new()));
    let sink = live.clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    let event_sink = events.clone();
    let watched = record.clone();
    let request = IssueRequest::new(ids(&[&name, &format!("*.{name}")]), tmp.path().join("out"))
        .with_ready_check(Arc::new(check))
        .with_progress(move |event| {
            if matches!(event, IssueEvent::ChallengeReady { .. }) {
                let values = txt_values_in("example.test.", &watched).expect("reading PowerDNS");
                sink.lock().expect("the list").push(values.len());
            }
            event_sink.lock().expect("the list").push(event.to_string());
        });
    let account = Account::load_or_create(&account_options(tmp.path()))
        .await
        .unwrap();
    let presented = Presented::new();
    let issued = account
        .issue(request, Arc::new(handler.clone()), &presented)
        .await
        .unwrap();
    check_certificate(issued.paths(), &[&name, &format!("*.{name}")]);
    assert_eq!(*live.lock().unwrap(), [1, 1], "values live at each setup");
    // Set up, validated and removed in turn.
    let events = events.lock().unwrap();
    let steps: Vec<&str> = events
        .iter()
        .filter_map(|e| {
            [
                ("published", "ready"),
                ("validat", "validating"),
                ("removed the", "removed"),
            ]
            .iter()
            .find(|(word, _)| e.contains(word))
            .map(|(_, step)| *step)
        })
        .collect();
    assert_eq!(
        steps,
        [
            "ready",
            "validating",
            "removed",
            "ready",
            "validating",
            "removed"
        ],
        "{events:#?}"
    );
    assert_nothing_left("example.test.", &name);
}

/// The validity period of the PEM certificate at `path`, in seconds (notAfter − notBefore;
/// Pebble counts both ends, so a period of N seconds shows as N − 1).
fn validity_secs(path: &Path) -> i64 {
    let pem = std::fs::read(path).expect("reading the certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("a PEM certificate");
    let cert = pem.parse_x509().expect("an X.509 certificate");
    let validity = cert.validity();
    validity.not_after.timestamp() - validity.not_before.timestamp()
}

/// `--profile` asks Pebble for its `shortlived` profile (6-day certificates, configured by the
/// servers script) and gets one, here with an RSA-3072 key (`--key-type`); a profile Pebble does not offer is refused with the list
/// before any order is created or record presented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_issues_with_a_profile_and_refuses_an_unknown_one() {
    const SIX_DAYS: i64 = 6 * 24 * 60 * 60;
    let tmp = tempfile::tempdir().unwrap();
    let name = unique("profile");
    let wildcard = format!("*.{name}");
    let s = servers();
    let mut command = cli_dns01_command(tmp.path(), &name, &s.pdns_dns).await;
    command.args(["--profile", "shortlived", "--key-type", "rsa3072"]);
    run_issue(command, &tmp.path().join("out"), &[&name, &wildcard]).await;
    let out = acmebox::client::OutputPaths::in_dir(&tmp.path().join("out"));
    let shortlived = validity_secs(&out.cert);
    assert!(
        (SIX_DAYS - 1..=SIX_DAYS).contains(&shortlived),
        "a shortlived certificate is valid for {shortlived} s"
    );
    let pem = std::fs::read(&out.cert).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    assert_eq!(
        cert.public_key().parsed().unwrap().key_size(),
        3072,
        "--key-type rsa3072 gives a 3072-bit RSA key"
    );
    assert_nothing_left("example.test.", &name);

    let tmp = tempfile::tempdir().unwrap();
    let mut command = cli_dns01_command(tmp.path(), &name, &s.pdns_dns).await;
    command.args(["--profile", "longlived"]);
    let out = command.stdin(Stdio::null()).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ACME server {} offers no certificate profile `longlived`; it offers `default` \
             (90-day certificates), `shortlived` (6-day certificates); choose one it offers, or \
             leave the profile out for the CA's default",
            s.pebble_directory
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("order created"), "{stderr}");
    assert_nothing_left("example.test.", &name);
}

/// `--challenge dns-account-01`: Pebble validates the name and its wildcard at the account's
/// own record name, `_<label>._acme-challenge.<name>.`, the label derived natively from the
/// account URL; the plain dns-01 name is never touched and nothing is left at either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_issues_with_dns_account_01_at_the_accounts_own_name() {
    let tmp = tempfile::tempdir().unwrap();
    let s = servers();
    let name = unique("dns-account");
    let wildcard = format!("*.{name}");
    let command = cli_dns_command("dns-account-01", tmp.path(), &name, &s.pdns_dns).await;
    let stderr = run_issue(command, &tmp.path().join("out"), &[&name, &wildcard]).await;

    let account: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("account.json")).unwrap()).unwrap();
    let account_url = account["credentials"]["id"]
        .as_str()
        .expect("the account file holds the account URL");
    let label = acmebox::challenge::dns01::account_label(account_url);
    let record = format!("{label}._acme-challenge.{name}.");
    for line in [
        "checking that 2 response(s) are visible".to_owned(),
        format!("{record} TXT"),
        "cleaned up 2".to_owned(),
    ] {
        assert!(stderr.contains(&line), "stderr lacks {line:?}:\n{stderr}");
    }
    assert!(
        !stderr.contains(&format!(" _acme-challenge.{name}.")),
        "the dns-01 name was used:\n{stderr}"
    );
    let left = txt_values_in("example.test.", &record).expect("reading PowerDNS");
    assert!(left.is_empty(), "{record} still holds {left:?}");
    assert_nothing_left("example.test.", &name);
}

/// A CA that requires External Account Binding (the third Pebble): without a binding the CA's
/// refusal is shown with what to do; with a wrong MAC key the CA refuses it; with the key id
/// and MAC key, from a file or the environment, the account is registered and the certificate
/// issued. Nothing is presented before the account exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_registers_with_an_external_account_binding() {
    let s = servers();
    let name = unique("eab");
    let wildcard = format!("*.{name}");
    let issue = |dir: &Path| {
        let dir = dir.to_owned();
        let name = name.clone();
        async move {
            cli_dns_command_at(&s.pebble_eab_directory, "dns-01", &dir, &name, &s.pdns_dns).await
        }
    };
    let refused = |mut command: tokio::process::Command| async move {
        let out = command.stdin(Stdio::null()).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{stderr}");
        assert!(!stderr.contains("order created"), "{stderr}");
        stderr
    };

    let tmp = tempfile::tempdir().unwrap();
    let stderr = refused(issue(tmp.path()).await).await;
    assert!(
        stderr.contains("externalAccountRequired")
            && stderr.contains(
                "this CA registers only accounts bound to an account with it: give the key id \
                 and MAC key it shows you (External Account Binding, --eab-kid and \
                 --eab-hmac-key-file)"
            ),
        "{stderr}"
    );
    assert!(!tmp.path().join("account.json").exists());

    let wrong = tmp.path().join("wrong-mac-key");
    std::fs::write(&wrong, "d3JvbmcgbWFjIGtleSBvZiB0aGlydHkgdHdvIGJ5dGVzISE").unwrap();
    let mut command = issue(tmp.path()).await;
    command
        .args(["--eab-kid", &s.pebble_eab_kid, "--eab-hmac-key-file"])
        .arg(&wrong);
    let stderr = refused(command).await;
    assert!(stderr.contains("register an account"), "{stderr}");
    assert!(!tmp.path().join("account.json").exists());

    let key_file = tmp.path().join("mac-key");
    std::fs::write(&key_file, format!("{}\n", s.pebble_eab_hmac_key)).unwrap();
    let mut command = issue(tmp.path()).await;
    command
        .args(["--eab-kid", &s.pebble_eab_kid, "--eab-hmac-key-file"])
        .arg(&key_file);
    let stderr = run_issue_with(
        command,
        &tmp.path().join("out"),
        &[&name, &wildcard],
        &s.pebble_eab_mgmt,
    )
    .await;
    assert!(stderr.contains("registered"), "{stderr}");
    assert!(!stderr.contains(s.pebble_eab_hmac_key.as_str()), "{stderr}");
    assert_nothing_left("example.test.", &name);

    // The key from the environment, for a second account.
    let tmp = tempfile::tempdir().unwrap();
    let mut command = issue(tmp.path()).await;
    command
        .args(["--eab-kid", &s.pebble_eab_kid])
        .env("ACMEBOX_EAB_HMAC_KEY", &s.pebble_eab_hmac_key);
    run_issue_with(
        command,
        &tmp.path().join("out"),
        &[&name, &wildcard],
        &s.pebble_eab_mgmt,
    )
    .await;
    assert_nothing_left("example.test.", &name);
}

/// `acmebox renew` for one lineage: `XDG_STATE_HOME` (where `issue` registers lineages) is
/// `state`; the provider's key comes from the environment as for `issue`.
/// Called after an `issue`, which built the binary.
async fn renew(state: &Path, extra: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(acmebox_bin())
        .args(["renew", "--all"])
        .args(extra)
        .env("XDG_STATE_HOME", state)
        .env(API_KEY_VAR, &servers().pdns_api_key)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("running acmebox renew");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sets what Pebble's renewal information answers for the certificate in `cert` (RFC 9773;
/// Pebble's management endpoint takes any text).
fn set_renewal_info(cert: &Path, answer: &str) {
    let s = servers();
    let body = json!({
        "Certificate": std::fs::read_to_string(cert).expect("reading the certificate"),
        "ARIResponse": answer,
    });
    let out = Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "--cacert",
            &s.pebble_ca_cert,
            "-X",
            "POST",
            "--data-binary",
        ])
        .arg(body.to_string())
        .arg(format!("{}/set-renewal-info/", s.pebble_mgmt))
        .output()
        .expect("running curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The public key of a PEM certificate or private key, as openssl prints it.
fn public_key(args: &[&str], path: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .arg("-in")
        .arg(path)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The serial number of the certificate at `path`.
fn serial(path: &Path) -> String {
    let pem = std::fs::read(path).expect("reading the certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("a PEM certificate");
    pem.parse_x509()
        .expect("a certificate")
        .raw_serial_as_string()
}

/// An `issue` with a deploy hook that appends `$ACMEBOX_RENEWED $ACMEBOX_DOMAINS` to
/// `hook.log`, its lineage registered under `state`.
async fn issue_lineage(dir: &Path, state: &Path, name: &str) -> PathBuf {
    let s = servers();
    issue_lineage_at(&s.pebble_directory, &s.pebble_mgmt, dir, state, name).await
}

/// [`issue_lineage`] from the Pebble at `directory` (management URL `mgmt`).
async fn issue_lineage_at(
    directory: &str,
    mgmt: &str,
    dir: &Path,
    state: &Path,
    name: &str,
) -> PathBuf {
    let s = servers();
    let wildcard = format!("*.{name}");
    let log = dir.join("hook.log");
    let mut command = cli_dns_command_at(directory, "dns-01", dir, name, &s.pdns_dns).await;
    command.env("XDG_STATE_HOME", state).args([
        "--deploy-hook",
        &format!(
            "echo \"$ACMEBOX_RENEWED $ACMEBOX_DOMAINS\" >> {}",
            log.display()
        ),
    ]);
    run_issue_with(command, &dir.join("out"), &[name, &wildcard], mgmt).await;
    assert_eq!(
        std::fs::read_to_string(&log).expect("the deploy hook wrote its log"),
        format!("0 {name} {wildcard}\n")
    );
    dir.join("out")
}

/// `renew --all` follows the CA's renewal window (ARI): not due at first; once the window is
/// in the past it still waits for the CA's Retry-After; then it renews, the new order
/// replacing the old certificate, the new key beside the new certificate, the deploy hook
/// run once; and the renewed certificate is not due again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_follows_the_cas_window_and_runs_the_deploy_hook_once() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let name = unique("renew-ari");
    let out = issue_lineage(tmp.path(), &state, &name).await;
    let paths = acmebox::client::OutputPaths::in_dir(&out);
    let first = serial(&paths.cert);

    let (ok, stderr) = renew(&state, &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("not due until") && stderr.contains("(ARI); the CA is asked again after"),
        "{stderr}"
    );
    assert!(
        stderr.contains("0 renewed, 1 not due, 0 failed"),
        "{stderr}"
    );
    assert_eq!(serial(&paths.cert), first);

    // The CA now says: renew (a window in the past). Its Retry-After has not passed yet.
    set_renewal_info(
        &paths.cert,
        r#"{"suggestedWindow":{"start":"2020-01-01T00:00:00Z","end":"2020-01-02T00:00:00Z"}}"#,
    );
    let (ok, stderr) = renew(&state, &[]).await;
    assert!(ok && stderr.contains("0 renewed, 1 not due"), "{stderr}");
    // As if the Retry-After had passed.
    let state_file = out.join("renewal.json");
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    saved["next_check"] = json!(0);
    std::fs::write(&state_file, saved.to_string()).unwrap();
    let (ok, stderr) = renew(&state, &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            "due: the CA's renewal window is 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z (ARI)"
        ) && stderr.contains("; renewing, replacing ")
            && stderr.contains("1 renewed, 0 not due, 0 failed"),
        "{stderr}"
    );
    let second = serial(&paths.cert);
    assert_ne!(second, first);
    assert_eq!(
        public_key(&["x509", "-noout", "-pubkey"], &paths.cert),
        public_key(&["pkey", "-pubout"], &paths.key),
        "the live key is the renewed certificate's"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("hook.log")).unwrap(),
        format!("0 {name} *.{name}\n1 {name} *.{name}\n")
    );
    assert_nothing_left("example.test.", &name);

    let (ok, stderr) = renew(&state, &[]).await;
    assert!(ok && stderr.contains("0 renewed, 1 not due"), "{stderr}");
    assert_eq!(serial(&paths.cert), second);
}

/// Without usable renewal information (the CA's answer is not JSON), a share of the lifetime
/// decides: a fresh 90-day certificate is not due with a third left, and is with all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_without_renewal_information_uses_a_share_of_the_lifetime() {
    let s = servers();
    renew_by_lifetime(
        &s.pebble_directory,
        &s.pebble_mgmt,
        "its renewal information is unusable",
    )
    .await;
}

/// A CA without ACME Renewal Information at all (Pebble v2.5.2: no `renewalInfo` in its
/// directory): the same share of the lifetime decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_from_a_ca_without_renewal_information_uses_a_share_of_the_lifetime() {
    let s = servers();
    renew_by_lifetime(
        &s.pebble_noari_directory,
        &s.pebble_noari_mgmt,
        "the CA offers no renewal information",
    )
    .await;
}

/// Issues a lineage from the Pebble at `directory` and checks that `renew` decides by the
/// share of the lifetime left, saying `why` there is no window.
async fn renew_by_lifetime(directory: &str, mgmt: &str, why: &str) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let state = tmp.path().join("state");
    let name = unique("renew-life");
    let out = issue_lineage_at(directory, mgmt, tmp.path(), &state, &name).await;
    let paths = acmebox::client::OutputPaths::in_dir(&out);
    let first = serial(&paths.cert);
    if directory == servers().pebble_directory {
        set_renewal_info(&paths.cert, "not json");
    }

    let (ok, stderr) = renew(&state, &[]).await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(why)
            && stderr.contains("so renewal is due when 33% of the lifetime is left")
            && stderr.contains("0 renewed, 1 not due"),
        "{stderr}"
    );
    let (ok, stderr) = renew(&state, &["--renew-remaining", "1"]).await;
    assert!(ok && stderr.contains("1 renewed"), "{stderr}");
    assert_ne!(serial(&paths.cert), first);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("hook.log")).expect("the hook's log"),
        format!("0 {name} *.{name}\n1 {name} *.{name}\n")
    );
    assert_nothing_left("example.test.", &name);
}

/// `acmebox revoke` with the account of the lineage: Pebble lists the certificate as revoked
/// for the reason given, and its renewal information then says renew now, which `renew --all`
/// does. A certificate without a lineage or account is refused with what to pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_uses_the_lineages_account_and_renew_replaces_the_revoked_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let name = unique("revoke");
    let out = issue_lineage(tmp.path(), &state, &name).await;
    let paths = acmebox::client::OutputPaths::in_dir(&out);
    let first = serial(&paths.cert);

    let cert = paths.cert.display().to_string();
    let done = revoke(&["--cert", &cert, "--reason", "superseded"]);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("revoked {cert} (Superseded)")),
        "{stderr}"
    );
    let status = pebble_cert_status(&first);
    assert_eq!(status["Status"], "Revoked", "{status}");
    assert_eq!(status["Reason"], 4, "{status}");

    let (ok, stderr) = renew(&state, &[]).await;
    assert!(ok && stderr.contains("1 renewed"), "{stderr}");
    assert_ne!(serial(&paths.cert), first);
    assert_nothing_left("example.test.", &name);

    let lone = tmp.path().join("lone.pem");
    std::fs::copy(&paths.cert, &lone).unwrap();
    let refused = revoke(&["--cert", &lone.display().to_string()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "has no lineage.json beside it, so the account that got it is unknown: pass \
             --directory <url> and --account <file>"
        ),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// dns-persist-01 (validated by Pebble): the first `issue` finds no persistent record, places
/// `_validation-persist.<name>` through the provider (the CA's issuer domain name, the account,
/// `policy=wildcard` for the wildcard) and leaves it; the second validates with no provider
/// call; `persist show` prints it as served; `persist remove` removes it, after which an order
/// without a provider fails with the CA's explanation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_persist_01_places_the_record_once_and_leaves_it() {
    let s = servers();
    let tmp = tempfile::tempdir().unwrap();
    let name = unique("persist");
    let wildcard = format!("*.{name}");
    let fqdn = format!("_validation-persist.{name}.");
    let out = tmp.path().join("out");

    let command = cli_dns_command("dns-persist-01", tmp.path(), &name, &s.pdns_dns).await;
    let stderr = run_issue(command, &out, &[&name, &wildcard]).await;
    assert!(
        stderr.contains(&format!("dns-persist-01 record placed at {fqdn}")),
        "{stderr}"
    );
    let account = stderr
        .split("account ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("issue names the account")
        .to_owned();
    let expected = format!("pebble.letsencrypt.org; accounturi={account}; policy=wildcard");
    assert_eq!(
        txt_values_in("example.test.", &fqdn).unwrap(),
        vec![expected.clone()]
    );

    let command = cli_dns_command("dns-persist-01", tmp.path(), &name, &s.pdns_dns).await;
    let stderr = run_issue(command, &out, &[&name, &wildcard]).await;
    assert!(
        stderr.contains(&format!(
            "dns-persist-01 record at {fqdn} already in place; no provider call"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("audit:"), "no provider call: {stderr}");
    assert_eq!(
        txt_values_in("example.test.", &fqdn).unwrap(),
        vec![expected.clone()]
    );

    let persist = |action: &str| {
        let mut command = Command::new(acmebox_bin());
        command
            .args(["persist", action, "-d", &name, "-d", &wildcard])
            .args([
                "--directory",
                &s.pebble_directory,
                "--ca-cert",
                &s.pebble_ca_cert,
            ])
            .arg("--account")
            .arg(tmp.path().join("account.json"))
            .arg("--config")
            .arg(tmp.path().join("acmebox.toml"))
            .args(["--provider", "pdns", "--resolver", &s.pdns_dns])
            .args(["--authoritative", &s.pdns_dns])
            .env(API_KEY_VAR, &s.pdns_api_key)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("running acmebox persist")
    };
    let shown = persist("show");
    let stdout = String::from_utf8_lossy(&shown.stdout);
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(shown.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), format!("{fqdn} TXT \"{expected}\""));
    assert!(stderr.contains("served by every nameserver"), "{stderr}");
    let removed = persist("remove");
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    assert!(txt_values_in("example.test.", &fqdn).unwrap().is_empty());

    // Without the record and without a provider, the CA refuses, and says why.
    let mut command = Command::new(acmebox_bin());
    command
        .args([
            "issue",
            "-d",
            &name,
            "--challenge",
            "dns-persist-01",
            "--agree-tos",
        ])
        .args([
            "--directory",
            &s.pebble_directory,
            "--ca-cert",
            &s.pebble_ca_cert,
        ])
        .arg("--account")
        .arg(tmp.path().join("account.json"))
        .arg("--out")
        .arg(tmp.path().join("refused"))
        .stdin(Stdio::null());
    let refused = command.output().expect("running acmebox issue");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("No TXT records found for DNS-PERSIST-01"),
        "{stderr}"
    );
}

/// `acmebox revoke` with `args`.
fn revoke(args: &[&str]) -> std::process::Output {
    Command::new(acmebox_bin())
        .arg("revoke")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("running acmebox revoke")
}

/// What Pebble's management API says of the certificate with serial `serial` (hex, colons
/// allowed).
fn pebble_cert_status(serial: &str) -> serde_json::Value {
    let s = servers();
    let status = Command::new("curl")
        .args(["-sS", "--fail", "--cacert", &s.pebble_ca_cert])
        .arg(format!(
            "{}/cert-status-by-serial/{}",
            s.pebble_mgmt,
            serial.replace(':', "")
        ))
        .output()
        .expect("running curl");
    serde_json::from_slice(&status.stdout).expect("Pebble answers JSON")
}

/// Revocation signed by the certificate's own key (RFC 8555 §7.6), with no account and no
/// lineage: a key of another certificate is refused before anything is sent; the key in the
/// SEC1 form lego writes revokes it (Pebble lists it revoked for key compromise); a second
/// revocation shows the CA's refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_by_the_certificates_own_key_needs_no_account() {
    let s = servers();
    let tmp = tempfile::tempdir().unwrap();
    let name = unique("revoke-key");
    let out = issue_lineage(tmp.path(), &tmp.path().join("state"), &name).await;
    let paths = acmebox::client::OutputPaths::in_dir(&out);
    let serial_hex = serial(&paths.cert);
    let lone = tmp.path().join("lone");
    std::fs::create_dir(&lone).unwrap();
    let cert = lone.join("cert.pem");
    std::fs::copy(&paths.cert, &cert).unwrap();
    let (sec1, other) = (lone.join("sec1.pem"), lone.join("other.pem"));
    let key = &paths.key;
    for args in [
        vec![
            "ec",
            "-in",
            key.to_str().unwrap(),
            "-out",
            sec1.to_str().unwrap(),
        ],
        vec![
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            other.to_str().unwrap(),
        ],
    ] {
        let made = Command::new("openssl").args(&args).output().unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    assert!(
        std::fs::read_to_string(&sec1)
            .unwrap()
            .contains("BEGIN EC PRIVATE KEY")
    );
    let by_key = |key: &Path, reason: &str| {
        revoke(&[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--directory",
            &s.pebble_directory,
            "--ca-cert",
            &s.pebble_ca_cert,
            "--reason",
            reason,
        ])
    };

    let refused = by_key(&other, "keyCompromise");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("does not hold the certificate's private key"),
        "{stderr}"
    );
    assert_eq!(pebble_cert_status(&serial_hex)["Status"], "Valid");

    let done = by_key(&sec1, "keyCompromise");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("signed by its own key"), "{stderr}");
    let status = pebble_cert_status(&serial_hex);
    assert_eq!(status["Status"], "Revoked", "{status}");
    assert_eq!(status["Reason"], 1, "{status}");

    let again = by_key(&sec1, "keyCompromise");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && stderr.contains("has already been revoked"),
        "{stderr}"
    );
}

/// `--csr`: the certificate is for the caller's own request (made by openssl, for a name and
/// its wildcard), signed for the caller's key, and acmebox writes no key; a request for other
/// names than asked is refused before any order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_issues_for_a_csr_and_writes_no_key() {
    let s = servers();
    let tmp = tempfile::tempdir().unwrap();
    let name = unique("csr");
    let wildcard = format!("*.{name}");
    let key = tmp.path().join("own.key");
    let csr = tmp.path().join("request.csr");
    let made = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .args(["-subj", &format!("/CN={name}"), "-addext"])
        .arg(format!("subjectAltName=DNS:{name},DNS:{wildcard}"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let mut command = cli_dns_command("dns-01", tmp.path(), &name, &s.pdns_dns).await;
    command.arg("--csr").arg(&csr);
    let out = command.stdin(Stdio::null()).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let paths = acmebox::client::OutputPaths::in_dir(&tmp.path().join("out"));
    acmebox_tests::certs::check_chain_issued_by(
        &paths.cert,
        &paths.chain,
        &[&name, &wildcard],
        &s.pebble_mgmt,
    );
    assert!(
        !paths.key.exists(),
        "acmebox wrote a key for a request it did not make"
    );
    assert_eq!(
        public_key(&["x509", "-noout", "-pubkey"], &paths.cert),
        public_key(&["pkey", "-pubout"], &key),
        "the certificate is for the request's key"
    );
    assert_nothing_left("example.test.", &name);

    let other = unique("csr-other");
    let tmp = tempfile::tempdir().unwrap();
    let mut command = cli_dns_command("dns-01", tmp.path(), &other, &s.pdns_dns).await;
    command.arg("--csr").arg(&csr);
    let out = command.stdin(Stdio::null()).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the certificate signing request is for *.{name}, {name} but the identifiers asked \
             for are *.{other}, {other}; ask for the names the request holds"
        )) && !stderr.contains("order created"),
        "{stderr}"
    );
}
