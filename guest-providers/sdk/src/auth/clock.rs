//! The clock, time formats and nonces that request signers put in what they sign.
//!
//! The clock is the host's (`wasi:clocks/wall-clock` through `std::time::SystemTime`). Every
//! format is UTC. Nonces come from the standard library's randomly keyed SipHash, which draws
//! its keys from `wasi:random`: unique per request, which is all the signing schemes ask of
//! them.
//!
//! ```
//! use acmebox_provider::auth::clock::UtcTime;
//!
//! let t = UtcTime::from_unix(1_369_353_600 + 3_661); // 2013-05-24 01:01:01 UTC
//! assert_eq!(t.iso8601(), "2013-05-24T01:01:01Z");
//! assert_eq!(t.basic(), "20130524T010101Z");
//! assert_eq!(t.date(), "2013-05-24");
//! assert_eq!(t.http_date(), "Fri, 24 May 2013 01:01:01 GMT");
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; 0 when the clock is before 1970, which no host is at.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A calendar time in UTC, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Seconds since the Unix epoch.
    pub unix: u64,
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl UtcTime {
    /// Now, by the host's clock.
    pub fn now() -> Self {
        Self::from_unix(unix_now())
    }

    /// The calendar time of a Unix timestamp.
    pub fn from_unix(unix: u64) -> Self {
        let days = i64::try_from(unix / 86_400).unwrap_or(0);
        let rest = u32::try_from(unix % 86_400).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        Self {
            unix,
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest % 3600 / 60,
            second: rest % 60,
        }
    }

    /// `2013-05-24T01:01:01Z` (ISO 8601 / RFC 3339, extended format).
    pub fn iso8601(&self) -> String {
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `20130524T010101Z` (ISO 8601 basic format, as AWS's `X-Amz-Date`).
    pub fn basic(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `2013-05-24`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `Fri, 24 May 2013 01:01:01 GMT` (the HTTP date of RFC 9110 §5.6.7).
    pub fn http_date(&self) -> String {
        let weekday = WEEKDAYS[usize::try_from(self.unix / 86_400 % 7).unwrap_or(0)];
        let month = MONTHS[usize::try_from(self.month.saturating_sub(1)).unwrap_or(0) % 12];
        format!(
            "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
            self.day, self.year, self.hour, self.minute, self.second
        )
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// 16 bytes no earlier call returned, from randomly keyed SipHash.
pub fn nonce_bytes() -> [u8; 16] {
    let state = RandomState::new();
    let mut out = [0u8; 16];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut hasher = state.build_hasher();
        hasher.write_usize(i);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    out
}

/// A random (version 4) UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, as nonce.
pub fn uuid_v4() -> String {
    let mut b = nonce_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        // The epoch, a leap day, the SigV4 suite's date, and a date past 2038.
        let cases = [
            (0, "1970-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 GMT"),
            (
                951_782_400,
                "2000-02-29T00:00:00Z",
                "Tue, 29 Feb 2000 00:00:00 GMT",
            ),
            (
                1_440_938_160,
                "2015-08-30T12:36:00Z",
                "Sun, 30 Aug 2015 12:36:00 GMT",
            ),
            (
                4_102_444_799,
                "2099-12-31T23:59:59Z",
                "Thu, 31 Dec 2099 23:59:59 GMT",
            ),
        ];
        for (unix, iso, http) in cases {
            let t = UtcTime::from_unix(unix);
            assert_eq!(t.iso8601(), iso);
            assert_eq!(t.http_date(), http);
        }
        assert_eq!(
            UtcTime::from_unix(1_440_938_160).basic(),
            "20150830T123600Z"
        );
    }

    #[test]
    fn nonces_differ_and_uuids_have_the_v4_shape() {
        assert_ne!(nonce_bytes(), nonce_bytes());
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(uuid_v4(), id);
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
