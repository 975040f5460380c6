//! The error type of the ACME client and its responders.

use std::path::PathBuf;

use acmebox_challenge::IoError;

use acmebox_challenge::ChallengeType;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong getting a certificate. Every message says what was wrong and, where it
/// can, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Talking to the ACME server failed (RFC 8555 §7): it could not be reached, it is not an
    /// ACME server, or it answered with a problem document (RFC 8555 §6.7).
    #[error("ACME server {directory}: {action} failed: {detail}{}", hint_suffix(.hint))]
    Acme {
        /// The directory URL of the server.
        directory: String,
        /// What was being done ("fetch the directory", "create the order", ...).
        action: &'static str,
        /// The problem type (`urn:ietf:params:acme:error:...`), when the server sent one.
        problem_type: Option<String>,
        /// What went wrong, with every underlying cause.
        detail: String,
        /// What the operator can do about it, when known.
        hint: Option<String>,
    },

    /// The ACME server tried to validate a challenge and failed (RFC 8555 §7.1.6: the
    /// authorization became `invalid`).
    #[error(
        "the ACME server could not validate {challenge} for {identifier}: {detail}; check that the {challenge} response is published where the server looks for it"
    )]
    ValidationFailed {
        /// The identifier whose authorization failed.
        identifier: String,
        /// The challenge type that was tried.
        challenge: ChallengeType,
        /// The problem type, such as `urn:ietf:params:acme:error:unauthorized`.
        problem_type: Option<String>,
        /// The server's explanation.
        detail: String,
    },

    /// A new account would have to agree to the CA's terms of service, and the caller has not
    /// said it does.
    #[error(
        "ACME server {directory} registers accounts that agree to its terms of service, {terms}: read them, then agree (--agree-tos)"
    )]
    TermsOfService {
        /// The directory URL.
        directory: String,
        /// Where the terms are.
        terms: String,
    },

    /// A certificate could not be revoked before the CA was asked.
    #[error("revocation: {reason}")]
    Revocation {
        /// What is wrong, and what to do.
        reason: String,
    },

    /// A certificate's renewal could not be planned (its file, its identifier).
    #[error("renewal: {reason}")]
    Renewal {
        /// What is wrong, and what to do.
        reason: String,
    },

    /// The External Account Binding given for a new account is unusable.
    #[error("External Account Binding (key id {kid}): {reason}")]
    ExternalAccountBinding {
        /// The key id, cut to a sensible length.
        kid: String,
        /// What is wrong, and what to do. Never contains the key.
        reason: String,
    },

    /// The request names a certificate profile the CA does not offer (the directory's
    /// `meta.profiles`, draft-ietf-acme-profiles).
    #[error("ACME server {directory} {offered}; choose one it offers, or leave the profile out for the CA's default", offered = profiles_offered(.profile, .offered))]
    Profile {
        /// The directory URL.
        directory: String,
        /// The profile asked for.
        profile: String,
        /// The profiles the CA offers: name and description.
        offered: Vec<(String, String)>,
    },

    /// An ACME order, authorization or certificate is not what RFC 8555 says it should be.
    #[error("ACME order {order}: {reason}")]
    Order {
        /// The order URL (or the identifiers, before the order exists).
        order: String,
        /// What is wrong, and what to do.
        reason: String,
    },

    /// The ACME server did not finish a step in time.
    #[error(
        "the ACME server did not {what} within {} s; try again later, or raise the timeout",
        .after.as_secs()
    )]
    Timeout {
        /// The step waited for ("validate the challenges", "issue the certificate").
        what: &'static str,
        /// How long was waited.
        after: std::time::Duration,
    },

    /// An ACME account file cannot be read, used or written.
    #[error("account file {path}: {reason}")]
    AccountFile {
        /// The account file.
        path: PathBuf,
        /// What is wrong and what to do. Never contains the account key.
        reason: String,
    },

    /// A CA certificate file given to trust an ACME server cannot be used.
    #[error("CA certificate file {path}: {reason}")]
    CaCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Making the key or the certificate signing request for a new certificate failed.
    #[error("certificate request for {identifiers}: {reason}")]
    CertificateRequest {
        /// The identifiers, comma-separated.
        identifiers: String,
        /// What failed.
        reason: String,
    },

    /// A built-in challenge responder cannot listen on its address.
    #[error(
        "the {challenge} responder cannot listen on {addr}: {error}; stop whatever uses the port or choose another address"
    )]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The challenge type the responder answers.
        challenge: ChallengeType,
        /// The bind error (part of the message, so not repeated as a `source`).
        error: std::io::Error,
    },

    /// A file-system operation failed.
    #[error(transparent)]
    Io(#[from] IoError),

    /// Cleaning up one or more challenges failed. `original` is the error that ended the
    /// issuance, if any: cleanup failures never replace it.
    #[error("{}", cleanup_message(.original.as_deref(), .failures))]
    Cleanup {
        /// The error that ended the issuance; `None` if the certificate was issued. Its text is
        /// part of this error's message, so it is not repeated as a `source`.
        original: Option<Box<Error>>,
        /// Every cleanup that failed, in the order they ran.
        failures: Vec<Error>,
    },

    /// A challenge could not be computed, or a handler failed to set it up or clean it up.
    /// A handler built on another layer (a sandboxed provider) puts its own error in
    /// [`acmebox_challenge::Error::Backend`].
    #[error(transparent)]
    Challenge(#[from] acmebox_challenge::Error),
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) => format!("; {hint}"),
        None => String::new(),
    }
}

fn cleanup_message(original: Option<&Error>, failures: &[Error]) -> String {
    let count = failures.len();
    let list = failures
        .iter()
        .map(|err| err.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let plural = if count == 1 { "" } else { "s" };
    match original {
        Some(original) => format!(
            "{original}; in addition, {count} cleanup{plural} failed (remove those responses by hand): {list}"
        ),
        None => format!(
            "the certificate was issued and saved, but {count} cleanup{plural} failed (remove those responses by hand): {list}"
        ),
    }
}

impl Error {
    /// The challenge-layer error inside, if this is one (a handler's failure).
    pub fn challenge_error(&self) -> Option<&acmebox_challenge::Error> {
        match self {
            Error::Challenge(inner) => Some(inner),
            _ => None,
        }
    }

    /// The error of the handler's backend (for example a sandboxed provider's
    /// `acmebox_sandbox::Error`), if this is a handler failure of type `E`.
    pub fn backend<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.challenge_error()
            .and_then(acmebox_challenge::Error::backend)
    }
}

fn profiles_offered(profile: &str, offered: &[(String, String)]) -> String {
    if offered.is_empty() {
        return format!(
            "offers no certificate profiles (its directory has no `meta.profiles`), so not `{profile}`"
        );
    }
    let list: Vec<String> = offered
        .iter()
        .map(|(name, description)| format!("`{name}` ({description})"))
        .collect();
    format!(
        "offers no certificate profile `{profile}`; it offers {}",
        list.join(", ")
    )
}
