//! HMAC (RFC 2104) over the hashes the request signers use, from the `hmac`, `sha1` and `sha2`
//! crates.

#[cfg(any(feature = "aliyun-rpc", feature = "dnsmadeeasy"))]
use sha1::Sha1;
#[cfg(any(feature = "sigv4", feature = "edgegrid", feature = "tc3"))]
use sha2::Sha256;

use hmac::{Hmac, Mac};

/// HMAC-SHA256 of `data` keyed with `key`.
#[cfg(any(feature = "sigv4", feature = "edgegrid", feature = "tc3"))]
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 of `data` keyed with `key`.
#[cfg(any(feature = "aliyun-rpc", feature = "dnsmadeeasy"))]
pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return [0; 20];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports, reason = "which tests exist depends on the features")]
    use super::*;

    /// RFC 4231 test case 2 and RFC 2202 test case 2 ("Jefe").
    #[test]
    #[cfg(any(feature = "sigv4", feature = "edgegrid", feature = "tc3"))]
    fn hmac_sha256_matches_rfc_4231() {
        assert_eq!(
            crate::auth::clock::hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    #[cfg(any(feature = "aliyun-rpc", feature = "dnsmadeeasy"))]
    fn hmac_sha1_matches_rfc_2202() {
        assert_eq!(
            crate::auth::clock::hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
