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
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// The client IP: the last `X-Forwarded-For` entry when the proxy is trusted (the one
/// the proxy appended; earlier entries are whatever the client sent), otherwise the
/// socket peer.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> Option<IpAddr> {
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
/// /48 (an IPv4-mapped IPv6 address counts as IPv4). `"unknown"` when there is none.
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
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_masked_to_24_bits() {
        assert_eq!(masked_network(Some("203.0.113.77".parse().expect("ip"))), "203.0.113.0/24");
        assert_eq!(masked_network(Some("::ffff:198.51.100.9".parse().expect("ip"))), "198.51.100.0/24");
    }

    #[test]
    fn ipv6_is_masked_to_48_bits() {
        assert_eq!(
            masked_network(Some("2001:db8:abcd:12:1:2:3:4".parse().expect("ip"))),
            "2001:db8:abcd::/48"
        );
        assert_eq!(masked_network(None), "unknown");
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 10.0.0.7".parse().expect("header"));
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(client_ip(&headers, Some(peer), false), Some(peer.ip()));
        assert_eq!(client_ip(&headers, Some(peer), true), Some("10.0.0.7".parse().expect("ip")));
        assert_eq!(client_ip(&HeaderMap::new(), Some(peer), true), Some(peer.ip()));
    }
}
