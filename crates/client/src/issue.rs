//! One issuance (RFC 8555 §7.4–§7.5): order, challenges, validation, finalization, download.

use std::collections::HashSet;
use std::time::Duration;

use instant_acme::{AuthorizationStatus, NewOrder, Order, OrderStatus};
use tokio::time::Instant;

use super::output::{split_chain, write_files};
use super::{Account, IssueEvent, IssueRequest, IssuedCertificate, Presented, SharedHandler};
use crate::{Error, Result};
use acmebox_challenge::IoError;
use acmebox_challenge::tls_alpn01::CertificateKey;
use acmebox_challenge::{Challenge, ChallengeType, Identifier, KeyAuthorization};

impl Account {
    /// Gets a certificate for the request's identifiers, answering every challenge with
    /// `handler` (whose [`challenge_type`](acmebox_challenge::handlers::ChallengeHandler::challenge_type)
    /// picks the challenge type), and writes it to the request's output directory.
    ///
    /// Every challenge is set up before the server is asked to validate any, then the
    /// handler's propagation delay is waited out and the request's
    /// [`ReadyCheck`](super::ReadyCheck) run. Validation and issuance are polled with backoff.
    ///
    /// # Cleanup
    ///
    /// Each challenge is registered in `presented` before its setup runs. Before this returns,
    /// on success or failure, everything in `presented` is cleaned up; a cleanup failure is
    /// reported as [`Error::Cleanup`], which keeps the error that ended the issuance. If this
    /// future is dropped before it finishes, call [`Presented::cleanup`] yourself.
    pub async fn issue(
        &self,
        request: IssueRequest,
        handler: SharedHandler,
        presented: &Presented,
    ) -> Result<IssuedCertificate> {
        let result = self.issue_inner(&request, &handler, presented).await;
        let (count, failures) = presented
            .cleanup_all(|challenge, ok| {
                request.emit(IssueEvent::ChallengeCleanedUp {
                    identifier: challenge.identifier.clone(),
                    kind: challenge.kind,
                    ok,
                });
            })
            .await;
        if count > 0 {
            request.emit(IssueEvent::CleanedUp {
                count,
                failed: failures.len(),
            });
        }
        match (result, failures.is_empty()) {
            (result, true) => result,
            (Ok(_), false) => Err(Error::Cleanup {
                original: None,
                failures,
            }),
            (Err(err), false) => Err(Error::Cleanup {
                original: Some(Box::new(err)),
                failures,
            }),
        }
    }

    async fn issue_inner(
        &self,
        request: &IssueRequest,
        handler: &SharedHandler,
        presented: &Presented,
    ) -> Result<IssuedCertificate> {
        let kind = handler.challenge_type();
        check_request(request, kind)?;
        let ids: Vec<instant_acme::Identifier> =
            request.identifiers.iter().map(to_acme_identifier).collect();
        let mut new_order = NewOrder::new(&ids);
        if let Some(profile) = &request.profile {
            let offered = self.profiles();
            if !offered.iter().any(|(name, _)| name == profile) {
                return Err(Error::Profile {
                    directory: self.directory.clone(),
                    profile: profile.clone(),
                    offered,
                });
            }
            new_order = new_order.profile(profile);
        }
        let replaces = request
            .replaces
            .as_deref()
            .map(crate::renewal::certificate_identifier)
            .transpose()?;
        if let Some(replaces) = replaces {
            new_order = new_order.replaces(replaces);
        }
        let mut order = self
            .inner
            .new_order(&new_order)
            .await
            .map_err(|err| self.error("create the order", err))?;
        let order_url = order.url().to_owned();
        request.emit(IssueEvent::OrderCreated {
            order_url: order_url.clone(),
            identifiers: request.identifiers.clone(),
        });

        if kind == ChallengeType::DnsPersist01 {
            // The record is persistent and already in place: nothing to set up or clean up.
            self.persistent_authorizations(&mut order, request).await?;
            self.set_ready(&mut order, kind, request, None).await?;
            self.poll_authorizations(&mut order, kind, request, None)
                .await?;
            self.poll_order(&mut order, request, Phase::Ready).await?;
            return self.finish(order, order_url, request).await;
        }
        let challenges = self.pending_challenges(&mut order, kind, request).await?;
        if handler.one_at_a_time() {
            // One live response at a time: set up, validate and clean up each in turn.
            for challenge in &challenges {
                self.answer(
                    &mut order,
                    request,
                    handler,
                    presented,
                    std::slice::from_ref(challenge),
                )
                .await?;
                presented
                    .cleanup_one(challenge, |challenge, ok| {
                        request.emit(IssueEvent::ChallengeCleanedUp {
                            identifier: challenge.identifier.clone(),
                            kind: challenge.kind,
                            ok,
                        });
                    })
                    .await?;
            }
        } else {
            self.answer(&mut order, request, handler, presented, &challenges)
                .await?;
        }
        self.poll_order(&mut order, request, Phase::Ready).await?;
        self.finish(order, order_url, request).await
    }

    /// Sets up `challenges`, waits until they are visible, and has the server validate them.
    async fn answer(
        &self,
        order: &mut Order,
        request: &IssueRequest,
        handler: &SharedHandler,
        presented: &Presented,
        challenges: &[Challenge],
    ) -> Result<()> {
        let kind = handler.challenge_type();
        let only = (challenges.len() == 1 && handler.one_at_a_time())
            .then(|| challenges[0].identifier.clone());
        for challenge in challenges {
            presented.register(handler.clone(), challenge.clone());
            handler.setup(challenge).await?;
            request.emit(IssueEvent::ChallengeReady {
                identifier: challenge.identifier.clone(),
                kind,
            });
        }
        if !challenges.is_empty() {
            let delay = handler.propagation_delay();
            if !delay.is_zero() {
                request.emit(IssueEvent::WaitingForPropagation { delay });
                tokio::time::sleep(delay).await;
            }
            if let Some(check) = &request.ready_check {
                request.emit(IssueEvent::CheckingReady {
                    challenges: challenges.len(),
                });
                check.wait_until_ready(challenges).await?;
            }
            self.set_ready(order, kind, request, only.as_ref()).await?;
            self.poll_authorizations(order, kind, request, only.as_ref())
                .await?;
        }
        Ok(())
    }

    /// Finalizes a ready order and writes the certificate.
    async fn finish(
        &self,
        mut order: Order,
        order_url: String,
        request: &IssueRequest,
    ) -> Result<IssuedCertificate> {
        let (csr, key_pem) = match &request.csr {
            Some(der) => (der.clone(), None),
            None => {
                let key = CertificateKey::generate(request.key_type)
                    .map_err(|err| csr_error(request, err))?;
                (certificate_request(request, &key)?, Some(key.to_pem()))
            }
        };
        order
            .finalize_csr(&csr)
            .await
            .map_err(|err| self.error("finalize the order", err))?;
        request.emit(IssueEvent::Finalizing);
        self.poll_order(&mut order, request, Phase::Valid).await?;
        let Some(pem) = order
            .certificate()
            .await
            .map_err(|err| self.error("download the certificate", err))?
        else {
            return Err(order_error(
                &order_url,
                "the order is valid but has no certificate yet",
            ));
        };
        let Some(chain) = split_chain(&pem) else {
            return Err(order_error(
                &order_url,
                "the server sent no PEM certificate",
            ));
        };

        let out_dir = request.out_dir.clone();
        let written = chain.clone();
        let paths = tokio::task::spawn_blocking(move || {
            write_files(&out_dir, &written, key_pem.as_deref())
        })
        .await
        .map_err(|join| {
            IoError::new(
                "write the certificate into",
                &request.out_dir,
                std::io::Error::other(join.to_string()),
            )
        })??;
        request.emit(IssueEvent::Done {
            paths: paths.clone(),
        });
        Ok(IssuedCertificate {
            identifiers: request.identifiers.clone(),
            order_url,
            cert_pem: chain.leaf,
            chain_pem: chain.intermediates,
            paths,
        })
    }

    /// The challenges of type `kind` of every pending authorization, checked and converted.
    async fn pending_challenges(
        &self,
        order: &mut Order,
        kind: ChallengeType,
        request: &IssueRequest,
    ) -> Result<Vec<Challenge>> {
        let order_url = order.url().to_owned();
        let acme_kind = to_acme_challenge_type(kind);
        let mut challenges = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(next) = authorizations.next().await {
            let mut authz = next.map_err(|err| self.error("fetch an authorization", err))?;
            let identifier = parse_authorized(&order_url, &authz.identifier().to_string())?;
            let Some(identifier) = to_answer(&order_url, authz.status, identifier, request)? else {
                continue;
            };
            let not_offered = not_offered(&order_url, kind, &identifier, &authz.challenges);
            let Some(handle) = authz.challenge(acme_kind.clone()) else {
                return Err(not_offered);
            };
            let key_authorization = KeyAuthorization::parse(handle.key_authorization().as_str())?;
            if key_authorization.token().as_str() != handle.token {
                return Err(order_error(
                    &order_url,
                    format!("the {kind} challenge for {identifier} has an unusable token"),
                ));
            }
            challenges.push(
                Challenge::new(kind, identifier, key_authorization)?.with_account_url(self.id()),
            );
        }
        Ok(challenges)
    }

    /// Checks that every pending authorization offers dns-persist-01 (its record, placed
    /// beforehand, is what the server checks).
    async fn persistent_authorizations(
        &self,
        order: &mut Order,
        request: &IssueRequest,
    ) -> Result<()> {
        let kind = ChallengeType::DnsPersist01;
        let order_url = order.url().to_owned();
        let acme_kind = to_acme_challenge_type(kind);
        let mut authorizations = order.authorizations();
        while let Some(next) = authorizations.next().await {
            let authz = next.map_err(|err| self.error("fetch an authorization", err))?;
            let identifier = parse_authorized(&order_url, &authz.identifier().to_string())?;
            let Some(identifier) = to_answer(&order_url, authz.status, identifier, request)? else {
                continue;
            };
            if !authz.challenges.iter().any(|c| c.r#type == acme_kind) {
                return Err(not_offered(
                    &order_url,
                    kind,
                    &identifier,
                    &authz.challenges,
                ));
            }
            request.emit(IssueEvent::ChallengeReady { identifier, kind });
        }
        Ok(())
    }

    /// Tells the server that every pending challenge is ready (RFC 8555 §7.5.1).
    async fn set_ready(
        &self,
        order: &mut Order,
        kind: ChallengeType,
        request: &IssueRequest,
        only: Option<&Identifier>,
    ) -> Result<()> {
        let acme_kind = to_acme_challenge_type(kind);
        let mut authorizations = order.authorizations();
        while let Some(next) = authorizations.next().await {
            let mut authz = next.map_err(|err| self.error("fetch an authorization", err))?;
            if authz.status != AuthorizationStatus::Pending {
                continue;
            }
            let name = authz.identifier().to_string();
            if only.is_some_and(|only| Identifier::parse(&name).ok().as_ref() != Some(only)) {
                continue;
            }
            let Some(mut handle) = authz.challenge(acme_kind.clone()) else {
                continue;
            };
            handle
                .set_ready()
                .await
                .map_err(|err| self.error("start the validation", err))?;
            if let Ok(identifier) = Identifier::parse(&name) {
                request.emit(IssueEvent::Validating { identifier, kind });
            }
        }
        Ok(())
    }

    /// Polls every authorization until all are valid; the first invalid one ends the wait with
    /// the server's explanation.
    async fn poll_authorizations(
        &self,
        order: &mut Order,
        kind: ChallengeType,
        request: &IssueRequest,
        only: Option<&Identifier>,
    ) -> Result<()> {
        let acme_kind = to_acme_challenge_type(kind);
        let mut backoff = Backoff::new(request, request.validation_timeout);
        loop {
            if !backoff.wait().await {
                return Err(Error::Timeout {
                    what: "validate the challenges",
                    after: request.validation_timeout,
                });
            }
            let mut all_valid = true;
            let mut authorizations = order.authorizations();
            while let Some(next) = authorizations.next().await {
                let mut authz = next.map_err(|err| self.error("fetch an authorization", err))?;
                if authz.status == AuthorizationStatus::Valid
                    || only.is_some_and(|only| {
                        Identifier::parse(&authz.identifier().to_string())
                            .ok()
                            .as_ref()
                            != Some(only)
                    })
                {
                    continue;
                }
                let state = authz
                    .refresh()
                    .await
                    .map_err(|err| self.error("poll an authorization", err))?;
                let name = state.identifier().to_string();
                match state.status {
                    // Reported once: a valid authorization is not polled again.
                    AuthorizationStatus::Valid => {
                        if let Ok(identifier) = Identifier::parse(&name) {
                            request.emit(IssueEvent::Valid { identifier });
                        }
                    }
                    AuthorizationStatus::Pending => all_valid = false,
                    AuthorizationStatus::Invalid => {
                        let problem = state
                            .challenges
                            .iter()
                            .find(|c| c.r#type == acme_kind)
                            .and_then(|c| c.error.clone());
                        return Err(Error::ValidationFailed {
                            identifier: name,
                            challenge: kind,
                            problem_type: problem.as_ref().and_then(|p| p.r#type.clone()),
                            detail: problem.map_or_else(
                                || {
                                    "the authorization is invalid and the server gave no reason"
                                        .into()
                                },
                                |p| problem_text(&p),
                            ),
                        });
                    }
                    other => {
                        return Err(order_error(
                            order.url(),
                            format!(
                                "the authorization for {name} became {other:?} during validation"
                            ),
                        ));
                    }
                }
            }
            if all_valid {
                return Ok(());
            }
        }
    }

    /// Polls the order until it reaches `phase`'s status.
    async fn poll_order(
        &self,
        order: &mut Order,
        request: &IssueRequest,
        phase: Phase,
    ) -> Result<()> {
        let (target, timeout, what) = match phase {
            Phase::Ready => (
                OrderStatus::Ready,
                request.validation_timeout,
                "mark the order ready",
            ),
            Phase::Valid => (
                OrderStatus::Valid,
                request.issuance_timeout,
                "issue the certificate",
            ),
        };
        let mut backoff = Backoff::new(request, timeout);
        let mut status = order.state().status;
        loop {
            if status == target {
                return Ok(());
            }
            if status == OrderStatus::Invalid {
                let reason = match &order.state().error {
                    Some(problem) => format!("the order became invalid: {}", problem_text(problem)),
                    None => "the order became invalid and the server gave no reason".into(),
                };
                return Err(order_error(order.url(), reason));
            }
            if phase == Phase::Ready && status == OrderStatus::Valid {
                return Err(order_error(
                    order.url(),
                    "the order is already valid: it was finalized before",
                ));
            }
            if !backoff.wait().await {
                return Err(Error::Timeout {
                    what,
                    after: timeout,
                });
            }
            status = order
                .refresh()
                .await
                .map_err(|err| self.error("poll the order", err))?
                .status;
        }
    }

    fn error(&self, action: &'static str, err: instant_acme::Error) -> Error {
        let mut error = acme_error(&self.directory, action, err);
        if let Error::Acme {
            problem_type: Some(problem),
            hint,
            ..
        } = &mut error
            && problem.ends_with(":accountDoesNotExist")
        {
            *hint = Some(format!(
                "the server does not know the account in {}; a test CA forgets its accounts when it restarts: move that file away to register a new account",
                self.file.display()
            ));
        }
        error
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    Valid,
}

/// Delays between polls: the first poll after the request's first interval, each later one
/// half as long again, up to its longest interval, until the deadline.
struct Backoff {
    delay: Duration,
    max: Duration,
    deadline: Instant,
}

impl Backoff {
    fn new(request: &IssueRequest, timeout: Duration) -> Self {
        Backoff {
            delay: request.poll_interval,
            max: request.max_poll_interval,
            deadline: Instant::now() + timeout,
        }
    }

    /// Sleeps until the next poll; false once the deadline has passed.
    async fn wait(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        tokio::time::sleep(self.delay.min(self.deadline - now)).await;
        self.delay = self.delay.mul_f32(1.5).min(self.max);
        true
    }
}

/// Converts an instant-acme error to ours, with every cause and a hint where one is known.
pub(super) fn acme_error(directory: &str, action: &'static str, err: instant_acme::Error) -> Error {
    let (problem_type, detail) = match &err {
        instant_acme::Error::Api(problem) => (problem.r#type.clone(), problem_text(problem)),
        other => (None, error_chain(other)),
    };
    let hint = match (&err, action) {
        (instant_acme::Error::Json(_), "fetch the directory" | "register an account") => Some(
            "the URL did not answer with an ACME directory; check the directory URL".to_owned(),
        ),
        (instant_acme::Error::Api(problem), _)
            if problem
                .r#type
                .as_deref()
                .is_some_and(|t| t.ends_with(":externalAccountRequired")) =>
        {
            Some(
                "this CA registers only accounts bound to an account with it: give the key id \
                 and MAC key it shows you (External Account Binding, --eab-kid and \
                 --eab-hmac-key-file)"
                    .to_owned(),
            )
        }
        (instant_acme::Error::Other(_) | instant_acme::Error::Hyper(_), _) => Some(
            "check that the directory URL is right and the server is running, and, for a private CA, that its CA certificate is trusted"
                .to_owned(),
        ),
        _ => None,
    };
    Error::Acme {
        directory: directory.to_owned(),
        action,
        problem_type,
        detail,
        hint,
    }
}

/// A problem document as one line: its detail, its type, and its subproblems.
fn problem_text(problem: &instant_acme::Problem) -> String {
    let mut text = problem.detail.clone().unwrap_or_else(|| "no detail".into());
    if let Some(kind) = &problem.r#type {
        text.push_str(&format!(" ({kind})"));
    }
    for sub in &problem.subproblems {
        text.push_str(&format!("; {sub}"));
    }
    text
}

/// An error and all its sources, joined with `: `, without repeating a message.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

fn order_error(order: &str, reason: impl Into<String>) -> Error {
    Error::Order {
        order: order.to_owned(),
        reason: reason.into(),
    }
}

fn identifiers_text(request: &IssueRequest) -> String {
    request
        .identifiers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn csr_error(request: &IssueRequest, err: acmebox_challenge::Error) -> Error {
    let reason = match err {
        acmebox_challenge::Error::Certificate { reason } => reason,
        other => other.to_string(),
    };
    Error::CertificateRequest {
        identifiers: identifiers_text(request),
        reason,
    }
}

/// Refuses what the server would refuse anyway, before an order exists: no identifiers,
/// duplicates, and identifiers the challenge type cannot validate.
pub(super) fn check_request(request: &IssueRequest, kind: ChallengeType) -> Result<()> {
    if request.identifiers.is_empty() {
        return Err(order_error("(not created)", "no identifiers were given"));
    }
    if let Some(der) = &request.csr {
        let mut in_csr = csr_identifiers(der)?;
        let mut asked = request.identifiers.clone();
        in_csr.sort_by_key(ToString::to_string);
        asked.sort_by_key(ToString::to_string);
        if in_csr != asked {
            let list = |ids: &[Identifier]| {
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(order_error(
                "(not created)",
                format!(
                    "the certificate signing request is for {} but the identifiers asked for \
                     are {}; ask for the names the request holds",
                    list(&in_csr),
                    list(&asked)
                ),
            ));
        }
    }
    let mut seen = HashSet::new();
    for identifier in &request.identifiers {
        if !seen.insert(identifier) {
            return Err(order_error(
                "(not created)",
                format!("{identifier} is given twice; list each identifier once"),
            ));
        }
        // Challenge::new holds the rules (RFC 8555 §7.1.3, RFC 8738 §7); a placeholder key
        // authorization lets it check the identifier alone.
        let placeholder = KeyAuthorization::parse(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )?;
        Challenge::new(kind, identifier.clone(), placeholder)?;
    }
    Ok(())
}

/// The DER of a certificate signing request file, PEM (`CERTIFICATE REQUEST`, as openssl
/// writes it) or DER.
pub fn csr_der(file: &[u8]) -> Result<Vec<u8>> {
    if !file.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(file.to_vec());
    }
    let fail = |reason: String| Error::CertificateRequest {
        identifiers: "(from the request)".to_owned(),
        reason,
    };
    let (_, pem) = x509_parser::pem::parse_x509_pem(file)
        .map_err(|err| fail(format!("the PEM file cannot be read: {err}")))?;
    if !pem.label.ends_with("CERTIFICATE REQUEST") {
        return Err(fail(format!(
            "the PEM file holds a {}, not a CERTIFICATE REQUEST; make one with \
             `openssl req -new -key key.pem -addext subjectAltName=DNS:example.com`",
            pem.label
        )));
    }
    Ok(pem.contents)
}

/// The names a DER certificate signing request asks for: the DNS names and IP addresses of its
/// subjectAltName extension (RFC 5280 §4.2.1.6), as identifiers.
pub fn csr_identifiers(der: &[u8]) -> Result<Vec<Identifier>> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::FromDer as _;
    let fail = |reason: String| Error::CertificateRequest {
        identifiers: "(from the request)".to_owned(),
        reason,
    };
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(der)
        .map_err(|err| {
            fail(format!(
                "it is not a DER certificate signing request: {err}"
            ))
        })?;
    let mut identifiers = Vec::new();
    for extension in csr.requested_extensions().into_iter().flatten() {
        let ParsedExtension::SubjectAlternativeName(san) = extension else {
            continue;
        };
        for name in &san.general_names {
            let text = match name {
                GeneralName::DNSName(dns) => (*dns).to_owned(),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).unwrap_or_default())
                        .to_string(),
                    16 => {
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).unwrap_or_default())
                            .to_string()
                    }
                    _ => continue,
                },
                _ => continue,
            };
            identifiers.push(Identifier::parse(&text)?);
        }
    }
    if identifiers.is_empty() {
        return Err(fail(
            "it names no DNS name or IP address in a subjectAltName extension; CAs issue only \
             for those"
                .to_owned(),
        ));
    }
    Ok(identifiers)
}

/// The DER certificate signing request for the request's identifiers (RFC 8555 §7.4), with an
/// empty subject: the names are in the subjectAltName extension.
fn certificate_request(request: &IssueRequest, key: &CertificateKey) -> Result<Vec<u8>> {
    let fail = |reason: String| Error::CertificateRequest {
        identifiers: identifiers_text(request),
        reason,
    };
    let der = key.to_der();
    let pair = rcgen::KeyPair::try_from(&rustls::pki_types::PrivatePkcs8KeyDer::from(der))
        .map_err(|err| fail(format!("loading the new key failed: {err}")))?;
    let names: Vec<String> = request
        .identifiers
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut params = rcgen::CertificateParams::new(names)
        .map_err(|err| fail(format!("an identifier cannot be a subjectAltName: {err}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&pair)
        .map_err(|err| fail(format!("signing the request failed: {err}")))?;
    Ok(csr.der().to_vec())
}

fn parse_authorized(order: &str, name: &str) -> Result<Identifier> {
    Identifier::parse(name).map_err(|err| {
        order_error(
            order,
            format!("the server sent an unusable identifier: {err}"),
        )
    })
}

fn to_acme_identifier(identifier: &Identifier) -> instant_acme::Identifier {
    match identifier {
        Identifier::Dns(name) => instant_acme::Identifier::Dns(name.clone()),
        Identifier::Ip(ip) => instant_acme::Identifier::Ip(*ip),
    }
}

/// `Some(identifier)` when its authorization (in `status`) waits for an answer; `None` when
/// it is valid already (reported to `request`); an error in any other state.
fn to_answer(
    order_url: &str,
    status: AuthorizationStatus,
    identifier: Identifier,
    request: &IssueRequest,
) -> Result<Option<Identifier>> {
    match status {
        AuthorizationStatus::Pending => Ok(Some(identifier)),
        AuthorizationStatus::Valid => {
            request.emit(IssueEvent::AlreadyValid { identifier });
            Ok(None)
        }
        other => Err(order_error(
            order_url,
            format!("the authorization for {identifier} is {other:?}, not pending"),
        )),
    }
}

/// The error of an authorization for `identifier` that does not offer `kind`, naming what
/// it offers.
fn not_offered(
    order_url: &str,
    kind: ChallengeType,
    identifier: &Identifier,
    challenges: &[instant_acme::Challenge],
) -> Error {
    let offered: Vec<String> = challenges
        .iter()
        .map(|c| challenge_type_name(&c.r#type))
        .collect();
    order_error(
        order_url,
        format!(
            "the server offers no {kind} challenge for {identifier} (it offers {}); choose one of those",
            offered.join(", ")
        ),
    )
}

fn to_acme_challenge_type(kind: ChallengeType) -> instant_acme::ChallengeType {
    match kind {
        ChallengeType::Dns01 => instant_acme::ChallengeType::Dns01,
        ChallengeType::DnsAccount01 | ChallengeType::DnsPersist01 => {
            instant_acme::ChallengeType::Unknown(kind.as_str().into())
        }
        ChallengeType::Http01 => instant_acme::ChallengeType::Http01,
        ChallengeType::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
    }
}

fn challenge_type_name(kind: &instant_acme::ChallengeType) -> String {
    match kind {
        instant_acme::ChallengeType::Http01 => "http-01".into(),
        instant_acme::ChallengeType::Dns01 => "dns-01".into(),
        instant_acme::ChallengeType::TlsAlpn01 => "tls-alpn-01".into(),
        instant_acme::ChallengeType::DeviceAttest01 => "device-attest-01".into(),
        instant_acme::ChallengeType::Unknown(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_requests_are_read_from_pem_or_der_and_their_names_listed() {
        let key = CertificateKey::generate(acmebox_challenge::tls_alpn01::KeyType::P256).unwrap();
        let request = IssueRequest::new(
            vec![
                Identifier::parse("example.test").unwrap(),
                Identifier::parse("*.example.test").unwrap(),
                Identifier::parse("192.0.2.7").unwrap(),
            ],
            "out",
        );
        let der = certificate_request(&request, &key).unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der)
        );
        assert_eq!(csr_der(pem.as_bytes()).unwrap(), der);
        assert_eq!(csr_der(&der).unwrap(), der);
        let names: Vec<String> = csr_identifiers(&der)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["example.test", "*.example.test", "192.0.2.7"]);
        let cert = pem.replace("CERTIFICATE REQUEST", "CERTIFICATE");
        let err = csr_der(cert.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("holds a CERTIFICATE, not a CERTIFICATE REQUEST"),
            "{err}"
        );
        assert!(csr_identifiers(b"not der").is_err());
    }

    #[test]
    fn request_checks_table() {
        let ids = |names: &[&str]| -> Vec<Identifier> {
            names
                .iter()
                .map(|n| Identifier::parse(n).unwrap())
                .collect()
        };
        let cases: &[(&[&str], ChallengeType, Option<&str>)] = &[
            (&["a.example.test"], ChallengeType::Http01, None),
            (
                &["a.example.test", "*.a.example.test"],
                ChallengeType::Dns01,
                None,
            ),
            (&["192.0.2.1"], ChallengeType::TlsAlpn01, None),
            (&[], ChallengeType::Http01, Some("no identifiers")),
            (
                &["a.example.test", "A.example.test"],
                ChallengeType::Http01,
                Some("twice"),
            ),
            (&["*.a.example.test"], ChallengeType::Http01, Some("dns-01")),
            (&["192.0.2.1"], ChallengeType::Dns01, Some("IP identifiers")),
        ];
        for (names, kind, want) in cases {
            let request = IssueRequest::new(ids(names), "/unused");
            match (check_request(&request, *kind), want) {
                (Ok(()), None) => {}
                (Err(err), Some(want)) => {
                    assert!(err.to_string().contains(want), "{names:?}: {err}")
                }
                (got, want) => panic!("{names:?} {kind}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn csr_has_the_names() {
        let request = IssueRequest::new(
            vec![
                Identifier::parse("a.example.test").unwrap(),
                Identifier::parse("*.a.example.test").unwrap(),
                Identifier::parse("192.0.2.7").unwrap(),
            ],
            "/unused",
        );
        let key = CertificateKey::generate(request.key_type).unwrap();
        let der = certificate_request(&request, &key).unwrap();
        let text = String::from_utf8_lossy(&der);
        assert!(text.contains("a.example.test") && text.contains("*.a.example.test"));
    }

    #[test]
    fn error_chain_joins_causes_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            error_chain(&err),
            "client error (Connect): connection refused"
        );
    }
}
