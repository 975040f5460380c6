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

    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "--cacert",
            &s.pebble_ca_cert,
            &s.pebble_directory,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        dir["newOrder"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
}
