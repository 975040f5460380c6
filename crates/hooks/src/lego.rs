//! The command line lego's `exec` provider runs (`EXEC_PATH`), which may carry no arguments of
//! its own:
//!
//! * default mode: `present|cleanup <fqdn> <value>`, the record lego computed (at the name a
//!   CNAME on `_acme-challenge` leads to);
//! * `EXEC_MODE=RAW`: `present|cleanup -- <domain> <token> <key authorization>`.

use super::{DnsRequest, invalid};
use crate::Result;
use acmebox_sandbox::Operation;

const USAGE: &str = "expected `present|cleanup <fqdn> <value>` (lego's default exec mode) or \
                     `present|cleanup -- <domain> <token> <key authorization>` (EXEC_MODE=RAW)";

/// Parses the arguments lego passes (without the program name).
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<(Operation, DnsRequest)> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let operation = match args.first() {
        Some(&"present") => Operation::Present,
        Some(&"cleanup") => Operation::Cleanup,
        Some(other) => {
            return Err(invalid(format!(
                "unknown lego exec command {other:?}; {USAGE}"
            )));
        }
        None => return Err(invalid(format!("no arguments; {USAGE}"))),
    };
    let request = match &args[1..] {
        [fqdn, value] => DnsRequest::Record {
            fqdn: (*fqdn).to_owned(),
            value: (*value).to_owned(),
        },
        ["--", domain, token, key_authorization] => DnsRequest::Raw {
            domain: (*domain).to_owned(),
            token: Some((*token).to_owned()),
            key_authorization: (*key_authorization).to_owned(),
        },
        rest => {
            return Err(invalid(format!(
                "{} argument(s) after {:?}; {USAGE}",
                rest.len(),
                args[0]
            )));
        }
    };
    Ok((operation, request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_modes_parse() -> Result<()> {
        assert_eq!(
            parse_args(&["present", "_acme-challenge.example.com.", "v"])?,
            (
                Operation::Present,
                DnsRequest::Record {
                    fqdn: "_acme-challenge.example.com.".into(),
                    value: "v".into()
                }
            )
        );
        assert_eq!(
            parse_args(&["cleanup", "--", "example.com", "tok", "tok.thumb"])?,
            (
                Operation::Cleanup,
                DnsRequest::Raw {
                    domain: "example.com".into(),
                    token: Some("tok".into()),
                    key_authorization: "tok.thumb".into()
                }
            )
        );
        Ok(())
    }

    #[test]
    fn wrong_shapes_show_the_usage() {
        for args in [
            &[][..],
            &["publish", "a", "b"][..],
            &["present", "a"][..],
            &["present", "a", "b", "c"][..],
            &["cleanup", "--", "a", "b"][..],
            &["timeout"][..],
        ] {
            let err = parse_args(args).expect_err("invalid").to_string();
            assert!(err.contains("EXEC_MODE=RAW"), "{args:?}: {err}");
        }
    }
}
