//! A built-in TLS-ALPN-01 responder (RFC 8737): a rustls server that answers `acme-tls/1`
//! handshakes with the challenge certificate chosen by SNI.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::http01_responder::DEFAULT_MAX_CONNECTIONS;
use crate::{Error, Result};
use acmebox_challenge::handlers::{self, ChallengeHandler, async_trait};
use acmebox_challenge::tls_alpn01::{
    ACME_TLS_ALPN_PROTOCOL, CertificateOptions, generate, sni_name,
};
use acmebox_challenge::{Challenge, ChallengeType, KeyAuthorization};

/// How long a client may take to complete the TLS handshake. Bounds idle connections.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers TLS-ALPN-01 validation handshakes on one address, for several identifiers at once.
///
/// `setup` generates the challenge certificate (RFC 8737 §3) and serves it for the
/// identifier's SNI name ([`sni_name`]); `cleanup` removes it. A handshake that does not offer
/// the `acme-tls/1` protocol, or names an unknown server, is refused: this server never
/// answers ordinary TLS. The server stops when the responder is dropped.
pub struct TlsAlpnResponder {
    local_addr: SocketAddr,
    certificates: Arc<Certificates>,
    options: CertificateOptions,
    task: JoinHandle<()>,
}

impl TlsAlpnResponder {
    /// Listens on `addr` (port 0 picks a free port) with the default certificate options.
    pub async fn bind(addr: SocketAddr) -> Result<Self> {
        TlsAlpnResponder::bind_with(addr, CertificateOptions::default()).await
    }

    /// Listens on `addr`, making certificates with `options`.
    pub async fn bind_with(addr: SocketAddr, options: CertificateOptions) -> Result<Self> {
        let listen_error = |error| Error::Listen {
            addr,
            challenge: ChallengeType::TlsAlpn01,
            error,
        };
        let listener = TcpListener::bind(addr).await.map_err(listen_error)?;
        let local_addr = listener.local_addr().map_err(listen_error)?;
        let certificates = Arc::new(Certificates::default());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| acmebox_challenge::Error::Certificate {
                reason: format!("the TLS-ALPN-01 responder's TLS configuration: {err}"),
            })?
            .with_no_client_auth()
            .with_cert_resolver(certificates.clone());
        config.alpn_protocols = vec![ACME_TLS_ALPN_PROTOCOL.to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let task = tokio::spawn(serve(listener, acceptor));
        Ok(TlsAlpnResponder {
            local_addr,
            certificates,
            options,
            task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many certificates are being served.
    pub fn len(&self) -> usize {
        self.certificates.read().len()
    }

    /// True if no certificate is being served.
    pub fn is_empty(&self) -> bool {
        self.certificates.read().is_empty()
    }
}

impl Drop for TlsAlpnResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for TlsAlpnResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAlpnResponder")
            .field("local_addr", &self.local_addr)
            .field("certificates", &self.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ChallengeHandler for TlsAlpnResponder {
    fn challenge_type(&self) -> ChallengeType {
        ChallengeType::TlsAlpn01
    }

    async fn setup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
        handlers::ensure_type("TLS-ALPN-01 responder", ChallengeType::TlsAlpn01, challenge)?;
        let identifier = challenge.identifier.clone();
        let key_authorization = challenge.key_authorization.clone();
        let options = self.options.clone();
        // Key generation (RSA above all) is CPU work: keep it off the async workers.
        let certified = tokio::task::spawn_blocking(move || {
            generate(&identifier, &key_authorization, &options)?.certified_key()
        })
        .await
        .map_err(|join| acmebox_challenge::Error::Certificate {
            reason: format!("generating the certificate did not finish: {join}"),
        })??;
        self.certificates.write().insert(
            sni_name(&challenge.identifier),
            (challenge.key_authorization.clone(), certified),
        );
        Ok(())
    }

    async fn cleanup(&self, challenge: &Challenge) -> acmebox_challenge::Result<()> {
        handlers::ensure_type("TLS-ALPN-01 responder", ChallengeType::TlsAlpn01, challenge)?;
        let name = sni_name(&challenge.identifier);
        let mut certificates = self.certificates.write();
        // Remove only what this challenge published.
        if certificates
            .get(&name)
            .is_some_and(|(ka, _)| *ka == challenge.key_authorization)
        {
            certificates.remove(&name);
        }
        Ok(())
    }
}

/// The certificates served, by SNI name, with the key authorization each was made for.
#[derive(Default)]
struct Certificates(RwLock<HashMap<String, (KeyAuthorization, Arc<CertifiedKey>)>>);

type CertificateMap = HashMap<String, (KeyAuthorization, Arc<CertifiedKey>)>;

impl Certificates {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, CertificateMap> {
        // Every change is a single insert or remove, so a poisoned map is still consistent.
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CertificateMap> {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.read().keys()).finish()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737 §3: the certificate is only for handshakes that offer acme-tls/1.
        let offers_acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN_PROTOCOL));
        if !offers_acme {
            return None;
        }
        let name = hello.server_name()?.to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name);
        self.read().get(name).map(|(_, key)| key.clone())
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor) {
    let slots = Arc::new(Semaphore::new(DEFAULT_MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "TLS-ALPN-01 responder: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "TLS-ALPN-01 responder: too many connections, closing one");
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(DEFAULT_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(mut tls)) => {
                    // The validation is the handshake itself; nothing more is served.
                    let _ = tokio::time::timeout(DEFAULT_HANDSHAKE_TIMEOUT, tls.shutdown()).await;
                }
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = %err, "TLS-ALPN-01 responder: handshake refused")
                }
                Err(_) => tracing::debug!(%peer, "TLS-ALPN-01 responder: handshake timed out"),
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use tokio::net::TcpStream;

    use super::*;
    use acmebox_challenge::Identifier;

    /// Accepts any certificate: the test checks the certificate itself.
    #[derive(Debug)]
    struct AcceptAny;

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    /// Handshakes with `name` offering `alpn`; the served certificate, or the error.
    async fn handshake(
        addr: SocketAddr,
        name: &str,
        alpn: &[u8],
    ) -> std::result::Result<Vec<u8>, std::io::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny))
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await?;
        let server_name = ServerName::try_from(name.to_owned()).unwrap();
        let tls = connector.connect(server_name, tcp).await?;
        let (_, conn) = tls.get_ref();
        assert_eq!(conn.alpn_protocol(), Some(ACME_TLS_ALPN_PROTOCOL));
        Ok(conn.peer_certificates().unwrap()[0].to_vec())
    }

    fn challenge(name: &str, token: &str) -> Challenge {
        let ka = KeyAuthorization::parse(&format!(
            "{token}.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        ))
        .unwrap();
        Challenge::new(
            ChallengeType::TlsAlpn01,
            Identifier::parse(name).unwrap(),
            ka,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn answers_acme_tls_by_sni_and_refuses_the_rest() {
        let responder = TlsAlpnResponder::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = responder.local_addr();
        let a = challenge(
            "a.example.test",
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
        );
        let b = challenge(
            "b.example.test",
            "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
        );
        responder.setup(&a).await.unwrap();
        responder.setup(&b).await.unwrap();
        assert_eq!(responder.len(), 2);

        let cert_a = handshake(addr, "a.example.test", ACME_TLS_ALPN_PROTOCOL)
            .await
            .unwrap();
        let cert_b = handshake(addr, "B.example.test", ACME_TLS_ALPN_PROTOCOL)
            .await
            .unwrap();
        assert_ne!(cert_a, cert_b);
        let text = String::from_utf8_lossy(&cert_a);
        assert!(text.contains("a.example.test"));

        assert!(
            handshake(addr, "a.example.test", b"http/1.1")
                .await
                .is_err()
        );
        assert!(
            handshake(addr, "c.example.test", ACME_TLS_ALPN_PROTOCOL)
                .await
                .is_err()
        );

        responder.cleanup(&a).await.unwrap();
        responder.cleanup(&a).await.unwrap();
        assert_eq!(responder.len(), 1);
        assert!(
            handshake(addr, "a.example.test", ACME_TLS_ALPN_PROTOCOL)
                .await
                .is_err()
        );
        responder.cleanup(&b).await.unwrap();
        assert!(responder.is_empty());
    }
}
