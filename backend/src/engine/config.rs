//! What an engine is built from. The server resolves its flags and file into this struct;
//! every field has a default that works on a small machine with the default model.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings for building an engine with [`crate::engine::build_engine`].
///
/// With `llm_urls` set the remote OpenAI-compatible backend is used and the embedded-engine
/// fields are ignored; otherwise the GGUF at `model_path` is loaded in-process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// The GGUF model of the embedded engine.
    pub model_path: PathBuf,
    /// CPU threads for llama.cpp (generation and prompt evaluation). Default: the machine's cores.
    pub threads: u32,
    /// Rooms whose conversation is resident in the KV cache at once (`n_seq_max`). More live
    /// rooms than slots is fine: idle rooms are parked in RAM and restored on demand.
    pub slots: u32,
    /// Context window of one room, in tokens. When a conversation outgrows it the oldest turns
    /// are dropped (the system prompt stays).
    pub context_per_slot: u32,
    /// Most tokens evaluated in one decode step (llama.cpp `n_batch`).
    pub batch_size: u32,
    /// Most prompt tokens added to a decode step while other rooms are generating. It bounds how
    /// long one room's long prompt can stall the token streams of the others.
    pub prefill_chunk: u32,
    /// Most generating rooms that get their next token in one decode step; 0 (the default)
    /// advances every generating room in every step that is not given to a waiting reply's
    /// prompt. A cap (round-robin) shortens steps, which can shorten a newly arrived prompt's
    /// wait, at the price of throughput (docs/engine.md, "Beside llama-server").
    pub gen_per_step: u32,
    /// Tokens kept free for the reply when deciding whether a conversation still fits.
    pub reply_reserve: u32,
    /// Upper bound on the RAM (MiB) used by the KV state of evicted rooms; past it the least
    /// recently used parked room is forgotten and will be re-evaluated if it comes back.
    pub parked_state_mib: u64,
    /// Layers offloaded to the GPU (only with the `cuda` feature; 0 keeps everything on the CPU).
    pub gpu_layers: u32,
    /// Use one unified KV buffer for all rooms (llama.cpp `kv_unified`). Off by default: each
    /// room then has its own KV stream, so a room's arithmetic never depends on where other
    /// rooms' tokens sit in the cache (greedy replies are bit-identical alone and batched), at
    /// the price of llama.cpp splitting mixed steps into a few graph evaluations.
    pub kv_unified: bool,
    /// Flash attention: `None` lets llama.cpp decide (its default, `auto`: on where the
    /// backend supports it), `Some(false)` turns it off, as `-fa off` does for llama-server.
    /// Only the benchmark sets it, to measure it (docs/engine.md).
    pub flash_attention: Option<bool>,

    /// Base URLs of remote OpenAI-compatible servers (llama-server, vLLM, Ollama), replicas of
    /// one model. When any is set, the remote backend is used instead of the embedded model; a
    /// room sticks to one replica and moves to another only when its replica is down.
    pub llm_urls: Vec<String>,
    /// Bearer token sent to the remote server.
    pub llm_api_key: Option<String>,
    /// Model name sent to the remote server (`"model"` in the request body).
    pub llm_model: Option<String>,
    /// Time allowed to open a connection to the remote server.
    pub connect_timeout_ms: u64,
    /// Time allowed between sending a request and its first token.
    pub first_token_timeout_ms: u64,
    /// Time allowed between two chunks of a stream once it has started.
    pub idle_timeout_ms: u64,
    /// Attempts after the first one when a remote request fails before its first token.
    pub retries: u32,
    /// How often each remote replica's `GET /health` is probed.
    pub health_interval_ms: u64,
}

/// Where the default model lives, relative to the working directory.
pub const DEFAULT_MODEL_PATH: &str = "models/default.gguf";

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            model_path: PathBuf::from(DEFAULT_MODEL_PATH),
            threads: default_threads(),
            slots: 8,
            context_per_slot: 2048,
            batch_size: 512,
            prefill_chunk: 128,
            gen_per_step: 0,
            reply_reserve: 256,
            parked_state_mib: 2048,
            gpu_layers: 0,
            kv_unified: false,
            flash_attention: None,
            llm_urls: Vec::new(),
            llm_api_key: None,
            llm_model: None,
            connect_timeout_ms: 5_000,
            first_token_timeout_ms: 60_000,
            idle_timeout_ms: 30_000,
            retries: 2,
            health_interval_ms: 5_000,
        }
    }
}

/// The machine's cores: llama.cpp on the CPU is compute bound, so one thread per core.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

impl EngineConfig {
    /// A config for the embedded engine with the given model and the other defaults.
    pub fn embedded(model_path: impl Into<PathBuf>) -> Self {
        EngineConfig {
            model_path: model_path.into(),
            ..EngineConfig::default()
        }
    }

    /// A config for the remote backend at `url` with the other defaults.
    pub fn remote(url: impl Into<String>) -> Self {
        EngineConfig::replicas([url])
    }

    /// A config for the remote backend over several replicas with the other defaults.
    pub fn replicas<S: Into<String>>(urls: impl IntoIterator<Item = S>) -> Self {
        EngineConfig {
            llm_urls: urls.into_iter().map(Into::into).collect(),
            ..EngineConfig::default()
        }
    }

    /// Whether the remote backend is asked for.
    pub fn is_remote(&self) -> bool {
        !self.llm_urls.is_empty()
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub(crate) fn first_token_timeout(&self) -> Duration {
        Duration::from_millis(self.first_token_timeout_ms)
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub(crate) fn health_interval(&self) -> Duration {
        Duration::from_millis(self.health_interval_ms.max(10))
    }
}
