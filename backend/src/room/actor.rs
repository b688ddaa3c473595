//! One group's actor: the only place that writes the group's messages and broadcasts its frames.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use super::phases::PhaseClock;
use super::post::{Author, Draft, Posted};
use super::rate_limit::SlidingWindow;
use super::seat::{AgentConfig, AgentSeat, SeatStart};
use super::seat_room::with_seat;
use super::shutdown::Shutdown;
use super::watch::WatchEvent;
use super::{Ack, Command, FrameJson, LiveState, Outbound, RoomDeps, SendRequest, Welcome};
use crate::agent::prompt::Line;
use crate::agent::runner::ReplyEvent;
use crate::child_text;
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::protocol::{
    AgentInfo, ErrorCode, ErrorFrame, GroupInfo, MessageFrame, Person, Sender, ServerFrame,
    MAX_CLIENT_MSG_ID_CHARS, MAX_TEXT_CHARS, PROTOCOL_VERSION, SYSTEM_NAME, TEACHER_NAME,
    UNKNOWN_CHILD_NAME,
};
use crate::store::{
    self, AgentRole, Group, Message, Moderation, Participant, SenderKind, Session, SessionStatus,
    StoreError,
};

/// Tunables of a room; the defaults are the product's rules.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// How many messages one child may send per `rate_window`.
    pub rate_limit: usize,
    pub rate_window: Duration,
    /// How long after a help request the same child may send another (room/help.rs).
    pub help_window: Duration,
    /// Frames a connection may fall behind before it is told to resync.
    pub broadcast_capacity: usize,
    /// How long a room with nobody connected stays in memory.
    pub idle_shutdown: Duration,
    /// How often the room's clock runs (phase timers, the agent's timed triggers).
    pub tick: Duration,
    /// Milliseconds in one activity minute: 60 000, shorter in simulations and tests.
    pub minute_ms: i64,
    /// The agent's policy, prompts and sampling.
    pub agent: AgentConfig,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            rate_limit: 5,
            rate_window: Duration::from_secs(10),
            help_window: Duration::from_secs(60),
            broadcast_capacity: 256,
            idle_shutdown: Duration::from_secs(60),
            tick: Duration::from_secs(1),
            minute_ms: 60_000,
            agent: AgentConfig::default(),
        }
    }
}

/// What became of a child's `send` that passed validation.
enum Sent {
    /// A retry of a message this room stored already, with its seq.
    Remembered(i64),
    Posted(Box<Posted>),
}

/// Client message ids remembered per room, to answer a retry without touching the database
/// (the store's unique index remains the guarantee).
const RECENT_IDS: usize = 2048;
/// Messages read from the store per query while replaying.
const REPLAY_PAGE: i64 = 500;

pub(super) struct RoomActor {
    pub(super) deps: RoomDeps,
    pub(super) group: Group,
    pub(super) session: Session,
    /// The session's language, for what the room itself tells a child.
    pub(super) lang: Lang,
    pub(super) activity_title: String,
    pub(super) participants: HashMap<i64, Participant>,
    /// connection id -> participant id
    pub(super) connections: HashMap<u64, i64>,
    limits: HashMap<i64, SlidingWindow>,
    /// One help request per child per `help_window` (room/help.rs).
    pub(super) help_limits: HashMap<i64, SlidingWindow>,
    recent_ids: HashMap<String, i64>,
    recent_order: VecDeque<String>,
    pub(super) events: broadcast::Sender<Outbound>,
    pub(super) last_seq: i64,
    pub(super) phases: PhaseClock,
    /// The agent, when the server has an engine (its role may be `none`: then it stays silent).
    pub(super) agent: Option<AgentSeat>,
    /// When the clock last ran (to stop the phase timer while the session is paused).
    pub(super) last_tick_ms: i64,
    replies: Option<mpsc::Receiver<ReplyEvent>>,
}

impl RoomActor {
    pub(super) async fn load(group_id: i64, deps: RoomDeps) -> Result<RoomActor, StoreError> {
        let group = deps.store.group(group_id).await?;
        let session = deps.store.session(group.session_id).await?;
        let participants = deps
            .store
            .participants(group_id)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let activity_title = deps
            .activities
            .get(&session.activity_id)
            .map_or_else(|| session.activity_id.clone(), |a| a.title.clone());
        let (events, _) = broadcast::channel(deps.config.broadcast_capacity);
        let activity = deps.activities.get(&session.activity_id);
        let phases = PhaseClock::new(activity, deps.config.minute_ms)
            .with_minutes(session.phase_minutes().as_deref())
            .restore(
                group.phase_index,
                group.phase_ends_at,
                group.phases_completed,
                group.phases_finished,
            );
        let (agent, replies) = match &deps.engine {
            Some(engine) => {
                let names: HashMap<i64, String> = deps
                    .store
                    .participants(group_id)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p.nickname))
                    .collect();
                let history: Vec<Line> = deps
                    .store
                    .recent_messages(group_id, deps.config.agent.context_lines as i64)
                    .await?
                    .into_iter()
                    .filter(|m| m.moderation != Moderation::Hidden)
                    .filter(|m| matches!(m.sender_kind, SenderKind::Child | SenderKind::Agent))
                    .map(|m| match m.sender_kind {
                        SenderKind::Child => Line::named(
                            m.sender_id
                                .and_then(|id| names.get(&id).cloned())
                                .unwrap_or_else(|| UNKNOWN_CHILD_NAME.into()),
                            m.text,
                        ),
                        _ => Line::agent(m.text),
                    })
                    .collect();
                let topic = activity.map_or_else(Vec::new, |a| {
                    let mut texts = vec![a.title.as_str(), a.problem.as_str()];
                    texts.extend(a.phases.iter().map(|p| p.goal.as_str()));
                    crate::agent::text::topic_words(&texts)
                });
                let (seat, rx) = AgentSeat::new(
                    engine.clone(),
                    deps.screen.clone(),
                    deps.config.agent.clone(),
                    SeatStart {
                        group_id,
                        role: group.agent_role,
                        paused: group.agent_paused,
                        topic,
                        history: &history,
                        now_ms: store::now_ms(),
                    },
                );
                (Some(seat), Some(rx))
            }
            None => (None, None),
        };
        Ok(RoomActor {
            last_tick_ms: store::now_ms(),
            phases,
            agent,
            replies,
            last_seq: group.last_seq,
            deps,
            group,
            lang: Lang::of_session(&session.language),
            session,
            activity_title,
            participants,
            connections: HashMap::new(),
            limits: HashMap::new(),
            help_limits: HashMap::new(),
            recent_ids: HashMap::new(),
            recent_order: VecDeque::new(),
            events,
        })
    }

    /// Serves commands until nobody has been connected for `idle_shutdown`, or the server
    /// stops (`shutdown`).
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut shutdown: Shutdown,
    ) {
        let mut replies = self.replies.take();
        let mut tick = tokio::time::interval(self.deps.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut idle_since: Option<Instant> = None;
        loop {
            // Commands first: a child's message is never held up by the clock or the model.
            tokio::select! {
                biased;
                _ = shutdown.recv() => {
                    if let Some(seat) = self.agent.as_mut() {
                        seat.stop();
                    }
                    break;
                }
                command = commands.recv() => match command {
                    Some(c) => self.handle(c).await,
                    None => break,
                },
                Some(ev) = async { match replies.as_mut() { Some(r) => r.recv().await, None => None } } => {
                    with_seat!(self, |seat| seat.on_reply(&mut self, ev).await);
                }
                _ = tick.tick() => {
                    self.tick().await;
                }
            }
            if self.connections.is_empty() {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.deps.config.idle_shutdown {
                    break;
                }
            } else {
                idle_since = None;
            }
        }
        if let Some(seat) = &self.agent {
            seat.close();
        }
        tracing::debug!(group = self.group.id, "room stopped");
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Hello {
                conn_id,
                participant,
                last_seq,
                reply,
            } => {
                let (pid, nickname) = (participant.id, participant.nickname.clone());
                let result = self.hello(conn_id, participant, last_seq).await;
                let joined = result.is_ok();
                let _ = reply.send(result);
                if joined {
                    if let Some(p) = self.participants.get(&pid) {
                        self.publish(WatchEvent::Participant {
                            group_id: self.group.id,
                            participant: p.clone(),
                        });
                    }
                    self.broadcast_presence();
                    if let Some(seat) = self.agent.as_mut() {
                        seat.note_online(pid, &nickname, true, store::now_ms());
                    }
                    // The activity begins when the facilitator has started the session and a
                    // child is there to hear the opening.
                    if self.session.status == SessionStatus::Running {
                        self.phases_start().await;
                    }
                }
            }
            Command::Leave { conn_id } => {
                if let Some(pid) = self.connections.remove(&conn_id) {
                    if !self.connections.values().any(|p| *p == pid) {
                        self.broadcast_presence();
                        if let Some(seat) = self.agent.as_mut() {
                            seat.note_online(pid, "", false, store::now_ms());
                        }
                    }
                }
            }
            Command::Send { request, reply } => {
                let result = self.send(request).await;
                // Acknowledge first (the sender's socket writes the ack before it reads the
                // broadcast), then show it to the group.
                match result {
                    Ok(Sent::Remembered(seq)) => {
                        let _ = reply.send(Ok(Ack {
                            seq,
                            duplicate: true,
                        }));
                    }
                    Ok(Sent::Posted(posted)) => {
                        let _ = reply.send(Ok(Ack {
                            seq: posted.message.seq,
                            duplicate: posted.duplicate,
                        }));
                        self.deliver(&posted).await;
                    }
                    Err(e) => {
                        Metrics::inc(&self.deps.metrics.messages_rejected);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Typing { participant_id, on } => {
                if let Some(p) = self.participants.get(&participant_id) {
                    let frame = ServerFrame::Typing {
                        participant_id,
                        nickname: p.nickname.clone(),
                        on,
                    };
                    self.broadcast(&frame, None, Some(participant_id));
                }
            }
            Command::Help {
                participant_id,
                note,
                reply,
            } => {
                let _ = reply.send(self.help(participant_id, note).await);
            }
            Command::SessionStatus(status) => {
                self.session.status = status;
                // A pause moved the phase's end later in memory; keep that.
                self.save_phase().await;
                self.broadcast(
                    &ServerFrame::Session {
                        status: status.to_string(),
                    },
                    None,
                    None,
                );
                if status == SessionStatus::Running && !self.connections.is_empty() {
                    self.phases_start().await;
                }
            }
            Command::Facilitator { command, reply } => {
                let _ = reply.send(self.steer(command).await);
            }
            Command::Snapshot { reply } => {
                let mut online: Vec<i64> = self.connections.values().copied().collect();
                online.sort_unstable();
                online.dedup();
                let _ = reply.send(LiveState {
                    online,
                    agent: self.agent_status(),
                    phase: self.phases.info(),
                    phases_finished: self.phases.finished,
                });
            }
        }
    }

    async fn hello(
        &mut self,
        conn_id: u64,
        participant: Participant,
        last_seq: i64,
    ) -> Result<Welcome, ErrorFrame> {
        if participant.group_id != self.group.id {
            return Err(ErrorFrame::new(
                ErrorCode::Unauthorized,
                child_text::not_your_group(self.lang),
            ));
        }
        // The room's copy of a child is the truth for what the room decides about them (a
        // mute): a hello, a reconnect or a resync never overwrites it with the copy the socket
        // read at upgrade. Only a child the room does not know yet is taken from the socket.
        let first_hello = !self.participants.contains_key(&participant.id);
        if first_hello {
            self.participants
                .insert(participant.id, participant.clone());
        }
        let participant = self.participants[&participant.id].clone();
        let you = person(&participant);
        // Subscribe before reading the store: this actor is the only broadcaster and is busy
        // here, so nothing can fall between the replay and the live stream.
        let events = self.events.subscribe();
        let mut replay = Vec::new();
        let mut after = last_seq.max(0);
        loop {
            let page = self
                .deps
                .store
                .messages_after(self.group.id, after, REPLAY_PAGE)
                .await
                .map_err(|e| internal(self.lang, "replay", e))?;
            let done = (page.len() as i64) < REPLAY_PAGE;
            for m in &page {
                after = m.seq;
                if m.moderation != Moderation::Hidden {
                    replay.push(self.message_outbound(m));
                }
            }
            if done {
                break;
            }
        }
        // A reload or reconnect still shows that the teacher was told (this connection only).
        replay.extend(self.help_reminder(participant.id).await);
        self.connections.insert(conn_id, participant.id);
        let welcome = ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            you,
            group: GroupInfo {
                id: self.group.id,
                name: self.group.name.clone(),
                activity_title: self.activity_title.clone(),
                agent: (self.group.agent_role != AgentRole::None).then(|| AgentInfo {
                    name: self.session.agent_name.clone(),
                    role: self.group.agent_role,
                }),
            },
            session_status: self.session.status.to_string(),
            phase: self.phases.info(),
            last_seq: self.last_seq,
            muted_for_s: participant
                .muted_until
                .map(|until| (until - store::now_ms() + 999) / 1000)
                .filter(|s| *s > 0),
        };
        if first_hello {
            // The children's names are in the agent's system prompt: evaluate the new one now,
            // not when somebody next speaks.
            self.seat_prefill();
        }
        Ok(Welcome {
            welcome: welcome.to_json().into(),
            replay,
            synced: ServerFrame::Synced {
                last_seq: self.last_seq,
            }
            .to_json()
            .into(),
            last_seq: self.last_seq,
            events,
        })
    }

    /// The pipeline: validate -> screen -> persist; the caller acknowledges, then delivers.
    async fn send(&mut self, req: SendRequest) -> Result<Sent, ErrorFrame> {
        let id = req.client_msg_id.as_str();
        let reject = |code, message: String| ErrorFrame::new(code, message).for_send(id);
        if !self.connections.values().any(|p| *p == req.participant_id) {
            return Err(reject(
                ErrorCode::NotReady,
                child_text::SAY_HELLO_FIRST.into(),
            ));
        }
        // --- validate
        if id.is_empty()
            || id.chars().count() > MAX_CLIENT_MSG_ID_CHARS
            || id.chars().any(char::is_control)
        {
            return Err(reject(
                ErrorCode::BadRequest,
                child_text::bad_client_msg_id(MAX_CLIENT_MSG_ID_CHARS),
            ));
        }
        if let Some(&seq) = self.recent_ids.get(id) {
            // A retry this room remembers: answered without touching the database.
            Metrics::inc(&self.deps.metrics.messages_deduplicated);
            return Ok(Sent::Remembered(seq));
        }
        let text = clean_text(&req.text);
        if text.trim().is_empty() {
            return Err(reject(
                ErrorCode::EmptyMessage,
                child_text::message_empty(self.lang),
            ));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(reject(
                ErrorCode::MessageTooLong,
                child_text::message_too_long(self.lang, MAX_TEXT_CHARS),
            ));
        }
        if let Some(reply_to) = req.reply_to {
            if reply_to < 1 || reply_to > self.last_seq {
                return Err(reject(
                    ErrorCode::BadRequest,
                    child_text::NO_SUCH_REPLY.into(),
                ));
            }
        }
        if matches!(
            self.session.status,
            SessionStatus::Paused | SessionStatus::Ended
        ) {
            return Err(reject(
                ErrorCode::SessionClosed,
                child_text::session_closed(self.lang, self.session.status == SessionStatus::Paused),
            ));
        }
        let now = store::now_ms();
        if let Some(until) = self
            .participants
            .get(&req.participant_id)
            .and_then(|p| p.muted_until)
        {
            if until > now {
                return Err(reject(ErrorCode::Muted, child_text::muted(self.lang)));
            }
        }
        let config = &self.deps.config;
        let window = self
            .limits
            .entry(req.participant_id)
            .or_insert_with(|| SlidingWindow::new(config.rate_limit, config.rate_window));
        if let Err(wait) = window.try_send(Instant::now()) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut e = reject(
                ErrorCode::RateLimited,
                child_text::send_again_in(self.lang, secs),
            );
            e.retry_after_ms = Some(wait.as_millis().max(1) as u64);
            return Err(e);
        }
        // --- screen and persist (room/post.rs)
        let draft = Draft {
            author: Author::Child(req.participant_id),
            client_msg_id: req.client_msg_id.clone(),
            text,
            reply_to: req.reply_to,
            created_at: now,
            audit: None,
        };
        let posted = self.post(draft).await.map_err(|e| {
            let mut f = internal(self.lang, "store", e);
            f.client_msg_id = Some(req.client_msg_id.clone());
            f
        })?;
        if posted.duplicate {
            Metrics::inc(&self.deps.metrics.messages_deduplicated);
        } else {
            Metrics::inc(&self.deps.metrics.messages_stored);
        }
        Ok(Sent::Posted(Box::new(posted)))
    }

    pub(super) fn remember(&mut self, m: &Message) {
        if self
            .recent_ids
            .insert(m.client_msg_id.clone(), m.seq)
            .is_none()
        {
            self.recent_order.push_back(m.client_msg_id.clone());
            if self.recent_order.len() > RECENT_IDS {
                if let Some(old) = self.recent_order.pop_front() {
                    self.recent_ids.remove(&old);
                }
            }
        }
    }

    pub(super) fn message_outbound(&self, m: &Message) -> Outbound {
        let sender = match m.sender_kind {
            SenderKind::Child => {
                let p = m.sender_id.and_then(|id| self.participants.get(&id));
                Sender {
                    kind: SenderKind::Child,
                    id: m.sender_id,
                    name: crate::protocol::sender_name(
                        SenderKind::Child,
                        p.map(|p| p.nickname.as_str()),
                        "",
                    ),
                    avatar: p.map(|p| p.avatar.clone()),
                }
            }
            SenderKind::Agent => Sender {
                kind: SenderKind::Agent,
                id: None,
                name: self.session.agent_name.clone(),
                avatar: None,
            },
            SenderKind::Facilitator => Sender {
                kind: SenderKind::Facilitator,
                id: m.sender_id,
                name: TEACHER_NAME.into(),
                avatar: None,
            },
            SenderKind::System => Sender {
                kind: SenderKind::System,
                id: None,
                name: SYSTEM_NAME.into(),
                avatar: None,
            },
        };
        Outbound {
            json: ServerFrame::Message(MessageFrame::new(m, sender))
                .to_json()
                .into(),
            seq: Some(m.seq),
            skip_participant: None,
            only_participant: None,
        }
    }

    fn broadcast_presence(&self) {
        let online: HashSet<i64> = self.connections.values().copied().collect();
        let mut people: Vec<Person> = online
            .iter()
            .filter_map(|id| self.participants.get(id))
            .map(person)
            .collect();
        people.sort_by_key(|p| p.id);
        self.publish(WatchEvent::Presence {
            group_id: self.group.id,
            online: people.iter().map(|p| p.id).collect(),
        });
        self.broadcast(&ServerFrame::Presence { online: people }, None, None);
    }

    pub(super) fn nickname_of(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.participants.get(&id))
            .map_or_else(|| UNKNOWN_CHILD_NAME.to_string(), |p| p.nickname.clone())
    }

    pub(super) fn broadcast(
        &self,
        frame: &ServerFrame,
        seq: Option<i64>,
        skip_participant: Option<i64>,
    ) {
        let json: FrameJson = frame.to_json().into();
        // No receiver is fine: nobody is connected.
        let _ = self.events.send(Outbound {
            json,
            seq,
            skip_participant,
            only_participant: None,
        });
    }

    /// A frame for one child's connections only.
    pub(super) fn send_to(&self, participant_id: i64, frame: &ServerFrame) {
        let _ = self.events.send(Outbound {
            json: frame.to_json().into(),
            seq: None,
            skip_participant: None,
            only_participant: Some(participant_id),
        });
    }
}

fn person(p: &Participant) -> Person {
    Person {
        id: p.id,
        nickname: p.nickname.clone(),
        avatar: p.avatar.clone(),
    }
}

pub(super) fn internal(lang: Lang, what: &str, e: impl std::fmt::Display) -> ErrorFrame {
    tracing::error!(error = %e, "{what} failed");
    ErrorFrame::new(ErrorCode::Internal, child_text::will_send_again(lang))
}

/// Drops control characters (but keeps line breaks and tabs) and normalises line endings, so
/// what is stored is what every screen can show.
pub(super) fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::clean_text;

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(clean_text("a\u{0}b\r\nc\td\u{1b}[31m"), "ab\nc\td[31m");
    }
}
