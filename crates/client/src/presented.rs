//! The list of challenges that were set up and must be cleaned up.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::SharedHandler;
use crate::{Error, Result};
use acmebox_challenge::Challenge;

/// The challenges whose responses are (or may be) published, with the handler that publishes
/// them: what must be cleaned up.
///
/// [`Account::issue`](super::Account::issue) registers each challenge here *before* calling
/// its handler's `setup` (cleanup is idempotent and also undoes a half-done setup), and cleans
/// up everything registered before it returns, whether it succeeded or not. If the `issue`
/// future is dropped instead (a signal ended it), the entries stay here: call
/// [`cleanup`](Self::cleanup) then. A `Drop` cannot await, so cleanup is an explicit step.
///
/// Cloning is cheap and clones share one list, so the caller can keep a clone while `issue`
/// runs. Cleanup runs in reverse order of setup, one at a time; an entry leaves the list only
/// when its cleanup has run (successfully or not), so a cleanup that is itself interrupted
/// is retried by the next call.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> acmebox_client::Result<()> {
/// let presented = acmebox_client::Presented::new();
/// assert!(presented.is_empty());
/// assert_eq!(presented.cleanup().await?, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Presented {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: Mutex<Vec<Entry>>,
    next_id: AtomicU64,
    /// Serialises cleanups, so two callers never clean up the same entry at once.
    cleaning: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Entry {
    id: u64,
    handler: SharedHandler,
    challenge: Challenge,
}

impl Presented {
    /// An empty list.
    pub fn new() -> Self {
        Presented::default()
    }

    /// How many challenges await cleanup.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True if nothing awaits cleanup.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The challenges awaiting cleanup, in setup order.
    pub fn challenges(&self) -> Vec<Challenge> {
        self.entries()
            .iter()
            .map(|entry| entry.challenge.clone())
            .collect()
    }

    /// Registers a challenge that is about to be set up with `handler`.
    pub fn register(&self, handler: SharedHandler, challenge: Challenge) {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.entries().push(Entry {
            id,
            handler,
            challenge,
        });
    }

    /// Cleans up every registered challenge, newest first, and returns how many cleanups ran.
    ///
    /// Every cleanup runs even if another fails; if any failed, the error is
    /// [`Error::Cleanup`] listing each failure.
    pub async fn cleanup(&self) -> Result<usize> {
        let (count, failures) = self.cleanup_all(|_, _| {}).await;
        if failures.is_empty() {
            return Ok(count);
        }
        Err(Error::Cleanup {
            original: None,
            failures,
        })
    }

    /// Cleans up the registered `challenge` now (for handlers that take one response at a
    /// time); `each` hears of it as in [`cleanup_all`](Self::cleanup_all). A failure is an
    /// [`Error::Cleanup`].
    pub(crate) async fn cleanup_one(
        &self,
        challenge: &Challenge,
        mut each: impl FnMut(&Challenge, bool),
    ) -> Result<()> {
        let _serial = self.inner.cleaning.lock().await;
        let Some(entry) = self
            .entries()
            .iter()
            .rev()
            .find(|entry| entry.challenge == *challenge)
            .cloned()
        else {
            return Ok(());
        };
        let result = entry.handler.cleanup(&entry.challenge).await;
        self.entries().retain(|other| other.id != entry.id);
        each(&entry.challenge, result.is_ok());
        result.map_err(|err| Error::Cleanup {
            original: None,
            failures: vec![Error::from(err)],
        })
    }

    /// Cleans up everything; how many cleanups ran and the errors of those that failed.
    /// `each` hears of every challenge after its cleanup, and whether it worked.
    pub(crate) async fn cleanup_all(
        &self,
        mut each: impl FnMut(&Challenge, bool),
    ) -> (usize, Vec<Error>) {
        let _serial = self.inner.cleaning.lock().await;
        let mut count = 0;
        let mut failures = Vec::new();
        loop {
            let Some(entry) = self.entries().last().cloned() else {
                break;
            };
            let result = entry.handler.cleanup(&entry.challenge).await;
            self.entries().retain(|other| other.id != entry.id);
            count += 1;
            each(&entry.challenge, result.is_ok());
            if let Err(err) = result {
                failures.push(Error::from(err));
            }
        }
        (count, failures)
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        // A panic while the lock is held cannot leave the list half-modified (every change is
        // a single push or retain), so a poisoned lock is still usable.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let entries = self
            .entries
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !entries.is_empty() {
            let names: Vec<String> = entries
                .iter()
                .map(|entry| format!("{} {}", entry.challenge.kind, entry.challenge.identifier))
                .collect();
            tracing::error!(
                challenges = %names.join(", "),
                "challenge responses were set up and never cleaned up; remove them by hand"
            );
        }
    }
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presented")
            .field("challenges", &self.challenges())
            .finish()
    }
}
