//! Parses config files (`acmebox_sandbox::config::Config`) and resolves every provider in them.
//!
//! Input: the TOML text of a config file.
//!
//! Checks: no panic; every provider the file names resolves or fails with an error; a resolved
//! provider keeps its name and its allow list, which the sandbox parses as a grant; the
//! `Debug` of the parsed file and of every resolved provider is the same whatever the secret
//! values are. Providers are not resolved when the file has a `file` value: resolving reads the
//! file, and the fuzzer must not read `/dev/zero`.
#![cfg_attr(fuzzing, no_main)]

use std::path::Path;

use acmebox_egress::Grant;
use acmebox_fuzz::rotate;
use acmebox_sandbox::ProviderSpec;
use acmebox_sandbox::config::{Config, ConfigValue, Secret};
use toml::{Table, Value};

const PATH: &str = "/nonexistent/acmebox/acmebox.toml";

fn check(input: &str) {
    let Ok(config) = Config::parse(input, Path::new(PATH)) else {
        return;
    };
    let shown = format!("{config:?}");
    // `Debug` of a source that reads a file names it; a literal that contains the same text
    // only makes this skip more than needed.
    let reads_files = shown.contains("file: Some(");
    let names: Vec<&str> = config.provider_names().collect();
    assert!(names.is_sorted(), "{names:?}");
    for name in names {
        if reads_files {
            break;
        }
        let Ok(spec) = config.provider_spec(name) else {
            continue;
        };
        assert_eq!(spec.name, name);
        assert!(spec.limits.max_concurrent_calls >= 1);
        assert!(spec.component.is_absolute(), "{:?}", spec.component);
        let _ = Grant::parse(&spec.allow).map(|grant| grant.dangerous_entries().count());
        spec_hides_secrets(&spec);
    }
    assert!(config.provider_spec("no such provider \u{1}").is_err());
    file_hides_secrets(input);
}

/// A resolved provider's `Debug` is the same with every secret value changed.
fn spec_hides_secrets(spec: &ProviderSpec) {
    let mut other = spec.clone();
    let mut changed = false;
    for value in other.config.values_mut() {
        if value.is_secret() {
            *value = ConfigValue::Secret(Secret::new(format!("other {}", value.expose())));
            changed = true;
        }
    }
    if changed {
        assert_eq!(
            format!("{spec:?}"),
            format!("{other:?}"),
            "a provider's Debug shows a secret"
        );
    }
}

/// The parsed file's `Debug` is the same when the file is written again with every
/// `value = "…", secret = true` changed.
fn file_hides_secrets(input: &str) {
    let Ok(mut table) = input.parse::<Table>() else {
        return;
    };
    let Ok(written) = toml::to_string(&table) else {
        return;
    };
    let mut changed = false;
    if let Some(Value::Table(providers)) = table.get_mut("providers") {
        for (_, provider) in providers.iter_mut() {
            let Some(Value::Table(values)) = provider.get_mut("config") else {
                continue;
            };
            for (_, value) in values.iter_mut() {
                let Value::Table(source) = value else {
                    continue;
                };
                if source.get("secret") != Some(&Value::Boolean(true)) {
                    continue;
                }
                if let Some(Value::String(secret)) = source.get_mut("value") {
                    *secret = format!("{}-other", rotate(secret));
                    changed = true;
                }
            }
        }
    }
    if !changed {
        return;
    }
    let Ok(rewritten) = toml::to_string(&table) else {
        return;
    };
    let before = Config::parse(&written, Path::new(PATH)).map(|c| format!("{c:?}"));
    let after = Config::parse(&rewritten, Path::new(PATH)).map(|c| format!("{c:?}"));
    match (before, after) {
        (Ok(before), Ok(after)) => assert_eq!(before, after, "the config's Debug shows a secret"),
        (Err(_), Err(_)) => {}
        (before, after) => {
            panic!("a secret value decides whether the file parses: {before:?} {after:?}")
        }
    }
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|input: &str| check(input));

#[cfg(not(fuzzing))]
fn main() -> std::process::ExitCode {
    acmebox_fuzz::replay(|bytes| acmebox_fuzz::with_input(bytes, check))
}
