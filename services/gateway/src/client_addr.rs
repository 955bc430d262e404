//! The client's address, for rate limits. The peer of the connection is the
//! client, unless it is a configured reverse proxy (`DIGITS_TRUSTED_PROXIES`):
//! then `X-Forwarded-For` is read from the right, skipping trusted hops, and
//! the first address not trusted is the client. A header sent by anyone
//! else is ignored, so a stranger cannot pick its own address.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts these addresses and blocks.
    pub fn new(proxies: Vec<IpNet>) -> Self {
        Self(proxies)
    }

    /// Whether `addr` is one of the trusted proxies.
    pub fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client behind a connection from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in forwarded.iter().rev() {
            let Ok(addr) = hop.parse::<IpAddr>() else { break };
            client = addr.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }

    /// Whether the browser reached a trusted proxy over HTTPS.
    pub fn https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.trusts(peer)
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h.insert("x-forwarded-proto", "https".parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies =
            TrustedProxies::new(vec!["172.28.0.0/24".parse().expect("net"), "10.0.0.7/32".parse().expect("net")]);
        let proxy: IpAddr = "172.28.0.5".parse().expect("ip");
        let stranger: IpAddr = "203.0.113.9".parse().expect("ip");
        // Through the proxy: the rightmost untrusted hop, not what the client claims on the left.
        assert_eq!(
            proxies.client(proxy, &headers("1.2.3.4, 198.51.100.7")),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(
            proxies.client(proxy, &headers("198.51.100.7, 10.0.0.7")),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
        // A stranger's header is ignored.
        assert_eq!(proxies.client(stranger, &headers("1.2.3.4")), stranger);
        // Garbage stops the walk at the last good hop.
        assert_eq!(proxies.client(proxy, &headers("not-an-ip")), proxy);
        assert!(proxies.https(proxy, &headers("1.2.3.4")));
        assert!(!proxies.https(stranger, &headers("1.2.3.4")));
        // IPv4-mapped IPv6 peers are the IPv4 address.
        assert_eq!(
            TrustedProxies::default().client("::ffff:198.51.100.7".parse().expect("ip"), &HeaderMap::new()),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
    }
}
