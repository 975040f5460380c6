//! The ACME account (RFC 8555 §7.3): created once, stored in a 0600 file, reused afterwards;
//! and the HTTPS client that reaches the server.

use std::future::Future;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{AccountCredentials, BodyWrapper, BytesResponse, HttpClient, NewAccount};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::{Deserialize, Serialize};

use super::issue::acme_error;
use crate::{Error, Result};
use acmebox_challenge::IoError;
use acmebox_challenge::handlers::write_file_atomic;

/// How long one HTTPS request to the ACME server may take, connection included. Bounds a run
/// against a server that accepts connections and never answers.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long establishing the TCP connection to the ACME server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest account file read. Real ones are under 1 KiB.
const MAX_ACCOUNT_FILE: u64 = 64 * 1024;

/// Where to find the ACME server, how to trust it, and where the account is kept.
#[derive(Debug, Clone)]
pub struct AccountOptions {
    directory: String,
    account_file: PathBuf,
    ca_cert: Option<PathBuf>,
    system_roots: Option<bool>,
    contact: Vec<String>,
    request_timeout: Duration,
    external_account: Option<ExternalAccountBinding>,
    terms_agreed: bool,
}

/// Why a certificate is revoked: the CRL reason codes ACME CAs accept (RFC 5280 §5.3.1; Let's
/// Encrypt takes these five).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// 1: the certificate's private key was exposed.
    KeyCompromise,
    /// 3: the names or the organisation changed.
    AffiliationChanged,
    /// 4: a new certificate replaces it.
    Superseded,
    /// 5: the names are no longer in use.
    CessationOfOperation,
    /// 9: the CA no longer allows the names to this subscriber.
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// The CRL reason code (RFC 5280 §5.3.1) the request carries.
    pub(crate) fn code(self) -> u8 {
        match self {
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::PrivilegeWithdrawn => 9,
        }
    }

    fn to_acme(self) -> instant_acme::RevocationReason {
        match self {
            RevocationReason::KeyCompromise => instant_acme::RevocationReason::KeyCompromise,
            RevocationReason::AffiliationChanged => {
                instant_acme::RevocationReason::AffiliationChanged
            }
            RevocationReason::Superseded => instant_acme::RevocationReason::Superseded,
            RevocationReason::CessationOfOperation => {
                instant_acme::RevocationReason::CessationOfOperation
            }
            RevocationReason::PrivilegeWithdrawn => {
                instant_acme::RevocationReason::PrivilegeWithdrawn
            }
        }
    }
}

impl std::str::FromStr for RevocationReason {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "keyCompromise" | "key-compromise" => RevocationReason::KeyCompromise,
            "affiliationChanged" | "affiliation-changed" => RevocationReason::AffiliationChanged,
            "superseded" => RevocationReason::Superseded,
            "cessationOfOperation" | "cessation-of-operation" => {
                RevocationReason::CessationOfOperation
            }
            "privilegeWithdrawn" | "privilege-withdrawn" => RevocationReason::PrivilegeWithdrawn,
            other => {
                return Err(format!(
                    "{} is not a revocation reason; use keyCompromise, superseded, \
                     affiliationChanged, cessationOfOperation or privilegeWithdrawn",
                    acmebox_challenge::echoed(other)
                ));
            }
        })
    }
}

/// An External Account Binding (RFC 8555 §7.3.4): the key id and MAC key a CA that requires
/// one (ZeroSSL, Google Trust Services, most commercial CAs) hands out to tie a new ACME
/// account to an account with the CA. Used only when an account is registered. Its `Debug`
/// hides the key.
#[derive(Clone)]
pub struct ExternalAccountBinding {
    kid: String,
    hmac_key: Vec<u8>,
}

impl std::fmt::Debug for ExternalAccountBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalAccountBinding")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ExternalAccountBinding {
    /// The binding of key id `kid` with the MAC key `hmac_key`, base64url-encoded as CAs
    /// give it (padding and surrounding whitespace are accepted).
    pub fn new(kid: impl Into<String>, hmac_key: &str) -> Result<Self> {
        use base64::Engine as _;
        let kid = kid.into();
        let fail = |reason: String| Error::ExternalAccountBinding {
            kid: acmebox_challenge::echoed(&kid).into_owned(),
            reason,
        };
        if kid.trim().is_empty() {
            return Err(fail(
                "the key id is empty; give the one the CA shows with the key".into(),
            ));
        }
        let text = hmac_key.trim().trim_end_matches('=');
        let hmac_key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|err| {
                fail(format!(
                    "the MAC key is not base64url ({err}); give it exactly as the CA shows it"
                ))
            })?;
        if hmac_key.len() < 16 {
            return Err(fail(format!(
                "the MAC key is {} bytes long; CAs give keys of 32 bytes or more, so check that \
                 it was copied whole",
                hmac_key.len()
            )));
        }
        Ok(ExternalAccountBinding { kid, hmac_key })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

impl AccountOptions {
    /// The server at `directory` (an `https://` ACME directory URL), with the account kept in
    /// `account_file`. Without a CA certificate, the system's trust anchors are used.
    pub fn new(directory: impl Into<String>, account_file: impl Into<PathBuf>) -> Self {
        AccountOptions {
            directory: directory.into(),
            account_file: account_file.into(),
            ca_cert: None,
            system_roots: None,
            contact: Vec::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            external_account: None,
            terms_agreed: false,
        }
    }

    /// Agrees to the CA's terms of service when an account is registered. Without it, a CA
    /// that has terms (its directory's `meta.termsOfService`) refuses to register one:
    /// [`Error::TermsOfService`] names the terms to read.
    pub fn with_terms_of_service_agreed(mut self, agreed: bool) -> Self {
        self.terms_agreed = agreed;
        self
    }

    /// Binds a newly registered account to the CA account of `binding` (a CA that requires
    /// External Account Binding refuses to register one without). An account already in the
    /// account file is used as it is.
    pub fn with_external_account_binding(mut self, binding: ExternalAccountBinding) -> Self {
        self.external_account = Some(binding);
        self
    }

    /// Trusts the CA certificates in this PEM file for the server's HTTPS. The system's
    /// trust anchors are then not used unless [`with_system_roots`](Self::with_system_roots)
    /// says so.
    pub fn with_ca_cert(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.ca_cert = Some(pem_file.into());
        self
    }

    /// Whether to trust the system's anchors too (the default is: only without a CA file).
    pub fn with_system_roots(mut self, system_roots: bool) -> Self {
        self.system_roots = Some(system_roots);
        self
    }

    /// A contact e-mail address for a new account (`mailto:` is added).
    pub fn with_email(mut self, email: &str) -> Self {
        let email = email.strip_prefix("mailto:").unwrap_or(email);
        self.contact.push(format!("mailto:{email}"));
        self
    }

    /// How long one request may take ([`DEFAULT_REQUEST_TIMEOUT`] unless set).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The directory URL.
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The account file.
    pub fn account_file(&self) -> &Path {
        &self.account_file
    }
}

/// An ACME account on one server, ready to issue certificates; see
/// [`Account::issue`](Self::issue). Cheap to clone.
#[derive(Clone)]
pub struct Account {
    pub(super) inner: instant_acme::Account,
    pub(super) directory: String,
    pub(super) file: PathBuf,
    created: bool,
    terms_of_service: Option<String>,
}

impl Account {
    /// Revokes the certificate in the PEM text `cert_pem` (its first certificate), signed by
    /// this account (RFC 8555 §7.6), for `reason` (a CRL reason code, RFC 5280 §5.3.1:
    /// `keyCompromise`, `superseded`, ...; none for unspecified).
    pub async fn revoke(&self, cert_pem: &str, reason: Option<RevocationReason>) -> Result<()> {
        let der = certificate_der(cert_pem)?;
        let request = instant_acme::RevocationRequest {
            certificate: &der,
            reason: reason.map(RevocationReason::to_acme),
        };
        self.inner
            .revoke(&request)
            .await
            .map_err(|err| acme_error(&self.directory, "revoke the certificate", err))
    }

    /// The certificate profiles the CA offers (its directory's `meta.profiles`): name and
    /// description, sorted by name; empty when it offers none.
    pub fn profiles(&self) -> Vec<(String, String)> {
        let mut profiles: Vec<(String, String)> = self
            .inner
            .profiles()
            .map(|p| (p.name.to_owned(), p.description.to_owned()))
            .collect();
        profiles.sort();
        profiles
    }

    /// Loads the account from its file, or registers a new one (agreeing to the server's terms
    /// of service) and saves it with mode 0600.
    ///
    /// A file made for another directory URL is refused rather than overwritten: it holds
    /// another account's key.
    pub async fn load_or_create(options: &AccountOptions) -> Result<Account> {
        let directory = options.directory.clone();
        if !directory.starts_with("https://") {
            return Err(Error::Acme {
                directory,
                action: "use the directory URL",
                problem_type: None,
                detail: "it is not an https:// URL".into(),
                hint: Some("ACME runs over HTTPS only (RFC 8555 §6.1)".into()),
            });
        }
        let http = http_client(options)?;
        let path = &options.account_file;
        if let Some(stored) = read_account_file(path)? {
            if stored.directory != directory {
                return Err(Error::AccountFile {
                    path: path.clone(),
                    reason: format!(
                        "it holds an account on {}, not on {directory}; use another account file for this server",
                        stored.directory
                    ),
                });
            }
            let inner = instant_acme::Account::builder_with_http(http)
                .from_credentials(stored.credentials)
                .await
                .map_err(|err| acme_error(&directory, "fetch the directory", err))?;
            return Ok(Account {
                inner,
                directory,
                file: path.clone(),
                created: false,
                terms_of_service: None,
            });
        }

        let terms_of_service = terms_of_service(options).await?;
        if let (Some(terms), false) = (&terms_of_service, options.terms_agreed) {
            return Err(Error::TermsOfService {
                directory,
                terms: terms.clone(),
            });
        }
        let contact: Vec<&str> = options.contact.iter().map(String::as_str).collect();
        let new_account = NewAccount {
            contact: &contact,
            terms_of_service_agreed: true,
            only_return_existing: false,
        };
        let external_account = options
            .external_account
            .as_ref()
            .map(|b| instant_acme::ExternalAccountKey::new(b.kid.clone(), &b.hmac_key));
        let (inner, credentials) = instant_acme::Account::builder_with_http(http)
            .create(&new_account, directory.clone(), external_account.as_ref())
            .await
            .map_err(|err| acme_error(&directory, "register an account", err))?;
        write_account_file(
            path,
            &StoredAccount {
                directory: directory.clone(),
                credentials,
            },
        )?;
        Ok(Account {
            inner,
            directory,
            file: path.clone(),
            created: true,
            terms_of_service,
        })
    }

    /// The account URL on the server.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The directory URL.
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The file the account is kept in.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The terms of service agreed to when the account was registered just now.
    pub fn terms_of_service(&self) -> Option<&str> {
        self.terms_of_service.as_deref()
    }

    /// True if [`load_or_create`](Self::load_or_create) registered the account just now.
    pub fn created(&self) -> bool {
        self.created
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id())
            .field("directory", &self.directory)
            .field("file", &self.file)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// The default account file for a directory URL: one file per server under
/// `$XDG_STATE_HOME/acmebox/accounts/` (or `~/.local/state/acmebox/accounts/`), named after the
/// server's host and a hash of the URL. `None` if neither variable is set.
pub fn default_account_file(directory: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    let host: String = directory
        .split_once("://")
        .map_or(directory, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let digest = ring::digest::digest(&ring::digest::SHA256, directory.as_bytes());
    let hash: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(
        base.join("acmebox/accounts")
            .join(format!("{host}-{hash}.json")),
    )
}

/// The account file's content: the credentials and the directory they belong to.
#[derive(Serialize, Deserialize)]
struct StoredAccount {
    directory: String,
    credentials: AccountCredentials,
}

fn read_account_file(path: &Path) -> Result<Option<StoredAccount>> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(IoError::new("read", path, err).into()),
    };
    let fail = |reason: String| Error::AccountFile {
        path: path.to_owned(),
        reason,
    };
    if !metadata.is_file() {
        return Err(fail("it is not a regular file".into()));
    }
    if metadata.len() > MAX_ACCOUNT_FILE {
        return Err(fail(format!(
            "it is larger than {MAX_ACCOUNT_FILE} bytes, so it is not an account file"
        )));
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(fail(
            "it holds the account's private key and others can read it; run `chmod 600` on it"
                .into(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|err| IoError::new("read", path, err))?;
    if let Some(label) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(acmebox_challenge::pem_label)
    {
        return Err(fail(format!(
            "it is PEM ({label}), but an acmebox account file is JSON holding the CA's directory \
             URL, the account URL and its key, written by acmebox when it registers an account; \
             give --account a path that does not exist yet to register a new account there"
        )));
    }
    let stored = serde_json::from_slice(&bytes).map_err(|err| {
        fail(format!(
            "it is not an acmebox account file ({err}); move it away to register a new account"
        ))
    })?;
    Ok(Some(stored))
}

fn write_account_file(path: &Path, stored: &StoredAccount) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|err| IoError::new("create directory", parent, err))?;
    }
    let json = serde_json::to_vec_pretty(stored).map_err(|err| Error::AccountFile {
        path: path.to_owned(),
        reason: format!("cannot serialise the credentials: {err}"),
    })?;
    Ok(write_file_atomic(path, &json, 0o600)?)
}

/// The DER of the first certificate in `cert_pem`.
pub(crate) fn certificate_der(cert_pem: &str) -> Result<CertificateDer<'static>> {
    let (_, block) =
        x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|err| Error::Revocation {
            reason: format!("the certificate file is not PEM ({err}); give cert.pem"),
        })?;
    Ok(CertificateDer::from(block.contents))
}

/// The terms of service the directory names (`meta.termsOfService`), if any.
async fn terms_of_service(options: &AccountOptions) -> Result<Option<String>> {
    let http = http_client(options)?;
    let json = fetch_directory(http.as_ref(), options).await?;
    Ok(json["meta"]["termsOfService"].as_str().map(str::to_owned))
}

/// The `User-Agent` of every request acmebox makes itself: ACME servers refuse requests
/// without one (RFC 8555 §6.1).
pub(crate) const USER_AGENT: &str = concat!("acmebox/", env!("CARGO_PKG_VERSION"));

/// The server's directory object, read with `http`.
pub(crate) async fn fetch_directory(
    http: &dyn HttpClient,
    options: &AccountOptions,
) -> Result<serde_json::Value> {
    let directory = &options.directory;
    let fail = |detail: String, hint: &str| Error::Acme {
        directory: directory.clone(),
        action: "fetch the directory",
        problem_type: None,
        detail,
        hint: Some(hint.to_owned()),
    };
    let unreachable = "check that the directory URL is right and the server is running, and, \
                       for a private CA, that its CA certificate is trusted";
    let not_acme = "the URL did not answer with an ACME directory; check the directory URL";
    let request = http::Request::get(directory.as_str())
        .header(http::header::USER_AGENT, USER_AGENT)
        .body(BodyWrapper::from(Vec::new()))
        .map_err(|err| fail(err.to_string(), not_acme))?;
    let mut response = http
        .request(request)
        .await
        .map_err(|err| fail(crate::issue::error_chain(&err), unreachable))?;
    if !response.parts.status.is_success() {
        return Err(fail(
            format!("it answered {}", response.parts.status),
            not_acme,
        ));
    }
    let body = response
        .body
        .into_bytes()
        .await
        .map_err(|err| fail(err.to_string(), unreachable))?;
    serde_json::from_slice(&body)
        .map_err(|err| fail(format!("its answer is not JSON ({err})"), not_acme))
}

/// The HTTPS client for the ACME server: rustls with the ring provider, trusting the CA file
/// and/or the system roots, HTTP/1.1, with a timeout on every request.
pub(crate) fn http_client(options: &AccountOptions) -> Result<Box<dyn HttpClient>> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = &options.ca_cert {
        let fail = |reason: String| Error::CaCertificate {
            path: path.clone(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|err| fail(format!("cannot read it: {err}")))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|err| fail(format!("it is not valid PEM: {err}")))?;
        if certs.is_empty() {
            return Err(fail("it holds no CERTIFICATE block".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|err| {
                fail(format!(
                    "a certificate in it cannot be a trust anchor: {err}"
                ))
            })?;
        }
    }
    if options.system_roots.unwrap_or(options.ca_cert.is_none()) {
        let native = rustls_native_certs::load_native_certs();
        for err in &native.errors {
            tracing::warn!(error = %err, "skipping unreadable system trust anchors");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "loaded system trust anchors");
    }
    if roots.is_empty() {
        return Err(Error::Acme {
            directory: options.directory.clone(),
            action: "set up HTTPS",
            problem_type: None,
            detail: "there is no trust anchor: no CA certificate file and no system roots".into(),
            hint: Some("give the CA certificate of the server".into()),
        });
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Acme {
            directory: options.directory.clone(),
            action: "set up HTTPS",
            problem_type: None,
            detail: err.to_string(),
            hint: None,
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(tcp);
    let client = HyperClient::builder(TokioExecutor::new()).build(connector);
    Ok(Box::new(TimeoutClient {
        inner: client,
        timeout: options.request_timeout,
    }))
}

/// instant-acme's hyper client with a deadline on every request.
struct TimeoutClient {
    inner: HyperClient<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
    timeout: Duration,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = std::result::Result<BytesResponse, instant_acme::Error>> + Send>>;

impl HttpClient for TimeoutClient {
    fn request(&self, req: http::Request<BodyWrapper<Bytes>>) -> ResponseFuture {
        let response = HttpClient::request(&self.inner, req);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, response).await {
                Ok(result) => result,
                Err(_) => Err(instant_acme::Error::Other(
                    format!("no response within {} s", timeout.as_secs()).into(),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_account_bindings_are_checked_and_never_shown() {
        // A key as CAs show it: base64url, here with padding and a newline from a file.
        let key = "YWNtZWJveCB0ZXN0LW9ubHkgRUFCIE1BQyBrZXksIDQwIGJ5dGVz\n";
        let binding = ExternalAccountBinding::new("kid-1", key).unwrap();
        assert_eq!(binding.kid(), "kid-1");
        assert_eq!(binding.hmac_key, b"acmebox test-only EAB MAC key, 40 bytes");
        assert!(!format!("{binding:?}").contains("YWNt"));
        let padded =
            ExternalAccountBinding::new("kid-1", "c2hvcnQga2V5IG9mIDE4IGJ5dGVz==").unwrap();
        assert_eq!(padded.hmac_key, b"short key of 18 bytes");
        for (kid, key, expected) in [
            (
                "kid-1",
                "not base64!",
                "External Account Binding (key id kid-1): the MAC key is not base64url",
            ),
            ("kid-1", "c2hvcnQ", "the MAC key is 5 bytes long"),
            (" ", key, "the key id is empty"),
        ] {
            let err = ExternalAccountBinding::new(kid, key)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn default_account_file_is_per_directory() {
        let a = default_account_file("https://127.0.0.1:14000/dir");
        let b = default_account_file("https://127.0.0.1:14000/other");
        if let (Some(a), Some(b)) = (a, b) {
            assert_ne!(a, b);
            let name = a.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with("127.0.0.1_14000-"), "{name}");
            assert!(name.ends_with(".json"));
        }
    }

    #[test]
    fn group_readable_account_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("account.json");
        std::fs::write(&path, b"{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_account_file(&path).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = read_account_file(&path).err().unwrap().to_string();
        assert!(err.contains("not an acmebox account file"), "{err}");
        assert!(
            read_account_file(&dir.path().join("missing"))
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn plain_http_directory_is_refused() {
        let options = AccountOptions::new("http://127.0.0.1:1/dir", "/nonexistent/account.json");
        let err = Account::load_or_create(&options)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("HTTPS only"), "{err}");
    }
}
