//! Sandbox hot paths: loading a cached component, one `present` call without HTTP (fresh
//! store, instantiation, call, teardown), and the first load of a component (compile, cache
//! cold).
//!
//! Kept short on purpose (few samples, a few seconds each): run with
//! `cargo bench -p acmebox-tests --bench sandbox`.

use std::hint::black_box;
use std::time::Duration;

use acmebox::config::ConfigValue;
use acmebox::sandbox::{CacheStatus, ProviderSpec, Sandbox, TxtRecord};
use acmebox_tests::guests::fixture;
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};

fn record() -> TxtRecord {
    TxtRecord {
        domain: "example.com".into(),
        fqdn: "_acme-challenge.example.com.".into(),
        value: "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0".into(),
        ttl: 60,
        zone: None,
    }
}

fn nohttp_spec(component: &std::path::Path) -> ProviderSpec {
    let mut spec = ProviderSpec::new("good", component);
    spec.config
        .insert("mode".into(), ConfigValue::Plain("nohttp".into()));
    spec
}

fn hot_paths(c: &mut Criterion) {
    let good = fixture("fixture-good").expect("fixture-good builds");
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::new(&dir.path().join("cache")).expect("sandbox");
    let first = sandbox.load(nohttp_spec(&good)).expect("first load");
    assert_eq!(first.cache_status(), CacheStatus::Miss);

    let mut group = c.benchmark_group("sandbox");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    group.bench_function("load_cached", |b| {
        b.iter(|| {
            let p = sandbox
                .load(nohttp_spec(black_box(&good)))
                .expect("cached load");
            assert_eq!(p.cache_status(), CacheStatus::Hit);
            p
        })
    });

    let provider = sandbox.load(nohttp_spec(&good)).expect("load");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let record = record();
    group.bench_function("present_nohttp", |b| {
        b.to_async(&runtime).iter(|| async {
            let report = provider.present(black_box(&record)).await;
            assert!(report.is_ok(), "{:?}", report.error());
            report
        })
    });
    group.finish();
}

fn first_load(c: &mut Criterion) {
    let good = fixture("fixture-good").expect("fixture-good builds");
    let mut group = c.benchmark_group("sandbox");
    // Each iteration compiles the component with Cranelift: tens to hundreds of milliseconds,
    // so a few flat samples are enough.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("load_first_compile", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let sandbox = Sandbox::new(&dir.path().join("cache")).expect("sandbox");
                (dir, sandbox)
            },
            |(dir, sandbox)| {
                let p = sandbox.load(nohttp_spec(&good)).expect("first load");
                assert_eq!(p.cache_status(), CacheStatus::Miss);
                (dir, p)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(sandbox, hot_paths, first_load);
criterion_main!(sandbox);
