//! Checks of the certificates the tests obtain from Pebble.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use acmebox::client::OutputPaths;

use crate::servers::servers;

/// Checks the issued files: exactly `names` as SANs, a chain to the running Pebble's root
/// (fetched now: Pebble makes a new root at every start), key.pem mode 0600.
pub fn check_certificate(paths: &OutputPaths, names: &[&str]) {
    check_certificate_issued_by(paths, names, &servers().pebble_mgmt);
}

/// [`check_certificate`] for a certificate from the Pebble whose management URL is
/// `pebble_mgmt` (the second Pebble, which validates against BIND).
pub fn check_certificate_issued_by(paths: &OutputPaths, names: &[&str], pebble_mgmt: &str) {
    check_chain_issued_by(&paths.cert, &paths.chain, names, pebble_mgmt);
    let fullchain = std::fs::read_to_string(&paths.fullchain).expect("fullchain.pem");
    let cert = std::fs::read_to_string(&paths.cert).expect("cert.pem");
    let chain = std::fs::read_to_string(&paths.chain).expect("chain.pem");
    assert_eq!(fullchain, format!("{cert}{chain}"));
    assert!(!chain.is_empty(), "Pebble sends an intermediate");
    assert_private_key(&paths.key);
    assert!(
        std::fs::read_to_string(&paths.key)
            .expect("key.pem")
            .starts_with("-----BEGIN PRIVATE KEY-----"),
        "acmebox writes PKCS #8 keys"
    );
}

/// Checks that the first certificate in `cert` names exactly `names` and chains through the
/// certificates in `chain` to the running Pebble's root.
pub fn check_chain(cert: &Path, chain: &Path, names: &[&str]) {
    check_chain_issued_by(cert, chain, names, &servers().pebble_mgmt);
}

/// [`check_chain`] against the root of the Pebble whose management URL is `pebble_mgmt`.
pub fn check_chain_issued_by(cert: &Path, chain: &Path, names: &[&str], pebble_mgmt: &str) {
    let s = servers();
    let pem = std::fs::read(cert).expect("the certificate file is readable");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("the certificate file is PEM");
    let leaf = pem
        .parse_x509()
        .expect("the first PEM block is a certificate");
    let sans: BTreeSet<String> = leaf
        .subject_alternative_name()
        .expect("one subjectAltName extension")
        .expect("the leaf has a subjectAltName")
        .value
        .general_names
        .iter()
        .map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => dns.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    let want: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    assert_eq!(sans, want);

    let tmp = tempfile::tempdir().expect("a temp dir");
    let root = tmp.path().join("root.pem");
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--cacert", &s.pebble_ca_cert, "-o"])
        .arg(&root)
        .arg(format!("{pebble_mgmt}/roots/0"))
        .output()
        .expect("running curl");
    assert!(
        out.status.success(),
        "fetching Pebble's root: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&root)
        .arg("-untrusted")
        .arg(chain)
        .arg(cert)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks that `key` is a PEM private key readable by its owner only.
pub fn assert_private_key(key: &Path) {
    assert_eq!(mode(key), 0o600, "{}", key.display());
    let text = std::fs::read_to_string(key).expect("the key file");
    assert!(
        text.starts_with("-----BEGIN ") && text.contains("PRIVATE KEY-----"),
        "{} is not a PEM private key",
        key.display()
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("the file exists")
        .permissions()
        .mode()
        & 0o777
}

/// Runs a prepared `acmebox issue` command (two minutes at most) that writes into `out_dir`:
/// asserts it succeeded and printed the full chain's path on stdout, checks the certificate
/// for exactly `names` with [`check_certificate`], and returns what it wrote on stderr.
pub async fn run_issue(command: tokio::process::Command, out_dir: &Path, names: &[&str]) -> String {
    run_issue_with(command, out_dir, names, &servers().pebble_mgmt).await
}

/// [`run_issue`] against the Pebble whose management URL is `pebble_mgmt`.
pub async fn run_issue_with(
    mut command: tokio::process::Command,
    out_dir: &Path,
    names: &[&str],
    pebble_mgmt: &str,
) -> String {
    let out = command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
        .await
        .expect("acmebox issue timed out")
        .expect("acmebox issue runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "acmebox issue failed:\n{stderr}");
    let paths = OutputPaths::in_dir(out_dir);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        paths.fullchain.display().to_string()
    );
    check_certificate_issued_by(&paths, names, pebble_mgmt);
    stderr
}
