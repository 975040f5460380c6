//! acmebox's integration tests, one binary: real PowerDNS, Pebble, lego and certbot on
//! loopback, and wasm guest components built from source.

mod acme_dns;
mod acmeow;
mod caddy;
mod catalog;
mod cert_manager;
mod cli_messages;
mod clients;
mod cloudflare;
mod conformance;
mod delegation;
mod examples;
mod hostile;
mod issue;
mod issue_dns;
mod journal;
mod js_provider;
mod layers;
mod lego5;
mod logs;
mod powerdns;
mod propagation;
mod python_provider;
mod rfc2136;
mod sandbox;
mod serve;
mod servers_smoke;
mod sockets;
