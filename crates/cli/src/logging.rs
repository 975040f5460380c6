//! Where the libraries' `tracing` events go: stderr, one line each, as text or JSON, filtered by
//! `RUST_LOG` or, when it is unset, by the command's default.

use std::io::IsTerminal as _;

use acmebox::hooks::httpreq::LOG_TARGET as SERVE;
use acmebox::sandbox::log_targets::PROVIDER_LOG;
use tracing_subscriber::EnvFilter;

/// How log lines look (`--log-format`, `ACMEBOX_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// A line for people: time, level, target, message, then the fields as `name=value`.
    #[default]
    Text,
    /// One JSON object per line, fields at the top level beside `timestamp`, `level`,
    /// `target` and `message`.
    Json,
}

/// What a command shows when `RUST_LOG` is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defaults {
    /// Warnings and errors, and `acmebox serve`'s line per call.
    Warnings,
    /// The same, without the provider's log lines: the command prints each call's report,
    /// which holds them, so none shows twice.
    WarningsWithoutProviderLog,
}

impl Defaults {
    /// The filter directives.
    pub fn filter(self) -> String {
        match self {
            Defaults::Warnings => format!("warn,{SERVE}=info"),
            Defaults::WarningsWithoutProviderLog => format!("warn,{SERVE}=info,{PROVIDER_LOG}=off"),
        }
    }
}

/// The format named by `ACMEBOX_LOG_FORMAT`, for the program name that takes no options
/// (`acmebox-lego-exec`); text when it is unset.
pub fn format_from_env() -> anyhow::Result<LogFormat> {
    match std::env::var("ACMEBOX_LOG_FORMAT") {
        Ok(value) if !value.is_empty() => parse_format(&value),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(LogFormat::Text),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("ACMEBOX_LOG_FORMAT is not UTF-8; set it to `text` or `json`")
        }
    }
}

fn parse_format(value: &str) -> anyhow::Result<LogFormat> {
    <LogFormat as clap::ValueEnum>::from_str(value, true)
        .map_err(|_| anyhow::anyhow!("ACMEBOX_LOG_FORMAT is {value:?}; set it to `text` or `json`"))
}

/// Installs the process's subscriber: events to stderr in `format`, filtered by `RUST_LOG`, or
/// by `defaults` when it is unset or empty. A `RUST_LOG` that is not a filter is said, and the
/// defaults are used.
pub fn init(format: LogFormat, defaults: Defaults) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), defaults);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    if let Err(err) = installed {
        eprintln!("acmebox: cannot install the log subscriber ({err}); log events are dropped");
    }
}

fn filter(rust_log: Option<&str>, defaults: Defaults) -> EnvFilter {
    let default = defaults.filter();
    match rust_log.map(str::trim) {
        None | Some("") => EnvFilter::new(default),
        Some(directives) => EnvFilter::try_new(directives).unwrap_or_else(|err| {
            eprintln!(
                "acmebox: RUST_LOG={directives:?} is not a log filter ({err}); using {default:?}"
            );
            EnvFilter::new(default)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_filters() {
        for defaults in [Defaults::Warnings, Defaults::WarningsWithoutProviderLog] {
            let directives = defaults.filter();
            EnvFilter::try_new(&directives).expect(&directives);
            assert!(directives.contains("acmebox::serve=info"), "{directives}");
        }
        assert!(
            Defaults::WarningsWithoutProviderLog
                .filter()
                .ends_with(",acmebox::provider=off")
        );
    }

    #[test]
    fn rust_log_replaces_the_defaults_unless_it_is_empty_or_invalid() {
        let shown = |rust_log| filter(rust_log, Defaults::Warnings).to_string();
        let default = shown(None);
        assert!(default.contains("acmebox::serve=info"), "{default}");
        assert_eq!(shown(Some("  ")), default);
        assert_eq!(shown(Some("acmebox::audit=info")), "acmebox::audit=info");
        assert_eq!(shown(Some("acmebox=[bad")), default);
    }

    #[test]
    fn formats_parse_in_any_case() {
        assert_eq!(parse_format("json").expect("json"), LogFormat::Json);
        assert_eq!(parse_format("TEXT").expect("text"), LogFormat::Text);
        let err = parse_format("yaml").expect_err("yaml").to_string();
        assert!(err.contains("`text` or `json`"), "{err}");
    }
}
