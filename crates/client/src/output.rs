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

/// The versions of a lineage kept in `archive/` besides the live one: a reader still holding
/// an older one (a server reloading slowly) finds its files for a while.
const KEPT_VERSIONS: usize = 5;

/// Writes the four files as a new version of `dir` (created, mode 0755, if missing) and makes
/// it live in one step.
///
/// Each version is a directory `archive/<n>/` holding the four files (the key 0600, the
/// certificate files 0644). `live` is a symbolic link to the newest one, replaced by one
/// `rename`, and `cert.pem`, `chain.pem`, `fullchain.pem` and `key.pem` in `dir` are links
/// into `live/`. So the four names switch from one version to the next together: a
/// certificate is never paired with another version's key, and a half-written file is never
/// visible. The older versions are kept ([`KEPT_VERSIONS`]).
///
/// Without `key_pem` (a certificate for a signing request the caller made), no key is
/// written and a `key.pem` link of an earlier version is removed, never left pointing at a key
/// that does not belong to the new certificate.
pub(super) fn write_files(
    dir: &Path,
    chain: &SplitChain,
    key_pem: Option<&str>,
) -> Result<OutputPaths> {
    let create = |path: &Path| {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
            .map_err(|err| IoError::new("create directory", path, err))
    };
    let archive = dir.join("archive");
    create(&archive)?;
    let versions = versions(&archive)?;
    let next = versions.last().map_or(1, |n| n + 1);
    let version = archive.join(next.to_string());
    create(&version)?;
    let files = OutputPaths::in_dir(&version);
    if let Some(key_pem) = key_pem {
        write_file_atomic(&files.key, key_pem.as_bytes(), 0o600)?;
    }
    write_file_atomic(&files.cert, chain.leaf.as_bytes(), 0o644)?;
    write_file_atomic(&files.chain, chain.intermediates.as_bytes(), 0o644)?;
    let fullchain = format!("{}{}", chain.leaf, chain.intermediates);
    write_file_atomic(&files.fullchain, fullchain.as_bytes(), 0o644)?;
    sync_dir(&version)?;
    replace_with_link(
        &dir.join("live"),
        &Path::new("archive").join(next.to_string()),
    )?;
    let paths = OutputPaths::in_dir(dir);
    let mut names = vec![&paths.cert, &paths.chain, &paths.fullchain];
    if key_pem.is_some() {
        names.push(&paths.key);
    } else {
        match std::fs::remove_file(&paths.key) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(IoError::new("remove", &paths.key, err).into()),
        }
    }
    for path in names {
        let name = path.file_name().unwrap_or_default();
        let target = Path::new("live").join(name);
        if std::fs::read_link(path).ok().as_deref() != Some(target.as_path()) {
            replace_with_link(path, &target)?;
        }
    }
    sync_dir(dir)?;
    for old in versions.iter().rev().skip(KEPT_VERSIONS - 1) {
        let old = archive.join(old.to_string());
        // An old version that cannot be removed is only disk space.
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(paths)
}

/// The version numbers in `archive`, ascending.
fn versions(archive: &Path) -> Result<Vec<u64>> {
    let entries =
        std::fs::read_dir(archive).map_err(|err| IoError::new("read directory", archive, err))?;
    let mut versions: Vec<u64> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

/// Makes `path` a symbolic link to `target`, replacing what is there in one `rename`.
fn replace_with_link(path: &Path, target: &Path) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .map_err(|err| IoError::new("create symbolic link", &tmp, err))?;
    std::fs::rename(&tmp, path).map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        IoError::new("rename", path, err)
    })?;
    Ok(())
}

/// Makes the renames in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|err| IoError::new("sync directory", dir, err).into())
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
        let paths = write_files(&out, &chain, Some("KEY")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.key), 0o600);
        assert_eq!(mode(&paths.cert), 0o644);
        let full = std::fs::read_to_string(&paths.fullchain).unwrap();
        assert_eq!(full, format!("{}{}", chain.leaf, chain.intermediates));
        assert_eq!(std::fs::read_to_string(&paths.key).unwrap(), "KEY");
    }

    #[test]
    fn a_new_version_switches_all_four_files_at_once_and_keeps_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // An output directory of the layout before versions: plain files.
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("cert.pem"), "OLD").unwrap();
        let one = split_chain(&format!("{BEGIN}\nA\n{END}\n")).unwrap();
        let two = split_chain(&format!("{BEGIN}\nB\n{END}\n")).unwrap();
        let paths = write_files(&out, &one, Some("KEY1")).unwrap();
        assert_eq!(
            std::fs::read_link(&paths.cert).unwrap(),
            Path::new("live/cert.pem")
        );
        assert_eq!(
            std::fs::read_link(out.join("live")).unwrap(),
            Path::new("archive/1")
        );
        write_files(&out, &two, Some("KEY2")).unwrap();
        assert_eq!(
            std::fs::read_link(out.join("live")).unwrap(),
            Path::new("archive/2")
        );
        assert_eq!(std::fs::read_to_string(&paths.key).unwrap(), "KEY2");
        assert_eq!(std::fs::read_to_string(&paths.cert).unwrap(), two.leaf);
        assert_eq!(
            std::fs::read_to_string(out.join("archive/1/key.pem")).unwrap(),
            "KEY1"
        );
        for _ in 0..KEPT_VERSIONS + 2 {
            write_files(&out, &two, Some("KEY")).unwrap();
        }
        assert_eq!(versions(&out.join("archive")).unwrap().len(), KEPT_VERSIONS);
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
