//! `acmebox::client` and `acmebox issue` against the real Pebble: HTTP-01 (built-in responder
//! and webroot), TLS-ALPN-01, account reuse, the cleanup guarantee under injected failures and
//! signals, and errors that say what is wrong.
//!
//! Every test uses its own names (`<test>-<pid>-<n>.example.test`) and temp dirs. Pebble's
//! validator connects to one HTTP-01 port and one TLS-ALPN-01 port, so the tests that listen on
//! them hold [`PEBBLE_PORTS`] for their whole run.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acmebox::challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization, Thumbprint};
use acmebox::challenge::{Error as HandlerError, Phase};
use acmebox::client::Error;
use acmebox::client::{
    Account, AccountOptions, Http01Responder, IssueEvent, IssueRequest, Presented, SharedHandler,
    TlsAlpnResponder,
};
use acmebox::handlers::{ChallengeHandler, FileHttpHandler, async_trait};
use acmebox_tests::certs::{check_certificate, run_issue};
use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::servers::servers;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Held by every test that listens on Pebble's HTTP-01 or TLS-ALPN-01 port.
static PEBBLE_PORTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh name under example.test (the zone's wildcard A record points it at 127.0.0.1).
fn unique(test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{test}-{}-{n}.example.test", std::process::id())
}

fn ids(names: &[&str]) -> Vec<Identifier> {
    names
        .iter()
        .map(|n| Identifier::parse(n).expect("a valid test identifier"))
        .collect()
}

fn options(dir: &Path) -> AccountOptions {
    let s = servers();
    AccountOptions::new(&s.pebble_directory, dir.join("account.json"))
        .with_ca_cert(&s.pebble_ca_cert)
        .with_terms_of_service_agreed(true)
}

fn http_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], servers().pebble_http_port))
}

fn tls_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], servers().pebble_tls_port))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("the file exists")
        .permissions()
        .mode()
        & 0o777
}

/// Collects the progress events of one issuance.
fn recorder() -> (
    Arc<Mutex<Vec<IssueEvent>>>,
    impl Fn(&IssueEvent) + Send + Sync + 'static,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, move |event: &IssueEvent| {
        sink.lock().expect("the event list").push(event.clone())
    })
}

fn kinds(events: &[IssueEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|event| match event {
            IssueEvent::OrderCreated { .. } => "order",
            IssueEvent::AlreadyValid { .. } => "already-valid",
            IssueEvent::ChallengeReady { .. } => "ready",
            IssueEvent::WaitingForPropagation { .. } => "propagation",
            IssueEvent::CheckingReady { .. } => "check",
            IssueEvent::Validating { .. } => "validating",
            IssueEvent::Valid { .. } => "valid",
            IssueEvent::Finalizing => "finalizing",
            IssueEvent::Done { .. } => "done",
            IssueEvent::ChallengeCleanedUp { ok: true, .. } => "removed",
            IssueEvent::CleanedUp { .. } => "cleaned",
            _ => "other",
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_standalone_issues_and_reuses_the_account() {
    let _ports = PEBBLE_PORTS.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let options = options(tmp.path());
    let responder = Arc::new(Http01Responder::bind(http_addr()).await.unwrap());

    let account = Account::load_or_create(&options).await.unwrap();
    assert!(account.created());
    assert_eq!(mode(&tmp.path().join("account.json")), 0o600);
    let stored = std::fs::read(tmp.path().join("account.json")).unwrap();

    let name = unique("http-standalone");
    let (events, progress) = recorder();
    let presented = Presented::new();
    let request = IssueRequest::new(ids(&[&name]), tmp.path().join("out")).with_progress(progress);
    let issued = account
        .issue(request, responder.clone(), &presented)
        .await
        .unwrap();
    check_certificate(issued.paths(), &[&name]);
    assert!(
        responder.is_empty(),
        "the responder still serves {responder:?}"
    );
    assert!(presented.is_empty());
    assert_eq!(
        kinds(&events.lock().unwrap()),
        [
            "order",
            "ready",
            "validating",
            "valid",
            "finalizing",
            "done",
            "removed",
            "cleaned"
        ]
    );

    // The next run reuses the stored account, and the server still knows it.
    let again = Account::load_or_create(&options).await.unwrap();
    assert!(!again.created());
    assert_eq!(again.id(), account.id());
    let name2 = unique("http-standalone");
    let request = IssueRequest::new(ids(&[&name2]), tmp.path().join("out2"));
    let issued = again
        .issue(request, responder.clone(), &presented)
        .await
        .unwrap();
    check_certificate(issued.paths(), &[&name2]);
    assert_eq!(
        std::fs::read(tmp.path().join("account.json")).unwrap(),
        stored
    );

    // The file belongs to this directory URL; another URL is refused, not overwritten.
    let other = AccountOptions::new(
        format!("{}?other", servers().pebble_directory),
        tmp.path().join("account.json"),
    )
    .with_ca_cert(&servers().pebble_ca_cert);
    let err = Account::load_or_create(&other).await.unwrap_err();
    assert!(matches!(err, Error::AccountFile { .. }), "{err}");
    assert!(err.to_string().contains("another account file"), "{err}");
}

/// Serves files below `root` over HTTP/1.1 (GET only, one request per connection): a stand-in
/// for the web server that serves a webroot.
async fn static_file_server(addr: SocketAddr, root: PathBuf) -> tokio::task::JoinHandle<()> {
    let listener = TcpListener::bind(addr)
        .await
        .expect("the webroot server can listen");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let root = root.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or("/");
                let safe = path.starts_with('/') && !path.contains("..");
                let body = if safe {
                    std::fs::read(root.join(&path[1..])).ok()
                } else {
                    None
                };
                let response = match body {
                    Some(body) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_webroot_is_served_from_disk() {
    let _ports = PEBBLE_PORTS.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let webroot = tmp.path().join("webroot");
    std::fs::create_dir(&webroot).unwrap();
    let server = static_file_server(http_addr(), webroot.clone()).await;

    let account = Account::load_or_create(&options(tmp.path())).await.unwrap();
    let (a, b) = (unique("webroot"), unique("webroot"));
    let presented = Presented::new();
    let request = IssueRequest::new(ids(&[&a, &b]), tmp.path().join("out"));
    let handler: SharedHandler = Arc::new(FileHttpHandler::new(&webroot));
    let issued = account.issue(request, handler, &presented).await;
    server.abort();
    let issued = issued.unwrap();
    check_certificate(issued.paths(), &[&a, &b]);
    let left = std::fs::read_dir(webroot.join(".well-known/acme-challenge"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "challenge files were left in the webroot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_standalone_two_names_at_once() {
    let _ports = PEBBLE_PORTS.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let responder = Arc::new(TlsAlpnResponder::bind(tls_addr()).await.unwrap());
    let account = Account::load_or_create(&options(tmp.path())).await.unwrap();
    let (a, b) = (unique("tls-alpn"), unique("tls-alpn"));
    let (events, progress) = recorder();
    let presented = Presented::new();
    let request = IssueRequest::new(ids(&[&a, &b]), tmp.path().join("out")).with_progress(progress);
    let issued = account
        .issue(request, responder.clone(), &presented)
        .await
        .unwrap();
    check_certificate(issued.paths(), &[&a, &b]);
    assert!(responder.is_empty());
    let events = events.lock().unwrap();
    let kinds = kinds(&events);
    // Both responses are up before the first validation starts.
    let first_validating = kinds.iter().position(|k| *k == "validating").unwrap();
    assert_eq!(kinds[..first_validating], ["order", "ready", "ready"]);
    assert_eq!(kinds.iter().filter(|k| **k == "valid").count(), 2);
}

/// A handler that counts calls, can fail the n-th setup or every cleanup, and otherwise passes
/// through to `inner`.
struct Injecting {
    inner: SharedHandler,
    fail_setup: Option<usize>,
    fail_cleanup: bool,
    setups: AtomicUsize,
    cleanups: Mutex<Vec<String>>,
}

impl Injecting {
    fn new(inner: SharedHandler) -> Self {
        Injecting {
            inner,
            fail_setup: None,
            fail_cleanup: false,
            setups: AtomicUsize::new(0),
            cleanups: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl ChallengeHandler for Injecting {
    fn challenge_type(&self) -> ChallengeType {
        self.inner.challenge_type()
    }

    async fn setup(&self, challenge: &Challenge) -> acmebox::challenge::Result<()> {
        let n = self.setups.fetch_add(1, Ordering::SeqCst);
        if self.fail_setup == Some(n) {
            return Err(HandlerError::Handler {
                handler: "injecting test handler",
                phase: Phase::Setup,
                identifier: challenge.identifier.to_string(),
                message: "injected setup failure".into(),
            });
        }
        self.inner.setup(challenge).await
    }

    async fn cleanup(&self, challenge: &Challenge) -> acmebox::challenge::Result<()> {
        self.cleanups
            .lock()
            .expect("the cleanup list")
            .push(challenge.identifier.to_string());
        self.inner.cleanup(challenge).await?;
        if self.fail_cleanup {
            return Err(HandlerError::Handler {
                handler: "injecting test handler",
                phase: Phase::Cleanup,
                identifier: challenge.identifier.to_string(),
                message: "injected cleanup failure".into(),
            });
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_second_setup_rolls_back_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let webroot = tmp.path().join("webroot");
    std::fs::create_dir(&webroot).unwrap();
    let mut handler = Injecting::new(Arc::new(FileHttpHandler::new(&webroot)));
    handler.fail_setup = Some(1);
    let handler = Arc::new(handler);
    let account = Account::load_or_create(&options(tmp.path())).await.unwrap();
    let (a, b) = (unique("rollback"), unique("rollback"));
    let presented = Presented::new();
    let request = IssueRequest::new(ids(&[&a, &b]), tmp.path().join("out"));
    let err = account
        .issue(request, handler.clone(), &presented)
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::Challenge(HandlerError::Handler {
                phase: Phase::Setup,
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("injected setup failure"), "{err}");
    assert_eq!(handler.setups.load(Ordering::SeqCst), 2);
    // Both were cleaned up (the failed one too: cleanup also undoes a half-done setup),
    // newest first.
    let cleanups = handler.cleanups.lock().unwrap().clone();
    assert_eq!(cleanups.len(), 2, "{cleanups:?}");
    let left = std::fs::read_dir(webroot.join(".well-known/acme-challenge"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "the first challenge's file was not removed");
    assert!(presented.is_empty());
    assert!(!tmp.path().join("out").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_failures_are_reported_and_keep_the_original_error() {
    let tmp = tempfile::tempdir().unwrap();
    let webroot = tmp.path().join("webroot");
    std::fs::create_dir(&webroot).unwrap();
    let mut handler = Injecting::new(Arc::new(FileHttpHandler::new(&webroot)));
    handler.fail_setup = Some(1);
    handler.fail_cleanup = true;
    let handler = Arc::new(handler);
    let account = Account::load_or_create(&options(tmp.path())).await.unwrap();
    let (a, b) = (unique("cleanup-fails"), unique("cleanup-fails"));
    let presented = Presented::new();
    let request = IssueRequest::new(ids(&[&a, &b]), tmp.path().join("out"));
    let err = account
        .issue(request, handler.clone(), &presented)
        .await
        .unwrap_err();

    let Error::Cleanup { original, failures } = &err else {
        panic!("expected a cleanup error, got {err}");
    };
    let original = original.as_deref().expect("the setup failure is kept");
    assert!(
        matches!(
            original,
            Error::Challenge(HandlerError::Handler {
                phase: Phase::Setup,
                ..
            })
        ),
        "{original}"
    );
    assert_eq!(failures.len(), 2);
    let message = err.to_string();
    assert!(
        message.starts_with("injecting test handler setup for "),
        "{message}"
    );
    assert!(message.contains("2 cleanups failed"), "{message}");
    assert_eq!(
        message.matches("injected cleanup failure").count(),
        2,
        "{message}"
    );
    assert!(presented.is_empty());
}

/// Publishes a key authorization with the wrong thumbprint, through an HTTP-01 responder.
struct WrongValue(Arc<Http01Responder>);

impl WrongValue {
    fn altered(challenge: &Challenge) -> Challenge {
        let thumbprint =
            Thumbprint::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").expect("a thumbprint");
        let ka = KeyAuthorization::new(&challenge.token, &thumbprint);
        Challenge::new(challenge.kind, challenge.identifier.clone(), ka)
            .expect("same kind and identifier")
    }
}

#[async_trait]
impl ChallengeHandler for WrongValue {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::Http01
    }

    async fn setup(&self, challenge: &Challenge) -> acmebox::challenge::Result<()> {
        self.0.setup(&Self::altered(challenge)).await
    }

    async fn cleanup(&self, challenge: &Challenge) -> acmebox::challenge::Result<()> {
        self.0.cleanup(&Self::altered(challenge)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_value_fails_validation_and_is_cleaned_up() {
    let _ports = PEBBLE_PORTS.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let responder = Arc::new(Http01Responder::bind(http_addr()).await.unwrap());
    let account = Account::load_or_create(&options(tmp.path())).await.unwrap();
    let name = unique("wrong-value");
    let presented = Presented::new();
    let (events, progress) = recorder();
    let request = IssueRequest::new(ids(&[&name]), tmp.path().join("out")).with_progress(progress);
    let err = account
        .issue(request, Arc::new(WrongValue(responder.clone())), &presented)
        .await
        .unwrap_err();

    let Error::ValidationFailed {
        identifier,
        challenge,
        problem_type,
        ..
    } = &err
    else {
        panic!("expected a validation failure, got {err}");
    };
    assert_eq!(identifier, &name);
    assert_eq!(*challenge, ChallengeType::Http01);
    assert_eq!(
        problem_type.as_deref(),
        Some("urn:ietf:params:acme:error:unauthorized")
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("could not validate http-01 for {name}")),
        "{message}"
    );
    assert!(responder.is_empty(), "the wrong value is still served");
    assert!(presented.is_empty());
    assert_eq!(kinds(&events.lock().unwrap()).last(), Some(&"cleaned"));
    assert!(!tmp.path().join("out").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_errors_are_clear() {
    let s = servers();
    let tmp = tempfile::tempdir().unwrap();
    let account_file = tmp.path().join("account.json");

    // Nothing listens there.
    let options = AccountOptions::new("https://127.0.0.1:1/dir", &account_file)
        .with_ca_cert(&s.pebble_ca_cert);
    let err = Account::load_or_create(&options).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Acme { .. }), "{message}");
    assert!(
        message.starts_with("ACME server https://127.0.0.1:1/dir: "),
        "{message}"
    );
    assert!(message.contains("onnection refused"), "{message}");
    assert!(
        message.contains("check that the directory URL is right"),
        "{message}"
    );

    // Pebble, but not its directory.
    let wrong_path = s.pebble_directory.replace("/dir", "/no-such-directory");
    let options = AccountOptions::new(&wrong_path, &account_file).with_ca_cert(&s.pebble_ca_cert);
    let message = Account::load_or_create(&options)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("did not answer with an ACME directory"),
        "{message}"
    );

    // Pebble, without trusting its CA.
    let untrusted_ca = tmp.path().join("other-ca.pem");
    std::fs::write(&untrusted_ca, unrelated_certificate()).unwrap();
    let options =
        AccountOptions::new(&s.pebble_directory, &account_file).with_ca_cert(&untrusted_ca);
    let message = Account::load_or_create(&options)
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("CA certificate is trusted"), "{message}");

    // A CA file that is not one.
    std::fs::write(&untrusted_ca, "not a certificate").unwrap();
    let options =
        AccountOptions::new(&s.pebble_directory, &account_file).with_ca_cert(&untrusted_ca);
    let err = Account::load_or_create(&options).await.unwrap_err();
    assert!(matches!(err, Error::CaCertificate { .. }), "{err}");
    assert!(!account_file.exists());
}

/// A self-signed certificate that did not sign Pebble's listener.
fn unrelated_certificate() -> String {
    let ka = KeyAuthorization::parse(
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    )
    .expect("a key authorization");
    // Any self-signed certificate will do as an unrelated trust anchor.
    let options = acmebox::challenge::tls_alpn01::CertificateOptions::default();
    acmebox::challenge::tls_alpn01::generate(
        &Identifier::parse("other-ca.test").expect("a name"),
        &ka,
        &options,
    )
    .expect("a certificate")
    .cert_pem()
}

fn cli_args(tmp: &Path, names: &[&str]) -> Vec<String> {
    let s = servers();
    let mut args = vec!["issue".to_owned(), "--agree-tos".to_owned()];
    for name in names {
        args.extend(["-d".to_owned(), name.to_string()]);
    }
    args.extend([
        "--directory".to_owned(),
        s.pebble_directory.clone(),
        "--ca-cert".to_owned(),
        s.pebble_ca_cert.clone(),
        "--out".to_owned(),
        tmp.join("out").display().to_string(),
        "--account".to_owned(),
        tmp.join("account.json").display().to_string(),
    ]);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_issues_with_http01_standalone() {
    let bin = tokio::task::spawn_blocking(acmebox_bin).await.unwrap();
    let _ports = PEBBLE_PORTS.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let name = unique("cli");
    let mut command = tokio::process::Command::new(&bin);
    command
        .args(cli_args(tmp.path(), &[&name]))
        .args([
            "--challenge",
            "http-01",
            "--standalone",
            &http_addr().to_string(),
        ])
        .args(["--email", "cli@example.test"]);
    let stderr = run_issue(command, &tmp.path().join("out"), &[&name]).await;
    assert_eq!(mode(&tmp.path().join("account.json")), 0o600);
    for line in [
        "registered",
        "order created",
        "response published",
        "valid",
        "certificate written",
        "cleaned up 1",
    ] {
        assert!(stderr.contains(line), "stderr lacks {line:?}:\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_cleans_up_on_sigterm() {
    let bin = tokio::task::spawn_blocking(acmebox_bin).await.unwrap();
    let _ports = PEBBLE_PORTS.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let webroot = tmp.path().join("webroot");
    std::fs::create_dir(&webroot).unwrap();
    // Pebble's validator connects here and never gets an answer, so the order stays pending.
    let blackhole = TcpListener::bind(http_addr()).await.unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = blackhole.accept().await {
            open.push(stream);
        }
    });

    let name = unique("sigterm");
    let child = tokio::process::Command::new(&bin)
        .args(cli_args(tmp.path(), &[&name]))
        .args(["--challenge", "http-01", "--webroot"])
        .arg(&webroot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();

    // Wait until the challenge file is published, then signal.
    let challenge_dir = webroot.join(".well-known/acme-challenge");
    let published = async {
        loop {
            let count = std::fs::read_dir(&challenge_dir)
                .map(|d| d.count())
                .unwrap_or(0);
            if count > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), published)
        .await
        .expect("no challenge file appeared");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("acmebox did not exit after SIGTERM")
        .unwrap();
    held.abort();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("SIGTERM received; cleaning up 1 challenge response"),
        "{stderr}"
    );
    assert!(
        stderr.contains("interrupted by SIGTERM; cleaned up 1"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&challenge_dir).unwrap().count(),
        0,
        "the challenge file was left behind"
    );
    assert!(!tmp.path().join("out").exists());
}

/// A new account needs `--agree-tos`: without it the CA's terms are named and nothing is
/// registered or ordered. An unknown CA name is refused with the names acmebox knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_asks_to_agree_to_the_terms_of_service() {
    let bin = tokio::task::spawn_blocking(acmebox_bin).await.unwrap();
    let s = servers();
    let tmp = tempfile::tempdir().unwrap();
    let webroot = tmp.path().join("webroot");
    std::fs::create_dir(&webroot).unwrap();
    let name = unique("tos");
    let out = tokio::process::Command::new(&bin)
        .args(["issue", "-d", &name, "--challenge", "http-01", "--webroot"])
        .arg(&webroot)
        .args([
            "--directory",
            &s.pebble_directory,
            "--ca-cert",
            &s.pebble_ca_cert,
        ])
        .arg("--account")
        .arg(tmp.path().join("account.json"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ACME server {} registers accounts that agree to its terms of service, \
             data:text/plain,Do%20what%20thou%20wilt: read them, then agree (--agree-tos)",
            s.pebble_directory
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("order created"), "{stderr}");
    assert!(!tmp.path().join("account.json").exists());

    let out = tokio::process::Command::new(&bin)
        .args(["issue", "-d", &name, "--challenge", "http-01", "--webroot"])
        .arg(&webroot)
        .args(["--directory", "lets-encrypt", "--out", "out"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "lets-encrypt is neither an ACME directory URL nor a CA acmebox knows (letsencrypt, \
             letsencrypt-staging, zerossl, google, google-staging, buypass)"
        ),
        "{stderr}"
    );
}
