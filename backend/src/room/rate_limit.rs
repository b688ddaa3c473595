//! A sliding-window limit on how often one child may send: enough for a lively discussion,
//! too little to flood the group (and the agent's context) with spam.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow {
            limit,
            window,
            sent: VecDeque::with_capacity(limit),
        }
    }

    /// Counts a send at `now`, or says how long to wait before one is allowed.
    pub fn try_send(&mut self, now: Instant) -> Result<(), Duration> {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= self.limit {
            let oldest = *self.sent.front().expect("full window has an oldest entry");
            return Err(self.window - now.duration_since(oldest));
        }
        self.sent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_in_ten_seconds() {
        let mut w = SlidingWindow::new(5, Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..5 {
            w.try_send(t0 + Duration::from_secs(i)).unwrap();
        }
        let wait = w.try_send(t0 + Duration::from_secs(5)).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_secs(5),
            "the first send leaves the window at t=10"
        );
        w.try_send(t0 + Duration::from_secs(10)).unwrap();
        assert!(w.try_send(t0 + Duration::from_millis(10_500)).is_err());
    }
}
