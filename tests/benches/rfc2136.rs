//! RFC 2136 updates against the test BIND: one `present` plus one `cleanup` of a TXT value,
//! each a TSIG-signed (hmac-sha256) UPDATE over a new TCP connection, three ways in one run:
//!
//! * **sandbox**: the rfc2136 provider component through acmebox's sandbox (zone given, so
//!   it makes no SOA query), granted `dns://` BIND;
//! * **nsupdate**: BIND's `nsupdate -v` (TCP), one process per update, as lego's `exec`
//!   provider and certbot hook scripts run it today;
//! * **native**: hickory-net's DNS client in this process, with its own TSIG signer.
//!
//! The three sides take turns, one pair each per round, so they share the machine's load;
//! each side's median is printed with the ratios. Every pair is checked with `dig` at the end:
//! nothing may be left at the name. Run with `cargo bench -p acmebox-tests --bench rfc2136`;
//! it starts (or shares) the test servers like the integration tests do.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider};
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::servers::servers;
use base64::Engine as _;
use hickory_net::DnsMultiplexer;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::proto::op::ResponseCode;
use hickory_net::proto::rr::rdata::TXT;
use hickory_net::proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_net::proto::rr::{Name, RData, Record, TSigner};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;

/// Measured rounds (one pair per side each), after [`WARM_UP`] rounds that are not counted.
const ROUNDS: usize = 60;
const WARM_UP: usize = 5;

/// A value in the shape of a DNS-01 TXT value.
const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

/// The challenge label BIND's update policy allows for the bench (`acme_labels` in
/// `scripts/servers.sh`).
const LABEL: &str = "bench";

struct Target {
    addr: SocketAddr,
    zone: String,
    fqdn: String,
    key_name: String,
    key_secret: String,
}

fn target() -> Target {
    let s = servers();
    let zone = s.bind_zone.clone();
    Target {
        addr: s.bind_dns.parse().expect("ACMEBOX_BIND_DNS is ip:port"),
        fqdn: format!("_acme-challenge.{LABEL}.{zone}"),
        zone,
        key_name: s.bind_tsig_name.clone(),
        key_secret: s.bind_tsig_secret.clone(),
    }
}

async fn sandbox_side(t: &Target) -> (WasmDnsProvider, tempfile::TempDir, TxtRecord) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let component = provider("acmebox-provider-rfc2136").expect("the rfc2136 provider builds");
    let mut spec = ProviderSpec::new("rfc2136", component);
    spec.allow = vec![danger(format!("dns://{}", t.addr))];
    spec.config = BTreeMap::from([
        ("server".to_owned(), ConfigValue::Plain(t.addr.to_string())),
        (
            "key_name".to_owned(),
            ConfigValue::Plain(t.key_name.clone()),
        ),
        (
            "key_secret".to_owned(),
            ConfigValue::Secret(Secret::new(&t.key_secret)),
        ),
    ]);
    let provider = Sandbox::new(&dir.path().join("cache"))
        .expect("a sandbox")
        .load(spec)
        .expect("the provider loads");
    let record = TxtRecord {
        domain: format!("{LABEL}.{}", t.zone.trim_end_matches('.')),
        fqdn: t.fqdn.clone(),
        value: VALUE.into(),
        ttl: 60,
        zone: Some(t.zone.clone()),
    };
    (provider, dir, record)
}

async fn sandbox_pair(provider: &WasmDnsProvider, record: &TxtRecord) {
    let present = provider.present(record).await;
    assert!(present.is_ok(), "present: {:?}", present.error());
    let cleanup = provider.cleanup(record).await;
    assert!(cleanup.is_ok(), "cleanup: {:?}", cleanup.error());
}

/// One `nsupdate -v` process for one update command.
fn nsupdate(t: &Target, update: &str) {
    let mut child = Command::new("nsupdate")
        .arg("-v")
        .arg("-y")
        .arg(format!("hmac-sha256:{}:{}", t.key_name, t.key_secret))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting nsupdate");
    let script = format!(
        "server {} {}\nzone {}\nupdate {update}\nsend\n",
        t.addr.ip(),
        t.addr.port(),
        t.zone
    );
    child
        .stdin
        .take()
        .expect("nsupdate's stdin")
        .write_all(script.as_bytes())
        .expect("writing to nsupdate");
    let out = child.wait_with_output().expect("nsupdate runs");
    assert!(
        out.status.success(),
        "nsupdate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nsupdate_pair(t: &Target) {
    nsupdate(t, &format!("add {} 60 TXT \"{VALUE}\"", t.fqdn));
    nsupdate(t, &format!("delete {} TXT \"{VALUE}\"", t.fqdn));
}

/// hickory-net's client: a new TCP connection per update, as the provider makes.
struct Native {
    addr: SocketAddr,
    zone: Name,
    record: Record,
    signer: TSigner,
}

impl Native {
    fn new(t: &Target) -> Self {
        let key = base64::engine::general_purpose::STANDARD
            .decode(&t.key_secret)
            .expect("the TSIG secret is base64");
        let signer = TSigner::new(
            key,
            TsigAlgorithm::HmacSha256,
            Name::from_str(&t.key_name).expect("a key name"),
            300,
        )
        .expect("a TSIG signer");
        let name = Name::from_str(&t.fqdn).expect("the record name");
        let record = Record::from_rdata(name, 60, RData::TXT(TXT::new(vec![VALUE.to_owned()])));
        Native {
            addr: t.addr,
            zone: Name::from_str(&t.zone).expect("the zone"),
            record,
            signer,
        }
    }

    async fn client(&self) -> Client<TokioRuntimeProvider> {
        let (connect, handle) = TcpClientStream::new(
            self.addr,
            None,
            Some(Duration::from_secs(5)),
            TokioRuntimeProvider::new(),
        );
        let stream = connect.await.expect("connecting to BIND");
        let multiplexer = DnsMultiplexer::new(stream, handle).with_signer(self.signer.clone());
        let (client, background) = Client::<TokioRuntimeProvider>::from_sender(multiplexer);
        tokio::spawn(background);
        client
    }

    async fn pair(&self) {
        let mut client = self.client().await;
        let added = client
            .append(self.record.clone(), self.zone.clone(), false)
            .await
            .expect("the add is answered");
        assert_eq!(added.metadata.response_code, ResponseCode::NoError);
        let mut client = self.client().await;
        let deleted = client
            .delete_by_rdata(self.record.clone(), self.zone.clone())
            .await
            .expect("the delete is answered");
        assert_eq!(deleted.metadata.response_code, ResponseCode::NoError);
    }
}

fn txt_left(t: &Target) -> String {
    let out = Command::new("dig")
        .args(["+tcp", "+short", "+norecurse"])
        .arg(format!("@{}", t.addr.ip()))
        .args(["-p", &t.addr.port().to_string(), &t.fqdn, "TXT"])
        .output()
        .expect("running dig");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let t = target();
        let (provider, _dir, record) = sandbox_side(&t).await;
        let native = Native::new(&t);
        let (mut wasm, mut process, mut rust) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..WARM_UP + ROUNDS {
            let started = Instant::now();
            sandbox_pair(&provider, &record).await;
            let sandbox = started.elapsed();

            let started = Instant::now();
            tokio::task::block_in_place(|| nsupdate_pair(&t));
            let exec = started.elapsed();

            let started = Instant::now();
            native.pair().await;
            let inproc = started.elapsed();

            if round >= WARM_UP {
                wasm.push(sandbox);
                process.push(exec);
                rust.push(inproc);
            }
        }
        let left = txt_left(&t);
        assert!(left.is_empty(), "values left at {}: {left}", t.fqdn);
        let (wasm, process, rust) = (median(wasm), median(process), median(rust));
        println!(
            "rfc2136 present + cleanup against BIND, {ROUNDS} rounds (medians, one pair = two \
             TSIG-signed UPDATEs, each on a new TCP connection):"
        );
        println!("  sandbox (rfc2136 component)   {:8.2} ms", ms(wasm));
        println!("  nsupdate -v, one process each {:8.2} ms", ms(process));
        println!("  hickory-net client in process {:8.2} ms", ms(rust));
        println!(
            "  sandbox / native {:.2}x; nsupdate / sandbox {:.2}x",
            wasm.as_secs_f64() / rust.as_secs_f64(),
            process.as_secs_f64() / wasm.as_secs_f64()
        );
    });
}
