//! The inference engine: one trait between the agent and whatever runs the model.
//!
//! Shaped like text-generation-inference's router: callers hand a request to an [`Engine`] and
//! get a stream back; the engine decides how to batch. Three implementations:
//!
//! - [`llama::LlamaEngine`]: llama.cpp in-process. One OS thread owns the model and its single
//!   context; every room is a sequence in that context, and each decode step carries one token
//!   for every room that is generating plus chunks of pending prompts for the others
//!   (continuous batching). Rooms keep their evaluated tokens between requests (prefix reuse),
//!   new child messages are evaluated as soon as they are stored ([`Engine::prefill`]), idle rooms
//!   beyond the slot count are parked in RAM, and a full context drops the oldest turns.
//! - [`remote::RemoteEngine`]: an OpenAI-compatible `POST /v1/chat/completions` stream
//!   (llama-server, vLLM, Ollama) on another machine.
//! - [`fake::FakeEngine`]: a deterministic test double for the modules built on top.
//!
//! The server builds one engine with [`build_engine`] and shares it as an [`SharedEngine`].

pub mod config;
pub mod error;
pub mod fake;
pub mod llama;
pub mod metrics;
pub mod remote;
pub mod stream;
pub mod types;

use std::sync::Arc;

pub use config::EngineConfig;
pub use error::EngineError;
pub use metrics::{EngineMetrics, MetricsSnapshot, RequestMetrics};
pub use stream::{CancelHandle, PrefillHandle, TokenStream};
pub use types::{
    ChatMessage, Completion, EngineInfo, FinishReason, GenerateRequest, PrefillReport,
    ReplicaStatus, Role, RoomKey, SamplingParams, StreamEvent,
};

/// Something that turns conversations into streamed replies, for many rooms at once.
///
/// Object safe: the server holds it as `Arc<dyn Engine>`. No method blocks; work happens on
/// the engine's own thread (embedded) or in tasks (remote), so `generate` must be called from
/// within a Tokio runtime for the remote backend.
pub trait Engine: Send + Sync {
    /// What this engine is (backend, model name for `/healthz`, slots).
    fn info(&self) -> &EngineInfo;

    /// The model's name, for `/healthz`.
    fn model_name(&self) -> &str {
        &self.info().model_name
    }

    /// Evaluates `messages` into the room's cache now, before anyone asks for a reply, so that a
    /// later [`Engine::generate`] with the same conversation plus at most a reply header starts
    /// at once. Call it whenever a message is stored. A newer request for the same room takes
    /// over an unfinished prefill without losing what it evaluated.
    fn prefill(&self, room: RoomKey, messages: Vec<ChatMessage>) -> PrefillHandle;

    /// Starts a streamed reply to the conversation. Errors arrive on the stream.
    fn generate(&self, request: GenerateRequest) -> TokenStream;

    /// Stops the room's running or queued replies (the facilitator paused the agent). The
    /// streams end with [`FinishReason::Cancelled`] and the slot is free within one step.
    fn cancel(&self, room: &RoomKey);

    /// Forgets the room (it closed): cancels its work and frees its cache and parked state.
    fn close_room(&self, room: &RoomKey);

    /// The engine's running totals.
    fn metrics(&self) -> &EngineMetrics;

    /// The servers behind a remote engine and their health (empty for in-process engines).
    fn replicas(&self) -> Vec<ReplicaStatus> {
        Vec::new()
    }

    /// Appends the engine's totals in Prometheus text format (for the server's `/metrics`).
    fn render_prometheus(&self, out: &mut String) {
        self.metrics().render_prometheus(out)
    }
}

/// How the server holds its engine.
pub type SharedEngine = Arc<dyn Engine>;

/// Builds the engine the configuration asks for: remote when `llm_urls` is set, otherwise the
/// embedded llama.cpp engine (which loads the model, so this blocks for a moment; call it at
/// start or in `spawn_blocking`).
pub fn build_engine(config: &EngineConfig) -> Result<SharedEngine, EngineError> {
    if config.is_remote() {
        Ok(Arc::new(remote::RemoteEngine::new(config)?))
    } else {
        Ok(Arc::new(llama::LlamaEngine::load(config)?))
    }
}
