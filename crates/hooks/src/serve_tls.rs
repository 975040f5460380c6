//! TLS for `acmebox serve`: a certificate chain and key read from PEM files, served with
//! rustls (ring), and read again on request (the CLI does it on SIGHUP) without dropping a
//! connection. A reload that fails keeps the pair already served.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::{Error, Result};

/// The certificate and key files `serve` answers TLS with.
#[derive(Debug)]
pub struct ServeTls {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentKey>,
}

/// The pair served now, swapped whole by a reload.
#[derive(Debug)]
struct CurrentKey(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

impl ServeTls {
    /// Reads `cert_path` (the PEM chain, leaf first) and `key_path` (a PEM private key:
    /// PKCS#8, PKCS#1 or SEC1) and checks that the key is the certificate's.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = read_pair(cert_path, key_path, &provider)?;
        Ok(ServeTls {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: Arc::new(CurrentKey(RwLock::new(Arc::new(key)))),
        })
    }

    /// Reads both files again and serves the new pair to every later handshake. On an error
    /// nothing changes: the pair served before stays.
    pub fn reload(&self) -> Result<()> {
        let key = read_pair(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The rustls server configuration: TLS 1.2 and 1.3, HTTP/1.1 by ALPN, the current pair.
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(&self.cert_path, &e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read_pair(cert_path: &Path, key_path: &Path, provider: &CryptoProvider) -> Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            tls_error(
                cert_path,
                &format!("cannot read a PEM certificate chain: {e}"),
            )
        })?;
    if chain.is_empty() {
        return Err(tls_error(
            cert_path,
            "holds no `-----BEGIN CERTIFICATE-----` block; give the certificate chain, leaf first",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        tls_error(
            key_path,
            &format!("cannot read a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        )
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        tls_error(
            key_path,
            &format!(
                "does not go with the certificate in {}: {e}",
                cert_path.display()
            ),
        )
    })
}

fn tls_error(path: &Path, reason: &str) -> Error {
    Error::Tls {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        (cert_path, key_path)
    }

    fn served_leaf(tls: &ServeTls) -> Vec<u8> {
        tls.current.0.read().expect("lock").cert[0].to_vec()
    }

    #[test]
    fn a_pair_loads_and_a_reload_swaps_it_while_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = write_pair(dir.path(), "one.test");
        let tls = ServeTls::load(&cert, &key).expect("load");
        tls.server_config().expect("config");
        let first = served_leaf(&tls);

        write_pair(dir.path(), "two.test");
        tls.reload().expect("reload");
        let second = served_leaf(&tls);
        assert_ne!(first, second, "the reload serves the new certificate");

        std::fs::write(&key, "not a key").expect("break the key");
        let err = tls
            .reload()
            .expect_err("a broken key is refused")
            .to_string();
        assert!(err.contains("PEM private key"), "{err}");
        assert_eq!(served_leaf(&tls), second, "a failed reload keeps the pair");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, _) = write_pair(dir.path(), "one.test");
        let other = tempfile::tempdir().expect("tempdir");
        let (_, other_key) = write_pair(other.path(), "two.test");
        let err = ServeTls::load(&cert, &other_key)
            .expect_err("mismatched")
            .to_string();
        assert!(err.contains("does not go with the certificate"), "{err}");

        std::fs::write(&cert, "").expect("empty");
        let err = ServeTls::load(&cert, &other_key)
            .expect_err("empty")
            .to_string();
        assert!(err.contains("no `-----BEGIN CERTIFICATE-----`"), "{err}");
    }
}
