//! Fairness in `acmebox serve`: the latency of a good provider's `present` through the service
//! while another provider of the same service runs CPU loops, against the same with no such
//! load, in one run.
//!
//! The service is `HttpreqServer` (what `acmebox serve` runs) with two providers on a
//! multi-thread runtime with one worker per core, as the command builds it:
//!
//! * `good`: fixture-good, which POSTs to a loopback HTTP server of this bench;
//! * `spinner`: fixture-hostile looping on the CPU until its deadline (the default, 30 s), at
//!   most 8 calls at once.
//!
//! A client on a thread of its own sends `POST /good/present` one after another; under load,
//! 8 more clients keep 8 spinner calls running (distinct names, so none waits for another).
//! Printed: p50, p99 and max of the good provider's latency in both phases, and the ratio of
//! the p99s (target: at most 1.5x).
//!
//! ```text
//! cargo bench -p acmebox-tests --bench serve_fairness [-- --requests 300]
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use acmebox::config::{ConfigValue, Secret};
use acmebox::hooks::HookRunner;
use acmebox::hooks::httpreq::HttpreqServer;
use acmebox::sandbox::{ProviderSpec, Sandbox};
use acmebox_tests::danger;
use acmebox_tests::guests::fixture;
use acmebox_tests::http_server::TestServer;
use anyhow::{Context, ensure};

const SPINNERS: usize = 8;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(300);

    // The service's runtime, as `acmebox serve` builds it: one worker per core.
    let service = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let (addr, api) = service.block_on(start(dir.path()))?;

    // The clients' runtime, on threads of their own.
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = clients.block_on(async move {
        let client = reqwest::Client::new();
        // Warm-up: compiled code, connections, the test server.
        measure(&client, addr, 20, "warm").await?;
        let quiet = measure(&client, addr, requests, "quiet").await?;

        let stop = Arc::new(AtomicBool::new(false));
        let load: Vec<_> = (0..SPINNERS)
            .map(|i| {
                let (client, stop) = (client.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let body = serde_json::json!({
                            "fqdn": format!("_acme-challenge.s{i}-{n}.example.com."),
                            "value": "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
                        });
                        let _ = client
                            .post(format!("http://{addr}/spinner/present"))
                            .body(body.to_string())
                            .send()
                            .await;
                        n += 1;
                    }
                })
            })
            .collect();
        wait_for_running(&client, addr).await?;
        let loaded = measure(&client, addr, requests, "loaded").await?;
        stop.store(true, Ordering::Relaxed);
        let (running, _) = spinner_threads()?;
        for task in load {
            task.abort();
        }
        anyhow::Ok((quiet, loaded, running))
    });
    let (quiet, loaded, running) = result?;
    print_table(&quiet, &loaded, running, requests);
    drop(api);
    // The spinner calls run on to their deadline; the process ends them.
    std::process::exit(0)
}

/// Starts the loopback API fixture-good talks to and the service with both providers.
async fn start(dir: &std::path::Path) -> anyhow::Result<(SocketAddr, TestServer)> {
    let api = TestServer::start(200, "{}").await?;
    let sandbox = Sandbox::new(&dir.join("cache"))?;
    let mut good = ProviderSpec::new("good", fixture("fixture-good")?);
    good.allow = vec![danger(api.origin())];
    good.config
        .insert("endpoint".into(), ConfigValue::Plain(api.origin()));
    good.config
        .insert("token".into(), ConfigValue::Secret(Secret::new("tok-123")));
    let mut spinner = ProviderSpec::new("spinner", fixture("fixture-hostile")?);
    spinner
        .config
        .insert("steps".into(), ConfigValue::Plain("spin".into()));
    spinner.limits.max_concurrent_calls = SPINNERS;
    let runners = vec![
        HookRunner::new(sandbox.load(good)?),
        HookRunner::new(sandbox.load(spinner)?),
    ];
    let server = HttpreqServer::bind_providers("127.0.0.1:0".parse()?, runners, None).await?;
    let addr = server.local_addr();
    tokio::spawn(server.serve());
    Ok((addr, api))
}

/// `n` good presents one after another; their latencies, sorted.
async fn measure(
    client: &reqwest::Client,
    addr: SocketAddr,
    n: usize,
    phase: &str,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let body = serde_json::json!({
            "fqdn": format!("_acme-challenge.{phase}{i}.example.com."),
            "value": "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
        });
        let started = Instant::now();
        let answer = client
            .post(format!("http://{addr}/good/present"))
            .body(body.to_string())
            .send()
            .await
            .context("the service did not answer")?;
        let status = answer.status();
        let text = answer.text().await?;
        latencies.push(started.elapsed());
        ensure!(status == 200, "good present failed: {status} {text}");
    }
    latencies.sort();
    Ok(latencies)
}

/// Waits until eight spinner calls run, each on its thread (named `acmebox:spinner`; such a
/// thread ends with its call, having lowered its priority), all at their lowest priority. The
/// service's own answer (a 404 for an unknown provider) must come meanwhile.
async fn wait_for_running(client: &reqwest::Client, addr: SocketAddr) -> anyhow::Result<()> {
    let answer = client
        .post(format!("http://{addr}/nobody/present"))
        .body("{}")
        .send()
        .await?;
    ensure!(
        answer.status() == 404,
        "unexpected answer {}",
        answer.status()
    );
    while spinner_threads()?.1 < SPINNERS {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// The spinner calls' threads running, and how many of them already run at the lowest
/// priority: the idle scheduling class (policy 5, field 41 of `/proc/self/task/<id>/stat`)
/// or nice 19 (field 19).
fn spinner_threads() -> anyhow::Result<(usize, usize)> {
    let (mut running, mut lowered) = (0, 0);
    for task in std::fs::read_dir("/proc/self/task")? {
        let path = task?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() != "acmebox:spinner" {
            continue;
        }
        running += 1;
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // After the command in parentheses: state is field 3, so field N is at N - 3.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).copied().unwrap_or_default();
        if field(41) == "5" || field(19) == "19" {
            lowered += 1;
        }
    }
    Ok((running, lowered))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn print_table(quiet: &[Duration], loaded: &[Duration], running: usize, requests: usize) {
    println!(
        "good provider's present through serve, {requests} requests per phase; under load, \
         {SPINNERS} spinner calls at once ({running} still running at the end):"
    );
    println!("| phase | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, l) in [("quiet", quiet), ("8 CPU loops beside", loaded)] {
        println!(
            "| {name} | {} | {} | {} |",
            ms(percentile(l, 0.5)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap_or(&Duration::ZERO))
        );
    }
    let ratio = percentile(loaded, 0.99).as_secs_f64() / percentile(quiet, 0.99).as_secs_f64();
    println!("p99 loaded / quiet: {ratio:.2}x (target at most 1.5x)");
}
