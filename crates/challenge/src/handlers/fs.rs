//! Safe-write primitives for the file handlers.
//!
//! Everything below a trusted root directory is reached with directory-relative system calls
//! (`openat`, `mkdirat`, `renameat`, `unlinkat`) and `O_NOFOLLOW`, one component at a time, so
//! a symlink planted inside the root can neither redirect a write nor be swapped in between a
//! check and a use. The root itself is opened by path and may be a symlink: that is the
//! operator's choice, not an attacker's.
//!
//! Files are replaced atomically: the content goes to a fresh temporary file in the same
//! directory (created with `O_CREAT | O_EXCL | O_NOFOLLOW` and its final mode), is flushed with
//! `fsync`, renamed over the target and the directory is synced. A [`TempFile`] that is not
//! committed removes itself, so a failed write never leaves a half-written file behind.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::{Error, Result};

/// Temporary files start with this prefix, so leftovers of a crashed run are easy to find.
pub(crate) const TEMP_PREFIX: &str = ".acmebox-";

/// The longest file name most file systems accept (`NAME_MAX`).
const MAX_NAME_LEN: usize = 255;

/// How much of the target name a temporary name repeats, keeping it under [`MAX_NAME_LEN`].
const TEMP_NAME_TARGET_LEN: usize = 64;

/// How many temporary names are tried; each collision is a leftover of an earlier process that
/// had the same pid.
const MAX_TEMP_ATTEMPTS: u32 = 64;

/// Makes temporary names unique within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A single path component that is safe to create inside a directory: not empty, not `.` or
/// `..`, without `/` or NUL, at most 255 bytes. The file-system functions below take only
/// names, never paths, so nothing they create can leave its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name<'a>(&'a str);

impl<'a> Name<'a> {
    /// Checks `name`; the reason on failure.
    pub(crate) fn new(name: &'a str) -> std::result::Result<Self, &'static str> {
        if name.is_empty() {
            Err("the file name is empty")
        } else if name == "." || name == ".." {
            Err("`.` and `..` are not file names")
        } else if name.contains('/') {
            Err("a file name cannot contain '/'")
        } else if name.contains('\0') {
            Err("a file name cannot contain a NUL byte")
        } else if name.len() > MAX_NAME_LEN {
            Err("the file name is longer than 255 bytes, the limit of most file systems")
        } else {
            Ok(Name(name))
        }
    }

    /// A name known at compile time. Use it in a `const`, so that an invalid name fails the
    /// build instead of panicking at run time.
    pub(crate) const fn constant(name: &'static str) -> Name<'static> {
        let bytes = name.as_bytes();
        assert!(!bytes.is_empty() && bytes.len() <= MAX_NAME_LEN);
        assert!(!(bytes.len() == 1 && bytes[0] == b'.'));
        assert!(!(bytes.len() == 2 && bytes[0] == b'.' && bytes[1] == b'.'));
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i] != b'/' && bytes[i] != 0);
            i += 1;
        }
        Name(name)
    }

    /// The name as text.
    pub(crate) fn as_str(self) -> &'a str {
        self.0
    }
}

/// An open directory, with the path it stands for (used in error messages only).
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens a trusted directory by path, following symlinks. `None` if it does not exist.
    pub(crate) fn open(path: &Path) -> Result<Option<Dir>> {
        match rustix::fs::open(path, dir_flags(false), Mode::empty()) {
            Ok(fd) => Ok(Some(Dir {
                fd,
                path: path.to_owned(),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(Error::io("open directory", path, errno.into())),
        }
    }

    /// Creates a trusted directory and its missing parents with `mode` (less the umask), then
    /// opens it.
    pub(crate) fn create_all(path: &Path, mode: u32) -> Result<Dir> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
            .map_err(|err| Error::io("create directory", path, err))?;
        Dir::open(path)?.ok_or_else(|| {
            Error::io(
                "open directory",
                path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "it was removed right after being created",
                ),
            )
        })
    }

    /// The path this directory was opened as, joined with `name`.
    pub(crate) fn join(&self, name: Name<'_>) -> PathBuf {
        self.path.join(name.as_str())
    }

    /// Opens the subdirectory `name` without following a symlink. `None` if it does not exist;
    /// an [`Error::UnsafePath`] if it is a symlink or not a directory.
    pub(crate) fn subdir(&self, name: Name<'_>) -> Result<Option<Dir>> {
        match rustix::fs::openat(&self.fd, name.as_str(), dir_flags(true), Mode::empty()) {
            Ok(fd) => Ok(Some(Dir {
                fd,
                path: self.join(name),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(errno @ (Errno::LOOP | Errno::NOTDIR)) => Err(self.classify(name, errno)),
            Err(errno) => Err(Error::io("open directory", self.join(name), errno.into())),
        }
    }

    /// Opens the subdirectory `name`, creating it with `mode` (less the umask) if it is
    /// missing. Refuses a symlink or a non-directory like [`Dir::subdir`].
    pub(crate) fn ensure_subdir(&self, name: Name<'_>, mode: Mode) -> Result<Dir> {
        if let Some(dir) = self.subdir(name)? {
            return Ok(dir);
        }
        match rustix::fs::mkdirat(&self.fd, name.as_str(), mode) {
            // Someone else created it in between: fine, as long as it is a real directory.
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => {
                return Err(Error::io("create directory", self.join(name), errno.into()));
            }
        }
        self.subdir(name)?.ok_or_else(|| {
            Error::io(
                "open directory",
                self.join(name),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "it was removed right after being created",
                ),
            )
        })
    }

    /// Refuses with [`Error::UnsafePath`] if `name` is a symlink. (A directory there makes the
    /// final rename fail, which cleans up the temporary file like any other failure.)
    pub(crate) fn check_replaceable(&self, name: Name<'_>) -> Result<()> {
        match self.file_type(name)? {
            Some(FileType::Symlink) => Err(self.symlink_error(name)),
            _ => Ok(()),
        }
    }

    /// Writes `contents` to `name` atomically with exactly `mode`: a reader sees the old file
    /// or the new one, never a mix, and never a partial file.
    pub(crate) fn write_file(&self, name: Name<'_>, contents: &[u8], mode: Mode) -> Result<()> {
        self.check_replaceable(name)?;
        self.temp_file(name, contents, mode)?.commit()?;
        self.sync()
    }

    /// Writes `contents` to a new temporary file next to `target`, created with `mode` (so the
    /// umask can only narrow it) and set to exactly `mode` before the first byte is written,
    /// then flushed to disk. Nothing is visible at `target` until [`TempFile::commit`].
    pub(crate) fn temp_file<'d, 'n>(
        &'d self,
        target: Name<'n>,
        contents: &[u8],
        mode: Mode,
    ) -> Result<TempFile<'d, 'n>> {
        let (file, name) = self.create_temp(target, mode)?;
        let temp = TempFile {
            dir: self,
            name,
            target,
            committed: false,
        };
        // From here on, dropping `temp` removes the file again.
        let mut file = File::from(file);
        let path = self.path.join(&temp.name);
        rustix::fs::fchmod(&file, mode)
            .map_err(|errno| Error::io("set permissions of", &path, errno.into()))?;
        file.write_all(contents)
            .map_err(|err| Error::io("write", &path, err))?;
        file.sync_all()
            .map_err(|err| Error::io("flush to disk", &path, err))?;
        Ok(temp)
    }

    /// Removes the file `name`. `Ok(false)` if it was already absent. A symlink or a directory
    /// is left alone and reported as [`Error::UnsafePath`]: acmebox only removes what it could
    /// have written.
    pub(crate) fn remove_file(&self, name: Name<'_>) -> Result<bool> {
        match self.file_type(name)? {
            None => return Ok(false),
            Some(FileType::Symlink) => return Err(self.symlink_error(name)),
            Some(FileType::Directory) => return Err(self.directory_error(name)),
            Some(_) => {}
        }
        match rustix::fs::unlinkat(&self.fd, name.as_str(), AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(errno) => Err(Error::io("remove", self.join(name), errno.into())),
        }
    }

    /// Flushes the directory itself, making renames and removals in it durable.
    pub(crate) fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.fd)
            .map_err(|errno| Error::io("flush directory", &self.path, errno.into()))
    }

    fn create_temp(&self, target: Name<'_>, mode: Mode) -> Result<(OwnedFd, String)> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let stem = truncate(target.as_str(), TEMP_NAME_TARGET_LEN);
        let pid = std::process::id();
        let mut last = Errno::EXIST;
        for _ in 0..MAX_TEMP_ATTEMPTS {
            let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{TEMP_PREFIX}{stem}-{pid}-{counter}.tmp");
            match rustix::fs::openat(&self.fd, name.as_str(), flags, mode) {
                Ok(fd) => return Ok((fd, name)),
                Err(Errno::EXIST) => last = Errno::EXIST,
                Err(errno) => {
                    return Err(Error::io(
                        "create temporary file",
                        self.path.join(&name),
                        errno.into(),
                    ));
                }
            }
        }
        Err(Error::io(
            "create temporary file in",
            &self.path,
            last.into(),
        ))
    }

    fn file_type(&self, name: Name<'_>) -> Result<Option<FileType>> {
        match rustix::fs::statat(&self.fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(Error::io("inspect", self.join(name), errno.into())),
        }
    }

    /// The error for a component that could not be opened as a directory without following.
    fn classify(&self, name: Name<'_>, errno: Errno) -> Error {
        match self.file_type(name) {
            Ok(Some(FileType::Symlink)) => self.symlink_error(name),
            Ok(Some(FileType::Directory)) | Ok(None) => {
                Error::io("open directory", self.join(name), errno.into())
            }
            Ok(Some(_)) => Error::UnsafePath {
                path: self.join(name),
                reason: "it is not a directory; remove it or choose another directory".into(),
            },
            Err(err) => err,
        }
    }

    fn symlink_error(&self, name: Name<'_>) -> Error {
        Error::UnsafePath {
            path: self.join(name),
            reason: format!(
                "it is a symbolic link, and acmebox never writes or removes through a symlink inside {}; replace it with a real directory or file if it is meant to be there",
                self.path.display()
            ),
        }
    }

    fn directory_error(&self, name: Name<'_>) -> Error {
        Error::UnsafePath {
            path: self.join(name),
            reason: "it is a directory where a file is expected; remove it if it is a leftover"
                .into(),
        }
    }
}

/// A fully written and flushed temporary file waiting to be renamed over its target.
/// Dropped without [`TempFile::commit`], it removes itself.
#[derive(Debug)]
pub(crate) struct TempFile<'d, 'n> {
    dir: &'d Dir,
    name: String,
    target: Name<'n>,
    committed: bool,
}

impl TempFile<'_, '_> {
    /// Renames the file over its target in one step. `rename(2)` replaces a directory entry
    /// and never follows a symlink at the target, so even a symlink planted after
    /// [`Dir::check_replaceable`] is replaced, not written through. The caller syncs the
    /// directory when all its renames are done.
    pub(crate) fn commit(mut self) -> Result<()> {
        let dir = self.dir;
        rustix::fs::renameat(&dir.fd, self.name.as_str(), &dir.fd, self.target.as_str())
            .map_err(|errno| Error::io("rename into place", dir.join(self.target), errno.into()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile<'_, '_> {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: if even this fails, the leftover carries the `.acmebox-` prefix.
            let _ = rustix::fs::unlinkat(&self.dir.fd, self.name.as_str(), AtFlags::empty());
        }
    }
}

/// Flags for opening a directory for reading (and `fsync`), optionally refusing a symlink.
fn dir_flags(no_follow: bool) -> OFlags {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if no_follow {
        flags | OFlags::NOFOLLOW
    } else {
        flags
    }
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    use super::*;

    fn name(s: &str) -> Name<'_> {
        Name::new(s).unwrap()
    }

    #[test]
    fn name_table() {
        let long = "a".repeat(256);
        let max = "a".repeat(255);
        for ok in ["a", "token-_x", ".hidden", "..x", "x..", &max] {
            assert!(Name::new(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", ".", "..", "a/b", "/", "../x", "a\0b", &long] {
            assert!(Name::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("aé", 2), "a");
    }

    #[test]
    fn uncommitted_temp_file_removes_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap().unwrap();
        let temp = dir
            .temp_file(name("target"), b"data", Mode::from_bits_truncate(0o600))
            .unwrap();
        let temp_path = tmp.path().join(&temp.name);
        assert_eq!(
            std::fs::metadata(&temp_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        drop(temp);
        assert!(!temp_path.exists());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn subdir_refuses_symlinks_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        symlink(tmp.path().join("real"), tmp.path().join("link")).unwrap();
        std::fs::write(tmp.path().join("file"), b"").unwrap();
        let dir = Dir::open(tmp.path()).unwrap().unwrap();
        assert!(dir.subdir(name("real")).unwrap().is_some());
        assert!(dir.subdir(name("absent")).unwrap().is_none());
        for bad in ["link", "file"] {
            let err = dir.subdir(name(bad)).unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{bad}: {err}");
        }
    }
}
