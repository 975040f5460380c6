//! TLS-ALPN-01 by writing the validation certificate and key for a TLS server to load
//! (RFC 8737).

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rustix::fs::Mode;

use super::callback::{self, BoxError, Callback};
use super::fs::{Dir, Name, TEMP_PREFIX};
use super::{ChallengeHandler, blocking, ensure_type};
use crate::tls_alpn01::CertificateOptions;
use crate::{Challenge, ChallengeType, Identifier};
use crate::{Error, Result};

const HANDLER: &str = "tls-alpn-01 file handler";

/// The default certificate file name; `{domain}` is replaced by the identifier.
pub const DEFAULT_CERT_PATTERN: &str = "{domain}.alpn.crt";

/// The default private key file name; `{domain}` is replaced by the identifier.
pub const DEFAULT_KEY_PATTERN: &str = "{domain}.alpn.key";

/// How long a reload command or hook may run. It keeps a hung server reload from stalling the
/// whole certificate order: a command still running then is killed, a hook abandoned.
pub const DEFAULT_RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The placeholder a pattern must contain.
const PLACEHOLDER: &str = "{domain}";

/// Mode of the certificate directory when it is created, before the umask.
const DIR_MODE: u32 = 0o755;

/// Mode of certificate files.
const CERT_MODE: Mode = Mode::from_bits_truncate(0o644);

/// Mode of private key files: the owner only, from the moment the file exists.
const KEY_MODE: Mode = Mode::from_bits_truncate(0o600);

/// How much of a failed reload command's standard error goes into the error message.
const STDERR_TAIL: usize = 512;

/// A TLS-ALPN-01 handler that writes the validation certificate and its private key (PEM) into
/// a directory and tells the TLS server to reload.
///
/// # Files
///
/// `{domain}` in the patterns ([`DEFAULT_CERT_PATTERN`], [`DEFAULT_KEY_PATTERN`]) is replaced
/// by the identifier: a DNS name as it is (normalised, lower case), `*` as `_wildcard` (the
/// naming rule of acmeow, although TLS-ALPN-01 cannot validate wildcards), an IPv4 address as
/// it is and an IPv6 address with `:` replaced by `_` (`2001:db8::1` → `2001_db8__1`). A
/// pattern must name a file directly inside the certificate directory: one containing `/` or
/// `..` as a component, without `{domain}`, with other braces, or starting with `.acmebox-`
/// (the prefix of temporary files) is refused when it is set.
///
/// The certificate directory is created if missing (mode `0755` less the umask) and may be a
/// symlink; the files inside it are never written or removed through a symlink. The key file
/// has mode `0600` and the certificate `0644`, from the moment each file is created.
///
/// # Replacement guarantee
///
/// Both files are written completely to temporary files and flushed, then the **key is renamed
/// into place first and the certificate second**, with the directory flushed after each rename;
/// cleanup removes the certificate first and the key second. So at every instant the key on
/// disk is at least as new as the certificate: a reader that opens the certificate and then
/// the key never gets a certificate with an older key, and never finds a certificate without
/// its key. A reader that runs *during* a replacement can still get the previous certificate
/// with the new key, which a TLS stack rejects as a mismatch (rustls' `keys_match`, nginx's
/// "key values mismatch"); reloads started by this handler run after both renames and always
/// see a matching pair. One handler value runs its setups and cleanups one at a time, so two
/// concurrent setups for the same name cannot leave the key of one with the certificate of the
/// other.
///
/// # Reload
///
/// After writing (and after removing), each reload command and hook runs in the order added; a
/// failure, a non-zero exit or running past the timeout ([`DEFAULT_RELOAD_TIMEOUT`]) is
/// [`Error::ReloadHook`]. A failed reload after `setup` leaves the files in place: clean up as
/// after any failed setup.
///
/// ```
/// use acmebox_challenge::handlers::FileTlsAlpnHandler;
///
/// let handler = FileTlsAlpnHandler::new("/etc/tls/acme")
///     .cert_pattern("{domain}.crt")?
///     .key_pattern("{domain}.key")?
///     .reload_command(["systemctl", "reload", "nginx"]);
/// let id = "example.com".parse()?;
/// assert_eq!(handler.cert_path(&id)?, std::path::Path::new("/etc/tls/acme/example.com.crt"));
///
/// // Patterns that could leave the directory are refused.
/// assert!(FileTlsAlpnHandler::new("/etc/tls/acme").key_pattern("../{domain}.key").is_err());
/// # Ok::<(), acmebox_challenge::Error>(())
/// ```
pub struct FileTlsAlpnHandler {
    cert_dir: PathBuf,
    cert_pattern: String,
    key_pattern: String,
    reloads: Vec<Reload>,
    reload_timeout: Duration,
    options: Arc<CertificateOptions>,
    /// Serialises setups and cleanups of this handler (see "Replacement guarantee").
    lock: tokio::sync::Mutex<()>,
}

impl FileTlsAlpnHandler {
    /// A handler writing into `cert_dir` with the default patterns, no reload and fresh P-256
    /// keys.
    pub fn new(cert_dir: impl Into<PathBuf>) -> Self {
        FileTlsAlpnHandler {
            cert_dir: cert_dir.into(),
            cert_pattern: DEFAULT_CERT_PATTERN.to_owned(),
            key_pattern: DEFAULT_KEY_PATTERN.to_owned(),
            reloads: Vec::new(),
            reload_timeout: DEFAULT_RELOAD_TIMEOUT,
            options: Arc::new(CertificateOptions::default()),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets the certificate file name pattern; refuses one that could leave the directory.
    pub fn cert_pattern(mut self, pattern: impl Into<String>) -> Result<Self> {
        let pattern = pattern.into();
        check_pattern("certificate", &pattern)?;
        self.cert_pattern = pattern;
        Ok(self)
    }

    /// Sets the private key file name pattern; refuses one that could leave the directory.
    pub fn key_pattern(mut self, pattern: impl Into<String>) -> Result<Self> {
        let pattern = pattern.into();
        check_pattern("key", &pattern)?;
        self.key_pattern = pattern;
        Ok(self)
    }

    /// Adds a command to run after the files change: a program and its arguments, run without
    /// a shell, with no input and its output discarded (the tail of its standard error goes
    /// into the error when it fails).
    pub fn reload_command<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let argv = argv.into_iter().map(Into::into).collect();
        self.reloads.push(Reload::Command(argv));
        self
    }

    /// Adds a closure to run after the files change, such as one telling an in-process server
    /// to reload its certificates.
    pub fn reload_hook<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.reloads
            .push(Reload::Hook(callback::async_callback(move |()| hook())));
        self
    }

    /// How long each reload command or hook may run ([`DEFAULT_RELOAD_TIMEOUT`] by default).
    pub fn reload_timeout(mut self, timeout: Duration) -> Self {
        self.reload_timeout = timeout;
        self
    }

    /// How certificates are generated (key type, a fixed key, validity); a fresh P-256 key by
    /// default.
    pub fn certificate_options(mut self, options: CertificateOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// The directory the files are written to.
    pub fn cert_dir(&self) -> &Path {
        &self.cert_dir
    }

    /// Where the certificate for `identifier` is written.
    pub fn cert_path(&self, identifier: &Identifier) -> Result<PathBuf> {
        let name = self.file_name(&self.cert_pattern, identifier)?;
        Ok(self.cert_dir.join(name))
    }

    /// Where the private key for `identifier` is written.
    pub fn key_path(&self, identifier: &Identifier) -> Result<PathBuf> {
        let name = self.file_name(&self.key_pattern, identifier)?;
        Ok(self.cert_dir.join(name))
    }

    /// The certificate and key file names for `identifier`, checked to be distinct.
    fn file_names(&self, identifier: &Identifier) -> Result<(String, String)> {
        let cert = self.file_name(&self.cert_pattern, identifier)?;
        let key = self.file_name(&self.key_pattern, identifier)?;
        if cert == key {
            return Err(Error::UnsafePath {
                path: self.cert_dir.join(cert),
                reason: "the certificate and key patterns give the same file name, so the key would overwrite the certificate; make the patterns differ".into(),
            });
        }
        Ok((cert, key))
    }

    fn file_name(&self, pattern: &str, identifier: &Identifier) -> Result<String> {
        let name = pattern.replace(PLACEHOLDER, &file_stem(identifier));
        match Name::new(&name) {
            Ok(_) => Ok(name),
            Err(reason) => Err(Error::UnsafePath {
                path: self.cert_dir.join(&name),
                reason: format!("pattern {pattern:?} does not give a usable file name: {reason}"),
            }),
        }
    }

    async fn reload(&self) -> Result<()> {
        for reload in &self.reloads {
            reload.run(self.reload_timeout).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ChallengeHandler for FileTlsAlpnHandler {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::TlsAlpn01
    }

    async fn setup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(HANDLER, ChallengeType::TlsAlpn01, challenge)?;
        let (cert_name, key_name) = self.file_names(&challenge.identifier)?;
        let certificate = callback::generate(challenge, &self.options).await?;
        let pem = Pem {
            cert: certificate.cert_pem(),
            key: certificate.key_pem(),
        };
        drop(certificate);
        let _serialised = self.lock.lock().await;
        let cert_dir = self.cert_dir.clone();
        blocking(self.cert_dir.clone(), move || {
            write_pair(&cert_dir, &cert_name, &key_name, &pem)
        })
        .await?;
        self.reload().await
    }

    async fn cleanup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(HANDLER, ChallengeType::TlsAlpn01, challenge)?;
        let (cert_name, key_name) = self.file_names(&challenge.identifier)?;
        let _serialised = self.lock.lock().await;
        let cert_dir = self.cert_dir.clone();
        blocking(self.cert_dir.clone(), move || {
            remove_pair(&cert_dir, &cert_name, &key_name)
        })
        .await?;
        self.reload().await
    }
}

impl fmt::Debug for FileTlsAlpnHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTlsAlpnHandler")
            .field("cert_dir", &self.cert_dir)
            .field("cert_pattern", &self.cert_pattern)
            .field("key_pattern", &self.key_pattern)
            .field("reloads", &self.reloads)
            .field("reload_timeout", &self.reload_timeout)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The PEM texts to write. `Debug` hides the key.
struct Pem {
    cert: String,
    key: String,
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pem(..)")
    }
}

/// Something to run after the files change.
enum Reload {
    Command(Vec<String>),
    Hook(Callback<()>),
}

impl fmt::Debug for Reload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reload::Command(argv) => f.debug_tuple("Command").field(argv).finish(),
            Reload::Hook(_) => f.write_str("Hook(..)"),
        }
    }
}

impl Reload {
    async fn run(&self, timeout: Duration) -> Result<()> {
        match self {
            Reload::Command(argv) => run_command(argv, timeout).await,
            Reload::Hook(hook) => {
                let fail = |reason| Error::ReloadHook {
                    command: "reload hook".into(),
                    reason,
                };
                match tokio::time::timeout(timeout, callback::run_caught(hook, ())).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(message)) => Err(fail(message)),
                    Err(_) => Err(fail(format!(
                        "it did not finish within {timeout:?} and was abandoned"
                    ))),
                }
            }
        }
    }
}

async fn run_command(argv: &[String], timeout: Duration) -> Result<()> {
    let command = argv.join(" ");
    let fail = |reason: String| Error::ReloadHook {
        command: command.clone(),
        reason,
    };
    let Some((program, args)) = argv.split_first() else {
        return Err(fail(
            "the reload command is empty; give a program and its arguments, as in [\"nginx\", \"-s\", \"reload\"]".into(),
        ));
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| fail(format!("it could not be started: {err}")))?;
    // On timeout the child is dropped, which kills it.
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => return Err(fail(format!("waiting for it failed: {err}"))),
        Err(_) => {
            return Err(fail(format!(
                "it did not finish within {timeout:?} and was killed"
            )));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    let mut reason = format!("it {}", describe_status(output.status));
    if !stderr.is_empty() {
        let start = stderr.len().saturating_sub(STDERR_TAIL);
        let start = (start..stderr.len())
            .find(|&i| stderr.is_char_boundary(i))
            .unwrap_or(stderr.len());
        reason.push_str("; its error output ends with: ");
        reason.push_str(&stderr[start..]);
    }
    Err(fail(reason))
}

fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

/// Writes the key, then the certificate (see "Replacement guarantee" on the handler).
fn write_pair(cert_dir: &Path, cert_name: &str, key_name: &str, pem: &Pem) -> Result<()> {
    let (cert, key) = (name(cert_dir, cert_name)?, name(cert_dir, key_name)?);
    let dir = Dir::create_all(cert_dir, DIR_MODE)?;
    dir.check_replaceable(key)?;
    dir.check_replaceable(cert)?;
    let key_temp = dir.temp_file(key, pem.key.as_bytes(), KEY_MODE)?;
    let cert_temp = dir.temp_file(cert, pem.cert.as_bytes(), CERT_MODE)?;
    key_temp.commit()?;
    // Make the key's rename durable before the certificate's, so a crash cannot leave the new
    // certificate with the old key either.
    dir.sync()?;
    cert_temp.commit()?;
    dir.sync()
}

/// Removes the certificate, then the key. Absent files are fine.
fn remove_pair(cert_dir: &Path, cert_name: &str, key_name: &str) -> Result<()> {
    let (cert, key) = (name(cert_dir, cert_name)?, name(cert_dir, key_name)?);
    let Some(dir) = Dir::open(cert_dir)? else {
        return Ok(());
    };
    if dir.remove_file(cert)? {
        dir.sync()?;
    }
    if dir.remove_file(key)? {
        dir.sync()?;
    }
    Ok(())
}

fn name<'n>(cert_dir: &Path, name: &'n str) -> Result<Name<'n>> {
    Name::new(name).map_err(|reason| Error::UnsafePath {
        path: cert_dir.join(name),
        reason: reason.into(),
    })
}

/// What `{domain}` becomes for `identifier` (see "Files" on the handler).
fn file_stem(identifier: &Identifier) -> String {
    match identifier {
        Identifier::Dns(name) => name.replace('*', "_wildcard"),
        Identifier::Ip(IpAddr::V4(ip)) => ip.to_string(),
        Identifier::Ip(IpAddr::V6(ip)) => ip.to_string().replace(':', "_"),
    }
}

/// Refuses a pattern that does not name one file directly inside the directory.
fn check_pattern(which: &str, pattern: &str) -> Result<()> {
    let reason = if pattern.is_empty() {
        "it is empty"
    } else if pattern.starts_with('/') {
        "it is an absolute path; a pattern names a file inside the certificate directory"
    } else if pattern.split('/').any(|part| part == "..") {
        "it has a `..` component, which would leave the certificate directory"
    } else if pattern.contains('/') {
        "it contains '/'; a pattern names a file directly inside the certificate directory (choose a subdirectory as the directory instead)"
    } else if pattern.contains('\0') {
        "it contains a NUL byte"
    } else if !pattern.contains(PLACEHOLDER) {
        "it does not contain {domain}, so every identifier would share one file"
    } else if pattern.replace(PLACEHOLDER, "").contains(['{', '}']) {
        "only {domain} can be substituted; remove the other braces"
    } else if pattern.starts_with(TEMP_PREFIX) {
        "names starting with `.acmebox-` are reserved for temporary files"
    } else {
        return Ok(());
    };
    Err(Error::UnsafePath {
        path: PathBuf::from(pattern),
        reason: format!("bad {which} file pattern: {reason}"),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::{PermissionsExt as _, symlink};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::KeyAuthorization;

    const THUMB: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    /// A distinct, valid token for each `n`.
    fn token(n: usize) -> String {
        format!("{n:0>43}")
    }

    fn challenge(identifier: &str, n: usize) -> Challenge {
        let ka = KeyAuthorization::parse(&format!("{}.{THUMB}", token(n))).unwrap();
        Challenge::new(
            ChallengeType::TlsAlpn01,
            Identifier::parse(identifier).unwrap(),
            ka,
        )
        .unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The raw public key in a PEM certificate.
    fn cert_public_key(pem: &[u8]) -> Vec<u8> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem).unwrap();
        let cert = pem.parse_x509().unwrap();
        cert.tbs_certificate
            .subject_pki
            .subject_public_key
            .data
            .to_vec()
    }

    /// The raw public key of a PEM private key.
    fn key_public_key(pem: &[u8]) -> Vec<u8> {
        let key = rcgen::KeyPair::from_pem(std::str::from_utf8(pem).unwrap()).unwrap();
        key.public_key_raw().to_vec()
    }

    #[test]
    fn file_names_substitute_the_identifier() {
        let handler = FileTlsAlpnHandler::new("/srv/tls");
        let cases = [
            (
                "example.test",
                "example.test.alpn.crt",
                "example.test.alpn.key",
            ),
            (
                "Bücher.Example",
                "xn--bcher-kva.example.alpn.crt",
                "xn--bcher-kva.example.alpn.key",
            ),
            ("192.0.2.1", "192.0.2.1.alpn.crt", "192.0.2.1.alpn.key"),
            (
                "[2001:db8::1]",
                "2001_db8__1.alpn.crt",
                "2001_db8__1.alpn.key",
            ),
            (
                "*.example.test",
                "_wildcard.example.test.alpn.crt",
                "_wildcard.example.test.alpn.key",
            ),
        ];
        for (identifier, cert, key) in cases {
            let id = Identifier::parse(identifier).unwrap();
            assert_eq!(
                handler.cert_path(&id).unwrap(),
                Path::new("/srv/tls").join(cert)
            );
            assert_eq!(
                handler.key_path(&id).unwrap(),
                Path::new("/srv/tls").join(key)
            );
        }
        let custom = FileTlsAlpnHandler::new("/srv/tls")
            .cert_pattern("alpn-{domain}.pem")
            .unwrap()
            .key_pattern("alpn-{domain}-key.pem")
            .unwrap();
        let id = Identifier::parse("example.test").unwrap();
        assert_eq!(
            custom.key_path(&id).unwrap(),
            Path::new("/srv/tls/alpn-example.test-key.pem")
        );
    }

    #[test]
    fn patterns_that_could_escape_are_refused() {
        let refused = [
            ("../{domain}.crt", "`..` component"),
            ("/etc/{domain}", "absolute path"),
            ("{domain}/../../x", "`..` component"),
            ("a/../../{domain}", "`..` component"),
            ("..", "`..` component"),
            ("sub/{domain}.crt", "contains '/'"),
            ("{domain}/", "contains '/'"),
            ("", "empty"),
            ("static.crt", "does not contain {domain}"),
            ("{domain}.{ext}", "only {domain}"),
            ("{domain", "does not contain {domain}"),
            ("{{domain}}", "only {domain}"),
            ("{domain}\0", "NUL"),
            (".acmebox-{domain}", "reserved"),
        ];
        for (pattern, want) in refused {
            for result in [
                FileTlsAlpnHandler::new("/srv/tls").cert_pattern(pattern),
                FileTlsAlpnHandler::new("/srv/tls").key_pattern(pattern),
            ] {
                let err = result.unwrap_err();
                assert!(
                    matches!(err, Error::UnsafePath { .. }),
                    "{pattern:?}: {err:?}"
                );
                assert!(
                    err.to_string().contains(want),
                    "{pattern:?}: {err} lacks {want:?}"
                );
            }
        }
        for pattern in [
            "{domain}",
            "..{domain}",
            "{domain}.crt",
            "x.{domain}.{domain}",
        ] {
            assert!(
                FileTlsAlpnHandler::new("/srv/tls")
                    .cert_pattern(pattern)
                    .is_ok(),
                "{pattern:?}"
            );
        }
    }

    #[tokio::test]
    async fn identical_patterns_and_too_long_names_are_refused_at_setup() {
        let dir = tempfile::tempdir().unwrap();
        let same = FileTlsAlpnHandler::new(dir.path())
            .cert_pattern("{domain}.pem")
            .unwrap()
            .key_pattern("{domain}.pem")
            .unwrap();
        let err = same.setup(&challenge("example.test", 1)).await.unwrap_err();
        assert!(err.to_string().contains("same file name"), "{err}");

        let long = FileTlsAlpnHandler::new(dir.path())
            .cert_pattern(format!("{}{{domain}}", "x".repeat(250)))
            .unwrap();
        let err = long.setup(&challenge("example.test", 1)).await.unwrap_err();
        assert!(err.to_string().contains("longer than 255"), "{err}");
        assert!(entries(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn writes_a_matching_pair_with_modes_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("created/on/demand");
        let handler = FileTlsAlpnHandler::new(&dir);
        let ch = challenge("example.test", 1);
        handler.setup(&ch).await.unwrap();

        let cert = dir.join("example.test.alpn.crt");
        let key = dir.join("example.test.alpn.key");
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&cert), 0o644);
        let cert_pem = std::fs::read(&cert).unwrap();
        let key_pem = std::fs::read(&key).unwrap();
        assert!(cert_pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
        assert_eq!(cert_public_key(&cert_pem), key_public_key(&key_pem));
        assert_eq!(
            entries(&dir),
            ["example.test.alpn.crt", "example.test.alpn.key"]
        );

        std::fs::write(dir.join("unrelated.crt"), b"keep").unwrap();
        handler.cleanup(&ch).await.unwrap();
        assert_eq!(entries(&dir), ["unrelated.crt"]);
        handler.cleanup(&ch).await.unwrap();

        let missing = FileTlsAlpnHandler::new(tmp.path().join("never-created"));
        missing.cleanup(&ch).await.unwrap();
        assert!(!tmp.path().join("never-created").exists());
    }

    #[tokio::test]
    async fn ip_identifiers_get_file_safe_names() {
        let dir = tempfile::tempdir().unwrap();
        let handler = FileTlsAlpnHandler::new(dir.path());
        for (identifier, stem) in [("192.0.2.7", "192.0.2.7"), ("2001:db8::7", "2001_db8__7")] {
            let ch = challenge(identifier, 7);
            handler.setup(&ch).await.unwrap();
            assert!(dir.path().join(format!("{stem}.alpn.key")).is_file());
            handler.cleanup(&ch).await.unwrap();
        }
        assert!(entries(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_symlinked_key_or_certificate_is_refused() {
        for file in ["example.test.alpn.key", "example.test.alpn.crt"] {
            let dir = tempfile::tempdir().unwrap();
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("victim"), b"precious").unwrap();
            symlink(outside.path().join("victim"), dir.path().join(file)).unwrap();
            let handler = FileTlsAlpnHandler::new(dir.path());
            let ch = challenge("example.test", 1);
            for result in [handler.setup(&ch).await, handler.cleanup(&ch).await] {
                let err = result.unwrap_err();
                assert!(matches!(err, Error::UnsafePath { .. }), "{file}: {err:?}");
            }
            assert_eq!(
                entries(dir.path()),
                [file],
                "nothing else written, link kept"
            );
            assert_eq!(
                std::fs::read(outside.path().join("victim")).unwrap(),
                b"precious"
            );
        }
    }

    #[tokio::test]
    async fn reload_commands_run_after_setup_and_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("reloads.log");
        let script = format!(
            "test -f '{0}/example.test.alpn.crt' && echo present >> '{1}' || echo absent >> '{1}'",
            dir.path().display(),
            marker.display()
        );
        let handler = FileTlsAlpnHandler::new(dir.path())
            .reload_command(["/bin/true"])
            .reload_command(["sh", "-c", &script]);
        let ch = challenge("example.test", 1);
        handler.setup(&ch).await.unwrap();
        handler.cleanup(&ch).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap(),
            "present\nabsent\n"
        );
    }

    #[tokio::test]
    async fn failing_reload_commands_are_reload_hook_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ch = challenge("example.test", 1);
        let cases: [(Vec<&str>, &str); 4] = [
            (vec!["/bin/false"], "exited with status 1"),
            (
                vec!["sh", "-c", "echo 'nginx: bad config' >&2; exit 3"],
                "status 3; its error output ends with: nginx: bad config",
            ),
            (vec!["/nonexistent/reload"], "could not be started"),
            (vec![], "the reload command is empty"),
        ];
        for (argv, want) in cases {
            let handler = FileTlsAlpnHandler::new(dir.path()).reload_command(argv.clone());
            for result in [handler.setup(&ch).await, handler.cleanup(&ch).await] {
                match result.unwrap_err() {
                    Error::ReloadHook { command, reason } => {
                        assert_eq!(command, argv.join(" "));
                        assert!(reason.contains(want), "{argv:?}: {reason:?} lacks {want:?}");
                    }
                    other => panic!("{argv:?}: unexpected {other:?}"),
                }
            }
        }

        let slow = FileTlsAlpnHandler::new(dir.path())
            .reload_command(["sleep", "30"])
            .reload_timeout(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let err = slow.cleanup(&ch).await.unwrap_err();
        assert!(err.to_string().contains("was killed"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn reload_hooks_run_and_their_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(Mutex::new(0));
        let counted = calls.clone();
        let handler = FileTlsAlpnHandler::new(dir.path()).reload_hook(move || {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                Ok(())
            }
        });
        let ch = challenge("example.test", 1);
        handler.setup(&ch).await.unwrap();
        handler.cleanup(&ch).await.unwrap();
        assert_eq!(*calls.lock().unwrap(), 2);

        let failing = FileTlsAlpnHandler::new(dir.path())
            .reload_hook(|| async { Err("server is not running".into()) });
        let err = failing.setup(&ch).await.unwrap_err();
        assert!(
            matches!(&err, Error::ReloadHook { reason, .. } if reason == "server is not running"),
            "{err:?}"
        );
        // The files stay after a failed reload; cleanup removes them (and reports the reload).
        assert_eq!(entries(dir.path()).len(), 2);
        assert!(failing.cleanup(&ch).await.is_err());
        assert!(entries(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn wrong_challenge_type_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let handler = FileTlsAlpnHandler::new(dir.path());
        let ka = KeyAuthorization::parse(&format!("{}.{THUMB}", token(1))).unwrap();
        let http = Challenge::new(
            ChallengeType::Http01,
            Identifier::parse("example.test").unwrap(),
            ka,
        )
        .unwrap();
        let err = handler.setup(&http).await.unwrap_err();
        assert!(matches!(err, Error::WrongChallengeType { .. }), "{err:?}");
        assert!(entries(dir.path()).is_empty());
    }

    /// The replacement guarantee: a reader that loads the certificate and then the key, racing
    /// a stream of replacements, never gets a certificate whose key is older than it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_never_sees_a_new_certificate_with_an_old_key() {
        const GENERATIONS: usize = 40;
        let dir = tempfile::tempdir().unwrap();
        let handler = FileTlsAlpnHandler::new(dir.path());
        let id = Identifier::parse("example.test").unwrap();
        let cert_path = handler.cert_path(&id).unwrap();
        let key_path = handler.key_path(&id).unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // Distinct consecutive (certificate, key) reads; raw bytes, parsed afterwards.
                // A certificate without a key is recorded as an empty key.
                let mut seen: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                let mut reads = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(cert) = std::fs::read(&cert_path) else {
                        continue; // nothing published yet
                    };
                    let key = std::fs::read(&key_path).unwrap_or_default();
                    reads += 1;
                    if seen.last() != Some(&(cert.clone(), key.clone())) {
                        seen.push((cert, key));
                    }
                }
                (seen, reads)
            })
        };

        // The public key of each generation, in the order written.
        let mut generations: Vec<Vec<u8>> = Vec::new();
        for n in 0..GENERATIONS {
            handler.setup(&challenge("example.test", n)).await.unwrap();
            let cert = cert_public_key(&std::fs::read(handler.cert_path(&id).unwrap()).unwrap());
            let key = key_public_key(&std::fs::read(handler.key_path(&id).unwrap()).unwrap());
            assert_eq!(cert, key, "generation {n} is not a matching pair at rest");
            generations.push(key);
        }
        stop.store(true, Ordering::Relaxed);
        let (seen, reads) = reader.join().unwrap();

        let generation = |public_key: &Vec<u8>| {
            generations
                .iter()
                .position(|g| g == public_key)
                .expect("a key that was never written")
        };
        let mut matching = 0;
        let mut certificates_seen = BTreeSet::new();
        for (cert, key) in &seen {
            assert!(!key.is_empty(), "read a certificate without its key");
            let (c, k) = (
                generation(&cert_public_key(cert)),
                generation(&key_public_key(key)),
            );
            assert!(
                k >= c,
                "read the certificate of generation {c} with the older key of generation {k}"
            );
            matching += usize::from(c == k);
            certificates_seen.insert(c);
        }
        assert!(
            certificates_seen.len() >= 2,
            "the reader saw only {certificates_seen:?} in {reads} reads: it did not race the writer"
        );
        assert!(
            matching > 0,
            "no matching pair in {} distinct reads",
            seen.len()
        );
        assert!(
            entries(dir.path()).len() == 2,
            "temporary files left: {:?}",
            entries(dir.path())
        );
    }
}
