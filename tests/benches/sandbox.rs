//! Sandbox hot paths: loading a cached component, and one `present` call without HTTP
//! (fresh store, instantiation, call, teardown).

use std::hint::black_box;

use acmebox::config::ConfigValue;
use acmebox::sandbox::{CacheStatus, ProviderSpec, Sandbox, TxtRecord};
use acmebox_tests::guests::fixture;
use criterion::{Criterion, criterion_group, criterion_main};

fn record() -> TxtRecord {
    TxtRecord {
        domain: "example.com".into(),
        fqdn: "_acme-challenge.example.com.".into(),
        value: "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0".into(),
        ttl: 60,
        zone: None,
    }
}

fn benches(c: &mut Criterion) {
    let good = fixture("fixture-good").expect("fixture-good builds");
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::new(&dir.path().join("cache")).expect("sandbox");
    // Warm the cache.
    sandbox
        .load(ProviderSpec::new("good", &good))
        .expect("first load");

    c.bench_function("sandbox/load_cached", |b| {
        b.iter(|| {
            let p = sandbox
                .load(ProviderSpec::new("good", black_box(&good)))
                .expect("cached load");
            assert_eq!(p.cache_status(), CacheStatus::Hit);
            p
        })
    });

    let mut spec = ProviderSpec::new("good", &good);
    spec.config
        .insert("mode".into(), ConfigValue::Plain("nohttp".into()));
    let provider = sandbox.load(spec).expect("load");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let record = record();
    c.bench_function("sandbox/present_nohttp", |b| {
        b.to_async(&runtime).iter(|| async {
            let report = provider.present(black_box(&record)).await;
            assert!(report.is_ok(), "{:?}", report.error());
        })
    });
}

criterion_group!(sandbox, benches);
criterion_main!(sandbox);
