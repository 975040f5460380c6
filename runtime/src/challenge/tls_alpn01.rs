//! TLS-ALPN-01 (RFC 8737): being written.
