//! The `acmebox` command as scripts use it: exact output shapes, exit codes and error sentences.

use std::process::{Command, Output};

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KA: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

fn acmebox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acmebox"))
        .args(args)
        .output()
        .expect("the acmebox binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "unexpected success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "errors must not go to stdout");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn key_authorization_from_the_rfc7638_jwk() {
    let dir = tempfile::tempdir().unwrap();
    let jwk = dir.path().join("account.jwk");
    std::fs::write(
        &jwk,
        r#"{"kty":"RSA","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#,
    )
    .unwrap();
    let out = acmebox(&[
        "challenge",
        "key-authorization",
        "--jwk",
        jwk.to_str().unwrap(),
        TOKEN,
    ]);
    assert_eq!(stdout(&out), format!("{KA}\n"));

    let missing = acmebox(&[
        "challenge",
        "key-authorization",
        "--jwk",
        "/nonexistent.jwk",
        TOKEN,
    ]);
    assert!(failure(&missing).contains("cannot read the JWK file /nonexistent.jwk"));
}

#[test]
fn dns01_plain_and_json() {
    let plain = stdout(&acmebox(&["challenge", "dns-01", "*.Example.COM.", KA]));
    assert_eq!(
        plain,
        "_acme-challenge.example.com. ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8\n"
    );
    let json = stdout(&acmebox(&[
        "challenge",
        "dns-01",
        "--json",
        "example.com",
        KA,
    ]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"fqdn": "_acme-challenge.example.com.", "value": "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8"})
    );
}

#[test]
fn dns_account_01_names_the_record_after_the_account() {
    // The account and label of draft-ietf-acme-dns-account-label's example.
    let account = "https://example.com/acme/acct/ExampleAccount";
    let args = ["challenge", "dns-account-01", "--account-url", account];
    let plain = stdout(&acmebox(&[&args[..], &["*.Example.ORG", KA]].concat()));
    assert_eq!(
        plain,
        "_ujmmovf2vn55tgye._acme-challenge.example.org. ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8\n"
    );
    let json = stdout(&acmebox(
        &[&args[..], &["--json", "example.org", KA]].concat(),
    ));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["fqdn"],
        serde_json::json!("_ujmmovf2vn55tgye._acme-challenge.example.org.")
    );
    let ip = acmebox(&[&args[..], &["192.0.2.1", KA]].concat());
    assert!(failure(&ip).contains("IP identifiers cannot be validated by DNS"));
}

#[test]
fn dns_persist_01_prints_the_record_to_place_once() {
    let account = "https://acme-v02.api.letsencrypt.org/acme/acct/1234567";
    let args = [
        "challenge",
        "dns-persist-01",
        "--issuer-domain-name",
        "LetsEncrypt.org",
        "--account-url",
        account,
    ];
    let plain = stdout(&acmebox(&[&args[..], &["*.Example.com"]].concat()));
    assert_eq!(
        plain,
        format!(
            "_validation-persist.example.com. TXT \"letsencrypt.org; accounturi={account}; policy=wildcard\"\n"
        )
    );
    let json = stdout(&acmebox(&[&args[..], &["--json", "example.com"]].concat()));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["value"],
        serde_json::json!(format!("letsencrypt.org; accounturi={account}"))
    );
    let spaced = acmebox(&[
        "challenge",
        "dns-persist-01",
        "--issuer-domain-name",
        "letsencrypt.org",
        "--account-url",
        "https://ca.test/acct/1; policy=wildcard",
        "example.com",
    ]);
    assert!(failure(&spaced).contains("cannot be written into the record"));
}

#[test]
fn http01_plain_and_json() {
    let plain = stdout(&acmebox(&["challenge", "http-01", TOKEN, KA]));
    assert_eq!(plain, format!("/.well-known/acme-challenge/{TOKEN} {KA}\n"));
    let json = stdout(&acmebox(&["challenge", "http-01", "--json", TOKEN, KA]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["path"],
        format!("/.well-known/acme-challenge/{TOKEN}")
    );
    assert_eq!(value["body"], KA);
}

#[test]
fn tls_alpn01_writes_certificate_and_private_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("alpn.crt");
    let key = dir.path().join("alpn.key");
    let out = acmebox(&[
        "challenge",
        "tls-alpn-01",
        "192.0.2.7",
        KA,
        "--cert-out",
        cert.to_str().unwrap(),
        "--key-out",
        key.to_str().unwrap(),
        "--key-type",
        "p384",
        "--validity",
        "2h",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("7.2.0.192.in-addr.arpa"));
    let key_mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600);
    let pem = std::fs::read(&cert).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let validity = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    assert!(
        (2 * 3600..=2 * 3600 + 3600).contains(&validity),
        "validity {validity}s"
    );
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
        .expect("acmeIdentifier extension");
    assert!(ext.critical);
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(key_text.starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn errors_are_sentences_on_stderr_with_a_failure_status() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["challenge", "dns-01", "192.0.2.1", KA],
            "use http-01 or tls-alpn-01",
        ),
        (
            &["challenge", "dns-01", "example.com", "no-dot"],
            "it must be `<token>.<thumbprint>`",
        ),
        (&["challenge", "dns-01", "bad..name", KA], "empty label"),
        (
            &["challenge", "http-01", "short", KA],
            "shorter than 22 characters",
        ),
        (
            &["challenge", "http-01", "aaaaaaaaaaaaaaaaaaaaaa", KA],
            "made for another token",
        ),
        (
            &[
                "challenge",
                "tls-alpn-01",
                "*.example.com",
                KA,
                "--cert-out",
                "/tmp/x",
                "--key-out",
                "/tmp/y",
            ],
            "wildcard",
        ),
        (
            &[
                "challenge",
                "tls-alpn-01",
                "example.com",
                KA,
                "--cert-out",
                "c",
                "--key-out",
                "k",
                "--key-type",
                "dsa",
            ],
            "use p256, p384, ed25519, rsa2048, rsa3072 or rsa4096",
        ),
        (
            &[
                "challenge",
                "tls-alpn-01",
                "example.com",
                KA,
                "--cert-out",
                "c",
                "--key-out",
                "k",
                "--validity",
                "1w",
            ],
            "write it like 90s, 15m, 12h or 7d",
        ),
    ];
    for (args, want) in cases {
        let err = failure(&acmebox(args));
        assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
        assert!(
            !err.contains("NzbLsXh8uDCcd"),
            "{args:?}: the key authorization leaked: {err}"
        );
    }
}
