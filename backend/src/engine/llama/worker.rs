//! The engine thread: it owns the model and the context, takes commands, binds requests to
//! slots, and runs decode steps (see [`super::step`]) until the handle is dropped.
//!
//! Scheduling rules, in order of importance:
//! - A room has at most one job bound to its slot. A newer request for a room takes over an
//!   unfinished prefill of that room (what it evaluated stays cached); a reply in progress is
//!   never interrupted except by cancellation.
//! - Replies are bound to slots before prefills, oldest first.
//! - A room without a slot takes a free one, else the least recently used idle room is parked
//!   in RAM (`state_seq_get`) and its slot reused; a parked room comes back with
//!   `state_seq_set`, without evaluating its conversation again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;
use llama_cpp_2::LlamaStateSeqFlags;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::UnboundedReceiver;

use super::load;
use super::sampling::build_sampler;
use super::slots::{
    common_prefix, Active, GenState, Job, JobKind, Parked, ParkedRooms, SharedPrefixes, Slot,
};
use super::template::{fit, is_special, ChatFormat, KnownReply};
use super::text::TextDecoder;
use super::{Command, PromptToken, PromptTokens};
use crate::engine::config::EngineConfig;
use crate::engine::error::EngineError;
use crate::engine::metrics::{EngineMetrics, RequestMetrics};
use crate::engine::types::{
    ChatMessage, Completion, EngineInfo, FinishReason, PrefillReport, Role, RoomKey,
};

/// The thread's entry point: loads, reports readiness (or the load error), then serves.
pub(super) fn run(
    config: EngineConfig,
    rx: UnboundedReceiver<Command>,
    metrics: Arc<EngineMetrics>,
    ready: SyncSender<Result<EngineInfo, EngineError>>,
) {
    let model = match load::load_model(&config) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let n_ctx_train = model.n_ctx_train();
    let per_room = if n_ctx_train > 0 {
        config.context_per_slot.min(n_ctx_train)
    } else {
        config.context_per_slot
    };
    if per_room < config.context_per_slot {
        tracing::warn!(
            requested = config.context_per_slot,
            trained = n_ctx_train,
            "context_per_slot exceeds what the model was trained for; using {per_room}"
        );
    }
    let mut ctx = match load::new_context(&model, &config, per_room) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    load::warm_up(&mut ctx, &model);
    let format = ChatFormat::from_model(&model);
    let info = EngineInfo {
        backend: "llama.cpp".into(),
        model_name: load::model_name(&model, &config.model_path),
        slots: config.slots,
        context_per_slot: per_room,
        threads: config.threads,
        chat_template: Some(format.name.clone()),
    };
    tracing::info!(
        model = %info.model_name,
        template = %format.name,
        slots = config.slots,
        context_per_slot = per_room,
        threads = config.threads,
        "embedded engine ready"
    );
    let mut worker = Worker {
        model: &model,
        ctx,
        batch: LlamaBatch::new(config.batch_size as usize, 1),
        n_vocab: model.n_vocab(),
        eog_tokens: None,
        format,
        slots: (0..config.slots as i32).map(Slot::new).collect(),
        parked: ParkedRooms::new((config.parked_state_mib as usize).saturating_mul(1 << 20)),
        prefixes: SharedPrefixes::new((config.parked_state_mib as usize).saturating_mul(1 << 18)),
        windows: HashMap::new(),
        replies: HashMap::new(),
        waiting: VecDeque::new(),
        metrics,
        rx,
        tick: 0,
        limit: per_room as usize,
        batch_size: config.batch_size as usize,
        prefill_chunk: config.prefill_chunk.max(1) as usize,
        gen_per_step: if config.gen_per_step == 0 {
            usize::MAX
        } else {
            config.gen_per_step as usize
        },
        steps: 0,
        last_step_skipped_gen: false,
        reply_reserve: config.reply_reserve as usize,
    };
    let _ = ready.send(Ok(info));
    worker.serve();
}

pub(super) struct Worker<'m> {
    pub model: &'m LlamaModel,
    pub ctx: LlamaContext<'m>,
    pub batch: LlamaBatch<'static>,
    pub n_vocab: i32,
    /// The tokens that end a reply, banned for a request with `ignore_eos`: read from the
    /// vocabulary by the first such request (benchmarks only), not at every start.
    pub eog_tokens: Option<Vec<LlamaToken>>,
    pub format: ChatFormat,
    pub slots: Vec<Slot>,
    pub parked: ParkedRooms,
    /// System prompts already evaluated, for new rooms to copy (a quarter of the parking RAM).
    pub prefixes: SharedPrefixes,
    /// Per room, the first turn still in the prompt after the oldest were dropped.
    pub windows: HashMap<RoomKey, u64>,
    /// Per room, its recent replies with the tokens they were sampled as.
    pub replies: HashMap<RoomKey, VecDeque<KnownReply>>,
    /// Jobs not bound to a slot yet, in arrival order.
    pub waiting: VecDeque<Job>,
    pub metrics: Arc<EngineMetrics>,
    pub rx: UnboundedReceiver<Command>,
    /// Logical clock for least-recently-used choices.
    pub tick: u64,
    /// Context of one room, in tokens.
    pub limit: usize,
    pub batch_size: usize,
    pub prefill_chunk: usize,
    pub gen_per_step: usize,
    /// Decode steps so far.
    pub steps: u64,
    /// The previous step was given to a waiting reply's prompt alone.
    pub last_step_skipped_gen: bool,
    pub reply_reserve: usize,
}

impl Worker<'_> {
    fn serve(&mut self) {
        loop {
            if self.is_idle() {
                match self.rx.blocking_recv() {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                }
            }
            let mut closed = false;
            loop {
                match self.rx.try_recv() {
                    Ok(cmd) => self.handle(cmd),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                break;
            }
            self.reap_cancelled();
            self.schedule();
            if !self.step() && !self.is_idle() {
                // Nothing could be batched although work is pending; should not happen, but
                // never spin a core on it.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            self.publish_occupancy();
        }
        self.shutdown();
    }

    fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.slots.iter().all(|s| s.active.is_none())
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Prefill {
                room,
                messages,
                reply,
                at,
            } => self.submit(Job {
                room,
                messages,
                kind: JobKind::Prefill {
                    reply: Some(reply),
                    internal: false,
                },
                enqueued: at,
            }),
            Command::Generate { request, tx, at } => self.submit(Job {
                room: request.room,
                messages: request.messages,
                kind: JobKind::Generate {
                    tx,
                    params: request.params,
                },
                enqueued: at,
            }),
            Command::Cancel(room) => self.cancel_room(&room),
            Command::Close(room) => self.close_room(&room),
            Command::CountTokens {
                messages,
                add_assistant,
                reply,
            } => {
                let known: Vec<KnownReply> = self.replies.values().flatten().cloned().collect();
                let _ = reply.send(
                    self.format
                        .tokens(self.model, &messages, add_assistant, &known)
                        .map(|t| t.len()),
                );
            }
            Command::PromptTokens {
                messages,
                add_assistant,
                reply,
            } => {
                let vocab = self.model.vocab();
                let tokens = self
                    .format
                    .tokens(self.model, &messages, add_assistant, &[])
                    .map(|tokens| PromptTokens {
                        tokens: tokens
                            .iter()
                            .map(|&t| {
                                let attrs = vocab.attr(t);
                                PromptToken {
                                    id: t.0,
                                    bytes: vocab.token_to_piece(t, true, None),
                                    control: is_special(&vocab, t),
                                    user_defined: attrs.contains(LlamaTokenAttr::UserDefined),
                                }
                            })
                            .collect(),
                        bos: vocab.bos().0,
                        adds_bos: vocab.should_add_bos(),
                    });
                let _ = reply.send(tokens);
            }
        }
    }

    /// Queues a job. A newer request carries the whole conversation, so an older prefill of the
    /// same room, queued or running, is superseded by it.
    fn submit(&mut self, job: Job) {
        self.supersede_prefills(&job.room);
        self.waiting.push_back(job);
    }

    fn supersede_prefills(&mut self, room: &RoomKey) {
        let mut i = 0;
        while i < self.waiting.len() {
            if &self.waiting[i].room == room && !self.waiting[i].is_generate() {
                let old = self.waiting.remove(i).expect("index checked");
                answer_prefill(
                    &self.metrics,
                    old.kind,
                    PrefillReport {
                        superseded: true,
                        ..Default::default()
                    },
                );
            } else {
                i += 1;
            }
        }
        if let Some(s) = self.slot_of(room) {
            if self.slots[s]
                .active
                .as_ref()
                .is_some_and(|a| !a.job.is_generate())
            {
                self.finish_prefill(s, true);
            }
        }
    }

    pub(super) fn slot_of(&self, room: &RoomKey) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.room.as_ref() == Some(room))
    }

    fn cancel_room(&mut self, room: &RoomKey) {
        if let Some(s) = self.slot_of(room) {
            if self.slots[s]
                .active
                .as_ref()
                .is_some_and(|a| a.job.is_generate())
            {
                self.finish_generation(s, FinishReason::Cancelled);
            }
        }
        let mut i = 0;
        while i < self.waiting.len() {
            if &self.waiting[i].room == room && self.waiting[i].is_generate() {
                let job = self.waiting.remove(i).expect("index checked");
                self.cancel_waiting(job);
            } else {
                i += 1;
            }
        }
    }

    fn close_room(&mut self, room: &RoomKey) {
        self.cancel_room(room);
        self.supersede_prefills(room);
        if let Some(s) = self.slot_of(room) {
            self.clear_slot(s);
            self.slots[s].room = None;
        }
        self.parked.remove(room);
        self.windows.remove(room);
        self.replies.remove(room);
    }

    /// Ends replies whose caller cancelled or went away, freeing their slots before the next step.
    fn reap_cancelled(&mut self) {
        for s in 0..self.slots.len() {
            if self.slots[s]
                .active
                .as_ref()
                .is_some_and(|a| a.job.is_cancelled())
            {
                self.finish_generation(s, FinishReason::Cancelled);
            }
        }
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].is_cancelled() {
                let job = self.waiting.remove(i).expect("index checked");
                self.cancel_waiting(job);
            } else {
                i += 1;
            }
        }
    }

    /// Ends a reply that never got a slot.
    fn cancel_waiting(&mut self, job: Job) {
        if let JobKind::Generate { tx, .. } = job.kind {
            let waited = ms(job.enqueued.elapsed());
            let metrics = RequestMetrics {
                queue_ms: waited,
                total_ms: waited,
                ..Default::default()
            };
            self.metrics
                .record_generate(&metrics, FinishReason::Cancelled);
            tx.done(Completion {
                text: String::new(),
                finish_reason: FinishReason::Cancelled,
                metrics,
            });
        }
    }

    /// Binds waiting jobs to slots: replies first, then prefills, each oldest first, keeping
    /// every room's jobs in order.
    fn schedule(&mut self) {
        let mut blocked: HashSet<RoomKey> = HashSet::new();
        for replies in [true, false] {
            let mut i = 0;
            while i < self.waiting.len() {
                let job = &self.waiting[i];
                if job.is_generate() != replies || blocked.contains(&job.room) {
                    i += 1;
                    continue;
                }
                let room = job.room.clone();
                match self.acquire_slot(&room) {
                    Some(s) => {
                        let job = self.waiting.remove(i).expect("index checked");
                        self.activate(s, job);
                    }
                    None => {
                        blocked.insert(room);
                        i += 1;
                    }
                }
            }
        }
    }

    /// The room's slot if it is idle; otherwise a free slot, or the slot of the least recently
    /// used idle room (preferring rooms with nothing queued), which is parked first.
    fn acquire_slot(&mut self, room: &RoomKey) -> Option<usize> {
        if let Some(s) = self.slot_of(room) {
            return self.slots[s].active.is_none().then_some(s);
        }
        if let Some(s) = self.slots.iter().position(|s| s.room.is_none()) {
            return Some(s);
        }
        let queued: HashSet<&RoomKey> = self.waiting.iter().map(|j| &j.room).collect();
        let victim = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.active.is_none())
            .min_by_key(|(_, s)| {
                (
                    s.room.as_ref().is_some_and(|r| queued.contains(r)),
                    s.last_used,
                )
            })
            .map(|(i, _)| i)?;
        self.evict(victim);
        Some(victim)
    }

    /// Moves an idle room's cache into RAM and frees its slot.
    fn evict(&mut self, s: usize) {
        let Some(room) = self.slots[s].room.take() else {
            return;
        };
        if !self.slots[s].tokens.is_empty() {
            match self
                .ctx
                .state_seq_get(self.slots[s].seq, LlamaStateSeqFlags::empty())
            {
                Ok(state) => {
                    let parked = Parked {
                        state,
                        tokens: std::mem::take(&mut self.slots[s].tokens),
                        last_used: self.slots[s].last_used,
                    };
                    let forgotten = self.parked.insert(room.clone(), parked);
                    self.metrics.record_eviction();
                    for _ in 0..forgotten {
                        self.metrics.record_forgotten();
                    }
                    tracing::debug!(%room, forgotten, "room parked in RAM");
                }
                Err(e) => {
                    tracing::warn!(%room, error = %e, "could not save the room's cache; it will be re-evaluated")
                }
            }
        }
        self.clear_slot(s);
    }

    /// Empties a slot's sequence in the context.
    pub(super) fn clear_slot(&mut self, s: usize) {
        let seq = self.slots[s].seq as u32;
        let _ = self.ctx.clear_kv_cache_seq(Some(seq), None, None);
        self.slots[s].tokens.clear();
    }

    /// Binds a job to a slot: restores the room if it was parked, fits the conversation into
    /// the room's context, keeps the longest cached prefix and queues the rest for evaluation.
    fn activate(&mut self, s: usize, job: Job) {
        let now = Instant::now();
        self.tick += 1;
        let mut restored = false;
        if self.slots[s].room.as_ref() != Some(&job.room) {
            self.slots[s].room = Some(job.room.clone());
            if let Some(parked) = self.parked.remove(&job.room) {
                match self.ctx.state_seq_set(&parked.state, self.slots[s].seq) {
                    Ok(()) => {
                        self.slots[s].tokens = parked.tokens;
                        restored = true;
                        self.metrics.record_restore();
                    }
                    Err(e) => {
                        tracing::warn!(room = %job.room, error = %e, "could not restore the room's cache; re-evaluating");
                        self.clear_slot(s);
                    }
                }
            }
        }
        self.slots[s].last_used = self.tick;
        if job.is_cancelled() {
            self.cancel_waiting(job);
            return;
        }

        let (add_assistant, reserve) = match &job.kind {
            JobKind::Generate { params, .. } => (
                true,
                self.reply_reserve
                    .max(params.max_tokens as usize + 16)
                    .min(self.limit / 2),
            ),
            JobKind::Prefill { .. } => (false, self.reply_reserve),
        };
        let budget = self.limit.saturating_sub(reserve).max(1);
        let window = self.windows.get(&job.room).copied();
        let (model, format) = (self.model, &self.format);
        let known: &[KnownReply] = self
            .replies
            .get_mut(&job.room)
            .map_or(&[], |r| &*r.make_contiguous());
        let fitted = match fit(&job.messages, budget, window, |m| {
            format.tokens(model, m, add_assistant, known)
        }) {
            Ok(f) if !f.tokens.is_empty() => f,
            Ok(_) => {
                self.fail_job(
                    job,
                    EngineError::Template("the conversation rendered to nothing".into()),
                );
                return;
            }
            Err(e) => {
                self.fail_job(job, e);
                return;
            }
        };
        match fitted.window {
            Some(w) => self.windows.insert(job.room.clone(), w),
            None => self.windows.remove(&job.room),
        };
        if fitted.compacted {
            tracing::info!(room = %job.room, tokens = fitted.tokens.len(), "context full: dropped the oldest turns");
        }

        let target = fitted.tokens;
        let mut share_prefix_at = None;
        if self.slots[s].tokens.is_empty() {
            if let Some(prefix) = self.system_prefix(&job.messages, &target) {
                let seq = self.slots[s].seq;
                match self.prefixes.get(&prefix, self.tick) {
                    Some(state) => match self.ctx.state_seq_set(state, seq) {
                        Ok(()) => {
                            self.metrics.record_shared_prefix(prefix.len());
                            self.slots[s].tokens = prefix;
                        }
                        Err(e) => {
                            tracing::warn!(room = %job.room, error = %e, "could not copy the shared system prompt; evaluating it");
                            self.clear_slot(s);
                        }
                    },
                    None => share_prefix_at = Some(prefix.len()),
                }
            }
        }
        if matches!(&job.kind, JobKind::Generate { params, .. } if params.ignore_eos) {
            self.eog_tokens.get_or_insert_with(|| {
                let vocab = self.model.vocab();
                (0..self.model.n_vocab())
                    .map(LlamaToken)
                    .filter(|t| vocab.is_eog(*t))
                    .collect()
            });
        }
        let slot = &mut self.slots[s];
        let mut keep = common_prefix(&slot.tokens, &target);
        if add_assistant && keep == target.len() {
            // The logits of the last prompt token are needed to sample the first reply token.
            keep -= 1;
        }
        if keep < slot.tokens.len() {
            let removed = self
                .ctx
                .clear_kv_cache_seq(Some(slot.seq as u32), Some(keep as u32), None)
                .unwrap_or(false);
            if !removed {
                let _ = self
                    .ctx
                    .clear_kv_cache_seq(Some(slot.seq as u32), None, None);
                keep = 0;
            }
            slot.tokens.truncate(keep);
        }
        let pending = target[keep..].to_vec();
        // Where a slow first token comes from: a prompt that found little in the cache.
        tracing::debug!(
            room = %job.room,
            kind = if add_assistant { "reply" } else { "prefill" },
            cached = keep,
            to_evaluate = pending.len(),
            "request admitted"
        );
        let gen = match &job.kind {
            JobKind::Generate { params, .. } => Some(GenState {
                sampler: build_sampler(
                    params,
                    self.n_vocab,
                    self.eog_tokens.as_deref().unwrap_or_default(),
                ),
                decoder: TextDecoder::new(&params.stop),
                next: None,
                generated: 0,
                max_tokens: params.max_tokens,
                first_token_at: None,
                last_token_at: None,
                tokens: Vec::new(),
                bytes: Vec::new(),
            }),
            JobKind::Prefill { .. } => None,
        };
        let is_prefill = gen.is_none();
        slot.active = Some(Active {
            job,
            started: now,
            prompt_tokens: pending.len() as u32,
            cached_tokens: keep as u32,
            pending,
            compacted: fitted.compacted,
            restored,
            share_prefix_at,
            gen,
        });
        if is_prefill && slot.active.as_ref().is_some_and(|a| a.pending.is_empty()) {
            self.finish_prefill(s, false);
        }
    }

    /// The tokens of the conversation's system prompt (its first message), when they are worth
    /// sharing with other rooms and the prompt starts with exactly them (a template that merges
    /// the system prompt into the first user turn gives no such prefix). Only the first: the
    /// room's note on its phase and children may follow it before any child spoke, and is the
    /// room's own.
    fn system_prefix(
        &self,
        messages: &[ChatMessage],
        target: &[LlamaToken],
    ) -> Option<Vec<LlamaToken>> {
        let n = usize::from(messages.first().is_some_and(|m| m.role == Role::System));
        if n == 0 || n == messages.len() {
            return None;
        }
        let prefix = self
            .format
            .tokens(self.model, &messages[..n], false, &[])
            .ok()?;
        (prefix.len() >= MIN_SHARED_PREFIX
            && prefix.len() < target.len()
            && target.starts_with(&prefix))
        .then_some(prefix)
    }

    /// Saves slot `s`'s sequence, which holds exactly a system prompt, for other rooms.
    pub(super) fn save_shared_prefix(&mut self, s: usize) {
        let slot = &mut self.slots[s];
        if let Some(active) = slot.active.as_mut() {
            active.share_prefix_at = None;
        }
        match self
            .ctx
            .state_seq_get(slot.seq, LlamaStateSeqFlags::empty())
        {
            Ok(state) => self.prefixes.insert(slot.tokens.clone(), state, self.tick),
            Err(e) => tracing::debug!(error = %e, "could not save a system prompt for sharing"),
        }
    }

    /// Ends the reply in slot `s`: flushes held text, reports metrics, sends the completion,
    /// and queues the evaluation of the reply's own tail (the end-of-turn marker the next
    /// prompt will contain) so the next turn does not pay for it.
    pub(super) fn finish_generation(&mut self, s: usize, reason: FinishReason) {
        let Some(mut active) = self.slots[s].active.take() else {
            return;
        };
        let Some(gen) = active.gen.as_mut() else {
            return;
        };
        let JobKind::Generate { tx, .. } = &active.job.kind else {
            return;
        };
        if !matches!(reason, FinishReason::Cancelled | FinishReason::StopString) {
            let rest = gen.decoder.finish();
            if !rest.is_empty() {
                tx.token(rest);
            }
        }
        let now = Instant::now();
        let since = |t: Instant| ms(t.duration_since(active.job.enqueued));
        let tokens_per_s = match (gen.first_token_at, gen.last_token_at) {
            (Some(a), Some(b)) if gen.generated > 1 && b > a => {
                Some(f64::from(gen.generated - 1) / b.duration_since(a).as_secs_f64())
            }
            _ => None,
        };
        let metrics = RequestMetrics {
            prompt_tokens: active.prompt_tokens - active.pending.len() as u32,
            cached_tokens: active.cached_tokens,
            generated_tokens: gen.generated,
            queue_ms: since(active.started),
            ttft_ms: gen.first_token_at.map(since),
            total_ms: since(now),
            tokens_per_s,
            compacted: active.compacted,
            restored: active.restored,
        };
        self.metrics.record_generate(&metrics, reason);
        let text = gen.decoder.text().to_string();
        tx.done(Completion {
            text: text.clone(),
            finish_reason: reason,
            metrics,
        });
        let room = active.job.room.clone();
        if gen.bytes == text.as_bytes() && !text.is_empty() {
            let known = self.replies.entry(room.clone()).or_default();
            known.push_back(KnownReply {
                text: text.clone(),
                tokens: std::mem::take(&mut gen.tokens),
            });
            while known.len() > MAX_KNOWN_REPLIES {
                known.pop_front();
            }
        }
        if reason != FinishReason::Cancelled
            && !text.is_empty()
            && !self.waiting.iter().any(|j| j.room == room)
        {
            let mut messages = std::mem::take(&mut active.job.messages);
            messages.push(ChatMessage::assistant(text));
            self.waiting.push_back(Job {
                room,
                messages,
                kind: JobKind::Prefill {
                    reply: None,
                    internal: true,
                },
                enqueued: now,
            });
        }
    }

    /// Ends the prefill in slot `s` and answers its caller.
    pub(super) fn finish_prefill(&mut self, s: usize, superseded: bool) {
        let Some(active) = self.slots[s].active.take() else {
            return;
        };
        let report = PrefillReport {
            prompt_tokens: active.prompt_tokens - active.pending.len() as u32,
            cached_tokens: active.cached_tokens,
            superseded,
            skipped: false,
            compacted: active.compacted,
            restored: active.restored,
            elapsed_ms: ms(active.job.enqueued.elapsed()),
        };
        answer_prefill(&self.metrics, active.job.kind, report);
    }

    /// Fails the job in slot `s` (a decode error): its caller gets the error, its sequence is
    /// emptied so the next request starts clean.
    pub(super) fn fail_slot(&mut self, s: usize, error: EngineError) {
        if let Some(active) = self.slots[s].active.take() {
            self.fail_job(active.job, error);
        }
        self.clear_slot(s);
    }

    fn fail_job(&mut self, job: Job, error: EngineError) {
        tracing::warn!(room = %job.room, %error, "engine request failed");
        self.metrics.record_error();
        match job.kind {
            JobKind::Generate { tx, .. } => tx.fail(error),
            JobKind::Prefill {
                reply: Some(reply), ..
            } => {
                let _ = reply.send(Err(error));
            }
            JobKind::Prefill { reply: None, .. } => {}
        }
    }

    fn publish_occupancy(&self) {
        let active = self.slots.iter().filter(|s| s.active.is_some()).count() + self.waiting.len();
        let resident = self.slots.iter().filter(|s| s.room.is_some()).count();
        self.metrics
            .set_occupancy(active, resident, self.parked.len(), self.parked.bytes());
    }

    /// The handle is gone: everything still open ends with `Stopped`.
    fn shutdown(&mut self) {
        for s in 0..self.slots.len() {
            if let Some(active) = self.slots[s].active.take() {
                self.fail_job(active.job, EngineError::Stopped);
            }
        }
        while let Some(job) = self.waiting.pop_front() {
            self.fail_job(job, EngineError::Stopped);
        }
        self.publish_occupancy();
    }
}

fn answer_prefill(metrics: &EngineMetrics, kind: JobKind, report: PrefillReport) {
    if let JobKind::Prefill { reply, internal } = kind {
        metrics.record_prefill(&report, internal);
        if let Some(reply) = reply {
            let _ = reply.send(Ok(report));
        }
    }
}

/// Shorter system prompts cost less to evaluate than to copy around.
const MIN_SHARED_PREFIX: usize = 16;

/// Replies remembered per room for their tokenization (older ones are long in the cache).
const MAX_KNOWN_REPLIES: usize = 16;

pub(super) fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
