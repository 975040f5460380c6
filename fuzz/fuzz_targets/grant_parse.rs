//! Parses arbitrary allow-list entries and checks arbitrary URLs and socket uses against them.
//!
//! Never panics; a parsed entry (HTTP or `dns://`) prints in a form that parses back to an equal
//! entry; an allowed target prints as an entry that allows it; a denial never shows the query
//! it was given; a socket connect is allowed only to a granted `dns://` address.
#![no_main]

use std::net::{IpAddr, SocketAddr};

use acmebox_egress::{DnsServerEntry, Grant, GrantEntry, SocketUse, blocked_reason, redact_url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<String>, Vec<String>, Vec<[u8; 16]>)| {
    let (entries, urls, addrs) = input;
    let parsed: Vec<GrantEntry> = entries
        .iter()
        .filter_map(|entry| GrantEntry::parse(entry).ok())
        .collect();
    for entry in &parsed {
        let printed = entry.to_string();
        let reparsed = GrantEntry::parse(&printed)
            .unwrap_or_else(|err| panic!("{entry:?} prints as {printed:?}, which fails: {err}"));
        assert_eq!(&reparsed, entry, "{printed:?} re-parses differently");
        let _ = entry.is_dangerous();
    }
    let dns: Vec<DnsServerEntry> = entries
        .iter()
        .filter_map(|entry| DnsServerEntry::parse(entry).ok())
        .collect();
    for entry in &dns {
        let printed = entry.to_string();
        assert_eq!(
            DnsServerEntry::parse(&printed).as_ref(),
            Ok(entry),
            "{printed:?}"
        );
        let _ = entry.is_dangerous();
    }
    let full = Grant::parse(&entries);
    let grant: Grant = parsed.into_iter().collect();
    let addrs: Vec<IpAddr> = addrs
        .iter()
        .map(|bytes| match bytes[0] % 2 {
            0 => IpAddr::from([bytes[1], bytes[2], bytes[3], bytes[4]]),
            _ => IpAddr::from(*bytes),
        })
        .collect();
    for (i, ip) in addrs.iter().enumerate() {
        let _ = blocked_reason(*ip);
        let Ok(full) = &full else { continue };
        let addr = SocketAddr::new(*ip, u16::try_from(i % 65536).unwrap_or(53));
        let granted = full
            .dns_servers()
            .iter()
            .any(|s| s.addr() == SocketAddr::new(ip.to_canonical(), addr.port()));
        for socket_use in [
            SocketUse::TcpConnect,
            SocketUse::UdpSend,
            SocketUse::UdpReceive,
        ] {
            assert_eq!(
                full.check_socket(addr, socket_use).is_ok(),
                granted,
                "{socket_use} {addr}"
            );
        }
        assert!(full.check_socket(addr, SocketUse::TcpListen).is_err());
        assert!(full.check_socket(addr, SocketUse::TcpAccept).is_err());
    }
    for url in &urls {
        let redacted = redact_url(url);
        assert!(!redacted.chars().any(char::is_control), "{redacted:?}");
        match grant.check_url(url) {
            Ok(target) => {
                let own = GrantEntry::parse(&target.to_string())
                    .unwrap_or_else(|err| panic!("target {target} is not an entry: {err}"));
                let alone: Grant = [own].into_iter().collect();
                assert!(
                    alone.check_url(url).is_ok(),
                    "{target} does not allow {url:?}"
                );
                let _ = grant.check_resolved(&target, &addrs);
                let _ = target.authority();
            }
            Err(denial) => {
                let _ = denial.message("fuzz");
            }
        }
    }
});
