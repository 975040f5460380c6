//! Networks a provider may not reach unless its allow list names the address explicitly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is in a network that is refused by default, or `None` for an ordinary global
/// address.
///
/// The reason is a noun phrase for an operator ("a loopback address (127.0.0.0/8)") that
/// [`Denial`](super::Denial) messages embed after the address.
///
/// Refused IPv4 networks: `0.0.0.0/8` ("this network", including the unspecified `0.0.0.0`),
/// loopback `127.0.0.0/8`, private `10.0.0.0/8`, `172.16.0.0/12` and `192.168.0.0/16`
/// (RFC 1918), shared address space `100.64.0.0/10` (RFC 6598), link-local `169.254.0.0/16`
/// (which holds cloud metadata services at `169.254.169.254`), IETF protocol assignments
/// `192.0.0.0/24`, documentation `192.0.2.0/24`, `198.51.100.0/24` and `203.0.113.0/24`
/// (RFC 5737), the deprecated 6to4 relay anycast `192.88.99.0/24`, benchmarking
/// `198.18.0.0/15` (RFC 2544), multicast `224.0.0.0/4`, the limited broadcast
/// `255.255.255.255` and reserved `240.0.0.0/4`.
///
/// Refused IPv6 networks: unspecified `::`, loopback `::1`, unique-local `fc00::/7`,
/// link-local `fe80::/10`, deprecated site-local `fec0::/10`, multicast `ff00::/8`,
/// documentation `2001:db8::/32` and `3fff::/20`, IETF protocol assignments `2001::/23`
/// (Teredo, benchmarking, ORCHID), local-use NAT64 `64:ff9b:1::/48`, discard-only `100::/64`,
/// every IPv4-compatible address `::/96` (deprecated by RFC 4291), and everything else outside
/// the global unicast range `2000::/3`.
///
/// IPv6 addresses that embed an IPv4 address reach that IPv4 address, so they are judged by it
/// and get its reason: IPv4-mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96` (RFC 6052) and 6to4
/// `2002::/16` (RFC 3056). `::ffff:127.0.0.1` is refused as loopback; `::ffff:192.0.2.1` as
/// documentation; `64:ff9b::a00:1` as private.
///
/// ```
/// use std::net::IpAddr;
/// use acmebox_egress::blocked_reason;
/// let metadata: IpAddr = "169.254.169.254".parse()?;
/// assert!(blocked_reason(metadata).unwrap().contains("link-local"));
/// let mapped: IpAddr = "::ffff:127.0.0.1".parse()?;
/// assert!(blocked_reason(mapped).unwrap().contains("loopback"));
/// assert_eq!(blocked_reason("2606:4700::1".parse()?), None);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

/// IPv4 networks refused by default, most specific first: `(network, prefix length, reason)`.
const BLOCKED_V4: &[(u32, u8, &str)] = &[
    (0x0000_0000, 32, "the unspecified address (0.0.0.0)"),
    (
        0xffff_ffff,
        32,
        "the limited broadcast address (255.255.255.255)",
    ),
    (0x0000_0000, 8, "a \"this network\" address (0.0.0.0/8)"),
    (0x0a00_0000, 8, "a private address (RFC 1918, 10.0.0.0/8)"),
    (
        0x6440_0000,
        10,
        "a shared address (RFC 6598, 100.64.0.0/10)",
    ),
    (0x7f00_0000, 8, "a loopback address (127.0.0.0/8)"),
    (
        0xa9fe_0000,
        16,
        "a link-local address (169.254.0.0/16, home of cloud metadata services such as 169.254.169.254)",
    ),
    (
        0xac10_0000,
        12,
        "a private address (RFC 1918, 172.16.0.0/12)",
    ),
    (
        0xc000_0000,
        24,
        "an IETF protocol assignment address (192.0.0.0/24)",
    ),
    (
        0xc000_0200,
        24,
        "a documentation address (RFC 5737, 192.0.2.0/24)",
    ),
    (
        0xc058_6300,
        24,
        "a deprecated 6to4 relay address (192.88.99.0/24)",
    ),
    (
        0xc0a8_0000,
        16,
        "a private address (RFC 1918, 192.168.0.0/16)",
    ),
    (
        0xc612_0000,
        15,
        "a benchmarking address (RFC 2544, 198.18.0.0/15)",
    ),
    (
        0xc633_6400,
        24,
        "a documentation address (RFC 5737, 198.51.100.0/24)",
    ),
    (
        0xcb00_7100,
        24,
        "a documentation address (RFC 5737, 203.0.113.0/24)",
    ),
    (0xe000_0000, 4, "a multicast address (224.0.0.0/4)"),
    (0xf000_0000, 4, "a reserved address (240.0.0.0/4)"),
];

/// IPv6 networks refused by default that do not embed an IPv4 address, most specific first.
const BLOCKED_V6: &[(u128, u8, &str)] = &[
    (0, 128, "the unspecified address (::)"),
    (1, 128, "a loopback address (::1)"),
    (
        0x0064_ff9b_0001 << 80,
        48,
        "a local-use NAT64 address (RFC 8215, 64:ff9b:1::/48)",
    ),
    (
        0x0100 << 112,
        64,
        "a discard-only address (RFC 6666, 100::/64)",
    ),
    (
        0x2001_0db8 << 96,
        32,
        "a documentation address (RFC 3849, 2001:db8::/32)",
    ),
    (0x2001 << 112, 32, "a Teredo address (RFC 4380, 2001::/32)"),
    (
        0x2001 << 112,
        23,
        "an IETF protocol assignment address (2001::/23)",
    ),
    (
        0x3fff << 112,
        20,
        "a documentation address (RFC 9637, 3fff::/20)",
    ),
    (0xfc00 << 112, 7, "a unique-local address (fc00::/7)"),
    (0xfe80 << 112, 10, "a link-local address (fe80::/10)"),
    (
        0xfec0 << 112,
        10,
        "a deprecated site-local address (fec0::/10)",
    ),
    (0xff00 << 112, 8, "a multicast address (ff00::/8)"),
];

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    BLOCKED_V4
        .iter()
        .find(|(net, len, _)| prefix_eq32(bits, *net, *len))
        .map(|(_, _, reason)| *reason)
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    if let Some((_, _, reason)) = BLOCKED_V6
        .iter()
        .find(|(net, len, _)| prefix_eq128(bits, *net, *len))
    {
        return Some(reason);
    }
    if let Some(v4) = embedded_ipv4(ip) {
        return blocked_v4(v4);
    }
    if prefix_eq128(bits, 0, 96) {
        // `::1` and `::` were matched above; the rest of ::/96 are IPv4-compatible addresses.
        return Some("a deprecated IPv4-compatible address (RFC 4291, ::/96)");
    }
    if !prefix_eq128(bits, 0x2000 << 112, 3) {
        return Some("a reserved address (outside the global unicast range 2000::/3)");
    }
    None
}

/// The first address of every network refused by default, including the IPv4-mapped, NAT64
/// and 6to4 forms of the IPv4 ones and the parts of IPv6 outside `2000::/3` (`::/3`,
/// `4000::/2`, `8000::/1`).
pub(super) fn blocked_network_starts() -> impl Iterator<Item = IpAddr> {
    let v6 = |bits: u128| IpAddr::V6(Ipv6Addr::from(bits));
    let v4 = BLOCKED_V4.iter().flat_map(move |(net, _, _)| {
        let bits = u128::from(*net);
        [
            IpAddr::V4(Ipv4Addr::from(*net)),
            v6((0xffff << 32) | bits),
            v6((0x0064_ff9b << 96) | bits),
            v6((0x2002 << 112) | (bits << 80)),
        ]
    });
    let outside_global = [0, 0x4000 << 112, 0x8000 << 112].map(v6);
    v4.chain(BLOCKED_V6.iter().map(move |(net, _, _)| v6(*net)))
        .chain(outside_global)
}

/// The IPv4 address reached through an IPv4-mapped (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`)
/// or 6to4 (`2002::/16`) address. IPv4-compatible addresses are refused on their own.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    // Truncating casts below keep exactly the 32 bits that hold the embedded address.
    if prefix_eq128(bits, 0xffff << 32, 96) || prefix_eq128(bits, 0x0064_ff9b << 96, 96) {
        return Some(Ipv4Addr::from(bits as u32));
    }
    if prefix_eq128(bits, 0x2002 << 112, 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

/// True when the first `len` bits of `a` and `b` are equal.
pub(super) fn prefix_eq32(a: u32, b: u32, len: u8) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    (a ^ b) & mask == 0
}

/// True when the first `len` bits of `a` and `b` are equal.
pub(super) fn prefix_eq128(a: u128, b: u128, len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    (a ^ b) & mask == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_reason_table() {
        let cases: &[(&str, Option<&str>)] = &[
            // IPv4 special-purpose networks.
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("this network")),
            ("10.0.0.1", Some("RFC 1918")),
            ("10.255.255.255", Some("RFC 1918")),
            ("100.64.0.1", Some("shared")),
            ("100.127.255.255", Some("shared")),
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("169.254.169.254", Some("link-local")),
            ("169.254.0.1", Some("link-local")),
            ("172.16.0.1", Some("RFC 1918")),
            ("172.31.255.254", Some("RFC 1918")),
            ("192.0.0.8", Some("IETF protocol")),
            ("192.0.2.1", Some("documentation")),
            ("192.88.99.1", Some("6to4 relay")),
            ("192.168.1.1", Some("RFC 1918")),
            ("198.18.0.1", Some("benchmarking")),
            ("198.19.255.255", Some("benchmarking")),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.9", Some("documentation")),
            ("224.0.0.1", Some("multicast")),
            ("239.255.255.250", Some("multicast")),
            ("240.0.0.1", Some("reserved")),
            ("255.255.255.254", Some("reserved")),
            ("255.255.255.255", Some("broadcast")),
            // IPv4 neighbours of the ranges above stay allowed.
            ("9.255.255.255", None),
            ("11.0.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("126.255.255.255", None),
            ("128.0.0.0", None),
            ("169.253.255.255", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.0.1.255", None),
            ("192.0.3.0", None),
            ("192.167.255.255", None),
            ("192.169.0.0", None),
            ("198.17.255.255", None),
            ("198.20.0.0", None),
            ("203.0.114.0", None),
            ("223.255.255.255", None),
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            // IPv6 special-purpose networks.
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("fc00::1", Some("unique-local")),
            ("fd00::1", Some("unique-local")),
            ("fdff:ffff::1", Some("unique-local")),
            ("fe80::1", Some("link-local")),
            ("febf::1", Some("link-local")),
            ("fec0::1", Some("site-local")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
            ("2001:db8:ffff::1", Some("documentation")),
            ("3fff::1", Some("documentation")),
            ("2001::1", Some("Teredo")),
            ("2001:2::1", Some("IETF protocol")),
            ("64:ff9b:1::1", Some("local-use NAT64")),
            ("100::1", Some("discard-only")),
            ("5f00::1", Some("outside the global unicast")),
            ("4000::1", Some("outside the global unicast")),
            ("1::1", Some("outside the global unicast")),
            // Embedded IPv4: judged by the IPv4 address.
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.0.0.1", Some("RFC 1918")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:0.0.0.0", Some("unspecified")),
            ("::ffff:192.0.2.1", Some("documentation")),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some("IPv4-compatible")),
            ("::8.8.8.8", Some("IPv4-compatible")),
            ("64:ff9b::a00:1", Some("RFC 1918")),
            ("64:ff9b::7f00:1", Some("loopback")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("64:ff9b::808:808", None),
            ("2002:7f00:1::1", Some("loopback")),
            ("2002:a00:1::", Some("RFC 1918")),
            ("2002:c000:201::1", Some("documentation")),
            ("2002:808:808::1", None),
            // Ordinary global IPv6.
            ("2606:4700::1111", None),
            ("2a00:1450:4001::200e", None),
            ("2001:200::1", None),
        ];
        for (input, want) in cases {
            let ip: IpAddr = input.parse().expect("the test input is valid");
            let got = blocked_reason(ip);
            match (got, want) {
                (None, None) => {}
                (Some(reason), Some(want)) => {
                    assert!(reason.contains(want), "{input}: {reason:?} lacks {want:?}")
                }
                _ => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn prefix_edges() {
        assert!(prefix_eq32(1, 2, 0));
        assert!(!prefix_eq32(1, 2, 32));
        assert!(prefix_eq128(1, u128::MAX, 0));
        assert!(prefix_eq128(u128::MAX, u128::MAX, 128));
        assert!(!prefix_eq128(0, 1, 128));
    }

    proptest::proptest! {
        /// An address reached through an IPv4 embedding is refused exactly when the IPv4
        /// address is.
        #[test]
        fn embeddings_follow_ipv4(bits: u32) {
            let v4 = Ipv4Addr::from(bits);
            let want = blocked_v4(v4);
            let mapped = v4.to_ipv6_mapped();
            let nat64 = Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(bits));
            let six_to_four = Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(bits) << 80) | 1);
            for v6 in [mapped, nat64, six_to_four] {
                proptest::prop_assert_eq!(blocked_reason(IpAddr::V6(v6)), want, "{}", v6);
            }
        }
    }
}
