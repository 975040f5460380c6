//! What the fuzz targets share: the stable-toolchain replay of a corpus, and small helpers for
//! the properties they check.
//!
//! Under `cargo fuzz` (nightly, `--cfg fuzzing`) each target is a libFuzzer target. Built by
//! plain `cargo build`, each target is this crate's [`replay`]: a program that runs the target
//! once on every file it is given (or every file in a directory it is given), the way a
//! libFuzzer binary does with `-runs=0`, and fails when any of them panics.
//!
//! ```text
//! target/debug/identifier fuzz/corpus/identifier
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use acmebox_challenge::dns01::Dns01Record;
use acmebox_challenge::{Identifier, KeyAuthorization, normalize_domain};
use acmebox_hooks::DnsRequest;
use arbitrary::{Arbitrary, Unstructured};

/// Runs `target` on every input named on the command line and reports the inputs that panic.
///
/// An argument is a file or a directory, whose files are read in name order (not recursively).
/// Arguments starting with `-` are libFuzzer options and are ignored, so the command line of a
/// libFuzzer replay works unchanged. No input at all is a failure: a corpus that disappeared
/// must not pass silently.
pub fn replay(target: impl Fn(&[u8])) -> ExitCode {
    let program = std::env::args()
        .next()
        .map(|arg0| {
            Path::new(&arg0)
                .file_name()
                .map_or(arg0.clone(), |name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let mut inputs = Vec::new();
    for arg in std::env::args_os().skip(1) {
        if arg.to_string_lossy().starts_with('-') {
            continue;
        }
        let path = PathBuf::from(arg);
        match files(&path) {
            Ok(found) => inputs.extend(found),
            Err(err) => {
                eprintln!("{program}: cannot read {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if inputs.is_empty() {
        eprintln!("{program}: no inputs; pass corpus files or directories");
        return ExitCode::FAILURE;
    }
    let mut crashed = Vec::new();
    for path in &inputs {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                eprintln!("{program}: cannot read {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
        };
        if panic::catch_unwind(AssertUnwindSafe(|| target(&bytes))).is_err() {
            eprintln!("{program}: CRASH on {}", path.display());
            crashed.push(path);
        }
    }
    eprintln!(
        "{program}: {} inputs replayed, {} crashed",
        inputs.len(),
        crashed.len()
    );
    if crashed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Decodes `bytes` into a target's typed input exactly as `libfuzzer_sys::fuzz_target!` does
/// (too short for the type, or undecodable: the input is skipped) and runs `check` on it.
pub fn with_input<'a, T: Arbitrary<'a>>(bytes: &'a [u8], check: impl FnOnce(T)) {
    if bytes.len() < T::size_hint(0).0 {
        return;
    }
    if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(bytes)) {
        check(input);
    }
}

/// The paragraphs of a text input: the parts between empty lines. Targets that take several
/// values read one paragraph each, one value per line, so that seed inputs stay readable.
pub fn paragraphs(input: &str) -> Vec<Vec<&str>> {
    input
        .split("\n\n")
        .map(|paragraph| paragraph.lines().collect())
        .collect()
}

/// `text` with every ASCII letter and digit replaced by the next one of its kind (`a`→`b`,
/// `z`→`a`, `9`→`0`): same length, same character classes, so the same verdict from a parser
/// that only looks at classes and lengths, but different text. An error message that changes
/// under it quotes its input.
pub fn rotate(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(c as u8 + 1),
            other => other,
        })
        .collect()
}

/// Whether `haystack` shows `secret`, as it is or as `Debug` escapes it.
pub fn shows(haystack: &str, secret: &str) -> bool {
    let escaped = format!("{secret:?}");
    let escaped = &escaped[1..escaped.len() - 1];
    haystack.contains(secret) || haystack.contains(escaped)
}

/// The TTL hook requests are checked with.
pub const TTL: u32 = 60;

/// Checks what `acmebox serve`, lego's exec hook and certbot's hooks do with a request: the
/// record it yields, or its error.
///
/// A record has an absolute lower-case name of at most 253 characters and a 43-character
/// base64url value; written back as a lego default-mode request it yields itself; a raw
/// request yields the DNS-01 record `acmebox_challenge` computes. An error never shows a valid
/// key authorization, except in the two messages listed in `fuzz/README.md` (a known leak).
pub fn check_dns_request(request: &DnsRequest) {
    let record = match request.txt_record(TTL) {
        Ok(record) => record,
        Err(err) => return key_authorization_stays_hidden(request, &err.to_string()),
    };
    let name = record
        .fqdn
        .strip_suffix('.')
        .unwrap_or_else(|| panic!("{request:?}: record name {:?} is not absolute", record.fqdn));
    assert!(!name.is_empty() && name.len() <= 253, "{record:?}");
    assert_eq!(name, name.to_ascii_lowercase(), "{record:?}");
    assert!(is_base64url(&record.value, 43), "{record:?}");
    assert_eq!(record.ttl, TTL);
    assert_eq!(record.zone, None);
    let as_lego = DnsRequest::Record {
        fqdn: record.fqdn.clone(),
        value: record.value.clone(),
    };
    assert_eq!(
        as_lego.txt_record(TTL).ok().as_ref(),
        Some(&record),
        "{request:?}: the record it yields does not yield itself"
    );
    match request {
        DnsRequest::Record { value, .. } => {
            assert_eq!(&record.value, value);
            if let Some(domain) = name.strip_prefix("_acme-challenge.") {
                assert_eq!(normalize_domain(domain).ok().as_ref(), Some(&record.domain));
            } else {
                assert_eq!(record.domain, name);
            }
        }
        DnsRequest::Raw {
            domain,
            token,
            key_authorization,
        } => {
            let ka = KeyAuthorization::parse(key_authorization).expect("it yielded a record");
            if let Some(token) = token {
                assert_eq!(ka.token().as_str(), token);
            }
            let identifier = Identifier::parse(domain).expect("it yielded a record");
            let expected = Dns01Record::new(&identifier, &ka).expect("it yielded a record");
            assert_eq!(record.fqdn, expected.fqdn());
            assert_eq!(record.domain, expected.domain());
            assert_eq!(record.value, expected.value().as_str());
        }
    }
}

fn key_authorization_stays_hidden(request: &DnsRequest, message: &str) {
    // The value (which may be a key authorization passed by mistake) or the key authorization,
    // and what may be shown: the name, the domain and the token.
    let (candidate, shown) = match request {
        DnsRequest::Record { fqdn, value } => (value, fqdn.to_ascii_lowercase()),
        DnsRequest::Raw {
            domain,
            token,
            key_authorization,
        } => (
            key_authorization,
            format!("{domain} {token:?}").to_ascii_lowercase(),
        ),
    };
    assert!(
        KeyAuthorization::parse(candidate).is_err()
            || !shows(message, candidate)
            || shows(&shown, &candidate.to_ascii_lowercase()),
        "an error shows the key authorization: {message}"
    );
}

fn is_base64url(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}
