//! Who is asking: the client address, masked before it is stored or used as a key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

/// The socket peer of a request, when the server was started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The client IP: the last `X-Forwarded-For` entry when the proxy is trusted (the one
/// the proxy appended; earlier entries are whatever the client sent), otherwise the
/// socket peer.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for {
        // Only the entry the proxy appended counts; if it is unreadable, earlier
        // (client-supplied) entries must not take its place.
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|s| s.trim().parse::<IpAddr>().ok());
        if last.is_some() {
            return last;
        }
    }
    peer.map(|p| p.ip())
}

/// The client network the ledger keeps instead of the IP: IPv4 masked to /24, IPv6 to
/// /48. An IPv6 address that carries an IPv4 address counts as that IPv4 address:
/// IPv4-mapped (`::ffff:a.b.c.d`), 6to4 (`2002:AABB:CCDD::/16`, whose /48 *is* the whole
/// IPv4 address), Teredo (`2001:0::/32`, the client's IPv4 in the last 32 bits, inverted)
/// and NAT64's well-known prefix (`64:ff9b::/96`). `"unknown"` when there is none.
pub fn masked_network(ip: Option<IpAddr>) -> String {
    match ip.map(canonical) {
        Some(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{}/24", Ipv4Addr::new(a, b, c, 0))
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{}/48", Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
        None => "unknown".to_owned(),
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The IPv4 address an IPv6 address carries, if it is of a kind that carries one.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 is the site of IPv4 AA.BB.CC.DD.
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        // Teredo (RFC 4380): 2001:0:<server>:<flags>:<port>:<client>, the client's
        // address with every bit inverted.
        [0x2001, 0, _, _, _, _, hi, lo] => Some(v4(!hi, !lo)),
        // NAT64 well-known prefix (RFC 6052): 64:ff9b::a.b.c.d.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        _ => v6.to_ipv4_mapped(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_masked_to_24_bits() {
        assert_eq!(
            masked_network(Some("203.0.113.77".parse().expect("ip"))),
            "203.0.113.0/24"
        );
        assert_eq!(
            masked_network(Some("::ffff:198.51.100.9".parse().expect("ip"))),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn ipv6_is_masked_to_48_bits() {
        assert_eq!(
            masked_network(Some("2001:db8:abcd:12:1:2:3:4".parse().expect("ip"))),
            "2001:db8:abcd::/48"
        );
        assert_eq!(masked_network(None), "unknown");
    }

    /// A /48 of a 6to4 address is the whole IPv4 address inside it (and a Teredo /48 is
    /// its relay server's, which lumps its clients together): both are masked as that
    /// IPv4 address, to /24.
    #[test]
    fn ipv6_carrying_ipv4_is_masked_like_that_ipv4() {
        // 6to4 of 203.0.113.77 (cb00:714d).
        assert_eq!(
            masked_network(Some("2002:cb00:714d::1".parse().expect("ip"))),
            "203.0.113.0/24"
        );
        assert_eq!(
            masked_network(Some("2002:cb00:714d:5:6:7:8:9".parse().expect("ip"))),
            "203.0.113.0/24"
        );
        // Teredo, RFC 4380's example: server 65.54.227.120, client 192.0.2.45 (inverted: 3fff:fdd2).
        assert_eq!(
            masked_network(Some(
                "2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().expect("ip")
            )),
            "192.0.2.0/24"
        );
        assert_eq!(
            masked_network(Some("64:ff9b::c000:22d".parse().expect("ip"))),
            "192.0.2.0/24"
        );
        // Other 2001: addresses are ordinary IPv6.
        assert_eq!(
            masked_network(Some("2001:db8:abcd:12::1".parse().expect("ip"))),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            masked_network(Some("2001:1::1".parse().expect("ip"))),
            "2001:1::/48"
        );
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.2.3.4, 10.0.0.7".parse().expect("header"),
        );
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(client_ip(&headers, Some(peer), false), Some(peer.ip()));
        assert_eq!(
            client_ip(&headers, Some(peer), true),
            Some("10.0.0.7".parse().expect("ip"))
        );
        assert_eq!(
            client_ip(&HeaderMap::new(), Some(peer), true),
            Some(peer.ip())
        );
    }
}
