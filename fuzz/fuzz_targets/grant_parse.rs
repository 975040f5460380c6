//! Parses arbitrary allow-list entries and checks arbitrary URLs against them.
//!
//! Never panics; a parsed entry prints in a form that parses back to an equal entry; an allowed
//! target prints as an entry that allows it; a denial never shows the query it was given.
#![no_main]

use std::net::IpAddr;

use acmebox_egress::{Grant, GrantEntry, blocked_reason, redact_url};
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
    let _ = Grant::parse(&entries);
    let grant: Grant = parsed.into_iter().collect();
    let addrs: Vec<IpAddr> = addrs
        .iter()
        .map(|bytes| match bytes[0] % 2 {
            0 => IpAddr::from([bytes[1], bytes[2], bytes[3], bytes[4]]),
            _ => IpAddr::from(*bytes),
        })
        .collect();
    for ip in &addrs {
        let _ = blocked_reason(*ip);
    }
    for url in &urls {
        let redacted = redact_url(url);
        assert!(!redacted.chars().any(char::is_control), "{redacted:?}");
        match grant.check_url(url) {
            Ok(target) => {
                let own = GrantEntry::parse(&target.to_string())
                    .unwrap_or_else(|err| panic!("target {target} is not an entry: {err}"));
                let alone: Grant = [own].into_iter().collect();
                assert!(alone.check_url(url).is_ok(), "{target} does not allow {url:?}");
                let _ = grant.check_resolved(&target, &addrs);
                let _ = target.authority();
            }
            Err(denial) => {
                let _ = denial.message("fuzz");
            }
        }
    }
});
