//! The SDK's request signers in the sandbox against the same code natively: the share of a
//! provider's time that signing takes, and what the sandbox adds to it.
//!
//! The guest side is `tests/fixtures/fixture-sign`: its `present` signs one typical DNS-01
//! request `iterations` times. A round times `present` with `ITERATIONS` and with 0 on the same
//! loaded provider (a fresh instance per call either way); the difference over `ITERATIONS` is
//! one signature in the guest. The native side is the same loop (`src/sign.rs`) built for the
//! host with the same release profile (`examples/native.rs`), twice: as built for the host
//! (SHA-1 and SHA-256 in hardware where the CPU has SHA-NI, RSA with 64-bit limbs) and with
//! the software hashing the guest runs (`--features soft-hash`). Medians of `ROUNDS` rounds.
//!
//! Run with `cargo bench -p acmebox-tests --bench signing`. It prints a markdown table for
//! BENCHMARKS.md; the target is a guest within 2x of native.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use acmebox::config::ConfigValue;
use acmebox::sandbox::{ProviderSpec, Sandbox};
use acmebox_tests::guests::{fixture, run_native_example};
use acmebox_tests::repo_root;
use acmebox_tests::support::{APEX_VALUE, record};
use serde_json::Value;

/// Signatures per timed call, per scheme: enough that the call's fixed cost (a fresh instance,
/// about 0.1 ms) is a small part of the difference.
const ITERATIONS: &[(&str, u32)] = &[("jwt-rs256", 40)];
const DEFAULT_ITERATIONS: u32 = 4000;

const ROUNDS: usize = 11;

fn iterations(scheme: &str) -> u32 {
    ITERATIONS
        .iter()
        .find(|(s, _)| *s == scheme)
        .map_or(DEFAULT_ITERATIONS, |(_, n)| *n)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fixtures = repo_root().join("tests").join("fixtures");
    let component = fixture("fixture-sign").expect("build fixture-sign");
    let cache = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::new(cache.path()).expect("sandbox");

    // Natively as built for this host (SHA-NI where the CPU has it, 64-bit RSA limbs), and
    // with software SHA-1/SHA-256, the hashing code the guest runs.
    let (native, schemes) = native_per_op(&fixtures, &[]);
    let (portable, _) = native_per_op(&fixtures, &["soft-hash"]);

    println!(
        "| scheme | native, µs | native, software SHA, µs | in the sandbox, µs | sandbox / native | sandbox / software SHA |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for scheme in &schemes {
        let n = iterations(scheme);
        let load = |iterations: u32| {
            let mut spec =
                ProviderSpec::new(format!("sign-{scheme}-{iterations}"), component.clone());
            spec.config = BTreeMap::from([
                ("scheme".to_owned(), ConfigValue::Plain(scheme.clone())),
                (
                    "iterations".to_owned(),
                    ConfigValue::Plain(iterations.to_string()),
                ),
            ]);
            spec.limits.timeout = Duration::from_secs(120);
            sandbox.load(spec).expect("load fixture-sign")
        };
        let (busy, idle) = (load(n), load(0));
        let target = record("sign.example.test", APEX_VALUE, Some("example.test."));
        let time = |provider: &acmebox::sandbox::WasmDnsProvider| {
            let start = Instant::now();
            let report = runtime.block_on(provider.present(&target));
            assert!(report.error().is_none(), "{scheme}: {:?}", report.error());
            start.elapsed()
        };
        time(&busy);
        time(&idle);
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            with.push(time(&busy));
            without.push(time(&idle));
        }
        with.sort();
        without.sort();
        let guest_ns = with[ROUNDS / 2]
            .saturating_sub(without[ROUNDS / 2])
            .as_secs_f64()
            * 1e9
            / f64::from(n);
        let (native_ns, portable_ns) = (native[scheme], portable[scheme]);
        println!(
            "| {scheme} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            native_ns / 1e3,
            portable_ns / 1e3,
            guest_ns / 1e3,
            guest_ns / native_ns,
            guest_ns / portable_ns
        );
    }
}

/// Nanoseconds per signature of each scheme natively, with the fixture's cargo `features`, and
/// the schemes in the order the fixture runs them.
fn native_per_op(
    fixtures: &std::path::Path,
    features: &[&str],
) -> (BTreeMap<String, f64>, Vec<String>) {
    let out = run_native_example(fixtures, "fixture-sign", "native", features, &["2000"])
        .expect("native run");
    let mut per_op = BTreeMap::new();
    let mut schemes = Vec::new();
    for line in out.lines() {
        let row: Value = serde_json::from_str(line).expect("a JSON line");
        let scheme = row["scheme"].as_str().expect("scheme").to_owned();
        per_op.insert(
            scheme.clone(),
            row["ns_per_op"].as_f64().expect("ns_per_op"),
        );
        schemes.push(scheme);
    }
    (per_op, schemes)
}
