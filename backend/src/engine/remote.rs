//! The remote backend: the same [`Engine`] over an OpenAI-compatible streaming
//! `POST /v1/chat/completions` (llama.cpp's llama-server, vLLM, Ollama), so inference can move
//! to other machines without the agent noticing.
//!
//! Several URLs are replicas of one model. Each room sticks to one of them, chosen by
//! rendezvous hashing of its key over the replicas that are up, so its prompt stays warm in
//! that server's cache and a replica going down moves only its own rooms. Every request also
//! carries an opaque per-room key (the OpenAI `user` field and the `X-Peerlearn-Room` and
//! `X-Session-Id` headers) so a router in front of many servers can do the same.
//!
//! Failures before the first token (connection refused, 5xx, 429, no answer in time) are
//! retried, on the next healthy replica at once when there is one, otherwise with a short
//! backoff, since nothing has been shown to the children yet. After the first token an error
//! ends the stream and is never retried: the tokens already sent cannot be taken back, and a
//! second server would not continue the same text, so the children would see a sentence start
//! twice. The agent finishes the reply with what was shown (see docs/engine.md).
//!
//! A background task probes each replica's `GET /health` every `health_interval_ms`; a failed
//! request marks its replica down at once, and only a probe (or a later successful request)
//! brings it back. The server keeps its own prompt cache, so [`Engine::prefill`] is a no-op here
//! and the cache counters come from the server's usage report when it sends one.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Url;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::config::EngineConfig;
use super::error::EngineError;
use super::llama::text::TextDecoder;
use super::metrics::{EngineMetrics, RequestMetrics};
use super::stream::{CancelHandle, PrefillHandle, StreamSender, TokenStream};
use super::types::{
    ChatMessage, Completion, EngineInfo, FinishReason, GenerateRequest, PrefillReport,
    ReplicaStatus, RoomKey,
};
use super::Engine;

/// The header carrying the room's opaque key.
pub const ROOM_HEADER: &str = "x-peerlearn-room";
/// The same key under the name generic session-affinity routers hash on.
pub const SESSION_HEADER: &str = "x-session-id";

/// An engine on other machines.
pub struct RemoteEngine {
    shared: Arc<Shared>,
    info: EngineInfo,
    running: Arc<Mutex<HashMap<RoomKey, Vec<CancelHandle>>>>,
    prober_started: AtomicBool,
}

struct Shared {
    client: reqwest::Client,
    replicas: Vec<Replica>,
    api_key: Option<String>,
    model: String,
    first_token_timeout: Duration,
    idle_timeout: Duration,
    retries: u32,
    health_interval: Duration,
    metrics: Arc<EngineMetrics>,
}

/// One server of the remote engine.
struct Replica {
    /// The URL as configured, for logs, `/healthz` and `/metrics`.
    label: String,
    endpoint: Url,
    health: Url,
    up: AtomicBool,
}

impl Replica {
    fn new(url: &str) -> Result<Replica, EngineError> {
        let endpoint = endpoint_url(url)?;
        let mut health = endpoint.clone();
        let path = endpoint.path();
        let base = path
            .strip_suffix("/v1/chat/completions")
            .or_else(|| path.strip_suffix("/chat/completions"))
            .unwrap_or("");
        health.set_path(&format!("{base}/health"));
        Ok(Replica {
            label: url.trim().trim_end_matches('/').to_string(),
            endpoint,
            health,
            // Up until shown otherwise: the first request or probe tells.
            up: AtomicBool::new(true),
        })
    }

    fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn set_up(&self, up: bool, why: &str) {
        if self.up.swap(up, Ordering::Relaxed) != up {
            if up {
                tracing::info!(replica = %self.label, why, "remote replica is up");
            } else {
                tracing::warn!(replica = %self.label, why, "remote replica is down");
            }
        }
    }
}

/// The key a room is known by outside this process: a hash of the room key, so nothing a
/// server or router logs (`user`, headers) can be traced back to a group or a child, yet the
/// same room always gives the same key.
pub fn room_affinity_key(room: &RoomKey) -> String {
    let digest = Sha256::digest(format!("peerlearn-room\0{}", room.as_str()).as_bytes());
    format!("room-{}", hex::encode(&digest[..12]))
}

/// Rendezvous (highest random weight) score of a replica for a room: each room ranks the
/// replicas in its own stable order, so removing one moves only the rooms that ranked it first.
fn rank_weight(key: &str, replica: &str) -> u64 {
    let digest = Sha256::digest(format!("{key}\0{replica}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Turns a base URL into the chat completions endpoint: `http://host:8081`,
/// `http://host:8081/v1` and the full endpoint are all accepted.
pub fn endpoint_url(url: &str) -> Result<Url, EngineError> {
    let invalid = |reason: &str| EngineError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let mut parsed = Url::parse(url.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("only http:// and https:// are supported"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    let path = parsed.path().trim_end_matches('/').to_string();
    let path = if path.ends_with("/chat/completions") {
        path
    } else if path.ends_with("/v1") {
        format!("{path}/chat/completions")
    } else {
        format!("{path}/v1/chat/completions")
    };
    parsed.set_path(&path);
    Ok(parsed)
}

impl RemoteEngine {
    /// Checks the URLs and builds the HTTP client; does not contact the servers (they may come
    /// up later, and requests retry). The health checks start with the first request, or now
    /// when called inside a Tokio runtime.
    pub fn new(config: &EngineConfig) -> Result<RemoteEngine, EngineError> {
        if config.llm_urls.is_empty() {
            return Err(EngineError::InvalidConfig("llm_url is not set".into()));
        }
        let replicas = config
            .llm_urls
            .iter()
            .map(|u| Replica::new(u))
            .collect::<Result<Vec<_>, _>>()?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout())
            .build()
            .map_err(|e| {
                EngineError::InvalidConfig(format!("cannot build the HTTP client: {e}"))
            })?;
        let model = config
            .llm_model
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let origins: Vec<String> = replicas
            .iter()
            .map(|r| r.endpoint.origin().ascii_serialization())
            .collect();
        let info = EngineInfo {
            backend: "remote".into(),
            model_name: match &config.llm_model {
                Some(m) => m.clone(),
                None => format!("remote: {}", origins.join(", ")),
            },
            slots: 1,
            context_per_slot: 0,
            threads: 0,
            chat_template: None,
        };
        let engine = RemoteEngine {
            shared: Arc::new(Shared {
                client,
                replicas,
                api_key: config.llm_api_key.clone().filter(|k| !k.is_empty()),
                model,
                first_token_timeout: config.first_token_timeout(),
                idle_timeout: config.idle_timeout(),
                retries: config.retries,
                health_interval: config.health_interval(),
                metrics: Arc::new(EngineMetrics::new("remote")),
            }),
            info,
            running: Arc::default(),
            prober_started: AtomicBool::new(false),
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            engine.start_prober();
        }
        Ok(engine)
    }

    /// The endpoint requests go to (the first replica's).
    pub fn endpoint(&self) -> &Url {
        &self.shared.replicas[0].endpoint
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<RoomKey, Vec<CancelHandle>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the health checks once. They hold the engine weakly and end when it is dropped.
    fn start_prober(&self) {
        if self.prober_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.shared);
        tokio::spawn(probe_loop(weak));
    }
}

/// Probes every replica, then waits the interval, until the engine is gone.
async fn probe_loop(shared: Weak<Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let interval = s.health_interval;
        futures::future::join_all(s.replicas.iter().map(|r| s.probe(r))).await;
        drop(s);
        tokio::time::sleep(interval).await;
    }
}

impl Engine for RemoteEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn prefill(&self, _room: RoomKey, _messages: Vec<ChatMessage>) -> PrefillHandle {
        PrefillHandle::ready(Ok(PrefillReport {
            skipped: true,
            ..Default::default()
        }))
    }

    fn generate(&self, request: GenerateRequest) -> TokenStream {
        if request.messages.is_empty() {
            return TokenStream::failed(EngineError::InvalidRequest(
                "the conversation has no messages".into(),
            ));
        }
        let (tx, stream) = TokenStream::channel();
        let handle = tx.cancel_handle().clone();
        self.running()
            .entry(request.room.clone())
            .or_default()
            .push(handle.clone());
        self.start_prober();
        let shared = self.shared.clone();
        let running = self.running.clone();
        tokio::spawn(async move {
            let room = request.room.clone();
            shared.serve(request, tx).await;
            let mut map = running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(list) = map.get_mut(&room) {
                list.retain(|h| !h.same_as(&handle));
                if list.is_empty() {
                    map.remove(&room);
                }
            }
        });
        stream
    }

    fn cancel(&self, room: &RoomKey) {
        if let Some(list) = self.running().remove(room) {
            list.iter().for_each(CancelHandle::cancel);
        }
    }

    fn close_room(&self, room: &RoomKey) {
        self.cancel(room);
    }

    fn metrics(&self) -> &EngineMetrics {
        &self.shared.metrics
    }

    fn replicas(&self) -> Vec<ReplicaStatus> {
        self.shared
            .replicas
            .iter()
            .map(|r| ReplicaStatus {
                url: r.label.clone(),
                up: r.is_up(),
            })
            .collect()
    }

    fn render_prometheus(&self, out: &mut String) {
        self.metrics().render_prometheus(out);
        let name = "peerlearn_engine_replica_up";
        let _ = writeln!(
            out,
            "# HELP {name} Whether a remote engine replica takes requests (1) or is down (0).\n# TYPE {name} gauge"
        );
        for r in &self.shared.replicas {
            let _ = writeln!(
                out,
                "{name}{{replica=\"{}\"}} {}",
                r.label.replace('\\', "\\\\").replace('"', "\\\""),
                u8::from(r.is_up())
            );
        }
    }
}

/// How one attempt ended.
enum Attempt {
    Finished(Completion),
    /// Nothing was streamed yet, so the request may be tried again.
    FailedEarly(EngineError),
    FailedLate(EngineError),
}

/// What the server told us about the request's cost.
#[derive(Default)]
struct Usage {
    prompt_tokens: Option<u32>,
    cached_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

impl Shared {
    /// The replicas in the order the room should try them: up before down, then by the room's
    /// rendezvous rank.
    fn order(&self, key: &str) -> Vec<usize> {
        let mut ranked: Vec<(bool, u64, usize)> = self
            .replicas
            .iter()
            .enumerate()
            .map(|(i, r)| (r.is_up(), rank_weight(key, &r.label), i))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        ranked.into_iter().map(|(_, _, i)| i).collect()
    }

    /// The room's first replica that is up and not yet tried in this round of attempts.
    fn next_untried(&self, key: &str, tried: &[usize]) -> Option<usize> {
        self.order(key)
            .into_iter()
            .find(|i| self.replicas[*i].is_up() && !tried.contains(i))
    }

    async fn serve(&self, request: GenerateRequest, tx: StreamSender) {
        let start = Instant::now();
        let key = room_affinity_key(&request.room);
        let body = self.body(&request, &key);
        let mut attempt = 0;
        // Replicas that failed this request since the last backoff.
        let mut tried: Vec<usize> = Vec::new();
        loop {
            // When every replica is down the room's first choice is tried anyway: a probe may
            // be stale, and the error then says what is wrong.
            let index = self
                .next_untried(&key, &tried)
                .unwrap_or_else(|| self.order(&key)[0]);
            let replica = &self.replicas[index];
            let outcome = self
                .attempt(replica, &key, &body, &request, &tx, start)
                .await;
            match outcome {
                Attempt::Finished(completion) => {
                    if completion.finish_reason != FinishReason::Cancelled {
                        replica.set_up(true, "a request succeeded");
                    }
                    self.metrics
                        .record_generate(&completion.metrics, completion.finish_reason);
                    tx.done(completion);
                    return;
                }
                Attempt::FailedEarly(e) if e.is_retryable() => {
                    if marks_down(&e) {
                        replica.set_up(false, &e.to_string());
                    }
                    tried.push(index);
                    if self.next_untried(&key, &tried).is_some() {
                        // Another replica is up: go there now, nothing was shown yet.
                        tracing::warn!(error = %e, replica = %replica.label, "remote replica failed before the first token; trying the next one");
                        continue;
                    }
                    if attempt >= self.retries {
                        self.metrics.record_error();
                        tx.fail(e);
                        return;
                    }
                    attempt += 1;
                    tried.clear();
                    let backoff = Duration::from_millis(200 * (1 << attempt.min(5)));
                    tracing::warn!(error = %e, attempt, "remote engine failed before the first token; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = tx.cancel_handle().cancelled() => {}
                    }
                }
                Attempt::FailedLate(e) => {
                    // Tokens were shown: never retried (see the module comment).
                    if marks_down(&e) {
                        replica.set_up(false, &e.to_string());
                    }
                    self.metrics.record_error();
                    tx.fail(e);
                    return;
                }
                Attempt::FailedEarly(e) => {
                    self.metrics.record_error();
                    tx.fail(e);
                    return;
                }
            }
        }
    }

    /// One health check: up when the server answers `GET /health` with anything but a server
    /// error (llama-server and vLLM answer 200 when ready and 503 while loading; a server
    /// without the route answers 404, which still shows it is alive).
    async fn probe(&self, replica: &Replica) {
        let mut req = self.client.get(replica.health.clone());
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let limit = self.health_interval.max(Duration::from_secs(2));
        match tokio::time::timeout(limit, req.send()).await {
            Ok(Ok(r)) if !r.status().is_server_error() => {
                replica.set_up(true, "health check passed")
            }
            Ok(Ok(r)) => replica.set_up(false, &format!("health check answered {}", r.status())),
            Ok(Err(e)) => {
                replica.set_up(false, &format!("health check failed: {}", error_chain(&e)))
            }
            Err(_) => replica.set_up(false, "health check timed out"),
        }
    }

    fn body(&self, request: &GenerateRequest, key: &str) -> Value {
        let p = &request.params;
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": p.max_tokens,
            "temperature": p.temperature.max(0.0),
            "seed": p.seed,
            // llama-server keeps the room's prompt in its cache between requests.
            "cache_prompt": true,
            // OpenAI's end-user id: routers and servers that group requests by user keep the
            // room together. Opaque, see `room_affinity_key`.
            "user": key,
        });
        if !p.is_greedy() {
            body["top_p"] = json!(p.top_p);
            body["min_p"] = json!(p.min_p);
            if p.top_k > 0 {
                body["top_k"] = json!(p.top_k);
            }
        }
        if (p.repeat_penalty - 1.0).abs() > f32::EPSILON {
            body["repeat_penalty"] = json!(p.repeat_penalty);
            body["repeat_last_n"] = json!(p.repeat_last_n);
        }
        if !p.stop.is_empty() {
            body["stop"] = json!(p.stop);
        }
        if p.ignore_eos {
            // llama-server and vLLM both read it.
            body["ignore_eos"] = json!(true);
        }
        body
    }

    async fn attempt(
        &self,
        replica: &Replica,
        key: &str,
        body: &Value,
        request: &GenerateRequest,
        tx: &StreamSender,
        start: Instant,
    ) -> Attempt {
        let cancel = tx.cancel_handle();
        let cancelled = |generated| {
            Attempt::Finished(Completion {
                text: String::new(),
                finish_reason: FinishReason::Cancelled,
                metrics: RequestMetrics {
                    generated_tokens: generated,
                    total_ms: ms(start.elapsed()),
                    ..Default::default()
                },
            })
        };
        let mut req = self
            .client
            .post(replica.endpoint.clone())
            .header(ROOM_HEADER, key)
            .header(SESSION_HEADER, key)
            .json(body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let first_deadline = Instant::now() + self.first_token_timeout;
        let response = tokio::select! {
            r = tokio::time::timeout_at(first_deadline.into(), req.send()) => r,
            _ = cancel.cancelled() => return cancelled(0),
        };
        let response = match response {
            Err(_) => {
                return Attempt::FailedEarly(self.timeout("the response", self.first_token_timeout))
            }
            Ok(Err(e)) => {
                return Attempt::FailedEarly(EngineError::Unreachable {
                    url: replica.endpoint.to_string(),
                    reason: error_chain(&e),
                })
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if !status.is_success() {
            let text = tokio::time::timeout(Duration::from_secs(5), response.text())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            return Attempt::FailedEarly(EngineError::RemoteStatus {
                status: status.as_u16(),
                message: error_message(&text),
            });
        }

        let mut bytes = response.bytes_stream();
        let mut line_buf: Vec<u8> = Vec::new();
        let mut decoder = TextDecoder::new(&request.params.stop);
        let mut usage = Usage::default();
        let mut chunks = 0u32;
        let mut first_at: Option<Instant> = None;
        let mut last_at: Option<Instant> = None;
        let mut finish: Option<FinishReason> = None;
        let mut done = false;
        while !done {
            let wait = match first_at {
                None => tokio::time::timeout_at(first_deadline.into(), bytes.next()),
                Some(_) => tokio::time::timeout(self.idle_timeout, bytes.next()),
            };
            let next = tokio::select! {
                n = wait => n,
                _ = cancel.cancelled() => return cancelled(chunks),
            };
            let chunk = match next {
                Err(_) => {
                    let e = match first_at {
                        None => self.timeout("the first token", self.first_token_timeout),
                        Some(_) => self.timeout("the next token", self.idle_timeout),
                    };
                    return if first_at.is_none() {
                        Attempt::FailedEarly(e)
                    } else {
                        Attempt::FailedLate(e)
                    };
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    let e = EngineError::Unreachable {
                        url: replica.endpoint.to_string(),
                        reason: format!("the stream broke: {}", error_chain(&e)),
                    };
                    return if first_at.is_none() {
                        Attempt::FailedEarly(e)
                    } else {
                        Attempt::FailedLate(e)
                    };
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            line_buf.extend_from_slice(&chunk);
            while let Some(nl) = line_buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = line_buf.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim();
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    done = true;
                    break;
                }
                let event: Value = match serde_json::from_str(data) {
                    Ok(v) => v,
                    Err(e) => {
                        let e = EngineError::Protocol(format!(
                            "a stream event is not JSON ({e}): {data:.200}"
                        ));
                        return if first_at.is_none() {
                            Attempt::FailedEarly(e)
                        } else {
                            Attempt::FailedLate(e)
                        };
                    }
                };
                if let Some(err) = event.get("error") {
                    let e = EngineError::Protocol(format!(
                        "the server reported an error: {}",
                        error_message(&err.to_string())
                    ));
                    return if first_at.is_none() {
                        Attempt::FailedEarly(e)
                    } else {
                        Attempt::FailedLate(e)
                    };
                }
                read_usage(&event, &mut usage);
                let choice = &event["choices"][0];
                if let Some(reason) = choice["finish_reason"].as_str() {
                    finish = Some(match reason {
                        "length" => FinishReason::Length,
                        _ => FinishReason::Stop,
                    });
                }
                if let Some(content) = choice["delta"]["content"].as_str() {
                    if content.is_empty() {
                        continue;
                    }
                    let now = Instant::now();
                    first_at.get_or_insert(now);
                    last_at = Some(now);
                    chunks += 1;
                    let pushed = decoder.push(content.as_bytes());
                    if !pushed.emit.is_empty() && !tx.token(pushed.emit) {
                        return cancelled(chunks);
                    }
                    if pushed.stopped {
                        finish = Some(FinishReason::StopString);
                        done = true;
                        break;
                    }
                }
            }
        }
        if finish != Some(FinishReason::StopString) {
            let rest = decoder.finish();
            if !rest.is_empty() {
                tx.token(rest);
            }
        }
        let generated = usage.completion_tokens.unwrap_or(chunks);
        let tokens_per_s = match (first_at, last_at) {
            (Some(a), Some(b)) if generated > 1 && b > a => {
                Some(f64::from(generated - 1) / (b - a).as_secs_f64())
            }
            _ => None,
        };
        let cached = usage.cached_tokens.unwrap_or(0);
        Attempt::Finished(Completion {
            text: decoder.text().to_string(),
            finish_reason: finish.unwrap_or(FinishReason::Stop),
            metrics: RequestMetrics {
                prompt_tokens: usage.prompt_tokens.unwrap_or(0),
                cached_tokens: cached,
                generated_tokens: generated,
                queue_ms: 0.0,
                ttft_ms: first_at.map(|t| ms(t - start)),
                total_ms: ms(start.elapsed()),
                tokens_per_s,
                compacted: false,
                restored: false,
            },
        })
    }

    fn timeout(&self, waiting_for: &'static str, after: Duration) -> EngineError {
        EngineError::Timeout {
            waiting_for,
            after_ms: after.as_millis() as u64,
        }
    }
}

/// Whether an error says the replica is gone (refused, broken, silent, failing), as opposed
/// to busy (429) or refusing this request.
fn marks_down(e: &EngineError) -> bool {
    match e {
        EngineError::Unreachable { .. } | EngineError::Timeout { .. } => true,
        EngineError::RemoteStatus { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Reads the cost report: OpenAI's `usage` (with `prompt_tokens_details.cached_tokens`) or
/// llama-server's `timings` (`prompt_n` evaluated, `cache_n` reused), whichever is present.
fn read_usage(event: &Value, usage: &mut Usage) {
    let as_u32 = |v: &Value| v.as_u64().map(|n| n.min(u64::from(u32::MAX)) as u32);
    if let Some(u) = event.get("usage").filter(|u| u.is_object()) {
        let cached = as_u32(&u["prompt_tokens_details"]["cached_tokens"]);
        if let Some(total) = as_u32(&u["prompt_tokens"]) {
            usage.prompt_tokens = Some(total.saturating_sub(cached.unwrap_or(0)));
        }
        usage.cached_tokens = cached.or(usage.cached_tokens);
        usage.completion_tokens = as_u32(&u["completion_tokens"]).or(usage.completion_tokens);
    }
    if let Some(t) = event.get("timings").filter(|t| t.is_object()) {
        if let Some(n) = as_u32(&t["prompt_n"]) {
            usage.prompt_tokens = Some(n);
        }
        if let Some(n) = as_u32(&t["cache_n"]) {
            usage.cached_tokens = Some(n);
        }
    }
}

/// The human part of an error body: OpenAI's `{"error": {"message": ...}}` when present.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v["error"]["message"]
            .as_str()
            .or_else(|| v["message"].as_str())
            .or_else(|| v["error"].as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| body.trim().to_string());
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text.chars().take(300).collect()
    }
}

/// A reqwest error with its causes, since the top level alone ("error sending request") does
/// not say whether the port was closed or the name did not resolve.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_accepts_base_v1_and_full_urls() {
        for (input, want) in [
            (
                "http://127.0.0.1:8081",
                "http://127.0.0.1:8081/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8081/",
                "http://127.0.0.1:8081/v1/chat/completions",
            ),
            ("http://host/v1", "http://host/v1/chat/completions"),
            (
                "https://host/api/v1/",
                "https://host/api/v1/chat/completions",
            ),
            (
                "http://host/v1/chat/completions",
                "http://host/v1/chat/completions",
            ),
        ] {
            assert_eq!(endpoint_url(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        for bad in ["", "localhost:8081", "ftp://host/", "http://", "not a url"] {
            let err = endpoint_url(bad).unwrap_err();
            assert!(
                matches!(err, EngineError::InvalidUrl { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn health_checks_go_to_the_server_root() {
        for (url, want) in [
            ("http://h:8081", "http://h:8081/health"),
            ("http://h:8081/v1", "http://h:8081/health"),
            ("https://h/api/v1/", "https://h/api/health"),
            ("http://h/v1/chat/completions", "http://h/health"),
        ] {
            assert_eq!(Replica::new(url).unwrap().health.as_str(), want, "{url}");
        }
    }

    #[test]
    fn a_room_keeps_its_replica_unless_that_one_goes() {
        let all = ["http://a:1", "http://b:1", "http://c:1"];
        fn top<'a>(key: &str, among: &[&'a str]) -> &'a str {
            among
                .iter()
                .copied()
                .max_by_key(|r| rank_weight(key, r))
                .unwrap()
        }
        let mut moved = 0;
        for n in 0..300 {
            let key = room_affinity_key(&RoomKey::from(n as i64));
            assert_eq!(key, room_affinity_key(&RoomKey::from(n as i64)), "stable");
            assert_eq!(key.len(), "room-".len() + 24, "{key}");
            let before = top(&key, &all);
            let after = top(&key, &all[..2]);
            if before == "http://c:1" {
                moved += 1;
            } else {
                assert_eq!(before, after, "only the rooms of the removed replica move");
            }
        }
        assert!((50..150).contains(&moved), "about a third moved: {moved}");
    }

    #[test]
    fn usage_from_openai_and_llama_server() {
        let mut u = Usage::default();
        read_usage(
            &json!({"usage": {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 90}}}),
            &mut u,
        );
        assert_eq!(
            (u.prompt_tokens, u.cached_tokens, u.completion_tokens),
            (Some(10), Some(90), Some(7))
        );
        let mut u = Usage::default();
        read_usage(
            &json!({"timings": {"prompt_n": 12, "cache_n": 300}}),
            &mut u,
        );
        assert_eq!((u.prompt_tokens, u.cached_tokens), (Some(12), Some(300)));
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_message(r#"{"error":{"message":"model not found","type":"x"}}"#),
            "model not found"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(""), "(no message)");
    }
}
