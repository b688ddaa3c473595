//! The embedded engine: llama.cpp in this process, one OS thread owning the model and its one
//! context, async callers talking to it over channels.
//!
//! Why one thread: a `LlamaContext` is not `Sync`, several contexts on one model are unsafe, and
//! one context with one sequence per room is what lets every decode step batch all rooms
//! together. The thread's loop lives in [`worker`]; this module is the handle callers hold.

mod load;
mod sampling;
mod segments;
mod slots;
mod step;
mod template;
pub(crate) mod text;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::config::EngineConfig;
use super::error::EngineError;
use super::metrics::EngineMetrics;
use super::stream::{PrefillHandle, StreamSender, TokenStream};
use super::types::{ChatMessage, EngineInfo, GenerateRequest, PrefillReport, RoomKey};
use super::Engine;

/// Messages from the handle to the engine thread.
pub(crate) enum Command {
    Prefill {
        room: RoomKey,
        messages: Vec<ChatMessage>,
        reply: oneshot::Sender<Result<PrefillReport, EngineError>>,
        at: Instant,
    },
    Generate {
        request: GenerateRequest,
        tx: StreamSender,
        at: Instant,
    },
    Cancel(RoomKey),
    Close(RoomKey),
    CountTokens {
        messages: Vec<ChatMessage>,
        add_assistant: bool,
        reply: oneshot::Sender<Result<usize, EngineError>>,
    },
    PromptTokens {
        messages: Vec<ChatMessage>,
        add_assistant: bool,
        reply: oneshot::Sender<Result<PromptTokens, EngineError>>,
    },
}

/// One token of a prompt as the engine would evaluate it ([`LlamaEngine::prompt_tokens`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptToken {
    pub id: i32,
    /// The bytes it spells; a control token is spelled out (`<|im_end|>`).
    pub bytes: Vec<u8>,
    /// A control (or unknown) token: only the template's own text can produce one.
    pub control: bool,
    /// A user-defined token of the vocabulary (llama.cpp matches those in any text).
    pub user_defined: bool,
}

/// A conversation's prompt tokens, with the model's BOS token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTokens {
    pub tokens: Vec<PromptToken>,
    pub bos: i32,
    /// The model wants BOS at the start of a prompt.
    pub adds_bos: bool,
}

/// The embedded llama.cpp engine. Dropping it stops its thread (open streams end with
/// [`EngineError::Stopped`]).
pub struct LlamaEngine {
    tx: Option<mpsc::UnboundedSender<Command>>,
    info: EngineInfo,
    metrics: Arc<EngineMetrics>,
    thread: Option<JoinHandle<()>>,
}

impl LlamaEngine {
    /// Loads the model and starts the engine thread. Blocks until the model is loaded (well
    /// under a second for the default model), and fails with a clear error when the file is
    /// missing, not a GGUF, or not loadable.
    pub fn load(config: &EngineConfig) -> Result<LlamaEngine, EngineError> {
        load::check_config(config)?;
        load::check_model_file(&config.model_path)?;
        let metrics = Arc::new(EngineMetrics::new("llama.cpp"));
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread_config = config.clone();
        let thread_metrics = metrics.clone();
        let thread = std::thread::Builder::new()
            .name("peerlearn-engine".into())
            .spawn(move || worker::run(thread_config, rx, thread_metrics, ready_tx))
            .map_err(|e| EngineError::ModelLoad {
                path: config.model_path.clone(),
                reason: format!("cannot start the engine thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(info)) => Ok(LlamaEngine {
                tx: Some(tx),
                info,
                metrics,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(EngineError::ModelLoad {
                    path: config.model_path.clone(),
                    reason: "the engine thread stopped while loading".into(),
                })
            }
        }
    }

    /// How many tokens the conversation is with this model's template (with the assistant's
    /// header when `add_assistant`), e.g. to budget prompts or check cache counters.
    pub async fn count_tokens(
        &self,
        messages: Vec<ChatMessage>,
        add_assistant: bool,
    ) -> Result<usize, EngineError> {
        let (reply, rx) = oneshot::channel();
        if self
            .send(Command::CountTokens {
                messages,
                add_assistant,
                reply,
            })
            .is_some()
        {
            return Err(EngineError::Stopped);
        }
        rx.await.unwrap_or(Err(EngineError::Stopped))
    }

    /// The prompt tokens of the conversation, as the engine would evaluate them (without the
    /// room's known replies): for tests and debugging of templates and special tokens.
    pub async fn prompt_tokens(
        &self,
        messages: Vec<ChatMessage>,
        add_assistant: bool,
    ) -> Result<PromptTokens, EngineError> {
        let (reply, rx) = oneshot::channel();
        if self
            .send(Command::PromptTokens {
                messages,
                add_assistant,
                reply,
            })
            .is_some()
        {
            return Err(EngineError::Stopped);
        }
        rx.await.unwrap_or(Err(EngineError::Stopped))
    }

    /// Hands a command to the engine thread; gives it back if the thread is gone.
    fn send(&self, cmd: Command) -> Option<Command> {
        match &self.tx {
            Some(tx) => tx.send(cmd).err().map(|e| e.0),
            None => Some(cmd),
        }
    }
}

impl Engine for LlamaEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn prefill(&self, room: RoomKey, messages: Vec<ChatMessage>) -> PrefillHandle {
        if messages.is_empty() {
            return PrefillHandle::ready(Ok(PrefillReport::default()));
        }
        let (reply, handle) = PrefillHandle::channel();
        let cmd = Command::Prefill {
            room,
            messages,
            reply,
            at: Instant::now(),
        };
        if let Some(Command::Prefill { reply, .. }) = self.send(cmd) {
            let _ = reply.send(Err(EngineError::Stopped));
        }
        handle
    }

    fn generate(&self, request: GenerateRequest) -> TokenStream {
        if request.messages.is_empty() {
            return TokenStream::failed(EngineError::InvalidRequest(
                "the conversation has no messages".into(),
            ));
        }
        if request.params.max_tokens == 0 {
            return TokenStream::failed(EngineError::InvalidRequest("max_tokens is 0".into()));
        }
        let (tx, stream) = TokenStream::channel();
        let cmd = Command::Generate {
            request,
            tx,
            at: Instant::now(),
        };
        if let Some(Command::Generate { tx, .. }) = self.send(cmd) {
            tx.fail(EngineError::Stopped);
        }
        stream
    }

    fn cancel(&self, room: &RoomKey) {
        let _ = self.send(Command::Cancel(room.clone()));
    }

    fn close_room(&self, room: &RoomKey) {
        let _ = self.send(Command::Close(room.clone()));
    }

    fn metrics(&self) -> &EngineMetrics {
        &self.metrics
    }
}

impl Drop for LlamaEngine {
    fn drop(&mut self) {
        // Closing the channel is the shutdown signal; the thread finishes its step, fails what
        // is left with `Stopped` and frees the model.
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
