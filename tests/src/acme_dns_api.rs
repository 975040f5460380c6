//! A local stand-in for an acme-dns server's HTTP API, for the acme-dns provider's tests.
//!
//! It serves `POST /update` as acme-dns documents it on 127.0.0.1: `X-Api-User` and
//! `X-Api-Key` must be one account's, the body is `{"subdomain", "txt"}`, the answer is
//! `{"txt": <value>}`. Like acme-dns it keeps the two latest values of a subdomain. It writes
//! them through to the test PowerDNS, at `<subdomain>.acme-dns.example.test.`, so a test can
//! query them over DNS, and through a CNAME from `_acme-challenge.<domain>` as a real
//! delegation would have it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::cloudflare_api::{PowerDnsZone, Reply, quote_txt, serve, split_target};
use crate::http_server::Received;

/// The zone the stand-in's subdomains live in, inside `example.test.`.
pub const ZONE: &str = "acme-dns.example.test.";

/// The TTL acme-dns serves its TXT records with.
const TTL: u32 = 1;

/// How many values of a subdomain acme-dns keeps: the two latest, enough for a domain and its
/// wildcard.
const KEPT_VALUES: usize = 2;

/// The length of every value acme-dns accepts (a DNS-01 digest).
const VALUE_LEN: usize = 43;

/// One acme-dns account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `X-Api-User`: a UUID at acme-dns.
    pub username: String,
    /// `X-Api-Key`.
    pub password: String,
    /// The subdomain the account may update.
    pub subdomain: String,
}

/// A running acme-dns stand-in. Dropping it stops it and deletes, at PowerDNS, every rrset it
/// wrote (values and CNAMEs).
#[derive(Debug)]
pub struct AcmeDnsApi {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl AcmeDnsApi {
    /// Starts a stand-in on an ephemeral loopback port that knows `accounts`.
    pub async fn start(accounts: &[Account]) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the acme-dns stand-in to 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            accounts: accounts.to_vec(),
            values: tokio::sync::Mutex::new(BTreeMap::new()),
            pdns: PowerDnsZone::default(),
        });
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler_state = state.clone();
        let task = serve(listener, received.clone(), move |request| {
            let state = handler_state.clone();
            async move { state.handle(&request).await }
        });
        Ok(Self {
            port,
            received,
            state,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: what `api_url` and the grant take.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The name acme-dns serves `subdomain`'s values at: `<subdomain>.acme-dns.example.test.`.
    pub fn fqdn(subdomain: &str) -> String {
        format!("{}.{ZONE}", subdomain.to_ascii_lowercase())
    }

    /// Points `_acme-challenge.<domain>.` at `subdomain` with a CNAME in PowerDNS, as an
    /// acme-dns user does once per domain; removed when the stand-in is dropped.
    pub async fn delegate(&self, domain: &str, subdomain: &str) -> anyhow::Result<()> {
        let name = format!("_acme-challenge.{}.", domain.trim_end_matches('.'));
        self.state
            .pdns
            .replace(&name, "CNAME", vec![Self::fqdn(subdomain)], 60)
            .await
    }

    /// The values the stand-in holds for `subdomain`, oldest first.
    pub async fn values(&self, subdomain: &str) -> Vec<String> {
        self.state
            .values
            .lock()
            .await
            .get(subdomain)
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for AcmeDnsApi {
    fn drop(&mut self) {
        self.task.abort();
        self.state.pdns.remove_all();
    }
}

#[derive(Debug)]
struct State {
    accounts: Vec<Account>,
    /// The latest values of each subdomain, oldest first; held across the write to PowerDNS.
    values: tokio::sync::Mutex<BTreeMap<String, VecDeque<String>>>,
    pdns: PowerDnsZone,
}

impl State {
    async fn handle(&self, request: &Received) -> Reply {
        let (path, _) = split_target(&request.target);
        if path != "/update" {
            return (404, json!({ "error": "not_found" }));
        }
        if request.method != "POST" {
            return (405, json!({ "error": "method_not_allowed" }));
        }
        // As acme-dns: the credentials, a body that parses and the account's own subdomain,
        // or `forbidden`; only then the subdomain's and the value's form.
        let Some(update) = self.authorize(request) else {
            return (401, json!({ "error": "forbidden" }));
        };
        let (subdomain, txt) = update;
        if !valid_txt(&txt) {
            return (400, json!({ "error": "bad_txt" }));
        }
        let mut values = self.values.lock().await;
        let mut kept = values.get(&subdomain).cloned().unwrap_or_default();
        kept.push_back(txt.clone());
        while kept.len() > KEPT_VALUES {
            kept.pop_front();
        }
        // The same value twice is one TXT record in DNS.
        let mut contents: Vec<String> = kept.iter().map(|v| quote_txt(v)).collect();
        contents.sort();
        contents.dedup();
        let name = AcmeDnsApi::fqdn(&subdomain);
        if let Err(e) = self.pdns.replace(&name, "TXT", contents, TTL).await {
            return (500, json!({ "error": format!("db_error: {e:#}") }));
        }
        values.insert(subdomain, kept);
        (200, json!({ "txt": txt }))
    }

    /// The subdomain and value of an update that one account may make.
    fn authorize(&self, request: &Received) -> Option<(String, String)> {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let user = header("x-api-user")?;
        let key = header("x-api-key")?;
        let account = self
            .accounts
            .iter()
            .find(|a| a.username == user && a.password == key)?;
        let body: Value = serde_json::from_slice(&request.body).ok()?;
        let subdomain = body["subdomain"].as_str()?;
        let txt = body["txt"].as_str()?;
        (subdomain == account.subdomain).then(|| (subdomain.to_owned(), txt.to_owned()))
    }
}

/// Whether acme-dns takes `txt`: exactly 43 characters, all base64url.
fn valid_txt(txt: &str) -> bool {
    txt.len() == VALUE_LEN
        && txt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digests_are_valid_values() {
        assert!(valid_txt("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        for txt in [
            "",
            "short",
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0=",
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEu+0",
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEu\u{e9}",
        ] {
            assert!(!valid_txt(txt), "{txt:?}");
        }
    }
}
