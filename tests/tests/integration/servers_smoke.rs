//! The test servers themselves: PowerDNS answers its API and DNS, Pebble serves a directory.

use acmebox_tests::servers::servers;

#[test]
fn powerdns_and_pebble_are_up() {
    let s = servers();
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "-H"])
        .arg(format!("X-API-Key: {}", s.pdns_api_key))
        .arg(format!("{}/zones/example.test.", s.pdns_api_url))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zone: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(zone["name"], "example.test.");

    let dir = pebble_directory(&s.pebble_directory);
    assert!(
        dir["newOrder"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
}

/// The Pebble is the one the deps script builds (v2.10 or newer: profiles, ARI, the new DNS
/// challenges), and the third one requires External Account Binding.
#[test]
fn pebble_is_current_and_the_eab_pebble_requires_a_binding() {
    let s = servers();
    let main = pebble_directory(&s.pebble_directory);
    assert_eq!(main["meta"]["externalAccountRequired"], false);
    assert!(main["meta"]["profiles"]["shortlived"].is_string(), "{main}");
    assert!(main["renewalInfo"].is_string(), "{main}");
    let eab = pebble_directory(&s.pebble_eab_directory);
    assert_eq!(eab["meta"]["externalAccountRequired"], true, "{eab}");
}

/// The ACME directory a Pebble serves at `url`.
fn pebble_directory(url: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--cacert", &servers().pebble_ca_cert, url])
        .output()
        .expect("running curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON directory")
}
