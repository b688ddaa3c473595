//! When the agent speaks: a pure, deterministic function of the room's state, one event and the
//! clock. No I/O, no randomness, no wall clock: the same inputs always give the same decision,
//! so researchers can replay a session's log and ask "why did Blue say that?".
//!
//! The room keeps a [`RoomState`] up to date (the `note_*` methods) and calls [`decide`] for
//! every event. Every decision, silent ones included, carries a trigger and a reason that go to
//! the agent event log.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::store::AgentRole;

/// The policy's thresholds. The defaults are meant for a real classroom; the simulator and the
/// tests shorten the times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// No message from anyone for this long counts as a lull (moderator asks, participant
    /// offers an idea).
    pub silence_ms: i64,
    /// A child online who has not written for this long (while others did) is invited.
    pub quiet_child_ms: i64,
    /// How many recent child turns the imbalance rule looks at.
    pub imbalance_window: usize,
    /// One child holding at least this share of the window's turns is "dominating".
    pub imbalance_share: f64,
    /// At most one invitation per this long, and never the same child twice within it.
    pub invite_cooldown_ms: i64,
    /// Consecutive child messages without a word of the problem that count as drift.
    pub drift_messages: usize,
    pub drift_cooldown_ms: i64,
    /// Participant: at most one unprompted contribution per this many child messages.
    pub participant_every: usize,
    /// The agent never speaks unprompted sooner than this after its own last message.
    pub min_gap_ms: i64,
    /// Unprompted agent messages in a row (without a child writing in between) at most.
    pub max_unanswered: usize,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            silence_ms: 45_000,
            quiet_child_ms: 120_000,
            imbalance_window: 8,
            imbalance_share: 0.6,
            invite_cooldown_ms: 60_000,
            drift_messages: 4,
            drift_cooldown_ms: 90_000,
            participant_every: 4,
            min_gap_ms: 15_000,
            max_unanswered: 2,
        }
    }
}

/// What the agent means to do with its message; it selects the instruction in the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Answer,
    InviteQuiet,
    Redirect,
    Summarise,
    AnnouncePhase,
    ContributeIdea,
    AskQuestion,
    /// Follow the facilitator's private guidance.
    FollowGuidance,
    /// Say an ignored directive again, more concretely.
    Escalate,
}

impl Intent {
    pub const ALL: [Intent; 9] = [
        Intent::Answer,
        Intent::InviteQuiet,
        Intent::Redirect,
        Intent::Summarise,
        Intent::AnnouncePhase,
        Intent::ContributeIdea,
        Intent::AskQuestion,
        Intent::FollowGuidance,
        Intent::Escalate,
    ];

    /// What the agent says to the whole group unprompted, with nobody waiting for it: its
    /// reply is held back until complete and must touch the problem or the children's words.
    pub fn is_for_the_group(self) -> bool {
        matches!(
            self,
            Intent::AnnouncePhase
                | Intent::Redirect
                | Intent::Summarise
                | Intent::ContributeIdea
                | Intent::AskQuestion
        )
    }

    /// The intent logged as `s` (see [`Intent::as_str`]).
    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Answer => "answer",
            Intent::InviteQuiet => "invite_quiet",
            Intent::Redirect => "redirect",
            Intent::Summarise => "summarise",
            Intent::AnnouncePhase => "announce_phase",
            Intent::ContributeIdea => "contribute_idea",
            Intent::AskQuestion => "ask_question",
            Intent::FollowGuidance => "follow_guidance",
            Intent::Escalate => "escalate",
        }
    }
}

/// Why the policy was consulted (or what made it speak), as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Message,
    Addressed,
    Silence,
    Imbalance,
    QuietChild,
    Drift,
    PhaseTimer,
    ActivityEnd,
    Whisper,
    DirectiveIgnored,
    Tick,
}

impl Trigger {
    pub const ALL: &'static [Trigger] = &[
        Trigger::Message,
        Trigger::Addressed,
        Trigger::Silence,
        Trigger::Imbalance,
        Trigger::QuietChild,
        Trigger::Drift,
        Trigger::PhaseTimer,
        Trigger::ActivityEnd,
        Trigger::Whisper,
        Trigger::DirectiveIgnored,
        Trigger::Tick,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Message => "message",
            Trigger::Addressed => "addressed",
            Trigger::Silence => "silence",
            Trigger::Imbalance => "imbalance",
            Trigger::QuietChild => "quiet_child",
            Trigger::Drift => "drift",
            Trigger::PhaseTimer => "phase_timer",
            Trigger::ActivityEnd => "activity_end",
            Trigger::Whisper => "whisper",
            Trigger::DirectiveIgnored => "directive_ignored",
            Trigger::Tick => "tick",
        }
    }
}

/// A decision to speak.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    pub intent: Intent,
    /// The child the message is for (answered, invited), by participant id.
    pub target: Option<i64>,
    /// The message it answers.
    pub reply_to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub trigger: Trigger,
    /// None: stay silent.
    pub speech: Option<Speech>,
    pub reason: String,
}

impl Decision {
    fn silent(trigger: Trigger, reason: impl Into<String>) -> Decision {
        Decision {
            trigger,
            speech: None,
            reason: reason.into(),
        }
    }

    fn speak(
        trigger: Trigger,
        intent: Intent,
        target: Option<i64>,
        reply_to: Option<i64>,
        reason: impl Into<String>,
    ) -> Decision {
        Decision {
            trigger,
            speech: Some(Speech {
                intent,
                target,
                reply_to,
            }),
            reason: reason.into(),
        }
    }

    /// `silent` or the intent, for the event log.
    pub fn label(&self) -> &'static str {
        self.speech.as_ref().map_or("silent", |s| s.intent.as_str())
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A child's message was stored and shown (already noted in the state).
    ChildMessage {
        participant_id: i64,
        seq: i64,
        addressed: bool,
        on_topic: bool,
    },
    /// The clock moved (about once a second).
    Tick,
    /// A new phase began (index into the activity's phases); `None` ended the activity.
    PhaseStarted { index: Option<usize> },
    /// The facilitator whispered guidance.
    Whisper,
    /// A directive was not followed in time; the agent says it again, more concretely.
    DirectiveIgnored { target: Option<i64> },
}

/// One child as the policy sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub nickname: String,
    pub online: bool,
    /// When this child joined the room (or came online), ms.
    pub since_ms: i64,
    pub last_spoke_ms: Option<i64>,
    pub invited_at_ms: Option<i64>,
}

/// Who took a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Child(i64),
    Agent,
}

/// What the policy knows about a room. Plain data, updated by the room with the `note_*`
/// methods (deterministic too), so a test can build any situation directly.
#[derive(Debug, Clone)]
pub struct RoomState {
    pub role: AgentRole,
    pub children: BTreeMap<i64, Child>,
    /// The last turns, newest last (bounded).
    pub turns: VecDeque<Turn>,
    pub last_message_ms: i64,
    pub last_agent_ms: Option<i64>,
    pub last_invite_ms: Option<i64>,
    pub last_redirect_ms: Option<i64>,
    /// Child messages since the agent last spoke.
    pub child_messages_since_agent: usize,
    /// Agent messages since a child last wrote.
    pub agent_messages_in_a_row: usize,
    /// Consecutive child messages without a word of the problem.
    pub off_topic_run: usize,
    /// Addressed messages the agent has not answered yet (it was busy), oldest first, as
    /// (child, seq): one per child (a child's newer question replaces their older one), at most
    /// [`MAX_PENDING_ANSWERS`]. A queue, not one slot: when several children ask while the
    /// agent speaks, each is answered in turn.
    pub pending_answers: VecDeque<(i64, i64)>,
    /// A reply is being generated.
    pub busy: bool,
    /// The facilitator paused the agent.
    pub paused: bool,
    /// The activity is over.
    pub ended: bool,
}

const TURNS_KEPT: usize = 32;

/// Questions kept for answering later: more children than this asking at once while the agent
/// speaks is a crowd, and the oldest question has moved on by then.
pub const MAX_PENDING_ANSWERS: usize = 4;

impl RoomState {
    pub fn new(role: AgentRole, now_ms: i64) -> RoomState {
        RoomState {
            role,
            children: BTreeMap::new(),
            turns: VecDeque::new(),
            last_message_ms: now_ms,
            last_agent_ms: None,
            last_invite_ms: None,
            last_redirect_ms: None,
            child_messages_since_agent: 0,
            agent_messages_in_a_row: 0,
            off_topic_run: 0,
            pending_answers: VecDeque::new(),
            busy: false,
            paused: false,
            ended: false,
        }
    }

    pub fn note_online(&mut self, id: i64, nickname: &str, online: bool, now_ms: i64) {
        let child = self.children.entry(id).or_insert_with(|| Child {
            nickname: nickname.to_string(),
            online,
            since_ms: now_ms,
            last_spoke_ms: None,
            invited_at_ms: None,
        });
        if online && !child.online {
            child.since_ms = now_ms;
        }
        child.online = online;
    }

    pub fn note_child_message(
        &mut self,
        id: i64,
        seq: i64,
        addressed: bool,
        on_topic: bool,
        now_ms: i64,
    ) {
        if let Some(c) = self.children.get_mut(&id) {
            c.last_spoke_ms = Some(now_ms);
        }
        self.push_turn(Turn::Child(id));
        self.last_message_ms = now_ms;
        self.child_messages_since_agent += 1;
        self.agent_messages_in_a_row = 0;
        self.off_topic_run = if on_topic { 0 } else { self.off_topic_run + 1 };
        if addressed {
            self.pending_answers.retain(|(child, _)| *child != id);
            self.pending_answers.push_back((id, seq));
            while self.pending_answers.len() > MAX_PENDING_ANSWERS {
                self.pending_answers.pop_front();
            }
        }
    }

    /// The question `reply_to` was answered, or its answer given up.
    fn settle_answer(&mut self, reply_to: Option<i64>) {
        self.pending_answers
            .retain(|(_, seq)| Some(*seq) != reply_to);
    }

    /// The agent's message was stored and shown.
    pub fn note_agent_message(&mut self, speech: &Speech, now_ms: i64) {
        self.push_turn(Turn::Agent);
        self.last_message_ms = now_ms;
        self.last_agent_ms = Some(now_ms);
        self.child_messages_since_agent = 0;
        self.agent_messages_in_a_row += 1;
        match speech.intent {
            // Only the answered message: another child may have asked meanwhile.
            Intent::Answer => self.settle_answer(speech.reply_to),
            Intent::InviteQuiet | Intent::Escalate => {
                self.last_invite_ms = Some(now_ms);
                if let Some(c) = speech.target.and_then(|t| self.children.get_mut(&t)) {
                    c.invited_at_ms = Some(now_ms);
                }
            }
            Intent::Redirect => {
                self.last_redirect_ms = Some(now_ms);
                self.off_topic_run = 0;
            }
            _ => {}
        }
    }

    /// The agent could not produce a usable reply (even after its retry). An answer it owed is
    /// given up; any other attempt counts like having spoken for the limits (gap, lull,
    /// cooldowns), so a failing model is not asked again on every tick.
    pub fn note_dropped(&mut self, speech: &Speech, now_ms: i64) {
        if speech.intent == Intent::Answer {
            self.settle_answer(speech.reply_to);
            return;
        }
        self.last_agent_ms = Some(now_ms);
        self.last_message_ms = now_ms;
        match speech.intent {
            Intent::InviteQuiet | Intent::Escalate => {
                self.last_invite_ms = Some(now_ms);
                if let Some(c) = speech.target.and_then(|t| self.children.get_mut(&t)) {
                    c.invited_at_ms = Some(now_ms);
                }
            }
            Intent::Redirect => {
                self.last_redirect_ms = Some(now_ms);
                self.off_topic_run = 0;
            }
            _ => {}
        }
    }

    fn push_turn(&mut self, turn: Turn) {
        self.turns.push_back(turn);
        while self.turns.len() > TURNS_KEPT {
            self.turns.pop_front();
        }
    }

    fn online_children(&self) -> impl Iterator<Item = (&i64, &Child)> {
        self.children.iter().filter(|(_, c)| c.online)
    }

    /// The child holding at least `share` of the last `window` child turns, and how many.
    fn dominant(&self, window: usize, share: f64) -> Option<(i64, usize)> {
        let recent: Vec<i64> = self
            .turns
            .iter()
            .rev()
            .filter_map(|t| match t {
                Turn::Child(id) => Some(*id),
                Turn::Agent => None,
            })
            .take(window)
            .collect();
        if recent.len() < window {
            return None;
        }
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for id in &recent {
            *counts.entry(*id).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(id, n)| (*n, std::cmp::Reverse(*id)))
            .filter(|(_, n)| *n as f64 >= share * window as f64)
    }

    /// The online child who has spoken least recently (never first), who may be invited now.
    fn quietest(&self, except: Option<i64>, cfg: &PolicyConfig, now_ms: i64) -> Option<i64> {
        self.online_children()
            .filter(|(id, _)| Some(**id) != except)
            .filter(|(_, c)| {
                c.invited_at_ms
                    .is_none_or(|t| now_ms - t >= cfg.invite_cooldown_ms)
            })
            .min_by_key(|(id, c)| (c.last_spoke_ms.unwrap_or(i64::MIN), **id))
            .map(|(id, _)| *id)
    }

    fn agent_spoke_last(&self) -> bool {
        self.turns.back() == Some(&Turn::Agent)
    }
}

/// The decision for `event` in `state` at `now_ms`.
pub fn decide(state: &RoomState, event: &Event, now_ms: i64, cfg: &PolicyConfig) -> Decision {
    let trigger = match event {
        Event::ChildMessage { .. } => Trigger::Message,
        Event::Tick => Trigger::Tick,
        Event::PhaseStarted { index: Some(_) } => Trigger::PhaseTimer,
        Event::PhaseStarted { index: None } => Trigger::ActivityEnd,
        Event::Whisper => Trigger::Whisper,
        Event::DirectiveIgnored { .. } => Trigger::DirectiveIgnored,
    };
    if state.role == AgentRole::None {
        return Decision::silent(trigger, "no agent in this group (control condition)");
    }
    if state.paused {
        return Decision::silent(trigger, "the facilitator paused the agent");
    }
    if state.busy {
        return Decision::silent(trigger, "already speaking");
    }
    let moderator = state.role == AgentRole::Moderator;
    match *event {
        Event::ChildMessage {
            participant_id,
            seq,
            addressed: true,
            ..
        } => Decision::speak(
            Trigger::Addressed,
            Intent::Answer,
            Some(participant_id),
            Some(seq),
            "a child addressed the agent by name",
        ),
        Event::ChildMessage { participant_id, .. } => {
            on_child_message(state, participant_id, now_ms, cfg, moderator)
        }
        Event::Tick => on_tick(state, now_ms, cfg, moderator),
        Event::PhaseStarted { index } => {
            if !moderator {
                return Decision::silent(
                    trigger,
                    "a participant leaves phases to the moderator and the timer",
                );
            }
            match index {
                Some(i) => Decision::speak(
                    trigger,
                    Intent::AnnouncePhase,
                    None,
                    None,
                    format!("phase {} began", i + 1),
                ),
                None => Decision::speak(
                    trigger,
                    Intent::Summarise,
                    None,
                    None,
                    "the last phase ended: closing summary",
                ),
            }
        }
        Event::Whisper => Decision::speak(
            trigger,
            Intent::FollowGuidance,
            None,
            None,
            "the facilitator whispered guidance",
        ),
        Event::DirectiveIgnored { target } => {
            if !moderator {
                return Decision::silent(trigger, "only the moderator gives directives");
            }
            Decision::speak(
                trigger,
                Intent::Escalate,
                target,
                None,
                "the group did not follow a directive in time",
            )
        }
    }
}

fn on_child_message(
    state: &RoomState,
    from: i64,
    now_ms: i64,
    cfg: &PolicyConfig,
    moderator: bool,
) -> Decision {
    let t = Trigger::Message;
    if state.ended {
        return Decision::silent(t, "the activity is over");
    }
    if let Some(last) = state.last_agent_ms {
        if now_ms - last < cfg.min_gap_ms {
            return Decision::silent(
                t,
                format!(
                    "spoke {} s ago (minimum gap {} s)",
                    (now_ms - last) / 1000,
                    cfg.min_gap_ms / 1000
                ),
            );
        }
    }
    if moderator {
        if let Some((dominant, n)) = state.dominant(cfg.imbalance_window, cfg.imbalance_share) {
            let invite_ok = state
                .last_invite_ms
                .is_none_or(|t| now_ms - t >= cfg.invite_cooldown_ms);
            if invite_ok && dominant == from {
                if let Some(quiet) = state.quietest(Some(dominant), cfg, now_ms) {
                    return Decision::speak(
                        Trigger::Imbalance,
                        Intent::InviteQuiet,
                        Some(quiet),
                        None,
                        format!(
                            "one child wrote {n} of the last {} messages",
                            cfg.imbalance_window
                        ),
                    );
                }
            }
        }
        if state.off_topic_run >= cfg.drift_messages
            && state
                .last_redirect_ms
                .is_none_or(|t| now_ms - t >= cfg.drift_cooldown_ms)
        {
            return Decision::speak(
                Trigger::Drift,
                Intent::Redirect,
                None,
                None,
                format!(
                    "{} messages in a row without a word about the problem",
                    state.off_topic_run
                ),
            );
        }
        return Decision::silent(
            t,
            "the children are talking; the moderator does not interrupt",
        );
    }
    // Participant: one contribution per K child messages, never two in a row.
    if state.agent_spoke_last() {
        return Decision::silent(t, "spoke last");
    }
    let n = state.child_messages_since_agent;
    if n < cfg.participant_every {
        return Decision::silent(
            t,
            format!(
                "talkativeness: {n} of {} child messages since last contribution",
                cfg.participant_every
            ),
        );
    }
    // Alternate ideas and questions, so the peer is not only a source of ideas.
    let contributions = state.turns.iter().filter(|t| **t == Turn::Agent).count();
    let intent = if contributions % 2 == 0 {
        Intent::ContributeIdea
    } else {
        Intent::AskQuestion
    };
    Decision::speak(
        Trigger::Message,
        intent,
        None,
        None,
        format!("{n} child messages since its last contribution"),
    )
}

fn on_tick(state: &RoomState, now_ms: i64, cfg: &PolicyConfig, moderator: bool) -> Decision {
    let t = Trigger::Tick;
    if let Some(&(child, seq)) = state.pending_answers.front() {
        return Decision::speak(
            Trigger::Addressed,
            Intent::Answer,
            Some(child),
            Some(seq),
            "answering a child who addressed it while it was busy",
        );
    }
    if state.ended {
        return Decision::silent(t, "the activity is over");
    }
    if state.online_children().next().is_none() {
        return Decision::silent(t, "nobody is online");
    }
    if state.agent_messages_in_a_row >= cfg.max_unanswered {
        return Decision::silent(
            t,
            format!(
                "{} messages in a row without a reply",
                state.agent_messages_in_a_row
            ),
        );
    }
    if state
        .last_agent_ms
        .is_some_and(|last| now_ms - last < cfg.min_gap_ms)
    {
        return Decision::silent(t, "spoke recently");
    }
    if moderator {
        let invite_ok = state
            .last_invite_ms
            .is_none_or(|t| now_ms - t >= cfg.invite_cooldown_ms);
        // Only when someone else is talking: a child is quiet *compared with* the group.
        let others_talk = state.children.values().any(|c| {
            c.last_spoke_ms
                .is_some_and(|s| now_ms - s < cfg.quiet_child_ms)
        });
        if invite_ok && others_talk {
            let quiet = state
                .online_children()
                .filter(|(_, c)| now_ms - c.since_ms >= cfg.quiet_child_ms)
                .filter(|(_, c)| {
                    c.last_spoke_ms
                        .is_none_or(|s| now_ms - s >= cfg.quiet_child_ms)
                })
                .filter(|(_, c)| {
                    c.invited_at_ms
                        .is_none_or(|i| now_ms - i >= cfg.invite_cooldown_ms)
                })
                .min_by_key(|(id, c)| (c.last_spoke_ms.unwrap_or(i64::MIN), **id));
            if let Some((id, c)) = quiet {
                let why = match c.last_spoke_ms {
                    None => format!("{} has not written yet", c.nickname),
                    Some(s) => format!(
                        "{} has not written for {} s",
                        c.nickname,
                        (now_ms - s) / 1000
                    ),
                };
                return Decision::speak(
                    Trigger::QuietChild,
                    Intent::InviteQuiet,
                    Some(*id),
                    None,
                    why,
                );
            }
        }
    }
    let silent_for = now_ms - state.last_message_ms;
    if silent_for >= cfg.silence_ms {
        if !moderator && state.agent_spoke_last() {
            return Decision::silent(t, "silence, but the participant spoke last");
        }
        let intent = if moderator {
            Intent::AskQuestion
        } else {
            Intent::ContributeIdea
        };
        return Decision::speak(
            Trigger::Silence,
            intent,
            None,
            None,
            format!("nobody wrote for {} s", silent_for / 1000),
        );
    }
    Decision::silent(t, "nothing to do")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::text::{on_topic, topic_words};

    const S: i64 = 1000;

    fn cfg() -> PolicyConfig {
        PolicyConfig::default()
    }

    /// A room with children 1..=n online since t=0.
    fn room(role: AgentRole, n: i64) -> RoomState {
        let mut s = RoomState::new(role, 0);
        for id in 1..=n {
            s.note_online(id, &format!("kid{id}"), true, 0);
        }
        s
    }

    fn say(s: &mut RoomState, id: i64, seq: i64, at: i64) -> Event {
        s.note_child_message(id, seq, false, true, at);
        Event::ChildMessage {
            participant_id: id,
            seq,
            addressed: false,
            on_topic: true,
        }
    }

    fn agent(s: &mut RoomState, intent: Intent, target: Option<i64>, at: i64) {
        s.note_agent_message(
            &Speech {
                intent,
                target,
                reply_to: None,
            },
            at,
        );
    }

    #[test]
    fn addressing_is_answered_at_once_by_both_roles() {
        for role in [AgentRole::Moderator, AgentRole::Participant] {
            let mut s = room(role, 2);
            agent(&mut s, Intent::AskQuestion, None, 0);
            // Even right after its own message (min gap does not apply).
            s.note_child_message(1, 5, true, true, S);
            let d = decide(
                &s,
                &Event::ChildMessage {
                    participant_id: 1,
                    seq: 5,
                    addressed: true,
                    on_topic: true,
                },
                S,
                &cfg(),
            );
            assert_eq!(d.trigger, Trigger::Addressed);
            assert_eq!(
                d.speech,
                Some(Speech {
                    intent: Intent::Answer,
                    target: Some(1),
                    reply_to: Some(5)
                })
            );
        }
    }

    #[test]
    fn a_busy_agent_answers_the_addressed_child_on_the_next_tick() {
        let mut s = room(AgentRole::Participant, 2);
        s.busy = true;
        s.note_child_message(2, 7, true, true, S);
        let e = Event::ChildMessage {
            participant_id: 2,
            seq: 7,
            addressed: true,
            on_topic: true,
        };
        assert!(decide(&s, &e, S, &cfg()).speech.is_none());
        s.busy = false;
        let d = decide(&s, &Event::Tick, 2 * S, &cfg());
        assert_eq!(d.trigger, Trigger::Addressed);
        assert_eq!(d.speech.unwrap().reply_to, Some(7));
        // Once answered, the tick has nothing to do.
        s.note_agent_message(
            &Speech {
                intent: Intent::Answer,
                target: Some(2),
                reply_to: Some(7),
            },
            3 * S,
        );
        assert!(decide(&s, &Event::Tick, 4 * S, &cfg()).speech.is_none());
    }

    #[test]
    fn children_who_ask_while_the_agent_speaks_are_answered_in_turn() {
        let mut s = room(AgentRole::Participant, 4);
        s.busy = true;
        // Three children ask; child 1 asks again (their newer question replaces the first).
        for (child, seq) in [(1, 10), (2, 11), (3, 12), (1, 13)] {
            s.note_child_message(child, seq, true, true, S);
        }
        s.busy = false;
        let mut answered = Vec::new();
        for i in 0..4 {
            let Some(speech) = decide(&s, &Event::Tick, (2 + i) * S, &cfg()).speech else {
                break;
            };
            assert_eq!(speech.intent, Intent::Answer);
            answered.push((speech.target, speech.reply_to));
            s.note_agent_message(&speech, (2 + i) * S);
        }
        assert_eq!(
            answered,
            [
                (Some(2), Some(11)),
                (Some(3), Some(12)),
                (Some(1), Some(13))
            ]
        );
        // A crowd: only the newest MAX_PENDING_ANSWERS questions are kept.
        let mut s = room(AgentRole::Participant, 6);
        s.busy = true;
        for child in 1..=6 {
            s.note_child_message(child, 20 + child, true, true, S);
        }
        assert_eq!(s.pending_answers.len(), MAX_PENDING_ANSWERS);
        assert_eq!(s.pending_answers.front(), Some(&(3, 23)));
        // A dropped answer is given up, and the next question comes up.
        s.busy = false;
        let first = decide(&s, &Event::Tick, 2 * S, &cfg()).speech.unwrap();
        s.note_dropped(&first, 2 * S);
        let next = decide(&s, &Event::Tick, 3 * S, &cfg()).speech.unwrap();
        assert_eq!(next.reply_to, Some(24));
    }

    #[test]
    fn a_second_child_asking_while_the_first_is_answered_is_answered_next() {
        let mut s = room(AgentRole::Participant, 2);
        s.note_child_message(1, 1, true, true, S);
        s.busy = true;
        s.note_child_message(2, 2, true, true, S);
        s.busy = false;
        s.note_agent_message(
            &Speech {
                intent: Intent::Answer,
                target: Some(1),
                reply_to: Some(1),
            },
            2 * S,
        );
        let d = decide(&s, &Event::Tick, 2 * S, &cfg());
        assert_eq!(
            d.speech.map(|s| (s.target, s.reply_to)),
            Some((Some(2), Some(2)))
        );
    }

    #[test]
    fn an_answer_that_failed_twice_is_given_up_not_retried_every_tick() {
        let mut s = room(AgentRole::Participant, 2);
        s.note_child_message(1, 4, true, true, S);
        let owed = Speech {
            intent: Intent::Answer,
            target: Some(1),
            reply_to: Some(4),
        };
        s.note_dropped(&owed, 2 * S);
        assert!(decide(&s, &Event::Tick, 2 * S, &cfg()).speech.is_none());
    }

    #[test]
    fn a_failed_silence_nudge_waits_for_another_lull() {
        let mut s = room(AgentRole::Participant, 2);
        say(&mut s, 1, 1, 0);
        let d = decide(&s, &Event::Tick, 45 * S, &cfg());
        let speech = d.speech.expect("a lull");
        s.note_dropped(&speech, 46 * S);
        assert!(decide(&s, &Event::Tick, 47 * S, &cfg()).speech.is_none());
        assert!(decide(&s, &Event::Tick, 90 * S, &cfg()).speech.is_none());
        assert!(
            decide(&s, &Event::Tick, 91 * S, &cfg()).speech.is_some(),
            "after a whole new lull"
        );
    }

    #[test]
    fn paused_busy_and_control_groups_stay_silent() {
        let mut s = room(AgentRole::Moderator, 2);
        s.paused = true;
        let d = decide(&s, &Event::Tick, 100 * S, &cfg());
        assert!(d.speech.is_none());
        assert!(d.reason.contains("paused"));
        let s = room(AgentRole::None, 2);
        let d = decide(
            &s,
            &Event::ChildMessage {
                participant_id: 1,
                seq: 1,
                addressed: true,
                on_topic: true,
            },
            S,
            &cfg(),
        );
        assert!(d.speech.is_none(), "control groups never get an agent");
    }

    #[test]
    fn silence_makes_the_moderator_ask_and_the_participant_offer_an_idea() {
        for (role, intent) in [
            (AgentRole::Moderator, Intent::AskQuestion),
            (AgentRole::Participant, Intent::ContributeIdea),
        ] {
            let mut s = room(role, 2);
            say(&mut s, 1, 1, 10 * S);
            say(&mut s, 2, 2, 11 * S);
            assert!(
                decide(&s, &Event::Tick, 11 * S + 44 * S, &cfg())
                    .speech
                    .is_none(),
                "44 s is not yet a lull"
            );
            let d = decide(&s, &Event::Tick, 11 * S + 45 * S, &cfg());
            assert_eq!(d.trigger, Trigger::Silence, "{role}");
            assert_eq!(d.speech.unwrap().intent, intent);
        }
    }

    #[test]
    fn the_agent_does_not_fill_a_silence_forever() {
        let mut s = room(AgentRole::Moderator, 2);
        say(&mut s, 1, 1, 0);
        agent(&mut s, Intent::AskQuestion, None, 45 * S);
        // A second nudge after another lull is allowed...
        assert!(decide(&s, &Event::Tick, 90 * S, &cfg()).speech.is_some());
        agent(&mut s, Intent::AskQuestion, None, 90 * S);
        // ...a third without any child reply is not.
        let d = decide(&s, &Event::Tick, 200 * S, &cfg());
        assert!(d.speech.is_none());
        assert!(d.reason.contains("in a row"));
        // A child writes: the count starts again.
        say(&mut s, 2, 2, 201 * S);
        assert!(decide(&s, &Event::Tick, 250 * S, &cfg()).speech.is_some());
    }

    #[test]
    fn participant_silence_is_not_filled_twice_in_a_row() {
        let mut s = room(AgentRole::Participant, 2);
        say(&mut s, 1, 1, 0);
        agent(&mut s, Intent::ContributeIdea, None, 45 * S);
        let d = decide(&s, &Event::Tick, 100 * S, &cfg());
        assert!(d.speech.is_none(), "{d:?}");
    }

    #[test]
    fn nobody_online_means_no_nudges() {
        let mut s = room(AgentRole::Moderator, 1);
        s.note_online(1, "kid1", false, 0);
        assert!(decide(&s, &Event::Tick, 500 * S, &cfg()).speech.is_none());
    }

    #[test]
    fn a_dominant_child_makes_the_moderator_invite_the_quietest_by_name() {
        let mut s = room(AgentRole::Moderator, 3);
        say(&mut s, 3, 1, S); // kid3 spoke once, kid2 never
        let mut last = Decision::silent(Trigger::Message, "");
        for i in 0..7 {
            let e = say(&mut s, 1, i + 2, (10 + i) * S);
            last = decide(&s, &e, (10 + i) * S, &cfg());
        }
        // 7 of the last 8 turns are kid1's (0.875 >= 0.6).
        assert_eq!(last.trigger, Trigger::Imbalance);
        let speech = last.speech.unwrap();
        assert_eq!(speech.intent, Intent::InviteQuiet);
        assert_eq!(speech.target, Some(2), "kid2 never spoke: invited first");
    }

    #[test]
    fn a_balanced_group_is_left_alone() {
        let mut s = room(AgentRole::Moderator, 3);
        for i in 0..12 {
            let e = say(&mut s, 1 + i % 3, i + 1, (i + 1) * S);
            let d = decide(&s, &e, (i + 1) * S, &cfg());
            assert!(d.speech.is_none(), "{d:?}");
        }
    }

    #[test]
    fn invitations_have_a_cooldown() {
        let mut s = room(AgentRole::Moderator, 2);
        for i in 0..8 {
            say(&mut s, 1, i + 1, i * S);
        }
        agent(&mut s, Intent::InviteQuiet, Some(2), 10 * S);
        let e = say(&mut s, 1, 20, 30 * S);
        let d = decide(&s, &e, 30 * S, &cfg());
        assert!(d.speech.is_none(), "invited 20 s ago: {d:?}");
        let e = say(&mut s, 1, 21, 71 * S);
        assert_eq!(decide(&s, &e, 71 * S, &cfg()).trigger, Trigger::Imbalance);
    }

    #[test]
    fn a_child_silent_for_minutes_is_invited_by_the_moderator_only() {
        for role in [AgentRole::Moderator, AgentRole::Participant] {
            let mut s = room(role, 3);
            // kid1 and kid2 chat every 10 s; kid3 never writes.
            let mut decisions = Vec::new();
            for i in 0..14 {
                let at = i * 10 * S;
                say(&mut s, 1 + i % 2, i + 1, at);
                decisions.push((at, decide(&s, &Event::Tick, at + S, &cfg())));
            }
            let invite = decisions
                .iter()
                .find(|(_, d)| d.trigger == Trigger::QuietChild);
            match role {
                AgentRole::Moderator => {
                    let (at, d) = invite.expect("kid3 is invited");
                    assert!(*at + S >= 120 * S, "not before two minutes: {at}");
                    assert_eq!(d.speech.as_ref().unwrap().target, Some(3));
                    assert!(d.reason.contains("kid3"), "{}", d.reason);
                }
                _ => assert!(invite.is_none(), "a participant does not invite"),
            }
        }
    }

    #[test]
    fn a_child_who_just_joined_is_not_called_quiet() {
        let mut s = room(AgentRole::Moderator, 2);
        for i in 0..20 {
            say(&mut s, 1, i + 1, i * 10 * S);
        }
        s.note_online(3, "late", true, 190 * S);
        let d = decide(&s, &Event::Tick, 200 * S, &cfg());
        assert_ne!(d.speech.and_then(|s| s.target), Some(3));
    }

    #[test]
    fn drift_is_redirected_by_the_moderator_once_per_cooldown() {
        let topic = topic_words(&[
            "A playground everyone can play on",
            "slides and swings for wheelchairs",
        ]);
        assert!(on_topic("we could have a big slide", &topic));
        assert!(on_topic("ok", &topic), "short replies are not drift");
        assert!(!on_topic(
            "did you watch the football match yesterday",
            &topic
        ));
        let mut s = room(AgentRole::Moderator, 2);
        let mut d = Decision::silent(Trigger::Message, "");
        for i in 0..4 {
            s.note_child_message(1 + i % 2, i + 1, false, false, i * S);
            d = decide(
                &s,
                &Event::ChildMessage {
                    participant_id: 1 + i % 2,
                    seq: i + 1,
                    addressed: false,
                    on_topic: false,
                },
                i * S,
                &cfg(),
            );
            if i < 3 {
                assert!(d.speech.is_none());
            }
        }
        assert_eq!(d.trigger, Trigger::Drift);
        assert_eq!(d.speech.unwrap().intent, Intent::Redirect);
        agent(&mut s, Intent::Redirect, None, 4 * S);
        for i in 5..12 {
            s.note_child_message(1, i, false, false, 20 * S + i * S);
            let d = decide(
                &s,
                &Event::ChildMessage {
                    participant_id: 1,
                    seq: i,
                    addressed: false,
                    on_topic: false,
                },
                20 * S + i * S,
                &cfg(),
            );
            assert_ne!(d.trigger, Trigger::Drift, "within the cooldown");
        }
    }

    #[test]
    fn the_participant_speaks_at_most_once_per_k_messages_and_alternates() {
        let mut s = room(AgentRole::Participant, 2);
        let mut spoke_at = Vec::new();
        for i in 0..16 {
            let at = i * 20 * S;
            let e = say(&mut s, 1 + i % 2, i + 1, at);
            let d = decide(&s, &e, at, &cfg());
            if let Some(speech) = d.speech {
                spoke_at.push((i, speech.intent));
                s.note_agent_message(&speech, at + S);
            }
        }
        assert_eq!(
            spoke_at,
            vec![
                (3, Intent::ContributeIdea),
                (7, Intent::AskQuestion),
                (11, Intent::ContributeIdea),
                (15, Intent::AskQuestion)
            ]
        );
    }

    #[test]
    fn the_minimum_gap_holds_back_unprompted_messages() {
        let mut s = room(AgentRole::Participant, 2);
        agent(&mut s, Intent::ContributeIdea, None, 0);
        let mut d = Decision::silent(Trigger::Message, "");
        for i in 0..6 {
            let e = say(&mut s, 1 + i % 2, i + 1, i * S);
            d = decide(&s, &e, i * S, &cfg());
        }
        assert!(d.speech.is_none());
        assert!(d.reason.contains("minimum gap"), "{}", d.reason);
    }

    #[test]
    fn phases_are_announced_and_closed_by_the_moderator_only() {
        let s = room(AgentRole::Moderator, 2);
        let d = decide(&s, &Event::PhaseStarted { index: Some(1) }, 0, &cfg());
        assert_eq!(
            (d.trigger, d.speech.unwrap().intent),
            (Trigger::PhaseTimer, Intent::AnnouncePhase)
        );
        let d = decide(&s, &Event::PhaseStarted { index: None }, 0, &cfg());
        assert_eq!(
            (d.trigger, d.speech.unwrap().intent),
            (Trigger::ActivityEnd, Intent::Summarise)
        );
        let s = room(AgentRole::Participant, 2);
        assert!(
            decide(&s, &Event::PhaseStarted { index: Some(1) }, 0, &cfg())
                .speech
                .is_none()
        );
    }

    #[test]
    fn whispers_are_followed_and_ignored_directives_escalated() {
        let s = room(AgentRole::Moderator, 2);
        assert_eq!(
            decide(&s, &Event::Whisper, 0, &cfg())
                .speech
                .unwrap()
                .intent,
            Intent::FollowGuidance
        );
        let d = decide(&s, &Event::DirectiveIgnored { target: Some(2) }, 0, &cfg());
        assert_eq!(
            d.speech,
            Some(Speech {
                intent: Intent::Escalate,
                target: Some(2),
                reply_to: None
            })
        );
        let s = room(AgentRole::Participant, 2);
        assert!(
            decide(&s, &Event::DirectiveIgnored { target: Some(2) }, 0, &cfg())
                .speech
                .is_none()
        );
    }

    #[test]
    fn after_the_end_only_addressed_messages_get_replies() {
        let mut s = room(AgentRole::Moderator, 2);
        s.ended = true;
        assert!(decide(&s, &Event::Tick, 1000 * S, &cfg()).speech.is_none());
        s.note_child_message(1, 1, true, true, 1001 * S);
        let e = Event::ChildMessage {
            participant_id: 1,
            seq: 1,
            addressed: true,
            on_topic: true,
        };
        assert!(decide(&s, &e, 1001 * S, &cfg()).speech.is_some());
    }

    #[test]
    fn decisions_are_deterministic() {
        let mut s = room(AgentRole::Moderator, 3);
        for i in 0..8 {
            say(&mut s, 1, i + 1, i * S);
        }
        let a = decide(&s, &Event::Tick, 300 * S, &cfg());
        let b = decide(&s.clone(), &Event::Tick, 300 * S, &cfg());
        assert_eq!(a, b);
    }
}
