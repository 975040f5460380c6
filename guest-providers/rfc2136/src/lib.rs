//! An acmebox DNS-01 provider that changes TXT records with RFC 2136 dynamic updates signed
//! with TSIG (RFC 8945), as BIND, Knot DNS, PowerDNS and others accept them.
//!
//! * `present`: one UPDATE for the zone that adds the TXT RR `record.value` at `record.fqdn`
//!   with `record.ttl` (RFC 2136 §2.5.1).
//! * `cleanup`: one UPDATE that deletes exactly that RR, by its RDATA (class NONE, §2.5.4).
//!
//! No prerequisites, so both are idempotent and other TXT values at the name stay: the apex and
//! the wildcard of a domain share one name. The zone is the one the host passes, else found
//! with SOA queries to the same server. Every message, queries included, is signed with the
//! configured key, and every answer's signature is checked before it is believed.
//!
//! The sandbox grants the provider TCP connections to one `dns://IP:PORT` and no name lookup,
//! so `server` is an IP address and everything goes over TCP. The wire format is
//! hickory-proto's; the HMACs are RustCrypto's (see [`tsig`]).

mod client;
mod message;
mod settings;
mod transport;
mod tsig;

use acmebox_provider::{ConfigKey, Provider, ProviderError, ProviderInfo, TxtRecord, config, log};

use crate::client::Client;
use crate::message::Change;
use crate::settings::Settings;

/// A primary applies an update at once; secondaries follow on NOTIFY within seconds, or at the
/// zone's refresh interval if NOTIFY is off, which the operator's propagation settings cover.
const PROPAGATION_TIMEOUT_SECS: u32 = 120;

/// How often the host checks propagation.
const POLLING_INTERVAL_SECS: u32 = 2;

struct Rfc2136;

impl Provider for Rfc2136 {
    fn describe() -> ProviderInfo {
        // `describe` sends nothing; the address is known only when the operator set `server`.
        let hosts = settings::server_address(config::get)
            .map(|address| format!("dns://{address}"))
            .into_iter()
            .collect();
        ProviderInfo {
            config_keys: vec![
                ConfigKey::required(
                    "server",
                    "the primary DNS server's IP address, optionally with the port: 192.0.2.53, \
                     192.0.2.53:53 or [2001:db8::53]:53 (no host names: the sandbox has no name \
                     lookup)",
                ),
                ConfigKey::optional("port", "the server's TCP port (default 53)"),
                ConfigKey::required("key_name", "the TSIG key's name, such as acme-key."),
                ConfigKey::required("key_secret", "the TSIG key's secret, in base64").secret(),
                ConfigKey::optional(
                    "algorithm",
                    "the TSIG key's algorithm: hmac-sha256 (default), hmac-sha512, hmac-sha384, \
                     hmac-sha224, hmac-sha1 or hmac-md5",
                ),
            ],
            hosts,
            propagation_timeout_secs: PROPAGATION_TIMEOUT_SECS,
            polling_interval_secs: POLLING_INTERVAL_SECS,
            ..ProviderInfo::new(
                "rfc2136",
                env!("CARGO_PKG_VERSION"),
                "TXT records through RFC 2136 dynamic updates signed with TSIG, over TCP",
            )
        }
    }

    fn present(record: TxtRecord) -> Result<(), ProviderError> {
        apply(Change::Add, &record)
    }

    fn cleanup(record: TxtRecord) -> Result<(), ProviderError> {
        apply(Change::Delete, &record)
    }
}

fn apply(change: Change, record: &TxtRecord) -> Result<(), ProviderError> {
    let settings = Settings::from_lookup(config::get)?;
    let server = settings.server;
    let client = Client::new(settings);
    let fqdn = message::name(&record.fqdn, "record name")?;
    let zone = match &record.zone {
        Some(zone) => message::name(zone, "zone")?,
        None => {
            let zone = client.find_zone(&fqdn)?;
            log::debug!("{fqdn} is in zone {zone} at dns://{server}");
            zone
        }
    };
    let verb = match change {
        Change::Add => "adding",
        Change::Delete => "removing",
    };
    log::info!("{verb} a TXT value at {fqdn} in zone {zone} through dns://{server}");
    client.change(change, &zone, &fqdn, &record.value, record.ttl)
}

acmebox_provider::export!(Rfc2136);
