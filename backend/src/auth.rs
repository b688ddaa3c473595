//! Facilitator authentication: password hashes (argon2id), sign-in tokens, and the throttle
//! that keeps anyone from guessing passwords. Children have no accounts and never pass here.
//!
//! A sign-in is a random token in an HttpOnly cookie; the database keeps only its SHA-256, so
//! reading the database does not let anyone in. Each sign-in has its own CSRF token, which
//! every state-changing form and request must carry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::limits::Window;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a sign-in lasts: a school day with room to spare.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("the name must be 1 to {MAX_NAME_CHARS} characters without spaces at either end or control characters")]
    BadName,
    #[error("the password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")]
    BadPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Checks a new facilitator's name.
pub fn check_name(name: &str) -> Result<(), CredentialError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.trim() != name || name.chars().any(char::is_control) {
        return Err(CredentialError::BadName);
    }
    Ok(())
}

/// Hashes a new password with argon2id (the crate's defaults follow OWASP's recommendation).
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(CredentialError::BadPassword);
    }
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| CredentialError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// True when `password` matches the stored hash. Takes tens of milliseconds by design; call
/// it off the async threads.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordHash::new(stored_hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that a wrong name takes as
/// long as a wrong password and does not reveal which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not-a-real-password").expect("argon2 hashes a constant"))
}

/// A fresh random token (hex) for a cookie or a CSRF field.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a cookie's token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Sign-in attempts allowed within [`ThrottleRules::window`]: per account from one address,
/// per address over all accounts, and per account over all addresses (higher, so that
/// somebody elsewhere guessing cannot lock the teacher out at once, and still low enough to
/// make guessing from many addresses hopeless against argon2).
#[derive(Debug, Clone)]
pub struct ThrottleRules {
    pub per_account_address: u32,
    pub per_address: u32,
    pub per_account: u32,
    pub window: Duration,
}

impl Default for ThrottleRules {
    fn default() -> Self {
        ThrottleRules {
            per_account_address: 5,
            per_address: 20,
            per_account: 50,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Counts sign-in attempts per (account, address), per address and per account. An attempt
/// counts from the moment it starts ([`LoginThrottle::begin`]), not when its password check
/// ends, so a hundred attempts sent at once are refused but the first few, instead of all
/// passing the check together. A successful sign-in takes its own attempt and the account's
/// attempts from that address back. In memory: a restart forgives, which is fine for slowing
/// guessing down; the argon2 cost does the rest.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    rules: ThrottleRules,
    attempts: Mutex<HashMap<String, Window>>,
}

/// An attempt that was counted; [`LoginThrottle::succeeded`] or [`LoginThrottle::cancel`]
/// takes it back.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    keys: [String; 3],
}

impl LoginThrottle {
    pub fn new(rules: ThrottleRules) -> Self {
        LoginThrottle {
            rules,
            attempts: Mutex::default(),
        }
    }

    fn keys(account: &str, addr: IpAddr) -> [String; 3] {
        let addr = crate::limits::address_key(addr);
        [
            format!("{}@{addr}", account_key(account)),
            addr_key(addr),
            account_key(account),
        ]
    }

    /// Counts an attempt, or says how long until another one is allowed.
    pub fn begin(&self, account: &str, addr: IpAddr, now: Instant) -> Result<Attempt, Duration> {
        let mut attempts = self.attempts.lock().expect("throttle lock");
        let keys = Self::keys(account, addr);
        let limits = [
            self.rules.per_account_address,
            self.rules.per_address,
            self.rules.per_account,
        ];
        let window = self.rules.window;
        let mut wait = Duration::ZERO;
        for key in &keys {
            if let Some(w) = attempts.get_mut(key).and_then(|w| w.full(now)) {
                wait = wait.max(w);
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for (key, limit) in keys.iter().zip(limits) {
            attempts
                .entry(key.clone())
                .or_insert_with(|| Window::new(limit, window))
                .hit(now);
        }
        // Keep the map from growing without end under a spray of made-up names.
        if attempts.len() > 10_000 {
            attempts.retain(|_, w| !w.is_idle(now));
        }
        Ok(Attempt { keys })
    }

    /// The attempt did not happen after all (the server was too busy to check it).
    pub fn cancel(&self, attempt: Attempt) {
        let mut attempts = self.attempts.lock().expect("throttle lock");
        for key in &attempt.keys {
            if let Some(w) = attempts.get_mut(key) {
                w.undo();
            }
        }
    }

    /// A successful sign-in: the account's attempts from this address are forgiven, and this
    /// one is not counted against the address or the account.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut attempts = self.attempts.lock().expect("throttle lock");
        let [pair, addr, account] = &attempt.keys;
        attempts.remove(pair);
        for key in [addr, account] {
            if let Some(w) = attempts.get_mut(key) {
                w.undo();
            }
        }
    }
}

fn account_key(account: &str) -> String {
    format!("account:{}", account.to_lowercase())
}

fn addr_key(addr: IpAddr) -> String {
    format!("addr:{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterz"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        assert_eq!(hash_password("short"), Err(CredentialError::BadPassword));
        assert_eq!(
            hash_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)),
            Err(CredentialError::BadPassword)
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("ms-lee").is_ok());
        assert!(check_name("Ms Lee").is_ok());
        for bad in ["", " lee", "lee ", "a\u{7}b", &"x".repeat(65)] {
            assert_eq!(check_name(bad), Err(CredentialError::BadName), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[1..]));
    }

    #[test]
    fn throttle_counts_attempts_as_they_start() {
        let t = LoginThrottle::new(ThrottleRules {
            per_account_address: 3,
            per_address: 4,
            per_account: 4,
            window: Duration::from_secs(60),
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        // Three at once pass (none has finished), the fourth does not.
        let held: Vec<_> = (0..3).map(|_| t.begin("lee", ip, t0).unwrap()).collect();
        assert_eq!(t.begin("LEE", ip, t0).unwrap_err(), Duration::from_secs(60));
        // From another address the account still has a try left before its overall limit.
        let last = t.begin("lee", other, t0).unwrap();
        assert!(
            t.begin("lee", other, t0).is_err(),
            "four per account overall"
        );
        t.cancel(last);
        assert!(
            t.begin("lee", other, t0).is_ok(),
            "a cancelled attempt is not counted"
        );
        // Another account from the same address: the address has one left of four.
        let kim = t.begin("kim", ip, t0).unwrap();
        assert!(t.begin("ana", ip, t0).is_err(), "the address is at four");
        t.succeeded(kim);
        assert!(
            t.begin("ana", ip, t0).is_ok(),
            "a success is not held against the address"
        );
        drop(held);
        assert!(t.begin("lee", ip, t0 + Duration::from_secs(61)).is_ok());
    }
}
