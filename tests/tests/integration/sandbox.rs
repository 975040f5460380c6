//! The sandbox host against real guest components: limits, egress, audit, cache, config.
//!
//! Every misbehaving fixture is followed by a call of the good provider on the same
//! `Sandbox`, which must still work. Nothing leaves loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use acmebox::config::{Config, ConfigValue, Secret};
use acmebox::sandbox::Error;
use acmebox::sandbox::{
    CacheStatus, CallReport, Decision, Limits, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider,
};
use acmebox_tests::danger;
use acmebox_tests::guests::fixture;
use acmebox_tests::http_server::{SlowServer, TestServer};
use acmebox_tests::support::join_all;

pub(crate) fn record() -> TxtRecord {
    TxtRecord {
        domain: "example.com".into(),
        fqdn: "_acme-challenge.example.com.".into(),
        value: "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0".into(),
        ttl: 60,
        zone: None,
    }
}

pub(crate) fn sandbox() -> anyhow::Result<(Sandbox, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    Ok((Sandbox::new(&dir.path().join("cache"))?, dir))
}

pub(crate) fn spec(
    name: &str,
    component: PathBuf,
    allow: &[String],
    config: &[(&str, ConfigValue)],
) -> ProviderSpec {
    let mut spec = ProviderSpec::new(name, component);
    spec.allow = allow.to_vec();
    spec.config = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect::<BTreeMap<_, _>>();
    spec
}

pub(crate) fn plain(v: impl Into<String>) -> ConfigValue {
    ConfigValue::Plain(v.into())
}

/// fixture-good, named `good`, granted and pointed at `server`.
pub(crate) fn good_spec(server: &TestServer) -> anyhow::Result<ProviderSpec> {
    Ok(spec(
        "good",
        fixture("fixture-good")?,
        &[danger(server.origin())],
        &[
            ("endpoint", plain(server.origin())),
            ("token", ConfigValue::Secret(Secret::new("tok-123"))),
        ],
    ))
}

/// Loads fixture-good granted the test server, presents, and checks it reached the server.
pub(crate) async fn good_still_works(sandbox: &Sandbox) -> anyhow::Result<()> {
    let server = TestServer::start(200, "{}").await?;
    let good = sandbox.load(good_spec(&server)?)?;
    let report = good.present(&record()).await;
    assert!(
        report.is_ok(),
        "good provider failed: {:?}",
        report.error().map(ToString::to_string)
    );
    assert_eq!(server.received().len(), 1, "{report:?}");
    Ok(())
}

pub(crate) fn error_text(report: &CallReport) -> String {
    report
        .error()
        .map(ToString::to_string)
        .unwrap_or_else(|| "no error".into())
}

#[tokio::test]
async fn good_provider_reaches_explicitly_granted_loopback() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let good = sandbox.load(good_spec(&server)?)?;
    let report = good.present(&record()).await;
    assert!(report.is_ok(), "{}", error_text(&report));
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "POST");
    assert!(
        received[0].target.starts_with("/present"),
        "{}",
        received[0].target
    );
    assert_eq!(report.audit.len(), 1);
    let audit = &report.audit[0];
    assert_eq!(audit.decision, Decision::Allowed);
    assert_eq!(audit.status, Some(200));
    assert_eq!(
        (audit.host.as_str(), audit.port),
        ("127.0.0.1", server.port())
    );
    assert!(audit.bytes_sent > 0);
    // fixture-good logs its token on purpose: it must arrive redacted, and nowhere else.
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message.contains("(token [redacted])")),
        "{:?}",
        report.logs
    );
    let everything = format!("{report:?} {} {good:?}", serde_json::to_string(&report)?);
    assert!(
        !everything.contains("tok-123"),
        "secret leaked: {everything}"
    );
    let report = good.cleanup(&record()).await;
    assert!(report.is_ok(), "{}", error_text(&report));
    Ok(())
}

#[tokio::test]
async fn endless_loop_hits_the_deadline() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let mut s = spec("loop", fixture("fixture-loop")?, &[], &[]);
    s.limits.timeout = Duration::from_secs(1);
    let provider = sandbox.load(s)?;
    let started = Instant::now();
    let report = provider.present(&record()).await;
    assert_eq!(
        error_text(&report),
        "provider `loop` exceeded its 1 s deadline during present"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn allocation_hits_the_memory_limit() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let provider = sandbox.load(spec("alloc", fixture("fixture-alloc")?, &[], &[]))?;
    let report = provider.present(&record()).await;
    assert_eq!(
        error_text(&report),
        "provider `alloc` exceeded its 64 MiB memory limit during present"
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn panic_is_a_trap() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let provider = sandbox.load(spec("panic", fixture("fixture-panic")?, &[], &[]))?;
    let report = provider.present(&record()).await;
    let Some(Error::ProviderTrap {
        provider, message, ..
    }) = report.error()
    else {
        panic!("expected a trap, got {}", error_text(&report));
    };
    assert_eq!(provider, "panic");
    assert!(message.contains("unreachable"), "{message}");
    assert!(error_text(&report).starts_with("provider `panic` trapped during present: "));
    assert!(
        report.logs.iter().any(|l| l.message.contains("panicked")),
        "{:?}",
        report.logs
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn request_outside_the_grant_is_denied_and_secret_redacted() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let secret_url = format!(
        "http://127.0.0.1:{}/hunter2-s3cret/records?key=q",
        server.port()
    );
    let provider = sandbox.load(spec(
        "egress",
        fixture("fixture-egress")?,
        &["https://dns.example.com".to_owned()],
        &[("url", ConfigValue::Secret(Secret::new(secret_url.clone())))],
    ))?;
    let report = provider.present(&record()).await;
    let text = error_text(&report);
    let origin = server.origin();
    assert!(
        text.contains(&format!(
            "is not in its allow list; add `danger:{origin}` to `allow` if that is intended"
        )),
        "{text}"
    );
    assert!(
        matches!(report.error(), Some(Error::ProviderFailed { .. })),
        "{text}"
    );
    assert!(server.received().is_empty());
    assert_eq!(report.audit.len(), 1);
    assert_eq!(report.audit[0].decision, Decision::Denied);
    let everything = format!(
        "{text} {:?} {:?} {} {provider:?}",
        report.audit,
        report.logs,
        serde_json::to_string(&report)?
    );
    assert!(
        !everything.contains("hunter2"),
        "secret leaked: {everything}"
    );
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message.contains("not in its allow list"))
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn ssrf_targets_are_denied() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let port = server.port();
    let targets = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://localhost:{port}/"),
    ];
    let provider = sandbox.load(spec(
        "ssrf",
        fixture("fixture-ssrf")?,
        &[danger(format!("http://localhost:{port}"))],
        &[("urls", plain(targets.join(",")))],
    ))?;
    let report = provider.present(&record()).await;
    assert!(server.received().is_empty(), "a request reached loopback");
    assert_eq!(report.audit.len(), targets.len(), "{:?}", report.audit);
    for (audit, target) in report.audit.iter().zip(&targets) {
        assert_eq!(audit.decision, Decision::Denied, "{target}: {audit:?}");
    }
    let localhost = &report.audit[3];
    let reason = localhost.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("localhost resolves to") && reason.contains("loopback"),
        "{reason}"
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn cache_is_reused_keyed_and_not_trusted_when_tampered() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = dir.path().join("cache");
    let good = fixture("fixture-good")?;
    let load = |path: &Path| -> anyhow::Result<(WasmDnsProvider, Duration)> {
        let started = Instant::now();
        let p = Sandbox::new(&cache)?.load(ProviderSpec::new("good", path))?;
        Ok((p, started.elapsed()))
    };
    let (first, cold) = load(&good)?;
    assert_eq!(first.cache_status(), CacheStatus::Miss);
    let (second, warm) = load(&good)?;
    assert_eq!(second.cache_status(), CacheStatus::Hit);
    assert!(
        warm < cold,
        "cached load {warm:?} not faster than compile {cold:?}"
    );
    let artifacts: Vec<PathBuf> = std::fs::read_dir(&cache)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    let artifact = artifacts
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("an artifact");
    assert!(
        artifact
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(first.sha256())
    );
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cache)?.permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(artifact)?.permissions().mode() & 0o777,
            0o600
        );
    }
    let mut bytes = std::fs::read(artifact)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(artifact, &bytes)?;
    let (third, _) = load(&good)?;
    assert_eq!(third.cache_status(), CacheStatus::Rejected);
    // A different component gets its own key.
    let other = fixture("fixture-panic")?;
    let (fourth, _) = load(&other)?;
    assert_eq!(fourth.cache_status(), CacheStatus::Miss);
    assert_ne!(fourth.sha256(), first.sha256());
    Ok(())
}

#[tokio::test]
async fn sha256_pin_mismatch_is_refused() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let mut s = ProviderSpec::new("good", fixture("fixture-good")?);
    s.sha256 = Some("00".repeat(32));
    let err = sandbox.load(s).unwrap_err().to_string();
    assert!(
        err.contains(&"00".repeat(32)) && err.contains("update `sha256`"),
        "{err}"
    );
    let actual = sandbox
        .load(ProviderSpec::new("good", fixture("fixture-good")?))?
        .sha256()
        .to_owned();
    assert!(err.contains(&actual), "{err}");
    Ok(())
}

#[tokio::test]
async fn unprovided_import_is_refused_by_name() -> anyhow::Result<()> {
    let (sandbox, dir) = sandbox()?;
    let wasm = wat::parse_str(r#"(component (import "evil:net/raw-socket@1.0.0" (instance)))"#)?;
    let path = dir.path().join("evil.wasm");
    std::fs::write(&path, wasm)?;
    let err = sandbox
        .load(ProviderSpec::new("evil", &path))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("provider `evil` imports `evil:net/raw-socket@1.0.0`"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn config_file_limits_and_unknown_keys() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let loop_wasm = fixture("fixture-loop")?;
    let alloc_wasm = fixture("fixture-alloc")?;
    let path = dir.path().join("acmebox.toml");
    std::fs::write(
        &path,
        format!(
            "cache_dir = \"cache\"\n\
             [providers.loop]\ncomponent = {loop_wasm:?}\ntimeout_secs = 1\n\
             [providers.alloc]\ncomponent = {alloc_wasm:?}\nmemory_mib = 16\n"
        ),
    )?;
    let config = Config::load(&path)?;
    let sandbox = Sandbox::new(config.cache_dir())?;
    let report = sandbox
        .load(config.provider_spec("loop")?)?
        .present(&record())
        .await;
    assert_eq!(
        error_text(&report),
        "provider `loop` exceeded its 1 s deadline during present"
    );
    let report = sandbox
        .load(config.provider_spec("alloc")?)?
        .present(&record())
        .await;
    assert_eq!(
        error_text(&report),
        "provider `alloc` exceeded its 16 MiB memory limit during present"
    );
    good_still_works(&sandbox).await?;

    std::fs::write(
        &path,
        "[providers.x]\ncomponent = \"x.wasm\"\nmemroy_mib = 1\n",
    )?;
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(err.contains("memroy_mib"), "{err}");
    assert_eq!(Limits::default().memory_bytes, 64 * 1024 * 1024);
    Ok(())
}

#[tokio::test]
async fn wasi_gives_no_files_and_no_environment() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let provider = sandbox.load(spec("fs", fixture("fixture-fs")?, &[], &[]))?;
    let report = provider.present(&record()).await;
    let text = error_text(&report);
    assert!(text.contains("/etc/passwd: error:"), "{text}");
    assert!(text.contains("read_dir /: error:"), "{text}");
    assert!(text.contains("HOME: error:"), "{text}");
    assert!(text.contains("env vars: 0; args: 0"), "{text}");
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn requests_over_max_requests_are_denied() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let origin = server.origin();
    let urls: Vec<String> = (1..=3).map(|i| format!("{origin}/{i}")).collect();
    let mut s = spec(
        "many",
        fixture("fixture-ssrf")?,
        &[danger(&origin)],
        &[("urls", plain(urls.join(",")))],
    );
    s.limits.max_requests = 2;
    let provider = sandbox.load(s)?;
    let report = provider.present(&record()).await;
    let denial = format!(
        "provider `many` asked for {origin}/3 but has already made 2 requests in this call; \
         raise `max_requests` if that is intended"
    );
    assert_eq!(
        error_text(&report),
        format!(
            "provider `many` failed during present: {origin}/1 => status 200; \
             {origin}/2 => status 200; {origin}/3 => transport-error: GET {origin}/3: {denial}"
        )
    );
    assert_eq!(server.received().len(), 2);
    let decisions: Vec<Decision> = report.audit.iter().map(|a| a.decision).collect();
    assert_eq!(
        decisions,
        [Decision::Allowed, Decision::Allowed, Decision::Denied]
    );
    assert_eq!(report.audit[2].reason.as_deref(), Some(denial.as_str()));
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn request_body_over_its_limit_is_denied() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let origin = server.origin();
    let mut s = spec(
        "good",
        fixture("fixture-good")?,
        &[danger(&origin)],
        &[
            ("endpoint", plain(origin.clone())),
            ("token", ConfigValue::Secret(Secret::new("tok-123"))),
        ],
    );
    s.limits.max_request_body_bytes = 16;
    let provider = sandbox.load(s)?;
    let report = provider.present(&record()).await;
    let denial = format!(
        "provider `good` asked for {origin}/present with a request body larger than its limit \
         of 16 bytes"
    );
    assert_eq!(
        error_text(&report),
        format!(
            "provider `good` failed during present: transport error: POST {origin}/present: \
             {denial}"
        )
    );
    assert!(server.received().is_empty(), "the body left the host");
    assert_eq!(report.audit.len(), 1);
    assert_eq!(report.audit[0].decision, Decision::Denied);
    assert_eq!(report.audit[0].reason.as_deref(), Some(denial.as_str()));
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn response_body_over_its_limit_is_refused() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "x".repeat(64 * 1024)).await?;
    let origin = server.origin();
    let mut s = spec(
        "good",
        fixture("fixture-good")?,
        &[danger(&origin)],
        &[
            ("endpoint", plain(origin.clone())),
            ("token", ConfigValue::Secret(Secret::new("tok-123"))),
        ],
    );
    s.limits.max_response_body_bytes = 1024;
    let provider = sandbox.load(s)?;
    let report = provider.present(&record()).await;
    assert_eq!(
        error_text(&report),
        format!(
            "provider `good` failed during present: transport error: POST {origin}/present: \
             HttpResponseBodySize(Some(1024))"
        )
    );
    assert_eq!(server.received().len(), 1);
    let reason = format!(
        "provider `good` asked for {origin}/present and got a response body larger than its \
         limit of 1024 bytes"
    );
    assert_eq!(report.audit.len(), 1);
    let audit = &report.audit[0];
    assert_eq!(audit.decision, Decision::Allowed);
    assert_eq!(audit.status, Some(200));
    assert_eq!(audit.reason.as_deref(), Some(reason.as_str()));
    assert!(
        report.logs.iter().any(|l| l.message == reason),
        "{:?}",
        report.logs
    );
    good_still_works(&sandbox).await
}

/// fixture-good granted `server`, its calls capped at `max_concurrent_calls`.
fn good_at(
    server: &SlowServer,
    sandbox: &Sandbox,
    max_concurrent_calls: usize,
) -> anyhow::Result<WasmDnsProvider> {
    let origin = server.origin().to_owned();
    let mut spec = spec(
        "good",
        fixture("fixture-good")?,
        &[danger(&origin)],
        &[
            ("endpoint", plain(origin.clone())),
            ("token", ConfigValue::Secret(Secret::new("tok-123"))),
        ],
    );
    spec.limits.max_concurrent_calls = max_concurrent_calls;
    Ok(sandbox.load(spec)?)
}

/// `n` records at distinct names, so the per-name lock never orders them.
fn distinct_records(n: usize) -> Vec<TxtRecord> {
    (0..n)
        .map(|i| TxtRecord {
            domain: format!("n{i}.example.com"),
            fqdn: format!("_acme-challenge.n{i}.example.com."),
            ..record()
        })
        .collect()
}

fn failures(reports: &[CallReport]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| r.error().map(ToString::to_string))
        .collect()
}

/// More calls at once than the pooling allocator has slots (256): the later ones wait for a
/// slot instead of failing to instantiate. The server holds every answer for a second, so all
/// calls are in flight together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_concurrent_calls_than_pool_slots_all_succeed() -> anyhow::Result<()> {
    const CALLS: usize = 300;
    let server = SlowServer::start(Duration::from_secs(1)).await?;
    let (sandbox, _dir) = sandbox()?;
    let good = good_at(&server, &sandbox, CALLS)?;
    let records = distinct_records(CALLS);
    let reports = join_all(records.iter().map(|r| good.present(r))).await;
    let failed = failures(&reports);
    assert!(
        failed.is_empty(),
        "{} of {CALLS} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    // Never more than the pool at once (other tests in this process may hold a few slots of
    // the same process-wide pool), and most of it in use.
    let most = server.most_at_once();
    assert!((200..=256).contains(&most), "{most} calls at once");
    Ok(())
}

/// A provider's calls beyond `max_concurrent_calls` wait their turn, and the wait does not
/// count against their deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_concurrency_limit_wait_their_turn() -> anyhow::Result<()> {
    let server = SlowServer::start(Duration::from_secs(1)).await?;
    let (sandbox, _dir) = sandbox()?;
    let records = distinct_records(12);
    let capped = good_at(&server, &sandbox, 3)?;
    let reports = join_all(records.iter().map(|r| capped.present(r))).await;
    assert!(failures(&reports).is_empty(), "{:?}", failures(&reports));
    assert_eq!(server.most_at_once(), 3);
    // Four turns of a second each; the last calls waited three seconds for theirs, but a
    // call's duration (and its deadline) covers only its own turn.
    let durations: Vec<Duration> = reports.iter().map(|r| r.duration).collect();
    assert!(
        durations.iter().all(|d| *d < Duration::from_secs(3)),
        "{durations:?}"
    );
    // The same calls with room for all of them run more at once (all 12 unless other tests
    // in this process hold the shared pool's slots).
    let roomy = good_at(&server, &sandbox, 12)?;
    let reports = join_all(records.iter().map(|r| roomy.present(r))).await;
    assert!(failures(&reports).is_empty(), "{:?}", failures(&reports));
    let most = server.most_at_once();
    assert!((4..=12).contains(&most), "{most} calls at once");
    Ok(())
}
