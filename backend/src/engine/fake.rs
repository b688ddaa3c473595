//! A deterministic stand-in engine for the tests of the modules built on top (agent, server).
//!
//! It never loads a model: a reply is computed from the request by a function (by default an
//! echo of the last message), split into word "tokens" and streamed with configurable delays.
//! It records every call so a test can assert what the agent asked for, and it honours
//! cancellation, stop strings, `max_tokens` and per-room prefix reuse (counted in words), so
//! the metrics it returns have the same shape as the real engines'.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::EngineError;
use super::metrics::{EngineMetrics, RequestMetrics};
use super::stream::{PrefillHandle, TokenStream};
use super::types::{
    ChatMessage, Completion, EngineInfo, FinishReason, GenerateRequest, PrefillReport, RoomKey,
    StreamEvent,
};
use super::Engine;

type ReplyFn = dyn Fn(&GenerateRequest) -> String + Send + Sync;

/// What the fake engine was asked to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum FakeCall {
    Prefill {
        room: RoomKey,
        messages: Vec<ChatMessage>,
    },
    Generate(GenerateRequest),
    Cancel(RoomKey),
    CloseRoom(RoomKey),
}

/// The test double. Cheap to build; one per test.
pub struct FakeEngine {
    info: EngineInfo,
    metrics: Arc<EngineMetrics>,
    reply: Arc<ReplyFn>,
    first_token_delay: Duration,
    token_delay: Duration,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<FakeCall>,
    /// Word "tokens" each room has already "evaluated".
    rooms: HashMap<RoomKey, Vec<String>>,
    failures: Vec<EngineError>,
    running: HashMap<RoomKey, Vec<super::stream::CancelHandle>>,
}

impl Default for FakeEngine {
    fn default() -> Self {
        FakeEngine::new()
    }
}

impl FakeEngine {
    /// Replies `I heard: <last message>` with no delays.
    pub fn new() -> Self {
        FakeEngine {
            info: EngineInfo {
                backend: "fake".into(),
                model_name: "fake-model".into(),
                slots: 1,
                context_per_slot: 0,
                threads: 0,
                chat_template: None,
            },
            metrics: Arc::new(EngineMetrics::new("fake")),
            reply: Arc::new(|req: &GenerateRequest| {
                let last = req
                    .messages
                    .last()
                    .map(|m| m.content.as_str())
                    .unwrap_or("");
                format!("I heard: {last}")
            }),
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            state: Arc::default(),
        }
    }

    /// Computes each reply with `f`.
    pub fn with_reply(
        mut self,
        f: impl Fn(&GenerateRequest) -> String + Send + Sync + 'static,
    ) -> Self {
        self.reply = Arc::new(f);
        self
    }

    /// Replies with these texts in turn (cycling).
    pub fn with_replies(self, replies: Vec<String>) -> Self {
        let counter = Mutex::new(0usize);
        self.with_reply(move |_| {
            let mut n = counter.lock().unwrap_or_else(|e| e.into_inner());
            let text = replies
                .get(*n % replies.len().max(1))
                .cloned()
                .unwrap_or_default();
            *n += 1;
            text
        })
    }

    /// Waits this long before the first token (to test timeouts and "typing" indicators).
    pub fn with_first_token_delay(mut self, d: Duration) -> Self {
        self.first_token_delay = d;
        self
    }

    /// Waits this long between tokens (to test cancellation mid-reply).
    pub fn with_token_delay(mut self, d: Duration) -> Self {
        self.token_delay = d;
        self
    }

    /// Sets the model name reported in [`EngineInfo`].
    pub fn with_model_name(mut self, name: &str) -> Self {
        self.info.model_name = name.into();
        self
    }

    /// The next `generate` fails with `error` (queued: several calls fail in turn).
    pub fn fail_next(&self, error: EngineError) {
        self.lock().failures.push(error);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.lock().calls.clone()
    }

    /// The generate requests so far, in order.
    pub fn generate_requests(&self) -> Vec<GenerateRequest> {
        self.lock()
            .calls
            .iter()
            .filter_map(|c| match c {
                FakeCall::Generate(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The conversation as word tokens, the unit of the fake's prefix reuse.
    fn words(messages: &[ChatMessage]) -> Vec<String> {
        let mut out = Vec::new();
        for m in messages {
            out.push(format!("<{}>", m.role.as_str()));
            out.extend(m.content.split_whitespace().map(str::to_string));
        }
        out
    }

    /// Returns (evaluated, reused) and remembers the room's new contents.
    fn account(&self, room: &RoomKey, messages: &[ChatMessage]) -> (u32, u32) {
        let words = FakeEngine::words(messages);
        let mut st = self.lock();
        let cached = st
            .rooms
            .get(room)
            .map_or(0, |old| common_prefix(old, &words));
        let evaluated = words.len() - cached;
        st.rooms.insert(room.clone(), words);
        (evaluated as u32, cached as u32)
    }
}

fn common_prefix(a: &[String], b: &[String]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Splits a reply into word tokens that concatenate back to the reply.
fn word_tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, part) in text.split(' ').enumerate() {
        if i == 0 {
            out.push(part.to_string());
        } else {
            out.push(format!(" {part}"));
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

impl Engine for FakeEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn prefill(&self, room: RoomKey, messages: Vec<ChatMessage>) -> PrefillHandle {
        let start = Instant::now();
        self.lock().calls.push(FakeCall::Prefill {
            room: room.clone(),
            messages: messages.clone(),
        });
        let (prompt_tokens, cached_tokens) = self.account(&room, &messages);
        let report = PrefillReport {
            prompt_tokens,
            cached_tokens,
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
            ..Default::default()
        };
        self.metrics.record_prefill(&report, false);
        PrefillHandle::ready(Ok(report))
    }

    fn generate(&self, request: GenerateRequest) -> TokenStream {
        let start = Instant::now();
        let failure = {
            let mut st = self.lock();
            st.calls.push(FakeCall::Generate(request.clone()));
            if st.failures.is_empty() {
                None
            } else {
                Some(st.failures.remove(0))
            }
        };
        if let Some(error) = failure {
            self.metrics.record_error();
            return TokenStream::failed(error);
        }
        if request.messages.is_empty() {
            return TokenStream::failed(EngineError::InvalidRequest(
                "the conversation has no messages".into(),
            ));
        }
        let (prompt_tokens, cached_tokens) = self.account(&request.room, &request.messages);
        let text = (self.reply)(&request);
        let (tx, stream) = TokenStream::channel();
        self.lock()
            .running
            .entry(request.room.clone())
            .or_default()
            .push(tx.cancel_handle().clone());
        let metrics = self.metrics.clone();
        let state = self.state.clone();
        let first_delay = self.first_token_delay;
        let delay = self.token_delay;
        let params = request.params.clone();
        let room = request.room.clone();
        tokio::spawn(async move {
            let cancel = tx.cancel_handle().clone();
            let mut out = String::new();
            let mut generated = 0u32;
            let mut first: Option<Instant> = None;
            let mut finish = FinishReason::Stop;
            for (i, token) in word_tokens(&text).into_iter().enumerate() {
                if generated >= params.max_tokens {
                    finish = FinishReason::Length;
                    break;
                }
                let wait = if i == 0 { first_delay } else { delay };
                if !wait.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cancel.cancelled() => {}
                    }
                }
                if tx.is_cancelled() {
                    finish = FinishReason::Cancelled;
                    break;
                }
                generated += 1;
                first.get_or_insert_with(Instant::now);
                let candidate = format!("{out}{token}");
                if let Some(pos) = params
                    .stop
                    .iter()
                    .filter_map(|s| candidate.find(s.as_str()))
                    .min()
                {
                    let piece = candidate[out.len().min(pos)..pos].to_string();
                    if !piece.is_empty() {
                        tx.token(piece);
                    }
                    out = candidate[..pos].to_string();
                    finish = FinishReason::StopString;
                    break;
                }
                out = candidate;
                tx.token(token);
            }
            let now = Instant::now();
            let tokens_per_s = match first {
                Some(f) if generated > 1 && now > f => {
                    Some(f64::from(generated - 1) / now.duration_since(f).as_secs_f64())
                }
                _ => None,
            };
            let m = RequestMetrics {
                prompt_tokens,
                cached_tokens,
                generated_tokens: generated,
                queue_ms: 0.0,
                ttft_ms: first.map(|f| f.duration_since(start).as_secs_f64() * 1000.0),
                total_ms: now.duration_since(start).as_secs_f64() * 1000.0,
                tokens_per_s,
                compacted: false,
                restored: false,
            };
            metrics.record_generate(&m, finish);
            if let Some(handles) = state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .running
                .get_mut(&room)
            {
                handles.retain(|h| !h.same_as(&cancel));
            }
            tx.done(Completion {
                text: out,
                finish_reason: finish,
                metrics: m,
            });
        });
        stream
    }

    fn cancel(&self, room: &RoomKey) {
        let mut st = self.lock();
        st.calls.push(FakeCall::Cancel(room.clone()));
        if let Some(handles) = st.running.remove(room) {
            handles.iter().for_each(|h| h.cancel());
        }
    }

    fn close_room(&self, room: &RoomKey) {
        let mut st = self.lock();
        st.calls.push(FakeCall::CloseRoom(room.clone()));
        if let Some(handles) = st.running.remove(room) {
            handles.iter().for_each(|h| h.cancel());
        }
        st.rooms.remove(room);
    }

    fn metrics(&self) -> &EngineMetrics {
        &self.metrics
    }
}

/// Reads a whole reply from a stream: the concatenated tokens and the completion.
pub async fn collect_stream(mut stream: TokenStream) -> Result<(String, Completion), EngineError> {
    let mut text = String::new();
    while let Some(event) = stream.next_event().await {
        match event? {
            StreamEvent::Token(t) => text.push_str(&t),
            StreamEvent::Done(c) => return Ok((text, c)),
        }
    }
    Err(EngineError::Stopped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::types::SamplingParams;

    fn convo(n: usize) -> Vec<ChatMessage> {
        let mut m = vec![ChatMessage::system("You are Blue.")];
        for i in 0..n {
            m.push(ChatMessage::user(format!("Mia: idea number {i}")));
        }
        m
    }

    #[tokio::test]
    async fn echoes_streams_and_counts_reuse() {
        let engine = FakeEngine::new();
        let room = RoomKey::from("r1");
        let report = engine.prefill(room.clone(), convo(1)).await.unwrap();
        assert_eq!(report.cached_tokens, 0);
        let req = GenerateRequest::new("r1", convo(1), SamplingParams::greedy(50));
        let (text, done) = collect_stream(engine.generate(req)).await.unwrap();
        assert_eq!(text, "I heard: Mia: idea number 0");
        assert_eq!(done.text, text);
        assert_eq!(done.finish_reason, FinishReason::Stop);
        assert_eq!(
            done.metrics.prompt_tokens, 0,
            "prefill already evaluated it"
        );
        assert!(done.metrics.cached_tokens > 0);
        assert_eq!(engine.generate_requests().len(), 1);
    }

    #[tokio::test]
    async fn honours_max_tokens_stop_strings_and_cancel() {
        let engine = FakeEngine::new().with_replies(vec!["one two three four".into()]);
        let (text, done) = collect_stream(engine.generate(GenerateRequest::new(
            "r",
            convo(1),
            SamplingParams::greedy(2),
        )))
        .await
        .unwrap();
        assert_eq!(
            (text.as_str(), done.finish_reason),
            ("one two", FinishReason::Length)
        );

        let mut params = SamplingParams::greedy(10);
        params.stop = vec![" thr".into()];
        let (text, done) =
            collect_stream(engine.generate(GenerateRequest::new("r", convo(1), params)))
                .await
                .unwrap();
        assert_eq!(
            (text.as_str(), done.finish_reason),
            ("one two", FinishReason::StopString)
        );

        let slow = FakeEngine::new().with_token_delay(Duration::from_secs(5));
        let stream = slow.generate(GenerateRequest::new(
            "r",
            convo(1),
            SamplingParams::greedy(10),
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
        slow.cancel(&RoomKey::from("r"));
        let (_, done) = tokio::time::timeout(Duration::from_secs(2), collect_stream(stream))
            .await
            .expect("cancel is prompt")
            .unwrap();
        assert_eq!(done.finish_reason, FinishReason::Cancelled);
    }

    #[tokio::test]
    async fn scripted_failures_arrive_on_the_stream() {
        let engine = FakeEngine::new();
        engine.fail_next(EngineError::Stopped);
        let err = collect_stream(engine.generate(GenerateRequest::new(
            "r",
            convo(1),
            SamplingParams::default(),
        )))
        .await
        .unwrap_err();
        assert_eq!(err, EngineError::Stopped);
        assert!(collect_stream(engine.generate(GenerateRequest::new(
            "r",
            convo(1),
            SamplingParams::default()
        )))
        .await
        .is_ok());
    }
}
