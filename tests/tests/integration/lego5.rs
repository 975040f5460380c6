//! lego v5 with acmebox as its DNS hook, against Pebble and PowerDNS, as `clients` runs
//! Debian's lego 4.9: lego's `exec` provider (default and RAW modes) with
//! `acmebox-lego-exec`, and its `httpreq` provider with `acmebox serve` (basic auth, RAW mode).
//! lego v5 runs as `tests/clients/lego5`, a program on lego v5's library that `scripts/deps.sh`
//! builds. Every run requests an apex and its wildcard and checks the certificate, the calls
//! made and that nothing is left in PowerDNS.

use acmebox_tests::lego::{Lego, lego_exec, lego_httpreq};

#[test]
fn exec_default_mode_issues_apex_and_wildcard() {
    lego_exec(Lego::V5, None);
}

#[test]
fn exec_raw_mode_issues_apex_and_wildcard() {
    lego_exec(Lego::V5, Some("RAW"));
}

#[test]
fn httpreq_through_acmebox_serve_with_basic_auth() {
    lego_httpreq(Lego::V5, None, Some(("lego5", "s3cret-pass")));
}

#[test]
fn httpreq_raw_mode_through_acmebox_serve() {
    lego_httpreq(Lego::V5, Some("RAW"), None);
}
