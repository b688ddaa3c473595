//! Guessing join codes: failed joins are counted per address and over all addresses, and
//! while either is over its limit every join from there is refused (a right code too, or the
//! refusal would itself tell a guesser which codes are right).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{address_key, Window};
use crate::config::LimitSettings;

/// Joins are refused for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed joins; try again in {} seconds", .0.as_secs())]
pub struct JoinThrottled(pub Duration);

/// The overall limit's window.
const OVERALL_SPAN: Duration = Duration::from_secs(60);

/// Failed joins per address and overall.
#[derive(Debug)]
pub struct JoinThrottle {
    per_address: u32,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    by_address: HashMap<IpAddr, Window>,
    overall: Window,
}

impl JoinThrottle {
    pub fn new(limits: &LimitSettings) -> JoinThrottle {
        JoinThrottle {
            per_address: limits.join_failures_per_address,
            window: limits.join_failure_window,
            state: Mutex::new(State {
                by_address: HashMap::new(),
                overall: Window::new(limits.join_failures_per_minute, OVERALL_SPAN),
            }),
        }
    }

    /// Ok, or how long until this address may try again.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), JoinThrottled> {
        let mut state = self.state.lock().expect("join throttle lock");
        let own = state
            .by_address
            .get_mut(&address_key(addr))
            .and_then(|w| w.full(now));
        let all = state.overall.full(now);
        match own.max(all) {
            Some(wait) => Err(JoinThrottled(wait)),
            None => Ok(()),
        }
    }

    /// Counts a failed join (a code that names no open group).
    pub fn failed(&self, addr: IpAddr, now: Instant) {
        let mut state = self.state.lock().expect("join throttle lock");
        let (per_address, window) = (self.per_address, self.window);
        state
            .by_address
            .entry(address_key(addr))
            .or_insert_with(|| Window::new(per_address, window))
            .hit(now);
        state.overall.hit(now);
        // Forget quiet addresses so that a spray of addresses cannot grow the map for ever.
        if state.by_address.len() > 10_000 {
            state.by_address.retain(|_, w| !w.is_idle(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_and_everyone_together_are_limited() {
        let limits = LimitSettings {
            join_failures_per_address: 3,
            join_failure_window: Duration::from_secs(600),
            join_failures_per_minute: 5,
            ..Default::default()
        };
        let t = JoinThrottle::new(&limits);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.check(a, t0).is_ok());
            t.failed(a, t0);
        }
        assert_eq!(t.check(a, t0), Err(JoinThrottled(Duration::from_secs(600))));
        assert!(t.check(b, t0).is_ok(), "another address still may");
        t.failed(b, t0);
        t.failed(b, t0);
        let wait = t.check(b, t0).unwrap_err();
        assert_eq!(
            wait.0,
            Duration::from_secs(60),
            "five failures overall in a minute"
        );
        assert!(t.check(b, t0 + Duration::from_secs(60)).is_ok());
        assert!(t.check(a, t0 + Duration::from_secs(600)).is_ok());
    }
}
