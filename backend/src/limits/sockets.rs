//! Open chat sockets per child and per address. A child has a few tabs at most; hundreds of
//! sockets for one child are a script, and each costs the room a subscriber.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::address_key;

/// Why a socket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SocketLimit {
    #[error("this child already has {0} chat sockets open")]
    PerChild(u32),
    #[error("this address already has {0} chat sockets open")]
    PerAddress(u32),
}

#[derive(Debug, Default)]
struct Counts {
    children: HashMap<i64, u32>,
    addresses: HashMap<IpAddr, u32>,
}

/// The counts of open sockets; a [`SocketSlot`] holds one place until it is dropped.
#[derive(Debug)]
pub struct SocketSlots {
    per_child: u32,
    per_address: u32,
    counts: Mutex<Counts>,
}

/// One open socket's place in the counts, given back on drop.
#[derive(Debug)]
pub struct SocketSlot {
    slots: Arc<SocketSlots>,
    participant: i64,
    address: IpAddr,
}

impl SocketSlots {
    pub fn new(per_child: u32, per_address: u32) -> Arc<SocketSlots> {
        Arc::new(SocketSlots {
            per_child,
            per_address,
            counts: Mutex::default(),
        })
    }

    /// A place for one more socket of `participant` from `addr`, or why not.
    pub fn acquire(
        self: &Arc<Self>,
        participant: i64,
        addr: IpAddr,
    ) -> Result<SocketSlot, SocketLimit> {
        let address = address_key(addr);
        let mut counts = self.counts.lock().expect("socket counts lock");
        let child = counts.children.get(&participant).copied().unwrap_or(0);
        if child >= self.per_child {
            return Err(SocketLimit::PerChild(self.per_child));
        }
        let from = counts.addresses.get(&address).copied().unwrap_or(0);
        if from >= self.per_address {
            return Err(SocketLimit::PerAddress(self.per_address));
        }
        *counts.children.entry(participant).or_default() += 1;
        *counts.addresses.entry(address).or_default() += 1;
        Ok(SocketSlot {
            slots: self.clone(),
            participant,
            address,
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().expect("socket counts lock");
        if let Some(n) = counts.children.get_mut(&self.participant) {
            *n -= 1;
            if *n == 0 {
                counts.children.remove(&self.participant);
            }
        }
        if let Some(n) = counts.addresses.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.addresses.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_and_given_back() {
        let slots = SocketSlots::new(2, 3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = slots.acquire(1, ip).unwrap();
        let _b = slots.acquire(1, ip).unwrap();
        assert_eq!(slots.acquire(1, ip).unwrap_err(), SocketLimit::PerChild(2));
        let _c = slots.acquire(2, ip).unwrap();
        assert_eq!(
            slots.acquire(3, ip).unwrap_err(),
            SocketLimit::PerAddress(3)
        );
        drop(a);
        assert!(slots.acquire(1, ip).is_ok());
    }
}
