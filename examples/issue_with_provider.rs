//! Gets a certificate for a name and its wildcard from an ACME server, answering DNS-01 through
//! a sandboxed provider: the provider is plugged into the ACME client as a `ChallengeHandler`,
//! and a propagation check waits until every authoritative server serves the records.
//!
//! ```text
//! cargo run -p acmebox-examples --example issue_with_provider -- \
//!     acmebox.toml pdns https://127.0.0.1:14000/dir pebble-ca.pem example.test out/ [DNS_SERVER]
//! ```
//!
//! DNS_SERVER (`host:port`) is asked for CNAMEs, zones and, as the one authoritative server,
//! for the records; by default the system's resolvers and the zone's NS records are used.
//!
//! `acmebox.toml` is the operator's config file (see `acmebox::config`): where the provider
//! component is, what it may reach and its config values.

use std::path::PathBuf;
use std::sync::Arc;

use acmebox::challenge::Identifier;
use acmebox::client::{Account, AccountOptions, IssueRequest, Presented};
use acmebox::config::Config;
use acmebox::propagation::{DnsReadyCheck, PropagationOptions, Resolver};
use acmebox::sandbox::{Sandbox, WasmDns01Handler};

#[tokio::main]
async fn main() -> acmebox::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some([config, provider, directory, ca_cert, domain, out_dir]), dns_server) =
        (args.first_chunk::<6>(), args.get(6))
    else {
        eprintln!(
            "usage: issue_with_provider CONFIG PROVIDER DIRECTORY_URL CA_CERT DOMAIN OUT_DIR [DNS_SERVER]"
        );
        std::process::exit(2);
    };

    // The provider, as the operator configured it, in the sandbox.
    let config = Config::load(std::path::Path::new(config))?;
    let sandbox = Sandbox::new(config.cache_dir())?;
    let provider = sandbox.load(config.provider_spec(provider)?)?;

    // Publish where a CA looks (after CNAMEs, in the right zone), and wait until every
    // authoritative server serves the value before asking the CA to validate.
    let mut options = PropagationOptions::default();
    if let Some(server) = dns_server {
        let Ok(server) = server.parse() else {
            eprintln!("DNS_SERVER must be an address and a port, as in 127.0.0.1:53");
            std::process::exit(2);
        };
        options = options
            .with_resolvers(vec![server])
            .with_authoritative_servers(vec![server]);
    }
    let resolver = Resolver::new(options)?;
    let handler = WasmDns01Handler::new(provider).with_resolver(resolver.clone());
    let ready = DnsReadyCheck::new(resolver);

    let options = AccountOptions::new(
        directory.as_str(),
        PathBuf::from(out_dir).join("account.json"),
    )
    .with_ca_cert(ca_cert)
    .with_terms_of_service_agreed(true);
    let account = Account::load_or_create(&options).await?;
    let identifiers = vec![
        Identifier::parse(domain)?,
        Identifier::parse(&format!("*.{domain}"))?,
    ];
    let request = IssueRequest::new(identifiers, out_dir)
        .with_ready_check(Arc::new(ready))
        .with_progress(|event| eprintln!("{event}"));

    // Every record presented is registered here first and removed on every way out.
    let presented = Presented::new();
    let issued = account
        .issue(request, Arc::new(handler), &presented)
        .await?;
    println!("{}", issued.paths().fullchain.display());
    Ok(())
}
