//! The plain data that crosses the engine seam: rooms, messages, sampling settings, results.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::metrics::RequestMetrics;

/// Identifies a room's conversation inside an engine. The engine keeps one cached sequence per
/// key, so the caller must use the same key for every request of one conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomKey(Arc<str>);

impl RoomKey {
    pub fn new(key: impl AsRef<str>) -> Self {
        RoomKey(Arc::from(key.as_ref()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RoomKey {
    fn from(s: &str) -> Self {
        RoomKey::new(s)
    }
}

impl From<String> for RoomKey {
    fn from(s: String) -> Self {
        RoomKey(Arc::from(s))
    }
}

impl From<i64> for RoomKey {
    fn from(n: i64) -> Self {
        RoomKey::new(n.to_string())
    }
}

impl From<u64> for RoomKey {
    fn from(n: u64) -> Self {
        RoomKey::new(n.to_string())
    }
}

/// Who wrote a message, in the chat template's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of the conversation as the model sees it. Children's messages are usually
/// `User` messages of the form `Name: text`; the agent's own earlier replies are `Assistant`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }

    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::System, content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::User, content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage::new(Role::Assistant, content)
    }
}

/// How one reply is sampled. Each request gets its own sampler chain built from these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 (or below) means greedy: always the most likely token, reproducible for tests.
    pub temperature: f32,
    /// Keep only this many most likely tokens (0 = all).
    pub top_k: u32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability adds up to this.
    pub top_p: f32,
    /// Drop tokens less likely than this fraction of the most likely one.
    pub min_p: f32,
    /// Penalty for repeating recent tokens (1.0 = off).
    pub repeat_penalty: f32,
    /// How many recent tokens the repetition penalty looks at.
    pub repeat_last_n: u32,
    /// Seed of the random choice, so a run can be replayed.
    pub seed: u32,
    /// The reply stops after this many tokens.
    pub max_tokens: u32,
    /// The reply stops before any of these strings; the string itself is not returned.
    pub stop: Vec<String>,
    /// Never end early: the model's end-of-turn tokens are banned, so the reply runs to
    /// `max_tokens` (or a stop string). For benchmarks only, which compare engines at equal
    /// reply lengths (llama-server's `ignore_eos` does the same); never for children.
    pub ignore_eos: bool,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.7,
            top_k: 40,
            top_p: 0.9,
            min_p: 0.05,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 42,
            max_tokens: 128,
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding without repetition penalty: the same prompt always gives the same reply.
    pub fn greedy(max_tokens: u32) -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            max_tokens,
            ..SamplingParams::default()
        }
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }
}

/// A request for one streamed reply in a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub room: RoomKey,
    /// The whole conversation to answer, oldest first, starting with the system prompt. The
    /// engine works out itself which part it has already evaluated.
    pub messages: Vec<ChatMessage>,
    pub params: SamplingParams,
}

impl GenerateRequest {
    pub fn new(
        room: impl Into<RoomKey>,
        messages: Vec<ChatMessage>,
        params: SamplingParams,
    ) -> Self {
        GenerateRequest {
            room: room.into(),
            messages,
            params,
        }
    }
}

/// Why a reply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its turn.
    Stop,
    /// One of the request's stop strings appeared.
    StopString,
    /// `max_tokens` (or the room's context) was reached.
    Length,
    /// The request was cancelled (the caller dropped the stream, paused the agent or closed
    /// the room).
    Cancelled,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::StopString => "stop_string",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// A finished reply: its whole text, why it ended and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    pub finish_reason: FinishReason,
    pub metrics: RequestMetrics,
}

/// One item of a reply stream.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More text of the reply; always whole UTF-8 characters, never part of a stop string.
    Token(String),
    /// The reply is over; this is the last item.
    Done(Completion),
}

/// What an eager prefill did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefillReport {
    /// Prompt tokens evaluated by this prefill.
    pub prompt_tokens: u32,
    /// Tokens already in the room's cache that did not need evaluating.
    pub cached_tokens: u32,
    /// A newer request for the same room arrived and took over before this one finished (what
    /// was evaluated so far stays in the cache).
    pub superseded: bool,
    /// The backend does not keep per-room state (remote), so nothing was done.
    pub skipped: bool,
    /// The conversation no longer fitted and its oldest turns were dropped.
    pub compacted: bool,
    /// The room's cache came back from RAM after an eviction.
    pub restored: bool,
    /// Time from the call to the end of the prefill.
    pub elapsed_ms: f64,
}

/// One server of a remote engine and whether it is taking requests, for `/healthz` and
/// `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// The replica's base URL as configured.
    pub url: String,
    /// False after a failed health check or request, until a health check succeeds.
    pub up: bool,
}

/// What an engine is, for `/healthz` and logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `llama.cpp`, `remote` or `fake`.
    pub backend: String,
    /// The model's name (from the GGUF metadata, or the remote model name).
    pub model_name: String,
    /// Rooms resident at once (1 for backends without per-room state).
    pub slots: u32,
    /// Context window of one room in tokens (0 when unknown).
    pub context_per_slot: u32,
    /// CPU threads used (0 when not applicable).
    pub threads: u32,
    /// The chat template in use (`chatml`, `llama3`, ...), when known.
    pub chat_template: Option<String>,
}
