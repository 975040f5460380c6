//! When to renew a certificate: the CA's ACME Renewal Information window (RFC 9773), a random
//! moment in it, `Retry-After` honoured between checks; else a share of the certificate's
//! lifetime. What was decided is kept between runs in a [`RenewalState`].

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Account, Error, Result};

/// Renew once this share of a certificate's lifetime is left, when the CA gives no renewal
/// window: a third, as Let's Encrypt suggests (day 60 of a 90-day certificate).
pub const DEFAULT_RENEW_REMAINING: f64 = 1.0 / 3.0;

/// What renewal needs to know of an issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Its ARI identifier, `base64url(AKI keyIdentifier) "." base64url(serial)` (RFC 9773
    /// §4.1): how the CA looks it up, and what a new order `replaces`.
    pub id: String,
    /// Valid from.
    pub not_before: OffsetDateTime,
    /// Valid until.
    pub not_after: OffsetDateTime,
}

impl CertificateInfo {
    /// Reads the leaf certificate of a PEM file's text.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let fail = |reason: String| Error::Renewal { reason };
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|err| fail(format!("the certificate file is not PEM: {err}")))?;
        let cert = block
            .parse_x509()
            .map_err(|err| fail(format!("the certificate cannot be parsed: {err}")))?;
        let der = rustls::pki_types::CertificateDer::from(block.contents.as_slice());
        let id = instant_acme::CertificateIdentifier::try_from(&der)
            .map_err(|err| {
                fail(format!(
                    "the certificate has no authority key identifier to ask its CA about ({err})"
                ))
            })?
            .to_string();
        Ok(CertificateInfo {
            id,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
        })
    }
}

/// What a renewal check decided, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Whether to renew now.
    pub due: bool,
    /// When renewal is (or was) due.
    pub renew_at: OffsetDateTime,
    /// One sentence: the window or share it came from.
    pub reason: String,
    /// Whether the new order may name the certificate it replaces (RFC 9773 §5): not at a CA
    /// whose directory has no `renewalInfo`, which does not know the field.
    pub replaces: bool,
}

/// Kept between renewal checks of one certificate (`renewal.json` beside it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenewalState {
    /// The certificate the rest is about; a state of another one is ignored.
    pub certificate: String,
    /// The CA's window, as Unix seconds.
    pub window: Option<(i64, i64)>,
    /// The moment chosen in it, as Unix seconds.
    pub renew_at: Option<i64>,
    /// Not before this (Unix seconds) may the CA be asked again (its `Retry-After`).
    pub next_check: Option<i64>,
}

impl Account {
    /// The CA's suggested renewal window for certificate `id` (RFC 9773) and how long to wait
    /// before asking again; `None` when the CA offers no renewal information.
    pub async fn renewal_window(
        &self,
        id: &str,
    ) -> Result<Option<(OffsetDateTime, OffsetDateTime, Duration)>> {
        let certificate = certificate_identifier(id)?;
        match self.inner.renewal_info(&certificate).await {
            Ok((info, retry_after)) => Ok(Some((
                info.suggested_window.start,
                info.suggested_window.end,
                retry_after,
            ))),
            Err(instant_acme::Error::Unsupported(_)) => Ok(None),
            Err(err) => Err(crate::issue::acme_error(
                &self.directory,
                "fetch the renewal information",
                err,
            )),
        }
    }

    /// Decides whether `cert` is due for renewal at `now`, updating `state`.
    ///
    /// With a renewal window from the CA: a moment is chosen uniformly at random in it (now,
    /// if the window has begun) and kept, and the CA is not asked again before its
    /// `Retry-After`. Without one (the CA offers none, or its answer is unusable): due once
    /// `remaining` of the lifetime is left.
    pub async fn renewal_decision(
        &self,
        cert: &CertificateInfo,
        state: &mut RenewalState,
        remaining: f64,
        now: OffsetDateTime,
    ) -> Decision {
        if state.certificate != cert.id {
            *state = RenewalState {
                certificate: cert.id.clone(),
                ..RenewalState::default()
            };
        }
        let unix = now.unix_timestamp();
        if let (Some(next), Some(at), Some((start, end))) =
            (state.next_check, state.renew_at, state.window)
            && unix < next
        {
            return ari_decision(at, (start, end), unix, Some(next));
        }
        match self.renewal_window(&cert.id).await {
            Ok(Some((start, end, retry_after))) if start < end => {
                let (start, end) = (start.unix_timestamp(), end.unix_timestamp());
                let at = if start <= unix {
                    unix
                } else {
                    start + random_below(end - start)
                };
                let next =
                    unix.saturating_add(i64::try_from(retry_after.as_secs()).unwrap_or(i64::MAX));
                state.window = Some((start, end));
                state.renew_at = Some(at);
                state.next_check = Some(next);
                ari_decision(at, (start, end), unix, Some(next))
            }
            Ok(Some(_)) => lifetime_decision(cert, remaining, now, "its renewal window is empty"),
            Ok(None) => Decision {
                replaces: false,
                ..lifetime_decision(cert, remaining, now, "the CA offers no renewal information")
            },
            Err(err) => lifetime_decision(
                cert,
                remaining,
                now,
                &format!("its renewal information is unusable ({err})"),
            ),
        }
    }
}

fn ari_decision(at: i64, (start, end): (i64, i64), now: i64, next: Option<i64>) -> Decision {
    let show = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .map(rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    let mut reason = format!(
        "the CA's renewal window is {} to {} (ARI)",
        show(start),
        show(end)
    );
    if let Some(next) = next.filter(|n| *n > now && at > now) {
        reason.push_str(&format!("; the CA is asked again after {}", show(next)));
    }
    Decision {
        due: at <= now,
        renew_at: OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        reason,
        replaces: true,
    }
}

fn lifetime_decision(
    cert: &CertificateInfo,
    remaining: f64,
    now: OffsetDateTime,
    why: &str,
) -> Decision {
    let lifetime = (cert.not_after - cert.not_before).as_seconds_f64();
    let renew_at =
        cert.not_after - time::Duration::seconds_f64(lifetime * remaining.clamp(0.0, 1.0));
    Decision {
        due: renew_at <= now,
        renew_at,
        reason: format!(
            "{why}, so renewal is due when {:.0}% of the lifetime is left",
            remaining * 100.0
        ),
        replaces: true,
    }
}

/// `t` as RFC 3339 (`2026-12-03T14:05:00Z`).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// A uniformly random number in `0..n` (0 when `n` is not positive).
fn random_below(n: i64) -> i64 {
    use ring::rand::SecureRandom as _;
    let Ok(n) = u64::try_from(n) else {
        return 0;
    };
    if n == 0 {
        return 0;
    }
    let mut bytes = [0u8; 8];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        return 0;
    }
    // The modulo bias is below 2^-40 for any window shorter than 2^24 seconds.
    i64::try_from(u64::from_le_bytes(bytes) % n).unwrap_or(0)
}

/// The identifier `aki.serial` as instant-acme takes it.
pub(crate) fn certificate_identifier(
    id: &str,
) -> Result<instant_acme::CertificateIdentifier<'static>> {
    let Some((aki, serial)) = id.split_once('.') else {
        return Err(Error::Renewal {
            reason: format!(
                "{} is not a certificate identifier (`<authority key id>.<serial>`, RFC 9773 §4.1)",
                acmebox_challenge::echoed(id)
            ),
        });
    };
    Ok(instant_acme::CertificateIdentifier {
        authority_key_identifier: Cow::Owned(aki.to_owned()),
        serial: Cow::Owned(serial.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(days: i64) -> CertificateInfo {
        let not_before = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        CertificateInfo {
            id: "aki.serial".into(),
            not_before,
            not_after: not_before + time::Duration::days(days),
        }
    }

    #[test]
    fn without_a_window_a_third_of_the_lifetime_is_left_at_renewal() {
        let c = cert(90);
        let day = |d: i64| c.not_before + time::Duration::days(d);
        let at59 = lifetime_decision(&c, DEFAULT_RENEW_REMAINING, day(59), "no ARI");
        assert!(!at59.due);
        assert_eq!(at59.renew_at, day(60));
        assert!(lifetime_decision(&c, DEFAULT_RENEW_REMAINING, day(60), "no ARI").due);
        assert!(lifetime_decision(&c, 1.0, c.not_before, "no ARI").due);
        assert!(
            at59.reason
                .starts_with("no ARI, so renewal is due when 33% ")
        );
    }

    #[test]
    fn a_window_decides_at_its_chosen_moment() {
        let d = ari_decision(200, (100, 300), 150, Some(1_000));
        assert!(!d.due);
        assert!(d.reason.contains("(ARI); the CA is asked again after"));
        assert!(ari_decision(200, (100, 300), 200, None).due);
        for _ in 0..100 {
            let r = random_below(10);
            assert!((0..10).contains(&r));
        }
        assert_eq!(random_below(0), 0);
    }

    #[test]
    fn identifiers_split_at_the_dot() {
        let id = certificate_identifier("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE").unwrap();
        assert_eq!(id.to_string(), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
        assert!(certificate_identifier("nodot").is_err());
    }
}
