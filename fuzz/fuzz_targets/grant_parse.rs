//! Parses allow-list entries and checks URLs, requests, resolved addresses and socket uses
//! against them (`acmebox_egress`).
//!
//! Input: three paragraphs (separated by an empty line), one value a line: allow-list entries,
//! then URLs, then IP addresses the names resolve to.
//!
//! Checks: no panic; a parsed entry (HTTP or `dns://`) prints in a form that parses back to an
//! equal entry; an allowed target prints as an entry that allows it; `check_url` and
//! `check_request` agree; a query never reaches a redacted URL, a target or a denial; redacted
//! URLs hold no control characters; a socket is allowed only to a granted `dns://` address;
//! an entry that weakens the sandbox is accepted strictly only with the `danger:` marker.
#![cfg_attr(fuzzing, no_main)]

use std::net::{IpAddr, SocketAddr};

use acmebox_egress::{
    DANGER_MARKER, Denial, DnsServerEntry, Grant, GrantEntry, SocketUse, Target, blocked_reason,
    redact_url,
};
use acmebox_fuzz::{paragraphs, shows};

/// Appended as a query to every URL: it must never come out of the policy.
const SECRET: &str = "QueryS3cretTokenValue";

fn check(input: &str) {
    let paragraphs = paragraphs(input);
    let part = |i: usize| paragraphs.get(i).cloned().unwrap_or_default();
    let (entries, urls, addrs) = (part(0), part(1), part(2));

    let parsed: Vec<GrantEntry> = entries
        .iter()
        .filter_map(|entry| GrantEntry::parse(entry).ok())
        .collect();
    for entry in &parsed {
        let printed = entry.to_string();
        let reparsed = GrantEntry::parse(&printed)
            .unwrap_or_else(|err| panic!("{entry:?} prints as {printed:?}, which fails: {err}"));
        assert_eq!(&reparsed, entry, "{printed:?} re-parses differently");
        assert_eq!(entry.is_dangerous(), entry.danger_reason().is_some());
    }
    for entry in entries.iter().filter_map(|e| DnsServerEntry::parse(e).ok()) {
        let printed = entry.to_string();
        assert_eq!(
            DnsServerEntry::parse(&printed).as_ref(),
            Ok(&entry),
            "{printed:?}"
        );
        let _ = entry.is_dangerous();
    }
    let full = Grant::parse_lenient(&entries);
    marker_rules(&entries, &full);
    let grant: Grant = parsed.into_iter().collect();

    let mut addrs: Vec<IpAddr> = addrs.iter().filter_map(|a| a.trim().parse().ok()).collect();
    for url in &urls {
        if let Ok(target) = grant.check_url(url)
            && let Some(ip) = target.literal_addr()
        {
            addrs.push(ip);
        }
    }
    for (i, ip) in addrs.iter().enumerate() {
        let _ = blocked_reason(*ip);
        let Ok(full) = &full else { continue };
        let addr = SocketAddr::new(*ip, u16::try_from(i * 53 % 65536).unwrap_or(53));
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
        let result = grant.check_url(url);
        match &result {
            Ok(target) => allowed(&grant, url, target, &addrs),
            Err(denial) => {
                let _ = denial.message("fuzz");
            }
        }
        query_stays_hidden(&grant, url, &result);
        split_request_agrees(&grant, url, &result);
    }
}

/// The `danger:` marker: strict parsing accepts a list only where lenient parsing does, to the
/// same grant, with one warning per entry that weakens the sandbox; and the canonical entries,
/// each marked exactly when it weakens the sandbox, are always accepted.
fn marker_rules(entries: &[&str], lenient: &Result<Grant, acmebox_egress::GrantError>) {
    let strict = Grant::parse(entries);
    if let Ok(strict) = &strict {
        assert_eq!(Ok(strict), lenient.as_ref(), "{entries:?}");
    }
    let Ok(lenient) = lenient else { return };
    let dangerous = lenient.dangerous_entries().count() + lenient.dangerous_dns_servers().count();
    let mark = |printed: String, weakens: bool| {
        if weakens {
            format!("{DANGER_MARKER}{printed}")
        } else {
            printed
        }
    };
    let canonical: Vec<String> = (lenient.entries().iter())
        .map(|e| mark(e.to_string(), e.is_dangerous()))
        .chain((lenient.dns_servers().iter()).map(|e| mark(e.to_string(), e.is_dangerous())))
        .collect();
    let remarked = Grant::parse(&canonical)
        .unwrap_or_else(|err| panic!("{canonical:?} (from {entries:?}) is refused: {err}"));
    assert_eq!(&remarked, lenient, "{canonical:?}");
    assert_eq!(remarked.warnings().len(), dangerous, "{canonical:?}");
    if let Ok(strict) = strict {
        assert_eq!(strict.warnings().len(), dangerous, "{entries:?}");
    }
}

/// An allowed target is the entry that allows it, and vets addresses.
fn allowed(grant: &Grant, url: &str, target: &Target, addrs: &[IpAddr]) {
    let own = GrantEntry::parse(&target.to_string())
        .unwrap_or_else(|err| panic!("target {target} is not an entry: {err}"));
    let alone: Grant = [own].into_iter().collect();
    assert!(
        alone.check_url(url).is_ok(),
        "{target} does not allow {url:?}"
    );
    if let Ok(vetted) = grant.check_resolved(target, addrs) {
        assert!(!vetted.is_empty());
        assert!(vetted.iter().all(|a| a.port() == target.port()));
    }
    let _ = target.authority();
}

/// The same URL with `?SECRET` appended is decided the same way and never shows `SECRET`.
fn query_stays_hidden(grant: &Grant, url: &str, plain: &Result<Target, Denial>) {
    let with_query = format!("{url}?{SECRET}");
    let redacted = redact_url(&with_query);
    let expected = if url.contains(['?', '#']) {
        redact_url(url)
    } else {
        format!("{}?<redacted>", redact_url(url))
    };
    assert_eq!(redacted, expected, "{with_query:?}");
    let plain_text = match plain {
        Ok(target) => format!("{target} {}", target.url()),
        Err(denial) => denial.message("fuzz"),
    };
    if shows(&plain_text, SECRET) || shows(&redact_url(url), SECRET) {
        return; // the URL itself spells it out
    }
    let result = grant.check_url(&with_query);
    assert_eq!(result.is_ok(), plain.is_ok(), "{with_query:?}");
    let text = match &result {
        Ok(target) => format!("{target} {} {}", target.url(), target.authority()),
        Err(denial) => format!("{} {denial}", denial.message("fuzz")),
    };
    assert!(
        !shows(&text, SECRET),
        "{with_query:?} shows its query: {text}"
    );
}

/// `check_request` with the URL split the way `wasi:http` splits it decides like `check_url`.
fn split_request_agrees(grant: &Grant, url: &str, plain: &Result<Target, Denial>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return;
    };
    if rest.contains(['?', '#'])
        || !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https")
    {
        return;
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let split = grant.check_request(scheme, authority, path);
    match (&split, plain) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{url:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{url:?}: check_request says {split:?}, check_url says {plain:?}"),
    }
    let with_query = grant.check_request(scheme, authority, &format!("{path}?{SECRET}"));
    if let Err(denial) = with_query
        && !shows(&redact_url(url), SECRET)
    {
        let message = denial.message("fuzz");
        assert!(!shows(&message, SECRET), "{url:?}: {message}");
    }
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|input: &str| check(input));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    acmebox_fuzz::replay(|bytes| acmebox_fuzz::with_input(bytes, check))
}
