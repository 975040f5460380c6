//! The cost of the sandbox on a real provider: one `present` plus one `cleanup` through the
//! PowerDNS provider component, against the same GET + PATCH requests made natively with
//! reqwest, both against the test PowerDNS on loopback.
//!
//! Each iteration makes four requests either way (GET the rrset and PATCH it, twice); the zone
//! is given, so the provider does not list zones.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderSpec, Sandbox, TxtRecord};
use acmebox_tests::guests::provider;
use acmebox_tests::servers::servers;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

fn record(domain: &str) -> TxtRecord {
    TxtRecord {
        domain: domain.to_owned(),
        fqdn: format!("_acme-challenge.{domain}."),
        value: VALUE.into(),
        ttl: 60,
        zone: Some("example.test.".into()),
    }
}

/// The same read-modify-write the provider does, natively.
struct Native {
    client: reqwest::Client,
    zone_url: String,
    key: String,
}

impl Native {
    async fn values(&self, fqdn: &str) -> Vec<Value> {
        let response = self
            .client
            .get(format!(
                "{}?rrset_name={fqdn}&rrset_type=TXT",
                self.zone_url
            ))
            .header("x-api-key", &self.key)
            .send()
            .await
            .expect("GET the rrset")
            .error_for_status()
            .expect("GET status");
        let zone: Value =
            serde_json::from_slice(&response.bytes().await.expect("GET body")).expect("JSON");
        zone["rrsets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["name"] == fqdn && r["type"] == "TXT")
            .flat_map(|r| r["records"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    async fn patch(&self, rrset: Value) {
        self.client
            .patch(&self.zone_url)
            .header("x-api-key", &self.key)
            .header("content-type", "application/json")
            .body(json!({ "rrsets": [rrset] }).to_string())
            .send()
            .await
            .expect("PATCH")
            .error_for_status()
            .expect("PATCH status");
    }

    async fn present(&self, record: &TxtRecord) {
        let content = format!("\"{}\"", record.value);
        let mut records = self.values(&record.fqdn).await;
        if records.iter().any(|r| r["content"] == content.as_str()) {
            return;
        }
        records.push(json!({ "content": content, "disabled": false }));
        self.patch(
            json!({ "name": record.fqdn, "type": "TXT", "ttl": record.ttl,
                           "changetype": "REPLACE", "records": records }),
        )
        .await;
    }

    async fn cleanup(&self, record: &TxtRecord) {
        let content = format!("\"{}\"", record.value);
        let records: Vec<Value> = self
            .values(&record.fqdn)
            .await
            .into_iter()
            .filter(|r| r["content"] != content.as_str())
            .collect();
        let rrset = if records.is_empty() {
            json!({ "name": record.fqdn, "type": "TXT", "changetype": "DELETE" })
        } else {
            json!({ "name": record.fqdn, "type": "TXT", "ttl": record.ttl,
                    "changetype": "REPLACE", "records": records })
        };
        self.patch(rrset).await;
    }
}

fn benches(c: &mut Criterion) {
    let s = servers();
    let origin = s.pdns_api_url[..s.pdns_api_url.find("/api/v1").expect("an API URL")].to_owned();
    let component = provider("acmebox-provider-powerdns").expect("the provider builds");
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::new(&dir.path().join("cache")).expect("sandbox");
    let mut spec = ProviderSpec::new("pdns", component);
    spec.allow = vec![origin.clone()];
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(origin)),
        (
            "api_key".to_owned(),
            ConfigValue::Secret(Secret::new(s.pdns_api_key.clone())),
        ),
    ]);
    let wasm = sandbox.load(spec).expect("load the provider");
    let native = Native {
        // Sandbox::new installed ring as the process's crypto provider; this is plain http.
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        zone_url: format!("{}/zones/example.test.", s.pdns_api_url),
        key: s.pdns_api_key.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let pid = std::process::id();
    let wasm_record = record(&format!("bench-wasm-{pid}.example.test"));
    let native_record = record(&format!("bench-native-{pid}.example.test"));

    // Where a wasm call's time goes: waiting on PowerDNS (the audit's request durations) or
    // in the sandbox (instantiation, the guest's own work, the host's egress checks).
    runtime.block_on(async {
        let (mut total, mut http) = (Duration::ZERO, Duration::ZERO);
        const CALLS: u32 = 20;
        for _ in 0..CALLS {
            for report in [
                wasm.present(&wasm_record).await,
                wasm.cleanup(&wasm_record).await,
            ] {
                assert!(report.is_ok(), "{:?}", report.error());
                total += report.duration;
                http += report
                    .audit
                    .iter()
                    .map(|a| Duration::from_millis(a.duration_ms))
                    .sum::<Duration>();
            }
        }
        let per_pair = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(CALLS);
        eprintln!(
            "powerdns/present_cleanup/wasm breakdown per iteration: {:.2} ms in all, \
             {:.2} ms in HTTP requests (ms-rounded), {:.2} ms in the sandbox",
            per_pair(total),
            per_pair(http),
            per_pair(total.saturating_sub(http))
        );
    });

    let mut group = c.benchmark_group("powerdns");
    group.bench_function("present_cleanup/wasm", |b| {
        b.to_async(&runtime).iter(|| async {
            let record = black_box(&wasm_record);
            let report = wasm.present(record).await;
            assert!(report.is_ok(), "{:?}", report.error());
            let report = wasm.cleanup(record).await;
            assert!(report.is_ok(), "{:?}", report.error());
        })
    });
    group.bench_function("present_cleanup/native", |b| {
        b.to_async(&runtime).iter(|| async {
            let record = black_box(&native_record);
            native.present(record).await;
            native.cleanup(record).await;
        })
    });
    group.finish();
}

criterion_group!(powerdns, benches);
criterion_main!(powerdns);
