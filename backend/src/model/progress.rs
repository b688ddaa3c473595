//! How a download shows its progress: a bar redrawn in place on a terminal, a plain line now
//! and then in a log (a CI job, `nohup`, a service), nothing at all for tests of the library.

use std::io::Write;
use std::time::{Duration, Instant};

use super::list::human_size;

/// What the download tells whoever watches it.
pub trait Progress {
    /// A request started at byte `from` of `total` (when the server said).
    fn start(&mut self, from: u64, total: Option<u64>);
    /// `done` bytes of the file are on disk now.
    fn advance(&mut self, done: u64);
    /// Something worth a line of its own (a retry, a restart).
    fn note(&mut self, message: &str);
    /// The transfer is over (done or failed): end the bar's line.
    fn finish(&mut self);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: u64, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
    fn note(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

/// Writes progress to standard error: a bar when it is a terminal, else a line every
/// [`LINE_EVERY`].
pub struct Stderr {
    bar: bool,
    total: Option<u64>,
    from: u64,
    done: u64,
    started: Instant,
    last: Option<Instant>,
    drawn: bool,
}

/// How often a redrawn bar changes (more often only costs terminal output).
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// How often a log gets a progress line: rare enough not to flood a journal.
const LINE_EVERY: Duration = Duration::from_secs(10);
const BAR_WIDTH: usize = 30;

impl Stderr {
    pub fn new(bar: bool) -> Stderr {
        Stderr {
            bar,
            total: None,
            from: 0,
            done: 0,
            started: Instant::now(),
            last: None,
            drawn: false,
        }
    }

    /// `45% 912.3 MiB of 2.0 GiB, 12.3 MiB/s, 1m20s left`, or without a known total
    /// `912.3 MiB, 12.3 MiB/s`.
    fn status(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (self.done.saturating_sub(self.from)) as f64 / elapsed;
        let speed = format!("{}/s", human_size(rate as u64));
        match self.total {
            Some(total) if total > 0 => {
                let left = total.saturating_sub(self.done);
                let eta = if rate >= 1.0 {
                    format!(", {} left", duration((left as f64 / rate) as u64))
                } else {
                    String::new()
                };
                format!(
                    "{:>3}% {} of {}, {speed}{eta}",
                    self.done * 100 / total,
                    human_size(self.done),
                    human_size(total)
                )
            }
            _ => format!("{}, {speed}", human_size(self.done)),
        }
    }

    fn draw(&mut self) {
        let mut err = std::io::stderr().lock();
        if self.bar {
            let filled = match self.total {
                Some(total) if total > 0 => {
                    (self.done.min(total) as f64 / total as f64 * BAR_WIDTH as f64) as usize
                }
                _ => 0,
            };
            // `\x1b[K` clears what a longer earlier line left on the right.
            let _ = write!(
                err,
                "\r[{}{}] {}\x1b[K",
                "#".repeat(filled),
                "-".repeat(BAR_WIDTH - filled),
                self.status()
            );
            self.drawn = true;
        } else {
            let _ = writeln!(err, "downloaded {}", self.status());
        }
        let _ = err.flush();
    }

    fn end_line(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

impl Progress for Stderr {
    fn start(&mut self, from: u64, total: Option<u64>) {
        self.from = from;
        self.done = from;
        self.total = total;
        self.started = Instant::now();
        self.last = None;
    }

    fn advance(&mut self, done: u64) {
        self.done = done;
        let every = if self.bar { REDRAW_EVERY } else { LINE_EVERY };
        match self.last {
            // A log's first line waits a whole period: a short download writes none.
            None if !self.bar => self.last = Some(Instant::now()),
            Some(t) if t.elapsed() < every => {}
            _ => {
                self.draw();
                self.last = Some(Instant::now());
            }
        }
    }

    fn note(&mut self, message: &str) {
        self.end_line();
        eprintln!("{message}");
    }

    fn finish(&mut self) {
        // The bar's last state (100% when done); `take`: an attempt that failed before its
        // first byte does not draw the previous attempt's bar again.
        if self.bar && self.last.take().is_some() {
            self.draw();
        }
        self.end_line();
    }
}

/// `1h02m`, `3m20s`, `45s`.
fn duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_status_read_plainly() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(200), "3m20s");
        assert_eq!(duration(3720), "1h02m");
        let mut p = Stderr::new(false);
        p.start(0, Some(2048));
        p.done = 1024;
        assert!(
            p.status().starts_with(" 50% 1.0 KiB of 2.0 KiB, "),
            "{}",
            p.status()
        );
        p.total = None;
        assert!(p.status().starts_with("1.0 KiB, "), "{}", p.status());
    }
}
