//! Loads a DNS provider component into the sandbox with a grant and its config, presents one
//! DNS-01 record through it and removes it again, printing what the provider did.
//!
//! ```text
//! cargo run -p acmebox-examples --example sandboxed_provider -- \
//!     powerdns.wasm http://127.0.0.1:8081 example.test
//! ```
//!
//! The provider may reach only the origin granted (the second argument). A grant that weakens
//! the sandbox, such as plain http or a loopback address, is written with `danger:` in front;
//! this example adds the marker when the origin needs it and prints why. Its config here is
//! PowerDNS's (`api_url`, and `api_key` from the `PDNS_API_KEY` environment variable, marked
//! secret so it is redacted from every report); change the keys for another provider.

use std::collections::BTreeMap;
use std::path::PathBuf;

use acmebox::challenge::{Identifier, KeyAuthorization, dns01::Dns01Record};
use acmebox::config::{ConfigValue, Secret};
use acmebox::sandbox::{ProviderSpec, Sandbox, TxtRecord};

#[tokio::main]
async fn main() -> acmebox::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(component), Some(api_url), Some(domain)) = (args.next(), args.next(), args.next())
    else {
        eprintln!("usage: sandboxed_provider COMPONENT.wasm API_URL DOMAIN");
        std::process::exit(2);
    };

    // One sandbox per process; it caches compiled components between runs.
    let sandbox = Sandbox::new(&std::env::temp_dir().join("acmebox-example-cache"))?;

    let mut spec = ProviderSpec::new("pdns", PathBuf::from(component));
    let entry = acmebox::egress::GrantEntry::parse(&api_url).map_err(|e| e.for_provider("pdns"))?;
    spec.allow = vec![match entry.danger_reason() {
        Some(reason) => {
            eprintln!("granting `{entry}` although {reason}");
            format!("{}{entry}", acmebox::egress::DANGER_MARKER)
        }
        None => entry.to_string(),
    }];
    spec.config = BTreeMap::from([
        ("api_url".to_owned(), ConfigValue::Plain(api_url)),
        (
            "api_key".to_owned(),
            ConfigValue::Secret(Secret::new(
                std::env::var("PDNS_API_KEY").unwrap_or_default(),
            )),
        ),
    ]);
    let provider = sandbox.load(spec)?;

    // The host computes the record; the provider only publishes it.
    let key_authorization = KeyAuthorization::parse(
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    )?;
    let dns01 = Dns01Record::new(&Identifier::parse(&domain)?, &key_authorization)?;
    let record = TxtRecord::from_dns01(&dns01, provider.ttl());

    for report in [
        provider.present(&record).await,
        provider.cleanup(&record).await,
    ] {
        // The outcome, every request the provider made (allowed or denied) and its log, with
        // secrets redacted.
        report
            .write_lines(&mut std::io::stdout(), "")
            .expect("stdout is writable");
    }
    Ok(())
}
