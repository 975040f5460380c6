//! acmeow, the Python ACME client, with acmebox inside it: the wheel of
//! `integrations/acmeow-acmebox` (the Python module `acmebox`) built here with maturin and
//! installed beside acmeow 1.2.0 (`target/acmeow-venv`, made by `scripts/deps.sh`). acmeow gets
//! a certificate from Pebble through `acmebox.WasmDnsHandler` and the PowerDNS provider; a
//! provider the grant denies raises `acmebox.ProviderError`; the native helpers give the
//! library's values.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use acmebox::challenge::KeyAuthorization;
use acmebox::challenge::tls_alpn01::acme_identifier_value;
use acmebox_tests::certs::check_chain_issued_by;
use acmebox_tests::client_run::{assert_nothing_left, assert_success, run, write_config};
use acmebox_tests::pdns::origin;
use acmebox_tests::servers::servers;
use acmebox_tests::support::unique;
use acmebox_tests::{danger, repo_root};
use serde_json::Value;

/// A key authorization and its DNS-01 value, computed outside Rust (base64url(sha256(KA)) with
/// Python's hashlib); the challenge crate's unit tests hold the same pair.
const KA: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
const KA_DNS01_VALUE: &str = "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8";

#[test]
fn acmeow_issues_through_the_sandboxed_provider() {
    let s = servers();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let site = install_module(tmp.path());
    let config = write_config(tmp.path());
    let domain = unique("acmeow");

    let result = issue(&site, tmp.path(), &config, &domain);
    let Some(fullchain) = result["fullchain"].as_str() else {
        panic!("acmeow did not get a certificate: {result:#}");
    };
    assert_eq!(result["key"], true, "acmeow made the private key");
    let (cert, chain) = split_chain(tmp.path(), fullchain);
    let wildcard = format!("*.{domain}");
    check_chain_issued_by(&cert, &chain, &[&domain, &wildcard], &s.pebble_mgmt);
    assert_nothing_left(&domain);

    // The provider's requests, audited as in the CLI: two values placed, two removed, all
    // allowed, to PowerDNS's API only.
    let audit: Vec<&str> = result["audit"]
        .as_array()
        .expect("the audit is a list")
        .iter()
        .map(|line| line.as_str().expect("an audit line is text"))
        .collect();
    assert!(audit.len() >= 4, "{audit:#?}");
    for line in &audit {
        assert!(line.contains(&origin()), "{line}");
    }
}

#[test]
fn a_denied_provider_raises_provider_error_with_its_message() {
    let s = servers();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let site = install_module(tmp.path());
    let config = write_config(tmp.path());
    // The same provider, granted another host than PowerDNS's API.
    let text = std::fs::read_to_string(&config).expect("reading acmebox.toml");
    let grant = format!("allow = [{:?}]", danger(origin()));
    assert!(text.contains(&grant), "{text}");
    std::fs::write(
        &config,
        text.replace(&grant, r#"allow = ["https://dns.example.com"]"#),
    )
    .expect("writing acmebox.toml");
    let domain = unique("acmeow-denied");

    let result = issue(&site, tmp.path(), &config, &domain);
    assert!(result.get("fullchain").is_none(), "{result:#}");
    assert_eq!(result["error_class"], "acmebox.ProviderError", "{result:#}");
    assert_eq!(result["is_provider_error"], true);
    let message = result["message"].as_str().expect("a message");
    assert!(message.contains("pdns"), "names the provider: {message}");
    assert!(
        message.contains("allow"),
        "says the grant refused it: {message}"
    );
    assert!(!message.contains(&s.pdns_api_key), "the API key leaked");
    let audit = result["audit"].to_string();
    assert!(audit.contains("denied"), "the refusal is audited: {audit}");
    assert_nothing_left(&domain);
}

#[test]
fn the_native_helpers_give_the_librarys_values() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let site = install_module(tmp.path());
    let script = "import json, sys, acmebox\n\
        ka = sys.argv[1]\n\
        cert, key = acmebox.tls_alpn01_certificate('alpn.example.test', ka)\n\
        try:\n    acmebox.dns01_value('no-dot')\n    bad = None\n\
        except ValueError as err:\n    bad = str(err)\n\
        print(json.dumps({'value': acmebox.dns01_value(ka), 'cert': cert, 'key': key, 'bad': bad}))\n";
    let mut command = python(&site);
    command.args(["-c", script, KA]);
    let out = assert_success(&run(command, "the helpers"), "the helpers");
    let result: Value = serde_json::from_str(out.trim()).expect("the helpers print JSON");
    assert_eq!(result["value"], KA_DNS01_VALUE);
    assert!(
        result["bad"]
            .as_str()
            .is_some_and(|m| m.contains("thumbprint") || m.contains("'.'")),
        "a malformed key authorization is a ValueError: {result:#}"
    );
    assert!(
        result["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("-----BEGIN PRIVATE KEY-----")),
        "{result:#}"
    );

    let pem = result["cert"].as_str().expect("a PEM certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM");
    let cert = pem.parse_x509().expect("a certificate");
    let sans: Vec<String> = cert
        .subject_alternative_name()
        .expect("one subjectAltName")
        .expect("a subjectAltName")
        .value
        .general_names
        .iter()
        .map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => dns.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(sans, ["alpn.example.test"]);
    let ka = KeyAuthorization::parse(KA).expect("a key authorization");
    // RFC 8737 §3: the critical acmeIdentifier extension holds the key authorization's digest.
    let acme_identifier = cert
        .extensions()
        .iter()
        .find(|ext| ext.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
        .expect("the acmeIdentifier extension");
    assert!(acme_identifier.critical);
    assert_eq!(acme_identifier.value, acme_identifier_value(&ka));
}

/// Runs `tests/acmeow/issue.py` for `domain` and its wildcard against the first Pebble and
/// returns what it wrote.
fn issue(site: &Path, dir: &Path, config: &Path, domain: &str) -> Value {
    let s = servers();
    let out = dir.join("result.json");
    let mut command = python(site);
    command
        .arg(repo_root().join("tests/acmeow/issue.py"))
        .arg(config)
        .arg("pdns")
        .arg(&s.pebble_directory)
        .arg(&s.pebble_ca_cert)
        .arg(dir.join("acmeow"))
        .arg(domain)
        .arg(&s.pdns_dns)
        .arg(&out);
    assert_success(&run(command, "acmeow"), "acmeow");
    let text = std::fs::read_to_string(&out).expect("issue.py wrote its result");
    serde_json::from_str(&text).expect("issue.py writes JSON")
}

/// The full chain's first certificate and the rest, as files for [`check_chain_issued_by`].
fn split_chain(dir: &Path, fullchain: &str) -> (PathBuf, PathBuf) {
    const END: &str = "-----END CERTIFICATE-----\n";
    let at = fullchain.find(END).expect("a certificate in the chain") + END.len();
    let (cert_path, chain_path) = (dir.join("cert.pem"), dir.join("chain.pem"));
    std::fs::write(&cert_path, &fullchain[..at]).expect("writing cert.pem");
    std::fs::write(&chain_path, &fullchain[at..]).expect("writing chain.pem");
    (cert_path, chain_path)
}

/// The venv's Python with the module installed in `site` on its path.
fn python(site: &Path) -> Command {
    let mut command = Command::new(venv().join("bin/python"));
    command
        .env("PYTHONPATH", site)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // requests prefers these to the CA file acmeow is given (`verify_ssl`): Pebble's
        // listener CA would be ignored where the machine sets them.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE");
    command
}

/// `target/acmeow-venv`, which `scripts/deps.sh` makes with acmeow and maturin.
fn venv() -> PathBuf {
    let venv = repo_root().join("target/acmeow-venv");
    assert!(
        venv.join("bin/maturin").is_file(),
        "{} has no maturin: run scripts/deps.sh",
        venv.display()
    );
    venv
}

/// Installs the module's wheel into `dir/site` (for `PYTHONPATH`) and returns that folder. The
/// wheel is built once per test process; a file lock keeps test processes from building it
/// while another installs it.
fn install_module(dir: &Path) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let wheels = target_dir().join("acmeow-wheel");
    std::fs::create_dir_all(&wheels).expect("making target/acmeow-wheel");
    let lock = File::create(wheels.join(".lock")).expect("opening the wheel lock");
    lock.lock().expect("locking the wheel folder");
    let wheel = match BUILT.get_or_init(|| build_wheel(&wheels)) {
        Ok(wheel) => wheel.clone(),
        Err(err) => panic!("{err}"),
    };
    let site = dir.join("site");
    let mut command = Command::new(venv().join("bin/pip"));
    command
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(["--no-deps", "--no-index", "--target"])
        .arg(&site)
        .arg(&wheel);
    assert_success(&run(command, "pip install of the wheel"), "pip install");
    site
}

/// `maturin build --profile dev` of the module into `out`, with the target directory the tests
/// were built in, so the workspace's compiled dependencies are reused.
fn build_wheel(out: &Path) -> Result<PathBuf, String> {
    for entry in std::fs::read_dir(out).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|ext| ext == "whl") {
            std::fs::remove_file(&path).map_err(|e| e.to_string())?;
        }
    }
    let venv = venv();
    let mut command = Command::new(venv.join("bin/maturin"));
    command
        .current_dir(repo_root())
        .args(["build", "--quiet", "--profile", "dev", "--locked"])
        .args(["--manifest-path", "integrations/acmeow-acmebox/Cargo.toml"])
        .arg("--interpreter")
        .arg(venv.join("bin/python"))
        .args(["--auditwheel", "skip", "--out"])
        .arg(out)
        .env("CARGO_TARGET_DIR", target_dir());
    // No time limit: on a cold machine this compiles PyO3 and the module.
    let output = command
        .output()
        .map_err(|err| format!("cannot run maturin: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "maturin build of integrations/acmeow-acmebox failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let wheels: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .collect();
    match wheels.as_slice() {
        [wheel] if wheel.to_string_lossy().contains("-abi3-") => Ok(wheel.clone()),
        other => Err(format!("maturin built {other:?}, not one abi3 wheel")),
    }
}

/// The target directory the test binary was built in (`<target>/<profile>/deps/<binary>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf()
}
