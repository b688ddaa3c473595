//! Abuse limits: what keeps one child, one script or one address from guessing join codes,
//! filling groups, flooding a room or tying up the server. Each concern has its own module;
//! the settings come from [`crate::config::LimitSettings`] (docs/configuration.md, "Limits").
//!
//! Everything here is in memory: a restart forgives, which is fine for slowing down guessing
//! and flooding. Clients are told apart by the address of the connection's peer (axum's
//! `ConnectInfo`); behind a reverse proxy every client has the proxy's address, so the
//! per-address limits then count the whole school together.

pub mod bucket;
pub mod frames;
pub mod join;
pub mod sockets;
pub mod window;

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::LimitSettings;

pub use bucket::TokenBucket;
pub use join::{JoinThrottle, JoinThrottled};
pub use sockets::{SocketLimit, SocketSlot, SocketSlots};
pub use window::Window;

/// The limits' settings and their live state, one per server (in the `AppContext`).
#[derive(Debug)]
pub struct Limits {
    pub settings: LimitSettings,
    /// Failed joins per address and overall.
    pub joins: JoinThrottle,
    /// Joins one at a time, so that two children joining at once cannot both take a group's
    /// last seat. A join is a few milliseconds of database work.
    pub joining: tokio::sync::Mutex<()>,
    /// Open chat sockets per child and per address.
    pub sockets: Arc<SocketSlots>,
    /// Password checks running at once (argon2 takes about 19 MiB and a core's tens of
    /// milliseconds each: 500 at once would be gigabytes).
    pub sign_ins: Arc<tokio::sync::Semaphore>,
}

impl Limits {
    pub fn new(settings: &LimitSettings) -> Limits {
        Limits {
            settings: settings.clone(),
            joins: JoinThrottle::new(settings),
            joining: tokio::sync::Mutex::new(()),
            sockets: SocketSlots::new(settings.sockets_per_child, settings.sockets_per_address),
            sign_ins: Arc::new(tokio::sync::Semaphore::new(
                settings.concurrent_sign_ins as usize,
            )),
        }
    }
}

/// The address a client is counted under: IPv4 as it is (an IPv4-mapped IPv6 address as its
/// IPv4 form), IPv6 by its /64 prefix, since one home or school network gets a whole /64 and
/// could otherwise spread its attempts over 2^64 addresses.
pub fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(address_key(mapped), "10.0.0.7".parse::<IpAddr>().unwrap());
    }
}
