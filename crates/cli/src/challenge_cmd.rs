//! `acmebox challenge ...`: the native challenge core on the command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use acmebox::challenge::tls_alpn01::{self, CertificateOptions, KeyType};
use acmebox::challenge::{Identifier, Jwk, KeyAuthorization, Token, dns_persist01, dns01, http01};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum ChallengeCommand {
    /// Print the key authorization `<token>.<thumbprint>` for an account key (RFC 8555 §8.1).
    KeyAuthorization {
        /// The account's public (or private) key as a JWK file.
        #[arg(long, value_name = "FILE")]
        jwk: PathBuf,
        /// The challenge token from the ACME server.
        token: String,
    },
    /// Print the DNS-01 record name and TXT value (RFC 8555 §8.4).
    #[command(name = "dns-01")]
    Dns01 {
        #[command(flatten)]
        output: Output,
        /// The domain or wildcard being validated, such as `*.example.com`.
        identifier: String,
        /// The key authorization, `<token>.<thumbprint>`.
        key_authorization: String,
    },
    /// Print the dns-account-01 record name and TXT value (draft-ietf-acme-dns-account-label).
    #[command(name = "dns-account-01")]
    DnsAccount01 {
        #[command(flatten)]
        output: Output,
        /// The URL of the ACME account (its registration's `Location`), such as
        /// `https://acme-v02.api.letsencrypt.org/acme/acct/123456789`.
        #[arg(long, value_name = "URL")]
        account_url: String,
        /// The domain or wildcard being validated, such as `*.example.com`.
        identifier: String,
        /// The key authorization, `<token>.<thumbprint>`.
        key_authorization: String,
    },
    /// Print the dns-persist-01 record name and TXT value (draft-ietf-acme-dns-persist), to
    /// place by hand once; a wildcard asks for `policy=wildcard`.
    #[command(name = "dns-persist-01")]
    DnsPersist01 {
        #[command(flatten)]
        output: Output,
        /// The CA's issuer domain name, such as `letsencrypt.org`.
        #[arg(long, value_name = "NAME")]
        issuer_domain_name: String,
        /// The URL of the ACME account the record authorizes.
        #[arg(long, value_name = "URL")]
        account_url: String,
        /// The domain or wildcard, such as `*.example.com`.
        identifier: String,
    },
    /// Print the HTTP-01 path and body (RFC 8555 §8.3).
    #[command(name = "http-01")]
    Http01 {
        #[command(flatten)]
        output: Output,
        /// The challenge token.
        token: String,
        /// The key authorization, `<token>.<thumbprint>`.
        key_authorization: String,
    },
    /// Write a TLS-ALPN-01 certificate and key (RFC 8737, RFC 8738).
    #[command(name = "tls-alpn-01")]
    TlsAlpn01 {
        /// The domain name or IP address being validated.
        identifier: String,
        /// The key authorization, `<token>.<thumbprint>`.
        key_authorization: String,
        /// Where to write the certificate (PEM).
        #[arg(long, value_name = "FILE")]
        cert_out: PathBuf,
        /// Where to write the private key (PEM, created with mode 0600).
        #[arg(long, value_name = "FILE")]
        key_out: PathBuf,
        /// The certificate's key type.
        #[arg(long, default_value = "p256", value_parser = parse_key_type)]
        key_type: KeyType,
        /// How long the certificate is valid, such as `1h`, `7d` or `3600` (seconds).
        #[arg(long, value_parser = parse_duration)]
        validity: Option<Duration>,
    },
}

/// A TXT record as `<fqdn> <value>`, or JSON.
fn print_record(record: &dns01::Dns01Record, output: &Output) {
    if output.json {
        let json = serde_json::json!({ "fqdn": record.fqdn(), "value": record.value().as_str() });
        println!("{json}");
    } else {
        println!("{} {}", record.fqdn(), record.value());
    }
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON instead of plain text.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: ChallengeCommand) -> anyhow::Result<()> {
    match cmd {
        ChallengeCommand::KeyAuthorization { jwk, token } => {
            let text = std::fs::read_to_string(&jwk)
                .with_context(|| format!("cannot read the JWK file {}", jwk.display()))?;
            let jwk = Jwk::from_json(&text).with_context(|| format!("in {}", jwk.display()))?;
            let token = Token::new(&token)?;
            println!(
                "{}",
                KeyAuthorization::new(&token, &jwk.thumbprint()).as_str()
            );
        }
        ChallengeCommand::Dns01 {
            output,
            identifier,
            key_authorization,
        } => {
            let key_authorization = KeyAuthorization::parse(&key_authorization)?;
            let record =
                dns01::Dns01Record::new(&Identifier::parse(&identifier)?, &key_authorization)?;
            print_record(&record, &output);
        }
        ChallengeCommand::DnsAccount01 {
            output,
            account_url,
            identifier,
            key_authorization,
        } => {
            let key_authorization = KeyAuthorization::parse(&key_authorization)?;
            let record = dns01::Dns01Record::for_account(
                &Identifier::parse(&identifier)?,
                &key_authorization,
                &account_url,
            )?;
            print_record(&record, &output);
        }
        ChallengeCommand::DnsPersist01 {
            output,
            issuer_domain_name,
            account_url,
            identifier,
        } => {
            let record = dns_persist01::PersistRecord::new(
                &Identifier::parse(&identifier)?,
                &issuer_domain_name,
                &account_url,
            )?;
            if output.json {
                let json = serde_json::json!({ "fqdn": record.fqdn(), "value": record.value() });
                println!("{json}");
            } else {
                println!("{} TXT \"{}\"", record.fqdn(), record.value());
            }
        }
        ChallengeCommand::Http01 {
            output,
            token,
            key_authorization,
        } => {
            let token = Token::new(&token)?;
            let key_authorization = KeyAuthorization::parse(&key_authorization)?;
            if key_authorization.token() != token {
                bail!(
                    "the key authorization was made for another token; pass the token it starts with, {:?}",
                    key_authorization.token().as_str()
                );
            }
            let path = http01::path(&token);
            let body = http01::body(&key_authorization);
            if output.json {
                println!("{}", serde_json::json!({ "path": path, "body": body }));
            } else {
                println!("{path} {body}");
            }
        }
        ChallengeCommand::TlsAlpn01 {
            identifier,
            key_authorization,
            cert_out,
            key_out,
            key_type,
            validity,
        } => {
            if same_file(&cert_out, &key_out) {
                bail!(
                    "--cert-out and --key-out are the same file, {}: the certificate would \
                     overwrite the key; give two different paths",
                    cert_out.display()
                );
            }
            let key_authorization = KeyAuthorization::parse(&key_authorization)?;
            let identifier = Identifier::parse(&identifier)?;
            let mut options = CertificateOptions::default().with_key_type(key_type);
            if let Some(validity) = validity {
                options = options.with_validity(validity);
            }
            let cert = tls_alpn01::generate(&identifier, &key_authorization, &options)?;
            acmebox::handlers::write_file_atomic(&key_out, cert.key_pem().as_bytes(), 0o600)?;
            acmebox::handlers::write_file_atomic(&cert_out, cert.cert_pem().as_bytes(), 0o644)?;
            eprintln!(
                "wrote {} and {} for {identifier} (serve them for ALPN `acme-tls/1`, SNI {})",
                cert_out.display(),
                key_out.display(),
                tls_alpn01::sni_name(&identifier)
            );
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same file: their canonical paths where they exist (through
/// symbolic links, `..` and `.`), else their directories' canonical paths and their file names,
/// else the paths as written.
fn same_file(a: &Path, b: &Path) -> bool {
    canonical(a) == canonical(b)
}

fn canonical(path: &Path) -> PathBuf {
    if let Ok(path) = path.canonicalize() {
        return path;
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

fn parse_key_type(s: &str) -> Result<KeyType, String> {
    s.parse::<KeyType>().map_err(|e| e.to_string())
}

/// Parses `90`, `90s`, `15m`, `12h` or `7d`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration; write it like 90s, 15m, 12h or 7d"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    };
    match secs {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        Some(_) => Err("the duration must be longer than zero".into()),
        None => Err(format!(
            "{s:?} is not a duration; write it like 90s, 15m, 12h or 7d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_sees_through_spelling_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        // Neither exists yet: the directory's canonical path and the name decide.
        assert!(same_file(&key, &dir.path().join(".").join("key.pem")));
        assert!(!same_file(&key, &cert));
        std::fs::write(&key, "").unwrap();
        let link = dir.path().join("link.pem");
        std::os::unix::fs::symlink(&key, &link).unwrap();
        assert!(same_file(&key, &link));
        assert!(!same_file(&link, &cert));
        // No directory to canonicalise: the literal paths.
        assert!(same_file(
            Path::new("/nonexistent/a/key.pem"),
            Path::new("/nonexistent/a/key.pem")
        ));
        assert!(!same_file(
            Path::new("/nonexistent/a/key.pem"),
            Path::new("/nonexistent/a/cert.pem")
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "0", "1w", "h", "-5s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
