//! The bookkeeping of the engine thread: requests (jobs), the slots (sequences of the one
//! llama.cpp context) that rooms occupy, and the rooms parked in RAM.

use std::collections::HashMap;
use std::time::Instant;

use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::SeqState;
use tokio::sync::oneshot;

use super::text::TextDecoder;
use crate::engine::error::EngineError;
use crate::engine::stream::StreamSender;
use crate::engine::types::{ChatMessage, PrefillReport, RoomKey, SamplingParams};

/// What a job is for.
pub(crate) enum JobKind {
    /// Warm the room's cache. `internal` prefills are the engine's own (evaluating the end of
    /// the reply it just gave, which the next prompt will contain).
    Prefill {
        reply: Option<oneshot::Sender<Result<PrefillReport, EngineError>>>,
        internal: bool,
    },
    /// Produce a streamed reply.
    Generate {
        tx: StreamSender,
        params: SamplingParams,
    },
}

/// A request waiting for, or bound to, a slot.
pub(crate) struct Job {
    pub room: RoomKey,
    pub messages: Vec<ChatMessage>,
    pub kind: JobKind,
    pub enqueued: Instant,
}

impl Job {
    pub(crate) fn is_generate(&self) -> bool {
        matches!(self.kind, JobKind::Generate { .. })
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        match &self.kind {
            JobKind::Generate { tx, .. } => tx.is_cancelled(),
            JobKind::Prefill { .. } => false,
        }
    }
}

/// Generation state of a reply being produced.
pub(crate) struct GenState {
    pub sampler: LlamaSampler,
    pub decoder: TextDecoder,
    /// Sampled but not yet evaluated: it goes into the next decode step.
    pub next: Option<LlamaToken>,
    pub generated: u32,
    pub max_tokens: u32,
    pub first_token_at: Option<Instant>,
    pub last_token_at: Option<Instant>,
    /// The generated tokens and the bytes they spell, to remember the reply's tokenization.
    pub tokens: Vec<LlamaToken>,
    pub bytes: Vec<u8>,
}

/// A job bound to a slot.
pub(crate) struct Active {
    pub job: Job,
    pub started: Instant,
    /// Prompt tokens still to evaluate, in order.
    pub pending: Vec<LlamaToken>,
    pub prompt_tokens: u32,
    pub cached_tokens: u32,
    pub compacted: bool,
    pub restored: bool,
    /// Where the room's system prompt ends, when no other room has evaluated it yet: the
    /// prompt is chunked so that a step ends there, and the sequence state is then saved for
    /// the next room with the same system prompt.
    pub share_prefix_at: Option<usize>,
    pub gen: Option<GenState>,
}

/// One sequence of the llama.cpp context.
pub(crate) struct Slot {
    pub seq: i32,
    pub room: Option<RoomKey>,
    /// The tokens whose keys and values are in the cache for this sequence, positions 0..len.
    pub tokens: Vec<LlamaToken>,
    pub last_used: u64,
    pub active: Option<Active>,
    /// Tokens of this slot in the batch being decoded.
    pub in_batch: Vec<LlamaToken>,
    /// Row of the batch whose logits this slot samples from after the decode.
    pub sample_row: Option<i32>,
    /// The step in which this slot last had a generated token decoded (round-robin order).
    pub last_gen_step: u64,
}

impl Slot {
    pub(crate) fn new(seq: i32) -> Slot {
        Slot {
            seq,
            room: None,
            tokens: Vec::new(),
            last_used: 0,
            active: None,
            in_batch: Vec::new(),
            sample_row: None,
            last_gen_step: 0,
        }
    }
}

/// A room's cache taken out of the context and kept in RAM.
pub(crate) struct Parked {
    pub state: SeqState,
    pub tokens: Vec<LlamaToken>,
    pub last_used: u64,
}

/// The parked rooms, bounded in bytes: past the bound the least recently used is forgotten
/// (it will be evaluated again from its text if it comes back).
pub(crate) struct ParkedRooms {
    rooms: HashMap<RoomKey, Parked>,
    bytes: usize,
    limit: usize,
}

impl ParkedRooms {
    pub(crate) fn new(limit: usize) -> Self {
        ParkedRooms {
            rooms: HashMap::new(),
            bytes: 0,
            limit,
        }
    }

    /// Parks a room; returns how many other rooms had to be forgotten to make space.
    pub(crate) fn insert(&mut self, room: RoomKey, parked: Parked) -> usize {
        self.remove(&room);
        self.bytes += parked.state.byte_len();
        self.rooms.insert(room, parked);
        let mut forgotten = 0;
        while self.bytes > self.limit && !self.rooms.is_empty() {
            let oldest = self
                .rooms
                .iter()
                .min_by_key(|(_, p)| p.last_used)
                .map(|(k, _)| k.clone())
                .expect("not empty");
            self.remove(&oldest);
            forgotten += 1;
        }
        forgotten
    }

    pub(crate) fn remove(&mut self, room: &RoomKey) -> Option<Parked> {
        let p = self.rooms.remove(room)?;
        self.bytes -= p.state.byte_len();
        Some(p)
    }

    pub(crate) fn len(&self) -> usize {
        self.rooms.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Evaluated system prompts, kept as sequence states so that a room starting with the same
/// system prompt (every group of a session has the same role and activity) copies it instead
/// of evaluating it again. Bounded in bytes; the least recently used goes first.
pub(crate) struct SharedPrefixes {
    states: HashMap<Vec<LlamaToken>, (SeqState, u64)>,
    bytes: usize,
    limit: usize,
}

impl SharedPrefixes {
    pub(crate) fn new(limit: usize) -> Self {
        SharedPrefixes {
            states: HashMap::new(),
            bytes: 0,
            limit,
        }
    }

    pub(crate) fn get(&mut self, tokens: &[LlamaToken], tick: u64) -> Option<&SeqState> {
        let entry = self.states.get_mut(tokens)?;
        entry.1 = tick;
        Some(&entry.0)
    }

    pub(crate) fn insert(&mut self, tokens: Vec<LlamaToken>, state: SeqState, tick: u64) {
        if state.byte_len() > self.limit {
            return;
        }
        if let Some((old, _)) = self.states.remove(&tokens) {
            self.bytes -= old.byte_len();
        }
        self.bytes += state.byte_len();
        self.states.insert(tokens, (state, tick));
        while self.bytes > self.limit {
            let oldest = self
                .states
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
                .expect("not empty while over the limit");
            if let Some((old, _)) = self.states.remove(&oldest) {
                self.bytes -= old.byte_len();
            }
        }
    }
}

/// The longest common prefix of two token lists.
pub(crate) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
