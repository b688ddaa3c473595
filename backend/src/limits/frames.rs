//! How many frames of each kind one chat socket may send. The room limits messages (5 in
//! 10 s per child); this is the connection's own guard, in front of the room, for every
//! kind: a script that sends 300 `typing` frames a second would otherwise push 300 frames
//! into the room's broadcast and make every other child's socket fall behind and resync.
//!
//! Per kind a token bucket (a burst, then a steady rate); `typing` is also coalesced (only a
//! change, or a fresh "still typing" every 2 s, goes to the room). Excess `typing` is dropped
//! silently; excess `hello`, `ping`, `send` and bad frames are answered with `rate_limited`,
//! and a connection that keeps on after many such answers is closed.

use std::time::{Duration, Instant};

use super::TokenBucket;

/// What a client sent, as far as the limits care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Hello,
    Send,
    Typing,
    Ping,
    /// Not JSON, an unknown type, a binary frame, a frame before `hello`.
    Bad,
}

/// What to do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Drop it without an answer (excess or repeated typing).
    Drop,
    /// Answer `rate_limited`; the next frame of the kind fits in this long.
    Refuse(Duration),
    /// Sustained abuse: close the socket.
    Close,
}

/// A "still typing" refresh goes through at most this often (clients clear an indicator
/// after 6 s without news).
const TYPING_REFRESH: Duration = Duration::from_secs(2);

/// The buckets of one connection.
#[derive(Debug)]
pub struct FrameLimits {
    hello: TokenBucket,
    send: TokenBucket,
    typing: TokenBucket,
    ping: TokenBucket,
    bad: TokenBucket,
    /// Every `rate_limited` answer takes one; none left and the socket is closed.
    refusals: TokenBucket,
    /// The last typing state passed to the room, and when.
    typing_sent: Option<(bool, Instant)>,
}

impl FrameLimits {
    pub fn new(now: Instant) -> FrameLimits {
        FrameLimits {
            // A reconnect or resync says hello again; a few in a row, then one per 5 s.
            hello: TokenBucket::new(4, 0.2, now),
            // Above the room's own limit (5 in 10 s), so the room's friendlier answer wins for
            // a fast typist; this only keeps a flood out of the room's queue.
            send: TokenBucket::new(10, 1.0, now),
            typing: TokenBucket::new(4, 2.0, now),
            // The page pings every few seconds.
            ping: TokenBucket::new(5, 1.0, now),
            bad: TokenBucket::new(5, 0.5, now),
            refusals: TokenBucket::new(10, 0.2, now),
            typing_sent: None,
        }
    }

    /// The verdict on one frame of `kind`.
    pub fn check(&mut self, kind: FrameKind, now: Instant) -> Verdict {
        let bucket = match kind {
            FrameKind::Hello => &mut self.hello,
            FrameKind::Send => &mut self.send,
            FrameKind::Typing => &mut self.typing,
            FrameKind::Ping => &mut self.ping,
            FrameKind::Bad => &mut self.bad,
        };
        if bucket.take(now) {
            return Verdict::Pass;
        }
        if kind == FrameKind::Typing {
            return Verdict::Drop;
        }
        let wait = bucket.wait(now);
        if self.refusals.take(now) {
            Verdict::Refuse(wait)
        } else {
            Verdict::Close
        }
    }

    /// Whether a `typing` frame goes to the room: only a change of state, or a refresh of
    /// "on" every [`TYPING_REFRESH`], and within the typing bucket.
    pub fn typing(&mut self, on: bool, now: Instant) -> Verdict {
        let wanted = match self.typing_sent {
            None => on,
            Some((was, at)) => {
                was != on || (on && now.saturating_duration_since(at) >= TYPING_REFRESH)
            }
        };
        if !wanted {
            return Verdict::Drop;
        }
        match self.check(FrameKind::Typing, now) {
            Verdict::Pass => {
                self.typing_sent = Some((on, now));
                Verdict::Pass
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_coalesced_and_dropped_silently() {
        let t0 = Instant::now();
        let mut l = FrameLimits::new(t0);
        assert_eq!(l.typing(true, t0), Verdict::Pass);
        for _ in 0..300 {
            assert_eq!(l.typing(true, t0), Verdict::Drop, "the same state again");
        }
        let passed = (0..300)
            .filter(|i| l.typing(i % 2 == 0, t0) == Verdict::Pass)
            .count();
        assert!(passed <= 4, "{passed} typing changes passed at once");
        assert_eq!(l.typing(true, t0 + Duration::from_secs(3)), Verdict::Pass);
    }

    #[test]
    fn other_kinds_are_refused_then_closed() {
        let t0 = Instant::now();
        let mut l = FrameLimits::new(t0);
        for _ in 0..5 {
            assert_eq!(l.check(FrameKind::Ping, t0), Verdict::Pass);
        }
        assert_eq!(
            l.check(FrameKind::Ping, t0),
            Verdict::Refuse(Duration::from_secs(1))
        );
        let verdicts: Vec<_> = (0..20).map(|_| l.check(FrameKind::Hello, t0)).collect();
        assert!(verdicts.contains(&Verdict::Close), "{verdicts:?}");
        // A patient client is fine again.
        assert_eq!(
            l.check(FrameKind::Ping, t0 + Duration::from_secs(60)),
            Verdict::Pass
        );
    }
}
