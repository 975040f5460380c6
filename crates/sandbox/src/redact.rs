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

    /// `text` redacted, then cut to at most `max` bytes (see [`bound`]). A secret across the cut
    /// is redacted whole: the text is cut only after redaction (and, to bound the work on a huge
    /// text, first cut generously past `max`, further than any secret is long).
    pub fn redact_bounded(&self, text: &str, max: usize) -> String {
        let longest = self.secrets.first().map_or(0, String::len);
        let rough = floor_char_boundary(text, max.saturating_add(longest).saturating_add(1));
        let redacted = self.redact(&text[..rough]);
        if rough == text.len() {
            return bound(&redacted, max);
        }
        cut(&redacted, max, text.len())
    }

    /// `text` with every secret replaced by [`REDACTED`], whatever the ASCII case it appears in:
    /// host names reach messages lower-cased, and a case-folded secret is still a leak.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            out = replace_ignore_ascii_case(&out, secret);
        }
        out
    }
}

/// `text` with every ASCII-case-insensitive occurrence of `needle` replaced by [`REDACTED`].
/// ASCII lower-casing keeps byte offsets, so matches found in the lower-cased copy are cut from
/// the original.
fn replace_ignore_ascii_case(text: &str, needle: &str) -> String {
    let haystack = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    if !haystack.contains(&needle) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, _) in haystack.match_indices(&needle) {
        out.push_str(&text[last..start]);
        out.push_str(REDACTED);
        last = start + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

/// `text` cut to at most `max` bytes at a character boundary and marked as cut
/// (`… [cut: N bytes in all]`, the marker not counted in `max`). Strings from a guest go
/// through this before the host keeps, prints or returns them.
pub fn bound(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    cut(text, max, text.len())
}

fn cut(text: &str, max: usize, total: usize) -> String {
    let end = floor_char_boundary(text, max);
    format!("{}… [cut: {total} bytes in all]", &text[..end])
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
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

    #[test]
    fn redaction_ignores_ascii_case() {
        let r = Redactor::new(["Zq8vS3cr3t".to_owned()]);
        assert_eq!(
            r.redact("https://zq8vs3cr3t.example/ZQ8VS3CR3T é Zq8vS3cr3t"),
            "https://[redacted].example/[redacted] é [redacted]"
        );
    }

    #[test]
    fn bounded_text_is_cut_at_a_char_boundary_and_marked() {
        assert_eq!(bound("short", 10), "short");
        assert_eq!(bound("abcdef", 4), "abcd… [cut: 6 bytes in all]");
        // `é` is two bytes: a cut inside it moves back.
        assert_eq!(bound("aé", 2), "a… [cut: 3 bytes in all]");
        assert_eq!(bound("", 0), "");
    }

    #[test]
    fn a_secret_across_the_cut_is_redacted_whole() {
        let r = Redactor::new(["s3cr3t-value".to_owned()]);
        let text = format!("{}s3cr3t-value{}", "x".repeat(10), "y".repeat(100_000));
        let out = r.redact_bounded(&text, 15);
        assert_eq!(out, "xxxxxxxxxx[reda… [cut: 100022 bytes in all]");
        assert!(!out.contains("s3cr3t"));
        // Short text is only redacted.
        assert_eq!(r.redact_bounded("a s3cr3t-value", 100), "a [redacted]");
    }
}
