//! Server counters, served as Prometheus text on `/metrics`.
//!
//! Plain atomics: the hot paths (the room actor, the socket tasks) only add to a counter, and
//! the text is rendered when scraped. The engine appends its own section.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub messages_stored: AtomicU64,
    pub messages_deduplicated: AtomicU64,
    pub messages_rejected: AtomicU64,
    pub websocket_connections: AtomicI64,
    pub rooms_live: AtomicI64,
    pub resyncs: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(gauge: &AtomicI64, delta: i64) {
        gauge.fetch_add(delta, Ordering::Relaxed);
    }

    /// Renders the counters in the Prometheus text exposition format.
    pub fn render(&self, out: &mut String, uptime_seconds: f64, version: &str, database: &str) {
        let _ = writeln!(
            out,
            "# HELP peerlearn_build_info Version and database of this server."
        );
        let _ = writeln!(out, "# TYPE peerlearn_build_info gauge");
        let _ = writeln!(
            out,
            "peerlearn_build_info{{version=\"{version}\",database=\"{database}\"}} 1"
        );
        gauge(
            out,
            "peerlearn_uptime_seconds",
            "Seconds since the server started.",
            uptime_seconds,
        );
        counter(
            out,
            "peerlearn_messages_stored_total",
            "Messages committed to the store.",
            &self.messages_stored,
        );
        counter(
            out,
            "peerlearn_messages_deduplicated_total",
            "Retried sends answered with the message stored before.",
            &self.messages_deduplicated,
        );
        counter(
            out,
            "peerlearn_messages_rejected_total",
            "Sends refused by validation or rate limits.",
            &self.messages_rejected,
        );
        gauge(
            out,
            "peerlearn_websocket_connections",
            "Open WebSocket connections.",
            self.websocket_connections.load(Ordering::Relaxed) as f64,
        );
        gauge(
            out,
            "peerlearn_rooms_live",
            "Groups with a running room actor.",
            self.rooms_live.load(Ordering::Relaxed) as f64,
        );
        counter(
            out,
            "peerlearn_resyncs_total",
            "Clients told to resync after falling behind.",
            &self.resyncs,
        );
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
        value.load(Ordering::Relaxed)
    );
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.messages_stored);
        let mut out = String::new();
        m.render(&mut out, 1.5, "0.1.0", "sqlite");
        assert!(out.contains("peerlearn_messages_stored_total 1\n"), "{out}");
        assert!(
            out.contains("# TYPE peerlearn_uptime_seconds gauge\npeerlearn_uptime_seconds 1.5\n"),
            "{out}"
        );
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            value.parse::<f64>().unwrap();
        }
    }
}
