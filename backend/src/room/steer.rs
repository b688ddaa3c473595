//! A facilitator stepping in: every command goes through the group's actor, like a child's
//! message, so it is ordered with the conversation and cannot race it. Every command is
//! checked here; the group's (post as the adult, hide a message, mute a child) are carried out
//! here, the phases' in `clock.rs` and the agent's by its seat (`seat_room.rs`).

use super::actor::RoomActor;
use super::post::{Author, Draft, PostError};
use super::seat::AgentCommand;
use super::watch::WatchEvent;
use crate::protocol::{ServerFrame, MAX_TEXT_CHARS};
use crate::store::{self, AgentRole, Moderation, NewAudit, StoreError};

/// Longest a child can be muted for, in minutes.
pub const MAX_MUTE_MINUTES: u32 = 60;
/// Longest a phase can be extended by at once, in minutes.
pub const MAX_EXTEND_MINUTES: u32 = 60;
/// Longest whisper, in characters.
pub const MAX_WHISPER_CHARS: usize = 500;

/// The facilitator's commands for a group (the dashboard sends them). Each of the
/// facilitator's own actions carries its audit entry, which goes into the same transaction
/// as the store write the command makes (see `crate::store`'s durability contract), so
/// nobody sees the effect of an action that has no entry.
#[derive(Debug, Clone, PartialEq)]
pub enum FacilitatorCommand {
    ExtendPhase {
        minutes: u32,
        audit: NewAudit,
    },
    SkipPhase {
        audit: NewAudit,
    },
    PauseAgent {
        audit: NewAudit,
    },
    ResumeAgent {
        audit: NewAudit,
    },
    SwitchRole {
        role: AgentRole,
        audit: NewAudit,
    },
    /// Private guidance: the agent acts on it; children never see the text.
    Whisper {
        text: String,
        audit: NewAudit,
    },
    /// A message to the group, shown as the adult's.
    Post {
        facilitator_id: i64,
        text: String,
        audit: NewAudit,
    },
    /// Hides a message from the group (it stays in the database), or shows it again.
    SetHidden {
        seq: i64,
        hidden: bool,
        facilitator_id: i64,
        audit: NewAudit,
    },
    /// Stops a child from sending until the given time (None lifts it).
    Mute {
        participant_id: i64,
        until_ms: Option<i64>,
        audit: NewAudit,
    },
    /// Tells a child where their help request stands now that a facilitator marked it seen
    /// or dealt with (room/help.rs). No audit entry of its own: the notice's store write
    /// that this follows was audited.
    HelpAnswered {
        participant_id: i64,
        asked_at_ms: i64,
        state: HelpState,
    },
}

/// Where a child's help request stands, as their page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpState {
    New,
    Seen,
    DealtWith,
}

impl HelpState {
    pub fn as_str(self) -> &'static str {
        match self {
            HelpState::New => "new",
            HelpState::Seen => "seen",
            HelpState::DealtWith => "dealt_with",
        }
    }
}

/// Why a command was refused.
#[derive(Debug, thiserror::Error)]
pub enum SteerError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} not found in this group")]
    NotFound(&'static str),
    #[error("the database refused the change: {0}")]
    Store(#[from] StoreError),
}

impl RoomActor {
    pub(super) async fn steer(&mut self, command: FacilitatorCommand) -> Result<(), SteerError> {
        match command {
            FacilitatorCommand::Post {
                facilitator_id,
                text,
                audit,
            } => self.facilitator_post(facilitator_id, text, audit).await,
            FacilitatorCommand::SetHidden {
                seq,
                hidden,
                facilitator_id,
                audit,
            } => self.set_hidden(seq, hidden, facilitator_id, &audit).await,
            FacilitatorCommand::Mute {
                participant_id,
                until_ms,
                audit,
            } => self.mute(participant_id, until_ms, &audit).await,
            FacilitatorCommand::HelpAnswered {
                participant_id,
                asked_at_ms,
                state,
            } => {
                self.tell_help(participant_id, asked_at_ms, state);
                Ok(())
            }
            FacilitatorCommand::ExtendPhase { minutes, .. }
                if minutes == 0 || minutes > MAX_EXTEND_MINUTES =>
            {
                Err(SteerError::BadRequest(format!(
                    "a phase can be extended by 1 to {MAX_EXTEND_MINUTES} minutes"
                )))
            }
            FacilitatorCommand::Whisper { text, .. }
                if text.trim().is_empty() || text.chars().count() > MAX_WHISPER_CHARS =>
            {
                Err(SteerError::BadRequest(format!(
                    "a whisper must be 1 to {MAX_WHISPER_CHARS} characters"
                )))
            }
            FacilitatorCommand::ExtendPhase { minutes, audit } => {
                self.extend_phase(minutes, &audit).await
            }
            FacilitatorCommand::SkipPhase { audit } => self.skip_phase(&audit).await,
            FacilitatorCommand::PauseAgent { audit } => {
                self.steer_seat(AgentCommand::Pause, &audit).await
            }
            FacilitatorCommand::ResumeAgent { audit } => {
                self.steer_seat(AgentCommand::Resume, &audit).await
            }
            FacilitatorCommand::SwitchRole { role, audit } => {
                self.steer_seat(AgentCommand::SwitchRole(role), &audit)
                    .await
            }
            FacilitatorCommand::Whisper { text, audit } => {
                self.steer_seat(AgentCommand::Whisper(text), &audit).await
            }
        }
    }

    async fn facilitator_post(
        &mut self,
        facilitator_id: i64,
        text: String,
        audit: NewAudit,
    ) -> Result<(), SteerError> {
        let text = text.trim().to_string();
        if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(SteerError::BadRequest(format!(
                "a message must be 1 to {MAX_TEXT_CHARS} characters"
            )));
        }
        let now = store::now_ms();
        let draft = Draft {
            author: Author::Facilitator(facilitator_id),
            client_msg_id: format!("facilitator-{facilitator_id}-{now}-{}", self.last_seq + 1),
            text,
            reply_to: None,
            created_at: now,
            audit: Some(audit),
        };
        let posted = match self.post(draft).await {
            Ok(posted) => posted,
            Err(PostError::Refused(why)) => return Err(SteerError::BadRequest(why)),
            Err(PostError::Store(e)) => return Err(e.into()),
        };
        self.deliver(&posted).await;
        Ok(())
    }

    async fn set_hidden(
        &mut self,
        seq: i64,
        hidden: bool,
        by: i64,
        audit: &NewAudit,
    ) -> Result<(), SteerError> {
        let state = if hidden {
            Moderation::Hidden
        } else {
            Moderation::Visible
        };
        let message = match self
            .deps
            .store
            .set_moderation(
                self.group.id,
                seq,
                state,
                Some(by),
                store::now_ms(),
                Some(audit),
            )
            .await
        {
            Ok(m) => m,
            Err(StoreError::NotFound(_)) => return Err(SteerError::NotFound("message")),
            Err(e) => return Err(e.into()),
        };
        if hidden {
            self.broadcast(&ServerFrame::Hidden { seq }, None, None);
        } else {
            // Shown again: children get it like a late message (their screens order by seq).
            let _ = self.events.send(self.message_outbound(&message));
        }
        self.publish(WatchEvent::Moderation {
            group_id: self.group.id,
            seq,
            moderation: state,
        });
        Ok(())
    }

    async fn mute(
        &mut self,
        participant_id: i64,
        until_ms: Option<i64>,
        audit: &NewAudit,
    ) -> Result<(), SteerError> {
        if !self.participants.contains_key(&participant_id) {
            // The room knows the children who said hello; one who only joined is in the store.
            match self.deps.store.participants(self.group.id).await {
                Ok(all) => {
                    for p in all {
                        self.participants.entry(p.id).or_insert(p);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(p) = self.participants.get_mut(&participant_id) else {
            return Err(SteerError::NotFound("child"));
        };
        self.deps
            .store
            .set_muted_until(participant_id, until_ms, audit)
            .await?;
        p.muted_until = until_ms;
        let participant = p.clone();
        // The child's page says so now, not when they next try to send.
        let seconds = until_ms.map(|u| ((u - crate::store::now_ms() + 999) / 1000).max(0));
        self.send_to(participant_id, &ServerFrame::Muted { until_ms, seconds });
        self.publish(WatchEvent::Participant {
            group_id: self.group.id,
            participant,
        });
        Ok(())
    }

    /// Sends an event to the facilitators watching this session.
    pub(super) fn publish(&self, event: WatchEvent) {
        self.deps.watch.publish(self.session.id, &event);
    }
}
