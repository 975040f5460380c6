//! Request headers a guest may not set.

/// Request headers the host removes from (or sets itself on) every guest request, lower case.
///
/// - `host`: the host writes it from the vetted authority. A guest-chosen `Host` sent to an
///   allowed address could reach another virtual host behind the same server or proxy.
/// - `connection`, `keep-alive`, `proxy-connection`, `te`, `trailer`, `transfer-encoding`,
///   `upgrade`, `http2-settings`: hop-by-hop headers (RFC 9110 §7.6.1) that govern the
///   connection the host owns; set by a guest they allow request smuggling, protocol switches
///   (WebSocket, h2c) past the policy, or desynchronised framing.
/// - `proxy-authorization`, `proxy-authenticate`: credentials for the host's egress proxy,
///   which a guest must neither see nor forge.
/// - `forwarded`, `via`, `x-real-ip`, `x-client-ip`, `true-client-ip` and every
///   `x-forwarded-*` header (see [`is_forbidden_request_header`]): proxies and APIs trust them
///   to say who the client is; a guest could use them to claim an internal address.
pub const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
    "proxy-authorization",
    "proxy-authenticate",
    "forwarded",
    "via",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
];

/// Prefixes of request header names a guest may not set; see [`FORBIDDEN_REQUEST_HEADERS`].
pub const FORBIDDEN_REQUEST_HEADER_PREFIXES: &[&str] = &["x-forwarded-"];

/// The request headers a guest may not set, lower case (the names of
/// [`FORBIDDEN_REQUEST_HEADERS`]; names starting with one of
/// [`FORBIDDEN_REQUEST_HEADER_PREFIXES`] are forbidden too).
pub fn forbidden_request_headers() -> &'static [&'static str] {
    FORBIDDEN_REQUEST_HEADERS
}

/// True when a guest may not set the request header `name` (compared case-insensitively):
/// the host strips it, and sets `host` itself.
///
/// ```
/// use acmebox_egress::is_forbidden_request_header;
/// assert!(is_forbidden_request_header("Host"));
/// assert!(is_forbidden_request_header("X-Forwarded-For"));
/// assert!(!is_forbidden_request_header("Authorization"));
/// ```
pub fn is_forbidden_request_header(name: &str) -> bool {
    FORBIDDEN_REQUEST_HEADERS
        .iter()
        .any(|forbidden| name.eq_ignore_ascii_case(forbidden))
        || FORBIDDEN_REQUEST_HEADER_PREFIXES.iter().any(|prefix| {
            name.get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_header_table() {
        let cases = [
            ("host", true),
            ("HOST", true),
            ("Connection", true),
            ("keep-alive", true),
            ("Proxy-Connection", true),
            ("proxy-authorization", true),
            ("TE", true),
            ("Transfer-Encoding", true),
            ("upgrade", true),
            ("forwarded", true),
            ("X-Forwarded-For", true),
            ("x-forwarded-host", true),
            ("x-forwarded-", true),
            ("x-real-ip", true),
            ("authorization", false),
            ("content-type", false),
            ("x-api-key", false),
            ("x-forwarded", false),
            ("hostname", false),
            ("", false),
            ("x-forwardé", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_forbidden_request_header(name), want, "{name:?}");
        }
        assert!(
            forbidden_request_headers()
                .iter()
                .all(|name| *name == name.to_ascii_lowercase())
        );
    }
}
