//! `acmebox serve` on a shared network: TLS from a certificate and key file (reloaded on
//! SIGHUP), basic auth refused over plain HTTP unless allowed, `/health`, and Prometheus
//! metrics of calls, outcomes, latency and egress denials.

use std::process::Command;

use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::client_run::{
    Serve, assert_nothing_left, assert_success, curl, metrics_sample, run, write_config,
    write_tls_pair,
};
use acmebox_tests::lego::{Lego, check_lego_certificate};
use acmebox_tests::pdns;
use acmebox_tests::support::unique;

/// A DNS-01 value, for requests made by hand.
const VALUE: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

#[test]
fn basic_auth_needs_tls_unless_plain_http_is_allowed() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let mut command = Command::new(acmebox_bin());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--provider", "pdns"])
        .arg("--config")
        .arg(&config)
        .args(["--basic-auth-user", "lego"])
        .env("ACMEBOX_SERVE_PASSWORD", "a-password");
    let out = run(command, "acmebox serve with basic auth over plain HTTP");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("would send the password in clear")
            && stderr.contains("--tls-cert and --tls-key, or --insecure-http"),
        "{stderr}"
    );
}

#[test]
fn lego_gets_a_certificate_over_tls_with_basic_auth_and_sighup_swaps_the_certificate() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let config = write_config(tmp.path());
    let tls_dir = tmp.path().join("tls");
    std::fs::create_dir(&tls_dir).expect("tls dir");
    let (cert, key) = write_tls_pair(&tls_dir);
    let first_cert = tmp.path().join("first.pem");
    std::fs::copy(&cert, &first_cert).expect("keeping the first certificate");
    let serve = Serve::start_with(&config, "https", |command| {
        command
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(["--basic-auth-user", "lego"])
            .env("ACMEBOX_SERVE_PASSWORD", "a-password");
    });
    serve.wait_for_line("https://127.0.0.1:");

    // lego's httpreq provider over TLS, trusting only the served certificate.
    let domain = unique("serve-tls");
    let mut lego = Lego::V4.command(tmp.path(), &domain, "httpreq");
    lego.env("HTTPREQ_ENDPOINT", &serve.origin)
        .env("HTTPREQ_USERNAME", "lego")
        .env("HTTPREQ_PASSWORD", "a-password")
        .env("HTTPREQ_POLLING_INTERVAL", "1")
        .env("HTTPREQ_PROPAGATION_TIMEOUT", "30")
        .env("SSL_CERT_FILE", &first_cert);
    assert_success(&run(lego, "lego httpreq over TLS"), "lego httpreq over TLS");
    check_lego_certificate(tmp.path(), &domain);
    assert_nothing_left(&domain);

    // Plain HTTP to the TLS port gets no answer.
    let plain = serve.origin.replace("https://", "http://");
    let (code, _) = curl(&[&format!("{plain}/health")]);
    assert_eq!(code, "000", "plain HTTP is not answered on the TLS port");

    // A new pair, then SIGHUP: later handshakes get the new certificate.
    let health = format!("{}/health", serve.origin);
    let first = first_cert.to_str().expect("utf-8 path");
    assert_eq!(curl(&["--cacert", first, &health]).0, "200");
    write_tls_pair(&tls_dir);
    let hup = Command::new("kill")
        .args(["-HUP", &serve.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(hup.success());
    serve.wait_for_line("TLS certificate and key reloaded");
    let second = cert.to_str().expect("utf-8 path");
    assert_eq!(curl(&["--cacert", second, &health]).0, "200");
    assert_eq!(
        curl(&["--cacert", first, &health]).0,
        "000",
        "the first certificate is no longer served"
    );

    // A broken pair keeps the one served.
    std::fs::write(&key, "not a key").expect("breaking the key");
    let hup = Command::new("kill")
        .args(["-HUP", &serve.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(hup.success());
    let line = serve.wait_for_line("still serving the previous TLS certificate");
    assert!(line.contains("PEM private key"), "{line}");
    assert_eq!(curl(&["--cacert", second, &health]).0, "200");
}

#[test]
fn health_and_metrics_count_calls_outcomes_latency_and_egress_denials() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    // `walled` is the same provider, granted only a host it does not use: its calls to
    // PowerDNS are denied by the egress policy.
    let component = acmebox_tests::guests::provider("acmebox-provider-powerdns")
        .expect("the PowerDNS provider builds");
    let walled = format!(
        "\n[providers.walled]\ncomponent = {component:?}\nallow = [\"https://dns.example.net\"]\n\
         \n[providers.walled.config]\napi_url = {origin:?}\n\
         api_key = {{ file = {key:?}, secret = true }}\n",
        component = component.display().to_string(),
        origin = pdns::origin(),
        key = tmp.path().join("pdns-api-key").display().to_string(),
    );
    let config = pdns::write_cli_config(tmp.path(), "", &pdns::origin(), &walled);
    let serve = Serve::start_with(&config, "http", |command| {
        command.args(["--provider", "walled"]);
    });

    let (code, body) = curl(&[&format!("{}/health", serve.origin)]);
    assert_eq!(code, "200", "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("health is JSON");
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "providers": ["pdns", "walled"]})
    );

    let domain = unique("serve-metrics");
    let good = format!(r#"{{"fqdn":"_acme-challenge.{domain}.","value":"{VALUE}"}}"#);
    let post = |path: &str, body: &str| {
        curl(&[
            "-X",
            "POST",
            "--data",
            body,
            &format!("{}{path}", serve.origin),
        ])
    };
    assert_eq!(post("/pdns/present", &good).0, "200");
    assert_eq!(post("/pdns/cleanup", &good).0, "200");
    assert_eq!(post("/pdns/present", "{\"fqdn\":1}").0, "400");
    let (code, body) = post("/walled/present", &good);
    assert_eq!(code, "502", "{body}");
    assert_nothing_left(&domain);

    let (code, metrics) = curl(&["-i", &format!("{}/metrics", serve.origin)]);
    assert_eq!(code, "200", "{metrics}");
    assert!(
        metrics.contains("content-type: application/openmetrics-text"),
        "{metrics}"
    );
    for (name, want) in [
        (
            r#"acmebox_serve_calls_total{provider="pdns",operation="present",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"acmebox_serve_calls_total{provider="pdns",operation="cleanup",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"acmebox_serve_calls_total{provider="pdns",operation="present",outcome="invalid-request"}"#,
            1.0,
        ),
        (
            r#"acmebox_serve_call_duration_seconds_count{provider="pdns",operation="present"}"#,
            1.0,
        ),
        (
            r#"acmebox_serve_call_duration_seconds_count{provider="walled",operation="present"}"#,
            1.0,
        ),
    ] {
        assert_eq!(
            metrics_sample(&metrics, name),
            Some(want),
            "{name} in\n{metrics}"
        );
    }
    let walled_failures: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with(r#"acmebox_serve_calls_total{provider="walled""#))
        .collect();
    assert!(
        walled_failures.len() == 1
            && !walled_failures[0].contains(r#"outcome="ok""#)
            && walled_failures[0].ends_with(" 1"),
        "{metrics}"
    );
    let denied = metrics_sample(
        &metrics,
        r#"acmebox_serve_egress_denied_total{provider="walled"}"#,
    )
    .expect("walled's denials are counted");
    assert!(denied >= 1.0, "{metrics}");
    assert_eq!(
        metrics_sample(
            &metrics,
            r#"acmebox_serve_egress_denied_total{provider="pdns"}"#
        ),
        None,
        "pdns was never denied"
    );
}
