//! # acmebox-propagation
//!
//! DNS-01 propagation checks: where a TXT record really goes, and when every authoritative
//! server serves it.
//!
//! Before an ACME client tells the CA to validate a DNS-01 challenge (RFC 8555 §8.4) it must
//! know that the CA will find the record. The CA asks some authoritative server of the zone,
//! any of them, so the record must be on all of them. A [`Resolver`]:
//!
//! 1. follows the CNAMEs of `_acme-challenge.<domain>.` ([`Resolver::follow_cname`]), since a
//!    CA follows them too and the value must be published where they end (RFC 8555 §8.4 lets
//!    the CA follow CNAMEs; delegating `_acme-challenge` to another zone is common);
//! 2. finds the zone of that name by an SOA walk ([`Resolver::find_zone_apex`]);
//! 3. looks up the zone's NS records and their addresses ([`Resolver::authoritative_servers`]);
//! 4. polls each of those servers with non-recursive queries (RD=0) until each serves the value
//!    ([`Resolver::wait_for_txt`]), reporting progress after every round.
//!
//! Steps 1–3 ask the recursive resolvers of [`PropagationOptions::resolvers`] (the system's by
//! default); step 4 asks the authoritative servers directly, so no resolver cache can hide a
//! missing record. Nothing is cached between polls: each round sends fresh queries, and a
//! negative answer from one round is never reused in the next.
//!
//! [`Resolver::effective_record`] does steps 1 and 2 for a [`Dns01Record`]: the name the
//! provider must publish at and the zone it must publish in.
//!
//! [`DnsReadyCheck`] plugs step 4 into an issuance as the client's
//! [`ReadyCheck`](acmebox_challenge::handlers::ReadyCheck): every challenge's value is waited for before the
//! CA is asked to validate.
//!
//! # lego's options
//!
//! | lego | here |
//! | --- | --- |
//! | `--dns.resolvers 127.0.0.1:5353` | [`resolvers`](PropagationOptions::resolvers) `= [127.0.0.1:5353]`: the SOA walk, CNAMEs, NS records and their addresses are looked up there |
//! | `LEGO_DISABLE_CNAME_SUPPORT=true` | [`follow_cname`](PropagationOptions::follow_cname) `= false` |
//! | `--dns.disable-cp` | no exact equivalent: lego then asks one resolver once and does not compare the value. Set [`authoritative_servers`](PropagationOptions::authoritative_servers) to the servers that really host the zone to keep checking the value there, or do not call [`Resolver::wait_for_txt`] at all |
//! | `<PROVIDER>_PROPAGATION_TIMEOUT`, `<PROVIDER>_POLLING_INTERVAL` | [`timeout`](PropagationOptions::timeout), [`interval`](PropagationOptions::interval); [`PropagationOptions::with_provider_timing`] takes a provider's own defaults |
//! | (always port 53) | [`nameserver_port`](PropagationOptions::nameserver_port) |
//!
//! # Example
//!
//! ```no_run
//! use acmebox_propagation::{PropagationOptions, Resolver};
//!
//! # async fn publish(_: &str, _: &str) {}
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> acmebox_propagation::Result<()> {
//! let options = PropagationOptions::default()
//!     .with_resolvers(vec!["127.0.0.1:5353".parse().unwrap()])
//!     .with_provider_timing(120, 5);
//! let resolver = Resolver::new(options)?;
//! let fqdn = resolver.follow_cname("_acme-challenge.example.test.").await?;
//! publish(&fqdn, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8").await;
//! let report = resolver
//!     .wait_for_txt(&fqdn, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8", |status| {
//!         eprintln!("{status}");
//!     })
//!     .await?;
//! println!("served by {} servers after {:?}", report.servers.len(), report.elapsed);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod error;
mod lookup;
mod name;
mod ready;
mod wait;

use std::net::SocketAddr;
use std::time::Duration;

pub use error::{Error, Result};
use lookup::{Nameserver, Pool};
pub use ready::{DnsReadyCheck, StatusFn};
pub use wait::{PropagationReport, PropagationStatus, ServerState, ServerStatus};

use acmebox_challenge::dns01::Dns01Record;

/// How long [`Resolver::wait_for_txt`] waits for every server to serve a value, unless the
/// provider says otherwise: lego's default. Bounds how long an issuance hangs on a record that
/// never appears.
pub const DEFAULT_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How long [`Resolver::wait_for_txt`] sleeps between rounds, unless the provider says
/// otherwise: lego's default. Keeps the polling from hammering the authoritative servers.
pub const DEFAULT_POLLING_INTERVAL: Duration = Duration::from_secs(2);

/// How long one query to one server may take before it counts as unanswered. Keeps a dead or
/// filtered server from stalling a lookup or a polling round.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most CNAMEs followed from one name, as lego. Guards against chains that never end
/// (loops are caught earlier, by name).
pub const DEFAULT_MAX_CNAME_HOPS: usize = 50;

/// The port nameservers found through NS records are asked on.
pub const DEFAULT_NAMESERVER_PORT: u16 = 53;

/// How propagation checks look things up, whom they poll, and for how long.
///
/// Start from [`Default`] and change what is needed, through the `with_*` methods or the
/// fields.
///
/// ```
/// use std::time::Duration;
/// use acmebox_propagation::PropagationOptions;
///
/// let pdns = "127.0.0.1:5353".parse().unwrap();
/// let mut options = PropagationOptions::default().with_resolvers(vec![pdns]);
/// options.nameserver_port = 5353; // the zone's NS names resolve to 127.0.0.1
/// options.timeout = Duration::from_secs(10);
/// assert!(options.follow_cname);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropagationOptions {
    /// The recursive resolvers every lookup goes to (SOA walk, CNAMEs, NS records, nameserver
    /// addresses); lego's `--dns.resolvers`, acmebox's `--resolver`. Empty (the default): the
    /// system's, from `/etc/resolv.conf`.
    pub resolvers: Vec<SocketAddr>,
    /// The servers to poll instead of the zone's nameservers. For zones whose NS records do
    /// not lead to the servers that can be reached from here (hidden primaries, split horizon,
    /// test servers on another port). They are asked without recursion, so they must be
    /// authoritative for the zone. `None` (the default): the zone's NS records.
    pub authoritative_servers: Option<Vec<SocketAddr>>,
    /// The port the nameservers found through NS records are asked on;
    /// [`DEFAULT_NAMESERVER_PORT`] unless they listen elsewhere (tests).
    pub nameserver_port: u16,
    /// How long to wait for every server to serve the value; [`DEFAULT_PROPAGATION_TIMEOUT`].
    pub timeout: Duration,
    /// The pause between polling rounds; [`DEFAULT_POLLING_INTERVAL`].
    pub interval: Duration,
    /// How long one query to one server may take; [`DEFAULT_QUERY_TIMEOUT`].
    pub query_timeout: Duration,
    /// Whether to follow CNAMEs from `_acme-challenge.<domain>.`; `true`. lego's
    /// `LEGO_DISABLE_CNAME_SUPPORT=true` is `false` here.
    pub follow_cname: bool,
    /// The most CNAMEs followed from one name; [`DEFAULT_MAX_CNAME_HOPS`].
    pub max_cname_hops: usize,
}

impl Default for PropagationOptions {
    fn default() -> Self {
        PropagationOptions {
            resolvers: Vec::new(),
            authoritative_servers: None,
            nameserver_port: DEFAULT_NAMESERVER_PORT,
            timeout: DEFAULT_PROPAGATION_TIMEOUT,
            interval: DEFAULT_POLLING_INTERVAL,
            query_timeout: DEFAULT_QUERY_TIMEOUT,
            follow_cname: true,
            max_cname_hops: DEFAULT_MAX_CNAME_HOPS,
        }
    }
}

impl PropagationOptions {
    /// Sets [`resolvers`](Self::resolvers).
    pub fn with_resolvers(mut self, resolvers: Vec<SocketAddr>) -> Self {
        self.resolvers = resolvers;
        self
    }

    /// Sets [`authoritative_servers`](Self::authoritative_servers).
    pub fn with_authoritative_servers(mut self, servers: Vec<SocketAddr>) -> Self {
        self.authoritative_servers = Some(servers);
        self
    }

    /// Sets [`nameserver_port`](Self::nameserver_port).
    pub fn with_nameserver_port(mut self, port: u16) -> Self {
        self.nameserver_port = port;
        self
    }

    /// Sets [`timeout`](Self::timeout) and [`interval`](Self::interval).
    pub fn with_timing(mut self, timeout: Duration, interval: Duration) -> Self {
        self.timeout = timeout;
        self.interval = interval;
        self
    }

    /// Takes the timing a provider declares (`propagation-timeout-secs` and
    /// `polling-interval-secs` of its `provider-info`); a zero keeps the current value.
    pub fn with_provider_timing(mut self, timeout_secs: u32, interval_secs: u32) -> Self {
        if timeout_secs > 0 {
            self.timeout = Duration::from_secs(timeout_secs.into());
        }
        if interval_secs > 0 {
            self.interval = Duration::from_secs(interval_secs.into());
        }
        self
    }

    /// Sets [`follow_cname`](Self::follow_cname).
    pub fn with_follow_cname(mut self, follow: bool) -> Self {
        self.follow_cname = follow;
        self
    }

    /// Refuses options that cannot work.
    fn check(&self) -> Result<()> {
        let fail = |reason: &str| {
            Err(Error::PropagationSetup {
                reason: reason.to_owned(),
            })
        };
        if self.interval.is_zero() {
            return fail("the polling interval is zero; give it at least a second or so");
        }
        if self.query_timeout.is_zero() {
            return fail("the query timeout is zero; give it a few seconds");
        }
        if self.nameserver_port == 0 {
            return fail("the nameserver port is 0; nameservers listen on 53");
        }
        if self
            .authoritative_servers
            .as_ref()
            .is_some_and(Vec::is_empty)
        {
            return fail(
                "the list of authoritative servers is empty; give at least one, or none at all to use the zone's NS records",
            );
        }
        Ok(())
    }
}

/// Where a DNS-01 record really goes: [`Resolver::effective_record`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EffectiveRecord {
    /// The name to publish the TXT value at: the record's own name, or where its CNAMEs end.
    /// Absolute, lower case.
    pub fqdn: String,
    /// The apex of the zone that name is in, absolute: the zone to ask the DNS provider to
    /// change.
    pub zone: String,
}

/// Looks names up and polls authoritative servers, as its [`PropagationOptions`] say.
///
/// Creating one does no I/O. Its methods need a Tokio runtime with I/O and time enabled; their
/// futures are `Send` (with a `Send` progress hook), so they can be spawned. Clones are cheap
/// and share the client of the recursive resolvers (which caches nothing).
#[derive(Clone)]
pub struct Resolver {
    options: PropagationOptions,
    resolvers: Vec<SocketAddr>,
    recursive: Pool,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("options", &self.options)
            .field("resolvers", &self.resolvers)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver for `options`. With no [`resolvers`](PropagationOptions::resolvers) given it
    /// reads the system's from `/etc/resolv.conf`, and fails when there are none.
    pub fn new(options: PropagationOptions) -> Result<Self> {
        options.check()?;
        let resolvers = if options.resolvers.is_empty() {
            system_resolvers()?
        } else {
            options.resolvers.clone()
        };
        let recursive = Pool::new(&resolvers, true, options.query_timeout)?;
        Ok(Resolver {
            options,
            resolvers,
            recursive,
        })
    }

    /// The options it was made with.
    pub fn options(&self) -> &PropagationOptions {
        &self.options
    }

    /// The recursive resolvers it asks: the configured ones, or the system's.
    pub fn resolvers(&self) -> &[SocketAddr] {
        &self.resolvers
    }

    /// The apex of the zone `name` is in, absolute (`a.b.example.test` → `example.test.`).
    ///
    /// Asks SOA for `name`, then for each parent, stripping labels from the left, and stops
    /// at the first SOA answer. When a negative answer carries the zone's SOA in its authority
    /// section, that names the zone at once. A name that is a CNAME is passed over: a CNAME
    /// cannot be at a zone apex.
    pub async fn find_zone_apex(&self, name: &str) -> Result<String> {
        lookup::zone_apex(&self.recursive, name).await
    }

    /// The name where the CNAMEs from `fqdn` end (`fqdn` itself when it has none), absolute.
    /// At most [`max_cname_hops`](PropagationOptions::max_cname_hops) are followed; a chain
    /// that comes back to a name it passed is an [`Error::CnameChain`]. With
    /// [`follow_cname`](PropagationOptions::follow_cname) off, `fqdn` is returned normalised.
    pub async fn follow_cname(&self, fqdn: &str) -> Result<String> {
        if !self.options.follow_cname {
            return name::absolute(fqdn);
        }
        lookup::cname_target(&self.recursive, fqdn, self.options.max_cname_hops).await
    }

    /// Where `record`'s value must be published: its name after CNAMEs, and that name's zone.
    pub async fn effective_record(&self, record: &Dns01Record) -> Result<EffectiveRecord> {
        let fqdn = self.follow_cname(record.fqdn()).await?;
        let zone = self.find_zone_apex(&fqdn).await?;
        Ok(EffectiveRecord { fqdn, zone })
    }

    /// The servers to poll for `zone`: the addresses of its nameservers (NS records, then A
    /// and AAAA) on [`nameserver_port`](PropagationOptions::nameserver_port), or
    /// [`authoritative_servers`](PropagationOptions::authoritative_servers) when given.
    pub async fn authoritative_servers(&self, zone: &str) -> Result<Vec<SocketAddr>> {
        let servers = self.targets(zone).await?;
        Ok(servers.into_iter().map(|ns| ns.addr).collect())
    }

    /// Waits until every authoritative server of its zone serves `value` among the TXT values
    /// at `fqdn` (a domain and its wildcard share one name, so there may be others).
    ///
    /// `fqdn` is followed through its CNAMEs first (unless that is off), its zone found and
    /// its servers looked up once; then every server is asked without recursion, all at once,
    /// each [`interval`](PropagationOptions::interval), until all serve the value or
    /// [`timeout`](PropagationOptions::timeout) has passed. The last round can end after the
    /// deadline, by at most two query timeouts (UDP, then TCP). `progress` sees each round's [`PropagationStatus`] (to feed
    /// a terminal line, a log, or a `tokio::sync::watch` channel; `|_| {}` to ignore it).
    ///
    /// Fails with [`Error::PropagationTimeout`], naming each server that did not serve the
    /// value and what it served instead, or with [`Error::Dns`] when the lookups before the
    /// polling fail.
    pub async fn wait_for_txt(
        &self,
        fqdn: &str,
        value: &str,
        progress: impl FnMut(&PropagationStatus),
    ) -> Result<PropagationReport> {
        let fqdn = self.follow_cname(fqdn).await?;
        let (zone, servers) = match self.given_servers() {
            Some(servers) => (None, servers),
            None => {
                let zone = self.find_zone_apex(&fqdn).await?;
                let servers = self.targets(&zone).await?;
                (Some(zone), servers)
            }
        };
        wait::Poll {
            fqdn,
            zone,
            value,
            servers,
            timeout: self.options.timeout,
            interval: self.options.interval,
            query_timeout: self.options.query_timeout,
        }
        .run(progress)
        .await
    }

    /// The servers to poll for `zone`: the operator's, or the zone's nameservers.
    async fn targets(&self, zone: &str) -> Result<Vec<Nameserver>> {
        match self.given_servers() {
            Some(servers) => Ok(servers),
            None => lookup::nameservers(&self.recursive, zone, self.options.nameserver_port).await,
        }
    }

    /// [`PropagationOptions::authoritative_servers`], when given.
    fn given_servers(&self) -> Option<Vec<Nameserver>> {
        let servers = self.options.authoritative_servers.as_ref()?;
        Some(
            servers
                .iter()
                .map(|addr| Nameserver {
                    name: None,
                    addr: *addr,
                })
                .collect(),
        )
    }
}

/// The resolvers of `/etc/resolv.conf` (or the platform's equivalent).
fn system_resolvers() -> Result<Vec<SocketAddr>> {
    let fail = |reason: String| Error::PropagationSetup {
        reason: format!(
            "no resolvers were given and the system's could not be used: {reason}; give them with --resolver (the resolvers option)"
        ),
    };
    let (config, _) =
        hickory_resolver::system_conf::read_system_conf().map_err(|err| fail(err.to_string()))?;
    let resolvers: Vec<SocketAddr> = config
        .name_servers()
        .iter()
        .map(|server| {
            let port = server
                .connections
                .first()
                .map_or(DEFAULT_NAMESERVER_PORT, |connection| connection.port);
            SocketAddr::new(server.ip, port)
        })
        .collect();
    if resolvers.is_empty() {
        return Err(fail("it lists no nameservers".into()));
    }
    Ok(resolvers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let options = PropagationOptions::default();
        assert!(options.resolvers.is_empty() && options.authoritative_servers.is_none());
        assert_eq!(options.nameserver_port, 53);
        assert_eq!(options.timeout, Duration::from_secs(60));
        assert_eq!(options.interval, Duration::from_secs(2));
        assert!(options.follow_cname);
        assert_eq!(options.max_cname_hops, 50);
    }

    #[test]
    fn provider_timing_zero_keeps_the_default() {
        let options = PropagationOptions::default().with_provider_timing(120, 0);
        assert_eq!(options.timeout, Duration::from_secs(120));
        assert_eq!(options.interval, DEFAULT_POLLING_INTERVAL);
        let options = options.with_provider_timing(0, 7);
        assert_eq!(options.timeout, Duration::from_secs(120));
        assert_eq!(options.interval, Duration::from_secs(7));
    }

    #[test]
    fn unworkable_options_are_refused() {
        let resolver = vec!["127.0.0.1:53".parse().unwrap()];
        let base = PropagationOptions::default().with_resolvers(resolver);
        let mut zero_interval = base.clone();
        zero_interval.interval = Duration::ZERO;
        let mut zero_port = base.clone();
        zero_port.nameserver_port = 0;
        let table = [
            (zero_interval, "interval is zero"),
            (zero_port, "port is 0"),
            (base.clone().with_authoritative_servers(vec![]), "is empty"),
        ];
        for (options, want) in table {
            let err = Resolver::new(options).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        assert!(Resolver::new(base).is_ok());
    }

    #[test]
    fn futures_can_be_spawned() {
        fn spawnable<T: Send + 'static>(_: &T) {}
        let options =
            PropagationOptions::default().with_resolvers(vec!["127.0.0.1:9".parse().unwrap()]);
        let resolver = Resolver::new(options).unwrap();
        let mut statuses = Vec::new();
        spawnable(&async move {
            resolver
                .wait_for_txt("a.test", "v", |status| statuses.push(status.clone()))
                .await
        });
    }

    #[test]
    fn follow_cname_off_only_normalises() {
        let options = PropagationOptions::default()
            .with_resolvers(vec!["127.0.0.1:9".parse().unwrap()])
            .with_follow_cname(false);
        let resolver = Resolver::new(options).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let name = runtime
            .block_on(resolver.follow_cname("_acme-challenge.Example.test"))
            .unwrap();
        assert_eq!(name, "_acme-challenge.example.test.");
    }
}
