//! Client addresses and IP allowlists.
//!
//! An allowlist is a list of CIDR networks (IPv4 or IPv6; a bare address is
//! a single-host network). The client's address is the TCP peer's, unless the
//! peer is a configured trusted proxy: then it is the right-most address of
//! `X-Forwarded-For` that is not itself a trusted proxy — the left part of
//! that header is whatever the client wrote and proves nothing.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{Error, Result};

/// Parses CIDR entries (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`), naming
/// the first bad one under `field`. Networks are normalised (host bits
/// cleared), so what is stored is what is matched.
pub fn parse_cidrs(field: &'static str, list: &[String]) -> Result<Vec<IpNet>> {
    list.iter()
        .map(|s| {
            let t = s.trim();
            t.parse::<IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    Error::invalid(
                        field,
                        format!(
                            "`{s}` is not a CIDR network (e.g. 203.0.113.0/24 or 2001:db8::/32)"
                        ),
                    )
                })
        })
        .collect()
}

/// Checks an allowlist as it will be stored: each entry parsed, normalised
/// and written back in canonical form; an empty list is refused (it would
/// lock everyone out: clear the list instead).
pub fn canonical_cidrs(field: &'static str, list: &[String]) -> Result<Vec<String>> {
    if list.is_empty() {
        return Err(Error::invalid(
            field,
            "an empty allowlist would refuse every address; clear it instead to allow any",
        ));
    }
    Ok(parse_cidrs(field, list)?
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// True when `ip` is in one of `nets`. IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`, what a dual-stack listener reports) match as IPv4.
pub fn allowed(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

/// The client's address: `peer`, or — when `peer` is a trusted proxy — the
/// right-most untrusted address in `forwarded_for` (every `X-Forwarded-For`
/// header value, in order).
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    if !allowed(trusted, peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded_for
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        client = *hop;
        if !allowed(trusted, *hop) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        parse_cidrs("x", &v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_normalise_and_name_the_bad_entry() {
        let n = nets(&["10.1.2.3/8", "2001:db8::1/32", "192.0.2.7"]);
        assert_eq!(
            n.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]
        );
        let e = parse_cidrs("ip_allow", &["10.0.0.0/8".into(), "10.0.0/33".into()]).unwrap_err();
        assert!(e.to_string().contains("`10.0.0/33`"), "{e}");
        assert!(e.to_string().contains("ip_allow"), "{e}");
        assert!(canonical_cidrs("ip_allow", &[]).is_err());
    }

    #[test]
    fn membership_v4_v6_and_mapped() {
        let n = nets(&["203.0.113.0/24", "2001:db8::/32"]);
        assert!(allowed(&n, ip("203.0.113.200")));
        assert!(!allowed(&n, ip("203.0.114.1")));
        assert!(allowed(&n, ip("2001:db8:ffff::1")));
        assert!(!allowed(&n, ip("2001:db9::1")));
        assert!(allowed(&n, ip("::ffff:203.0.113.9")));
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted = nets(&["10.0.0.0/8"]);
        // An untrusted peer cannot claim another address.
        assert_eq!(
            client_ip(ip("198.51.100.4"), ["203.0.113.9"], &trusted),
            ip("198.51.100.4")
        );
        // Behind the proxy: the right-most address the proxy did not add itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["1.2.3.4, 198.51.100.4"], &trusted),
            ip("198.51.100.4")
        );
        // Two proxies deep, over two header lines.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                ["7.7.7.7, 198.51.100.4", "10.0.0.9"],
                &trusted
            ),
            ip("198.51.100.4")
        );
        // A trusted peer without the header is itself the client.
        assert_eq!(
            client_ip(ip("10.0.0.2"), std::iter::empty(), &trusted),
            ip("10.0.0.2")
        );
        // Garbage entries are skipped.
        assert_eq!(
            client_ip(ip("10.0.0.2"), ["unknown, 198.51.100.4"], &trusted),
            ip("198.51.100.4")
        );
    }
}
