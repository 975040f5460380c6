//! Absolute DNS names as the propagation checks handle them: ASCII, lower case, one trailing
//! dot. Unlike [`acmebox_challenge::normalize_domain`] (host names), record names may hold `_`
//! (`_acme-challenge`) and single-label names (`test.`) are valid.

use crate::{Error, Result};

/// The longest name without its trailing dot (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 253;

/// The longest label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Normalises `name` to its absolute form: IDNA (UTS 46) to ASCII when needed, lower case,
/// exactly one trailing dot. Labels are 1–63 characters of `a-z 0-9 - _`; the name is at most
/// 253 characters without its dot. The root (`.`) is refused: nothing is published there.
pub(crate) fn absolute(name: &str) -> Result<String> {
    let fail = |reason: String| Error::Dns {
        name: name.to_owned(),
        reason: format!("it is not a usable DNS name: {reason}"),
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(fail("it is empty (or the root)".into()));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed)
            .map_err(|_| fail("it is not a valid internationalised domain name".into()))?
    };
    if ascii.len() > MAX_NAME_LEN {
        return Err(fail(format!(
            "it is {} characters long; DNS allows at most {MAX_NAME_LEN}",
            ascii.len()
        )));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(fail(
                "it has an empty label (two dots in a row, or a leading dot)".into(),
            ));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(fail(format!(
                "label {label:?} is {} characters long; DNS allows at most {MAX_LABEL_LEN}",
                label.len()
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(fail(format!(
                "label {label:?} contains {c:?}; record names use letters, digits, '-' and '_'"
            )));
        }
    }
    Ok(ascii + ".")
}

/// `name` and then each parent, stripping labels from the left, down to the top-level domain;
/// the root is never included. `name` must be absolute.
///
/// `a.b.example.test.` yields `a.b.example.test.`, `b.example.test.`, `example.test.`, `test.`.
pub(crate) fn self_and_parents(name: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(name).filter(|n| *n != "." && !n.is_empty());
    std::iter::from_fn(move || {
        let current = next?;
        next = current
            .split_once('.')
            .map(|(_, rest)| rest)
            .filter(|rest| !rest.is_empty());
        Some(current)
    })
}

/// True when absolute `name` is `zone` itself or below it.
pub(crate) fn is_at_or_below(name: &str, zone: &str) -> bool {
    name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_table() {
        let ok = [
            ("example.test", "example.test."),
            ("example.test.", "example.test."),
            ("Example.TEST.", "example.test."),
            (
                "_acme-challenge.Example.test",
                "_acme-challenge.example.test.",
            ),
            ("test", "test."),
            ("test.", "test."),
            ("bücher.test", "xn--bcher-kva.test."),
            ("a-b.c_d.test", "a-b.c_d.test."),
        ];
        for (input, want) in ok {
            assert_eq!(absolute(input).unwrap(), want, "{input}");
        }
        let long_label = format!("{}.test", "a".repeat(64));
        let long_name = format!("{}.test", vec!["a".repeat(60); 5].join("."));
        let bad = [
            ("", "empty"),
            (".", "empty"),
            ("example.test..", "empty label"),
            ("a..test", "empty label"),
            (".test", "empty label"),
            ("sp ace.test", "contains ' '"),
            ("*.example.test", "contains '*'"),
            (&long_label, "at most 63"),
            (&long_name, "at most 253"),
        ];
        for (input, want) in bad {
            let msg = absolute(input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input:?}: {msg:?} lacks {want:?}");
        }
    }

    #[test]
    fn a_trailing_dot_and_case_change_nothing() {
        for name in ["_acme-challenge.a.b.example.test", "x.test", "test"] {
            let want = absolute(name).unwrap();
            assert_eq!(absolute(&format!("{name}.")).unwrap(), want);
            assert_eq!(absolute(&name.to_ascii_uppercase()).unwrap(), want);
        }
    }

    #[test]
    fn labels_are_stripped_from_the_left() {
        let table: [(&str, &[&str]); 4] = [
            (
                "a.b.example.test.",
                &[
                    "a.b.example.test.",
                    "b.example.test.",
                    "example.test.",
                    "test.",
                ],
            ),
            ("example.test.", &["example.test.", "test."]),
            ("test.", &["test."]),
            (".", &[]),
        ];
        for (name, want) in table {
            assert_eq!(self_and_parents(name).collect::<Vec<_>>(), want, "{name}");
        }
    }

    #[test]
    fn at_or_below() {
        let table = [
            ("example.test.", "example.test.", true),
            ("a.example.test.", "example.test.", true),
            ("a.b.example.test.", "example.test.", true),
            ("badexample.test.", "example.test.", false),
            ("example.test.", "a.example.test.", false),
            ("other.test.", "example.test.", false),
            ("example.test.", "test.", true),
        ];
        for (name, zone, want) in table {
            assert_eq!(is_at_or_below(name, zone), want, "{name} in {zone}");
        }
    }
}
