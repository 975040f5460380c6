//! The PowerDNS provider (`guest-providers/powerdns`) in the sandbox against the real PowerDNS:
//! values coexist and are removed one at a time, errors arrive as the right variants, and the
//! `acmebox` binary runs it from a config file.
//!
//! Every test works under its own name (test name and process id) and removes what it created,
//! even when it fails.

use std::collections::BTreeMap;
use std::process::Command;

use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{
    Decision, ProviderError, ProviderSpec, Sandbox, TxtRecord, WasmDnsProvider,
};
use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::http_server::TestServer;
use acmebox_tests::pdns::{self, RrsetCleanup};
use acmebox_tests::servers::servers;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_ok, join_all, key_flags, provider_error, record, sorted,
    timings, unique,
};
use serde_json::Value;

fn load(sandbox: &Sandbox, allow: &[String], api_key: &str) -> anyhow::Result<WasmDnsProvider> {
    load_at(sandbox, &pdns::origin(), allow, api_key)
}

/// The provider with `api_url` set to `api_url`.
fn load_at(
    sandbox: &Sandbox,
    api_url: &str,
    allow: &[String],
    api_key: &str,
) -> anyhow::Result<WasmDnsProvider> {
    let mut spec = ProviderSpec::new("pdns", provider("acmebox-provider-powerdns")?);
    spec.allow = allow.to_vec();
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api_url.to_owned())),
        (
            "api_key".to_owned(),
            ConfigValue::Secret(Secret::new(api_key)),
        ),
    ]);
    Ok(sandbox.load(spec)?)
}

fn sandbox() -> anyhow::Result<(Sandbox, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    Ok((Sandbox::new(&dir.path().join("cache"))?, dir))
}

#[tokio::test]
async fn apex_and_wildcard_values_coexist_and_leave_one_at_a_time() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], &servers().pdns_api_key)?;
    let domain = unique("coexist");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    // The apex without a zone (found through GET /zones), the wildcard with one.
    let apex = record(&domain, APEX_VALUE, None);
    let wildcard = record(&domain, WILDCARD_VALUE, Some("example.test."));

    let report = pdns.present(&apex).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report
            .audit
            .iter()
            .all(|a| a.decision == Decision::Allowed && a.status.is_some_and(|s| s < 300)),
        "{:?}",
        report.audit
    );
    assert_eq!(pdns::txt_values(&apex.fqdn)?, [APEX_VALUE]);
    assert_eq!(pdns::dns_txt_values(&apex.fqdn)?, [APEX_VALUE]);

    ensure_ok(&pdns.present(&wildcard).await)?;
    let both = sorted(&[APEX_VALUE, WILDCARD_VALUE]);
    assert_eq!(pdns::txt_values(&apex.fqdn)?, both);
    assert_eq!(pdns::dns_txt_values(&apex.fqdn)?, both);

    // Presenting again changes nothing and makes no PATCH.
    let report = pdns.present(&wildcard).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );
    assert_eq!(pdns::txt_values(&apex.fqdn)?, both);

    ensure_ok(&pdns.cleanup(&apex).await)?;
    assert_eq!(pdns::txt_values(&apex.fqdn)?, [WILDCARD_VALUE]);
    assert_eq!(pdns::dns_txt_values(&apex.fqdn)?, [WILDCARD_VALUE]);

    // Twice is fine; the second call finds nothing to remove.
    ensure_ok(&pdns.cleanup(&apex).await)?;
    assert_eq!(pdns::txt_values(&apex.fqdn)?, [WILDCARD_VALUE]);

    ensure_ok(&pdns.cleanup(&wildcard).await)?;
    assert!(pdns::txt_values(&apex.fqdn)?.is_empty());
    assert!(pdns::dns_txt_values(&apex.fqdn)?.is_empty());
    ensure_ok(&pdns.cleanup(&wildcard).await)?;
    Ok(())
}

/// Several values presented at one name at the same time all stay: the host runs calls on
/// one name one at a time, since the provider reads the rrset and writes it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_presents_at_one_name_keep_every_value() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], &servers().pdns_api_key)?;
    let domain = unique("concurrent");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let values: Vec<String> = (0..6).map(|i| format!("{i}{}", &APEX_VALUE[1..])).collect();
    let records: Vec<TxtRecord> = values
        .iter()
        .map(|v| record(&domain, v, Some("example.test.")))
        .collect();
    let reports = join_all(records.iter().map(|r| pdns.present(r))).await;
    for report in &reports {
        ensure_ok(report)?;
    }
    let want = sorted(&values.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(pdns::txt_values(&records[0].fqdn)?, want);
    let reports = join_all(records.iter().map(|r| pdns.cleanup(r))).await;
    for report in &reports {
        ensure_ok(report)?;
    }
    assert!(pdns::txt_values(&records[0].fqdn)?.is_empty());
    Ok(())
}

/// Presents at many names of one zone at once all land. The host runs them side by side, and
/// PowerDNS's sqlite backend refuses one of two simultaneous writes with a 500 ("database is
/// locked"), which the provider retries from the read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_presents_at_many_names_of_one_zone_all_land() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], &servers().pdns_api_key)?;
    let domains: Vec<String> = (0..12).map(|_| unique("zone-wide")).collect();
    let _cleanups: Vec<RrsetCleanup> = domains
        .iter()
        .map(|d| RrsetCleanup(format!("_acme-challenge.{d}.")))
        .collect();
    let records: Vec<TxtRecord> = domains
        .iter()
        .map(|d| record(d, APEX_VALUE, Some("example.test.")))
        .collect();
    let reports = join_all(records.iter().map(|r| pdns.present(r))).await;
    for report in &reports {
        ensure_ok(report)?;
    }
    for r in &records {
        assert_eq!(pdns::txt_values(&r.fqdn)?, [APEX_VALUE], "{}", r.fqdn);
    }
    let reports = join_all(records.iter().map(|r| pdns.cleanup(r))).await;
    for report in &reports {
        ensure_ok(report)?;
    }
    for r in &records {
        assert!(pdns::txt_values(&r.fqdn)?.is_empty(), "{}", r.fqdn);
    }
    Ok(())
}

/// A server that keeps answering 500 gets twelve rounds, then the 500 as an API error.
#[tokio::test]
async fn server_errors_are_retried_twelve_times_then_reported() -> anyhow::Result<()> {
    let server = TestServer::start(500, r#"{"error": "database is locked"}"#).await?;
    let (sandbox, _dir) = sandbox()?;
    let pdns = load_at(
        &sandbox,
        &server.origin(),
        &[danger(server.origin())],
        "key",
    )?;
    let report = pdns
        .present(&record(
            "retry.example.test",
            APEX_VALUE,
            Some("example.test."),
        ))
        .await;
    assert!(
        matches!(
                provider_error(&report),
                Some(ProviderError::Api { status: 500, message }) if message.contains("database is locked")
        ),
        "{:?}",
        report.error().map(ToString::to_string)
    );
    let methods: Vec<String> = server.received().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET"; 12]);
    let retries = report
        .logs
        .iter()
        .filter(|l| {
            l.message
                .contains("PowerDNS answered 500 (database is locked); retrying in")
        })
        .count();
    assert_eq!(retries, 11, "{:?}", report.logs);
    Ok(())
}

#[tokio::test]
async fn cleanup_of_a_value_never_presented_succeeds() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], &servers().pdns_api_key)?;
    let domain = unique("never");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let report = pdns.cleanup(&record(&domain, APEX_VALUE, None)).await;
    ensure_ok(&report)?;
    anyhow::ensure!(
        report.audit.iter().all(|a| a.method == "GET"),
        "{:?}",
        report.audit
    );
    assert!(pdns::txt_values(&format!("_acme-challenge.{domain}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], "not-the-key")?;
    let domain = unique("badkey");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    for zone in [None, Some("example.test.")] {
        let report = pdns.present(&record(&domain, APEX_VALUE, zone)).await;
        let error = report.error().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(
                provider_error(&report),
                Some(ProviderError::Unauthorized(_))
            ),
            "zone {zone:?}: {error}"
        );
        assert!(!error.contains("not-the-key"), "{error}");
    }
    assert!(pdns::txt_values(&format!("_acme-challenge.{domain}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn unknown_zone_is_zone_not_found() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], &servers().pdns_api_key)?;
    for zone in [None, Some("nowhere.test.")] {
        let report = pdns
            .present(&record("nowhere.test", APEX_VALUE, zone))
            .await;
        assert!(
            matches!(
                provider_error(&report),
                Some(ProviderError::ZoneNotFound(_))
            ),
            "zone {zone:?}: {:?}",
            report.error().map(ToString::to_string)
        );
    }
    Ok(())
}

#[tokio::test]
async fn grant_without_the_api_origin_is_denied() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(
        &sandbox,
        &["https://dns.example.com".to_owned()],
        &servers().pdns_api_key,
    )?;
    let domain = unique("denied");
    let _cleanup = RrsetCleanup(format!("_acme-challenge.{domain}."));
    let report = pdns.present(&record(&domain, APEX_VALUE, None)).await;
    let error = report.error().map(ToString::to_string).unwrap_or_default();
    let origin = pdns::origin();
    assert!(
        error.contains(&format!(
            "is not in its allow list; add `danger:{origin}` to `allow` if that is intended"
        )),
        "{error}"
    );
    assert!(
        matches!(provider_error(&report), Some(ProviderError::Transport(_))),
        "{error}"
    );
    assert_eq!(report.audit.len(), 1, "{:?}", report.audit);
    assert_eq!(report.audit[0].decision, Decision::Denied);
    assert!(pdns::txt_values(&format!("_acme-challenge.{domain}."))?.is_empty());
    Ok(())
}

#[tokio::test]
async fn describe_lists_keys_and_the_granted_origin() -> anyhow::Result<()> {
    let (sandbox, _dir) = sandbox()?;
    let pdns = load(&sandbox, &[danger(pdns::origin())], &servers().pdns_api_key)?;
    let info = pdns.describe().await?;
    assert_eq!(info.name, "powerdns");
    assert_eq!(info.hosts, [pdns::origin()]);
    assert_eq!(timings(&info), (60, 2, false));
    assert_eq!(
        key_flags(&info),
        [
            ("api_url", true, false),
            ("api_key", true, true),
            ("server_id", false, false)
        ]
    );
    // Without config it asks for nothing in particular.
    let (info, _) = sandbox
        .inspect(&provider("acmebox-provider-powerdns")?)
        .await?;
    assert!(info.hosts.is_empty(), "{:?}", info.hosts);
    Ok(())
}

/// A config in `dir` with the PowerDNS provider as `pdns`, granted `grant`, its key from
/// `ACMEBOX_TEST_PDNS_KEY`.
fn cli_config(dir: &std::path::Path, grant: &str) -> anyhow::Result<std::path::PathBuf> {
    let component = provider("acmebox-provider-powerdns")?;
    let config = dir.join("acmebox.toml");
    std::fs::write(
        &config,
        format!(
            "cache_dir = {cache}\n\n[providers.pdns]\ncomponent = {component}\nallow = [{grant}]\n\n\
             [providers.pdns.config]\napi_url = {origin}\n\
             api_key = {{ env = \"ACMEBOX_TEST_PDNS_KEY\", secret = true }}\n",
            cache = toml_string(&dir.join("cache").to_string_lossy()),
            component = toml_string(&component.to_string_lossy()),
            origin = toml_string(&pdns::origin()),
            grant = toml_string(grant),
        ),
    )?;
    Ok(config)
}

/// A grant that weakens the sandbox without saying so is refused before anything runs, with
/// the entry to write instead; the same grant marked works (see the test below).
#[tokio::test]
async fn cli_refuses_a_loopback_grant_without_the_danger_marker() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let origin = pdns::origin();
    let config = cli_config(dir.path(), &origin)?;
    let domain = unique("unmarked");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    let key_authorization =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    let out = Command::new(acmebox_bin())
        .arg("present")
        .args(["--config".as_ref(), config.as_os_str()])
        .args(["--provider", "pdns", &domain, key_authorization])
        .env("ACMEBOX_TEST_PDNS_KEY", &servers().pdns_api_key)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "acmebox: provider `pdns`: allow-list entry {origin:?} is invalid: this entry weakens \
             the sandbox: it allows plain http, which anyone on the path can read and change. If \
             the provider needs it, say so by writing it as \"danger:{origin}\" (acmebox then \
             warns about it on every load)\n"
        )
    );
    assert!(pdns::txt_values(&fqdn)?.is_empty(), "nothing was presented");
    Ok(())
}

#[tokio::test]
async fn cli_presents_and_cleans_up_without_leaking_the_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let origin = pdns::origin();
    let config = cli_config(dir.path(), &danger(&origin))?;
    let domain = unique("cli");
    let fqdn = format!("_acme-challenge.{domain}.");
    let _cleanup = RrsetCleanup(fqdn.clone());
    let key = &servers().pdns_api_key;
    let key_authorization =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    let bin = acmebox_bin();
    let run = |operation: &str| -> anyhow::Result<Value> {
        let out = Command::new(&bin)
            .arg(operation)
            .args(["--config".as_ref(), config.as_os_str()])
            .args(["--provider", "pdns", "--json", &domain, key_authorization])
            .env("ACMEBOX_TEST_PDNS_KEY", key)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        anyhow::ensure!(
            out.status.success(),
            "acmebox {operation} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        anyhow::ensure!(
            !stdout.contains(key.as_str()) && !stderr.contains(key.as_str()),
            "the API key leaked:\n{stdout}\n{stderr}"
        );
        // The marked grant is warned about on every load, once: the log's only line (the
        // report is on stdout).
        let warning = format!(
            " WARN acmebox::grant: provider `pdns`: allow entry `{}` weakens the sandbox: it \
             allows plain http, which anyone on the path can read and change provider=pdns",
            danger(&origin)
        );
        let lines: Vec<&str> = stderr.lines().collect();
        anyhow::ensure!(
            matches!(lines.as_slice(), [line] if line.ends_with(&warning)),
            "not one warning {warning:?}:\n{stderr}"
        );
        Ok(serde_json::from_str(&stdout)?)
    };

    for operation in ["present", "cleanup"] {
        let report = run(operation)?;
        assert_eq!(report["outcome"], "ok", "{report:#}");
        assert_eq!(report["operation"], operation, "{report:#}");
        let audit = report["audit"].as_array().cloned().unwrap_or_default();
        // One PATCH took effect; any before it were refused with a 5xx by PowerDNS's sqlite
        // (another test writing at the same moment) and retried by the provider.
        let patch: Vec<_> = audit.iter().filter(|a| a["method"] == "PATCH").collect();
        let (last, retried) = patch.split_last().expect("a PATCH");
        assert!(
            retried
                .iter()
                .all(|p| p["status"].as_u64().is_some_and(|s| s >= 500)),
            "{report:#}"
        );
        assert_eq!(last["decision"], "allowed", "{report:#}");
        assert_eq!(last["status"], 204, "{report:#}");
        assert_eq!(last["host"], "127.0.0.1", "{report:#}");
        assert!(
            audit
                .iter()
                .all(|a| a["decision"] == "allowed" && a["status"].as_u64().is_some()),
            "{report:#}"
        );
        let values = pdns::txt_values(&fqdn)?;
        if operation == "present" {
            assert_eq!(values.len(), 1, "{values:?}");
            assert_eq!(pdns::dns_txt_values(&fqdn)?, values);
        } else {
            assert!(values.is_empty(), "{values:?}");
        }
    }
    Ok(())
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}
