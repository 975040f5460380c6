//! The journal of presented records: what was published, so that nothing is left behind even
//! after `kill -9` or a power cut.
//!
//! Before a provider is asked to present a value, the host writes an entry (provider, config
//! file, record name, value, zone, time, and the process that owns it) durably into the journal
//! directory under the state directory; after the provider removed the value again, the entry
//! is deleted. An entry whose owner no longer runs is *stale*: its record was left behind, and
//! [`clean_stale`](crate::clean_stale) finds it so the host can clean it up through its provider.
//!
//! # Layout and safety
//!
//! - One file per record, `<hash>.json`, the hash over config file, provider, name and value: a
//!   cleanup in another process (the hooks of certbot and lego present and clean up in separate
//!   processes) finds the entry without a scan, and presenting the same value twice makes one
//!   entry.
//! - Written as a temporary file, synced, renamed into place and the directory synced: an entry
//!   is either whole or absent, and present once [`Journal::record`] returns.
//! - Processes share the directory: adding and removing touch one file each; whoever cleans up
//!   a stale entry holds an exclusive lock on its file while doing so (`flock`, released by the
//!   kernel if that process dies too), so two processes never clean the same record at once.
//! - An entry that cannot be read (truncated, edited by hand) is renamed to `<file>.corrupt`,
//!   kept for a person to look at, and reported; it is never silently dropped.
//!
//! # Owners
//!
//! An entry belongs to a process ([`Owner`]), identified by its PID and its start time (so a
//! reused PID is not mistaken for it). `acmebox issue`, `serve` and the conformance kit own
//! their records; a hook of certbot or lego belongs to the ACME client that ran it (the hook
//! ends between present and cleanup, the client does not); `acmebox present` belongs to the
//! process that ran it (a shell or a script). Where processes cannot be inspected (other than
//! Linux), owners always count as running, and only `acmebox cleanup --stale` with
//! `--older-than` removes entries.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::provider::TxtRecord;
use crate::{Error, Result};

/// The journal's directory under the state directory.
pub const JOURNAL_DIR: &str = "journal";

/// What an entry file's name ends with.
const ENTRY_SUFFIX: &str = ".json";

/// What an unreadable entry is renamed to end with.
const CORRUPT_SUFFIX: &str = ".corrupt";

/// The format version written into every entry.
const FORMAT: u32 = 1;

/// One presented record, as written to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The format version of the entry (1).
    pub format: u32,
    /// The config file the provider was loaded from, absolute.
    pub config: PathBuf,
    /// The provider's name in it.
    pub provider: String,
    /// The record name, absolute.
    pub fqdn: String,
    /// The TXT value (public once presented: it is what the CA reads).
    pub value: String,
    /// The zone the provider was given, if any.
    pub zone: Option<String>,
    /// The identifier the record is for.
    pub domain: String,
    /// The record's TTL.
    pub ttl: u32,
    /// When the value was about to be presented, seconds since the Unix epoch.
    pub presented_at: u64,
    /// The process the record belongs to.
    pub owner: Owner,
}

impl Entry {
    /// The entry for presenting `record` through `provider` of the config file `config`.
    pub fn new(config: &Path, provider: &str, record: &TxtRecord, owner: Owner) -> Entry {
        Entry {
            format: FORMAT,
            config: config.to_owned(),
            provider: provider.to_owned(),
            fqdn: record.fqdn.clone(),
            value: record.value.clone(),
            zone: record.zone.clone(),
            domain: record.domain.clone(),
            ttl: record.ttl,
            presented_at: unix_now(),
            owner,
        }
    }

    /// The record to hand the provider's cleanup.
    pub fn record(&self) -> TxtRecord {
        TxtRecord {
            domain: self.domain.clone(),
            fqdn: self.fqdn.clone(),
            value: self.value.clone(),
            ttl: self.ttl,
            zone: self.zone.clone(),
        }
    }

    /// How long ago it was presented (zero for a clock that went back).
    pub fn age(&self) -> Duration {
        Duration::from_secs(unix_now().saturating_sub(self.presented_at))
    }

    fn file_name(&self) -> String {
        entry_file_name(&self.config, &self.provider, &self.fqdn, &self.value)
    }
}

/// The process an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Its process ID.
    pub pid: u32,
    /// Its start time (clock ticks after boot, `/proc/<pid>/stat`), telling it apart from a
    /// later process with the same PID; `None` where it cannot be read.
    pub start: Option<u64>,
    /// Its command name, for messages.
    pub command: String,
}

impl Owner {
    /// The current process.
    pub fn this_process() -> Owner {
        Owner::of(std::process::id())
    }

    /// The process that started this one (a shell or script running `acmebox present`).
    pub fn parent() -> Owner {
        Owner::of(parent_of(std::process::id()).unwrap_or_else(std::process::id))
    }

    /// The nearest ancestor that is not a shell: the ACME client running a hook, which lives
    /// from present to cleanup while the hook process does not (certbot runs hooks through a
    /// shell, lego runs them directly).
    pub fn client() -> Owner {
        let mut pid = std::process::id();
        for _ in 0..16 {
            let Some(parent) = parent_of(pid) else { break };
            pid = parent;
            if !SHELLS.contains(&command_of(pid).as_str()) {
                break;
            }
        }
        Owner::of(pid)
    }

    /// Whether the owning process still runs (always `true` where that cannot be known).
    pub fn is_running(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return !cfg!(target_os = "linux");
        };
        match (self.start, start_time(&stat)) {
            (Some(want), Some(now)) => want == now,
            _ => true,
        }
    }

    fn of(pid: u32) -> Owner {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        Owner {
            pid,
            start: start_time(&stat),
            command: command_of(pid),
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.command)
    }
}

/// Shells a hook may run under, skipped when looking for the ACME client.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh", "busybox", "env"];

/// Who owns the records this process presents; see [`set_owner`].
static PROCESS_OWNER: OnceLock<Owner> = OnceLock::new();

/// Declares who owns the records this process presents from now on (once; later calls change
/// nothing): [`Owner::client`] for hooks, [`Owner::parent`] for a one-shot `present`. Without
/// it, the process itself owns them.
pub fn set_owner(owner: Owner) {
    let _ = PROCESS_OWNER.set(owner);
}

/// The owner of the records this process presents.
pub fn owner() -> Owner {
    PROCESS_OWNER.get_or_init(Owner::this_process).clone()
}

/// Where a provider loaded from a config file journals its records: set by
/// [`Config::provider_spec`](crate::config::Config::provider_spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSpec {
    /// The state directory (the journal is its `journal` directory).
    pub state_dir: PathBuf,
    /// The config file the provider comes from, absolute: stale entries are cleaned up by
    /// loading the provider from it again.
    pub config: PathBuf,
}

/// A journal directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

/// What [`Journal::scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Readable entries, with their files.
    pub entries: Vec<(PathBuf, Entry)>,
    /// Entries that could not be read, each renamed to `<file>.corrupt`, with the reason.
    pub corrupt: Vec<(PathBuf, String)>,
}

impl Journal {
    /// The journal under `state_dir` (its `journal` directory, created when needed).
    pub fn open(state_dir: &Path) -> Result<Journal> {
        let dir = state_dir.join(JOURNAL_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| journal_error(&dir, "create", &e))?;
        Ok(Journal { dir })
    }

    /// The directory the entries are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `entry` durably: when this returns `Ok`, the entry survives a crash.
    pub fn record(&self, entry: &Entry) -> Result<()> {
        let path = self.dir.join(entry.file_name());
        let temp = self
            .dir
            .join(format!(".{}.{}.tmp", entry.file_name(), std::process::id()));
        let text = serde_json::to_vec_pretty(entry).map_err(|e| Error::Journal {
            path: path.clone(),
            reason: format!("cannot encode the entry: {e}"),
        })?;
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            journal_error(&path, "write", &e)
        })
    }

    /// Deletes the entry of this record, if there is one.
    pub fn remove(&self, config: &Path, provider: &str, record: &TxtRecord) -> Result<()> {
        let path = self.dir.join(entry_file_name(
            config,
            provider,
            &record.fqdn,
            &record.value,
        ));
        match std::fs::remove_file(&path) {
            Ok(()) => File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(|e| journal_error(&self.dir, "sync", &e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(journal_error(&path, "remove", &e)),
        }
    }

    /// Reads every entry; unreadable ones are set aside as `.corrupt` and listed.
    pub fn scan(&self) -> Result<Scan> {
        let mut scan = Scan::default();
        let dir = std::fs::read_dir(&self.dir).map_err(|e| journal_error(&self.dir, "read", &e))?;
        let mut paths: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(ENTRY_SUFFIX) && !n.starts_with('.'))
            })
            .collect();
        paths.sort();
        for path in paths {
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<Entry>(&bytes).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(entry) => scan.entries.push((path, entry)),
                // Removed by its owner between listing and reading: nothing to report.
                Err(_) if !path.exists() => {}
                Err(reason) => {
                    let mut aside = path.clone().into_os_string();
                    aside.push(CORRUPT_SUFFIX);
                    let aside = PathBuf::from(aside);
                    std::fs::rename(&path, &aside)
                        .map_err(|e| journal_error(&path, "set aside", &e))?;
                    scan.corrupt.push((aside, reason));
                }
            }
        }
        Ok(scan)
    }

    /// Takes the exclusive lock on an entry's file, so that no other process cleans it up at
    /// the same time; `None` when another process holds it (or the entry is gone).
    pub fn claim(&self, path: &Path) -> Option<Claim> {
        let file = File::open(path).ok()?;
        file.try_lock().ok()?;
        // Removed while we waited for the lock: its owner cleaned it up.
        path.exists().then_some(Claim { _file: file })
    }
}

/// An entry's lock, held while its record is cleaned up; released when dropped.
#[derive(Debug)]
pub struct Claim {
    _file: File,
}

/// The default state directory: `$XDG_STATE_HOME/acmebox`, else `~/.local/state/acmebox`.
pub fn default_state_dir() -> Option<PathBuf> {
    crate::config::xdg_dir("XDG_STATE_HOME", &[".local", "state"])
}

fn entry_file_name(config: &Path, provider: &str, fqdn: &str, value: &str) -> String {
    let mut key = Vec::new();
    for part in [
        config.as_os_str().as_encoded_bytes(),
        provider.as_bytes(),
        fqdn.to_ascii_lowercase().as_bytes(),
        value.as_bytes(),
    ] {
        key.extend_from_slice(&(part.len() as u64).to_be_bytes());
        key.extend_from_slice(part);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &key);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}{ENTRY_SUFFIX}")
}

fn journal_error(path: &Path, action: &str, err: &std::io::Error) -> Error {
    Error::Journal {
        path: path.to_owned(),
        reason: format!("cannot {action} it: {err}"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Field 22 of `/proc/<pid>/stat` (start time), read after the command's closing parenthesis.
fn start_time(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let parent: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
    (parent > 0).then_some(parent)
}

fn command_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> TxtRecord {
        TxtRecord {
            domain: "example.com".into(),
            fqdn: "_acme-challenge.example.com.".into(),
            value: value.into(),
            ttl: 60,
            zone: None,
        }
    }

    #[test]
    fn entries_are_written_found_and_removed() -> Result<()> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let journal = Journal::open(dir.path())?;
        let config = Path::new("/etc/acmebox/acmebox.toml");
        let a = Entry::new(config, "pdns", &record("a"), Owner::this_process());
        let b = Entry::new(config, "pdns", &record("b"), Owner::this_process());
        journal.record(&a)?;
        journal.record(&b)?;
        journal.record(&a)?; // the same record twice is one entry
        let scan = journal.scan()?;
        let found: Vec<&Entry> = scan.entries.iter().map(|(_, e)| e).collect();
        assert_eq!(found.len(), 2);
        assert!(found.contains(&&a) && found.contains(&&b));
        assert_eq!(found[0].record().fqdn, "_acme-challenge.example.com.");
        journal.remove(config, "pdns", &record("a"))?;
        journal.remove(config, "pdns", &record("a"))?; // already gone: fine
        let left: Vec<Entry> = journal
            .scan()?
            .entries
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert_eq!(left, [b]);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(journal.dir())
            .expect("readable")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        Ok(())
    }

    #[test]
    fn corrupt_entries_are_set_aside_and_reported() -> Result<()> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let journal = Journal::open(dir.path())?;
        let good = Entry::new(Path::new("/c"), "p", &record("v"), Owner::this_process());
        journal.record(&good)?;
        let truncated = journal.dir().join("00truncated.json");
        std::fs::write(&truncated, b"{\"format\": 1, \"config\": \"/c\"").expect("writable");
        let scan = journal.scan()?;
        assert_eq!(scan.entries.len(), 1);
        assert_eq!(scan.corrupt.len(), 1);
        let (aside, reason) = &scan.corrupt[0];
        assert_eq!(aside, &journal.dir().join("00truncated.json.corrupt"));
        assert!(reason.contains("EOF"), "{reason}");
        assert!(aside.exists() && !truncated.exists());
        // Reported once: the next scan does not read it again, and it is still kept.
        assert!(journal.scan()?.corrupt.is_empty());
        assert!(aside.exists());
        Ok(())
    }

    #[test]
    fn owners_are_told_apart_by_start_time() {
        let me = Owner::this_process();
        assert!(me.is_running());
        assert_eq!(me.pid, std::process::id());
        if cfg!(target_os = "linux") {
            assert!(me.start.is_some());
            let reused = Owner {
                start: me.start.map(|s| s + 1),
                ..me.clone()
            };
            assert!(
                !reused.is_running(),
                "a PID with another start time is another process"
            );
            let gone = Owner {
                pid: u32::MAX - 1,
                ..me
            };
            assert!(!gone.is_running());
        }
    }

    #[test]
    fn a_claimed_entry_cannot_be_claimed_twice() -> Result<()> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let journal = Journal::open(dir.path())?;
        journal.record(&Entry::new(
            Path::new("/c"),
            "p",
            &record("v"),
            Owner::this_process(),
        ))?;
        let (path, _) = journal.scan()?.entries.remove(0);
        let first = journal.claim(&path).expect("the first claim");
        assert!(journal.claim(&path).is_none());
        drop(first);
        assert!(journal.claim(&path).is_some());
        Ok(())
    }

    #[test]
    fn start_time_is_field_22() {
        let stat = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 50";
        assert_eq!(start_time(stat), Some(987_654));
        assert_eq!(start_time("garbage"), None);
    }
}
