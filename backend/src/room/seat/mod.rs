//! The agent's seat in a room: the agent's whole state and behaviour in one room, apart from
//! the room actor. The room owns connections, the message pipeline, phases and presence; it
//! tells the seat what happened (a child's stored message, the adult's, the clock, a phase, a
//! facilitator's command, an item of a running reply) and the seat answers through the narrow
//! [`SeatRoom`] interface: post these words, send these frames, log this decision. The brain
//! is elsewhere and pure (`crate::agent::policy` decides when to speak, `crate::agent::prompt`
//! what it is told); the seat asks it and carries out its decisions, a reply at a time
//! (`reply.rs`).
//!
//! Why apart from the room: the agent's rules change often (prompts, checks, retries) and the
//! room's rarely; a newcomer changing how the agent replies reads this module and `port.rs`,
//! and its tests drive it without a room, a socket or a database.

mod port;
mod reply;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub(in crate::room) use port::{RoomView, SeatRoom};
use reply::Running;

use super::watch::{AgentActivity, AgentStatus, WatchEvent};
use crate::agent::decision_log::{LogDecision, LogTrigger};
use crate::agent::directives::{Directive, Outcome, Tracker};
use crate::agent::policy::{self, Event, Intent, RoomState, Trigger};
use crate::agent::prompt::{self, Line, Speaker, Templates, Vars};
use crate::agent::runner::ReplyEvent;
use crate::agent::text;
use crate::agent::PolicyConfig;
use crate::engine::{ChatMessage, RoomKey, SamplingParams, SharedEngine};
use crate::safety::Screen;
use crate::store::{AgentEvent, AgentRole};

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
    /// A reply that has not shown a word when this many newer children's messages have come is
    /// dropped, not shown late (0: never). `agent_stale_after` in the configuration.
    pub stale_after: usize,
    /// The longest a child who asked should wait for the first words of the answer: a refused
    /// first try is retried only when a second try as long would still come in time, else a
    /// written line is said at once. `agent_answer_within_ms` in the configuration.
    pub answer_within: Duration,
    /// The same for the agent's other turns. `agent_reply_within_ms` in the configuration.
    pub reply_within: Duration,
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
            stale_after: crate::config::DEFAULT_AGENT_STALE_AFTER as usize,
            answer_within: Duration::from_millis(crate::config::DEFAULT_AGENT_ANSWER_WITHIN_MS),
            reply_within: Duration::from_millis(crate::config::DEFAULT_AGENT_REPLY_WITHIN_MS),
        }
    }
}

/// A facilitator's command for the agent. The room has stored what it changes (the pause, the
/// role) before the seat hears it.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::room) enum AgentCommand {
    Pause,
    Resume,
    SwitchRole(AgentRole),
    /// Private guidance: the agent acts on it; children never see the text.
    Whisper(String),
}

/// How a seat starts: what the room read from the store.
pub(in crate::room) struct SeatStart<'a> {
    pub group_id: i64,
    pub role: AgentRole,
    pub paused: bool,
    /// The activity's words, for the on-topic check.
    pub topic: Vec<String>,
    /// The newest visible lines of the conversation, oldest first.
    pub history: &'a [Line],
    pub now_ms: i64,
}

pub(in crate::room) struct AgentSeat {
    config: AgentConfig,
    engine: SharedEngine,
    /// The child-safety screen, for each sentence before it is shown.
    screen: Screen,
    key: RoomKey,
    state: RoomState,
    tracker: Tracker,
    lines: VecDeque<Line>,
    /// The role whose situation notes are in `lines`.
    situation_role: Option<AgentRole>,
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
    fallbacks_said: BTreeMap<Intent, usize>,
    sparks_said: usize,
    replies_tx: mpsc::Sender<ReplyEvent>,
}

impl AgentSeat {
    /// A seat and the receiver of its replies' items, which the room polls and hands back
    /// through [`AgentSeat::on_reply`] (the model never blocks the room).
    pub fn new(
        engine: SharedEngine,
        screen: Screen,
        config: AgentConfig,
        start: SeatStart<'_>,
    ) -> (AgentSeat, mpsc::Receiver<ReplyEvent>) {
        let (replies_tx, rx) = mpsc::channel(256);
        let mut lines: VecDeque<Line> = start.history.iter().cloned().collect();
        while lines.len() > config.context_lines {
            lines.pop_front();
        }
        let mut state = RoomState::new(start.role, start.now_ms);
        state.paused = start.paused;
        let seat = AgentSeat {
            engine,
            key: RoomKey::from(start.group_id),
            state,
            tracker: Tracker::new(config.directive_window_ms),
            lines,
            situation_role: None,
            topic: start.topic,
            running: None,
            next_stream: 1,
            deferred: VecDeque::new(),
            guidance: None,
            last_tick_reason: String::new(),
            last_latency_ms: None,
            fallbacks_said: Default::default(),
            sparks_said: 0,
            replies_tx,
            screen,
            config,
        };
        (seat, rx)
    }

    /// A child came or went (the policy invites the quiet ones it can see).
    pub fn note_online(&mut self, participant_id: i64, nickname: &str, online: bool, now: i64) {
        self.state
            .note_online(participant_id, nickname, online, now);
    }

    /// A child's message was stored and shown to the group.
    pub async fn on_child_message(
        &mut self,
        room: &mut impl SeatRoom,
        participant_id: i64,
        seq: i64,
        text: &str,
        now: i64,
    ) {
        let (nickname, agent_name) = {
            let view = room.view();
            (
                view.nickname(Some(participant_id)),
                view.agent_name.to_string(),
            )
        };
        let addressed = text::addresses(text, &agent_name);
        let on_topic = text::on_topic(text, &self.topic);
        self.state
            .note_child_message(participant_id, seq, addressed, on_topic, now);
        // The situation the child wrote in (a child who just joined is in it) comes first.
        self.note_situation(&room.view());
        self.push_line(Line::named(nickname, text));
        for (d, outcome) in self.tracker.on_child_message(participant_id) {
            self.directive_resolved(room, &d, outcome, now).await;
        }
        self.drop_if_stale(room, now).await;
        if addressed {
            self.yield_to_question(room, now).await;
        }
        self.prefill(&room.view());
        let event = Event::ChildMessage {
            participant_id,
            seq,
            addressed,
            on_topic,
        };
        self.consider(room, event, now).await;
    }

    /// The facilitator wrote to the group: the agent hears the adult too, so it does not talk
    /// over them.
    pub fn hear_adult(&mut self, text: &str) {
        self.push_line(Line::named(crate::protocol::TEACHER_NAME, text));
    }

    /// The clock (the room has moved its phases first): directives, the policy's timed
    /// triggers, deferred replies.
    pub async fn on_tick(&mut self, room: &mut impl SeatRoom, now: i64) {
        for (d, outcome) in self.tracker.on_tick(now) {
            self.directive_resolved(room, &d, outcome, now).await;
            if outcome == Outcome::Escalate {
                self.consider(room, Event::DirectiveIgnored { target: d.target }, now)
                    .await;
            }
        }
        if !self.state.busy {
            if let Some(event) = self.deferred.pop_front() {
                self.consider(room, event, now).await;
                return;
            }
        }
        self.consider(room, Event::Tick, now).await;
    }

    /// A phase started (`Some(index)`) or the last one finished (`None`).
    pub async fn on_phase(&mut self, room: &mut impl SeatRoom, index: Option<usize>, now: i64) {
        if index.is_none() {
            self.state.ended = true;
        }
        self.consider(room, Event::PhaseStarted { index }, now)
            .await;
        // The new phase's note joins the conversation: unless a reply is already evaluating
        // it, warm it now so the next child who speaks finds it in the engine's cache.
        self.prefill(&room.view());
    }

    /// A facilitator's command; the room has already stored what it changes.
    pub async fn command(&mut self, room: &mut impl SeatRoom, command: AgentCommand, now: i64) {
        let (decision, reason) = match command {
            AgentCommand::Pause => {
                self.state.paused = true;
                self.deferred.clear();
                if let Some(r) = self.running.as_mut() {
                    r.discard();
                    self.engine.cancel(&self.key);
                }
                (
                    LogDecision::Paused,
                    "the facilitator paused the agent".into(),
                )
            }
            AgentCommand::Resume => {
                self.state.paused = false;
                (
                    LogDecision::Resumed,
                    "the facilitator resumed the agent".into(),
                )
            }
            AgentCommand::SwitchRole(role) => {
                self.state.role = role;
                if role == AgentRole::None {
                    if let Some(r) = self.running.as_mut() {
                        r.discard();
                    }
                }
                (
                    LogDecision::SwitchedRole,
                    format!("the agent is now {role}"),
                )
            }
            AgentCommand::Whisper(text) => {
                // Kept in the agent's log (never in the chat): researchers see what steered it.
                self.log(
                    room,
                    Trigger::Whisper.into(),
                    LogDecision::Guidance,
                    &text,
                    now,
                )
                .await;
                self.guidance = Some(text);
                self.consider(room, Event::Whisper, now).await;
                return;
            }
        };
        self.log(room, LogTrigger::Facilitator, decision, &reason, now)
            .await;
        self.publish_status(room);
    }

    /// The server is stopping: the reply being written is cancelled and none of it is
    /// stored (a half reply would read as the agent's whole thought).
    pub fn stop(&mut self) {
        self.deferred.clear();
        if let Some(r) = self.running.as_mut() {
            r.discard();
        }
        self.engine.cancel(&self.key);
    }

    /// Stops everything this room asked of the engine (the room is closing).
    pub fn close(&self) {
        self.engine.close_room(&self.key);
    }

    /// The agent's state as the dashboard shows it.
    pub fn status(&self, role: AgentRole) -> AgentStatus {
        let activity = match &self.running {
            Some(r) if r.started => AgentActivity::Replying,
            Some(_) => AgentActivity::Thinking,
            None => AgentActivity::Idle,
        };
        AgentStatus {
            role,
            activity,
            paused: self.state.paused,
            last_latency_ms: self.last_latency_ms,
        }
    }

    /// Evaluates the conversation into the engine's cache now, so the next reply starts fast.
    pub fn prefill(&mut self, view: &RoomView<'_>) {
        if self.state.role == AgentRole::None || self.running.is_some() {
            return;
        }
        let Some(messages) = self.conversation(view, None) else {
            return;
        };
        // Dropping the handle does not stop the prefill: it only warms the cache.
        drop(self.engine.prefill(self.key.clone(), messages));
    }

    /// The conversation the engine sees: the system prompt, the chat lines, and the turn's
    /// instruction if there is one. The one builder for both the prefill and the reply, so the
    /// engine's prompt cache hits: a reply extends exactly what the prefill evaluated.
    fn conversation(
        &mut self,
        view: &RoomView<'_>,
        turn: Option<&str>,
    ) -> Option<Vec<ChatMessage>> {
        self.note_situation(view);
        let template = self.config.templates.for_role(self.state.role)?;
        let lines: Vec<Line> = self.lines.iter().cloned().collect();
        Some(prompt::conversation(
            &template.render_system(&prompt_vars(view)),
            &lines,
            turn,
        ))
    }

    /// Brings the room's note on the phase and the children up to date before the engine
    /// sees the conversation. A changed note is appended, so the engine's cache of everything
    /// before it stays; when nothing was said since the last note, that note is rewritten
    /// instead, so children joining one after another leave one note, not one each. A note
    /// trimmed off the front with old lines comes back at the end: the model always has one.
    fn note_situation(&mut self, view: &RoomView<'_>) {
        let Some(note) = self
            .config
            .templates
            .for_role(self.state.role)
            .and_then(|t| t.render_situation(&prompt_vars(view)))
        else {
            return;
        };
        if self.situation_role != Some(self.state.role) {
            // Another role's notes speak of another job (its system prompt changed as well,
            // so nothing cached is lost by removing them).
            self.lines.retain(|l| l.speaker != Speaker::Room);
            self.situation_role = Some(self.state.role);
        }
        let current = self.lines.iter().rev().find(|l| l.speaker == Speaker::Room);
        if current.is_some_and(|l| l.text == note) {
            return;
        }
        match self.lines.back_mut() {
            Some(last) if last.speaker == Speaker::Room => last.text = note,
            _ => self.push_line(Line::room(note)),
        }
    }

    fn push_line(&mut self, line: Line) {
        push_bounded(&mut self.lines, line, self.config.context_lines);
    }

    fn publish_status(&self, room: &impl SeatRoom) {
        let view = room.view();
        room.publish(WatchEvent::Agent {
            group_id: view.group_id,
            agent: self.status(view.role),
        });
    }

    /// Asks the policy and acts on the decision.
    async fn consider(&mut self, room: &mut impl SeatRoom, event: Event, now: i64) {
        // Before the facilitator starts the session (and while it is paused or over) the agent
        // only listens.
        if !room.view().session_running {
            return;
        }
        let decision = policy::decide(&self.state, &event, now, &self.config.policy);
        let Some(speech) = decision.speech.clone() else {
            let needs_reply = matches!(
                event,
                Event::PhaseStarted { .. } | Event::Whisper | Event::DirectiveIgnored { .. }
            );
            if self.state.busy && needs_reply && !self.state.paused {
                self.deferred.push_back(event);
            }
            // A tick is logged when its reason changes, not every second.
            if decision.trigger == Trigger::Tick {
                if self.last_tick_reason == decision.reason {
                    return;
                }
                self.last_tick_reason = decision.reason.clone();
            }
            self.log(
                room,
                decision.trigger.into(),
                LogDecision::Silent,
                &decision.reason,
                now,
            )
            .await;
            return;
        };
        if self.start_reply(&room.view(), decision, speech, 0, Instant::now()) {
            self.publish_status(room);
        }
    }

    async fn directive_resolved(
        &mut self,
        room: &mut impl SeatRoom,
        d: &Directive,
        outcome: Outcome,
        now: i64,
    ) {
        room.resolve_directive(d, outcome, now).await;
        if outcome == Outcome::Ignored {
            let who = d.target.map(|t| room.view().nickname(Some(t)));
            let kind = d.kind.as_str();
            let detail = match who {
                Some(who) => format!(
                    "The group did not follow the agent's {kind} directive for {who}, even after a reminder."
                ),
                None => format!(
                    "The group did not follow the agent's {kind} directive, even after a reminder."
                ),
            };
            room.raise_notice("directive_ignored", &detail, now).await;
        }
        self.log(
            room,
            Trigger::DirectiveIgnored.into(),
            LogDecision::Directive(outcome),
            &format!("{} directive #{}", d.kind.as_str(), d.id),
            now,
        )
        .await;
    }

    /// One entry of the decision log without a message.
    async fn log(
        &self,
        room: &impl SeatRoom,
        trigger: LogTrigger,
        decision: LogDecision,
        reason: &str,
        now: i64,
    ) {
        let event = AgentEvent {
            group_id: room.view().group_id,
            created_at: now,
            trigger,
            decision,
            reason: reason.to_string(),
            ..AgentEvent::default()
        };
        room.record(event).await;
    }
}

/// The agent's own instructions, for the screen: a reply that copies them is refused. The
/// activity's words (its problem, the phase's goal) and the children's names are left out:
/// saying them again is the moderator's job, not a leak. Empty for a role without a prompt.
/// The room asks for it when it screens the agent's words, so it is built from the view alone.
pub(in crate::room) fn instructions(templates: &Templates, view: &RoomView<'_>) -> String {
    let mut vars = prompt_vars(view);
    for public in [
        "activity_title",
        "problem",
        "phase_name",
        "phase_goal",
        "children",
    ] {
        vars.insert(public, String::new());
    }
    templates
        .for_role(view.role)
        .map(|t| t.render_instructions(&vars))
        .unwrap_or_default()
}

/// The variables of the system prompt, from what the room shows.
fn prompt_vars(view: &RoomView<'_>) -> Vars {
    let mut children: Vec<&str> = view.children.iter().map(|(_, name)| *name).collect();
    children.sort_unstable();
    let activity = view.activity;
    let phase = view.phase;
    let mut v = Vars::new();
    v.insert("name", view.agent_name.to_string());
    v.insert(
        "activity_title",
        activity.map_or_else(|| view.activity_title.to_string(), |a| a.title.clone()),
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
    v.insert("language", language_name(view.language));
    v
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
