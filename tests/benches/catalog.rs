//! The provider catalog, each provider against its stand-in (`tests/standins`, which writes
//! through to the test PowerDNS), in one run:
//!
//! * component size;
//! * cached load: a fresh `Sandbox` on a warm cache loading the component (median);
//! * requests one `present` makes (counted at the stand-in, the zone passed as acmebox passes it);
//! * `present` + `cleanup` of one value (median of [`ROUNDS`]);
//! * for DigitalOcean and Bunny.net, a native Rust client (reqwest) making the same requests to
//!   the same stand-in, alternated round by round with the sandboxed provider: the difference of
//!   the medians is what the sandbox costs.
//!
//! Run with `cargo bench -p acmebox-tests --bench catalog` (it starts or shares the test
//! PowerDNS like the integration tests). It prints a markdown table for BENCHMARKS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider};
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::standin::Standin;
use acmebox_tests::support::{APEX_VALUE, record};
use serde_json::{Value, json};

/// The Google Cloud stand-in's test service account (RFC 7515 A.2's published RSA key).
const GCLOUD_EMAIL: &str = "acmebox-bench@acmebox-bench.iam.gserviceaccount.com";
const GCLOUD_KEY: &str = include_str!("../standins/keys/gcloud-test-key.pem");
const GCLOUD_PUBLIC_KEY: &str = include_str!("../standins/keys/gcloud-test-key.pub.pem");

/// Timed rounds per provider; medians are reported.
const ROUNDS: usize = 30;

/// Cached loads timed per provider.
const LOADS: usize = 15;

/// One provider: its crate, its stand-in and the config that points one at the other.
struct Subject {
    name: &'static str,
    vendor: &'static str,
    api_path: &'static str,
    /// `(key, value, secret)`, `api_url` excepted.
    config: &'static [(&'static str, &'static str, bool)],
    standin: &'static [(&'static str, &'static str)],
}

const SUBJECTS: &[Subject] = &[
    Subject {
        name: "digitalocean",
        vendor: "digitalocean",
        api_path: "",
        config: &[("auth_token", "tok", true)],
        standin: &[("token", "tok")],
    },
    Subject {
        name: "hetzner",
        vendor: "hetzner",
        api_path: "/v1",
        config: &[("api_token", "tok", true)],
        standin: &[("token", "tok")],
    },
    Subject {
        name: "linode",
        vendor: "linode",
        api_path: "/v4",
        config: &[("token", "tok", true)],
        standin: &[("token", "tok")],
    },
    Subject {
        name: "vultr",
        vendor: "vultr",
        api_path: "/v2",
        config: &[("api_key", "key", true)],
        standin: &[("token", "key")],
    },
    Subject {
        name: "gandi",
        vendor: "gandi",
        api_path: "/v5/livedns",
        config: &[("personal_access_token", "pat", true)],
        standin: &[("token", "pat")],
    },
    Subject {
        name: "godaddy",
        vendor: "godaddy",
        api_path: "",
        config: &[("api_key", "k", true), ("api_secret", "s", true)],
        standin: &[("key", "k"), ("secret", "s")],
    },
    Subject {
        name: "porkbun",
        vendor: "porkbun",
        api_path: "/api/json/v3",
        config: &[
            ("api_key", "pk1_k", true),
            ("secret_api_key", "sk1_s", true),
        ],
        standin: &[("apikey", "pk1_k"), ("secretapikey", "sk1_s")],
    },
    Subject {
        name: "desec",
        vendor: "desec",
        api_path: "/api/v1",
        config: &[("token", "tok", true)],
        standin: &[("token", "tok")],
    },
    Subject {
        name: "dnsimple",
        vendor: "dnsimple",
        api_path: "",
        config: &[("oauth_token", "tok", true)],
        standin: &[("token", "tok")],
    },
    Subject {
        name: "ns1",
        vendor: "ns1",
        api_path: "/v1",
        config: &[("api_key", "k", true)],
        standin: &[("key", "k")],
    },
    Subject {
        name: "ionos",
        vendor: "ionos",
        api_path: "/dns",
        config: &[("api_key", "pre.secret", true)],
        standin: &[("api_key", "pre.secret")],
    },
    Subject {
        name: "bunny",
        vendor: "bunny",
        api_path: "",
        config: &[("api_key", "key1", true)],
        standin: &[("key", "key1")],
    },
    Subject {
        name: "namecheap",
        vendor: "namecheap",
        api_path: "/xml.response",
        config: &[
            ("api_user", "ncuser", true),
            ("api_key", "ncKey0123456789", true),
            ("client_ip", "192.0.2.7", false),
        ],
        standin: &[
            ("api_user", "ncuser"),
            ("api_key", "ncKey0123456789"),
            ("client_ip", "192.0.2.7"),
        ],
    },
    Subject {
        name: "duckdns",
        vendor: "duckdns",
        api_path: "",
        config: &[
            ("token", "tok", true),
            ("base_domain", "example.test", false),
        ],
        standin: &[("token", "tok"), ("base", "example.test")],
    },
    Subject {
        name: "netcup",
        vendor: "netcup",
        api_path: "/run/webservice/servers/endpoint.php?JSON",
        config: &[
            ("customer_number", "58204913", false),
            ("api_key", "nc_key", true),
            ("api_password", "nc_pw", true),
        ],
        standin: &[
            ("customer", "58204913"),
            ("key", "nc_key"),
            ("password", "nc_pw"),
        ],
    },
    Subject {
        name: "inwx",
        vendor: "inwx",
        api_path: "/jsonrpc/",
        config: &[
            ("username", "acmebox-user", true),
            ("password", "inwx_pw", true),
        ],
        standin: &[("user", "acmebox-user"), ("password", "inwx_pw")],
    },
    // Catalog II: signed requests and OAuth.
    Subject {
        name: "route53",
        vendor: "route53",
        api_path: "",
        config: &[
            ("access_key_id", "AKIDBENCH", true),
            ("secret_access_key", "bench/secret+key", true),
        ],
        standin: &[
            ("access_key_id", "AKIDBENCH"),
            ("secret_access_key", "bench/secret+key"),
        ],
    },
    Subject {
        name: "gcloud",
        vendor: "gcloud",
        api_path: "",
        // `service_account_key` is added by `spec`: its `token_uri` names the stand-in.
        config: &[("project", "acmebox-bench", false)],
        standin: &[
            ("client_email", GCLOUD_EMAIL),
            ("public_key", GCLOUD_PUBLIC_KEY),
            ("access_token", "ya29.bench"),
            ("project", "acmebox-bench"),
        ],
    },
    Subject {
        name: "azure",
        vendor: "azure",
        api_path: "",
        config: &[
            ("tenant_id", "bench-tenant", false),
            ("client_id", "bench-client", false),
            ("client_secret", "bench~secret", true),
            ("subscription_id", "bench-subscription", false),
            ("resource_group", "bench-rg", false),
        ],
        standin: &[
            ("tenant", "bench-tenant"),
            ("client_id", "bench-client"),
            ("client_secret", "bench~secret"),
            ("subscription", "bench-subscription"),
            ("resource_group", "bench-rg"),
        ],
    },
    Subject {
        name: "ovh",
        vendor: "ovh",
        api_path: "/1.0",
        config: &[
            ("application_key", "benchAppKey", true),
            ("application_secret", "bench_app_secret", true),
            ("consumer_key", "bench_consumer_key", true),
        ],
        standin: &[
            ("application_key", "benchAppKey"),
            ("application_secret", "bench_app_secret"),
            ("consumer_key", "bench_consumer_key"),
        ],
    },
    Subject {
        name: "akamai",
        vendor: "akamai",
        api_path: "",
        config: &[
            ("host", "akab-bench.luna.akamaiapis.net", false),
            ("client_token", "akab-bench-client-token", true),
            ("client_secret", "akamaiBenchSecret+0=", true),
            ("access_token", "akab-bench-access-token", true),
        ],
        standin: &[
            ("client_token", "akab-bench-client-token"),
            ("client_secret", "akamaiBenchSecret+0="),
            ("access_token", "akab-bench-access-token"),
        ],
    },
    Subject {
        name: "alidns",
        vendor: "alidns",
        api_path: "",
        config: &[
            ("access_key", "LTAIbench", true),
            ("secret_key", "alidns_bench_secret", true),
        ],
        standin: &[
            ("access_key", "LTAIbench"),
            ("secret_key", "alidns_bench_secret"),
        ],
    },
    Subject {
        name: "tencentcloud",
        vendor: "tencentcloud",
        api_path: "",
        config: &[
            ("secret_id", "AKIDbench", true),
            ("secret_key", "tencent_bench_secret", true),
        ],
        standin: &[
            ("secret_id", "AKIDbench"),
            ("secret_key", "tencent_bench_secret"),
        ],
    },
    Subject {
        name: "dnsmadeeasy",
        vendor: "dnsmadeeasy",
        api_path: "/V2.0",
        config: &[
            ("api_key", "bench-dme-key", true),
            ("api_secret", "bench-dme-secret", true),
        ],
        // DNS Made Easy allows 150 requests per 5 minutes; the 30 rounds make 180.
        standin: &[
            ("api_key", "bench-dme-key"),
            ("api_secret", "bench-dme-secret"),
            ("request_limit", "100000"),
        ],
    },
];

fn spec(subject: &Subject, standin: &Standin) -> ProviderSpec {
    let component = provider(&format!("acmebox-provider-{}", subject.name)).expect("build");
    let mut spec = ProviderSpec::new(subject.name, component);
    spec.allow = vec![danger(standin.origin())];
    spec.config = BTreeMap::from([(
        "api_url".to_owned(),
        ConfigValue::Plain(format!("{}{}", standin.origin(), subject.api_path)),
    )]);
    for (key, value, secret) in subject.config {
        let value = if *secret {
            ConfigValue::Secret(Secret::new(*value))
        } else {
            ConfigValue::Plain((*value).to_owned())
        };
        spec.config.insert((*key).to_owned(), value);
    }
    if subject.name == "gcloud" {
        let key = json!({
            "type": "service_account",
            "project_id": "acmebox-bench",
            "private_key_id": "bench-key-1",
            "private_key": GCLOUD_KEY,
            "client_email": GCLOUD_EMAIL,
            "token_uri": format!("{}/token", standin.origin()),
        });
        spec.config.insert(
            "service_account_key".to_owned(),
            ConfigValue::Secret(Secret::new(key.to_string())),
        );
    }
    spec
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The record a round works on: a name of its own under the zone (DuckDNS's name is the label
/// below its base domain).
fn bench_record(subject: &Subject) -> TxtRecord {
    let domain = format!("bench-{}-{}.example.test", subject.name, std::process::id());
    record(&domain, APEX_VALUE, Some("example.test."))
}

/// A native client making the requests the provider makes, for the two providers measured
/// against one.
struct Native {
    client: reqwest::Client,
    base: String,
    kind: &'static str,
}

impl Native {
    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.expect("native request");
        assert!(response.status().is_success(), "{}", response.status());
        let bytes = response.bytes().await.expect("body");
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    /// DigitalOcean: domain, records lookup, create; domain, lookup, delete.
    /// Bunny.net: zone list by domain, zone read, add; zone list, zone read, delete.
    async fn present_cleanup(&self, fqdn: &str, value: &str) {
        let name = fqdn.trim_end_matches('.');
        let relative = name.trim_end_matches(".example.test");
        match self.kind {
            "digitalocean" => {
                let auth = "Bearer tok";
                let records = format!("{}/v2/domains/example.test/records", self.base);
                let lookup = format!("{records}?type=TXT&name={name}&per_page=200");
                let domain = format!("{}/v2/domains/example.test", self.base);
                self.send(self.client.get(&domain).header("authorization", auth))
                    .await;
                self.send(self.client.get(&lookup).header("authorization", auth))
                    .await;
                let body = json!({"type": "TXT", "name": relative, "data": value, "ttl": 60});
                self.send(
                    self.client
                        .post(&records)
                        .header("authorization", auth)
                        .header("content-type", "application/json")
                        .body(body.to_string()),
                )
                .await;
                self.send(self.client.get(&domain).header("authorization", auth))
                    .await;
                let found = self
                    .send(self.client.get(&lookup).header("authorization", auth))
                    .await;
                for r in found["domain_records"].as_array().into_iter().flatten() {
                    let url = format!("{records}/{}", r["id"]);
                    self.client
                        .delete(url)
                        .header("authorization", auth)
                        .send()
                        .await
                        .expect("delete");
                }
            }
            _ => {
                let key = "key1";
                let zones = format!("{}/dnszone?search=example.test", self.base);
                let list = self
                    .send(self.client.get(&zones).header("accesskey", key))
                    .await;
                let id = list["Items"][0]["Id"].clone();
                let zone = format!("{}/dnszone/{id}", self.base);
                self.send(self.client.get(&zone).header("accesskey", key))
                    .await;
                let body = json!({"Type": 3, "Name": relative, "Value": value, "Ttl": 60});
                self.send(
                    self.client
                        .put(format!("{zone}/records"))
                        .header("accesskey", key)
                        .header("content-type", "application/json")
                        .body(body.to_string()),
                )
                .await;
                self.send(self.client.get(&zones).header("accesskey", key))
                    .await;
                let read = self
                    .send(self.client.get(&zone).header("accesskey", key))
                    .await;
                for r in read["Records"].as_array().into_iter().flatten() {
                    if r["Value"] == value {
                        let url = format!("{zone}/records/{}", r["Id"]);
                        self.client
                            .delete(url)
                            .header("accesskey", key)
                            .send()
                            .await
                            .expect("delete");
                    }
                }
            }
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cache = tempfile::tempdir().expect("temp dir");
    let mut rows = Vec::new();
    let mut sandbox_costs = Vec::new();
    for subject in SUBJECTS {
        let standin = Standin::start(subject.vendor, subject.standin).expect("stand-in");
        let spec = spec(subject, &standin);
        let size = std::fs::metadata(&spec.component).expect("component").len();
        // Compile once into the cache, then time cached loads with fresh sandboxes.
        Sandbox::new(cache.path())
            .expect("sandbox")
            .load(spec.clone())
            .expect("first load");
        let mut loads = Vec::new();
        let mut loaded: Option<WasmDnsProvider> = None;
        for _ in 0..LOADS {
            let sandbox = Sandbox::new(cache.path()).expect("sandbox");
            let started = Instant::now();
            loaded = Some(sandbox.load(spec.clone()).expect("cached load"));
            loads.push(started.elapsed());
        }
        let wasm = loaded.expect("loaded at least once");
        let rec = bench_record(subject);
        let (requests, mut times, mut native_times) = runtime.block_on(async {
            // Warm up, and learn the sequential flag before counting.
            for report in [wasm.present(&rec).await, wasm.cleanup(&rec).await] {
                assert!(report.is_ok(), "{}: {:?}", subject.name, report.error());
            }
            let before = standin.requests().expect("requests").len();
            let report = wasm.present(&rec).await;
            assert!(report.is_ok(), "{}: {:?}", subject.name, report.error());
            let requests = standin.requests().expect("requests").len() - before;
            assert!(wasm.cleanup(&rec).await.is_ok());
            let native = ["digitalocean", "bunny"]
                .contains(&subject.name)
                .then(|| Native {
                    client: reqwest::Client::builder()
                        .no_proxy()
                        .build()
                        .expect("client"),
                    base: standin.origin(),
                    kind: subject.name,
                });
            let native_rec = TxtRecord {
                fqdn: format!("_acme-challenge.native-{}", rec.domain),
                ..rec.clone()
            };
            let (mut times, mut native_times) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let started = Instant::now();
                let present = wasm.present(&rec).await;
                let cleanup = wasm.cleanup(&rec).await;
                times.push(started.elapsed());
                assert!(present.is_ok() && cleanup.is_ok(), "{}", subject.name);
                if let Some(native) = &native {
                    let started = Instant::now();
                    native
                        .present_cleanup(&native_rec.fqdn, &native_rec.value)
                        .await;
                    native_times.push(started.elapsed());
                }
            }
            (requests, times, native_times)
        });
        let wasm_median = median(&mut times);
        if !native_times.is_empty() {
            let native_median = median(&mut native_times);
            sandbox_costs.push(format!(
                "| {} | {:.2} ms | {:.2} ms | {:.2}x | {:.2} ms |",
                subject.name,
                ms(wasm_median),
                ms(native_median),
                wasm_median.as_secs_f64() / native_median.as_secs_f64(),
                ms(wasm_median.saturating_sub(native_median))
            ));
        }
        rows.push(format!(
            "| {} | {} KiB | {:.2} ms | {} | {:.2} ms |",
            subject.name,
            size / 1024,
            ms(median(&mut loads)),
            requests,
            ms(wasm_median)
        ));
        eprintln!("{}", rows.last().expect("a row"));
    }
    println!("| provider | component | cached load | requests per present | present + cleanup |");
    println!("| --- | --- | --- | --- | --- |");
    for row in rows {
        println!("{row}");
    }
    println!();
    println!("| provider | sandboxed present + cleanup | native | ratio | sandbox cost |");
    println!("| --- | --- | --- | --- | --- |");
    for row in sandbox_costs {
        println!("{row}");
    }
}
