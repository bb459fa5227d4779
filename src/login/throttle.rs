//! The throttling keys of a login: one per account, one per client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use http::Extensions;

pub(super) fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|m| m.0.ip())
        })
}

/// `client:` + the IPv4 address, or the /64 prefix of an IPv6 address (one host usually owns a
/// whole /64, and could otherwise rotate through it).
pub(super) fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("client:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("client:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

pub(super) fn account_key(username: &str) -> String {
    format!("account:{}", username.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_group_ipv6_by_64_and_unmap_ipv4() {
        assert_eq!(
            client_key("203.0.113.7".parse().unwrap()),
            "client:203.0.113.7"
        );
        assert_eq!(
            client_key("::ffff:203.0.113.7".parse().unwrap()),
            "client:203.0.113.7"
        );
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            client_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(
            client_key("2001:db8:1:2::1".parse().unwrap()),
            "client:2001:db8:1:2::/64"
        );
    }

    #[test]
    fn account_keys_ignore_case() {
        assert_eq!(account_key("Alice"), account_key("alice"));
        assert_ne!(account_key("alice"), account_key("alice2"));
    }
}
