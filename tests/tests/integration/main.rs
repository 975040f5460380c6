//! acmebox's integration tests, one binary: real PowerDNS, Pebble, lego and certbot on
//! loopback, and wasm guest components built from source.

mod acme_dns;
mod cloudflare;
mod issue;
mod issue_dns;
mod powerdns;
mod propagation;
mod sandbox;
mod servers_smoke;
