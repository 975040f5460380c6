//! The operator-owned cache of precompiled components.
//!
//! An artifact is keyed by the component's SHA-256 and the engine's compatibility hash, so a
//! changed component or a different wasmtime never reuses a stale artifact. Precompiled bytes
//! are only ever read from this directory, which is created `0700`; artifacts are written
//! `0600` through a temporary file and a rename, with a CRC-32 of the artifact next to it. An
//! artifact whose checksum does not match is not trusted: it is compiled again.
//!
//! The checksum guards against corruption, not against an attacker: one who can write the
//! operator's `0700` directory can rewrite the checksum file as easily as the artifact, whatever
//! its algorithm. A CRC-32 is checked at memory speed, where a SHA-256 of the 35 MiB artifact
//! of a JavaScript or Python provider took most of a cached load.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::engine::compatibility_key;
use crate::{Error, Result};
use acmebox_challenge::IoError;

/// Whether a load found its artifact in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    /// The artifact was in the cache and its checksum matched.
    Hit,
    /// The component was compiled and the artifact written.
    Miss,
    /// An artifact was there but its checksum did not match; it was compiled again.
    Rejected,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// Opens (creating it `0700` if needed) the cache directory.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| IoError::new("create cache directory", dir, e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| IoError::new("restrict cache directory", dir, e))?;
        Ok(ComponentCache {
            dir: dir.to_owned(),
        })
    }

    /// The artifact path for a component, whether or not it exists yet.
    pub(crate) fn artifact_path(&self, engine: &Engine, component_sha256: &str) -> PathBuf {
        let key = format!("{component_sha256}-{:016x}", compatibility_key(engine));
        self.dir.join(format!("{key}.cwasm"))
    }

    /// Loads the component from its cached artifact, compiling and caching it first if needed.
    /// `wasm` reads the component; it is called only when the component must be compiled.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: impl FnOnce() -> Result<Vec<u8>>,
        component_sha256: &str,
    ) -> Result<(Component, CacheStatus)> {
        let path = self.artifact_path(engine, component_sha256);
        let checksum_path = path.with_extension("crc32");
        let mut status = CacheStatus::Miss;
        if let Ok(actual) = checksum_file(&path) {
            let stored = fs::read_to_string(&checksum_path).unwrap_or_default();
            if stored.trim() == actual {
                return Ok((deserialize(engine, &path)?, CacheStatus::Hit));
            }
            tracing::warn!(path = %path.display(), "cached artifact does not match its checksum; compiling again");
            status = CacheStatus::Rejected;
        }
        let artifact = engine
            .precompile_component(&wasm()?)
            .map_err(|e| Error::Cache {
                path: path.clone(),
                reason: format!("cannot compile the component: {e:#}"),
            })?;
        write_atomic(&path, &artifact)?;
        write_atomic(&checksum_path, checksum(&artifact).as_bytes())?;
        Ok((deserialize(engine, &path)?, status))
    }
}

/// The CRC-32 of an artifact, as 8 lower-case hex digits.
fn checksum(artifact: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(artifact))
}

/// [`checksum`] of the file at `path`, read in chunks: a cached load never holds a copy of a
/// large artifact in memory.
fn checksum_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = crc32fast::Hasher::new();
    for_each_chunk(path, |chunk| hasher.update(chunk))?;
    Ok(format!("{:08x}", hasher.finalize()))
}

/// Lower-case hex SHA-256 of the file at `path`, read in chunks.
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for_each_chunk(path, |chunk| context.update(chunk))?;
    Ok(hex(context.finish().as_ref()))
}

/// Calls `f` with successive chunks of the file at `path`, through one reused buffer.
fn for_each_chunk(path: &Path, mut f: impl FnMut(&[u8])) -> std::io::Result<()> {
    use std::io::Read as _;
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(()),
            n => f(&buf[..n]),
        }
    }
}

/// The read size when hashing files: large enough for few system calls, small enough to stay
/// in cache.
const CHUNK: usize = 256 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

#[expect(
    unsafe_code,
    reason = "deserializing a precompiled artifact is unsafe; only files in the operator's 0700 cache directory, written by this host and checked against their checksum, are deserialized"
)]
fn deserialize(engine: &Engine, path: &Path) -> Result<Component> {
    // SAFETY: `path` is in the cache directory, which this process created 0700 and wrote
    // through temp file + rename, and its checksum was checked just before.
    unsafe { Component::deserialize_file(engine, path) }.map_err(|e| Error::Cache {
        path: path.to_owned(),
        reason: format!("cannot load the precompiled artifact: {e:#}"),
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::from(IoError::new("write cache artifact", path, e))
    })
}
