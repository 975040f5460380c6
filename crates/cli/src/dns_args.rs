//! The DNS lookup options the dns-01 commands share: where CNAME, zone and nameserver lookups
//! go, and which servers are polled for a published value.

use std::net::SocketAddr;

use acmebox::propagation::PropagationOptions;

/// `--resolver`, `--authoritative`, `--nameserver-port`.
#[derive(Debug, Clone, clap::Args)]
pub struct DnsArgs {
    /// dns-01: the recursive resolver (ip:port) for CNAME, zone and nameserver lookups;
    /// repeat for more. Default: the system's.
    #[arg(long = "resolver", value_name = "ADDR")]
    pub resolvers: Vec<SocketAddr>,
    /// dns-01: poll this server (ip:port) for the TXT values instead of the zone's
    /// nameservers; repeat for more. It must be authoritative for the zone.
    #[arg(long = "authoritative", value_name = "ADDR")]
    pub authoritative: Vec<SocketAddr>,
    /// dns-01: the port the zone's nameservers are polled on (53 unless set).
    #[arg(long, value_name = "PORT", conflicts_with = "authoritative")]
    pub nameserver_port: Option<u16>,
}

impl DnsArgs {
    /// The propagation options these arguments ask for, defaults elsewhere.
    pub fn propagation_options(&self) -> PropagationOptions {
        let mut options = PropagationOptions::default();
        if !self.resolvers.is_empty() {
            options = options.with_resolvers(self.resolvers.clone());
        }
        if !self.authoritative.is_empty() {
            options = options.with_authoritative_servers(self.authoritative.clone());
        }
        if let Some(port) = self.nameserver_port {
            options = options.with_nameserver_port(port);
        }
        options
    }
}
