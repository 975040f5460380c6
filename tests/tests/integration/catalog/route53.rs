//! Amazon Route 53 (`guest-providers/route53`) against `standins/route53.py`: moto, an
//! independent AWS emulator, behind a stand-in that checks every request's SigV4 signature with
//! botocore and writes the TXT sets moto holds through to PowerDNS, so the generic checks
//! (conformance kit included) run unchanged.
//!
//! Route 53 replaces a whole TXT set per change, so this module also follows the set through
//! moto after every step (two values coexist, a present of a value already there changes
//! nothing, cleanup removes one, the set is deleted when it empties), checks that a present
//! waits for its change to be `INSYNC`, and that neither the secret access key, the session
//! token nor the SigV4 signing key derived from the secret shows in a failing call's report.

use std::process::Command;

use acmebox::sandbox::ProviderError;
use acmebox_tests::catalog::{Case, ZONE};
use acmebox_tests::cli::acmebox_bin;
use acmebox_tests::danger;
use acmebox_tests::guests::provider;
use acmebox_tests::standin::standins_python;
use acmebox_tests::support::{
    APEX_VALUE, WILDCARD_VALUE, ensure_hidden, ensure_ok, provider_error, record, sorted, unique,
};
use anyhow::{Context as _, ensure};

const ACCESS_KEY_ID: &str = "AKIDCATALOGROUTE53";
const SECRET: &str = "catalog/Route53+secret7f3a9c1e5b2d8f4a6c0e";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEcatalogSessionToken0123456789abcdef";
const WRONG_SECRET: &str = "catalog/wrong+secret0000000000000000";

fn case() -> Case {
    Case {
        crate_name: "acmebox-provider-route53",
        vendor: "route53",
        standin_options: vec![
            ("access_key_id", ACCESS_KEY_ID.to_owned()),
            ("secret_access_key", SECRET.to_owned()),
            ("session_token", SESSION_TOKEN.to_owned()),
        ],
        config: vec![
            ("access_key_id", ACCESS_KEY_ID.to_owned(), true),
            ("secret_access_key", SECRET.to_owned(), true),
            ("session_token", SESSION_TOKEN.to_owned(), true),
        ],
        api_path: "",
        wrong_credentials: vec![("secret_access_key", WRONG_SECRET.to_owned())],
        real_host: "https://route53.amazonaws.com",
        kit_exceptions: vec![],
    }
}

acmebox_tests::catalog_tests!(case());

/// How many TXT records the stand-in holds at `name` (moto's set, copied after each change).
fn txt_records(standin: &acmebox_tests::standin::Standin, name: &str) -> anyhow::Result<usize> {
    Ok(standin
        .records()?
        .iter()
        .filter(|r| r["type"] == "TXT" && r["name"] == name)
        .count())
}

#[tokio::test]
async fn the_txt_set_after_every_step() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[])?;
    let domain = unique("route53");
    let name = format!("_acme-challenge.{domain}");
    let apex = record(&domain, APEX_VALUE, Some(ZONE));
    let wildcard = record(&domain, WILDCARD_VALUE, None);

    ensure_ok(&loaded.present(&apex).await)?;
    ensure!(standin.txt(&name)? == [APEX_VALUE], "after present");
    ensure_ok(&loaded.present(&wildcard).await)?;
    ensure!(
        standin.txt(&name)? == sorted(&[APEX_VALUE, WILDCARD_VALUE]),
        "two values must coexist: {:?}",
        standin.txt(&name)?
    );
    ensure_ok(&loaded.present(&apex).await)?;
    ensure!(
        txt_records(&standin, &name)? == 2,
        "a second present of a value must not add it again"
    );
    ensure_ok(&loaded.cleanup(&apex).await)?;
    ensure!(
        standin.txt(&name)? == [WILDCARD_VALUE],
        "cleanup removes only its value"
    );
    ensure_ok(&loaded.cleanup(&apex).await)?;
    ensure!(
        standin.txt(&name)? == [WILDCARD_VALUE],
        "a second cleanup changes nothing"
    );
    ensure_ok(&loaded.cleanup(&wildcard).await)?;
    ensure!(
        txt_records(&standin, &name)? == 0,
        "the set must be deleted when it empties"
    );

    let requests = standin.requests()?;
    let changes = requests
        .iter()
        .filter(|r| r.starts_with("POST ") && r.ends_with("/rrset/"))
        .count();
    let polls = requests
        .iter()
        .filter(|r| r.starts_with("GET /2013-04-01/change/"))
        .count();
    // Two presents and two cleanups change the set; the repeated present and cleanup do not.
    ensure!(changes == 4, "{changes} change batches: {requests:#?}");
    // The stand-in answers every change PENDING: each present polls GetChange until INSYNC.
    ensure!(polls == 2, "{polls} GetChange polls: {requests:#?}");
    Ok(())
}

/// The SigV4 signing keys (and the first derivation step) of `secret` for today and yesterday
/// (UTC), in hex: what a careless provider could log. Computed by Python's `hmac`.
fn signing_keys(secret: &str) -> anyhow::Result<Vec<String>> {
    let script = r#"
import datetime, hashlib, hmac, sys
secret = sys.argv[1]
def h(key, msg): return hmac.new(key, msg.encode(), hashlib.sha256).digest()
today = datetime.datetime.now(datetime.timezone.utc)
for day in (today, today - datetime.timedelta(days=1)):
    k_date = h(("AWS4" + secret).encode(), day.strftime("%Y%m%d"))
    k_signing = h(h(h(k_date, "us-east-1"), "route53"), "aws4_request")
    print(k_date.hex()); print(k_signing.hex())
"#;
    let output = Command::new(standins_python()?)
        .args(["-c", script, secret])
        .output()
        .context("running python for the signing keys")?;
    ensure!(output.status.success(), "{output:?}");
    let keys: Vec<String> = String::from_utf8(output.stdout)?
        .lines()
        .map(str::to_owned)
        .collect();
    ensure!(keys.len() == 4, "{keys:?}");
    Ok(keys)
}

#[tokio::test]
async fn secrets_and_signing_keys_stay_out_of_failing_reports() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let domain = unique("route53");

    // The right credentials, refused by an injected 403.
    let (loaded, _dir) = case.load(&standin, &[])?;
    standin.inject(403, None, 1)?;
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "expected unauthorized, got {:?}",
        report.error()
    );
    for hidden in [SECRET, SESSION_TOKEN]
        .map(str::to_owned)
        .into_iter()
        .chain(signing_keys(SECRET)?)
    {
        ensure_hidden(&report, &hidden)?;
    }

    // A wrong secret, refused by the signature check.
    let (loaded, _dir) = case.load(&standin, &[("secret_access_key", WRONG_SECRET.to_owned())])?;
    let report = loaded
        .present(&record(&domain, APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "expected unauthorized, got {:?}",
        report.error()
    );
    for hidden in [WRONG_SECRET, SESSION_TOKEN]
        .map(str::to_owned)
        .into_iter()
        .chain(signing_keys(WRONG_SECRET)?)
    {
        ensure_hidden(&report, &hidden)?;
    }
    Ok(())
}

#[tokio::test]
async fn a_wrong_session_token_is_unauthorized() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let (loaded, _dir) = case.load(&standin, &[("session_token", "not-the-token".to_owned())])?;
    let report = loaded
        .present(&record(&unique("route53"), APEX_VALUE, Some(ZONE)))
        .await;
    ensure!(
        matches!(
            provider_error(&report),
            Some(ProviderError::Unauthorized(_))
        ),
        "expected unauthorized, got {:?}",
        report.error()
    );
    Ok(())
}

/// `acmebox present --json` with a wrong secret fails, and nothing it prints (the JSON report
/// with its audit, and stderr) holds the secret, the session token or a SigV4 signing key
/// derived from either secret.
#[tokio::test]
async fn the_cli_json_of_a_failing_call_holds_no_secret() -> anyhow::Result<()> {
    let case = case();
    let standin = case.standin()?;
    let dir = tempfile::tempdir()?;
    let component = provider(case.crate_name)?;
    let origin = standin.origin();
    let toml = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let config = dir.path().join("acmebox.toml");
    std::fs::write(
        &config,
        format!(
            "cache_dir = {cache}\n\n[providers.r53]\ncomponent = {component}\nallow = [{grant}]\n\n\
             [providers.r53.config]\napi_url = {origin}\n\
             access_key_id = {{ value = {key_id}, secret = true }}\n\
             secret_access_key = {{ env = \"ACMEBOX_TEST_AWS_SECRET\", secret = true }}\n\
             session_token = {{ value = {token}, secret = true }}\n",
            cache = toml(&dir.path().join("cache").to_string_lossy()),
            component = toml(&component.to_string_lossy()),
            origin = toml(&origin),
            grant = toml(&danger(&origin)),
            key_id = toml(ACCESS_KEY_ID),
            token = toml(SESSION_TOKEN),
        ),
    )?;
    let out = Command::new(acmebox_bin())
        .arg("present")
        .args(["--config".as_ref(), config.as_os_str()])
        .args(["--provider", "r53", "--json", &unique("route53-cli")])
        .arg("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        .env("ACMEBOX_TEST_AWS_SECRET", WRONG_SECRET)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success(),
        "a wrong secret should fail:\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .with_context(|| format!("--json printed no report:\n{stdout}\n{stderr}"))?;
    ensure!(report["outcome"] != "ok", "{report:#}");
    ensure!(
        report["audit"].as_array().is_some_and(|a| !a.is_empty()),
        "the audit should list the refused requests: {report:#}"
    );
    let printed = format!("{stdout}\n{stderr}");
    for hidden in [SECRET, WRONG_SECRET, SESSION_TOKEN]
        .map(str::to_owned)
        .into_iter()
        .chain(signing_keys(SECRET)?)
        .chain(signing_keys(WRONG_SECRET)?)
    {
        ensure!(!printed.contains(&hidden), "{hidden} shows in:\n{printed}");
    }
    Ok(())
}
