//! Handlers built from closures, for embedders that publish responses themselves (a DNS API
//! client, an in-process web server, a TLS acceptor).
//!
//! Each handler has a `new` taking plain closures and a `new_async` taking closures that
//! return futures. Closures return `Result<(), BoxError>`, so `?` works on any error type and
//! `Err("message".into())` on text. A failure, or a panic, becomes [`Error::Handler`] naming the
//! handler, the phase and the identifier.
//!
//! Plain closures run on the calling task: keep them quick, and use `new_async` (with
//! `tokio::task::spawn_blocking` inside if need be) for anything that waits on the network.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{ChallengeHandler, ensure_type};
use crate::dns01::Dns01Record;
use crate::tls_alpn01::{self, CertificateOptions, TlsAlpnCertificate};
use crate::{Challenge, ChallengeType, Identifier};
use crate::{Error, Phase, Result};

/// The error a callback returns: any error type converts into it with `?` or `.into()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A callback after normalisation: plain closures are wrapped into ready futures.
pub(crate) type Callback<T> = Arc<dyn Fn(T) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;

const DNS_HANDLER: &str = "dns-01 callback handler";
const HTTP_HANDLER: &str = "http-01 callback handler";
const TLS_ALPN_HANDLER: &str = "tls-alpn-01 callback handler";

/// A DNS-01 handler that calls closures with the [`Dns01Record`] to add and, on cleanup, the
/// same record to remove.
///
/// The apex and the wildcard of a domain share one record name (`_acme-challenge.<domain>.`)
/// with two values, so cleanup must remove exactly [`Dns01Record::value`] from the record set,
/// never the whole set.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};
/// use acmebox_challenge::handlers::{CallbackDnsHandler, ChallengeHandler};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> acmebox_challenge::Result<()> {
/// // Stands in for a DNS provider's API: (name, value) pairs.
/// let zone = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
/// let (add, remove) = (zone.clone(), zone.clone());
/// let handler = CallbackDnsHandler::new(
///     move |record| {
///         let entry = (record.fqdn().to_owned(), record.value().to_string());
///         add.lock().map_err(|_| "zone lock poisoned")?.push(entry);
///         Ok(())
///     },
///     move |record| {
///         let mut zone = remove.lock().map_err(|_| "zone lock poisoned")?;
///         zone.retain(|(name, value)| (name.as_str(), value.as_str()) != (record.fqdn(), record.value().as_str()));
///         Ok(())
///     },
/// );
///
/// let ka = KeyAuthorization::parse(
///     "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
/// )?;
/// let challenge = Challenge::new(ChallengeType::Dns01, Identifier::parse("example.com")?, ka)?;
/// handler.setup(&challenge).await?;
/// assert_eq!(zone.lock().unwrap()[0].0, "_acme-challenge.example.com.");
/// handler.cleanup(&challenge).await?;
/// assert!(zone.lock().unwrap().is_empty());
/// # Ok(())
/// # }
/// ```
pub struct CallbackDnsHandler {
    setup: Callback<Dns01Record>,
    cleanup: Callback<Dns01Record>,
    propagation_delay: Duration,
}

impl CallbackDnsHandler {
    /// A handler from two plain closures: add the record, remove the record.
    pub fn new<S, C>(setup: S, cleanup: C) -> Self
    where
        S: Fn(&Dns01Record) -> Result<(), BoxError> + Send + Sync + 'static,
        C: Fn(&Dns01Record) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        CallbackDnsHandler {
            setup: sync_callback(setup),
            cleanup: sync_callback(cleanup),
            propagation_delay: Duration::ZERO,
        }
    }

    /// A handler from two closures returning futures.
    pub fn new_async<S, SF, C, CF>(setup: S, cleanup: C) -> Self
    where
        S: Fn(Dns01Record) -> SF + Send + Sync + 'static,
        SF: Future<Output = Result<(), BoxError>> + Send + 'static,
        C: Fn(Dns01Record) -> CF + Send + Sync + 'static,
        CF: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        CallbackDnsHandler {
            setup: async_callback(setup),
            cleanup: async_callback(cleanup),
            propagation_delay: Duration::ZERO,
        }
    }

    /// Sets the delay reported by [`ChallengeHandler::propagation_delay`] (zero by default).
    pub fn with_propagation_delay(mut self, delay: Duration) -> Self {
        self.propagation_delay = delay;
        self
    }
}

#[async_trait::async_trait]
impl ChallengeHandler for CallbackDnsHandler {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::Dns01
    }

    async fn setup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(DNS_HANDLER, ChallengeType::Dns01, challenge)?;
        let record = challenge.dns01_record()?;
        call(&self.setup, record, DNS_HANDLER, Phase::Setup, challenge).await
    }

    async fn cleanup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(DNS_HANDLER, ChallengeType::Dns01, challenge)?;
        let record = challenge.dns01_record()?;
        call(
            &self.cleanup,
            record,
            DNS_HANDLER,
            Phase::Cleanup,
            challenge,
        )
        .await
    }

    fn propagation_delay(&self) -> Duration {
        self.propagation_delay
    }
}

impl fmt::Debug for CallbackDnsHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackDnsHandler")
            .field("propagation_delay", &self.propagation_delay)
            .finish_non_exhaustive()
    }
}

/// An HTTP-01 handler that calls closures with the [`Challenge`]: serve
/// `challenge.key_authorization.as_str()` at
/// [`http01::path(&challenge.token)`](crate::http01::path), then stop serving it.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
///
/// use acmebox_challenge::http01;
/// use acmebox_challenge::handlers::CallbackHttpHandler;
///
/// let routes = Arc::new(Mutex::new(HashMap::<String, String>::new()));
/// let (add, remove) = (routes.clone(), routes.clone());
/// let handler = CallbackHttpHandler::new_async(
///     move |challenge| {
///         let add = add.clone();
///         async move {
///             let path = http01::path(&challenge.token);
///             let body = challenge.key_authorization.as_str().to_owned();
///             add.lock().map_err(|_| "routes lock poisoned")?.insert(path, body);
///             Ok(())
///         }
///     },
///     move |challenge| {
///         let remove = remove.clone();
///         async move {
///             remove.lock().map_err(|_| "routes lock poisoned")?.remove(&http01::path(&challenge.token));
///             Ok(())
///         }
///     },
/// );
/// # let _ = handler;
/// ```
pub struct CallbackHttpHandler {
    setup: Callback<Challenge>,
    cleanup: Callback<Challenge>,
}

impl CallbackHttpHandler {
    /// A handler from two plain closures: start serving, stop serving.
    pub fn new<S, C>(setup: S, cleanup: C) -> Self
    where
        S: Fn(&Challenge) -> Result<(), BoxError> + Send + Sync + 'static,
        C: Fn(&Challenge) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        CallbackHttpHandler {
            setup: sync_callback(setup),
            cleanup: sync_callback(cleanup),
        }
    }

    /// A handler from two closures returning futures.
    pub fn new_async<S, SF, C, CF>(setup: S, cleanup: C) -> Self
    where
        S: Fn(Challenge) -> SF + Send + Sync + 'static,
        SF: Future<Output = Result<(), BoxError>> + Send + 'static,
        C: Fn(Challenge) -> CF + Send + Sync + 'static,
        CF: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        CallbackHttpHandler {
            setup: async_callback(setup),
            cleanup: async_callback(cleanup),
        }
    }
}

#[async_trait::async_trait]
impl ChallengeHandler for CallbackHttpHandler {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::Http01
    }

    async fn setup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(HTTP_HANDLER, ChallengeType::Http01, challenge)?;
        let owned = challenge.clone();
        call(&self.setup, owned, HTTP_HANDLER, Phase::Setup, challenge).await
    }

    async fn cleanup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(HTTP_HANDLER, ChallengeType::Http01, challenge)?;
        let owned = challenge.clone();
        call(
            &self.cleanup,
            owned,
            HTTP_HANDLER,
            Phase::Cleanup,
            challenge,
        )
        .await
    }
}

impl fmt::Debug for CallbackHttpHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHttpHandler")
            .finish_non_exhaustive()
    }
}

/// A TLS-ALPN-01 handler that generates the validation certificate (RFC 8737 §3) and calls a
/// closure with it; on cleanup, a closure with the identifier whose certificate to drop.
///
/// ```
/// use acmebox_challenge::handlers::CallbackTlsAlpnHandler;
///
/// let handler = CallbackTlsAlpnHandler::new(
///     |certificate| {
///         // Hand certificate.cert_der() and certificate.key_der() to the TLS acceptor,
///         // served for `acme-tls/1` connections to certificate.identifier().
///         let _ = (certificate.cert_der(), certificate.key_der(), certificate.identifier());
///         Ok(())
///     },
///     |identifier| {
///         let _ = identifier; // stop serving it
///         Ok(())
///     },
/// );
/// # let _ = handler;
/// ```
pub struct CallbackTlsAlpnHandler {
    setup: Callback<TlsAlpnCertificate>,
    cleanup: Callback<Identifier>,
    options: Arc<CertificateOptions>,
}

impl CallbackTlsAlpnHandler {
    /// A handler from two plain closures: serve the certificate, stop serving it.
    pub fn new<S, C>(setup: S, cleanup: C) -> Self
    where
        S: Fn(&TlsAlpnCertificate) -> Result<(), BoxError> + Send + Sync + 'static,
        C: Fn(&Identifier) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        CallbackTlsAlpnHandler {
            setup: sync_callback(setup),
            cleanup: sync_callback(cleanup),
            options: Arc::new(CertificateOptions::default()),
        }
    }

    /// A handler from two closures returning futures.
    pub fn new_async<S, SF, C, CF>(setup: S, cleanup: C) -> Self
    where
        S: Fn(TlsAlpnCertificate) -> SF + Send + Sync + 'static,
        SF: Future<Output = Result<(), BoxError>> + Send + 'static,
        C: Fn(Identifier) -> CF + Send + Sync + 'static,
        CF: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        CallbackTlsAlpnHandler {
            setup: async_callback(setup),
            cleanup: async_callback(cleanup),
            options: Arc::new(CertificateOptions::default()),
        }
    }

    /// How certificates are generated (key type, a fixed key, validity); a fresh P-256 key by
    /// default.
    pub fn certificate_options(mut self, options: CertificateOptions) -> Self {
        self.options = Arc::new(options);
        self
    }
}

#[async_trait::async_trait]
impl ChallengeHandler for CallbackTlsAlpnHandler {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::TlsAlpn01
    }

    async fn setup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(TLS_ALPN_HANDLER, ChallengeType::TlsAlpn01, challenge)?;
        let certificate = generate(challenge, &self.options).await?;
        call(
            &self.setup,
            certificate,
            TLS_ALPN_HANDLER,
            Phase::Setup,
            challenge,
        )
        .await
    }

    async fn cleanup(&self, challenge: &Challenge) -> Result<()> {
        ensure_type(TLS_ALPN_HANDLER, ChallengeType::TlsAlpn01, challenge)?;
        let identifier = challenge.identifier.clone();
        call(
            &self.cleanup,
            identifier,
            TLS_ALPN_HANDLER,
            Phase::Cleanup,
            challenge,
        )
        .await
    }
}

impl fmt::Debug for CallbackTlsAlpnHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackTlsAlpnHandler")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Generates the TLS-ALPN-01 certificate for `challenge` off the async executor (an RSA key
/// takes a while).
pub(crate) async fn generate(
    challenge: &Challenge,
    options: &Arc<CertificateOptions>,
) -> Result<TlsAlpnCertificate> {
    let identifier = challenge.identifier.clone();
    let key_authorization = challenge.key_authorization.clone();
    let options = Arc::clone(options);
    let work = move || tls_alpn01::generate(&identifier, &key_authorization, &options);
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => Err(Error::Certificate {
            reason: format!("certificate generation did not finish: {join}"),
        }),
    }
}

pub(crate) fn sync_callback<T, F>(f: F) -> Callback<T>
where
    T: Send + 'static,
    F: Fn(&T) -> Result<(), BoxError> + Send + Sync + 'static,
{
    Arc::new(move |value: T| -> BoxFuture<Result<(), BoxError>> {
        Box::pin(std::future::ready(f(&value)))
    })
}

pub(crate) fn async_callback<T, F, Fut>(f: F) -> Callback<T>
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    Arc::new(move |value: T| -> BoxFuture<Result<(), BoxError>> { Box::pin(f(value)) })
}

/// Calls `callback` and maps its failure or panic to [`Error::Handler`].
async fn call<T>(
    callback: &Callback<T>,
    value: T,
    handler: &'static str,
    phase: Phase,
    challenge: &Challenge,
) -> Result<()> {
    run_caught(callback, value)
        .await
        .map_err(|message| Error::Handler {
            handler,
            phase,
            identifier: challenge.identifier.to_string(),
            message,
        })
}

/// Runs a callback to completion, turning an error or a panic (in the closure or in its
/// future) into a message: a user's bug must not unwind through the caller's cleanup loop.
pub(crate) async fn run_caught<T>(callback: &Callback<T>, value: T) -> Result<(), String> {
    let future = std::panic::catch_unwind(AssertUnwindSafe(|| callback(value)))
        .map_err(|payload| panic_message(payload.as_ref()))?;
    match (CatchPanic { future }).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(describe(err.as_ref())),
        Err(panic) => Err(panic),
    }
}

/// The message of an error followed by its sources, `outer: inner: root`.
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-text panic payload");
    format!("the callback panicked: {text}")
}

/// Polls a boxed future, catching a panic in any poll.
struct CatchPanic<T> {
    future: BoxFuture<T>,
}

impl<T> Future for CatchPanic<T> {
    type Output = Result<T, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.future;
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::KeyAuthorization;

    const THUMB: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    const TOKEN_A: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    const TOKEN_B: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

    fn challenge(kind: ChallengeType, identifier: &str, token: &str) -> Challenge {
        let ka = KeyAuthorization::parse(&format!("{token}.{THUMB}")).unwrap();
        Challenge::new(kind, Identifier::parse(identifier).unwrap(), ka).unwrap()
    }

    type RrSet = Arc<Mutex<Vec<(String, String)>>>;

    fn rrset_handler(rrset: &RrSet) -> CallbackDnsHandler {
        let (add, remove) = (rrset.clone(), rrset.clone());
        CallbackDnsHandler::new(
            move |record| {
                let entry = (record.fqdn().to_owned(), record.value().to_string());
                add.lock().unwrap().push(entry);
                Ok(())
            },
            move |record| {
                let mut rrset = remove.lock().unwrap();
                let value = record.value().to_string();
                rrset.retain(|(name, v)| !(name == record.fqdn() && *v == value));
                Ok(())
            },
        )
    }

    #[tokio::test]
    async fn apex_and_wildcard_share_a_name_and_cleanup_removes_one_value() {
        let rrset = RrSet::default();
        let handler = rrset_handler(&rrset);
        let apex = challenge(ChallengeType::Dns01, "example.test", TOKEN_A);
        let wild = challenge(ChallengeType::Dns01, "*.example.test", TOKEN_B);
        handler.setup(&apex).await.unwrap();
        handler.setup(&wild).await.unwrap();
        let apex_value = apex.dns01_record().unwrap().value().to_string();
        let wild_value = wild.dns01_record().unwrap().value().to_string();
        assert_ne!(apex_value, wild_value);
        let name = "_acme-challenge.example.test.".to_owned();
        assert_eq!(
            *rrset.lock().unwrap(),
            vec![
                (name.clone(), apex_value.clone()),
                (name.clone(), wild_value)
            ]
        );

        handler.cleanup(&wild).await.unwrap();
        assert_eq!(*rrset.lock().unwrap(), vec![(name, apex_value)]);
        handler.cleanup(&wild).await.unwrap(); // idempotent
        handler.cleanup(&apex).await.unwrap();
        assert!(rrset.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn async_dns_callbacks_get_the_record() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (seen.clone(), seen.clone());
        let handler = CallbackDnsHandler::new_async(
            move |record: Dns01Record| {
                let s = s.clone();
                async move {
                    tokio::task::yield_now().await;
                    s.lock().unwrap().push(("setup", record));
                    Ok(())
                }
            },
            move |record: Dns01Record| {
                let c = c.clone();
                async move {
                    c.lock().unwrap().push(("cleanup", record));
                    Ok(())
                }
            },
        )
        .with_propagation_delay(Duration::from_secs(30));
        assert_eq!(handler.propagation_delay(), Duration::from_secs(30));
        let wild = challenge(ChallengeType::Dns01, "*.example.test", TOKEN_A);
        handler.setup(&wild).await.unwrap();
        handler.cleanup(&wild).await.unwrap();
        let seen = seen.lock().unwrap();
        let record = wild.dns01_record().unwrap();
        assert_eq!(
            *seen,
            vec![("setup", record.clone()), ("cleanup", record.clone())]
        );
        assert!(record.is_wildcard());
        assert_eq!(record.domain(), "example.test");
    }

    #[tokio::test]
    async fn http_callbacks_get_the_challenge_sync_and_async() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (seen.clone(), seen.clone());
        let sync = CallbackHttpHandler::new(
            move |ch| {
                s.lock().unwrap().push((
                    Phase::Setup,
                    ch.identifier.to_string(),
                    ch.token.to_string(),
                    ch.key_authorization.as_str().to_owned(),
                ));
                Ok(())
            },
            move |ch| {
                c.lock().unwrap().push((
                    Phase::Cleanup,
                    ch.identifier.to_string(),
                    ch.token.to_string(),
                    ch.key_authorization.as_str().to_owned(),
                ));
                Ok(())
            },
        );
        let (s, c) = (seen.clone(), seen.clone());
        let asynchronous = CallbackHttpHandler::new_async(
            move |ch: Challenge| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push((
                        Phase::Setup,
                        ch.identifier.to_string(),
                        ch.token.to_string(),
                        ch.key_authorization.as_str().to_owned(),
                    ));
                    Ok(())
                }
            },
            move |ch: Challenge| {
                let c = c.clone();
                async move {
                    c.lock().unwrap().push((
                        Phase::Cleanup,
                        ch.identifier.to_string(),
                        ch.token.to_string(),
                        ch.key_authorization.as_str().to_owned(),
                    ));
                    Ok(())
                }
            },
        );
        let ch = challenge(ChallengeType::Http01, "192.0.2.1", TOKEN_A);
        for handler in [&sync as &dyn ChallengeHandler, &asynchronous] {
            handler.setup(&ch).await.unwrap();
            handler.cleanup(&ch).await.unwrap();
        }
        let ka = format!("{TOKEN_A}.{THUMB}");
        let one = |phase| (phase, "192.0.2.1".into(), TOKEN_A.into(), ka.clone());
        let want = [one(Phase::Setup), one(Phase::Cleanup)];
        let seen = seen.lock().unwrap();
        assert_eq!(seen[..2], want[..]);
        assert_eq!(seen[2..], want[..]);
    }

    #[tokio::test]
    async fn errors_become_handler_errors_with_phase_and_identifier() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("provider API call failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let handler = CallbackDnsHandler::new(
            |_| Err(Outer(std::io::Error::other("connection refused")).into()),
            |_| Err("record not found".into()),
        );
        let ch = challenge(ChallengeType::Dns01, "*.example.test", TOKEN_A);
        match handler.setup(&ch).await.unwrap_err() {
            Error::Handler {
                handler,
                phase,
                identifier,
                message,
            } => {
                assert_eq!(handler, DNS_HANDLER);
                assert_eq!(phase, Phase::Setup);
                assert_eq!(identifier, "*.example.test");
                assert_eq!(message, "provider API call failed: connection refused");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = handler.cleanup(&ch).await.unwrap_err();
        assert!(
            matches!(&err, Error::Handler { phase: Phase::Cleanup, message, .. } if message == "record not found"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "dns-01 callback handler cleanup for *.example.test: record not found"
        );
    }

    #[tokio::test]
    async fn panics_become_handler_errors() {
        let handler = CallbackHttpHandler::new_async(
            |_: Challenge| async { panic!("bug in setup") },
            |_: Challenge| -> BoxFuture<Result<(), BoxError>> { panic!("bug in cleanup") },
        );
        let ch = challenge(ChallengeType::Http01, "example.test", TOKEN_A);
        let err = handler.setup(&ch).await.unwrap_err();
        assert!(err.to_string().contains("panicked: bug in setup"), "{err}");
        let err = handler.cleanup(&ch).await.unwrap_err();
        assert!(
            matches!(&err, Error::Handler { phase: Phase::Cleanup, message, .. } if message.contains("bug in cleanup")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn wrong_challenge_type_is_refused_before_any_callback() {
        let called = Arc::new(Mutex::new(0));
        let (a, b) = (called.clone(), called.clone());
        let dns = CallbackDnsHandler::new(
            move |_| {
                *a.lock().unwrap() += 1;
                Ok(())
            },
            move |_| {
                *b.lock().unwrap() += 1;
                Ok(())
            },
        );
        let http = challenge(ChallengeType::Http01, "example.test", TOKEN_A);
        for result in [dns.setup(&http).await, dns.cleanup(&http).await] {
            match result.unwrap_err() {
                Error::WrongChallengeType {
                    expected, actual, ..
                } => {
                    assert_eq!(
                        (expected, actual),
                        (ChallengeType::Dns01, ChallengeType::Http01)
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let tls = CallbackTlsAlpnHandler::new(|_| Ok(()), |_| Ok(()));
        let err = tls.setup(&http).await.unwrap_err();
        assert!(
            err.to_string().contains("route http-01 challenges"),
            "{err}"
        );
        let http_handler = CallbackHttpHandler::new(|_| Ok(()), |_| Ok(()));
        let dns_ch = challenge(ChallengeType::Dns01, "example.test", TOKEN_A);
        assert!(http_handler.setup(&dns_ch).await.is_err());
        assert_eq!(*called.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn tls_alpn_callbacks_get_the_certificate_and_the_identifier() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (seen.clone(), seen.clone());
        let handler = CallbackTlsAlpnHandler::new(
            move |cert| {
                assert!(cert.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
                assert!(!cert.key_der().is_empty());
                s.lock().unwrap().push(cert.identifier().to_string());
                Ok(())
            },
            move |identifier| {
                c.lock().unwrap().push(format!("cleanup {identifier}"));
                Ok(())
            },
        );
        let ch = challenge(ChallengeType::TlsAlpn01, "example.test", TOKEN_A);
        handler.setup(&ch).await.unwrap();
        handler.cleanup(&ch).await.unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["example.test".to_owned(), "cleanup example.test".to_owned()]
        );

        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (seen.clone(), seen.clone());
        let handler = CallbackTlsAlpnHandler::new_async(
            move |cert: TlsAlpnCertificate| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push(cert.identifier().to_string());
                    Ok(())
                }
            },
            move |identifier: Identifier| {
                let c = c.clone();
                async move {
                    c.lock().unwrap().push(identifier.to_string());
                    Err("server gone".into())
                }
            },
        );
        let ch = challenge(ChallengeType::TlsAlpn01, "2001:db8::1", TOKEN_B);
        handler.setup(&ch).await.unwrap();
        let err = handler.cleanup(&ch).await.unwrap_err();
        assert!(
            matches!(&err, Error::Handler { phase: Phase::Cleanup, identifier, .. } if identifier == "2001:db8::1"),
            "{err:?}"
        );
        assert_eq!(*seen.lock().unwrap(), vec!["2001:db8::1", "2001:db8::1"]);
    }
}
