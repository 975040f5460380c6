//! Transaction signatures (TSIG, RFC 8945) with HMAC.
//!
//! The message codec is hickory-proto's; the MACs are computed here with the RustCrypto `hmac`
//! crates, which build for wasm32-wasip2 (hickory's own TSIG signer needs ring or aws-lc).
//!
//! A request's MAC covers the message as sent without the TSIG RR, then the TSIG variables
//! (RFC 8945 §4.3.3). A response's MAC covers the request's MAC prefixed with its length, then the
//! response without its TSIG RR, with ARCOUNT one less and the ID set to the original ID, then
//! its TSIG variables (§4.3.1, §5.3).

use core::fmt;

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::tsig::{
    TSIG, TsigAlgorithm, TsigError, make_tsig_record, message_tbs,
};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncoder};
use hmac::digest::{InvalidLength, KeyInit};
use hmac::{Hmac, Mac};

/// How far apart, in seconds, the signer's clock and the verifier's may be (RFC 8945 §5.2.3
/// recommends 300). Protects against replay of old messages while tolerating clock drift.
pub const DEFAULT_FUDGE: u16 = 300;

/// A TSIG HMAC algorithm (RFC 8945 §6). The truncated variants are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `hmac-sha256`, the default: what `tsig-keygen` and `keymgr` generate.
    HmacSha256,
    /// `hmac-sha512`.
    HmacSha512,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha224`.
    HmacSha224,
    /// `hmac-sha1`, for old keys.
    HmacSha1,
    /// `hmac-md5.sig-alg.reg.int`, for old keys.
    HmacMd5,
}

impl Algorithm {
    /// Every algorithm, in the order error messages list them.
    pub const ALL: [Self; 6] = [
        Self::HmacSha256,
        Self::HmacSha512,
        Self::HmacSha384,
        Self::HmacSha224,
        Self::HmacSha1,
        Self::HmacMd5,
    ];

    /// The name operators write (BIND's and Knot's spelling).
    pub fn config_name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha512 => "hmac-sha512",
            Self::HmacSha384 => "hmac-sha384",
            Self::HmacSha224 => "hmac-sha224",
            Self::HmacSha1 => "hmac-sha1",
            Self::HmacMd5 => "hmac-md5",
        }
    }

    /// The algorithm's name in the TSIG RR (RFC 8945 §6).
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::HmacMd5 => "hmac-md5.sig-alg.reg.int",
            other => other.config_name(),
        }
    }

    fn to_hickory(self) -> TsigAlgorithm {
        match self {
            Self::HmacSha256 => TsigAlgorithm::HmacSha256,
            Self::HmacSha512 => TsigAlgorithm::HmacSha512,
            Self::HmacSha384 => TsigAlgorithm::HmacSha384,
            Self::HmacSha224 => TsigAlgorithm::HmacSha224,
            Self::HmacSha1 => TsigAlgorithm::HmacSha1,
            Self::HmacMd5 => TsigAlgorithm::HmacMd5,
        }
    }

    /// The HMAC of `data` under `key`.
    pub fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::HmacSha256 => compute::<Hmac<sha2::Sha256>>(key, data),
            Self::HmacSha512 => compute::<Hmac<sha2::Sha512>>(key, data),
            Self::HmacSha384 => compute::<Hmac<sha2::Sha384>>(key, data),
            Self::HmacSha224 => compute::<Hmac<sha2::Sha224>>(key, data),
            Self::HmacSha1 => compute::<Hmac<sha1::Sha1>>(key, data),
            Self::HmacMd5 => compute::<Hmac<md5::Md5>>(key, data),
        }
        // HMAC takes keys of any length, so `InvalidLength` cannot happen; an empty MAC would
        // only make the server answer BADSIG.
        .unwrap_or_default()
    }

    /// Whether `tag` is the HMAC of `data` under `key`, compared in constant time.
    pub fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            Self::HmacSha256 => check::<Hmac<sha2::Sha256>>(key, data, tag),
            Self::HmacSha512 => check::<Hmac<sha2::Sha512>>(key, data, tag),
            Self::HmacSha384 => check::<Hmac<sha2::Sha384>>(key, data, tag),
            Self::HmacSha224 => check::<Hmac<sha2::Sha224>>(key, data, tag),
            Self::HmacSha1 => check::<Hmac<sha1::Sha1>>(key, data, tag),
            Self::HmacMd5 => check::<Hmac<md5::Md5>>(key, data, tag),
        }
    }
}

/// A TSIG secret. Its `Debug` prints only the type name.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the decoded secret.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret")
    }
}

/// A TSIG key: its name, algorithm and secret, as the server knows them.
#[derive(Debug, Clone)]
pub struct TsigKey {
    name: Name,
    algorithm: Algorithm,
    secret: Secret,
}

/// Why a response does not carry a valid signature by our key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unverified {
    /// The response has no TSIG RR.
    Missing,
    /// The server reports a TSIG error (RFC 8945 §3): BADSIG, BADKEY, BADTIME, ...
    ServerError {
        /// The TSIG error code.
        error: u16,
        /// The server's clock, which a BADTIME answer carries in its other data (§5.2.3).
        server_time: Option<u64>,
    },
    /// The TSIG RR names another key or algorithm.
    OtherKey(String),
    /// The MAC does not match.
    BadMac,
    /// The signature time is more than the fudge away from ours.
    BadTime {
        /// The time in the response's TSIG.
        signed: u64,
        /// Our time.
        now: u64,
    },
    /// The message or its TSIG RR could not be decoded.
    Malformed(String),
}

impl fmt::Display for Unverified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("it has no TSIG record"),
            Self::ServerError { error, .. } => {
                write!(f, "its TSIG error is {}", error_name(*error))
            }
            Self::OtherKey(what) => write!(f, "it is signed with {what}"),
            Self::BadMac => f.write_str("its MAC does not match"),
            Self::BadTime { signed, now } => write!(
                f,
                "it was signed at {signed} and the time here is {now}, more than {DEFAULT_FUDGE} s apart"
            ),
            Self::Malformed(why) => write!(f, "it could not be decoded: {why}"),
        }
    }
}

impl TsigKey {
    /// A key named `name` (absolute).
    pub fn new(name: Name, algorithm: Algorithm, secret: Secret) -> Self {
        Self {
            name,
            algorithm,
            secret,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Signs `message` at time `now` (seconds since the epoch), setting its TSIG RR, and returns
    /// the MAC, which the response's MAC covers. The message must not change afterwards.
    pub fn sign(&self, message: &mut Message, now: u64) -> Result<Vec<u8>, String> {
        self.sign_after(message, now, None)
    }

    /// Checks the TSIG of `response`, the answer to a request whose MAC was `request_mac`.
    pub fn verify(&self, response: &[u8], request_mac: &[u8], now: u64) -> Result<(), Unverified> {
        self.verify_after(response, Some(request_mac), now)
    }

    /// Signs `message`; a response's signature also covers the MAC of the request it answers.
    fn sign_after(
        &self,
        message: &mut Message,
        now: u64,
        prior_mac: Option<&[u8]>,
    ) -> Result<Vec<u8>, String> {
        message.signature = None;
        let unsigned = TSIG::new(
            self.algorithm.to_hickory(),
            now,
            DEFAULT_FUDGE,
            Vec::new(),
            message.metadata.id,
            None,
            Vec::new(),
        );
        let mut data = Vec::new();
        if let Some(prior) = prior_mac {
            push_mac(&mut data, prior)?;
        }
        data.extend(message_tbs(message, &unsigned, &self.name).map_err(|e| e.to_string())?);
        let mac = self.algorithm.mac(&self.secret.0, &data);
        let record = make_tsig_record(self.name.clone(), unsigned.set_mac(mac.clone()));
        message.signature = Some(Box::new(record));
        Ok(mac)
    }

    fn verify_after(
        &self,
        wire: &[u8],
        prior_mac: Option<&[u8]>,
        now: u64,
    ) -> Result<(), Unverified> {
        let Some(signed) = split_tsig(wire).map_err(Unverified::Malformed)? else {
            return Err(Unverified::Missing);
        };
        let tsig = &signed.tsig;
        if let Some(error) = tsig.error {
            let server_time = match tsig.other.as_slice() {
                &[a, b, c, d, e, f] => Some(u64::from_be_bytes([0, 0, a, b, c, d, e, f])),
                _ => None,
            };
            return Err(Unverified::ServerError {
                error: error.into(),
                server_time,
            });
        }
        if !signed.key_name.eq_ignore_root(&self.name)
            || !tsig
                .algorithm
                .to_name()
                .to_ascii()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(self.algorithm.wire_name())
        {
            return Err(Unverified::OtherKey(format!(
                "key {} ({})",
                signed.key_name, tsig.algorithm
            )));
        }
        let mut data = Vec::with_capacity(wire.len() + 64);
        if let Some(prior) = prior_mac {
            push_mac(&mut data, prior).map_err(Unverified::Malformed)?;
        }
        // The header as it was before the TSIG RR was added: the original ID, one record less.
        let mut header = [0; 12];
        header.copy_from_slice(&wire[..12]);
        header[..2].copy_from_slice(&tsig.oid.to_be_bytes());
        let additionals = u16::from_be_bytes([header[10], header[11]]).saturating_sub(1);
        header[10..].copy_from_slice(&additionals.to_be_bytes());
        data.extend_from_slice(&header);
        data.extend_from_slice(&wire[12..signed.start]);
        // An encoder writes from the start of its buffer, so the variables get one of their own.
        let mut variables = Vec::with_capacity(128);
        tsig.emit_tsig_for_mac(&mut BinEncoder::new(&mut variables), &signed.key_name)
            .map_err(|e| Unverified::Malformed(e.to_string()))?;
        data.extend(variables);
        if !self.algorithm.verify(&self.secret.0, &data, &tsig.mac) {
            return Err(Unverified::BadMac);
        }
        if now.abs_diff(tsig.time) > u64::from(tsig.fudge.min(DEFAULT_FUDGE)) {
            return Err(Unverified::BadTime {
                signed: tsig.time,
                now,
            });
        }
        Ok(())
    }
}

/// The mnemonic of a TSIG error (RFC 8945 §3, the DNS RCODE registry).
pub fn error_name(code: u16) -> String {
    match TsigError::from(code) {
        TsigError::BadSig => "BADSIG".into(),
        TsigError::BadKey => "BADKEY".into(),
        TsigError::BadTime => "BADTIME".into(),
        TsigError::BadTrunc => "BADTRUNC".into(),
        TsigError::Unknown(code) => format!("{code}"),
    }
}

/// A message's TSIG RR and where it starts.
struct Signed {
    /// The offset of the TSIG RR: the signed data ends here.
    start: usize,
    key_name: Name,
    tsig: TSIG,
}

/// Finds the TSIG RR, which must be the last record of the message (RFC 8945 §5.1).
fn split_tsig(wire: &[u8]) -> Result<Option<Signed>, String> {
    use hickory_proto::op::{Header, Query};

    let mut decoder = BinDecoder::new(wire);
    let header = Header::read(&mut decoder).map_err(|e| e.to_string())?;
    let counts = header.counts;
    if counts.additionals == 0 {
        return Ok(None);
    }
    for _ in 0..counts.queries {
        Query::read(&mut decoder).map_err(|e| e.to_string())?;
    }
    let records =
        u32::from(counts.answers) + u32::from(counts.authorities) + u32::from(counts.additionals);
    for _ in 1..records {
        Record::read(&mut decoder).map_err(|e| e.to_string())?;
    }
    let start = decoder.index();
    let last = Record::read(&mut decoder).map_err(|e| e.to_string())?;
    if last.record_type() != RecordType::TSIG {
        return Ok(None);
    }
    let RData::TSIG(tsig) = last.data else {
        return Err("the TSIG record has no data".into());
    };
    Ok(Some(Signed {
        start,
        key_name: last.name,
        tsig,
    }))
}

/// Appends a MAC prefixed with its length, as a response's MAC covers the request's.
fn push_mac(data: &mut Vec<u8>, mac: &[u8]) -> Result<(), String> {
    let len = u16::try_from(mac.len()).map_err(|_| "the request MAC is too long".to_owned())?;
    data.extend_from_slice(&len.to_be_bytes());
    data.extend_from_slice(mac);
    Ok(())
}

fn compute<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, InvalidLength> {
    let mut mac = <M as Mac>::new_from_slice(key)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

fn check<M: Mac + KeyInit>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{MessageType, Query, ResponseCode};

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 2202 (MD5, SHA-1) and RFC 4231 (SHA-2) test cases 1 and 2.
    #[test]
    fn hmac_vectors() {
        let hi = b"Hi There".as_slice();
        let jefe = (
            b"Jefe".as_slice(),
            b"what do ya want for nothing?".as_slice(),
        );
        let cases: [(Algorithm, &[u8], &[u8], &str); 12] = [
            (
                Algorithm::HmacMd5,
                &[0x0b; 16],
                hi,
                "9294727a3638bb1c13f48ef8158bfc9d",
            ),
            (
                Algorithm::HmacMd5,
                jefe.0,
                jefe.1,
                "750c783e6ab0b503eaa86e310a5db738",
            ),
            (
                Algorithm::HmacSha1,
                &[0x0b; 20],
                hi,
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                Algorithm::HmacSha1,
                jefe.0,
                jefe.1,
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                Algorithm::HmacSha224,
                &[0x0b; 20],
                hi,
                "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
            ),
            (
                Algorithm::HmacSha224,
                jefe.0,
                jefe.1,
                "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
            ),
            (
                Algorithm::HmacSha256,
                &[0x0b; 20],
                hi,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                Algorithm::HmacSha256,
                jefe.0,
                jefe.1,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                Algorithm::HmacSha384,
                &[0x0b; 20],
                hi,
                "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                 faea9ea9076ede7f4af152e8b2fa9cb6",
            ),
            (
                Algorithm::HmacSha384,
                jefe.0,
                jefe.1,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                 8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                Algorithm::HmacSha512,
                &[0x0b; 20],
                hi,
                "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                 daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
            ),
            (
                Algorithm::HmacSha512,
                jefe.0,
                jefe.1,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ];
        for (algorithm, key, data, want) in cases {
            let want = want.replace(' ', "");
            assert_eq!(hex(&algorithm.mac(key, data)), want, "{algorithm:?}");
            assert!(algorithm.verify(key, data, &algorithm.mac(key, data)));
        }
    }

    const NOW: u64 = 1_700_000_000;

    fn key(algorithm: Algorithm) -> TsigKey {
        let Ok(name) = Name::from_ascii("acme-key.") else {
            panic!("key name");
        };
        TsigKey::new(
            name,
            algorithm,
            Secret::new(b"0123456789abcdef0123".to_vec()),
        )
    }

    fn soa_query(id: u16) -> Message {
        let Ok(name) = Name::from_ascii("_acme-challenge.rfc2136.test.") else {
            panic!("name");
        };
        let mut message = Message::query();
        message.metadata.id = id;
        message.add_query(Query::query(name, RecordType::SOA));
        message
    }

    /// What a server does: checks the request, then signs a response that covers its MAC.
    fn serve(key: &TsigKey, request: &[u8], now: u64) -> (Message, Vec<u8>) {
        assert_eq!(key.verify_after(request, None, now), Ok(()));
        let Ok(request) = Message::from_vec(request) else {
            panic!("request does not decode");
        };
        let Some(tsig) = request.additionals.last().and_then(|r| match &r.data {
            RData::TSIG(tsig) => Some(tsig.mac.clone()),
            _ => None,
        }) else {
            panic!("request is not signed");
        };
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.response_code = ResponseCode::NXDomain;
        response.add_queries(request.queries.clone());
        let Ok(_) = key.sign_after(&mut response, now, Some(&tsig)) else {
            panic!("response signing failed");
        };
        (response, tsig)
    }

    #[test]
    fn sign_then_verify_for_every_algorithm() {
        for algorithm in Algorithm::ALL {
            let key = key(algorithm);
            let mut request = soa_query(0x1234);
            let Ok(request_mac) = key.sign(&mut request, NOW) else {
                panic!("signing failed");
            };
            let Ok(wire) = request.to_vec() else {
                panic!("request does not encode");
            };
            let (response, mac_seen) = serve(&key, &wire, NOW + 10);
            assert_eq!(mac_seen, request_mac);
            let Ok(response) = response.to_vec() else {
                panic!("response does not encode");
            };
            assert_eq!(
                key.verify(&response, &request_mac, NOW + 20),
                Ok(()),
                "{algorithm:?}"
            );
            // Another request's MAC does not verify this response.
            let mut other = request_mac.clone();
            other[0] ^= 1;
            assert_eq!(key.verify(&response, &other, NOW), Err(Unverified::BadMac));
            assert_eq!(
                key.verify(&response, &request_mac, NOW + 1000),
                Err(Unverified::BadTime {
                    signed: NOW + 10,
                    now: NOW + 1000
                })
            );
        }
    }

    #[test]
    fn tampered_messages_fail() {
        let key = key(Algorithm::HmacSha256);
        let mut request = soa_query(7);
        let Ok(request_mac) = key.sign(&mut request, NOW) else {
            panic!("signing failed");
        };
        let Ok(wire) = request.to_vec() else {
            panic!("request does not encode");
        };
        let (response, _) = serve(&key, &wire, NOW);
        let Ok(response) = response.to_vec() else {
            panic!("response does not encode");
        };
        // Change each byte of the header and the question: the flags, the RCODE, the counts, the
        // name. The ID is left out: the MAC covers the original ID instead (RFC 8945 §4.3.1), and
        // the client compares the ID itself.
        let question_end = 12 + "_acme-challenge.rfc2136.test.".len() + 1 + 4;
        for byte in 2..question_end {
            let mut tampered = response.clone();
            tampered[byte] ^= 0x20;
            let result = key.verify(&tampered, &request_mac, NOW);
            assert!(result.is_err(), "byte {byte} changed and still verified");
        }
        // A wrong secret, another key name, another algorithm.
        let wrong = TsigKey::new(
            key.name.clone(),
            Algorithm::HmacSha256,
            Secret::new(b"another secret".to_vec()),
        );
        assert_eq!(
            wrong.verify(&response, &request_mac, NOW),
            Err(Unverified::BadMac)
        );
        let Ok(other_name) = Name::from_ascii("other-key.") else {
            panic!("name");
        };
        let renamed = TsigKey::new(other_name, Algorithm::HmacSha256, key.secret.clone());
        assert!(matches!(
            renamed.verify(&response, &request_mac, NOW),
            Err(Unverified::OtherKey(_))
        ));
        let sha512 = TsigKey::new(key.name.clone(), Algorithm::HmacSha512, key.secret.clone());
        assert!(matches!(
            sha512.verify(&response, &request_mac, NOW),
            Err(Unverified::OtherKey(_))
        ));
        // Names compare case-insensitively.
        let Ok(upper) = Name::from_ascii("ACME-KEY.") else {
            panic!("name");
        };
        let upper = TsigKey::new(upper, Algorithm::HmacSha256, key.secret.clone());
        assert_eq!(upper.verify(&response, &request_mac, NOW), Ok(()));
    }

    #[test]
    fn unsigned_and_rejected_answers() {
        let key = key(Algorithm::HmacSha256);
        let mut response = Message::response(9, hickory_proto::op::OpCode::Update);
        response.metadata.message_type = MessageType::Response;
        response.metadata.response_code = ResponseCode::NotAuth;
        let Ok(unsigned) = response.to_vec() else {
            panic!("encode");
        };
        assert_eq!(
            key.verify(&unsigned, &[1; 32], NOW),
            Err(Unverified::Missing)
        );

        // BADKEY answers carry a TSIG RR with an empty MAC and the error set (RFC 8945 §5.3.2).
        let tsig = TSIG::new(
            TsigAlgorithm::HmacSha256,
            NOW,
            DEFAULT_FUDGE,
            Vec::new(),
            9,
            Some(TsigError::BadKey),
            Vec::new(),
        );
        response.signature = Some(Box::new(make_tsig_record(key.name.clone(), tsig)));
        let Ok(rejected) = response.to_vec() else {
            panic!("encode");
        };
        assert_eq!(
            key.verify(&rejected, &[1; 32], NOW),
            Err(Unverified::ServerError {
                error: 17,
                server_time: None
            })
        );
        // BADTIME answers carry the server's clock as 48 bits.
        let tsig = TSIG::new(
            TsigAlgorithm::HmacSha256,
            NOW,
            DEFAULT_FUDGE,
            Vec::new(),
            9,
            Some(TsigError::BadTime),
            vec![0, 0, 0x65, 0x53, 0xf1, 0x00],
        );
        response.signature = Some(Box::new(make_tsig_record(key.name.clone(), tsig)));
        let Ok(rejected) = response.to_vec() else {
            panic!("encode");
        };
        assert_eq!(
            key.verify(&rejected, &[1; 32], NOW),
            Err(Unverified::ServerError {
                error: 18,
                server_time: Some(NOW)
            })
        );
        assert_eq!(error_name(17), "BADKEY");
        assert_eq!(error_name(16), "BADSIG");
        assert_eq!(error_name(18), "BADTIME");

        assert!(matches!(
            key.verify(&unsigned[..8], &[1; 32], NOW),
            Err(Unverified::Malformed(_))
        ));
    }
}
