//! The programs of `examples/` run as an embedder would run them: against the test PowerDNS
//! and Pebble, leaving nothing behind.

use std::path::Path;
use std::process::{Command, Output};

use acmebox::challenge::dns01::Dns01Record;
use acmebox::challenge::{Identifier, Jwk, KeyAuthorization, Token};
use acmebox_tests::cli::example_bin;
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::pdns::txt_values_in;
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;

/// The PowerDNS webserver's base URL (`http://127.0.0.1:PORT`), as the provider wants it.
fn pdns_base_url() -> String {
    let api = &servers().pdns_api_url;
    let Some(base) = api.split("/api/").next() else {
        panic!("unexpected PowerDNS API URL {api}");
    };
    base.to_owned()
}

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("running the example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output, stdout)
}

fn assert_nothing_left(name: &str) {
    let record = format!("_acme-challenge.{name}.");
    let left = txt_values_in("example.test.", &record).expect("reading PowerDNS");
    assert!(left.is_empty(), "{record} still holds {left:?}");
}

#[test]
fn challenge_responses_prints_the_records_the_library_computes() {
    let (_, stdout) = run(Command::new(example_bin("challenge_responses")).arg("Bücher.example"));
    // The example's account key and token, computed here through the facade.
    let jwk = Jwk::from_json(
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    let token = Token::new("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA").unwrap();
    let ka = KeyAuthorization::new(&token, &jwk.thumbprint());
    let record = Dns01Record::new(&Identifier::parse("bücher.example").unwrap(), &ka).unwrap();
    let dns = format!(
        "dns-01      _acme-challenge.xn--bcher-kva.example. TXT \"{}\"",
        record.value().as_str()
    );
    assert!(stdout.contains(&dns), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "GET /.well-known/acme-challenge/{} -> 87 bytes",
            token.as_str()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("tls-alpn-01 certificate for xn--bcher-kva.example"),
        "{stdout}"
    );
}

#[test]
fn sandboxed_provider_presents_and_cleans_up_through_powerdns() {
    let component = provider("acmebox-provider-powerdns").expect("the powerdns provider builds");
    let domain = unique("example-sandboxed");
    let (_, stdout) = run(Command::new(example_bin("sandboxed_provider"))
        .arg(&component)
        .arg(pdns_base_url())
        .arg(&domain)
        .env("PDNS_API_KEY", &servers().pdns_api_key));
    assert!(stdout.contains("pdns present: ok"), "{stdout}");
    assert!(stdout.contains("pdns cleanup: ok"), "{stdout}");
    // The audit shows the provider's requests, and never the API key.
    assert!(stdout.contains("  http PATCH "), "{stdout}");
    assert!(!stdout.contains(&servers().pdns_api_key), "{stdout}");
    assert_nothing_left(&domain);
}

#[test]
fn issue_with_provider_gets_a_certificate_for_a_name_and_its_wildcard() {
    let component = provider("acmebox-provider-powerdns").expect("the powerdns provider builds");
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &component);
    let domain = unique("example-issue");
    let out = tmp.path().join("out");
    let s = servers();
    let (_, stdout) = run(Command::new(example_bin("issue_with_provider"))
        .arg(&config)
        .arg("pdns")
        .arg(&s.pebble_directory)
        .arg(&s.pebble_ca_cert)
        .arg(&domain)
        .arg(&out)
        .arg(&s.pdns_dns));
    assert_eq!(
        stdout.trim(),
        out.join("fullchain.pem").display().to_string()
    );
    let fullchain = std::fs::read_to_string(out.join("fullchain.pem")).unwrap();
    assert!(
        fullchain.starts_with("-----BEGIN CERTIFICATE-----"),
        "{fullchain}"
    );
    assert!(out.join("key.pem").is_file());
    assert_nothing_left(&domain);
}

/// `acmebox.toml` in `dir` for provider `pdns`, its API key in a file beside it.
fn write_config(dir: &Path, component: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("pdns-api-key"), &servers().pdns_api_key)
        .expect("writing the key file");
    let base = pdns_base_url();
    let path = dir.join("acmebox.toml");
    let text = format!(
        r#"cache_dir = "cache"

[providers.pdns]
component = {component:?}
allow = [{grant:?}]

[providers.pdns.config]
api_url = {base:?}
api_key = {{ file = "pdns-api-key", secret = true }}
"#,
        grant = danger(&base),
        component = component.display().to_string(),
    );
    std::fs::write(&path, text).expect("writing acmebox.toml");
    path
}
