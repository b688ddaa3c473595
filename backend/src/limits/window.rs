//! A sliding window of recent events: "at most N in the last T".

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The times of the events within the last `span`, at most `limit` of them.
#[derive(Debug, Clone)]
pub struct Window {
    limit: usize,
    span: Duration,
    hits: VecDeque<Instant>,
}

impl Window {
    pub fn new(limit: u32, span: Duration) -> Window {
        Window {
            limit: limit.max(1) as usize,
            span,
            hits: VecDeque::new(),
        }
    }

    fn prune(&mut self, now: Instant) {
        while self
            .hits
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.span)
        {
            self.hits.pop_front();
        }
    }

    /// None while another event fits; otherwise how long until one does.
    pub fn full(&mut self, now: Instant) -> Option<Duration> {
        self.prune(now);
        if self.hits.len() < self.limit {
            return None;
        }
        let oldest = self.hits[self.hits.len() - self.limit];
        Some(
            self.span
                .saturating_sub(now.saturating_duration_since(oldest))
                .max(Duration::from_secs(1)),
        )
    }

    pub fn hit(&mut self, now: Instant) {
        self.prune(now);
        self.hits.push_back(now);
        // Never more than the limit is needed to answer `full`.
        while self.hits.len() > self.limit {
            self.hits.pop_front();
        }
    }

    /// Takes back the latest event (an attempt that did not happen after all).
    pub fn undo(&mut self) {
        self.hits.pop_back();
    }

    /// Whether every event has left the window (the entry can be forgotten).
    pub fn is_idle(&mut self, now: Instant) -> bool {
        self.prune(now);
        self.hits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_span_only() {
        let t0 = Instant::now();
        let mut w = Window::new(2, Duration::from_secs(60));
        assert_eq!(w.full(t0), None);
        w.hit(t0);
        w.hit(t0 + Duration::from_secs(10));
        assert_eq!(
            w.full(t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(w.full(t0 + Duration::from_secs(60)), None);
        w.undo();
        assert!(w.is_idle(t0 + Duration::from_secs(60)));
    }
}
