//! The one error type every engine reports, at construction and in the middle of a stream.
//!
//! It is `Clone` and carries only strings, so a failure can be sent down a token stream and
//! logged by the agent without dragging library error types (llama.cpp, reqwest) into the
//! rest of the code base.

use std::path::PathBuf;

/// Why an engine could not be built, or a request could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The configured model path does not exist.
    #[error("the model file {path} does not exist; run scripts/fetch-model.sh for the default model or pass --model PATH")]
    ModelNotFound { path: PathBuf },

    /// The configured model path exists but is not a GGUF file.
    #[error(
        "the model file {path} is not a GGUF file (it does not start with the GGUF magic bytes)"
    )]
    NotGguf { path: PathBuf },

    /// llama.cpp refused to load the model or to create its context.
    #[error("could not load the model {path}: {reason}")]
    ModelLoad { path: PathBuf, reason: String },

    /// A configuration value is out of range or inconsistent.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(String),

    /// The request itself cannot be served (for example it has no messages).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The chat template could not render the conversation.
    #[error("chat template error: {0}")]
    Template(String),

    /// llama.cpp failed to evaluate a batch.
    #[error("the model failed to evaluate the prompt: {0}")]
    Decode(String),

    /// The engine thread has stopped (the engine was dropped or crashed).
    #[error("the inference engine has stopped")]
    Stopped,

    /// The remote engine's URL cannot be used.
    #[error("invalid llm-url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The remote engine could not be reached.
    #[error("cannot reach the remote engine at {url}: {reason}")]
    Unreachable { url: String, reason: String },

    /// The remote engine answered with an error status.
    #[error("the remote engine answered {status}: {message}")]
    RemoteStatus { status: u16, message: String },

    /// The remote engine did not answer in time.
    #[error("the remote engine timed out waiting for {waiting_for} after {after_ms} ms")]
    Timeout {
        waiting_for: &'static str,
        after_ms: u64,
    },

    /// The remote engine answered something that is not an OpenAI-compatible stream.
    #[error("the remote engine sent an unexpected response: {0}")]
    Protocol(String),
}

impl EngineError {
    /// Whether a remote request may be retried when this happens before the first token.
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Unreachable { .. } | EngineError::Timeout { .. } => true,
            EngineError::RemoteStatus { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
