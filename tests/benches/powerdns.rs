//! The cost of the sandbox on a real provider: one `present` plus one `cleanup` through the
//! PowerDNS provider component, against the same GET + PATCH requests made natively with
//! reqwest, both against the test PowerDNS on loopback.
//!
//! Each iteration makes four requests either way (GET the rrset and PATCH it, twice); the zone
//! is given, so the provider does not list zones. Before criterion's runs, the bench alternates
//! the two sides for 200 rounds and prints both medians and their ratio.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderSpec, Sandbox, TxtRecord};
use acmebox_tests::danger;
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

/// Read-modify-write rounds before a 5xx answer is final, and the first pause: as the provider
/// does, since PowerDNS's sqlite backend answers 500 when another client writes at once.
const ATTEMPTS: u32 = 8;
const FIRST_PAUSE: Duration = Duration::from_millis(25);
const LONGEST_PAUSE: Duration = Duration::from_millis(800);

/// A PowerDNS answer with a 5xx status: the round starts over.
struct ServerError;

impl Native {
    async fn values(&self, fqdn: &str) -> Result<Vec<Value>, ServerError> {
        let response = self
            .client
            .get(format!(
                "{}?rrset_name={fqdn}&rrset_type=TXT",
                self.zone_url
            ))
            .header("x-api-key", &self.key)
            .send()
            .await
            .expect("GET the rrset");
        if response.status().is_server_error() {
            return Err(ServerError);
        }
        let response = response.error_for_status().expect("GET status");
        let zone: Value =
            serde_json::from_slice(&response.bytes().await.expect("GET body")).expect("JSON");
        Ok(zone["rrsets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["name"] == fqdn && r["type"] == "TXT")
            .flat_map(|r| r["records"].as_array().cloned().unwrap_or_default())
            .collect())
    }

    async fn patch(&self, rrset: Value) -> Result<(), ServerError> {
        let response = self
            .client
            .patch(&self.zone_url)
            .header("x-api-key", &self.key)
            .header("content-type", "application/json")
            .body(json!({ "rrsets": [rrset] }).to_string())
            .send()
            .await
            .expect("PATCH");
        if response.status().is_server_error() {
            return Err(ServerError);
        }
        response.error_for_status().expect("PATCH status");
        Ok(())
    }

    async fn add_value(&self, record: &TxtRecord) -> Result<(), ServerError> {
        let content = format!("\"{}\"", record.value);
        let mut records = self.values(&record.fqdn).await?;
        if records.iter().any(|r| r["content"] == content.as_str()) {
            return Ok(());
        }
        records.push(json!({ "content": content, "disabled": false }));
        self.patch(
            json!({ "name": record.fqdn, "type": "TXT", "ttl": record.ttl,
                           "changetype": "REPLACE", "records": records }),
        )
        .await
    }

    async fn remove_value(&self, record: &TxtRecord) -> Result<(), ServerError> {
        let content = format!("\"{}\"", record.value);
        let records: Vec<Value> = self
            .values(&record.fqdn)
            .await?
            .into_iter()
            .filter(|r| r["content"] != content.as_str())
            .collect();
        let rrset = if records.is_empty() {
            json!({ "name": record.fqdn, "type": "TXT", "changetype": "DELETE" })
        } else {
            json!({ "name": record.fqdn, "type": "TXT", "ttl": record.ttl,
                    "changetype": "REPLACE", "records": records })
        };
        self.patch(rrset).await
    }

    async fn present(&self, record: &TxtRecord) {
        let mut pause = FIRST_PAUSE;
        for _ in 1..ATTEMPTS {
            if self.add_value(record).await.is_ok() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
        assert!(
            self.add_value(record).await.is_ok(),
            "PowerDNS kept answering 5xx"
        );
    }

    async fn cleanup(&self, record: &TxtRecord) {
        let mut pause = FIRST_PAUSE;
        for _ in 1..ATTEMPTS {
            if self.remove_value(record).await.is_ok() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
        assert!(
            self.remove_value(record).await.is_ok(),
            "PowerDNS kept answering 5xx"
        );
    }
}

fn benches(c: &mut Criterion) {
    let s = servers();
    let origin = s.pdns_api_url[..s.pdns_api_url.find("/api/v1").expect("an API URL")].to_owned();
    let component = provider("acmebox-provider-powerdns").expect("the provider builds");
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::new(&dir.path().join("cache")).expect("sandbox");
    let mut spec = ProviderSpec::new("pdns", component);
    spec.allow = vec![danger(&origin)];
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

    // Criterion times the two sides one after the other, so on a shared machine a change in
    // load between them moves the ratio. Alternating the two, one iteration each, and taking
    // medians compares them under the same conditions; criterion's figures follow.
    runtime.block_on(async {
        const ROUNDS: usize = 200;
        let (mut wasm_times, mut native_times) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let started = Instant::now();
            for report in [
                wasm.present(&wasm_record).await,
                wasm.cleanup(&wasm_record).await,
            ] {
                assert!(report.is_ok(), "{:?}", report.error());
            }
            wasm_times.push(started.elapsed());
            let started = Instant::now();
            native.present(&native_record).await;
            native.cleanup(&native_record).await;
            native_times.push(started.elapsed());
        }
        let mut ratios: Vec<f64> = wasm_times
            .iter()
            .zip(&native_times)
            .map(|(w, n)| w.as_secs_f64() / n.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let (wasm, native) = (median(&mut wasm_times), median(&mut native_times));
        eprintln!(
            "powerdns/present_cleanup alternated, {ROUNDS} rounds: wasm median {:.2} ms, \
             native median {:.2} ms, ratio of medians {:.2}, median ratio per round {:.2}, \
             difference of medians {:.0} µs",
            wasm.as_secs_f64() * 1e3,
            native.as_secs_f64() * 1e3,
            wasm.as_secs_f64() / native.as_secs_f64(),
            ratios[ratios.len() / 2],
            (wasm.as_secs_f64() - native.as_secs_f64()) * 1e6
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

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

criterion_group!(powerdns, benches);
criterion_main!(powerdns);
