//! Challenge handlers: publish a challenge response, then remove it again.
//!
//! A [`ChallengeHandler`] answers one [`ChallengeType`]. The handlers here are the native ones;
//! the sandbox wraps WebAssembly providers behind the same trait.
//!
//! | handler | type | what `setup` does |
//! | --- | --- | --- |
//! | [`CallbackDnsHandler`] | DNS-01 | calls your closure with the [`Dns01Record`] |
//! | [`CallbackHttpHandler`] | HTTP-01 | calls your closure with the [`Challenge`] |
//! | [`CallbackTlsAlpnHandler`] | TLS-ALPN-01 | generates the certificate, calls your closure |
//! | [`FileHttpHandler`] | HTTP-01 | writes `<webroot>/.well-known/acme-challenge/<token>` |
//! | [`FileTlsAlpnHandler`] | TLS-ALPN-01 | writes the certificate and key, runs reload hooks |
//!
//! Compared with the handlers of the Python library acmeow, which these follow in shape:
//!
//! - `cleanup` receives the same [`Challenge`] as `setup`, not only the domain and token, so a
//!   DNS handler can remove the one TXT value it added when the apex and the wildcard of a
//!   domain share a record name.
//! - Cleanup errors are returned, not logged and swallowed; the caller decides.
//! - Files are replaced atomically (temporary file, `fsync`, `rename`, directory `fsync`) and
//!   get their final permissions when they are created, never after the data is in them; a
//!   private key is never readable by others, not even for an instant.
//! - No write or removal goes through a symlink below the configured directory.
//!
//! [`Dns01Record`]: crate::dns01::Dns01Record

use std::path::PathBuf;
use std::time::Duration;

use crate::{Challenge, ChallengeType};
use crate::{Error, Result};

mod callback;
mod file_http;
mod file_tls_alpn;
mod fs;

pub use callback::{BoxError, CallbackDnsHandler, CallbackHttpHandler, CallbackTlsAlpnHandler};
pub use file_http::FileHttpHandler;
pub use file_tls_alpn::{
    DEFAULT_CERT_PATTERN, DEFAULT_KEY_PATTERN, DEFAULT_RELOAD_TIMEOUT, FileTlsAlpnHandler,
};

/// The attribute to put on an `impl ChallengeHandler for ...` block, re-exported so that
/// implementors do not need their own `async-trait` dependency.
pub use async_trait::async_trait;

/// A check run after every challenge is set up and the handler's propagation delay has passed,
/// right before the ACME server is asked to validate.
///
/// This is the hook for DNS-01 propagation checks: an implementation polls the authoritative
/// servers until every TXT value is visible and returns `Ok`, or returns an error to abort the
/// issuance (every challenge is then cleaned up).
#[async_trait]
pub trait ReadyCheck: Send + Sync {
    /// Returns once the responses to `challenges` can be seen by the ACME server.
    async fn wait_until_ready(&self, challenges: &[Challenge]) -> Result<()>;
}

/// Publishes and removes the response to one type of ACME challenge (lego's
/// `challenge.Provider`, acmeow's `ChallengeHandler`).
///
/// # Contract
///
/// - [`setup`](Self::setup) publishes the response for exactly this challenge. When it returns
///   `Ok`, the response is in place (a DNS record may still need
///   [`propagation_delay`](Self::propagation_delay) to be visible everywhere).
/// - [`cleanup`](Self::cleanup) receives the *same* [`Challenge`] value and removes only what
///   `setup` published for it: one TXT value, not the whole record set; one file, not the
///   directory. It is idempotent: cleaning up something that is absent (never set up, set up
///   only partly, already cleaned up) is `Ok`. It is called after a failed `setup` too.
/// - Neither panics. Failures are returned as [`crate::Error`], never swallowed: the caller
///   reports a failed cleanup and goes on cleaning up the other challenges.
/// - A challenge of another type than [`challenge_type`](Self::challenge_type) is refused with
///   [`Error::WrongChallengeType`].
/// - A handler is shared (`Send + Sync`, usually as `Box<dyn ChallengeHandler>`) and may be
///   called concurrently for different challenges, such as the apex and the wildcard of one
///   domain.
///
/// # Example
///
/// An HTTP-01 handler that keeps responses in memory, for a server that answers from a map:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
/// use acmebox_challenge::handlers::{ChallengeHandler, async_trait};
///
/// #[derive(Default)]
/// struct InMemory(Mutex<HashMap<String, String>>);
///
/// #[async_trait]
/// impl ChallengeHandler for InMemory {
///     fn challenge_type(&self) -> ChallengeType {
///         ChallengeType::Http01
///     }
///
///     async fn setup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
///         let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
///         let body = challenge.key_authorization.as_str().to_owned();
///         map.insert(challenge.token.to_string(), body);
///         Ok(())
///     }
///
///     async fn cleanup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
///         let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
///         map.remove(challenge.token.as_str()); // absent is fine
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> acmebox_challenge::Result<()> {
/// let handler: Box<dyn ChallengeHandler> = Box::new(InMemory::default());
/// let ka = KeyAuthorization::parse(
///     "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
/// )?;
/// let challenge = Challenge::new(ChallengeType::Http01, Identifier::parse("example.com")?, ka)?;
/// handler.setup(&challenge).await?;
/// handler.cleanup(&challenge).await?;
/// handler.cleanup(&challenge).await?; // idempotent
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait ChallengeHandler: Send + Sync {
    /// The one challenge type this handler answers.
    fn challenge_type(&self) -> ChallengeType;

    /// Publishes the response to `challenge`.
    async fn setup(&self, challenge: &Challenge) -> Result<()>;

    /// Removes what [`setup`](Self::setup) published for `challenge`; `Ok` if it is absent.
    async fn cleanup(&self, challenge: &Challenge) -> Result<()>;

    /// How long to wait after `setup` before asking the ACME server to validate, for
    /// responses that take time to spread (DNS secondaries). Zero unless overridden.
    fn propagation_delay(&self) -> Duration {
        Duration::ZERO
    }

    /// True when no two responses may be published at once (a DNS API that takes one change
    /// at a time, or keeps one value per name): an ACME client then sets up, validates and
    /// cleans up each challenge before it sets up the next. `false` unless overridden.
    fn one_at_a_time(&self) -> bool {
        false
    }
}

/// Refuses a challenge of another type than `expected` (every handler's first check), with
/// [`Error::WrongChallengeType`] naming `handler`.
pub fn ensure_type(
    handler: &'static str,
    expected: ChallengeType,
    challenge: &Challenge,
) -> Result<()> {
    if challenge.kind == expected {
        return Ok(());
    }
    Err(Error::WrongChallengeType {
        handler,
        expected,
        actual: challenge.kind,
        identifier: challenge.identifier.to_string(),
    })
}

/// Runs blocking file-system work off the async executor. `path` names the work in the
/// (never expected) error of a task that did not finish.
async fn blocking<T, F>(path: PathBuf, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => Err(Error::io(
            "finish file operation on",
            path,
            std::io::Error::other(join.to_string()),
        )),
    }
}

/// Writes `contents` to `path` atomically with exactly `mode` (for example `0o600` for a key):
/// through a temporary file in the same directory, created with that mode, flushed, renamed
/// over `path`, and the directory synced. A reader sees the old file or the new one, never a
/// partial one, and `path` is refused if it is a symlink. The directory must exist.
pub fn write_file_atomic(path: &std::path::Path, contents: &[u8], mode: u32) -> Result<()> {
    let unsafe_path = |reason: &str| Error::UnsafePath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| unsafe_path("it does not end in a UTF-8 file name"))?;
    let name = fs::Name::new(file_name).map_err(unsafe_path)?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let Some(dir) = fs::Dir::open(parent)? else {
        return Err(Error::io(
            "open directory",
            parent,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "it does not exist; create it first",
            ),
        ));
    };
    dir.write_file(name, contents, rustix::fs::Mode::from_raw_mode(mode))
}
