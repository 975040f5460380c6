//! The DNS lookup options the dns-01 commands share: where CNAME, zone and nameserver lookups
//! go, and which servers are polled for a published value.

use std::net::SocketAddr;
use std::time::Duration;

use acmebox::propagation::PropagationOptions;

/// `--resolver`, `--authoritative`, `--nameserver-port`, `--propagation-timeout`,
/// `--polling-interval`.
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
    /// dns-01: how long to wait for every nameserver to serve the value, instead of what the
    /// provider suggests (seconds, or with a unit: `90s`, `5m`, `1h`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub propagation_timeout: Option<Duration>,
    /// dns-01: the pause between two polls of the nameservers, instead of what the provider
    /// suggests (seconds, or with a unit: `2s`, `1m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub polling_interval: Option<Duration>,
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
        self.override_timing(options)
    }

    /// `options` with `--propagation-timeout` and `--polling-interval` applied: call it again
    /// after taking the provider's timing, so that what the operator said wins.
    pub fn override_timing(&self, mut options: PropagationOptions) -> PropagationOptions {
        if let Some(timeout) = self.propagation_timeout {
            options.timeout = timeout;
        }
        if let Some(interval) = self.polling_interval {
            options.interval = interval;
        }
        options
    }
}

/// The longest duration these options take (a day): beyond it a typo is likelier than intent.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses `90`, `90s`, `5m` or `1h` (whole numbers) into a duration of at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        _ => {
            return Err(format!(
                "{text:?} is not a duration; write seconds (`90`) or a number with s, m or h \
                 (`90s`, `5m`, `1h`)"
            ));
        }
    };
    let number: u64 = digits.parse().map_err(|_| {
        format!("{text:?} is not a duration; write a whole number of seconds, minutes or hours")
    })?;
    let duration = Duration::from_secs(number.saturating_mul(scale));
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is longer than a day; give at most `24h`"));
    }
    Ok(duration)
}

/// [`parse_duration`], refusing zero.
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(
            "a polling interval of zero would poll without pause; give at least `1s`".into(),
        );
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("90", 90),
            ("90s", 90),
            ("5m", 300),
            ("1h", 3600),
            ("0", 0),
            ("24h", 86400),
        ];
        for (text, secs) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        let bad = [
            ("", "not a duration"),
            ("5 m", "not a duration"),
            ("1.5m", "not a duration"),
            ("5d", "not a duration"),
            ("-5", "not a duration"),
            ("25h", "longer than a day"),
            ("99999999999999999999", "not a duration"),
        ];
        for (text, want) in bad {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
        }
        assert!(parse_positive_duration("0s").is_err());
        assert_eq!(parse_positive_duration("2s"), Ok(Duration::from_secs(2)));
    }
}
