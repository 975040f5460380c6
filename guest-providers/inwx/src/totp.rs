//! TOTP codes (RFC 6238) for INWX's two-factor authentication: HMAC-SHA1 over the number of
//! 30-second steps since the Unix epoch, truncated to 6 digits (RFC 4226 §5.3), from the
//! base32 secret (RFC 4648 §6) shown in the authenticator QR code.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The time step, in seconds (RFC 6238 §4.1's default, which INWX uses).
pub const STEP: u64 = 30;

/// Digits in a code.
const DIGITS: u32 = 6;

/// The TOTP code for `key` at `unix_secs`, zero-padded to 6 digits.
pub fn code(key: &[u8], unix_secs: u64) -> String {
    let digits = DIGITS as usize;
    format!("{:0digits$}", hotp(key, unix_secs / STEP, DIGITS))
}

/// The HOTP value (RFC 4226 §5.3) of `key` and `counter`, `digits` long.
fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; an empty MAC would only
    // give a wrong code, which the API refuses.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let hash: [u8; 20] = mac.finalize().into_bytes().into();
    // Dynamic truncation: the low nibble of the last byte picks 4 bytes; the offset is at
    // most 15, so `offset + 3` stays inside the 20-byte hash.
    let offset = usize::from(hash[19] & 0x0f);
    let value = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    value % 10_u32.pow(digits)
}

/// The bytes of a base32 secret: case-insensitive, spaces, dashes and `=` padding ignored.
/// `None` for any other character or an empty secret.
pub fn decode_base32(secret: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in secret.chars() {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => u32::from(c) - u32::from('A'),
            c @ '2'..='7' => u32::from(c) - u32::from('2') + 26,
            ' ' | '-' | '=' => continue,
            _ => return None,
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (!bytes.is_empty()).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 seed, and the same in base32.
    const SEED: &[u8] = b"12345678901234567890";
    const SEED_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    /// RFC 6238 Appendix B, SHA1 rows: time, 8-digit TOTP.
    const VECTORS: [(u64, u32); 6] = [
        (59, 94_287_082),
        (1_111_111_109, 7_081_804),
        (1_111_111_111, 14_050_471),
        (1_234_567_890, 89_005_924),
        (2_000_000_000, 69_279_037),
        (20_000_000_000, 65_353_130),
    ];

    #[test]
    fn rfc_6238_sha1_vectors_with_8_digits() {
        for (time, want) in VECTORS {
            assert_eq!(hotp(SEED, time / STEP, 8), want, "T = {time}");
        }
    }

    #[test]
    fn rfc_6238_sha1_vectors_as_6_digit_codes() {
        for (time, want) in VECTORS {
            assert_eq!(
                code(SEED, time),
                format!("{:06}", want % 1_000_000),
                "T = {time}"
            );
        }
        // Leading zeros are kept.
        assert_eq!(code(SEED, 1_234_567_890), "005924");
    }

    #[test]
    fn rfc_4226_hotp_vectors() {
        // RFC 4226 Appendix D: counters 0..9.
        let want = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, want) in want.into_iter().enumerate() {
            assert_eq!(hotp(SEED, counter as u64, 6), want, "counter {counter}");
        }
    }

    #[test]
    fn base32_decodes_rfc_4648_vectors() {
        let cases: [(&str, &[u8]); 7] = [
            ("MY======", b"f"),
            ("MZXQ====", b"fo"),
            ("MZXW6===", b"foo"),
            ("MZXW6YQ=", b"foob"),
            ("MZXW6YTB", b"fooba"),
            ("MZXW6YTBOI======", b"foobar"),
            ("mzxw 6ytb-oi", b"foobar"),
        ];
        for (text, want) in cases {
            assert_eq!(decode_base32(text).as_deref(), Some(want), "{text}");
        }
        assert_eq!(decode_base32(SEED_BASE32).as_deref(), Some(SEED));
        assert_eq!(decode_base32("not base32!"), None);
        assert_eq!(decode_base32("1"), None);
        assert_eq!(decode_base32(""), None);
    }
}
