//! The room's side of the agent's seat (`seat/`): what the room tells the seat, and how it
//! carries out what the seat asks through [`SeatRoom`]. The seat lives in the room actor as
//! an `Option` (None when the server runs without a model); while it works it is taken out of
//! the actor, so it can use the room mutably without the two borrowing each other, and put
//! back when it is done.

use super::actor::RoomActor;
use super::post::{Author, Draft, Posted};
use super::seat::{AgentCommand, RoomView, SeatRoom};
use super::steer::SteerError;
use super::watch::{AgentStatus, WatchEvent};
use crate::agent::directives::{Directive, Kind, Outcome};
use crate::protocol::ServerFrame;
use crate::store::{self, AgentEvent, Message, NewAudit, SessionStatus};

/// Runs one call of the seat with the seat out of the room (see the module's doc). Nothing
/// happens without a seat.
macro_rules! with_seat {
    ($room:expr, |$seat:ident| $call:expr) => {
        if let Some(mut $seat) = $room.agent.take() {
            $call;
            $room.agent = Some($seat);
        }
    };
}
pub(super) use with_seat;

impl RoomActor {
    /// What the seat may see of the room now.
    pub(super) fn seat_view(&self) -> RoomView<'_> {
        let mut online: Vec<i64> = self.connections.values().copied().collect();
        online.sort_unstable();
        online.dedup();
        RoomView {
            group_id: self.group.id,
            session_running: self.session.status == SessionStatus::Running,
            agent_name: &self.session.agent_name,
            language: &self.session.language,
            role: self.group.agent_role,
            children: self
                .participants
                .values()
                .map(|p| (p.id, p.nickname.as_str()))
                .collect(),
            online: online.len(),
            activity: self.deps.activities.get(&self.session.activity_id),
            activity_title: &self.activity_title,
            phase: self.phases.current(),
            opening: self.phases.info().is_some_and(|p| p.index == 0),
        }
    }

    /// A child's message was stored and shown: the agent hears it.
    pub(super) async fn seat_hears_child(&mut self, m: &Message) {
        let (pid, seq, text, at) = (
            m.sender_id.unwrap_or(0),
            m.seq,
            m.text.as_str(),
            m.created_at,
        );
        with_seat!(self, |seat| seat
            .on_child_message(self, pid, seq, text, at)
            .await);
    }

    /// The agent's commands from the facilitator: what they change is stored first, with the
    /// facilitator's `audit` entry in the same transaction (so a restarted room keeps it, and
    /// nothing changes unaudited), then the seat acts on it.
    pub(super) async fn steer_seat(
        &mut self,
        command: AgentCommand,
        audit: &NewAudit,
    ) -> Result<(), SteerError> {
        let db = &self.deps.store;
        match &command {
            AgentCommand::Pause | AgentCommand::Resume => {
                let paused = command == AgentCommand::Pause;
                db.set_agent_paused(self.group.id, paused, audit).await?;
                self.group.agent_paused = paused;
            }
            AgentCommand::SwitchRole(role) => {
                db.set_group_role(self.group.id, *role, audit).await?;
                self.group.agent_role = *role;
            }
            // A whisper changes nothing in the store (the seat keeps it in memory), so its
            // entry is written alone, but before the seat hears it: an entry that cannot be
            // written stops the whisper.
            AgentCommand::Whisper(_) => {
                db.record_audit(audit).await?;
            }
        }
        let now = store::now_ms();
        with_seat!(self, |seat| seat.command(self, command, now).await);
        Ok(())
    }

    /// The agent's state as the dashboard shows it; None without an agent.
    pub(super) fn agent_status(&self) -> Option<AgentStatus> {
        Some(self.agent.as_ref()?.status(self.group.agent_role))
    }

    /// Warms the engine's cache with the conversation as it is now.
    pub(super) fn seat_prefill(&mut self) {
        with_seat!(self, |seat| seat.prefill(&self.seat_view()));
    }
}

impl SeatRoom for RoomActor {
    fn view(&self) -> RoomView<'_> {
        self.seat_view()
    }

    fn agent_name(&self) -> &str {
        &self.session.agent_name
    }

    fn broadcast(&self, frame: ServerFrame) {
        RoomActor::broadcast(self, &frame, None, None);
    }

    fn publish(&self, event: WatchEvent) {
        RoomActor::publish(self, event);
    }

    async fn post(&mut self, text: &str, reply_to: Option<i64>, now_ms: i64) -> Option<Posted> {
        let draft = Draft {
            author: Author::Agent,
            client_msg_id: format!("agent-{}-{now_ms}-{}", self.group.id, self.last_seq + 1),
            text: text.to_string(),
            reply_to,
            created_at: now_ms,
            audit: None,
        };
        match RoomActor::post(self, draft).await {
            Ok(posted) => Some(posted),
            Err(e) => {
                tracing::error!(error = %e, "cannot store the agent's reply");
                None
            }
        }
    }

    async fn deliver(&mut self, posted: &Posted) {
        RoomActor::deliver(self, posted).await;
    }

    async fn record(&self, event: AgentEvent) {
        if let Err(e) = self.deps.store.record_agent_event(&event).await {
            tracing::warn!(error = %e, "cannot record an agent event");
        }
        RoomActor::publish(
            self,
            WatchEvent::Decision {
                group_id: self.group.id,
                at_ms: event.created_at,
                trigger: event.trigger,
                decision: event.decision,
                reason: event.reason,
            },
        );
    }

    async fn store_directive(
        &self,
        kind: Kind,
        target: Option<i64>,
        message_seq: i64,
        now_ms: i64,
    ) -> i64 {
        let stored = self
            .deps
            .store
            .add_directive(
                self.group.id,
                kind.as_str(),
                target,
                Some(message_seq),
                now_ms,
            )
            .await;
        match stored {
            Ok(d) => d.id,
            Err(e) => {
                tracing::warn!(error = %e, "cannot record a directive");
                0
            }
        }
    }

    async fn resolve_directive(&self, d: &Directive, outcome: Outcome, now_ms: i64) {
        let store = &self.deps.store;
        let result = match outcome {
            Outcome::Escalate => store.directive_escalated(d.id, now_ms).await,
            _ => {
                store
                    .resolve_directive(d.id, outcome.as_str(), now_ms)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record a directive");
        }
    }

    async fn raise_notice(&self, kind: &str, detail: &str, now_ms: i64) {
        if let Ok(flag) = self
            .deps
            .store
            .raise_flag(self.group.id, None, kind, detail, now_ms)
            .await
        {
            RoomActor::publish(self, WatchEvent::notice(self.group.id, flag, None));
        }
    }
}
