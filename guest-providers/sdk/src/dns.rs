//! Names and TXT contents, as every provider needs them.
//!
//! The host hands a provider absolute names with a trailing dot (`_acme-challenge.example.com.`)
//! and, when it knows it, the zone apex. APIs want bare names (`example.com`), names relative
//! to the zone (`_acme-challenge`, `@` for the apex), or quoted TXT contents; these helpers
//! convert between them, and [`find_zone`] walks up a name to the zone an API holds.

use crate::{ProviderError, TxtRecord, log};

/// `name` with exactly one trailing dot: `example.com.`.
pub fn absolute(name: &str) -> String {
    format!("{}.", name.trim().trim_end_matches('.'))
}

/// `name` without its trailing dot: `example.com`.
pub fn bare(name: &str) -> String {
    name.trim().trim_end_matches('.').to_owned()
}

/// Whether two names are the same, ignoring case and a trailing dot.
pub fn same_name(a: &str, b: &str) -> bool {
    bare(a).eq_ignore_ascii_case(&bare(b))
}

/// Whether `name` is `zone` or a name below it (on a label boundary).
pub fn is_within(name: &str, zone: &str) -> bool {
    let name = bare(name).to_ascii_lowercase();
    let zone = bare(zone).to_ascii_lowercase();
    zone.is_empty() || name == zone || name.ends_with(&format!(".{zone}"))
}

/// `fqdn` relative to `zone`: `_acme-challenge.www` for `_acme-challenge.www.example.com.` in
/// `example.com`, the empty string for the apex itself. `None` when `fqdn` is not in `zone`.
///
/// ```
/// use acmebox_provider::dns::relative_name;
/// assert_eq!(relative_name("_acme-challenge.a.example.com.", "example.com.").as_deref(), Some("_acme-challenge.a"));
/// assert_eq!(relative_name("example.com.", "example.com").as_deref(), Some(""));
/// assert_eq!(relative_name("example.org.", "example.com"), None);
/// ```
pub fn relative_name(fqdn: &str, zone: &str) -> Option<String> {
    if !is_within(fqdn, zone) {
        return None;
    }
    let name = bare(fqdn);
    let zone = bare(zone);
    if name.len() == zone.len() {
        return Some(String::new());
    }
    Some(
        name[..name.len() - zone.len()]
            .trim_end_matches('.')
            .to_owned(),
    )
}

/// The bare names a zone holding `fqdn` could have, from `fqdn` itself up to its last two
/// labels (a provider never holds a top-level domain): for `_acme-challenge.a.example.com.`,
/// `_acme-challenge.a.example.com`, `a.example.com`, `example.com`.
pub fn zone_candidates(fqdn: &str) -> Vec<String> {
    let name = bare(fqdn);
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    let last = labels.len().saturating_sub(2);
    (0..=last)
        .filter(|&i| labels.len() - i >= 2 || labels.len() == 1)
        .map(|i| labels[i..].join("."))
        .collect()
}

/// Finds the zone holding `record.fqdn`: the zone the host passed when it passed one, else the
/// first of [`zone_candidates`] for which `lookup` finds something. `lookup` gets a bare zone
/// name and answers `Ok(None)` when the API has no such zone. Returns the bare zone name and
/// what `lookup` found, or [`ProviderError::ZoneNotFound`] naming `vendor`.
pub fn find_zone<T>(
    vendor: &str,
    record: &TxtRecord,
    mut lookup: impl FnMut(&str) -> Result<Option<T>, ProviderError>,
) -> Result<(String, T), ProviderError> {
    if let Some(zone) = record.zone.as_deref() {
        let zone = bare(zone);
        return match lookup(&zone)? {
            Some(found) => Ok((zone, found)),
            None => Err(ProviderError::ZoneNotFound(format!(
                "{vendor} has no zone {zone} (the zone of {}) that these credentials can see",
                record.fqdn
            ))),
        };
    }
    for candidate in zone_candidates(&record.fqdn) {
        if let Some(found) = lookup(&candidate)? {
            log::debug!("{} is in {vendor} zone {candidate}", record.fqdn);
            return Ok((candidate, found));
        }
    }
    Err(ProviderError::ZoneNotFound(format!(
        "{vendor} has no zone holding {} that these credentials can see",
        record.fqdn
    )))
}

/// A TXT value as zone-file content: one quoted string, `"` and `\` escaped.
pub fn quote_txt(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The text of TXT content: its quoted strings joined with escapes undone, or the content
/// itself when it has no quotes (APIs that store TXT values bare).
pub fn unquote_txt(content: &str) -> String {
    let content = content.trim();
    if !content.starts_with('"') {
        return content.to_owned();
    }
    let mut text = String::new();
    let mut in_string = false;
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        match (c, in_string) {
            ('"', _) => in_string = !in_string,
            ('\\', true) => text.extend(chars.next()),
            (c, true) => text.push(c),
            (_, false) => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(absolute("example.com"), "example.com.");
        assert_eq!(absolute("example.com.."), "example.com.");
        assert_eq!(bare("example.com."), "example.com");
        assert!(same_name("Example.COM.", "example.com"));
        assert!(is_within("_acme-challenge.example.com.", "example.com"));
        assert!(is_within("example.com", "example.com."));
        assert!(!is_within("badexample.com", "example.com"));
    }

    #[test]
    fn relative_names() {
        assert_eq!(
            relative_name("_acme-challenge.example.com.", "example.com").as_deref(),
            Some("_acme-challenge")
        );
        assert_eq!(
            relative_name("_acme-challenge.EXAMPLE.com", "example.com.").as_deref(),
            Some("_acme-challenge")
        );
        assert_eq!(relative_name("x.badexample.com.", "example.com"), None);
    }

    #[test]
    fn candidates_walk_up_to_two_labels() {
        assert_eq!(
            zone_candidates("_acme-challenge.a.example.com."),
            [
                "_acme-challenge.a.example.com",
                "a.example.com",
                "example.com"
            ]
        );
        assert_eq!(zone_candidates("example.com."), ["example.com"]);
        assert_eq!(zone_candidates("test."), ["test"]);
    }

    #[test]
    fn txt_contents_round_trip() {
        for value in ["abc", "with \"quote\"", "back\\slash", ""] {
            assert_eq!(unquote_txt(&quote_txt(value)), value);
        }
        assert_eq!(unquote_txt("\"ab\" \"cd\""), "abcd");
        assert_eq!(unquote_txt("bare-value"), "bare-value");
    }
}
