//! Feeds request bodies of `acmebox serve` (lego's `httpreq` protocol) to the hooks' request
//! handling (`acmebox_hooks`).
//!
//! Input: the body, as a client POSTs it to `/present` or `/cleanup`.
//!
//! Decoded by `acmebox_hooks::httpreq::parse_body`, then checked through
//! `DnsRequest::txt_record`, the call the service makes before running the provider.
//!
//! Checks: no panic; what decodes yields a well-formed record or an error, with the
//! properties of `acmebox_fuzz::check_dns_request`.
#![cfg_attr(fuzzing, no_main)]

fn check(body: &[u8]) {
    if let Some(request) = acmebox_hooks::httpreq::parse_body(body) {
        acmebox_fuzz::check_dns_request(&request);
    }
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|body: &[u8]| check(body));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    acmebox_fuzz::replay(check)
}
