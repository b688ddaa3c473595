//! One reply of the agent, from the policy's decision to the stored message: the prompt is
//! built and the engine asked (`start_reply`), every token is cleaned and checked and whole
//! sentences are streamed to the group (`on_reply`), and at the end the reply is stored
//! through the room's post path, screened as a whole, and logged (`finish`). A reply that
//! fails is retried once; a second failure, or a sentence the safety screen refused, is
//! replaced by a line written by people (`prompts/fallbacks/`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AgentSeat, RoomView, SeatRoom};
use crate::agent::decision_log::{LogDecision, LogTrigger};
use crate::agent::directives::{self, Directive, Outcome};
use crate::agent::fallback::{Chosen, LineVars};
use crate::agent::policy::{Decision, Intent, Speech};
use crate::agent::prompt::{self, Line, Speaker};
use crate::agent::reply_check::{self, Rejection, SentenceCheck, StreamCleaner};
use crate::agent::runner::{self, ReplyEvent, ReplyItem};
use crate::agent::text;
use crate::engine::{CancelHandle, Completion, FinishReason, GenerateRequest};
use crate::protocol::ServerFrame;
use crate::store::{AgentEvent, AgentRole};

/// A reply on its way.
pub(super) struct Running {
    stream_id: u64,
    speech: Speech,
    decision: Decision,
    trigger_at: Instant,
    attempt: u32,
    guidance: Option<String>,
    first_shown: Option<f64>,
    cleaner: StreamCleaner,
    cancel: CancelHandle,
    /// Stopped by the facilitator or the server: nothing is stored.
    discard: bool,
    /// Its first words were shown (the group has an `AgentStart` for `stream_id`).
    pub(super) started: bool,
    /// Children's messages since it was asked for (see `AgentConfig::stale_after`).
    newer_child_messages: usize,
    prompt_version: String,
}

impl Running {
    /// Stops the reply; none of it is stored.
    pub(super) fn discard(&mut self) {
        self.discard = true;
        self.cancel.cancel();
    }

    /// Milliseconds from the trigger until now, the first time words are shown.
    fn shown_now(&mut self) {
        self.first_shown
            .get_or_insert(self.trigger_at.elapsed().as_secs_f64() * 1000.0);
    }
}

impl AgentSeat {
    /// Starts generating; false when the role has no prompt. `attempt` 1 is the one retry after
    /// a reply that had to be dropped (empty, or a copy of its instruction: tiny models do
    /// that), timed from the same trigger.
    pub(super) fn start_reply(
        &mut self,
        view: &RoomView<'_>,
        decision: Decision,
        speech: Speech,
        attempt: u32,
        trigger_at: Instant,
    ) -> bool {
        let Some(template) = self.config.templates.for_role(view.role).cloned() else {
            return false;
        };
        let vars = super::prompt_vars(view);
        let target = speech.target.map(|t| view.nickname(Some(t)));
        let children: Vec<String> = view
            .children
            .iter()
            .map(|(_, name)| name.to_string())
            .collect();
        // Every sentence passes the safety screen before a child sees it.
        let screen = self.screen.clone();
        let language = view.language.to_string();
        let system = super::instructions(&self.config.templates, view);
        // The cleaner judges copies against the prompt the screen sees (without the parts
        // children see anyway, whose words a good reply uses).
        let own_prompt = system.clone();
        let check: SentenceCheck = Arc::new(move |sentence: &str| {
            let verdict = screen.check_agent(sentence, &language, &system);
            (verdict.action != crate::safety::Action::Allow).then(|| verdict.reason())
        });
        let guidance = if speech.intent == Intent::FollowGuidance {
            self.guidance.take()
        } else {
            None
        };
        let instruction = prompt::intent_instruction(
            speech.intent,
            view.role,
            target.as_deref(),
            guidance.as_deref(),
        );
        // A child who addressed the agent is answered without an instruction first: the chat
        // ends with their question, so the model's natural next turn is the answer, the prompt
        // is only the reply header beyond what eager prefill already evaluated (the fastest
        // first token), and there is no instruction for a small model to copy. Other intents
        // need their instruction. The one retry swaps: a model that copied an instruction tends
        // to copy it again, and an answer that came out empty may need the nudge.
        let with_instruction = (attempt == 0) != (speech.intent == Intent::Answer);
        let turn = if with_instruction {
            template.render_turn(&vars, &instruction)
        } else {
            String::new()
        };
        let Some(messages) = self.conversation(view, with_instruction.then_some(turn.as_str()))
        else {
            return false;
        };
        let said: Vec<String> = self
            .lines
            .iter()
            .filter(|l| l.speaker == Speaker::Agent)
            .map(|l| l.text.clone())
            .collect();
        let mut cleaner = StreamCleaner::new(&turn)
            .with_children(&children)
            .for_child(target.as_deref())
            .in_language(view.language)
            .not_copying(&own_prompt)
            .not_repeating(said)
            .screened(check);
        if speech.intent.is_for_the_group() {
            // The problem's words and the children's own, so that building on an idea counts.
            let mut topic = self.topic.clone();
            let children_said: Vec<&str> = self
                .lines
                .iter()
                .filter(|l| l.is_named())
                .map(|l| l.text.as_str())
                .collect();
            topic.extend(text::topic_words(&children_said));
            cleaner = cleaner.on_topic_only(topic);
        }
        let stream_id = self.next_stream_id();
        let mut sampling = self.config.sampling.clone();
        sampling.seed = sampling.seed.wrapping_add(attempt * 7919);
        let request = GenerateRequest::new(self.key.clone(), messages, sampling);
        let cancel = runner::spawn_reply(
            self.engine.clone(),
            request,
            stream_id,
            self.replies_tx.clone(),
        );
        self.state.busy = true;
        self.running = Some(Running {
            stream_id,
            speech,
            decision,
            trigger_at,
            attempt,
            guidance,
            first_shown: None,
            cleaner,
            cancel,
            discard: false,
            started: false,
            newer_child_messages: 0,
            prompt_version: template.version.clone(),
        });
        true
    }

    /// An item of the running reply arrived from its task.
    pub async fn on_reply(&mut self, room: &mut impl SeatRoom, ev: ReplyEvent) {
        let Some(r) = self
            .running
            .as_mut()
            .filter(|r| r.stream_id == ev.stream_id)
        else {
            return;
        };
        match ev.item {
            ReplyItem::Token(t) => {
                if r.discard || r.cleaner.complete {
                    return;
                }
                let shown = r.cleaner.push(&t, room.agent_name());
                if r.cleaner.complete {
                    // Enough sentences: stop the model (the reply is kept).
                    r.cancel.cancel();
                }
                if shown.is_empty() {
                    return;
                }
                let start = !r.started;
                r.started = true;
                r.shown_now();
                let (stream_id, reply_to) = (r.stream_id, r.speech.reply_to);
                if start {
                    room.broadcast(ServerFrame::AgentStart {
                        stream_id,
                        name: room.agent_name().to_string(),
                        reply_to,
                    });
                    self.publish_status(room);
                }
                room.broadcast(ServerFrame::AgentDelta {
                    stream_id,
                    text: shown,
                });
            }
            ReplyItem::Done(c) => self.finish(room, Some(c)).await,
            ReplyItem::Failed(e) => {
                tracing::warn!(group = room.view().group_id, error = %e, "agent reply failed");
                self.finish(room, None).await
            }
        }
    }

    async fn finish(&mut self, room: &mut impl SeatRoom, completion: Option<Completion>) {
        let Some(mut r) = self.running.take() else {
            return;
        };
        self.state.busy = false;
        let agent_name = room.agent_name().to_string();
        let (text, rest) = r.cleaner.finish(&agent_name);
        let now = crate::store::now_ms();
        let paused = r.discard
            || completion
                .as_ref()
                .is_some_and(|c| c.finish_reason == FinishReason::Cancelled && !r.cleaner.complete);
        let text = if paused { None } else { text };
        // A sentence failed the safety screen: no second try (the same prompt may well say it
        // again), a written safe line at once.
        let screened_out = r.cleaner.rejection == Some(Rejection::Unsafe);
        // The first try was refused so late that a second would keep the child waiting past
        // the budget: it is logged as refused, and a written line is said now instead.
        let too_late_to_retry = text.is_none()
            && !paused
            && r.attempt == 0
            && !screened_out
            && self.retry_would_be_late(&r);
        if too_late_to_retry {
            self.log_refused_first_try(room, &r, completion.as_ref(), now)
                .await;
        }
        // The retry was dropped too: say a line written by people rather than stay silent.
        let fallback =
            if text.is_none() && !paused && (r.attempt > 0 || screened_out || too_late_to_retry) {
                self.fallback_line(&room.view(), &r.speech)
            } else {
                None
            };
        if fallback.is_some() && r.started {
            // Words of the dropped reply were shown: take them back, and the line comes as a
            // stream of its own.
            room.broadcast(ServerFrame::AgentEnd {
                stream_id: r.stream_id,
                seq: None,
            });
            r.stream_id = self.next_stream_id();
            r.started = false;
            r.first_shown = None;
        }
        let (text, rest) = match &fallback {
            Some(line) => (Some(line.text.clone()), line.text.clone()),
            None => (text, rest),
        };
        // An invitation always names its child, whatever the model wrote.
        let text = match (text, r.speech.intent, r.speech.target) {
            (Some(t), Intent::InviteQuiet | Intent::Escalate, Some(id)) => Some(
                reply_check::ensure_named(t, &room.view().nickname(Some(id))),
            ),
            (t, _, _) => t,
        };
        // Stored (and screened as a whole) before its last words are shown: a reply the
        // screen holds never reaches the group, not even its end.
        let posted = match &text {
            Some(text) => room.post(text, r.speech.reply_to, now).await,
            None => None,
        };
        let held = posted.as_ref().is_some_and(|p| !p.shown());
        let seq = posted.as_ref().filter(|p| p.shown()).map(|p| p.message.seq);
        if seq.is_some() && !rest.is_empty() {
            if !r.started {
                room.broadcast(ServerFrame::AgentStart {
                    stream_id: r.stream_id,
                    name: agent_name.clone(),
                    reply_to: r.speech.reply_to,
                });
                r.started = true;
                r.shown_now();
            }
            room.broadcast(ServerFrame::AgentDelta {
                stream_id: r.stream_id,
                text: rest,
            });
        }
        if r.started || seq.is_some() {
            room.broadcast(ServerFrame::AgentEnd {
                stream_id: r.stream_id,
                seq,
            });
        }
        if let Some(posted) = &posted {
            room.deliver(posted).await;
        }
        // The whole reply was held (what only the whole shows, e.g. a phone number split over
        // two sentences): it is logged as refused, and a written line is said instead, so a
        // child who asked is still answered.
        let (mut text, mut seq, mut fallback) = (text, seq, fallback);
        if held && !paused && fallback.is_none() {
            let why = posted
                .as_ref()
                .map_or_else(String::new, |p| p.verdict.reason());
            self.log(
                room,
                r.decision.trigger.into(),
                LogDecision::HeldUnsafe,
                &format!(
                    "{}; the whole reply failed the safety screen ({why})",
                    r.decision.reason
                ),
                now,
            )
            .await;
            if let Some(line) = self.fallback_line(&room.view(), &r.speech) {
                r.stream_id = self.next_stream_id();
                r.started = false;
                r.first_shown = None;
                if let Some(shown) = say_line(room, &mut r, &line.text, now).await {
                    seq = Some(shown);
                    text = Some(line.text.clone());
                    fallback = Some(line);
                }
            }
        }
        let decision = match (&text, seq.is_some(), paused) {
            (_, _, true) => LogDecision::Cancelled,
            (Some(_), false, _) if held => LogDecision::HeldUnsafe,
            (None, _, _) if r.cleaner.rejected => {
                LogDecision::Dropped(r.cleaner.rejection.unwrap_or(Rejection::Echo))
            }
            (None, _, _) => LogDecision::DroppedEmpty,
            (Some(_), false, _) => LogDecision::StoreFailed,
            (Some(_), true, _) => r
                .decision
                .speech
                .as_ref()
                .map_or(LogDecision::Silent, |s| LogDecision::Spoke(s.intent)),
        };
        // The refused first try's event has its engine figures; the written line has none.
        let m = completion
            .as_ref()
            .filter(|_| !too_late_to_retry)
            .map(|c| &c.metrics);
        let event = AgentEvent {
            group_id: room.view().group_id,
            created_at: now,
            trigger: LogTrigger::from(r.decision.trigger),
            decision,
            reason: match (&fallback, &r.cleaner.unsafe_reason) {
                (_, Some(why)) if screened_out => format!(
                    "{}; a sentence failed the safety screen ({why}), so {}",
                    r.decision.reason,
                    if fallback.is_some() {
                        "a written safe line was said"
                    } else {
                        "nothing was said"
                    }
                ),
                (Some(_), _) if too_late_to_retry => format!(
                    "{}; the model's reply was refused after {} ms and a second try would have \
                     kept the child waiting past {} ms, so a fallback line was said at once",
                    r.decision.reason,
                    r.trigger_at.elapsed().as_millis(),
                    self.within(&r.speech).as_millis()
                ),
                (Some(_), _) => format!(
                    "{}; the model's reply was dropped twice, so a fallback line was said",
                    r.decision.reason
                ),
                (None, _) => r.decision.reason.clone(),
            },
            message_seq: seq,
            prompt_version: Some(
                fallback
                    .as_ref()
                    .map_or_else(|| r.prompt_version.clone(), |l| l.version.clone()),
            ),
            model: Some(self.engine.model_name().to_string()),
            prompt_tokens: m.map(|m| i64::from(m.prompt_tokens)),
            cached_tokens: m.map(|m| i64::from(m.cached_tokens)),
            generated_tokens: m.map(|m| i64::from(m.generated_tokens)),
            ttft_ms: r.first_shown.map(|v| v.round() as i64),
            total_ms: Some(r.trigger_at.elapsed().as_millis() as i64),
            ..AgentEvent::default()
        };
        if let Some(ms) = event.ttft_ms {
            self.last_latency_ms = Some(ms);
        }
        room.record(event).await;
        self.publish_status(room);
        let retry = !paused && text.is_none() && r.attempt == 0 && !screened_out;
        let (Some(text), Some(seq)) = (text, seq) else {
            if !paused && r.attempt > 0 {
                self.state.note_dropped(&r.speech, now);
            }
            if !paused {
                tracing::debug!(
                    group = room.view().group_id,
                    raw = r.cleaner.raw(),
                    "agent reply dropped"
                );
            }
            if retry {
                self.guidance = r.guidance.take();
                if self.start_reply(&room.view(), r.decision, r.speech, 1, r.trigger_at) {
                    self.publish_status(room);
                }
            }
            return;
        };
        self.state.note_agent_message(&r.speech, now);
        self.push_line(Line::agent(text.clone()));
        let (role, online) = {
            let view = room.view();
            (view.role, view.online)
        };
        if role == AgentRole::Moderator {
            if let Some((kind, target)) = directives::directive_of(&r.speech, &text) {
                let id = room.store_directive(kind, target, seq, now).await;
                let d = Directive {
                    id,
                    kind,
                    target,
                    given_at_ms: now,
                    escalated_at_ms: None,
                    needed: 0,
                    answered: Default::default(),
                };
                for old in self.tracker.give(d, online) {
                    self.directive_resolved(room, &old, Outcome::Superseded, now)
                        .await;
                }
            }
        }
    }

    /// A child wrote while a reply is being prepared: once `stale_after` newer messages have
    /// come before its first word, the conversation has moved on, and the reply is dropped and
    /// logged rather than shown late (a reply already streaming is let finish: it is not late;
    /// answers and phase announcements are always said).
    /// The policy counts it as a dropped turn, so it is not asked again at once.
    pub(super) async fn drop_if_stale(&mut self, room: &mut impl SeatRoom, now: i64) {
        let limit = self.config.stale_after;
        let Some(r) = self.running.as_mut() else {
            return;
        };
        r.newer_child_messages += 1;
        // An answer is still the asker's, and a phase must be announced, however busy the chat.
        let must_say = matches!(r.speech.intent, Intent::Answer | Intent::AnnouncePhase);
        if limit == 0 || must_say || r.started || r.discard || r.newer_child_messages < limit {
            return;
        }
        let Some(r) = self.running.take() else {
            return;
        };
        let reason = format!(
            "{}; {} newer messages came before its first word, so it was not shown late",
            r.decision.reason, r.newer_child_messages
        );
        self.state.note_dropped(&r.speech, now);
        self.abandon(room, r, LogDecision::DroppedStale, reason, now)
            .await;
    }

    /// A child addressed the agent while it was preparing something nobody asked for (an
    /// idea, a question for the group, an invitation) and had not shown a word of it yet: the
    /// child's answer goes first. The unprompted reply is cancelled without counting as said
    /// (no cooldown starts), so the policy may bring it up again later. Answers and phase
    /// announcements are never set aside, nor what the facilitator asked for (their guidance
    /// is said once, not held for later).
    pub(super) async fn yield_to_question(&mut self, room: &mut impl SeatRoom, now: i64) {
        let Some(r) = self.running.as_ref() else {
            return;
        };
        let unprompted = !matches!(
            r.speech.intent,
            Intent::Answer | Intent::AnnouncePhase | Intent::FollowGuidance
        );
        if !unprompted || r.started || r.discard {
            return;
        }
        let Some(r) = self.running.take() else {
            return;
        };
        let reason = format!(
            "{}; set aside before its first word because a child asked the agent something",
            r.decision.reason
        );
        self.abandon(room, r, LogDecision::Cancelled, reason, now)
            .await;
    }

    /// Stops reply `r` (taken out of `running`), none of it shown or stored, and logs why.
    async fn abandon(
        &mut self,
        room: &mut impl SeatRoom,
        mut r: Running,
        decision: LogDecision,
        reason: String,
        now: i64,
    ) {
        r.discard();
        self.engine.cancel(&self.key);
        self.state.busy = false;
        let event = AgentEvent {
            group_id: room.view().group_id,
            created_at: now,
            trigger: LogTrigger::from(r.decision.trigger),
            decision,
            reason,
            prompt_version: Some(r.prompt_version.clone()),
            model: Some(self.engine.model_name().to_string()),
            total_ms: Some(r.trigger_at.elapsed().as_millis() as i64),
            ..AgentEvent::default()
        };
        room.record(event).await;
        self.publish_status(room);
    }

    /// How long the agent may take to show the first words of `speech`.
    fn within(&self, speech: &Speech) -> Duration {
        if speech.intent == Intent::Answer {
            self.config.answer_within
        } else {
            self.config.reply_within
        }
    }

    /// Whether a second try of `r`, taking as long as the first did, would show its first
    /// words after the budget. The first try's time is the best estimate there is: the retry
    /// evaluates the same conversation and generates about as much.
    fn retry_would_be_late(&self, r: &Running) -> bool {
        r.trigger_at.elapsed() * 2 > self.within(&r.speech)
    }

    /// Logs the refused first try of a reply that a written line replaces at once (so the
    /// refusal's reason is counted like any other, and the line gets an event of its own).
    async fn log_refused_first_try(
        &mut self,
        room: &mut impl SeatRoom,
        r: &Running,
        completion: Option<&Completion>,
        now: i64,
    ) {
        let m = completion.map(|c| &c.metrics);
        let event = AgentEvent {
            group_id: room.view().group_id,
            created_at: now,
            trigger: LogTrigger::from(r.decision.trigger),
            decision: if r.cleaner.rejected {
                LogDecision::Dropped(r.cleaner.rejection.unwrap_or(Rejection::Echo))
            } else {
                LogDecision::DroppedEmpty
            },
            reason: format!(
                "{}; the model's reply was refused, and a written line replaces it at once",
                r.decision.reason
            ),
            prompt_version: Some(r.prompt_version.clone()),
            model: Some(self.engine.model_name().to_string()),
            prompt_tokens: m.map(|m| i64::from(m.prompt_tokens)),
            cached_tokens: m.map(|m| i64::from(m.cached_tokens)),
            generated_tokens: m.map(|m| i64::from(m.generated_tokens)),
            total_ms: Some(r.trigger_at.elapsed().as_millis() as i64),
            ..AgentEvent::default()
        };
        room.record(event).await;
    }

    /// A new stream id for the agent's frames.
    fn next_stream_id(&mut self) -> u64 {
        self.next_stream += 1;
        self.next_stream - 1
    }

    /// The next fallback line for `speech` in the session's language, if one was written.
    fn fallback_line(&mut self, view: &RoomView<'_>, speech: &Speech) -> Option<Chosen> {
        let templates = self.config.templates.clone();
        let lines = templates.fallbacks.language(view.language)?;
        let activity = view.activity;
        let phase = view.phase;
        let child = speech.target.map(|t| view.nickname(Some(t)));
        let nth = self
            .fallbacks_said
            .get(&speech.intent)
            .copied()
            .unwrap_or(0);
        let sparks = activity.map(|a| a.sparks.as_slice()).unwrap_or_default();
        let spark = (!sparks.is_empty()).then(|| sparks[self.sparks_said % sparks.len()].as_str());
        let vars = LineVars {
            name: view.agent_name,
            child: child.as_deref(),
            activity_title: activity.map_or(view.activity_title, |a| a.title.as_str()),
            phase_name: phase.map_or("", |p| p.name.as_str()),
            phase_goal: phase.map_or("", |p| p.goal.as_str()),
            spark,
        };
        let chosen = lines.choose(view.role, speech.intent, view.opening, nth, &vars)?;
        *self.fallbacks_said.entry(speech.intent).or_default() += 1;
        if spark.is_some_and(|s| chosen.text.contains(s)) {
            self.sparks_said += 1;
        }
        Some(chosen)
    }
}

/// Says a written line as a stream of its own (start, the line, end with its seq), stored
/// through the post path. Its seq when the group was shown it.
async fn say_line(room: &mut impl SeatRoom, r: &mut Running, line: &str, now: i64) -> Option<i64> {
    let posted = room.post(line, r.speech.reply_to, now).await?;
    if !posted.shown() {
        room.deliver(&posted).await;
        return None;
    }
    let name = room.agent_name().to_string();
    room.broadcast(ServerFrame::AgentStart {
        stream_id: r.stream_id,
        name,
        reply_to: r.speech.reply_to,
    });
    r.started = true;
    r.shown_now();
    room.broadcast(ServerFrame::AgentDelta {
        stream_id: r.stream_id,
        text: line.to_string(),
    });
    let seq = posted.message.seq;
    room.broadcast(ServerFrame::AgentEnd {
        stream_id: r.stream_id,
        seq: Some(seq),
    });
    room.deliver(&posted).await;
    Some(seq)
}
