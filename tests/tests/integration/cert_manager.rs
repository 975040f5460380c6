//! `acmebox serve --cert-manager-group`: cert-manager's DNS-01 webhook solver API over TLS,
//! driven by cert-manager's own webhook client and types (`tests/clients/cert-manager-client`,
//! built by `scripts/deps.sh`): the discovery documents the Kubernetes API aggregator reads,
//! `Present` and `CleanUp` against the real PowerDNS, a present that fails, and the refusals
//! (credentials, unknown solver) as Kubernetes statuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use acmebox_tests::client_run::{
    Serve, assert_nothing_left, assert_success, curl, metrics_sample, run, write_config,
    write_tls_pair,
};
use acmebox_tests::pdns::{self, RrsetCleanup, dns_txt_values};
use acmebox_tests::support::{APEX_VALUE, unique};

/// The API group served (the Issuer's `groupName`).
const GROUP: &str = "acme.example.test";

/// `tests/clients/cert-manager-client`, as `scripts/deps.sh` builds it.
fn client_bin() -> PathBuf {
    acmebox_tests::go_client("cert-manager-client")
}

/// `acmebox serve` over TLS answering cert-manager for [`GROUP`], with what `more` adds.
fn start(dir: &Path, more: impl FnOnce(&mut Command)) -> (Serve, PathBuf) {
    let config = write_config(dir);
    let (cert, key) = write_tls_pair(dir);
    let serve = Serve::start_with(&config, "https", |command| {
        command
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(["--cert-manager-group", GROUP]);
        more(command);
    });
    serve.wait_for_line(&format!(
        "https://127.0.0.1:{}/apis/{GROUP}/v1alpha1/",
        port(&serve)
    ));
    (serve, cert)
}

fn port(serve: &Serve) -> &str {
    serve
        .origin
        .rsplit(':')
        .next()
        .expect("an origin with a port")
}

/// The client, pointed at `serve` and trusting `ca`, for the solver `pdns`.
fn client(serve: &Serve, ca: &Path) -> Command {
    let mut command = Command::new(client_bin());
    command
        .args(["-server", &serve.origin])
        .arg("-ca")
        .arg(ca)
        .args(["-group", GROUP, "-solver", "pdns"]);
    command
}

#[test]
fn cert_manager_presents_and_cleans_up_through_its_own_webhook_client() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let (serve, ca) = start(tmp.path(), |_| {});

    // What the aggregator and kubectl read: the group, its version, the solver.
    let mut discover = client(&serve, &ca);
    discover.arg("-discover");
    let out = assert_success(&run(discover, "discovery"), "discovery");
    assert!(
        out.contains("discovery ok") && out.contains("solvers: pdns\n"),
        "{out}"
    );

    // Present, as cert-manager's webhook client sends it.
    let domain = unique("cert-manager");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _guard = RrsetCleanup(fqdn.clone());
    let call = |action: &str, uid: &str| {
        let mut command = client(&serve, &ca);
        command.args([
            "-action",
            action,
            "-fqdn",
            &fqdn,
            "-zone",
            pdns::ZONE,
            "-dns-name",
            &domain,
            "-key",
            APEX_VALUE,
            "-uid",
            uid,
        ]);
        assert_success(&run(command, action), action)
    };
    let out = call("present", "3f1c2a9e-present");
    assert!(out.contains("present ok"), "{out}");
    assert_eq!(
        dns_txt_values(&fqdn).expect("querying PowerDNS"),
        vec![APEX_VALUE.to_owned()],
        "PowerDNS serves the value cert-manager presented"
    );

    let out = call("cleanup", "3f1c2a9e-cleanup");
    assert!(out.contains("cleanup ok"), "{out}");
    assert_nothing_left(&domain);

    // A name outside every zone of the provider: success=false, with the provider's reason.
    let outside = format!(
        "_acme-challenge.{}.",
        unique("cm-outside").replace(".example.test", ".elsewhere.test")
    );
    let mut command = client(&serve, &ca);
    command.args([
        "-action",
        "present",
        "-fqdn",
        &outside,
        "-dns-name",
        "elsewhere.test",
        "-key",
        APEX_VALUE,
        "-uid",
        "3f1c2a9e-fails",
        "-expect-failure",
    ]);
    let out = assert_success(&run(command, "failing present"), "failing present");
    assert!(out.contains("present failed as expected: "), "{out}");
    assert!(
        out.contains("pdns"),
        "the message names the provider: {out}"
    );
    assert!(
        !out.contains(APEX_VALUE),
        "the message does not echo the value: {out}"
    );

    // The calls count and time as `httpreq` calls do.
    let ca_path = ca.to_str().expect("a UTF-8 path");
    let (code, metrics) = curl(&["--cacert", ca_path, &format!("{}/metrics", serve.origin)]);
    assert_eq!(code, "200", "{metrics}");
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
            r#"acmebox_serve_call_duration_seconds_count{provider="pdns",operation="present"}"#,
            2.0,
        ),
    ] {
        assert_eq!(
            metrics_sample(&metrics, name),
            Some(want),
            "{name} in\n{metrics}"
        );
    }
    let failed: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with(r#"acmebox_serve_calls_total{provider="pdns",operation="present""#)
                && !l.contains(r#"outcome="ok""#)
        })
        .collect();
    assert!(failed.len() == 1 && failed[0].ends_with(" 1"), "{metrics}");
}

#[test]
fn cert_manager_refusals_are_kubernetes_statuses_and_discovery_needs_no_credentials() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let (serve, ca) = start(tmp.path(), |command| {
        command
            .args(["--basic-auth-user", "cm"])
            .env("ACMEBOX_SERVE_PASSWORD", "a-password");
    });
    let ca = ca.to_str().expect("a UTF-8 path");
    let base = format!("{}/apis/{GROUP}/v1alpha1", serve.origin);

    // The aggregator's availability check and discovery carry no basic auth.
    let (code, body) = curl(&["--cacert", ca, &base]);
    assert_eq!(code, "200", "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("an APIResourceList");
    assert_eq!(list["kind"], "APIResourceList");
    assert_eq!(list["resources"][0]["name"], "pdns");

    let domain = unique("cm-refused");
    let payload = format!(
        r#"{{"request":{{"uid":"u-1","action":"Present","type":"dns-01","key":"{APEX_VALUE}",
        "resolvedFQDN":"_acme-challenge.{domain}.","dnsName":"{domain}"}}}}"#
    );
    let post = |url: &str, extra: &[&str]| {
        let mut args = vec![
            "--cacert",
            ca,
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
        ];
        args.extend_from_slice(extra);
        args.extend(["--data", payload.as_str(), url]);
        curl(&args)
    };
    let status = |body: &str| -> serde_json::Value {
        let status: serde_json::Value = serde_json::from_str(body).expect("a JSON answer");
        assert_eq!(
            (status["kind"].as_str(), status["apiVersion"].as_str()),
            (Some("Status"), Some("v1")),
            "{body}"
        );
        status
    };

    // A call without the credentials is refused and nothing is presented.
    let (code, body) = post(&format!("{base}/pdns"), &[]);
    assert_eq!(code, "401", "{body}");
    assert_eq!(status(&body)["reason"], "Unauthorized");
    assert_nothing_left(&domain);

    // An unknown solver names the ones served; a malformed payload says what is wrong.
    let (code, body) = post(&format!("{base}/nope"), &["-u", "cm:a-password"]);
    assert_eq!(code, "404", "{body}");
    let message = status(&body)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("no solver `nope`") && message.contains("pdns"),
        "{body}"
    );
    let (code, body) = curl(&[
        "--cacert",
        ca,
        "-u",
        "cm:a-password",
        "-X",
        "POST",
        "--data",
        r#"{"request":{"action":"Delete"}}"#,
        &format!("{base}/pdns"),
    ]);
    assert_eq!(code, "400", "{body}");
    assert!(
        status(&body)["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown action"),
        "{body}"
    );

    // With the credentials it runs (basic auth is acmebox's; cert-manager sends none).
    let _guard = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let (code, body) = post(&format!("{base}/pdns"), &["-u", "cm:a-password"]);
    assert_eq!(code, "201", "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("a ChallengePayload");
    assert_eq!(
        answer["response"],
        serde_json::json!({"uid": "u-1", "success": true}),
        "{body}"
    );
    let cleanup = payload.replace("\"Present\"", "\"CleanUp\"");
    let (code, body) = curl(&[
        "--cacert",
        ca,
        "-u",
        "cm:a-password",
        "-X",
        "POST",
        "--data",
        &cleanup,
        &format!("{base}/pdns"),
    ]);
    assert_eq!(code, "201", "{body}");
    assert_nothing_left(&domain);
}
