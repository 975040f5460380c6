//! How much of someone's input an error message repeats.

use std::borrow::Cow;

/// The most characters of an operator's or a client's input (a name, a token, a config key, a
/// command-line value) that an error message repeats (128): enough to recognise it, and a
/// pasted file or a hostile request still makes one readable line.
pub const MAX_ECHOED_CHARS: usize = 128;

/// `input` as an error message repeats it: whole when it has at most [`MAX_ECHOED_CHARS`]
/// characters, else its first [`MAX_ECHOED_CHARS`] characters and `…`.
///
/// ```
/// use acmebox_challenge::{MAX_ECHOED_CHARS, echoed};
/// assert_eq!(echoed("example.com"), "example.com");
/// let long = "a".repeat(1000);
/// assert_eq!(echoed(&long), format!("{}…", "a".repeat(MAX_ECHOED_CHARS)));
/// ```
pub fn echoed(input: &str) -> Cow<'_, str> {
    match input.char_indices().nth(MAX_ECHOED_CHARS) {
        None => Cow::Borrowed(input),
        Some((cut, _)) => Cow::Owned(format!("{}…", &input[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_cut_at_a_character_and_marked() {
        let exactly = "é".repeat(MAX_ECHOED_CHARS);
        assert_eq!(echoed(&exactly), exactly);
        let more = format!("{exactly}x");
        assert_eq!(echoed(&more), format!("{exactly}…"));
        assert_eq!(echoed(""), "");
    }
}
