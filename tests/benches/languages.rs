//! The same sandbox, providers in three languages: the Rust and Python PowerDNS providers and
//! the JavaScript httpreq provider. For each, in one run:
//!
//! * component size;
//! * first load (compile, empty cache) and cached load (a fresh `Sandbox` on the same cache);
//! * a call without HTTP (`describe`: fresh store, instantiation, call, teardown);
//! * `present` + `cleanup` of one value against the local PowerDNS (the JavaScript provider
//!   through the test httpreq endpoint, which writes to the same PowerDNS, so its figure
//!   includes that hop);
//! * resident memory per concurrent call: 64 presents held open at once by an endpoint that
//!   answers after a second (the provider allowed 64 calls at once), the process's peak RSS
//!   above its level before, divided by 64.
//!
//! Medians of several rounds. Run with `cargo bench -p acmebox-tests --bench languages`; it
//! starts (or shares) the test PowerDNS like the integration tests do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{CacheStatus, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider};
use acmebox_tests::danger;
use acmebox_tests::guests::{js_provider, provider, python_provider};
use acmebox_tests::http_server::SlowServer;
use acmebox_tests::httpreq_endpoint::HttpreqEndpoint;
use acmebox_tests::pdns::{self, RrsetCleanup};
use acmebox_tests::servers::servers;
use acmebox_tests::support::{APEX_VALUE, join_all, record, unique};

/// Rounds for the timed calls; the median is reported.
const ROUNDS: usize = 30;

/// Calls held open at once for the memory figure.
const HELD: usize = 64;

/// One provider under test: how to configure it against a given API origin.
struct Subject {
    language: &'static str,
    component: PathBuf,
    /// The config keys pointing it at `origin` (and its credentials).
    config: fn(origin: &str) -> BTreeMap<String, ConfigValue>,
}

fn pdns_config(origin: &str) -> BTreeMap<String, ConfigValue> {
    BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(origin.to_owned())),
        (
            "api_key".to_owned(),
            ConfigValue::Secret(Secret::new(&servers().pdns_api_key)),
        ),
    ])
}

fn httpreq_config(origin: &str) -> BTreeMap<String, ConfigValue> {
    BTreeMap::from([("endpoint".to_owned(), ConfigValue::Plain(origin.to_owned()))])
}

fn spec(subject: &Subject, origin: &str) -> ProviderSpec {
    let mut spec = ProviderSpec::new(subject.language, &subject.component);
    spec.allow = vec![danger(origin)];
    spec.config = (subject.config)(origin);
    spec
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

struct Row {
    language: &'static str,
    size: u64,
    first_load: Duration,
    cached_load: Duration,
    describe: Duration,
    present_cleanup: Duration,
    rss_per_call_kib: u64,
}

async fn measure(subject: &Subject, origin: &str) -> Row {
    let size = std::fs::metadata(&subject.component)
        .map(|m| m.len())
        .unwrap_or(0);
    let cache = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let first = Sandbox::new(cache.path())
        .expect("sandbox")
        .load(spec(subject, origin))
        .expect("first load");
    let first_load = started.elapsed();
    assert_eq!(first.cache_status(), CacheStatus::Miss);
    drop(first);

    let mut loads = Vec::new();
    let mut provider: Option<WasmDnsProvider> = None;
    for _ in 0..5 {
        let started = Instant::now();
        let loaded = Sandbox::new(cache.path())
            .expect("sandbox")
            .load(spec(subject, origin))
            .expect("cached load");
        loads.push(started.elapsed());
        assert_eq!(loaded.cache_status(), CacheStatus::Hit);
        provider = Some(loaded);
    }
    let provider = provider.expect("loaded");

    let mut describes = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        provider.describe().await.expect("describe");
        describes.push(started.elapsed());
    }

    let mut pairs = Vec::new();
    for _ in 0..ROUNDS {
        let domain = unique(&format!("bench-{}", subject.language));
        let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
        let r = record(&domain, APEX_VALUE, Some(pdns::ZONE));
        let started = Instant::now();
        let present = provider.present(&r).await;
        let cleanup = provider.cleanup(&r).await;
        pairs.push(started.elapsed());
        assert!(
            present.is_ok() && cleanup.is_ok(),
            "{}: {:?} {:?}",
            subject.language,
            present.error().map(ToString::to_string),
            cleanup.error().map(ToString::to_string)
        );
    }

    // Memory: HELD presents against an endpoint that holds every answer for a second.
    let slow = SlowServer::start(Duration::from_secs(1))
        .await
        .expect("slow server");
    let mut held_spec = spec(subject, slow.origin());
    held_spec.limits.max_concurrent_calls = HELD;
    let held = Sandbox::new(cache.path())
        .expect("sandbox")
        .load(held_spec)
        .expect("load against the slow server");
    let records: Vec<TxtRecord> = (0..HELD)
        .map(|i| {
            record(
                &format!("held{i}.example.test"),
                APEX_VALUE,
                Some(pdns::ZONE),
            )
        })
        .collect();
    let before = rss_kib();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            peak = peak.max(rss_kib());
        }
        peak
    });
    let _ = join_all(records.iter().map(|r| held.present(r))).await;
    let peak = sampler.await.unwrap_or(before);
    drop(slow);

    Row {
        language: subject.language,
        size,
        first_load,
        cached_load: median(loads),
        describe: median(describes),
        present_cleanup: median(pairs),
        rss_per_call_kib: peak.saturating_sub(before) / HELD as u64,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects languages by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let subjects = [
        Subject {
            language: "rust",
            component: provider("acmebox-provider-powerdns").expect("Rust provider builds"),
            config: pdns_config,
        },
        Subject {
            language: "python",
            component: python_provider("powerdns-py").expect("Python provider builds"),
            config: pdns_config,
        },
        Subject {
            language: "javascript",
            component: js_provider("httpreq-js").expect("JavaScript provider builds"),
            config: httpreq_config,
        },
    ];
    let rows: Vec<Row> = runtime.block_on(async {
        let endpoint = HttpreqEndpoint::start(None)
            .await
            .expect("httpreq endpoint");
        let mut rows = Vec::new();
        for subject in &subjects {
            if !filter.is_empty() && !filter.iter().any(|f| subject.language.contains(f)) {
                continue;
            }
            let origin = if subject.language == "javascript" {
                endpoint.origin()
            } else {
                pdns::origin()
            };
            rows.push(measure(subject, &origin).await);
        }
        rows
    });
    println!(
        "| language | component | first load (compile) | cached load | describe (no HTTP) | present + cleanup | RSS per held call |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        println!(
            "| {} | {:.1} MB | {} | {} | {} | {} | {} KiB |",
            row.language,
            row.size as f64 / 1e6,
            millis(row.first_load),
            millis(row.cached_load),
            millis(row.describe),
            millis(row.present_cleanup),
            row.rss_per_call_kib
        );
    }
}
