//! acmebox as a DNS-01 hook, against the hooks in use today and under load, on the PowerDNS
//! provider and a real PowerDNS (`scripts/servers.sh`; `bench/run.sh clients` starts a private
//! one). Not a criterion bench: each mode runs once and prints a markdown table.
//!
//! ```text
//! cargo bench -p acmebox-tests --bench hooks -- pairs --lego-exec BIN --script bench/pdns-exec.sh [--pairs 100]
//! cargo bench -p acmebox-tests --bench hooks -- scale [--challenges 1000] [--concurrency N]
//! cargo bench -p acmebox-tests --bench hooks -- serve --acmebox BIN [--requests 10000] [--concurrency 32]
//! ```
//!
//! * `pairs`: one present + cleanup, three ways, interleaved: `acmebox-lego-exec` (two
//!   processes, as lego runs it), a shell script with curl and jq (two processes), and the
//!   library in this process (`WasmDnsProvider::present` / `cleanup`, component loaded once).
//! * `scale`: many challenges at once (distinct names) through one loaded provider on a
//!   two-thread runtime: wall time, presents/s, PowerDNS's 5xx answers the provider retried,
//!   peak memory (`VmHWM`), and what is left in the zone afterwards.
//! * `serve`: `acmebox serve` in a child process, driven over loopback by this one with bounded
//!   concurrency (present, then cleanup, per name): requests/s, latency percentiles, errors,
//!   the provider's upstream requests per call, what is left.
//!
//! All three use record names the provider must find the zone for (no zone given), as with a
//! hook: three requests per call (GET /zones, GET the rrset, PATCH).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acmebox::config::Config;
use acmebox::hooks::DnsRequest;
use acmebox::sandbox::{CallReport, Sandbox, TxtRecord, WasmDnsProvider};
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::servers::servers;
use anyhow::{Context, bail, ensure};
use serde_json::Value;

fn main() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some((mode, rest)) = args.split_first() else {
        bail!("usage: hooks pairs|scale|serve [options] (see the file's doc)");
    };
    let opts = Options::parse(rest)?;
    let setup = Setup::new()?;
    match mode.as_str() {
        "pairs" => pairs(&setup, &opts),
        "scale" => scale(&setup, &opts),
        "serve" => serve(&setup, &opts),
        other => bail!("unknown mode {other}; expected pairs, scale or serve"),
    }
}

/// `--name value` options.
struct Options(Vec<(String, String)>);

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut out = Vec::new();
        let mut it = args.iter();
        while let Some(name) = it.next() {
            let Some(name) = name.strip_prefix("--") else {
                bail!("unexpected argument {name}");
            };
            let value = it
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            out.push((name.to_owned(), value.clone()));
        }
        Ok(Options(out))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        let text = self
            .text(name)
            .with_context(|| format!("--{name} is required"))?;
        std::fs::canonicalize(text).with_context(|| format!("--{name} {text}: not found"))
    }

    fn number(&self, name: &str, default: usize) -> anyhow::Result<usize> {
        self.text(name)
            .map_or(Ok(default), str::parse)
            .with_context(|| format!("--{name} is not a number"))
    }
}

/// The acmebox config (PowerDNS provider as `pdns`, key in a file, a private component cache)
/// and the PowerDNS API for checks.
struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    origin: String,
    key: String,
    zone_url: String,
    tag: String,
}

impl Setup {
    fn new() -> anyhow::Result<Self> {
        let s = servers();
        let origin =
            s.pdns_api_url[..s.pdns_api_url.find("/api/v1").context("an API URL")?].to_owned();
        let component = provider("acmebox-provider-powerdns")?;
        let dir = tempfile::tempdir()?;
        let key_file = dir.path().join("pdns-api-key");
        std::fs::write(&key_file, &s.pdns_api_key)?;
        let config = dir.path().join("acmebox.toml");
        std::fs::write(
            &config,
            format!(
                "cache_dir = {cache:?}\n\n[providers.pdns]\ncomponent = {component:?}\n\
                 allow = [{grant:?}]\nttl = 60\n\n[providers.pdns.config]\napi_url = {origin:?}\n\
                 api_key = {{ file = {key:?}, secret = true }}\n",
                cache = dir.path().join("cache").display().to_string(),
                component = component.display().to_string(),
                key = key_file.display().to_string(),
                grant = danger(&origin),
            ),
        )?;
        Ok(Setup {
            _dir: dir,
            config,
            zone_url: format!("{}/zones/example.test.", s.pdns_api_url),
            origin,
            key: s.pdns_api_key.clone(),
            tag: format!("b{}", std::process::id()),
        })
    }

    /// The provider, loaded as the hooks load it (the first load compiles into the cache).
    fn load(&self) -> anyhow::Result<WasmDnsProvider> {
        let config = Config::load(&self.config)?;
        Ok(Sandbox::new(config.cache_dir())?.load(config.provider_spec("pdns")?)?)
    }

    /// Record `i` of a run: a name of its own under example.test and a valid DNS-01 value.
    fn record(&self, kind: &str, i: usize) -> (String, String) {
        (
            format!("_acme-challenge.{kind}-{i}-{}.example.test.", self.tag),
            format!("{i:0>43}"),
        )
    }

    /// TXT rrsets of this run still in the zone.
    async fn left(&self, client: &reqwest::Client) -> anyhow::Result<usize> {
        Ok(self.left_names(client).await?.len())
    }

    /// Deletes what a run left behind (after it was counted), so the next run starts clean.
    async fn sweep(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        let names = self.left_names(client).await?;
        if names.is_empty() {
            return Ok(());
        }
        let rrsets: Vec<Value> = names
            .iter()
            .map(|n| serde_json::json!({ "name": n, "type": "TXT", "changetype": "DELETE" }))
            .collect();
        client
            .patch(&self.zone_url)
            .header("x-api-key", &self.key)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "rrsets": rrsets }).to_string())
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    async fn left_names(&self, client: &reqwest::Client) -> anyhow::Result<Vec<String>> {
        let body = client
            .get(&self.zone_url)
            .header("x-api-key", &self.key)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let zone: Value = serde_json::from_slice(&body)?;
        let suffix = format!("-{}.example.test.", self.tag);
        Ok(zone["rrsets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == "TXT")
            .filter_map(|r| r["name"].as_str())
            .filter(|n| n.ends_with(&suffix))
            .map(str::to_owned)
            .collect())
    }
}

fn txt(fqdn: &str, value: &str) -> anyhow::Result<TxtRecord> {
    Ok(DnsRequest::Record {
        fqdn: fqdn.to_owned(),
        value: value.to_owned(),
    }
    .txt_record(60)?)
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().no_proxy().build()?)
}

fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?)
}

/// The value at quantile `q` of sorted `v`.
fn quantile(v: &[Duration], q: f64) -> Duration {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short vector"
    )]
    let i = ((v.len().saturating_sub(1)) as f64 * q).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `VmHWM` (peak resident memory) of a process, in MiB.
fn peak_mib(pid: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("no VmHWM")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}

/// 5xx answers (PowerDNS refusing a write) in a call's audit: each is one retried round.
fn server_errors(report: &CallReport) -> usize {
    report
        .audit
        .iter()
        .filter(|a| a.status.is_some_and(|s| s >= 500))
        .count()
}

fn run_process(mut command: Command, what: &str) -> anyhow::Result<()> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    ensure!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// pairs

fn pairs(setup: &Setup, opts: &Options) -> anyhow::Result<()> {
    let lego_exec = opts.path("lego-exec")?;
    let script = opts.path("script")?;
    let n = opts.number("pairs", 100)?;
    let warmup = 5;
    let rt = runtime(2)?;
    let provider = setup.load()?;
    let client = client()?;

    let exec = |program: &Path, kind: &str, i: usize| -> anyhow::Result<Duration> {
        let (fqdn, value) = setup.record(kind, i);
        let start = Instant::now();
        for op in ["present", "cleanup"] {
            let mut command = Command::new(program);
            command
                .args([op, &fqdn, &value])
                .env("ACMEBOX_CONFIG", &setup.config)
                .env("ACMEBOX_PROVIDER", "pdns")
                .env("PDNS_API_URL", &setup.origin)
                .env("PDNS_API_KEY", &setup.key);
            run_process(command, &format!("{} {op}", program.display()))?;
        }
        Ok(start.elapsed())
    };
    let library = |i: usize| -> anyhow::Result<Duration> {
        let (fqdn, value) = setup.record("lib", i);
        let record = txt(&fqdn, &value)?;
        rt.block_on(async {
            let start = Instant::now();
            let present = provider.present(&record).await;
            let cleanup = provider.cleanup(&record).await;
            let took = start.elapsed();
            ensure!(present.is_ok(), "present failed: {:?}", present.error());
            ensure!(cleanup.is_ok(), "cleanup failed: {:?}", cleanup.error());
            Ok(took)
        })
    };

    let mut times: [Vec<Duration>; 3] = Default::default();
    for i in 0..warmup + n {
        // Interleaved, so the machine's load falls on all three alike.
        let round = [
            exec(&lego_exec, "lego", i)?,
            exec(&script, "sh", i)?,
            library(i)?,
        ];
        if i >= warmup {
            for (t, d) in times.iter_mut().zip(round) {
                t.push(d);
            }
        }
    }
    for t in &mut times {
        t.sort();
    }
    let left = rt.block_on(setup.left(&client))?;
    let lib = quantile(&times[2], 0.5).as_secs_f64();
    let sh = quantile(&times[1], 0.5).as_secs_f64();
    println!("### One present + cleanup, {n} pairs each (after {warmup} warm-up pairs)\n");
    println!("| Hook | median | p10 | p90 | vs library | vs curl script |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, t) in [
        ("`acmebox-lego-exec` (2 processes)", &times[0]),
        ("shell script with curl + jq (2 processes)", &times[1]),
        ("library, `WasmDnsProvider` in process", &times[2]),
    ] {
        let median = quantile(t, 0.5).as_secs_f64();
        println!(
            "| {name} | {} | {} | {} | {:.1}× | {:.2}× |",
            ms(quantile(t, 0.5)),
            ms(quantile(t, 0.1)),
            ms(quantile(t, 0.9)),
            median / lib,
            median / sh,
        );
    }
    println!("\nTXT rrsets left in PowerDNS: {left}");
    ensure!(left == 0, "{left} TXT rrsets were left behind");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// scale

struct Phase {
    wall: Duration,
    failed: usize,
    retries: usize,
    calls_retried: usize,
    latencies: Vec<Duration>,
    /// Each distinct error and how often it happened.
    errors: std::collections::BTreeMap<String, usize>,
}

async fn phase(
    provider: &WasmDnsProvider,
    records: &[TxtRecord],
    present: bool,
    concurrency: usize,
) -> Phase {
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let start = Instant::now();
    let tasks: Vec<_> = records
        .iter()
        .cloned()
        .map(|record| {
            let provider = provider.clone();
            let slots = slots.clone();
            tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                let t = Instant::now();
                let report = if present {
                    provider.present(&record).await
                } else {
                    provider.cleanup(&record).await
                };
                (report, t.elapsed())
            })
        })
        .collect();
    let mut out = Phase {
        wall: Duration::ZERO,
        failed: 0,
        retries: 0,
        calls_retried: 0,
        latencies: Vec::new(),
        errors: Default::default(),
    };
    for task in tasks {
        let Ok((report, took)) = task.await else {
            out.failed += 1;
            continue;
        };
        let errors = server_errors(&report);
        out.retries += errors;
        out.calls_retried += usize::from(errors > 0);
        out.failed += usize::from(!report.is_ok());
        if let Some(err) = report.error() {
            // Without the query, which names the record: one line per kind of error.
            let text = err.to_string();
            let key = text.split('?').next().unwrap_or(&text).to_owned();
            *out.errors.entry(key).or_default() += 1;
        }
        out.latencies.push(took);
    }
    out.wall = start.elapsed();
    out.latencies.sort();
    out
}

fn scale(setup: &Setup, opts: &Options) -> anyhow::Result<()> {
    let n = opts.number("challenges", 1000)?;
    let concurrency = opts.number("concurrency", n)?;
    let rt = runtime(2)?;
    let provider = setup.load()?;
    let client = client()?;
    let records = (0..n)
        .map(|i| {
            let (fqdn, value) = setup.record("scale", i);
            txt(&fqdn, &value)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // One call first, so the baseline includes what any call sets up once.
    rt.block_on(async {
        let warm = txt(&setup.record("warm", 0).0, &setup.record("warm", 0).1)?;
        ensure!(provider.present(&warm).await.is_ok(), "warm-up present");
        ensure!(provider.cleanup(&warm).await.is_ok(), "warm-up cleanup");
        Ok(())
    })?;
    let baseline = peak_mib("self")?;
    let (presents, after_presents, cleanups, left) = rt.block_on(async {
        let presents = phase(&provider, &records, true, concurrency).await;
        let after_presents = setup.left(&client).await?;
        let cleanups = phase(&provider, &records, false, concurrency).await;
        let left = setup.left(&client).await?;
        anyhow::Ok((presents, after_presents, cleanups, left))
    })?;
    let peak = peak_mib("self")?;
    rt.block_on(setup.sweep(&client))?;
    println!(
        "### {n} challenges, {concurrency} at a time, one process, 2 worker threads \
         (provider loaded once)\n"
    );
    println!("| Phase | wall | calls/s | failed | 5xx retried (calls) | p50 | p90 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, p) in [("present", &presents), ("cleanup", &cleanups)] {
        println!(
            "| {name} | {:.2} s | {:.0} | {} | {} ({}) | {} | {} | {} | {} |",
            p.wall.as_secs_f64(),
            n as f64 / p.wall.as_secs_f64(),
            p.failed,
            p.retries,
            p.calls_retried,
            ms(quantile(&p.latencies, 0.5)),
            ms(quantile(&p.latencies, 0.9)),
            ms(quantile(&p.latencies, 0.99)),
            ms(quantile(&p.latencies, 1.0)),
        );
    }
    println!(
        "\nTXT rrsets after the presents: {after_presents} of {n}; after the cleanups: {left}. \
         Peak RSS (VmHWM): {baseline:.0} MiB after loading and one call, {peak:.0} MiB at the end \
         ({:.1} KiB per concurrent challenge).",
        (peak - baseline) * 1024.0 / concurrency.min(n) as f64
    );
    for (name, p) in [("present", &presents), ("cleanup", &cleanups)] {
        for (error, count) in &p.errors {
            println!("\n{name}: {count} × {error}");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// serve

/// `acmebox serve` on a free loopback port; killed when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    statuses: std::collections::BTreeMap<u16, usize>,
    transport_errors: usize,
    upstream_requests: usize,
    calls_retried: usize,
}

fn serve(setup: &Setup, opts: &Options) -> anyhow::Result<()> {
    let acmebox = opts.path("acmebox")?;
    let requests = opts.number("requests", 10_000)?;
    let concurrency = opts.number("concurrency", 32)?;
    let pairs = requests / 2;
    // The component is compiled into the cache before the server starts.
    drop(setup.load()?);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(&acmebox)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--config")
        .arg(&setup.config)
        .args(["--provider", "pdns"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting acmebox serve")?;
    let server = Serve(child);
    let pid = server.0.id().to_string();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "acmebox serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let idle = peak_mib(&pid)?;
    // The load generator: one thread, so the server and PowerDNS keep the cores.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let records: Arc<Vec<(String, String)>> =
        Arc::new((0..pairs).map(|i| setup.record("serve", i)).collect());
    let (wall, outcome, left) = rt.block_on(async {
        let start = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, next, base) = (client.clone(), next.clone(), base.clone());
                let records = records.clone();
                tokio::spawn(async move {
                    let mut out = Outcome::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((fqdn, value)) = records.get(i) else {
                            return out;
                        };
                        let body = serde_json::json!({ "fqdn": fqdn, "value": value }).to_string();
                        for op in ["present", "cleanup"] {
                            let t = Instant::now();
                            let response = client
                                .post(format!("{base}/{op}"))
                                .header("content-type", "application/json")
                                .body(body.clone())
                                .send()
                                .await;
                            let response = match response {
                                Ok(r) => r,
                                Err(_) => {
                                    out.transport_errors += 1;
                                    continue;
                                }
                            };
                            let status = response.status().as_u16();
                            let bytes = response.bytes().await.unwrap_or_default();
                            out.latencies.push(t.elapsed());
                            *out.statuses.entry(status).or_default() += 1;
                            let summary: Value =
                                serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let made = summary["requests"]
                                .as_u64()
                                .and_then(|r| usize::try_from(r).ok())
                                .unwrap_or(0);
                            out.upstream_requests += made;
                            // Three requests a call without a retry; more means PowerDNS
                            // refused a write and the provider started over.
                            out.calls_retried += usize::from(made > 3);
                        }
                    }
                })
            })
            .collect();
        let mut all = Outcome::default();
        for w in workers {
            let out = w.await?;
            all.latencies.extend(out.latencies);
            for (s, c) in out.statuses {
                *all.statuses.entry(s).or_default() += c;
            }
            all.transport_errors += out.transport_errors;
            all.upstream_requests += out.upstream_requests;
            all.calls_retried += out.calls_retried;
        }
        let wall = start.elapsed();
        let left = setup.left(&client).await?;
        setup.sweep(&client).await?;
        anyhow::Ok((wall, all, left))
    })?;
    let peak = peak_mib(&pid)?;
    drop(server);
    let mut lat = outcome.latencies;
    lat.sort();
    let done = lat.len();
    let ok = outcome.statuses.get(&200).copied().unwrap_or(0);
    let errors: Vec<String> = outcome
        .statuses
        .iter()
        .filter(|(s, _)| **s != 200)
        .map(|(s, c)| format!("{c} × {s}"))
        .chain(
            (outcome.transport_errors > 0)
                .then(|| format!("{} transport", outcome.transport_errors)),
        )
        .collect();
    println!(
        "### `acmebox serve`: {requests} requests ({pairs} names, present then cleanup), \
         {concurrency} at a time from a second process\n"
    );
    println!(
        "| requests/s | p50 | p90 | p99 | max | 200 | errors | calls retried | PowerDNS requests/call | left |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    println!(
        "| {:.0} | {} | {} | {} | {} | {ok} | {} | {} | {:.2} | {left} |",
        done as f64 / wall.as_secs_f64(),
        ms(quantile(&lat, 0.5)),
        ms(quantile(&lat, 0.9)),
        ms(quantile(&lat, 0.99)),
        ms(quantile(&lat, 1.0)),
        if errors.is_empty() {
            "0".to_owned()
        } else {
            errors.join(", ")
        },
        outcome.calls_retried,
        outcome.upstream_requests as f64 / done.max(1) as f64,
    );
    println!(
        "\nWall time {:.1} s. acmebox serve peak RSS (VmHWM): {idle:.0} MiB idle, {peak:.0} MiB \
         at the end.",
        wall.as_secs_f64()
    );
    Ok(())
}
