//! Retrying a read-modify-write round when the API says to try again.
//!
//! Where an API can only replace a whole TXT set, a provider reads the set, changes it and
//! writes it back. Two calls doing that at once (a domain and its wildcard share one name) can
//! collide: the API answers a conflict (409, 412 on a stale ETag) or, for some backends, a 5xx.
//! [`retrying`] runs the whole round again, from the read, with a growing, jittered pause, so a
//! retry never writes back a stale set and calls that collided once do not collide again in
//! step.

use std::time::Duration;

use crate::{ProviderError, log};

/// Rounds before an answer that asks for a retry is final.
pub const ATTEMPTS: u32 = 12;

/// The pause before the first retry; it doubles each time up to [`LONGEST_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_millis(25);

/// The longest pause between two rounds.
pub const LONGEST_PAUSE: Duration = Duration::from_millis(1000);

/// Whether `error` asks for the round to be run again: an API error with status 409
/// (conflict), 412 (precondition failed: the set changed since it was read) or 5xx.
pub fn is_retryable(error: &ProviderError) -> bool {
    matches!(error, ProviderError::ApiError(e) if e.status == 409 || e.status == 412 || e.status >= 500)
}

/// Runs `round` until it succeeds, fails with an error that is not [retryable](is_retryable),
/// or has run [`ATTEMPTS`] times. `what` names the API in the log lines of retries.
pub fn retrying<T>(
    what: &str,
    mut round: impl FnMut() -> Result<T, ProviderError>,
) -> Result<T, ProviderError> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match round() {
            Err(error) if attempt < ATTEMPTS && is_retryable(&error) => {
                let wait = jittered(pause);
                let status = error.status().unwrap_or(0);
                log::warn!(
                    "attempt {attempt} of {ATTEMPTS}: {what} answered {status}; retrying in {} ms",
                    wait.as_millis()
                );
                std::thread::sleep(wait);
                pause = (pause * 2).min(LONGEST_PAUSE);
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// A pause drawn uniformly from half to one and a half times `pause`.
fn jittered(pause: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    // A fresh RandomState is seeded from the host's random source.
    let permille = RandomState::new().hash_one(0_u8) % 1001;
    pause / 2 + pause * u32::try_from(permille).unwrap_or(500) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_and_server_errors_are_retried() {
        assert!(is_retryable(&ProviderError::api(409, "conflict")));
        assert!(is_retryable(&ProviderError::api(412, "etag")));
        assert!(is_retryable(&ProviderError::api(503, "busy")));
        assert!(!is_retryable(&ProviderError::api(400, "bad")));
        assert!(!is_retryable(&ProviderError::Unauthorized("no".into())));
    }

    #[test]
    fn jitter_stays_within_half_and_one_and_a_half() {
        for _ in 0..100 {
            let p = jittered(Duration::from_millis(100));
            assert!(p >= Duration::from_millis(50) && p <= Duration::from_millis(150));
        }
    }
}
