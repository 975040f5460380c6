//! Signed exchanges with the one granted server: finding the zone, sending the update.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acmebox_provider::ProviderError;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::Name;

use crate::message::{self, Change};
use crate::settings::Settings;
use crate::transport;
use crate::tsig::{self, DEFAULT_FUDGE, TsigKey, Unverified};

// The TSIG errors a server answers a request it cannot authenticate with (RFC 8945 §5.2), with
// RCODE NOTAUTH; unsigned, but for BADTIME.
const BADSIG: u16 = 16;
const BADKEY: u16 = 17;
const BADTIME: u16 = 18;

/// Talks to the primary server with one TSIG key.
#[derive(Debug)]
pub struct Client {
    server: SocketAddr,
    key: TsigKey,
    timeout: Duration,
}

impl Client {
    /// A client for the configured server and key.
    pub fn new(settings: Settings) -> Self {
        Self {
            server: settings.server,
            key: settings.key,
            timeout: transport::DEFAULT_TIMEOUT,
        }
    }

    /// The zone holding `fqdn` at the server: SOA queries for `fqdn`, then for each ancestor,
    /// until an answer holds the SOA of a zone that is the name or one of its ancestors. A
    /// negative answer names the zone in its authority section, so one query usually suffices.
    pub fn find_zone(&self, fqdn: &Name) -> Result<Name, ProviderError> {
        let mut name = fqdn.clone();
        while !name.is_root() {
            let answer = self.exchange(message::soa_query(&name))?;
            if let Some(zone) = message::zone_in_answer(&answer, fqdn)? {
                return Ok(zone);
            }
            name = name.base_name();
        }
        Err(ProviderError::ZoneNotFound(format!(
            "dns://{} answered no SOA query for {fqdn} or its parents with the SOA of a zone \
             holding it; check that `server` is the primary of the zone that holds the name",
            self.server
        )))
    }

    /// Adds or deletes the TXT RR holding `value` at `fqdn` in `zone`.
    pub fn change(
        &self,
        change: Change,
        zone: &Name,
        fqdn: &Name,
        value: &str,
        ttl: u32,
    ) -> Result<(), ProviderError> {
        let update = message::update(change, zone, fqdn, value, ttl)?;
        let answer = self.exchange(update)?;
        message::update_outcome(answer.metadata.response_code, self.key.name(), zone, fqdn)
    }

    /// Signs `request`, sends it and returns the answer once its signature checks out.
    fn exchange(&self, mut request: Message) -> Result<Message, ProviderError> {
        let request_mac = self
            .key
            .sign(&mut request, unix_time())
            .map_err(|e| ProviderError::Other(format!("signing the request failed: {e}")))?;
        let wire = request
            .to_vec()
            .map_err(|e| ProviderError::Other(format!("encoding the request failed: {e}")))?;
        let answer_wire = transport::exchange(self.server, &wire, self.timeout)?;
        let answer = Message::from_vec(&answer_wire).map_err(|e| {
            ProviderError::TransportError(format!(
                "the answer from dns://{} is not a DNS message: {e}",
                self.server
            ))
        })?;
        if answer.metadata.id != request.metadata.id
            || answer.metadata.message_type != MessageType::Response
            || answer.metadata.op_code != request.metadata.op_code
        {
            return Err(ProviderError::TransportError(format!(
                "dns://{} answered with a message that is not the response to the request",
                self.server
            )));
        }
        let verified = self.key.verify(&answer_wire, &request_mac, unix_time());
        check_signature(
            answer.metadata.response_code,
            verified,
            &self.key,
            self.server,
        )?;
        Ok(answer)
    }
}

/// Whether an answer with RCODE `code` whose signature check gave `verified` may be believed.
///
/// A signed answer may. An unsigned answer with an error RCODE may too, for its RCODE only:
/// Knot answers REFUSED and NOTAUTH unsigned for names and zones it does not serve. RFC 8945
/// §5.4 has the client discard such an answer, which on TCP leaves nothing to wait for; taken
/// for its RCODE, it fails the call with an error that says why, or sends the zone search on to
/// a parent, whose answer must be signed in turn. An answer that could make a call succeed
/// (NOERROR, or NXDOMAIN, which names the zone) must be signed. The server rejecting our
/// signature is an authorization failure; any other signature problem a failed exchange.
fn check_signature(
    code: ResponseCode,
    verified: Result<(), Unverified>,
    key: &TsigKey,
    server: SocketAddr,
) -> Result<(), ProviderError> {
    let problem = match verified {
        Ok(()) => return Ok(()),
        Err(Unverified::Missing)
            if !matches!(code, ResponseCode::NoError | ResponseCode::NXDomain) =>
        {
            return Ok(());
        }
        Err(problem) => problem,
    };
    let key_name = key.name();
    let algorithm = key.algorithm().config_name();
    if let (ResponseCode::NotAuth, Unverified::ServerError { error, server_time }) =
        (code, &problem)
    {
        let why = match *error {
            BADSIG => Some(format!(
                "the server rejected the request's signature (BADSIG): `key_secret` is not the \
                 secret the server has for key {key_name}"
            )),
            BADKEY => Some(format!(
                "the server does not know key {key_name} with algorithm {algorithm}, or its ACL \
                 does not allow this update (BADKEY; Knot answers it to both): check `key_name` \
                 and `algorithm` against the server's key, and the zone's update ACL"
            )),
            BADTIME => Some(format!(
                "the server rejected the request's time (BADTIME): the clocks here ({} s since \
                 1970) and at the server{} differ by more than {DEFAULT_FUDGE} s; fix the clock \
                 that is wrong",
                unix_time(),
                server_time
                    .map(|t| format!(" ({t} s since 1970)"))
                    .unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(why) = why {
            return Err(ProviderError::Unauthorized(why));
        }
    }
    Err(ProviderError::TransportError(format!(
        "the server's answer is not signed with the key {key_name} ({algorithm}): {problem}; it \
         answered {}{}. Check that dns://{server} is the server that has this key",
        message::rcode_name(code),
        match &problem {
            Unverified::ServerError { error, .. } => {
                format!(" with TSIG error {}", tsig::error_name(*error))
            }
            _ => String::new(),
        }
    )))
}

/// Seconds since 1970, as TSIG counts time (RFC 8945 §4.2); 0 if the clock is before that,
/// which the server then answers with BADTIME.
fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsig::{Algorithm, Secret};

    #[test]
    fn signature_problems() {
        let Ok(name) = Name::from_ascii("acme-key.") else {
            panic!("name");
        };
        let key = TsigKey::new(name, Algorithm::HmacSha256, Secret::new(vec![1; 32]));
        let server: SocketAddr = ([192, 0, 2, 53], 53).into();
        let rejected = |error| {
            Err(Unverified::ServerError {
                error,
                server_time: None,
            })
        };
        let badtime_at = Err(Unverified::ServerError {
            error: BADTIME,
            server_time: Some(1_700_000_000),
        });
        let cases = [
            (ResponseCode::NoError, Ok(()), "ok", ""),
            (ResponseCode::Refused, Ok(()), "ok", ""),
            // Unsigned refusals fail the call with their RCODE (Knot sends them).
            (ResponseCode::Refused, Err(Unverified::Missing), "ok", ""),
            (ResponseCode::NotAuth, Err(Unverified::Missing), "ok", ""),
            (ResponseCode::ServFail, Err(Unverified::Missing), "ok", ""),
            // Unsigned answers that would let a call succeed are not believed.
            (
                ResponseCode::NoError,
                Err(Unverified::Missing),
                "transport",
                "not signed with the key acme-key. (hmac-sha256): it has no TSIG record; it \
                 answered NOERROR",
            ),
            (
                ResponseCode::NXDomain,
                Err(Unverified::Missing),
                "transport",
                "answered NXDOMAIN",
            ),
            (
                ResponseCode::NoError,
                Err(Unverified::BadMac),
                "transport",
                "MAC does not match",
            ),
            (
                ResponseCode::Refused,
                Err(Unverified::BadMac),
                "transport",
                "answered REFUSED",
            ),
            (
                ResponseCode::NoError,
                Err(Unverified::OtherKey("key other.".into())),
                "transport",
                "signed with key other.",
            ),
            // The server rejects our signature (RFC 8945 §5.2).
            (
                ResponseCode::NotAuth,
                rejected(BADSIG),
                "unauthorized",
                "(BADSIG): `key_secret`",
            ),
            (
                ResponseCode::NotAuth,
                rejected(BADKEY),
                "unauthorized",
                "does not know key acme-key. with algorithm hmac-sha256, or its ACL",
            ),
            (
                ResponseCode::NotAuth,
                rejected(BADTIME),
                "unauthorized",
                "more than 300 s",
            ),
            (
                ResponseCode::NotAuth,
                badtime_at,
                "unauthorized",
                "(1700000000 s since 1970)",
            ),
            // A TSIG error with another RCODE, or another TSIG error: not what RFC 8945 says.
            (
                ResponseCode::Refused,
                rejected(BADSIG),
                "transport",
                "answered REFUSED with TSIG error BADSIG",
            ),
            (
                ResponseCode::NotAuth,
                rejected(22),
                "transport",
                "TSIG error BADTRUNC",
            ),
        ];
        for (code, verified, kind, text) in cases {
            let label = format!("{code:?} {verified:?}");
            let (got_kind, message) = match check_signature(code, verified, &key, server) {
                Ok(()) => ("ok", String::new()),
                Err(ProviderError::Unauthorized(m)) => ("unauthorized", m),
                Err(ProviderError::TransportError(m)) => ("transport", m),
                Err(other) => panic!("{other:?}"),
            };
            assert_eq!(got_kind, kind, "{label}");
            assert!(message.contains(text), "{label}: {message}");
        }
    }
}
