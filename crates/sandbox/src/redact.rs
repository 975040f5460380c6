//! Replacing known secret values with `[redacted]` before anything is logged or reported.

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The shortest part of a secret (between URL delimiters) that is redacted on its own: shorter
/// parts (`https`, `api`, `v1`) are too common to hide without making logs useless.
pub const MIN_FRAGMENT_LEN: usize = 8;

/// Where a secret is split into parts that may reach a log separately.
const FRAGMENT_DELIMITERS: &[char] = &['/', '?', '&', '=', '#', '@', ' ', ','];

/// The secret values of one provider.
#[derive(Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor for `secrets` (empty values are ignored).
    ///
    /// Besides each whole value, its distinctive parts are redacted too: a secret URL
    /// (`https://host/<token>/x?key=<token>`) reaches logs and audit records re-formatted (query
    /// redacted, path kept), so every piece of it between URL delimiters that is at least
    /// [`MIN_FRAGMENT_LEN`] characters long counts as a secret of its own.
    pub fn new<I: IntoIterator<Item = String>>(values: I) -> Self {
        let mut secrets: Vec<String> = Vec::new();
        for secret in values.into_iter().filter(|s| !s.is_empty()) {
            // The host of a secret URL names where requests go, which every audit record shows
            // anyway; its path and query are what carry credentials.
            let authority = secret
                .split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
            for fragment in secret.split(|c: char| FRAGMENT_DELIMITERS.contains(&c)) {
                if fragment.len() >= MIN_FRAGMENT_LEN
                    && fragment != secret
                    && Some(fragment) != authority
                {
                    secrets.push(fragment.to_owned());
                }
            }
            secrets.push(secret);
        }
        secrets.dedup();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_occurrence_longest_first() {
        let r = Redactor::new(["abc".to_owned(), "abcdef".to_owned(), String::new()]);
        assert_eq!(r.redact("x abcdef abc y"), "x [redacted] [redacted] y");
        assert_eq!(r.redact("nothing"), "nothing");
        assert!(!format!("{r:?}").contains("abc"));
    }

    #[test]
    fn parts_of_a_secret_url_are_redacted() {
        let r = Redactor::new([
            "http://127.0.0.1:8080/hunter2-s3cret/records?token=abcdefgh12".to_owned(),
        ]);
        let shown = r.redact("GET http://127.0.0.1:8080/hunter2-s3cret/records?[redacted] denied");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("/records?"),
            "short common parts stay readable: {shown}"
        );
        assert!(
            shown.contains("127.0.0.1:8080"),
            "the host stays readable: {shown}"
        );
        assert!(!r.redact("token=abcdefgh12").contains("abcdefgh12"));
    }
}
