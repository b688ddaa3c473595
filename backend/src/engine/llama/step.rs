//! One decode step of continuous batching.
//!
//! A step carries the next token of generating rooms, then chunks of pending prompt tokens
//! (replies' prompts before prefills, oldest first). The schedule adapts to what is waiting:
//! - a reply whose prompt is waiting (a child just spoke and the agent answers) gets a step
//!   of its own, so its first token is not delayed by the other rooms' tokens; the next step
//!   always serves the generating rooms again, so they are never starved;
//! - otherwise every generating room advances in every step, so the batch is as large as the
//!   work there is: batched rows share each weight read, which is what brings throughput
//!   level with llama-server's (a cap, `gen_per_step`, advances the rooms that waited
//!   longest, round-robin; docs/engine.md has both measured);
//! - while rooms are generating, the prompt share of a step is capped (`prefill_chunk`), so one
//!   room's long prompt delays the others by a bounded amount.
//!
//! A room joining or finishing never waits for another room's reply to end.

use std::time::Instant;

use super::worker::Worker;
use crate::engine::error::EngineError;
use crate::engine::types::FinishReason;

impl Worker<'_> {
    /// Builds and decodes one batch, then samples every reply that got logits. Returns false
    /// when there was nothing to evaluate.
    pub(super) fn step(&mut self) -> bool {
        self.batch.clear();
        self.steps += 1;
        let mut rows: i32 = 0;
        let mut n_gen = 0usize;
        for slot in &mut self.slots {
            slot.in_batch.clear();
            slot.sample_row = None;
        }

        let reply_prompt_waiting = self.slots.iter().any(|s| {
            s.active
                .as_ref()
                .is_some_and(|a| a.job.is_generate() && !a.pending.is_empty())
        });
        let gen_allowed = if reply_prompt_waiting && !self.last_step_skipped_gen {
            0
        } else {
            self.gen_per_step
        };
        let mut generating: Vec<usize> = (0..self.slots.len())
            .filter(|&s| {
                self.slots[s]
                    .active
                    .as_ref()
                    .and_then(|a| a.gen.as_ref())
                    .is_some_and(|g| g.next.is_some())
            })
            .collect();
        self.last_step_skipped_gen = gen_allowed == 0 && !generating.is_empty();
        generating.sort_by_key(|&s| self.slots[s].last_gen_step);
        generating.truncate(gen_allowed);
        // Batch rows in sequence order: llama.cpp splits a multi-stream batch into runs of
        // consecutive sequence ids.
        generating.sort_unstable();
        for s in generating {
            let slot = &mut self.slots[s];
            let Some(next) = slot
                .active
                .as_mut()
                .and_then(|a| a.gen.as_mut())
                .and_then(|g| g.next.take())
            else {
                continue;
            };
            let pos = slot.tokens.len() as i32;
            if self.batch.add(next, pos, &[slot.seq], true).is_err() {
                // Cannot happen (batch_size >= slots); put the token back rather than lose it.
                if let Some(g) = slot.active.as_mut().and_then(|a| a.gen.as_mut()) {
                    g.next = Some(next);
                }
                break;
            }
            slot.in_batch.push(next);
            slot.sample_row = Some(rows);
            slot.last_gen_step = self.steps;
            rows += 1;
            n_gen += 1;
        }

        let reply_step = gen_allowed == 0;
        let mut budget = self.batch_size.saturating_sub(n_gen);
        if n_gen > 0 || self.last_step_skipped_gen {
            budget = budget.min(self.prefill_chunk);
        }
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|&s| {
                self.slots[s]
                    .active
                    .as_ref()
                    .is_some_and(|a| !a.pending.is_empty() && (!reply_step || a.job.is_generate()))
            })
            .collect();
        order.sort_by_key(|&s| {
            let a = self.slots[s].active.as_ref().expect("filtered");
            (!a.job.is_generate(), a.job.enqueued)
        });
        for s in order {
            if budget == 0 {
                break;
            }
            let slot = &mut self.slots[s];
            let active = slot.active.as_mut().expect("filtered");
            let base = slot.tokens.len();
            let mut take = active.pending.len().min(budget);
            if let Some(at) = active.share_prefix_at.filter(|&at| at > base) {
                take = take.min(at - base);
            }
            let ends_prompt = take == active.pending.len();
            let wants_logits = active.job.is_generate() && ends_prompt;
            for (i, token) in active.pending.drain(..take).enumerate() {
                let last = i + 1 == take;
                let logits = wants_logits && last;
                // Capacity is batch_size and the budget never exceeds what is left.
                let _ = self
                    .batch
                    .add(token, (base + i) as i32, &[slot.seq], logits);
                if logits {
                    slot.sample_row = Some(rows);
                }
                slot.in_batch.push(token);
                rows += 1;
            }
            budget -= take;
        }

        if rows == 0 {
            return false;
        }
        let started = Instant::now();
        let result = self.ctx.decode(&mut self.batch);
        let decode_s = started.elapsed().as_secs_f64();
        self.metrics.record_step(rows as usize, decode_s);
        if let Err(e) = result {
            tracing::error!(error = %e, tokens = rows, "llama_decode failed");
            for s in 0..self.slots.len() {
                if !self.slots[s].in_batch.is_empty() {
                    self.fail_slot(s, EngineError::Decode(e.to_string()));
                }
            }
            return true;
        }

        let sampling = Instant::now();
        let mut sampled = 0usize;
        for s in 0..self.slots.len() {
            let slot = &mut self.slots[s];
            let evaluated = std::mem::take(&mut slot.in_batch);
            if evaluated.is_empty() {
                continue;
            }
            slot.tokens.extend_from_slice(&evaluated);
            let at_shared_prefix = slot
                .active
                .as_ref()
                .and_then(|a| a.share_prefix_at)
                .is_some_and(|at| at == slot.tokens.len());
            if at_shared_prefix {
                self.save_shared_prefix(s);
            }
            let slot = &mut self.slots[s];
            if let Some(row) = slot.sample_row.take() {
                sampled += 1;
                self.sample(s, row);
            } else if slot
                .active
                .as_ref()
                .is_some_and(|a| a.gen.is_none() && a.pending.is_empty())
            {
                self.finish_prefill(s, false);
            }
        }
        // Where the time of a step goes, for tuning (`PEERLEARN_LOG=peerlearn::engine=trace`).
        tracing::trace!(
            rows,
            generating = n_gen,
            sampled,
            decode_ms = decode_s * 1000.0,
            sample_ms = sampling.elapsed().as_secs_f64() * 1000.0,
            "decode step"
        );
        true
    }

    /// Samples the next token of the reply in slot `s` from batch row `row`, streams its text,
    /// and decides whether the reply goes on.
    fn sample(&mut self, s: usize, row: i32) {
        let model = self.model;
        let limit = self.limit;
        let slot = &mut self.slots[s];
        let context_used = slot.tokens.len();
        let Some(active) = slot.active.as_mut() else {
            return;
        };
        let Some(gen) = active.gen.as_mut() else {
            return;
        };
        let token = gen.sampler.sample(&self.ctx, row);
        let now = Instant::now();
        gen.first_token_at.get_or_insert(now);
        let vocab = model.vocab();
        if vocab.is_eog(token) {
            self.finish_generation(s, FinishReason::Stop);
            return;
        }
        gen.generated += 1;
        gen.last_token_at = Some(now);
        let piece = vocab.token_to_piece(token, false, None);
        gen.tokens.push(token);
        gen.bytes.extend_from_slice(&piece);
        let pushed = gen.decoder.push(&piece);
        let delivered = pushed.emit.is_empty()
            || match &active.job.kind {
                super::slots::JobKind::Generate { tx, .. } => tx.token(pushed.emit),
                super::slots::JobKind::Prefill { .. } => true,
            };
        let reason = if !delivered {
            Some(FinishReason::Cancelled)
        } else if pushed.stopped {
            Some(FinishReason::StopString)
        } else if gen.generated >= gen.max_tokens || context_used + 1 >= limit {
            Some(FinishReason::Length)
        } else {
            gen.next = Some(token);
            None
        };
        if let Some(reason) = reason {
            self.finish_generation(s, reason);
        }
    }
}
