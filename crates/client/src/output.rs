//! Writing an issued certificate: `cert.pem`, `chain.pem`, `fullchain.pem`, `key.pem`.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use crate::Result;
use acmebox_challenge::IoError;
use acmebox_challenge::handlers::write_file_atomic;

/// Where an issued certificate was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPaths {
    /// The output directory.
    pub dir: PathBuf,
    /// `cert.pem`: the leaf certificate.
    pub cert: PathBuf,
    /// `chain.pem`: the intermediate certificates.
    pub chain: PathBuf,
    /// `fullchain.pem`: the leaf, then the intermediates (what most servers want).
    pub fullchain: PathBuf,
    /// `key.pem`: the private key, PKCS#8, mode 0600.
    pub key: PathBuf,
}

impl OutputPaths {
    /// The four files in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        OutputPaths {
            dir: dir.to_owned(),
            cert: dir.join("cert.pem"),
            chain: dir.join("chain.pem"),
            fullchain: dir.join("fullchain.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// A PEM chain split into the leaf and the rest, each normalised to `\n` line ends.
#[derive(Debug, Clone)]
pub(super) struct SplitChain {
    pub(super) leaf: String,
    pub(super) intermediates: String,
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Splits the `application/pem-certificate-chain` the server sent (RFC 8555 §9.1). `None` if
/// it holds no complete certificate.
pub(super) fn split_chain(pem: &str) -> Option<SplitChain> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in pem.lines().map(str::trim_end) {
        match &mut current {
            None if line == BEGIN => current = Some(format!("{line}\n")),
            None => {}
            Some(block) => {
                block.push_str(line);
                block.push('\n');
                if line == END {
                    blocks.extend(current.take());
                }
            }
        }
    }
    let (leaf, rest) = blocks.split_first()?;
    Some(SplitChain {
        leaf: leaf.clone(),
        intermediates: rest.concat(),
    })
}

/// Writes the four files into `dir` (created, mode 0755, if missing), each atomically: the key
/// first (0600), then the certificate files (0644).
pub(super) fn write_files(dir: &Path, chain: &SplitChain, key_pem: &str) -> Result<OutputPaths> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|err| IoError::new("create directory", dir, err))?;
    let paths = OutputPaths::in_dir(dir);
    write_file_atomic(&paths.key, key_pem.as_bytes(), 0o600)?;
    write_file_atomic(&paths.cert, chain.leaf.as_bytes(), 0o644)?;
    write_file_atomic(&paths.chain, chain.intermediates.as_bytes(), 0o644)?;
    let fullchain = format!("{}{}", chain.leaf, chain.intermediates);
    write_file_atomic(&paths.fullchain, fullchain.as_bytes(), 0o644)?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn split_chain_table() {
        let a = format!("{BEGIN}\nAAAA\n{END}\n");
        let b = format!("{BEGIN}\nBBBB\n{END}\n");
        let c = format!("{BEGIN}\nCCCC\n{END}\n");
        let crlf = format!("{BEGIN}\r\nAAAA\r\n{END}\r\n\r\n{BEGIN}\r\nBBBB\r\n{END}\r\n");
        let cases: &[(String, Option<(&str, String)>)] = &[
            (format!("{a}{b}{c}"), Some((&a, format!("{b}{c}")))),
            (format!("{a}\n{b}"), Some((&a, b.clone()))),
            (a.clone(), Some((&a, String::new()))),
            (crlf, Some((&a, b.clone()))),
            (String::new(), None),
            (format!("{BEGIN}\nAAAA\n"), None),
            ("not pem".into(), None),
        ];
        for (input, want) in cases {
            let got = split_chain(input).map(|s| (s.leaf, s.intermediates));
            let want = want.as_ref().map(|(l, r)| (l.to_string(), r.clone()));
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn files_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/sub");
        let chain = split_chain(&format!("{BEGIN}\nA\n{END}\n{BEGIN}\nB\n{END}\n")).unwrap();
        let paths = write_files(&out, &chain, "KEY").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.key), 0o600);
        assert_eq!(mode(&paths.cert), 0o644);
        let full = std::fs::read_to_string(&paths.fullchain).unwrap();
        assert_eq!(full, format!("{}{}", chain.leaf, chain.intermediates));
        assert_eq!(std::fs::read_to_string(&paths.key).unwrap(), "KEY");
    }
}
