//! Gets a certificate for a name and its wildcard from an ACME server, answering DNS-01 through
//! a sandboxed provider: the provider is plugged into the ACME client as a `ChallengeHandler`,
//! and a propagation check waits until every authoritative server serves the records.
//!
//! ```text
//! cargo run -p acmebox-examples --example issue_with_provider -- \
//!     acmebox.toml pdns https://127.0.0.1:14000/dir pebble-ca.pem example.test out/
//! ```
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
    let [config, provider, directory, ca_cert, domain, out_dir] = args.as_slice() else {
        eprintln!(
            "usage: issue_with_provider CONFIG PROVIDER DIRECTORY_URL CA_CERT DOMAIN OUT_DIR"
        );
        std::process::exit(2);
    };

    // The provider, as the operator configured it, in the sandbox.
    let config = Config::load(std::path::Path::new(config))?;
    let sandbox = Sandbox::new(config.cache_dir())?;
    let provider = sandbox.load(config.provider_spec(provider)?)?;

    // Publish where a CA looks (after CNAMEs, in the right zone), and wait until every
    // authoritative server serves the value before asking the CA to validate.
    let resolver = Resolver::new(PropagationOptions::default())?;
    let handler = WasmDns01Handler::new(provider).with_resolver(resolver.clone());
    let ready = DnsReadyCheck::new(resolver);

    let options = AccountOptions::new(
        directory.as_str(),
        PathBuf::from(out_dir).join("account.json"),
    )
    .with_ca_cert(ca_cert);
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
