//! Request headers a guest may not set.

/// Request headers the host controls, lower case: a guest may not set them (setting one fails
/// in the guest with `forbidden`), and the host removes any that reach it before a request
/// leaves. This one list is what the host enforces and what its tests are driven from.
///
/// - `host`: the host writes it from the vetted authority. A guest-chosen `Host` sent to an
///   allowed address could reach another virtual host behind the same server or proxy.
/// - Hop-by-hop and connection headers (RFC 9110 §7.6.1): `connection`, `keep-alive`,
///   `proxy-connection`, `te`, `trailer`, `transfer-encoding`, `upgrade`, `http2-settings`.
///   They govern the connection the host owns; set by a guest they allow request smuggling,
///   protocol switches (WebSocket, h2c) past the policy, or desynchronised framing.
/// - Proxy headers: `proxy-authorization`, `proxy-authenticate` and every `proxy-*` header
///   (see [`FORBIDDEN_REQUEST_HEADER_PREFIXES`]): credentials and settings of the host's egress
///   proxy, which a guest must neither see nor forge.
/// - Client-address and forwarding headers: `forwarded`, `via`, every `x-forwarded-*`, and the
///   vendor and CDN forms below (`x-real-ip`, `true-client-ip`, `cf-connecting-ip`, …).
///   Proxies and APIs trust them to say who the client is; a guest could claim an internal or
///   allow-listed address with them.
/// - Method overrides (`x-http-method-override`, `x-http-method`, `x-method-override`): many
///   frameworks take the method from them, which would carry a method past the host's method
///   allow-list.
pub const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "host",
    // Hop-by-hop and connection.
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
    // Proxy.
    "proxy-authorization",
    "proxy-authenticate",
    // Client address and forwarding.
    "forwarded",
    "forwarded-for",
    "via",
    "x-forwarded",
    "x-real-ip",
    "x-client-ip",
    "client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
    "x-original-forwarded-for",
    "x-originating-ip",
    "x-remote-ip",
    "x-remote-addr",
    "x-proxyuser-ip",
    "x-original-host",
    "x-host",
    "cf-connecting-ip",
    "cf-connecting-ipv6",
    "fastly-client-ip",
    "akamai-client-ip",
    "x-azure-clientip",
    "x-azure-socketip",
    "x-appengine-user-ip",
    "x-envoy-external-address",
    // Method overrides.
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Prefixes of request header names a guest may not set; see [`FORBIDDEN_REQUEST_HEADERS`].
pub const FORBIDDEN_REQUEST_HEADER_PREFIXES: &[&str] = &["x-forwarded-", "proxy-", "x-envoy-"];

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

/// The HTTP methods a provider may use: the ones REST APIs are built on. Anything else
/// (`CONNECT`, `TRACE`, WebDAV's, made-up ones) is refused before a request leaves.
pub const ALLOWED_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// True when `method` (case-sensitive, as HTTP methods are) is in [`ALLOWED_METHODS`].
///
/// ```
/// use acmebox_egress::is_allowed_method;
/// assert!(is_allowed_method("PATCH"));
/// assert!(!is_allowed_method("TRACE"));
/// assert!(!is_allowed_method("get"));
/// ```
pub fn is_allowed_method(method: &str) -> bool {
    ALLOWED_METHODS.contains(&method)
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
            ("x-forwarded", true),
            ("Proxy-Anything", true),
            ("CF-Connecting-IP", true),
            ("True-Client-IP", true),
            ("x-envoy-original-path", true),
            ("X-HTTP-Method-Override", true),
            ("x-forwardedx", false),
            ("proxy", false),
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
