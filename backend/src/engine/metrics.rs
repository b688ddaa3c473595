//! What each request cost, and the running totals served on `/metrics`.
//!
//! Every completed reply carries its own [`RequestMetrics`] (the agent writes them to its event
//! log); the engine also folds them into [`EngineMetrics`], which renders Prometheus text.

use std::fmt::Write;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::types::{FinishReason, PrefillReport};

/// The cost of one reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestMetrics {
    /// Prompt tokens evaluated for this request (beyond what the room's cache already held).
    pub prompt_tokens: u32,
    /// Prompt tokens reused from the room's cache.
    pub cached_tokens: u32,
    /// Tokens generated.
    pub generated_tokens: u32,
    /// Time from the call until the engine started working on the request.
    pub queue_ms: f64,
    /// Time from the call until the first generated token.
    pub ttft_ms: Option<f64>,
    /// Time from the call until the end of the reply.
    pub total_ms: f64,
    /// Generation speed of this stream: tokens after the first, per second after the first.
    pub tokens_per_s: Option<f64>,
    /// The conversation did not fit the room's context; its oldest turns were dropped.
    pub compacted: bool,
    /// The room's cache came back from RAM after an eviction.
    pub restored: bool,
}

const LATENCY_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += v;
    }

    fn render(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// A copy of the engine's totals, for tests, the benchmark and logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub generate_requests: u64,
    pub prefill_requests: u64,
    pub finished_stop: u64,
    pub finished_stop_string: u64,
    pub finished_length: u64,
    pub finished_cancelled: u64,
    pub errors: u64,
    /// Prompt tokens evaluated, by requests, prefills and the engine's own reply-tail prefills.
    pub prompt_tokens: u64,
    /// Prompt tokens found in a room's cache instead of being evaluated.
    pub cached_tokens: u64,
    pub generated_tokens: u64,
    pub evictions: u64,
    pub restores: u64,
    /// Prompt tokens a new room copied from another room's identical system prompt instead of
    /// evaluating them (included in `cached_tokens`).
    pub shared_prefix_tokens: u64,
    pub forgotten: u64,
    pub compactions: u64,
    pub decode_steps: u64,
    pub decode_tokens: u64,
    pub decode_seconds: f64,
    pub active_requests: u64,
    pub resident_rooms: u64,
    pub parked_rooms: u64,
    pub parked_bytes: u64,
}

#[derive(Debug, Default)]
struct Inner {
    totals: MetricsSnapshot,
    ttft: Histogram,
    queue: Histogram,
    tps_sum: f64,
    tps_count: u64,
}

/// The engine's running totals. Shared between the engine and whoever serves `/metrics`.
#[derive(Debug)]
pub struct EngineMetrics {
    backend: String,
    inner: Mutex<Inner>,
}

impl EngineMetrics {
    pub fn new(backend: impl Into<String>) -> Self {
        EngineMetrics {
            backend: backend.into(),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Folds in a finished reply.
    pub fn record_generate(&self, m: &RequestMetrics, finish: FinishReason) {
        self.with(|i| {
            let t = &mut i.totals;
            t.generate_requests += 1;
            match finish {
                FinishReason::Stop => t.finished_stop += 1,
                FinishReason::StopString => t.finished_stop_string += 1,
                FinishReason::Length => t.finished_length += 1,
                FinishReason::Cancelled => t.finished_cancelled += 1,
            }
            t.prompt_tokens += u64::from(m.prompt_tokens);
            t.cached_tokens += u64::from(m.cached_tokens);
            t.generated_tokens += u64::from(m.generated_tokens);
            t.compactions += u64::from(m.compacted);
            i.queue.observe(m.queue_ms / 1000.0);
            if let Some(ttft) = m.ttft_ms {
                i.ttft.observe(ttft / 1000.0);
            }
            if let Some(tps) = m.tokens_per_s {
                i.tps_sum += tps;
                i.tps_count += 1;
            }
        });
    }

    /// Folds in a prefill; `internal` prefills are the engine's own (the tail of a reply) and
    /// count tokens but not requests.
    pub fn record_prefill(&self, r: &PrefillReport, internal: bool) {
        self.with(|i| {
            let t = &mut i.totals;
            if !internal {
                t.prefill_requests += 1;
            }
            t.prompt_tokens += u64::from(r.prompt_tokens);
            t.cached_tokens += u64::from(r.cached_tokens);
            t.compactions += u64::from(r.compacted);
        });
    }

    pub fn record_error(&self) {
        self.with(|i| i.totals.errors += 1);
    }

    pub fn record_step(&self, tokens: usize, seconds: f64) {
        self.with(|i| {
            i.totals.decode_steps += 1;
            i.totals.decode_tokens += tokens as u64;
            i.totals.decode_seconds += seconds;
        });
    }

    pub fn record_eviction(&self) {
        self.with(|i| i.totals.evictions += 1);
    }

    pub fn record_restore(&self) {
        self.with(|i| i.totals.restores += 1);
    }

    pub fn record_shared_prefix(&self, tokens: usize) {
        self.with(|i| i.totals.shared_prefix_tokens += tokens as u64);
    }

    pub fn record_forgotten(&self) {
        self.with(|i| i.totals.forgotten += 1);
    }

    pub fn set_occupancy(
        &self,
        active: usize,
        resident: usize,
        parked: usize,
        parked_bytes: usize,
    ) {
        self.with(|i| {
            i.totals.active_requests = active as u64;
            i.totals.resident_rooms = resident as u64;
            i.totals.parked_rooms = parked as u64;
            i.totals.parked_bytes = parked_bytes as u64;
        });
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        self.with(|i| i.totals.clone())
    }

    /// Appends the totals in the Prometheus text exposition format, for `/metrics`.
    pub fn render_prometheus(&self, out: &mut String) {
        let (t, ttft, queue, tps_sum, tps_count) = self.with(|i| {
            (
                i.totals.clone(),
                i.ttft.clone(),
                i.queue.clone(),
                i.tps_sum,
                i.tps_count,
            )
        });
        let b = format!("backend=\"{}\"", self.backend);
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{b}}} {v}"
            );
        };
        counter(
            out,
            "peerlearn_engine_prefill_requests_total",
            "Eager prefills requested.",
            t.prefill_requests,
        );
        counter(
            out,
            "peerlearn_engine_prompt_tokens_total",
            "Prompt tokens evaluated (requests, prefills and reply tails).",
            t.prompt_tokens,
        );
        counter(
            out,
            "peerlearn_engine_cached_tokens_total",
            "Prompt tokens reused from a room's cache.",
            t.cached_tokens,
        );
        counter(
            out,
            "peerlearn_engine_generated_tokens_total",
            "Tokens generated.",
            t.generated_tokens,
        );
        counter(
            out,
            "peerlearn_engine_errors_total",
            "Requests that ended in an error.",
            t.errors,
        );
        counter(
            out,
            "peerlearn_engine_evictions_total",
            "Idle rooms moved out of the KV cache into RAM.",
            t.evictions,
        );
        counter(
            out,
            "peerlearn_engine_restores_total",
            "Rooms moved back from RAM into the KV cache.",
            t.restores,
        );
        counter(
            out,
            "peerlearn_engine_shared_prefix_tokens_total",
            "Prompt tokens copied from another room's identical system prompt instead of evaluated.",
            t.shared_prefix_tokens,
        );
        counter(
            out,
            "peerlearn_engine_forgotten_total",
            "Parked room states dropped to stay within the RAM limit.",
            t.forgotten,
        );
        counter(
            out,
            "peerlearn_engine_compactions_total",
            "Conversations whose oldest turns were dropped to fit the context.",
            t.compactions,
        );
        counter(
            out,
            "peerlearn_engine_decode_steps_total",
            "Batched decode steps.",
            t.decode_steps,
        );
        counter(
            out,
            "peerlearn_engine_decode_tokens_total",
            "Tokens evaluated in decode steps.",
            t.decode_tokens,
        );
        let _ = writeln!(
            out,
            "# HELP peerlearn_engine_requests_total Replies finished, by reason.\n# TYPE peerlearn_engine_requests_total counter"
        );
        for (reason, v) in [
            (FinishReason::Stop, t.finished_stop),
            (FinishReason::StopString, t.finished_stop_string),
            (FinishReason::Length, t.finished_length),
            (FinishReason::Cancelled, t.finished_cancelled),
        ] {
            let _ = writeln!(
                out,
                "peerlearn_engine_requests_total{{{b},reason=\"{}\"}} {v}",
                reason.as_str()
            );
        }
        let gauge = |out: &mut String, name: &str, help: &str, v: f64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{b}}} {v}"
            );
        };
        gauge(
            out,
            "peerlearn_engine_decode_seconds",
            "Seconds spent in decode steps.",
            t.decode_seconds,
        );
        gauge(
            out,
            "peerlearn_engine_active_requests",
            "Requests being served or queued.",
            t.active_requests as f64,
        );
        gauge(
            out,
            "peerlearn_engine_resident_rooms",
            "Rooms resident in the KV cache.",
            t.resident_rooms as f64,
        );
        gauge(
            out,
            "peerlearn_engine_parked_rooms",
            "Evicted rooms kept in RAM.",
            t.parked_rooms as f64,
        );
        gauge(
            out,
            "peerlearn_engine_parked_bytes",
            "RAM held by evicted rooms.",
            t.parked_bytes as f64,
        );
        ttft.render(
            out,
            "peerlearn_engine_time_to_first_token_seconds",
            "Time from a request to its first token.",
            &b,
        );
        queue.render(
            out,
            "peerlearn_engine_queue_wait_seconds",
            "Time a request waited before the engine started on it.",
            &b,
        );
        let _ = writeln!(
            out,
            "# HELP peerlearn_engine_stream_tokens_per_second Generation speed of single streams.\n# TYPE peerlearn_engine_stream_tokens_per_second summary"
        );
        let _ = writeln!(
            out,
            "peerlearn_engine_stream_tokens_per_second_sum{{{b}}} {tps_sum}"
        );
        let _ = writeln!(
            out,
            "peerlearn_engine_stream_tokens_per_second_count{{{b}}} {tps_count}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_totals_and_histograms() {
        let m = EngineMetrics::new("fake");
        m.record_generate(
            &RequestMetrics {
                prompt_tokens: 10,
                cached_tokens: 90,
                generated_tokens: 5,
                queue_ms: 1.0,
                ttft_ms: Some(40.0),
                total_ms: 100.0,
                tokens_per_s: Some(50.0),
                ..Default::default()
            },
            FinishReason::Stop,
        );
        m.record_prefill(
            &PrefillReport {
                prompt_tokens: 7,
                ..Default::default()
            },
            false,
        );
        let mut out = String::new();
        m.render_prometheus(&mut out);
        assert!(out.contains("peerlearn_engine_prompt_tokens_total{backend=\"fake\"} 17"));
        assert!(out.contains("peerlearn_engine_cached_tokens_total{backend=\"fake\"} 90"));
        assert!(out.contains("peerlearn_engine_requests_total{backend=\"fake\",reason=\"stop\"} 1"));
        assert!(out.contains(
            "peerlearn_engine_time_to_first_token_seconds_bucket{backend=\"fake\",le=\"0.05\"} 1"
        ));
        assert!(out.contains(
            "peerlearn_engine_time_to_first_token_seconds_bucket{backend=\"fake\",le=\"0.025\"} 0"
        ));
        assert!(
            out.contains("peerlearn_engine_time_to_first_token_seconds_count{backend=\"fake\"} 1")
        );
        // Every sample line is `name{labels} value`.
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("peerlearn_engine_"), "{line}");
            value.parse::<f64>().unwrap();
        }
    }
}
