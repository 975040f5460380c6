//! Hostile providers, tried as an attacker would: host-controlled headers, methods an API
//! client never needs, secrets put into every request field a guest chooses, huge strings, and
//! a CPU loop beside a good provider. Each attempt ends in the exact error (or is cut or
//! stripped), and a good provider works right after in the same process.

use std::time::Duration;

use acmebox::config::{ConfigValue, Secret};
use acmebox::egress::{
    ALLOWED_METHODS, FORBIDDEN_REQUEST_HEADER_PREFIXES, FORBIDDEN_REQUEST_HEADERS,
};
use acmebox::sandbox::{CallReport, Decision, MAX_GUEST_STRING_BYTES, REDACTED, Sandbox};
use acmebox_tests::danger;
use acmebox_tests::guests::fixture;
use acmebox_tests::http_server::TestServer;

use crate::sandbox::{error_text, good_spec, good_still_works, plain, record, sandbox, spec};

/// A secret that is also a valid method, scheme, host label and path segment, so a guest can
/// put it anywhere in a request.
const SECRET: &str = "Zq8vS3cr3tTok3nW4";

fn hostile(
    sandbox: &Sandbox,
    name: &str,
    allow: &[String],
    steps: &[String],
) -> anyhow::Result<acmebox::sandbox::WasmDnsProvider> {
    Ok(sandbox.load(spec(
        name,
        fixture("fixture-hostile")?,
        allow,
        &[
            ("steps", plain(steps.join(";"))),
            ("secret", ConfigValue::Secret(Secret::new(SECRET))),
        ],
    ))?)
}

/// The fixture's outcomes, one per step.
fn outcomes(report: &CallReport) -> Vec<String> {
    let text = error_text(report);
    let Some((_, list)) = text.split_once("failed during present: ") else {
        panic!("unexpected outcome: {text}");
    };
    list.split("; ").map(str::to_owned).collect()
}

#[tokio::test]
async fn host_controlled_headers_never_reach_an_allowed_api() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    // Every name of the list, one made-up name per prefix, each in two spellings, and one
    // ordinary header that must get through.
    let mut names: Vec<String> = FORBIDDEN_REQUEST_HEADERS
        .iter()
        .map(|n| n.to_string())
        .collect();
    names.extend(
        FORBIDDEN_REQUEST_HEADER_PREFIXES
            .iter()
            .map(|p| format!("{p}acmebox")),
    );
    let upper: Vec<String> = names.iter().map(|n| n.to_ascii_uppercase()).collect();
    let mut headers: Vec<String> = names
        .iter()
        .chain(&upper)
        .map(|n| format!("{n}=10.0.0.1"))
        .collect();
    headers.push("x-acmebox-kept=yes".to_owned());
    let authority = server.origin().trim_start_matches("http://").to_owned();
    let step = format!(
        "request POST http {authority} /present {}",
        headers.join(" ")
    );
    let report = hostile(&sandbox, "headers", &[danger(server.origin())], &[step])?
        .present(&record())
        .await;
    let got = outcomes(&report);
    assert!(got[0].contains("status 200"), "{got:?}");
    // The guest was told at once: every forbidden header was refused when it was set.
    let refused = got[0]
        .split_once("refused ")
        .and_then(|(_, rest)| rest.split_once(" status"))
        .map(|(list, _)| {
            list.split(',')
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for name in &names {
        assert_eq!(
            refused.iter().filter(|r| *r == name).count(),
            2,
            "{name} was not refused in both spellings: {refused:?}"
        );
    }
    // And none reached the server; `Host` is the one the host wrote.
    let received = server.received();
    assert_eq!(received.len(), 1);
    for (name, value) in &received[0].headers {
        let name = name.to_ascii_lowercase();
        if name == "host" {
            assert_eq!(value, &authority);
            continue;
        }
        assert!(
            !acmebox::egress::is_forbidden_request_header(&name),
            "{name}: {value} reached the API"
        );
        assert_ne!(value, "10.0.0.1", "{name} carried the guest's value");
    }
    assert!(
        received[0]
            .headers
            .iter()
            .any(|(n, v)| n == "x-acmebox-kept" && v == "yes"),
        "{:?}",
        received[0].headers
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn only_the_methods_rest_apis_use_leave() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let authority = server.origin().trim_start_matches("http://").to_owned();
    let refused = ["TRACE", "CONNECT", "PROPFIND", "PURGE"];
    let steps: Vec<String> = refused
        .iter()
        .chain(ALLOWED_METHODS)
        .map(|m| format!("request {m} http {authority} /x"))
        .collect();
    let report = hostile(&sandbox, "methods", &[danger(server.origin())], &steps)?
        .present(&record())
        .await;
    let got = outcomes(&report);
    assert_eq!(got.len(), steps.len());
    for outcome in &got[..refused.len()] {
        assert!(
            outcome.contains("error ErrorCode::InternalError"),
            "{outcome}"
        );
    }
    for outcome in &got[refused.len()..] {
        assert!(outcome.contains("status 200"), "{outcome}");
    }
    let methods: Vec<String> = server.received().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ALLOWED_METHODS);
    let denied: Vec<&str> = report
        .audit
        .iter()
        .filter(|r| r.decision == Decision::Denied)
        .map(|r| r.method.as_str())
        .collect();
    assert_eq!(denied, refused);
    assert_eq!(
        report.audit[0].reason.as_deref(),
        Some(
            format!(
                "provider `methods` asked for http://{authority}/x with method TRACE, which an \
                 API client does not need (the methods allowed: GET, HEAD, POST, PUT, PATCH, \
                 DELETE, OPTIONS)"
            )
            .as_str()
        )
    );
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn a_secret_in_any_request_field_never_reaches_a_record() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let server = TestServer::start(200, "{}").await?;
    let authority = server.origin().trim_start_matches("http://").to_owned();
    let steps = [
        // The method (refused: not an API method).
        format!("request {{secret}} http {authority} /x"),
        // The scheme (refused by wasi:http before the host sees the request).
        "request GET {secret} example.test /x".to_owned(),
        // The host (outside the grant), and the host with a port.
        "request GET https {secret}.example.test /x".to_owned(),
        "request GET https {secret}.example.test:8443 /x".to_owned(),
        // The path and the query, on an allowed request.
        format!("request GET http {authority} /a/{{secret}}/b?k={{secret}}&{{secret}}"),
        // A header value (never recorded, but sent: it is the provider's own credential).
        format!("request GET http {authority} /h authorization=Bearer-{{secret}}"),
        // The log and the error.
        "log {secret}".to_owned(),
    ];
    let mut steps = steps.to_vec();
    steps.push(format!(
        "request GET http {authority} /{{secret}}-in-the-log"
    ));
    let provider = hostile(&sandbox, "leaky", &[danger(server.origin())], &steps)?;
    let report = provider.present(&record()).await;
    let got = outcomes(&report);
    assert!(
        got.contains(&format!("log => logged {REDACTED}")),
        "{got:?}"
    );
    assert!(
        report.logs.iter().any(|l| l.message == REDACTED),
        "{:?}",
        report.logs
    );
    assert!(
        got.iter()
            .any(|o| o.contains("error ErrorCode::HttpProtocolError")),
        "{got:?}"
    );
    assert_eq!(report.audit.len(), 6, "{:?}", report.audit);

    // Nowhere: not in the records, not in the printed report, not in the log or the error.
    let mut printed = Vec::new();
    report.write_lines(&mut printed, "")?;
    let printed = String::from_utf8(printed)?;
    let debug = format!("{report:?}");
    let json = serde_json::to_string(&report.audit)?;
    for (what, text) in [("printed", &printed), ("debug", &debug), ("json", &json)] {
        assert!(
            !text.contains(SECRET),
            "the secret is in the {what} report: {text}"
        );
    }
    // Each field that held it shows the redaction marker instead.
    let fields: Vec<(&str, &str, &str, &str)> = report
        .audit
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.scheme.as_str(),
                r.host.as_str(),
                r.path.as_str(),
            )
        })
        .collect();
    assert_eq!(fields[0].0, REDACTED);
    assert_eq!(fields[1].2, format!("{REDACTED}.example.test"));
    assert_eq!(fields[2].2, format!("{REDACTED}.example.test"));
    assert_eq!(fields[3].3, format!("/a/{REDACTED}/b?{REDACTED}"));
    // Lower-cased (as host names are in messages), it is redacted all the same.
    assert!(
        !printed
            .to_ascii_lowercase()
            .contains(&SECRET.to_ascii_lowercase()),
        "{printed}"
    );
    // The allowed requests went out as the provider built them.
    let targets: Vec<String> = server.received().iter().map(|r| r.target.clone()).collect();
    assert_eq!(targets[0], format!("/a/{SECRET}/b?k={SECRET}&{SECRET}"));
    good_still_works(&sandbox).await
}

#[tokio::test]
async fn huge_strings_from_a_guest_are_cut_and_marked() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let marker = |total: usize| format!("… [cut: {total} bytes in all]");

    // An error of 8 MiB.
    let total = 8 << 20;
    let report = hostile(&sandbox, "loud", &[], &[format!("error {total}")])?
        .present(&record())
        .await;
    let text = error_text(&report);
    assert!(
        text.ends_with(&marker(total)),
        "{}",
        &text[text.len().saturating_sub(80)..]
    );
    assert!(text.len() < MAX_GUEST_STRING_BYTES + 200, "{}", text.len());

    // A log message of 10 KiB (under the call's log budget, over the string bound).
    let report = hostile(&sandbox, "chatty", &[], &["log 10240".to_owned()])?
        .present(&record())
        .await;
    let logged = report
        .logs
        .iter()
        .find(|l| l.message.starts_with("xxx"))
        .map(|l| l.message.clone())
        .unwrap_or_default();
    assert_eq!(
        logged,
        format!("{}{}", "x".repeat(MAX_GUEST_STRING_BYTES), marker(10240))
    );

    // A description of 1 MiB.
    let mut s = spec(
        "wordy",
        fixture("fixture-hostile")?,
        &[],
        &[
            ("steps", plain("")),
            ("describe_bytes", plain((1 << 20).to_string())),
        ],
    );
    s.limits.timeout = Duration::from_secs(10);
    let info = sandbox.load(s)?.describe().await?;
    assert_eq!(
        info.description,
        format!("{}{}", "d".repeat(MAX_GUEST_STRING_BYTES), marker(1 << 20))
    );
    good_still_works(&sandbox).await
}

/// fixture-hostile looping on the CPU in `present` until its 10 s deadline, 8 calls at once.
fn spinner(sandbox: &Sandbox) -> anyhow::Result<acmebox::sandbox::WasmDnsProvider> {
    let mut s = spec(
        "spinner",
        fixture("fixture-hostile")?,
        &[],
        &[("steps", plain("spin"))],
    );
    s.limits.timeout = Duration::from_secs(10);
    s.limits.max_concurrent_calls = 8;
    Ok(sandbox.load(s)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_provider_does_not_hold_up_another() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    // Eight CPU loops, more than the runtime has threads, each until its 10 s deadline.
    let spinner = spinner(&sandbox)?;
    // Calls on one record name wait for each other: each loop has a name of its own.
    let loops: Vec<_> = (0..8)
        .map(|i| {
            let spinner = spinner.clone();
            let mut record = record();
            record.fqdn = format!("_acme-challenge.spin{i}.example.com.");
            tokio::spawn(async move { spinner.present(&record).await })
        })
        .collect();
    // While they spin, a good provider's calls complete; the loops are all still running.
    good_still_works(&sandbox).await?;
    good_still_works(&sandbox).await?;
    assert!(
        loops.iter().all(|l| !l.is_finished()),
        "a loop ended before its deadline"
    );
    for l in loops {
        let report = l.await?;
        assert_eq!(
            error_text(&report),
            "provider `spinner` exceeded its 10 s deadline during present"
        );
    }
    Ok(())
}

/// Through `acmebox serve` (its server, in process) with three providers: while eight calls of
/// one spin, the good provider's present and the server's own answers come back; an unknown
/// provider gets the list; a huge error reaches the client cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_answering_while_a_provider_spins() -> anyhow::Result<()> {
    use acmebox::hooks::HookRunner;
    use acmebox::hooks::httpreq::HttpreqServer;

    let (sandbox, _dir) = sandbox()?;
    let api = TestServer::start(200, "{}").await?;
    let good = sandbox.load(good_spec(&api)?)?;
    let spinner = spinner(&sandbox)?;
    let loud = sandbox.load(spec(
        "loud",
        fixture("fixture-hostile")?,
        &[],
        &[("steps", plain(format!("error {}", 4 << 20)))],
    ))?;
    let runners = vec![
        HookRunner::new(good),
        HookRunner::new(spinner),
        HookRunner::new(loud),
    ];
    let server = HttpreqServer::bind_providers("127.0.0.1:0".parse()?, runners, None).await?;
    let base = format!("http://{}", server.local_addr());
    let serving = tokio::spawn(server.serve());
    let client = reqwest::Client::new();
    let body = |name: &str| {
        format!(
            r#"{{"fqdn":"_acme-challenge.{name}.example.com.","value":"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}}"#
        )
    };

    let loops: Vec<_> = (0..8)
        .map(|i| {
            let request = client
                .post(format!("{base}/spinner/present"))
                .body(body(&format!("spin{i}")));
            tokio::spawn(request.send())
        })
        .collect();
    let answer = client
        .post(format!("{base}/good/present"))
        .body(body("good"))
        .send()
        .await?;
    assert_eq!(answer.status(), 200, "{}", answer.text().await?);
    let answer = client
        .post(format!("{base}/nobody/present"))
        .body(body("x"))
        .send()
        .await?;
    assert_eq!(answer.status(), 404);
    assert_eq!(
        answer.text().await?,
        "no provider `nobody` here; POST to /<provider>/present or /cleanup, one of: good, \
         spinner, loud\n"
    );
    let answer = client
        .post(format!("{base}/loud/present"))
        .body(body("loud"))
        .send()
        .await?;
    assert_eq!(answer.status(), 502);
    let text = answer.text().await?;
    assert!(text.len() < MAX_GUEST_STRING_BYTES + 400, "{}", text.len());
    assert!(
        text.contains(&format!("[cut: {} bytes in all]", 4 << 20)),
        "{text}"
    );
    assert!(
        loops.iter().all(|l| !l.is_finished()),
        "a spinner call ended before its deadline"
    );
    for l in loops {
        let answer = l.await??;
        assert_eq!(answer.status(), 502);
        assert!(
            answer
                .text()
                .await?
                .contains("provider `spinner` exceeded its 10 s deadline during present"),
        );
    }
    serving.abort();
    Ok(())
}
