//! HTTP-01 by writing files into a web server's document root (RFC 8555 §8.3).

use std::path::{Path, PathBuf};

use rustix::fs::Mode;

use super::fs::{Dir, Name};
use super::{ChallengeHandler, blocking, ensure_type};
use crate::http01::{self, CHALLENGE_DIR};
use crate::{Challenge, ChallengeType, Token};
use crate::{Error, Result};

const HANDLER: &str = "http-01 file handler";

/// The two directories of [`CHALLENGE_DIR`], created and checked one at a time.
const CHALLENGE_DIR_PARTS: [Name<'static>; 2] = [
    Name::constant(".well-known"),
    Name::constant("acme-challenge"),
];

/// Mode of created directories, before the umask.
const DIR_MODE: Mode = Mode::from_bits_truncate(0o755);

/// Mode of challenge files: readable by a web server running as another user.
const FILE_MODE: Mode = Mode::from_bits_truncate(0o644);

/// An HTTP-01 handler that writes `<webroot>/.well-known/acme-challenge/<token>` for a web
/// server to serve, and removes it on cleanup.
///
/// - The web root must exist (it may be a symlink). A missing web root is an error rather than
///   created, because a mistyped path would otherwise "succeed" where no server looks.
/// - `.well-known` and `acme-challenge` are created if missing, with mode `0755` reduced by
///   the process umask (a umask of `027` keeps a web server running as another user out: set
///   the umask, or create the directories beforehand, to suit the server). Existing
///   directories are used as they are.
/// - The file contains exactly the key authorization, without newline, with mode `0644`
///   whatever the umask. It is written to a temporary file in the same directory, flushed and
///   renamed into place, so the server sees the whole file or nothing.
/// - Nothing is written or removed through a symlink: if `.well-known`, `acme-challenge` or
///   the file itself is a symlink, `setup` and `cleanup` fail with [`Error::UnsafePath`] and
///   leave the link alone. Each component is opened relative to its parent with `O_NOFOLLOW`,
///   so a link swapped in during the operation is refused too.
/// - `cleanup` removes only the file, never the directories; an absent file is `Ok`.
///
/// ```
/// use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
/// use acmebox_challenge::handlers::{ChallengeHandler, FileHttpHandler};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // In production, the web server's document root, such as /var/www/html.
/// let webroot = std::env::temp_dir().join(format!("acmebox-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&webroot)?;
///
/// let handler = FileHttpHandler::new(&webroot);
/// let ka = KeyAuthorization::parse(
///     "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
/// )?;
/// let challenge = Challenge::new(ChallengeType::Http01, Identifier::parse("example.com")?, ka)?;
/// handler.setup(&challenge).await?;
/// let file = webroot.join(".well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
/// assert_eq!(std::fs::read_to_string(&file)?, challenge.key_authorization.as_str());
/// handler.cleanup(&challenge).await?;
/// assert!(!file.exists());
/// # std::fs::remove_dir_all(&webroot)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileHttpHandler {
    webroot: PathBuf,
}

impl FileHttpHandler {
    /// A handler writing below `webroot`, the directory the web server serves as `/`.
    pub fn new(webroot: impl Into<PathBuf>) -> Self {
        FileHttpHandler {
            webroot: webroot.into(),
        }
    }

    /// The web root given to [`FileHttpHandler::new`].
    pub fn webroot(&self) -> &Path {
        &self.webroot
    }

    /// Where the response to `token` is written: `<webroot>/.well-known/acme-challenge/<token>`.
    pub fn file_path(&self, token: &Token) -> PathBuf {
        self.webroot.join(CHALLENGE_DIR).join(token.as_str())
    }
}

#[async_trait::async_trait]
impl ChallengeHandler for FileHttpHandler {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::Http01
    }

    async fn setup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(HANDLER, ChallengeType::Http01, challenge)?;
        let webroot = self.webroot.clone();
        let token = challenge.token.clone();
        let body = http01::body(&challenge.key_authorization)
            .as_bytes()
            .to_vec();
        blocking(self.file_path(&challenge.token), move || {
            write(&webroot, &token, &body)
        })
        .await
    }

    async fn cleanup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(HANDLER, ChallengeType::Http01, challenge)?;
        let webroot = self.webroot.clone();
        let token = challenge.token.clone();
        blocking(self.file_path(&challenge.token), move || {
            remove(&webroot, &token)
        })
        .await
    }
}

fn write(webroot: &Path, token: &Token, body: &[u8]) -> Result<()> {
    let name = token_name(webroot, token)?;
    let Some(mut dir) = Dir::open(webroot)? else {
        return Err(Error::io(
            "open web root",
            webroot,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "it does not exist; create it or give the directory your web server serves",
            ),
        ));
    };
    for part in CHALLENGE_DIR_PARTS {
        dir = dir.ensure_subdir(part, DIR_MODE)?;
    }
    dir.write_file(name, body, FILE_MODE)
}

fn remove(webroot: &Path, token: &Token) -> Result<()> {
    let name = token_name(webroot, token)?;
    let Some(mut dir) = Dir::open(webroot)? else {
        return Ok(());
    };
    for part in CHALLENGE_DIR_PARTS {
        let Some(sub) = dir.subdir(part)? else {
            return Ok(());
        };
        dir = sub;
    }
    if dir.remove_file(name)? {
        dir.sync()?;
    }
    Ok(())
}

/// The token as a file name. A [`Token`] is base64url, so this cannot fail; it is checked
/// anyway so that no token can ever become a path.
fn token_name<'t>(webroot: &Path, token: &'t Token) -> Result<Name<'t>> {
    Name::new(token.as_str()).map_err(|reason| Error::UnsafePath {
        path: webroot.join(CHALLENGE_DIR).join(token.as_str()),
        reason: format!("the token is not a plain file name: {reason}"),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _, symlink};

    use super::*;
    use crate::{Identifier, KeyAuthorization};

    const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    const KA: &str =
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    fn challenge(kind: ChallengeType) -> Challenge {
        let ka = KeyAuthorization::parse(KA).unwrap();
        Challenge::new(kind, Identifier::parse("example.test").unwrap(), ka).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    /// The mode a directory created with `requested` gets under the current umask, measured
    /// rather than assumed (reading the umask would mean changing it for every thread).
    fn umasked(requested: u32) -> u32 {
        let probe = tempfile::tempdir().unwrap();
        let dir = probe.path().join("probe");
        std::fs::DirBuilder::new().mode(0o777).create(&dir).unwrap();
        requested & mode(&dir)
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Every file below `dir`, following nothing, as paths relative to it.
    fn tree(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
                if entry.file_type().unwrap().is_dir() {
                    stack.push(path);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn challenge_dir_parts_spell_challenge_dir() {
        let joined: Vec<&str> = CHALLENGE_DIR_PARTS.iter().map(|n| n.as_str()).collect();
        assert_eq!(joined.join("/"), CHALLENGE_DIR);
    }

    #[tokio::test]
    async fn writes_exactly_the_key_authorization_with_modes() {
        let root = tempfile::tempdir().unwrap();
        let handler = FileHttpHandler::new(root.path());
        let ch = challenge(ChallengeType::Http01);
        handler.setup(&ch).await.unwrap();

        let file = root.path().join(".well-known/acme-challenge").join(TOKEN);
        assert_eq!(handler.file_path(&ch.token), file);
        assert_eq!(std::fs::read(&file).unwrap(), KA.as_bytes());
        assert_eq!(mode(&file), 0o644);
        assert_eq!(mode(&root.path().join(".well-known")), umasked(0o755));
        assert_eq!(
            mode(&root.path().join(".well-known/acme-challenge")),
            umasked(0o755)
        );
        // Only the file: no temporary file is left behind.
        assert_eq!(
            entries(&root.path().join(".well-known/acme-challenge")),
            [TOKEN]
        );

        // A second setup replaces the file in place.
        handler.setup(&ch).await.unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), KA.as_bytes());
        assert_eq!(
            entries(&root.path().join(".well-known/acme-challenge")),
            [TOKEN]
        );
    }

    #[tokio::test]
    async fn cleanup_removes_only_that_file_and_is_idempotent() {
        let root = tempfile::tempdir().unwrap();
        let handler = FileHttpHandler::new(root.path());
        let ch = challenge(ChallengeType::Http01);
        // Cleaning up before anything exists is fine.
        handler.cleanup(&ch).await.unwrap();

        handler.setup(&ch).await.unwrap();
        let dir = root.path().join(".well-known/acme-challenge");
        std::fs::write(dir.join("other-token-aaaaaaaaaaaaaaa"), b"x").unwrap();
        std::fs::write(root.path().join("index.html"), b"hi").unwrap();
        handler.cleanup(&ch).await.unwrap();
        assert_eq!(entries(&dir), ["other-token-aaaaaaaaaaaaaaa"]);
        assert_eq!(entries(root.path()), [".well-known", "index.html"]);
        handler.cleanup(&ch).await.unwrap();

        // A missing web root: setup says so, cleanup has nothing to do.
        let gone = FileHttpHandler::new(root.path().join("missing"));
        let err = gone.setup(&ch).await.unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        gone.cleanup(&ch).await.unwrap();
    }

    #[tokio::test]
    async fn webroot_itself_may_be_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        symlink("real", tmp.path().join("www")).unwrap();
        let handler = FileHttpHandler::new(tmp.path().join("www"));
        let ch = challenge(ChallengeType::Http01);
        handler.setup(&ch).await.unwrap();
        let file = tmp
            .path()
            .join("real/.well-known/acme-challenge")
            .join(TOKEN);
        assert_eq!(std::fs::read(&file).unwrap(), KA.as_bytes());
        handler.cleanup(&ch).await.unwrap();
        assert!(!file.exists());
    }

    #[tokio::test]
    async fn symlinks_inside_the_webroot_are_refused() {
        let ch = challenge(ChallengeType::Http01);
        /// Plants a symlink in the web root (first) pointing outside it (second).
        type Plant = fn(&Path, &Path);
        let cases: [(&str, Plant); 3] = [
            ("symlinked .well-known", |root, outside| {
                symlink(outside, root.join(".well-known")).unwrap();
            }),
            ("symlinked acme-challenge", |root, outside| {
                std::fs::create_dir(root.join(".well-known")).unwrap();
                symlink(outside, root.join(".well-known/acme-challenge")).unwrap();
            }),
            ("symlinked token file", |root, outside| {
                std::fs::create_dir_all(root.join(".well-known/acme-challenge")).unwrap();
                symlink(
                    outside.join("victim"),
                    root.join(".well-known/acme-challenge").join(TOKEN),
                )
                .unwrap();
            }),
        ];
        for (what, plant) in cases {
            let root = tempfile::tempdir().unwrap();
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("victim"), b"precious").unwrap();
            plant(root.path(), outside.path());
            let before = tree(root.path());
            let handler = FileHttpHandler::new(root.path());

            for result in [handler.setup(&ch).await, handler.cleanup(&ch).await] {
                let err = result.unwrap_err();
                assert!(matches!(err, Error::UnsafePath { .. }), "{what}: {err:?}");
                assert!(err.to_string().contains("symbolic link"), "{what}: {err}");
            }
            assert_eq!(entries(outside.path()), ["victim"], "{what}");
            assert_eq!(
                std::fs::read(outside.path().join("victim")).unwrap(),
                b"precious",
                "{what}"
            );
            assert_eq!(tree(root.path()), before, "{what}: the link must stay");
        }
    }

    #[tokio::test]
    async fn a_failed_write_leaves_no_temporary_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(".well-known/acme-challenge");
        // A directory where the file should go makes the final rename fail.
        std::fs::create_dir_all(dir.join(TOKEN)).unwrap();
        let handler = FileHttpHandler::new(root.path());
        let ch = challenge(ChallengeType::Http01);
        let err = handler.setup(&ch).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io(crate::IoError {
                    action: "rename into place",
                    ..
                })
            ),
            "{err:?}"
        );
        assert_eq!(entries(&dir), [TOKEN]);
        assert!(dir.join(TOKEN).is_dir());
        // Cleanup will not remove a directory either.
        let err = handler.cleanup(&ch).await.unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn wrong_challenge_type_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let handler = FileHttpHandler::new(root.path());
        let ch = challenge(ChallengeType::TlsAlpn01);
        for result in [handler.setup(&ch).await, handler.cleanup(&ch).await] {
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::WrongChallengeType {
                        expected: ChallengeType::Http01,
                        actual: ChallengeType::TlsAlpn01,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        assert!(entries(root.path()).is_empty());
    }
}
