//! The agent's seat in a room: the room actor feeds it events (messages, the clock, phases,
//! the facilitator's commands), asks the policy, and carries out its decisions: a reply is
//! generated in a task of its own, streamed to the group cleaned, stored once and broadcast;
//! every decision goes to the agent event log, every directive to the directives table.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::actor::RoomActor;
use super::phases::Change;
use super::post::{Author, Draft, Posted};
use super::steer::{FacilitatorCommand, SteerError};
use super::watch::{AgentActivity, AgentStatus, NoticeView, WatchEvent};
use crate::agent::directives::{self, Directive, Outcome, Tracker};
use crate::agent::policy::{self, Decision, Event, RoomState, Speech, Trigger};
use crate::agent::prompt::{self, Line, Templates, Vars};
use crate::agent::reply_check::{self, Rejection, SentenceCheck, StreamCleaner};
use crate::agent::runner::{self, ReplyEvent, ReplyItem};
use crate::agent::text;
use crate::agent::PolicyConfig;
use crate::engine::{
    CancelHandle, Completion, FinishReason, GenerateRequest, RoomKey, SamplingParams, SharedEngine,
};
use crate::protocol::ServerFrame;
use crate::store::{self, AgentEvent, AgentRole, Message, SessionStatus};

/// The agent's tunables, shared by all rooms (the simulator shortens the times).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub policy: PolicyConfig,
    /// How long the group has to follow a directive (and again after the escalation).
    pub directive_window_ms: i64,
    pub templates: Arc<Templates>,
    pub sampling: SamplingParams,
    /// Chat lines the prompt shows: at least this many of the newest, up to twice as many (see
    /// `push_bounded`).
    pub context_lines: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            policy: PolicyConfig::default(),
            directive_window_ms: 60_000,
            templates: Arc::new(Templates::built_in()),
            sampling: SamplingParams {
                temperature: 0.6,
                max_tokens: 72,
                ..SamplingParams::default()
            },
            context_lines: 16,
        }
    }
}

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
    /// Stopped by the facilitator: nothing is stored.
    discard: bool,
    started: bool,
    prompt_version: String,
}

pub(super) struct AgentSeat {
    engine: SharedEngine,
    key: RoomKey,
    pub(super) state: RoomState,
    tracker: Tracker,
    lines: VecDeque<Line>,
    topic: Vec<String>,
    running: Option<Running>,
    next_stream: u64,
    /// Events that need a reply but came while one was running.
    deferred: VecDeque<Event>,
    guidance: Option<String>,
    last_tick_reason: String,
    /// Of the last reply, from its trigger to the first words shown (for the dashboard).
    last_latency_ms: Option<i64>,
    /// Fallback lines said so far, per intent, and the activity's sparks offered (the next
    /// fallback takes the next line).
    fallbacks_said: std::collections::BTreeMap<crate::agent::Intent, usize>,
    sparks_said: usize,
    pub(super) replies_tx: mpsc::Sender<ReplyEvent>,
}

impl AgentSeat {
    pub(super) fn new(
        engine: SharedEngine,
        group_id: i64,
        role: AgentRole,
        config: &AgentConfig,
        topic: Vec<String>,
        history: &[Line],
        now_ms: i64,
    ) -> (AgentSeat, mpsc::Receiver<ReplyEvent>) {
        let (replies_tx, rx) = mpsc::channel(256);
        let mut lines: VecDeque<Line> = history.iter().cloned().collect();
        while lines.len() > config.context_lines {
            lines.pop_front();
        }
        let seat = AgentSeat {
            engine,
            key: RoomKey::from(group_id),
            state: RoomState::new(role, now_ms),
            tracker: Tracker::new(config.directive_window_ms),
            lines,
            topic,
            running: None,
            next_stream: 1,
            deferred: VecDeque::new(),
            guidance: None,
            last_tick_reason: String::new(),
            last_latency_ms: None,
            fallbacks_said: Default::default(),
            sparks_said: 0,
            replies_tx,
        };
        (seat, rx)
    }
}

impl RoomActor {
    /// A child's message was stored and shown.
    pub(super) async fn agent_on_child_message(&mut self, m: &Message) {
        let now = m.created_at;
        let nickname = self.nickname_of(m.sender_id);
        let agent_name = self.session.agent_name.clone();
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        let pid = m.sender_id.unwrap_or(0);
        let addressed = text::addresses(&m.text, &agent_name);
        let on_topic = text::on_topic(&m.text, &seat.topic);
        seat.state
            .note_child_message(pid, m.seq, addressed, on_topic, now);
        seat.push_line(
            Line {
                speaker: Some(nickname),
                text: m.text.clone(),
            },
            self.deps.config.agent.context_lines,
        );
        for (d, outcome) in seat.tracker.on_child_message(pid) {
            self.directive_resolved(&d, outcome, now).await;
        }
        self.agent_prefill();
        let event = Event::ChildMessage {
            participant_id: pid,
            seq: m.seq,
            addressed,
            on_topic,
        };
        self.agent_consider(event, now).await;
    }

    /// The facilitator wrote to the group: the agent hears the adult too, so it does not talk
    /// over them.
    pub(super) fn agent_hears_adult(&mut self, m: &Message) {
        let keep = self.deps.config.agent.context_lines;
        if let Some(seat) = self.agent.as_mut() {
            seat.push_line(
                Line {
                    speaker: Some(crate::protocol::TEACHER_NAME.into()),
                    text: m.text.clone(),
                },
                keep,
            );
        }
    }

    /// The agent's own instructions, for the screen: a reply that copies them is refused.
    /// The activity's words (its problem, the phase's goal) and the children's names are left
    /// out: saying them again is the moderator's job, not a leak. Empty without an agent.
    pub(super) fn agent_system_prompt(&self) -> String {
        let mut vars = self.prompt_vars();
        for public in [
            "activity_title",
            "problem",
            "phase_name",
            "phase_goal",
            "children",
        ] {
            vars.insert(public, String::new());
        }
        self.deps
            .config
            .agent
            .templates
            .for_role(self.group.agent_role)
            .map(|t| t.render_system(&vars))
            .unwrap_or_default()
    }

    /// The clock: phases, directives, the policy's timed triggers, deferred replies.
    pub(super) async fn agent_tick(&mut self) {
        let now = store::now_ms();
        let since_last = now - std::mem::replace(&mut self.last_tick_ms, now);
        if matches!(
            self.session.status,
            SessionStatus::Paused | SessionStatus::Ended
        ) {
            // A paused session stops the phase clock and the agent.
            self.phases.postpone(since_last.max(0));
            return;
        }
        if self.connections.is_empty() && !self.phases.started() {
            return;
        }
        if let Some(change) = self.phases.tick(now) {
            self.phase_changed(change, now).await;
        }
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        for (d, outcome) in seat.tracker.on_tick(now) {
            self.directive_resolved(&d, outcome, now).await;
            if outcome == Outcome::Escalate {
                self.agent_consider(Event::DirectiveIgnored { target: d.target }, now)
                    .await;
            }
        }
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        if !seat.state.busy {
            if let Some(event) = seat.deferred.pop_front() {
                self.agent_consider(event, now).await;
                return;
            }
        }
        self.agent_consider(Event::Tick, now).await;
    }

    /// Starts the phases when the first child arrives.
    pub(super) async fn phases_start(&mut self) {
        let now = store::now_ms();
        if let Some(change) = self.phases.start(now) {
            self.phase_changed(change, now).await;
        }
    }

    async fn phase_changed(&mut self, change: Change, now: i64) {
        let event = match change {
            Change::Started(i) => {
                if let Some(info) = self.phases.info() {
                    self.broadcast(&ServerFrame::Phase(info), None, None);
                }
                Event::PhaseStarted { index: Some(i) }
            }
            Change::Finished => {
                if let Some(seat) = self.agent.as_mut() {
                    seat.state.ended = true;
                }
                Event::PhaseStarted { index: None }
            }
        };
        self.save_phase().await;
        self.publish_phase();
        self.agent_consider(event, now).await;
        // The phase is in the system prompt: unless a reply is already evaluating the new
        // one, warm it now so the next child who speaks does not wait for the whole
        // conversation to be evaluated again.
        self.agent_prefill();
    }

    /// The facilitator's commands for the agent and the phases (the others are in steer.rs).
    pub(super) async fn steer_agent(
        &mut self,
        command: FacilitatorCommand,
    ) -> Result<(), SteerError> {
        let now = store::now_ms();
        match command {
            FacilitatorCommand::ExtendPhase { minutes } => {
                if !self.phases.extend(minutes) {
                    return Err(SteerError::BadRequest("no phase is running".into()));
                }
                if let Some(info) = self.phases.info() {
                    self.broadcast(&ServerFrame::Phase(info), None, None);
                }
                self.save_phase().await;
                self.publish_phase();
            }
            FacilitatorCommand::SkipPhase => {
                let Some(change) = self.phases.skip(now) else {
                    return Err(SteerError::BadRequest("no phase is running".into()));
                };
                self.phase_changed(change, now).await;
            }
            FacilitatorCommand::PauseAgent => {
                self.deps
                    .store
                    .set_agent_paused(self.group.id, true)
                    .await?;
                self.group.agent_paused = 1;
                if let Some(seat) = self.agent.as_mut() {
                    seat.state.paused = true;
                    seat.deferred.clear();
                    if let Some(r) = seat.running.as_mut() {
                        r.discard = true;
                        r.cancel.cancel();
                        seat.engine.cancel(&seat.key);
                    }
                }
                self.log_event(
                    "facilitator",
                    "paused",
                    "the facilitator paused the agent",
                    now,
                )
                .await;
                self.publish_agent();
            }
            FacilitatorCommand::ResumeAgent => {
                self.deps
                    .store
                    .set_agent_paused(self.group.id, false)
                    .await?;
                self.group.agent_paused = 0;
                if let Some(seat) = self.agent.as_mut() {
                    seat.state.paused = false;
                }
                self.log_event(
                    "facilitator",
                    "resumed",
                    "the facilitator resumed the agent",
                    now,
                )
                .await;
                self.publish_agent();
            }
            FacilitatorCommand::SwitchRole(role) => {
                self.deps.store.set_group_role(self.group.id, role).await?;
                self.group.agent_role = role;
                if let Some(seat) = self.agent.as_mut() {
                    seat.state.role = role;
                    if role == AgentRole::None {
                        if let Some(r) = seat.running.as_mut() {
                            r.discard = true;
                            r.cancel.cancel();
                        }
                    }
                }
                self.log_event(
                    "facilitator",
                    "switch_role",
                    &format!("the agent is now {role}"),
                    now,
                )
                .await;
                self.publish_agent();
            }
            FacilitatorCommand::Whisper(text) => {
                // Kept in the agent's log (never in the chat): researchers see what steered it.
                self.log_event("whisper", "guidance", &text, now).await;
                if let Some(seat) = self.agent.as_mut() {
                    seat.guidance = Some(text);
                }
                self.agent_consider(Event::Whisper, now).await;
            }
            FacilitatorCommand::Post { .. }
            | FacilitatorCommand::SetHidden { .. }
            | FacilitatorCommand::Mute { .. } => {
                unreachable!("group commands are carried out in steer.rs")
            }
        }
        Ok(())
    }

    /// The server is stopping: the reply being written is cancelled and none of it is
    /// stored (a half reply would read as the agent's whole thought).
    pub(super) fn agent_stop(&mut self) {
        if let Some(seat) = self.agent.as_mut() {
            seat.deferred.clear();
            if let Some(r) = seat.running.as_mut() {
                r.discard = true;
                r.cancel.cancel();
            }
            seat.engine.cancel(&seat.key);
        }
    }

    /// The agent's state as the dashboard shows it; None without an agent.
    pub(super) fn agent_status(&self) -> Option<AgentStatus> {
        let seat = self.agent.as_ref()?;
        let activity = match &seat.running {
            Some(r) if r.started => AgentActivity::Replying,
            Some(_) => AgentActivity::Thinking,
            None => AgentActivity::Idle,
        };
        Some(AgentStatus {
            role: self.group.agent_role,
            activity,
            paused: seat.state.paused,
            last_latency_ms: seat.last_latency_ms,
        })
    }

    pub(super) fn publish_agent(&self) {
        if let Some(agent) = self.agent_status() {
            self.publish(WatchEvent::Agent {
                group_id: self.group.id,
                agent,
            });
        }
    }

    /// Keeps the phase clock in the store, so a restarted room carries on where it was.
    pub(super) async fn save_phase(&self) {
        let p = &self.phases;
        let saved = self
            .deps
            .store
            .set_group_phase(
                self.group.id,
                p.index.map(|i| i as i64),
                p.index.map(|_| p.ends_at_ms),
                p.completed as i64,
                p.finished,
            )
            .await;
        if let Err(e) = saved {
            tracing::warn!(group = self.group.id, error = %e, "cannot keep the phase clock");
        }
    }

    pub(super) fn publish_phase(&self) {
        self.publish(WatchEvent::Phase {
            group_id: self.group.id,
            phase: self.phases.info(),
            finished: self.phases.finished,
        });
    }

    /// Asks the policy and acts on the decision.
    async fn agent_consider(&mut self, event: Event, now: i64) {
        // Before the facilitator starts the session (and while it is paused or over) the agent
        // only listens.
        if self.session.status != SessionStatus::Running {
            return;
        }
        let config = self.deps.config.agent.clone();
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        let decision = policy::decide(&seat.state, &event, now, &config.policy);
        let Some(speech) = decision.speech.clone() else {
            let needs_reply = matches!(
                event,
                Event::PhaseStarted { .. } | Event::Whisper | Event::DirectiveIgnored { .. }
            );
            if seat.state.busy && needs_reply && !seat.state.paused {
                seat.deferred.push_back(event);
            }
            // A tick is logged when its reason changes, not every second.
            if decision.trigger == Trigger::Tick {
                if seat.last_tick_reason == decision.reason {
                    return;
                }
                seat.last_tick_reason = decision.reason.clone();
            }
            self.log_event(decision.trigger.as_str(), "silent", &decision.reason, now)
                .await;
            return;
        };
        self.start_reply(decision, speech, 0, Instant::now());
    }

    /// Starts generating. `attempt` 1 is the one retry after a reply that had to be dropped
    /// (empty, or a copy of its instruction: tiny models do that), timed from the same trigger.
    fn start_reply(
        &mut self,
        decision: Decision,
        speech: Speech,
        attempt: u32,
        trigger_at: Instant,
    ) {
        let config = &self.deps.config.agent;
        let role = self.group.agent_role;
        let Some(template) = config.templates.for_role(role).cloned() else {
            return;
        };
        let vars = self.prompt_vars();
        let target = speech.target.map(|t| self.nickname_of(Some(t)));
        let children: Vec<String> = self
            .participants
            .values()
            .map(|p| p.nickname.clone())
            .collect();
        // Every sentence passes the safety screen before a child sees it.
        let screen = self.deps.screen.clone();
        let language = self.session.language.clone();
        let system = self.agent_system_prompt();
        // The cleaner judges copies against the prompt the screen sees (without the parts
        // children see anyway, whose words a good reply uses).
        let own_prompt = system.clone();
        let check: SentenceCheck = Arc::new(move |sentence: &str| {
            let verdict = screen.check_agent(sentence, &language, &system);
            (verdict.action != crate::safety::Action::Allow).then(|| verdict.reason())
        });
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        let guidance = if speech.intent == crate::agent::Intent::FollowGuidance {
            seat.guidance.take()
        } else {
            None
        };
        let instruction =
            prompt::intent_instruction(speech.intent, role, target.as_deref(), guidance.as_deref());
        let lines: Vec<Line> = seat.lines.iter().cloned().collect();
        // A child who addressed the agent is answered without an instruction first: the chat
        // ends with their question, so the model's natural next turn is the answer, the prompt
        // is only the reply header beyond what eager prefill already evaluated (the fastest
        // first token), and there is no instruction for a small model to copy. Other intents
        // need their instruction. The one retry swaps: a model that copied an instruction tends
        // to copy it again, and an answer that came out empty may need the nudge.
        let with_instruction = (attempt == 0) != (speech.intent == crate::agent::Intent::Answer);
        let turn = if with_instruction {
            template.render_turn(&vars, &instruction)
        } else {
            String::new()
        };
        let messages = prompt::conversation(
            &template.render_system(&vars),
            &lines,
            with_instruction.then_some(turn.as_str()),
        );
        let said: Vec<String> = lines
            .iter()
            .filter(|l| l.speaker.is_none())
            .map(|l| l.text.clone())
            .collect();
        let mut cleaner = StreamCleaner::new(&turn)
            .with_children(&children)
            .for_child(target.as_deref())
            .in_language(&self.session.language)
            .not_copying(&own_prompt)
            .not_repeating(said)
            .screened(check);
        if speech.intent.is_for_the_group() {
            // The problem's words and the children's own, so that building on an idea counts.
            let mut topic = seat.topic.clone();
            let children_said: Vec<&str> = lines
                .iter()
                .filter(|l| l.speaker.is_some())
                .map(|l| l.text.as_str())
                .collect();
            topic.extend(text::topic_words(&children_said));
            cleaner = cleaner.on_topic_only(topic);
        }
        let stream_id = seat.next_stream;
        seat.next_stream += 1;
        let mut sampling = config.sampling.clone();
        sampling.seed = sampling.seed.wrapping_add(attempt * 7919);
        let request = GenerateRequest::new(seat.key.clone(), messages, sampling);
        let cancel = runner::spawn_reply(
            seat.engine.clone(),
            request,
            stream_id,
            seat.replies_tx.clone(),
        );
        seat.state.busy = true;
        seat.running = Some(Running {
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
            prompt_version: template.version.clone(),
        });
        self.publish_agent();
    }

    /// An item of the running reply arrived from its task.
    pub(super) async fn agent_reply_event(&mut self, ev: ReplyEvent) {
        let agent_name = self.session.agent_name.clone();
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        let Some(r) = seat
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
                let shown = r.cleaner.push(&t, &agent_name);
                if r.cleaner.complete {
                    // Enough sentences: stop the model (the reply is kept).
                    r.cancel.cancel();
                }
                if shown.is_empty() {
                    return;
                }
                let stream_id = r.stream_id;
                let start = !r.started;
                r.started = true;
                if r.first_shown.is_none() {
                    r.first_shown = Some(r.trigger_at.elapsed().as_secs_f64() * 1000.0);
                }
                let reply_to = r.speech.reply_to;
                if start {
                    self.broadcast(
                        &ServerFrame::AgentStart {
                            stream_id,
                            name: agent_name,
                            reply_to,
                        },
                        None,
                        None,
                    );
                    self.publish_agent();
                }
                self.broadcast(
                    &ServerFrame::AgentDelta {
                        stream_id,
                        text: shown,
                    },
                    None,
                    None,
                );
            }
            ReplyItem::Done(c) => self.finish_reply(Some(c)).await,
            ReplyItem::Failed(e) => {
                tracing::warn!(group = self.group.id, error = %e, "agent reply failed");
                self.finish_reply(None).await
            }
        }
    }

    async fn finish_reply(&mut self, completion: Option<Completion>) {
        let agent_name = self.session.agent_name.clone();
        let model = self
            .agent
            .as_ref()
            .map(|s| s.engine.model_name().to_string());
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        let Some(mut r) = seat.running.take() else {
            return;
        };
        seat.state.busy = false;
        let (text, rest) = r.cleaner.finish(&agent_name);
        let now = store::now_ms();
        let paused = r.discard
            || completion
                .as_ref()
                .is_some_and(|c| c.finish_reason == FinishReason::Cancelled && !r.cleaner.complete);
        let text = if paused { None } else { text };
        // A sentence failed the safety screen: no second try (the same prompt may well say it
        // again), a written safe line at once.
        let screened_out = r.cleaner.rejection == Some(Rejection::Unsafe);
        // The retry was dropped too: say a line written by people rather than stay silent.
        let fallback = if text.is_none() && !paused && (r.attempt > 0 || screened_out) {
            self.fallback_line(&r.speech)
        } else {
            None
        };
        if fallback.is_some() && r.started {
            // Words of the dropped reply were shown: take them back, and the line comes as a
            // stream of its own.
            self.broadcast(
                &ServerFrame::AgentEnd {
                    stream_id: r.stream_id,
                    seq: None,
                },
                None,
                None,
            );
            if let Some(seat) = self.agent.as_mut() {
                r.stream_id = seat.next_stream;
                seat.next_stream += 1;
            }
            r.started = false;
            r.first_shown = None;
        }
        let (text, rest) = match &fallback {
            Some(line) => (Some(line.text.clone()), line.text.clone()),
            None => (text, rest),
        };
        // An invitation always names its child, whatever the model wrote.
        let text = match (text, r.speech.intent, r.speech.target) {
            (
                Some(t),
                crate::agent::Intent::InviteQuiet | crate::agent::Intent::Escalate,
                Some(id),
            ) => {
                let nick = self.nickname_of(Some(id));
                Some(reply_check::ensure_named(t, &nick))
            }
            (t, _, _) => t,
        };
        // Stored (and screened as a whole) before its last words are shown: a reply the
        // screen holds never reaches the group, not even its end.
        let posted = match &text {
            Some(text) => self.store_agent_message(text, r.speech.reply_to, now).await,
            None => None,
        };
        let held = posted.as_ref().is_some_and(|p| !p.shown());
        let seq = posted.as_ref().filter(|p| p.shown()).map(|p| p.message.seq);
        if seq.is_some() && !rest.is_empty() {
            if !r.started {
                self.broadcast(
                    &ServerFrame::AgentStart {
                        stream_id: r.stream_id,
                        name: agent_name.clone(),
                        reply_to: r.speech.reply_to,
                    },
                    None,
                    None,
                );
                r.started = true;
                r.first_shown
                    .get_or_insert(r.trigger_at.elapsed().as_secs_f64() * 1000.0);
            }
            self.broadcast(
                &ServerFrame::AgentDelta {
                    stream_id: r.stream_id,
                    text: rest,
                },
                None,
                None,
            );
        }
        if r.started || seq.is_some() {
            self.broadcast(
                &ServerFrame::AgentEnd {
                    stream_id: r.stream_id,
                    seq,
                },
                None,
                None,
            );
        }
        if let Some(posted) = &posted {
            self.deliver(posted).await;
        }
        // The whole reply was held (what only the whole shows, e.g. a phone number split over
        // two sentences): it is logged as refused, and a written line is said instead, so a
        // child who asked is still answered.
        let (mut text, mut seq, mut fallback) = (text, seq, fallback);
        if held && !paused && fallback.is_none() {
            let why = posted
                .as_ref()
                .map_or_else(String::new, |p| p.verdict.reason());
            self.log_event(
                r.decision.trigger.as_str(),
                "held_unsafe",
                &format!(
                    "{}; the whole reply failed the safety screen ({why})",
                    r.decision.reason
                ),
                now,
            )
            .await;
            if let Some(line) = self.fallback_line(&r.speech) {
                r.stream_id = self.next_stream_id();
                r.started = false;
                r.first_shown = None;
                if let Some(shown) = self.say_line(&mut r, &line.text, now).await {
                    seq = Some(shown);
                    text = Some(line.text.clone());
                    fallback = Some(line);
                }
            }
        }
        let decision = match (&text, seq.is_some(), paused) {
            (_, _, true) => "cancelled".to_string(),
            (Some(_), false, _) if held => "held_unsafe".to_string(),
            (None, _, _) if r.cleaner.rejected => r
                .cleaner
                .rejection
                .unwrap_or(Rejection::Echo)
                .decision()
                .to_string(),
            (None, _, _) => "dropped_empty".to_string(),
            (Some(_), false, _) => "store_failed".to_string(),
            (Some(_), true, _) => r.decision.label().to_string(),
        };
        let m = completion.as_ref().map(|c| &c.metrics);
        let event = AgentEvent {
            group_id: self.group.id,
            created_at: now,
            trigger: r.decision.trigger.as_str().to_string(),
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
            model,
            prompt_tokens: m.map(|m| i64::from(m.prompt_tokens)),
            cached_tokens: m.map(|m| i64::from(m.cached_tokens)),
            generated_tokens: m.map(|m| i64::from(m.generated_tokens)),
            ttft_ms: r.first_shown.map(|v| v.round() as i64),
            total_ms: Some(r.trigger_at.elapsed().as_millis() as i64),
            ..AgentEvent::default()
        };
        self.record_event(&event).await;
        if let Some(seat) = self.agent.as_mut() {
            if let Some(ms) = event.ttft_ms {
                seat.last_latency_ms = Some(ms);
            }
        }
        self.publish_agent();
        let retry = !paused && text.is_none() && r.attempt == 0 && !screened_out;
        let (Some(text), Some(seq)) = (text, seq) else {
            if !paused && r.attempt > 0 {
                if let Some(seat) = self.agent.as_mut() {
                    seat.state.note_dropped(&r.speech, now);
                }
            }
            if !paused {
                tracing::debug!(
                    group = self.group.id,
                    raw = r.cleaner.raw(),
                    "agent reply dropped"
                );
            }
            if retry {
                if let Some(seat) = self.agent.as_mut() {
                    seat.guidance = r.guidance.take();
                }
                self.start_reply(r.decision, r.speech, 1, r.trigger_at);
            }
            return;
        };
        let n_online = self.online_count();
        let Some(seat) = self.agent.as_mut() else {
            return;
        };
        seat.state.note_agent_message(&r.speech, now);
        seat.push_line(
            Line {
                speaker: None,
                text: text.clone(),
            },
            self.deps.config.agent.context_lines,
        );
        if self.group.agent_role == AgentRole::Moderator {
            if let Some((kind, target)) = directives::directive_of(&r.speech, &text) {
                let stored = self
                    .deps
                    .store
                    .add_directive(self.group.id, kind.as_str(), target, Some(seq), now)
                    .await;
                let id = stored.map(|d| d.id).unwrap_or(0);
                let d = Directive {
                    id,
                    kind,
                    target,
                    given_at_ms: now,
                    escalated_at_ms: None,
                    needed: 0,
                    answered: Default::default(),
                };
                let Some(seat) = self.agent.as_mut() else {
                    return;
                };
                for old in seat.tracker.give(d, n_online) {
                    self.directive_resolved(&old, Outcome::Superseded, now)
                        .await;
                }
            }
        }
    }

    /// A new stream id for the agent's frames.
    fn next_stream_id(&mut self) -> u64 {
        match self.agent.as_mut() {
            Some(seat) => {
                seat.next_stream += 1;
                seat.next_stream - 1
            }
            None => 0,
        }
    }

    /// Says a written line as a stream of its own (start, the line, end with its seq), stored
    /// through the post path. Its seq when the group was shown it.
    async fn say_line(&mut self, r: &mut Running, line: &str, now: i64) -> Option<i64> {
        let posted = self
            .store_agent_message(line, r.speech.reply_to, now)
            .await?;
        if !posted.shown() {
            self.deliver(&posted).await;
            return None;
        }
        let name = self.session.agent_name.clone();
        self.broadcast(
            &ServerFrame::AgentStart {
                stream_id: r.stream_id,
                name,
                reply_to: r.speech.reply_to,
            },
            None,
            None,
        );
        r.started = true;
        r.first_shown
            .get_or_insert(r.trigger_at.elapsed().as_secs_f64() * 1000.0);
        self.broadcast(
            &ServerFrame::AgentDelta {
                stream_id: r.stream_id,
                text: line.to_string(),
            },
            None,
            None,
        );
        let seq = posted.message.seq;
        self.broadcast(
            &ServerFrame::AgentEnd {
                stream_id: r.stream_id,
                seq: Some(seq),
            },
            None,
            None,
        );
        self.deliver(&posted).await;
        Some(seq)
    }

    /// The next fallback line for `speech` in the session's language, if one was written.
    fn fallback_line(&mut self, speech: &Speech) -> Option<crate::agent::fallback::Chosen> {
        let templates = self.deps.config.agent.templates.clone();
        let lines = templates.fallbacks.language(&self.session.language)?;
        let activity = self.deps.activities.get(&self.session.activity_id);
        let phase = self.phases.current();
        let child = speech.target.map(|t| self.nickname_of(Some(t)));
        let seat = self.agent.as_mut()?;
        let nth = seat
            .fallbacks_said
            .get(&speech.intent)
            .copied()
            .unwrap_or(0);
        let sparks = activity.map(|a| a.sparks.as_slice()).unwrap_or_default();
        let spark = (!sparks.is_empty()).then(|| sparks[seat.sparks_said % sparks.len()].as_str());
        let vars = crate::agent::fallback::LineVars {
            name: &self.session.agent_name,
            child: child.as_deref(),
            activity_title: activity.map_or(self.activity_title.as_str(), |a| a.title.as_str()),
            phase_name: phase.map_or("", |p| p.name.as_str()),
            phase_goal: phase.map_or("", |p| p.goal.as_str()),
            spark,
        };
        let opening = self.phases.info().is_some_and(|p| p.index == 0);
        let chosen = lines.choose(self.group.agent_role, speech.intent, opening, nth, &vars)?;
        *seat.fallbacks_said.entry(speech.intent).or_default() += 1;
        if spark.is_some_and(|s| chosen.text.contains(s)) {
            seat.sparks_said += 1;
        }
        Some(chosen)
    }

    /// Stores the agent's reply through the room's one post path (screened again as a whole).
    /// None when it could not be stored; a reply the screen holds is stored hidden, for the
    /// facilitator, and the group never sees it. The caller delivers it after the stream's end.
    async fn store_agent_message(
        &mut self,
        text: &str,
        reply_to: Option<i64>,
        now: i64,
    ) -> Option<Posted> {
        let draft = Draft {
            author: Author::Agent,
            client_msg_id: format!("agent-{}-{now}-{}", self.group.id, self.last_seq + 1),
            text: text.to_string(),
            reply_to,
            created_at: now,
        };
        match self.post(draft).await {
            Ok(posted) => Some(posted),
            Err(e) => {
                tracing::error!(error = %e, "cannot store the agent's reply");
                None
            }
        }
    }

    async fn directive_resolved(&mut self, d: &Directive, outcome: Outcome, now: i64) {
        let store = &self.deps.store;
        let result = match outcome {
            Outcome::Escalate => store.directive_escalated(d.id, now).await,
            _ => store.resolve_directive(d.id, outcome.as_str(), now).await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record a directive");
        }
        if outcome == Outcome::Ignored {
            let who = d.target.map(|t| self.nickname_of(Some(t)));
            let detail = match who {
                Some(who) => format!("The group did not follow the agent's {} directive for {who}, even after a reminder.", d.kind.as_str()),
                None => format!("The group did not follow the agent's {} directive, even after a reminder.", d.kind.as_str()),
            };
            if let Ok(flag) = store
                .raise_flag(self.group.id, None, "directive_ignored", &detail, now)
                .await
            {
                self.publish(WatchEvent::Notice {
                    group_id: self.group.id,
                    flag: NoticeView {
                        flag,
                        message: None,
                    },
                });
            }
        }
        self.log_event(
            Trigger::DirectiveIgnored.as_str(),
            &format!("directive_{}", outcome.as_str()),
            &format!("{} directive #{}", d.kind.as_str(), d.id),
            now,
        )
        .await;
    }

    async fn log_event(&self, trigger: &str, decision: &str, reason: &str, now: i64) {
        if self.agent.is_none() {
            return;
        }
        let event = AgentEvent {
            group_id: self.group.id,
            created_at: now,
            trigger: trigger.to_string(),
            decision: decision.to_string(),
            reason: reason.to_string(),
            ..AgentEvent::default()
        };
        self.record_event(&event).await;
    }

    /// Writes a decision to the agent event log and shows it on the dashboard.
    async fn record_event(&self, event: &AgentEvent) {
        if let Err(e) = self.deps.store.record_agent_event(event).await {
            tracing::warn!(error = %e, "cannot record an agent event");
        }
        self.publish(WatchEvent::Decision {
            group_id: self.group.id,
            at_ms: event.created_at,
            trigger: event.trigger.clone(),
            decision: event.decision.clone(),
            reason: event.reason.clone(),
        });
    }

    /// Evaluates the conversation into the engine's cache now, so the next reply starts fast.
    pub(super) fn agent_prefill(&self) {
        let Some(seat) = self.agent.as_ref() else {
            return;
        };
        if seat.state.role == AgentRole::None || seat.running.is_some() {
            return;
        }
        let Some(template) = self.deps.config.agent.templates.for_role(seat.state.role) else {
            return;
        };
        let lines: Vec<Line> = seat.lines.iter().cloned().collect();
        let messages =
            prompt::conversation(&template.render_system(&self.prompt_vars()), &lines, None);
        // Dropping the handle does not stop the prefill: it only warms the cache.
        drop(seat.engine.prefill(seat.key.clone(), messages));
    }

    fn prompt_vars(&self) -> Vars {
        let activity = self.deps.activities.get(&self.session.activity_id);
        let phase = self.phases.current();
        let mut children: Vec<&str> = self
            .participants
            .values()
            .map(|p| p.nickname.as_str())
            .collect();
        children.sort_unstable();
        let mut v = Vars::new();
        v.insert("name", self.session.agent_name.clone());
        v.insert(
            "activity_title",
            activity.map_or_else(|| self.activity_title.clone(), |a| a.title.clone()),
        );
        v.insert(
            "problem",
            activity.map(|a| a.problem.clone()).unwrap_or_default(),
        );
        v.insert(
            "phase_name",
            phase.map_or_else(|| "Getting started".to_string(), |p| p.name.clone()),
        );
        v.insert(
            "phase_goal",
            phase.map_or_else(
                || "Say hello to each other.".to_string(),
                |p| p.goal.clone(),
            ),
        );
        v.insert(
            "phase_aim",
            phase.map_or_else(|| "Welcome the group.".to_string(), |p| p.moderator.clone()),
        );
        v.insert(
            "children",
            if children.is_empty() {
                "(nobody yet)".to_string()
            } else {
                children.join(", ")
            },
        );
        v.insert("language", language_name(&self.session.language));
        v
    }

    fn online_count(&self) -> usize {
        let online: std::collections::HashSet<i64> = self.connections.values().copied().collect();
        online.len()
    }
}

impl AgentSeat {
    pub(super) fn push_line(&mut self, line: Line, keep: usize) {
        push_bounded(&mut self.lines, line, keep);
    }

    /// Stops everything this room asked of the engine (the room is closing).
    pub(super) fn close(&self) {
        self.engine.close_room(&self.key);
    }
}

/// Adds the newest chat line to the prompt's window of at least `keep` lines. Dropping one old
/// line for each new one would change the start of the conversation on every message, and the
/// engine, which reuses what it evaluated up to the first difference, would evaluate the whole
/// window again each time. So the window grows to twice `keep` and then drops back to `keep` at
/// once: in between every prompt extends the previous one, and only the new line is evaluated.
fn push_bounded(lines: &mut VecDeque<Line>, line: Line, keep: usize) {
    lines.push_back(line);
    if lines.len() > keep.saturating_mul(2).max(1) {
        while lines.len() > keep.max(1) {
            lines.pop_front();
        }
    }
}

/// The language's name for the prompt (models follow "English" better than "en").
fn language_name(code: &str) -> String {
    let name = match code.trim().to_lowercase().as_str() {
        "en" => "English",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "it" => "Italian",
        "nl" => "Dutch",
        "pt" => "Portuguese",
        "pl" => "Polish",
        "sv" => "Swedish",
        "da" => "Danish",
        "fi" => "Finnish",
        "zh" => "Chinese",
        "ja" => "Japanese",
        "tr" => "Turkish",
        _ => return code.to_string(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> Line {
        Line {
            speaker: Some("Mia".into()),
            text: format!("idea {n}"),
        }
    }

    #[test]
    fn the_prompt_window_drops_old_lines_in_halves_so_prompts_extend_each_other() {
        let mut lines = VecDeque::new();
        let mut drops = 0;
        for n in 0..100 {
            let before: Vec<Line> = lines.iter().cloned().collect();
            push_bounded(&mut lines, line(n), 16);
            assert!(
                lines.len() >= 16.min(n + 1) && lines.len() <= 32,
                "{}",
                lines.len()
            );
            assert_eq!(lines.back(), Some(&line(n)), "the newest line is always in");
            let now: Vec<Line> = lines.iter().cloned().collect();
            if now.starts_with(&before) {
                continue;
            }
            // Only at a drop does the window not extend the previous one.
            drops += 1;
            assert_eq!(now.len(), 16);
        }
        // 100 lines: drops at the 33rd, 50th, 67th and 84th; every other message only extends.
        assert_eq!(drops, 4);
    }
}
