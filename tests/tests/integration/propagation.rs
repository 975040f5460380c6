//! `acmebox::propagation` against the real PowerDNS: the SOA walk, CNAMEs into another zone,
//! NS discovery, and polling while records appear (or never do).
//!
//! Every test works under its own labels (test name and process id), so tests running at the
//! same time, in this process or another, never share an rrset; each removes what it created.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use acmebox::challenge::dns01::Dns01Record;
use acmebox::challenge::{Identifier, KeyAuthorization};
use acmebox::propagation::Error;
use acmebox::propagation::{PropagationOptions, PropagationStatus, Resolver, ServerState};
use acmebox_tests::pdns::{delete_rrset, patch_rrset};
use acmebox_tests::servers::servers;
use serde_json::json;

/// PowerDNS's DNS listener.
fn pdns() -> SocketAddr {
    servers()
        .pdns_dns
        .parse()
        .expect("ACMEBOX_PDNS_DNS is host:port")
}

/// Every lookup goes to PowerDNS, and the zones' nameservers (`ns1.<zone>` → 127.0.0.1) are
/// asked on its port.
fn options() -> PropagationOptions {
    let mut options = PropagationOptions::default()
        .with_resolvers(vec![pdns()])
        .with_nameserver_port(pdns().port())
        .with_timing(Duration::from_secs(15), Duration::from_millis(200));
    options.query_timeout = Duration::from_secs(2);
    options
}

fn resolver() -> Resolver {
    Resolver::new(options()).expect("the test options are valid")
}

/// A label no other test (in this process or another) uses.
fn unique(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

fn zone_of(name: &str) -> &'static str {
    if name.ends_with(".delegated.test.") {
        "delegated.test."
    } else {
        assert!(
            name.ends_with(".example.test."),
            "{name} is in neither test zone"
        );
        "example.test."
    }
}

/// One rrset change through the PowerDNS API.
fn patch(name: &str, rrset: serde_json::Value) {
    if let Err(err) = patch_rrset(zone_of(name), rrset) {
        panic!("{err}");
    }
}

fn replace(name: &str, kind: &str, contents: &[String]) {
    let records: Vec<_> = contents
        .iter()
        .map(|content| json!({ "content": content, "disabled": false }))
        .collect();
    patch(
        name,
        json!({ "name": name, "type": kind, "ttl": 60, "changetype": "REPLACE", "records": records }),
    );
}

fn set_txt(name: &str, values: &[&str]) {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    replace(name, "TXT", &quoted);
}

/// The rrsets a test created; removed when it ends, even when it fails.
#[derive(Default)]
struct Records(Vec<(String, &'static str)>);

impl Records {
    fn txt(&mut self, name: &str, values: &[&str]) {
        self.0.push((name.to_owned(), "TXT"));
        set_txt(name, values);
    }

    fn cname(&mut self, name: &str, target: &str) {
        self.0.push((name.to_owned(), "CNAME"));
        replace(name, "CNAME", &[target.to_owned()]);
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        for (name, kind) in self.0.drain(..) {
            // Never panic here: this may run while a failed test unwinds.
            match std::panic::catch_unwind(|| delete_rrset(zone_of(&name), &name, kind)) {
                Ok(Ok(())) => {}
                Ok(Err(err)) => eprintln!("cleanup: {err}"),
                Err(_) => eprintln!("cleanup of {name} {kind} panicked"),
            }
        }
    }
}

fn key_authorization(token: char) -> KeyAuthorization {
    let token = token.to_string().repeat(43);
    KeyAuthorization::parse(&format!(
        "{token}.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    ))
    .expect("a 43-character token and a thumbprint")
}

#[tokio::test]
async fn zone_apex_is_found_by_walking_up() {
    let resolver = resolver();
    let label = unique("apex");
    let table = [
        ("a.b.example.test".to_owned(), "example.test."),
        ("A.B.Example.Test.".to_owned(), "example.test."),
        ("example.test".to_owned(), "example.test."),
        (
            format!("_acme-challenge.{label}.example.test"),
            "example.test.",
        ),
        (format!("x.{label}.delegated.test."), "delegated.test."),
        ("delegated.test.".to_owned(), "delegated.test."),
    ];
    for (name, want) in table {
        assert_eq!(
            resolver.find_zone_apex(&name).await.unwrap(),
            want,
            "{name}"
        );
    }
}

#[tokio::test]
async fn cname_into_another_zone_is_followed() {
    let label = unique("cname1");
    let domain = format!("{label}.example.test");
    let owner = format!("_acme-challenge.{domain}.");
    let target = format!("_acme-challenge.{label}-target.delegated.test.");
    let mut records = Records::default();
    records.cname(&owner, &target);

    let resolver = resolver();
    assert_eq!(resolver.follow_cname(&owner).await.unwrap(), target);
    // The owner of a CNAME is never a zone apex: the walk goes on to example.test.
    assert_eq!(
        resolver.find_zone_apex(&owner).await.unwrap(),
        "example.test."
    );

    let record = Dns01Record::new(
        &Identifier::parse(&domain).unwrap(),
        &key_authorization('a'),
    )
    .unwrap();
    let effective = resolver.effective_record(&record).await.unwrap();
    assert_eq!(
        (effective.fqdn.as_str(), effective.zone.as_str()),
        (target.as_str(), "delegated.test.")
    );

    // With CNAME following off (lego's LEGO_DISABLE_CNAME_SUPPORT), the record stays put.
    let off = Resolver::new(options().with_follow_cname(false)).unwrap();
    let effective = off.effective_record(&record).await.unwrap();
    assert_eq!(
        (effective.fqdn.as_str(), effective.zone.as_str()),
        (owner.as_str(), "example.test.")
    );
}

#[tokio::test]
async fn two_hop_cname_chain_is_followed() {
    let label = unique("cname2");
    let first = format!("_acme-challenge.{label}.example.test.");
    let middle = format!("{label}-middle.example.test.");
    let last = format!("{label}-last.delegated.test.");
    let mut records = Records::default();
    records.cname(&first, &middle);
    records.cname(&middle, &last);

    let resolver = resolver();
    assert_eq!(resolver.follow_cname(&first).await.unwrap(), last);
    assert_eq!(resolver.follow_cname(&middle).await.unwrap(), last);
    assert_eq!(resolver.follow_cname(&last).await.unwrap(), last);
}

#[tokio::test]
async fn cname_loop_is_an_error() {
    let label = unique("loop");
    let a = format!("_acme-challenge.{label}.example.test.");
    let b = format!("{label}-b.delegated.test.");
    let mut records = Records::default();
    records.cname(&a, &b);
    records.cname(&b, &a);

    let err = resolver().follow_cname(&a).await.unwrap_err();
    let Error::CnameChain { chain, .. } = &err else {
        panic!("expected a CNAME chain error, got {err}");
    };
    assert_eq!(chain, &[a.clone(), b, a]);
    assert!(
        err.to_string().contains("comes back to a name it passed"),
        "{err}"
    );
}

#[tokio::test]
async fn authoritative_servers_come_from_the_ns_records() {
    let resolver = resolver();
    for zone in ["example.test.", "delegated.test"] {
        // ns1.<zone> has an A record 127.0.0.1 and no AAAA; PowerDNS listens on its own port.
        let servers = resolver.authoritative_servers(zone).await.unwrap();
        assert_eq!(
            servers,
            [SocketAddr::new([127, 0, 0, 1].into(), pdns().port())],
            "{zone}"
        );
    }
    let given: SocketAddr = "127.0.0.1:5".parse().unwrap();
    let resolver = Resolver::new(options().with_authoritative_servers(vec![given])).unwrap();
    assert_eq!(
        resolver
            .authoritative_servers("example.test.")
            .await
            .unwrap(),
        [given]
    );
}

#[tokio::test]
async fn wait_sees_a_value_added_while_polling() {
    let label = unique("midpoll");
    let fqdn = format!("_acme-challenge.{label}.example.test.");
    let mut records = Records::default();
    records.0.push((fqdn.clone(), "TXT"));

    let adder = {
        let fqdn = fqdn.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tokio::task::spawn_blocking(move || set_txt(&fqdn, &["mid-poll-value"]))
                .await
                .unwrap();
        })
    };
    let mut seen: Vec<PropagationStatus> = Vec::new();
    let report = resolver()
        .wait_for_txt(&fqdn, "mid-poll-value", |status| seen.push(status.clone()))
        .await
        .unwrap();
    adder.await.unwrap();

    assert_eq!(report.fqdn, fqdn);
    assert_eq!(report.zone.as_deref(), Some("example.test."));
    assert!(report.attempts >= 2, "{report:?}");
    assert!(report.elapsed >= Duration::from_millis(900), "{report:?}");
    assert_eq!(report.servers.len(), 1);
    assert_eq!(
        report.servers[0].nameserver.as_deref(),
        Some("ns1.example.test.")
    );
    assert_eq!(report.servers[0].state, ServerState::Serving);

    // The hook saw every round: first the server without the value, last with it.
    assert_eq!(seen.len(), report.attempts as usize);
    let first = &seen[0];
    assert!(!first.is_complete());
    assert_eq!(
        first.servers[0].state,
        ServerState::Missing { seen: vec![] }
    );
    assert!(seen.last().unwrap().is_complete());
}

#[tokio::test]
async fn wait_sees_apex_and_wildcard_values_at_one_name() {
    let label = unique("wild");
    let domain = format!("{label}.example.test");
    let apex = Dns01Record::new(
        &Identifier::parse(&domain).unwrap(),
        &key_authorization('a'),
    )
    .unwrap();
    let wildcard = Dns01Record::new(
        &Identifier::parse(&format!("*.{domain}")).unwrap(),
        &key_authorization('b'),
    )
    .unwrap();
    assert_eq!(apex.fqdn(), wildcard.fqdn());
    let mut records = Records::default();
    records.txt(
        apex.fqdn(),
        &[apex.value().as_str(), wildcard.value().as_str()],
    );

    let resolver = resolver();
    for record in [&apex, &wildcard] {
        let effective = resolver.effective_record(record).await.unwrap();
        assert_eq!(effective.fqdn, record.fqdn());
        let report = resolver
            .wait_for_txt(&effective.fqdn, record.value().as_str(), |_| {})
            .await
            .unwrap();
        assert_eq!(report.attempts, 1, "{report:?}");
    }
}

#[tokio::test]
async fn wait_times_out_naming_the_pending_server() {
    let label = unique("timeout");
    let fqdn = format!("_acme-challenge.{label}.example.test.");
    let mut records = Records::default();
    records.txt(&fqdn, &["some-other-value"]);

    let options = options().with_timing(Duration::from_secs(2), Duration::from_millis(500));
    let resolver = Resolver::new(options).unwrap();
    let start = Instant::now();
    let err = resolver
        .wait_for_txt(&fqdn, "never-published", |_| {})
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );

    let Error::PropagationTimeout {
        pending, timeout, ..
    } = &err
    else {
        panic!("expected a propagation timeout, got {err}");
    };
    assert_eq!(*timeout, Duration::from_secs(2));
    let port = pdns().port();
    assert_eq!(
        pending,
        &[format!(
            "ns1.example.test. (127.0.0.1:{port}) serves only \"some-other-value\""
        )]
    );
    let message = err.to_string();
    assert!(
        message.contains(&fqdn) && message.contains("never-published"),
        "{message}"
    );
    assert!(
        message.contains("raise the propagation timeout"),
        "{message}"
    );
}

#[tokio::test]
async fn wait_follows_a_cname_into_the_target_zone() {
    let label = unique("cnamewait");
    let owner = format!("_acme-challenge.{label}.example.test.");
    let target = format!("_acme-challenge.{label}.delegated.test.");
    let mut records = Records::default();
    records.cname(&owner, &target);
    records.txt(&target, &["delegated-value"]);

    let report = resolver()
        .wait_for_txt(&owner, "delegated-value", |_| {})
        .await
        .unwrap();
    assert_eq!(report.fqdn, target);
    assert_eq!(report.zone.as_deref(), Some("delegated.test."));
    assert_eq!(
        report.servers[0].nameserver.as_deref(),
        Some("ns1.delegated.test.")
    );
}

#[tokio::test]
async fn authoritative_override_polls_only_the_given_servers() {
    let label = unique("override");
    let fqdn = format!("_acme-challenge.{label}.example.test.");
    let mut records = Records::default();
    records.txt(&fqdn, &["override-value"]);

    // Port 53 (the default) is not PowerDNS's: only the override makes this work.
    let options = PropagationOptions::default()
        .with_resolvers(vec![pdns()])
        .with_authoritative_servers(vec![pdns()]);
    let report = Resolver::new(options)
        .unwrap()
        .wait_for_txt(&fqdn, "override-value", |_| {})
        .await
        .unwrap();
    assert_eq!(report.zone, None);
    assert_eq!(report.servers.len(), 1);
    assert_eq!(
        (
            report.servers[0].nameserver.as_deref(),
            report.servers[0].addr
        ),
        (None, pdns())
    );
}

#[tokio::test]
async fn unreachable_resolver_says_what_to_do() {
    // Nothing listens on the discard port of loopback.
    let mut options =
        PropagationOptions::default().with_resolvers(vec!["127.0.0.1:9".parse().unwrap()]);
    options.query_timeout = Duration::from_millis(500);
    let err = Resolver::new(options)
        .unwrap()
        .find_zone_apex("a.example.test")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Dns { .. }), "{message}");
    assert!(
        message.contains("127.0.0.1:9") && message.contains("--resolver"),
        "{message}"
    );
}
