//! Checking what the operator configured for a provider against what the provider says it
//! reads (`describe`): a config that acmebox would not honour is refused at load, not found
//! out at renewal.
//!
//! - A key the provider does not read is an error naming it, with the nearest key it does read.
//! - A key the provider requires and the config lacks is an error naming it.
//! - A key the provider marks `secret` is redacted as a secret even when the operator did not
//!   write `secret = true`, with a warning; a credential written in the config file itself is
//!   warned about too.
//! - A secret too short to redact without garbling other text is refused.

use std::path::PathBuf;

use crate::provider::ProviderInfo;
use crate::spec::{ConfigValue, ProviderSpec, Secret};
use crate::{Error, Result};

/// The shortest secret value acmebox accepts (3 characters): every occurrence of a secret is
/// replaced in logs, errors and audit records, and a one- or two-character secret occurs in
/// nearly every line, so redacting it would garble them (and hiding it protects nothing).
pub const MIN_SECRET_CHARS: usize = 3;

/// Where a config error points: the config file, else the component of a spec built by hand.
fn config_path(spec: &ProviderSpec) -> PathBuf {
    spec.config_file
        .clone()
        .unwrap_or_else(|| spec.component.clone())
}

fn config_error(spec: &ProviderSpec, reason: String) -> Error {
    Error::Config {
        path: config_path(spec),
        reason: format!("provider `{}`: {reason}", spec.name),
    }
}

/// Refuses a secret value of one or two characters ([`MIN_SECRET_CHARS`]).
pub(crate) fn refuse_short_secrets(spec: &ProviderSpec) -> Result<()> {
    for (key, value) in &spec.config {
        let chars = value.expose().chars().count();
        if value.is_secret() && (1..MIN_SECRET_CHARS).contains(&chars) {
            return Err(config_error(
                spec,
                format!(
                    "config key `{key}` is a secret of {chars} character(s); acmebox hides every \
                     secret from logs, errors and audit records, and one shorter than \
                     {MIN_SECRET_CHARS} characters would garble them: set the full credential"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks `spec.config` against `info.config_keys`: refuses unknown keys and missing required
/// ones, and turns a value the provider marks secret into a [`ConfigValue::Secret`]. Returns
/// one warning per key that was turned, and per credential written in the config file itself.
pub(crate) fn check(spec: &mut ProviderSpec, info: &ProviderInfo) -> Result<Vec<String>> {
    let known: Vec<&str> = info.config_keys.iter().map(|k| k.name.as_str()).collect();
    let unknown: Vec<String> = spec
        .config
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| match nearest(key, &known) {
            Some(near) => format!("`{key}` (did you mean `{near}`?)"),
            None => format!("`{key}`"),
        })
        .collect();
    if !unknown.is_empty() {
        let reads = if known.is_empty() {
            "it reads no config keys".to_owned()
        } else {
            format!("it reads {}", list(&known))
        };
        return Err(config_error(
            spec,
            format!(
                "{} {} not read by {} {}: {reads}; remove or rename {}",
                if unknown.len() == 1 {
                    "config key"
                } else {
                    "config keys"
                },
                unknown.join(", "),
                info.name,
                info.version,
                if unknown.len() == 1 { "it" } else { "them" },
            ),
        ));
    }
    let missing: Vec<String> = info
        .config_keys
        .iter()
        .filter(|k| k.required && !spec.config.contains_key(&k.name))
        .map(|k| format!("`{}` ({})", k.name, k.description.trim_end_matches('.')))
        .collect();
    if !missing.is_empty() {
        return Err(config_error(
            spec,
            format!(
                "{} {} required by {} {} but not set; add {} under [providers.{}.config]",
                if missing.len() == 1 {
                    "config key"
                } else {
                    "config keys"
                },
                missing.join(", "),
                info.name,
                info.version,
                if missing.len() == 1 { "it" } else { "them" },
                spec.name,
            ),
        ));
    }
    let mut warnings = Vec::new();
    let file = config_path(spec);
    for key in info.config_keys.iter().filter(|k| k.secret) {
        let Some(value) = spec.config.get_mut(&key.name) else {
            continue;
        };
        if let ConfigValue::Plain(text) = value {
            *value = ConfigValue::Secret(Secret::new(std::mem::take(text)));
            warnings.push(format!(
                "provider `{}`: config key `{}` is a credential ({} marks it secret) and is \
                 redacted as one; write `secret = true` for it in {}",
                spec.name,
                key.name,
                info.name,
                file.display()
            ));
        }
        if spec.inline_keys.contains(&key.name) {
            warnings.push(format!(
                "provider `{}`: the credential `{}` is written in {} itself; read it from the \
                 environment (`{{ env = \"VAR\", secret = true }}`) or from a file only acmebox \
                 can read (`{{ file = \"PATH\", secret = true }}`)",
                spec.name,
                key.name,
                file.display()
            ));
        }
    }
    refuse_short_secrets(spec)?;
    Ok(warnings)
}

/// `a, b and c`, each in backticks.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// The known key closest to `key`, if it is close enough to be a typo: at most a third of the
/// longer name's characters differ (at least one), case ignored.
fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let key = key.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&key, &k.to_lowercase()), *k))
        .filter(|(distance, k)| {
            *distance <= (key.chars().count().max(k.chars().count()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ConfigKey;

    fn info(keys: &[(&str, bool, bool)]) -> ProviderInfo {
        ProviderInfo {
            name: "example".into(),
            version: "1.0.0".into(),
            description: "an example".into(),
            config_keys: keys
                .iter()
                .map(|(name, required, secret)| ConfigKey {
                    name: (*name).into(),
                    description: format!("the {name}."),
                    required: *required,
                    secret: *secret,
                })
                .collect(),
            hosts: vec!["https://api.example.com".into()],
            propagation_timeout_secs: 60,
            polling_interval_secs: 2,
            sequential: false,
        }
    }

    fn spec(values: &[(&str, ConfigValue)], inline: &[&str]) -> ProviderSpec {
        let mut spec = ProviderSpec::new("ex", "/providers/ex.wasm");
        spec.config_file = Some("/etc/acmebox.toml".into());
        spec.config = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        spec.inline_keys = inline.iter().map(|k| (*k).to_owned()).collect();
        spec
    }

    fn plain(v: &str) -> ConfigValue {
        ConfigValue::Plain(v.into())
    }

    #[test]
    fn an_unknown_key_is_named_with_the_nearest_known_one() {
        let keys = info(&[("api_url", true, false), ("api_token", true, true)]);
        let mut s = spec(
            &[("api_url", plain("u")), ("api_tokn", plain("secret-value"))],
            &[],
        );
        let err = check(&mut s, &keys).unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/acmebox.toml: provider `ex`: config key `api_tokn` (did you mean `api_token`?) \
             not read by example 1.0.0: it reads `api_url` and `api_token`; remove or rename it"
        );
        // Nothing close: no suggestion; several unknown keys are all named.
        let mut s = spec(&[("zone", plain("z")), ("colour", plain("c"))], &[]);
        let err = check(&mut s, &keys).unwrap_err().to_string();
        assert!(
            err.contains("config keys `colour`, `zone` not read by example 1.0.0")
                && !err.contains("did you mean"),
            "{err}"
        );
        let mut s = spec(&[("url", plain("u"))], &[]);
        let err = check(&mut s, &info(&[])).unwrap_err().to_string();
        assert!(err.contains("it reads no config keys"), "{err}");
    }

    #[test]
    fn a_missing_required_key_is_named_with_what_it_is_for() {
        let keys = info(&[("api_url", true, false), ("zone", false, false)]);
        let err = check(&mut spec(&[], &[]), &keys).unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/acmebox.toml: provider `ex`: config key `api_url` (the api_url) required by \
             example 1.0.0 but not set; add it under [providers.ex.config]"
        );
        assert!(check(&mut spec(&[("api_url", plain("u"))], &[]), &keys).is_ok());
    }

    #[test]
    fn a_key_the_provider_marks_secret_is_redacted_and_warned_about() {
        let keys = info(&[("api_url", true, false), ("api_token", true, true)]);
        let mut s = spec(
            &[
                ("api_url", plain("https://x")),
                ("api_token", plain("t0ps3cret")),
            ],
            &["api_url", "api_token"],
        );
        let warnings = check(&mut s, &keys).unwrap();
        assert!(s.config["api_token"].is_secret());
        assert!(!s.config["api_url"].is_secret());
        assert_eq!(s.config["api_token"].expose(), "t0ps3cret");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("`api_token` is a credential")
                && warnings[0].contains("secret = true"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("written in /etc/acmebox.toml itself"),
            "{warnings:?}"
        );
        assert!(warnings.iter().all(|w| !w.contains("t0ps3cret")));
        // Marked and read from the environment: nothing to say.
        let mut s = spec(
            &[
                ("api_url", plain("https://x")),
                ("api_token", ConfigValue::Secret(Secret::new("t0ps3cret"))),
            ],
            &["api_url"],
        );
        assert!(check(&mut s, &keys).unwrap().is_empty());
    }

    #[test]
    fn secrets_of_one_or_two_characters_are_refused() {
        let keys = info(&[("token", true, true)]);
        for short in ["x", "ab", "é!"] {
            let err = check(&mut spec(&[("token", plain(short))], &[]), &keys)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("config key `token` is a secret of")
                    && err.contains("set the full credential")
                    && !err.contains(&format!("`{short}`")),
                "{err}"
            );
        }
        assert!(check(&mut spec(&[("token", plain("abc"))], &[]), &keys).is_ok());
        // Hand-built specs are refused the same way.
        let s = spec(&[("t", ConfigValue::Secret(Secret::new("ab")))], &[]);
        assert!(refuse_short_secrets(&s).is_err());
    }

    #[test]
    fn typos_are_matched_and_strangers_are_not() {
        let known = ["api_token", "api_url", "zone_id"];
        assert_eq!(nearest("API_TOKEN", &known), Some("api_token"));
        assert_eq!(nearest("apitoken", &known), Some("api_token"));
        assert_eq!(nearest("zoneid", &known), Some("zone_id"));
        assert_eq!(nearest("password", &known), None);
    }
}
