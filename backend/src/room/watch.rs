//! What facilitators see: every live room publishes dashboard events for its session here, and
//! each facilitator socket subscribes to the sessions it may watch.
//!
//! Kept apart from the rooms' own broadcast so that nothing meant for adults (hidden
//! messages, whispers, the agent's reasons) can ever reach a child's socket by mistake: the
//! two streams share no channel. Events are serialised once per publish.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

use super::FrameJson;
use crate::protocol::PhaseInfo;
use crate::store::{
    AgentRole, Flag, LogDecision, LogTrigger, Message, Moderation, Participant, SenderKind,
};

/// Events a facilitator socket may fall behind by before it is told to reload its snapshot.
const WATCH_CAPACITY: usize = 1024;

/// The agent's state as the dashboard shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentActivity {
    Idle,
    /// Deciding and evaluating its prompt: nothing shown to the children yet.
    Thinking,
    /// Its reply is streaming to the children.
    Replying,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentStatus {
    pub role: AgentRole,
    pub activity: AgentActivity,
    pub paused: bool,
    /// From the trigger to the first words shown to the children, of the last reply.
    pub last_latency_ms: Option<i64>,
}

/// A message as the dashboard shows it: with its moderation state and the sender's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchedMessage {
    pub seq: i64,
    pub sender_kind: SenderKind,
    pub sender_id: Option<i64>,
    pub sender_name: String,
    pub text: String,
    pub phase: Option<String>,
    pub created_at_ms: i64,
    pub reply_to: Option<i64>,
    pub moderation: Moderation,
    /// What was written, when the screen hid personal data in `text` (adults only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    /// The screen's decision (allow, redact, hold, urgent) and why.
    pub screen_action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_reason: Option<String>,
}

impl WatchedMessage {
    pub fn new(m: &Message, sender_name: String) -> Self {
        WatchedMessage {
            seq: m.seq,
            sender_kind: m.sender_kind,
            sender_id: m.sender_id,
            sender_name,
            text: m.text.clone(),
            phase: m.phase.clone(),
            created_at_ms: m.created_at,
            reply_to: m.reply_to,
            moderation: m.moderation,
            original_text: m.original_text.clone(),
            screen_action: m.screen_action.clone(),
            screen_reason: m.screen_reason.clone(),
        }
    }
}

/// A notice as the dashboard shows it: the flag, and the message it is about (with the
/// original the screen hid or held), so the facilitator can act without scrolling for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeView {
    #[serde(flatten)]
    pub flag: Flag,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<WatchedMessage>,
}

/// The dashboard's live events (docs/protocol.md, "Facilitator socket").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WatchEvent {
    Message {
        group_id: i64,
        message: WatchedMessage,
    },
    Moderation {
        group_id: i64,
        seq: i64,
        moderation: Moderation,
    },
    Presence {
        group_id: i64,
        online: Vec<i64>,
    },
    Participant {
        group_id: i64,
        participant: Participant,
    },
    Agent {
        group_id: i64,
        agent: AgentStatus,
    },
    Decision {
        group_id: i64,
        at_ms: i64,
        trigger: LogTrigger,
        decision: LogDecision,
        reason: String,
    },
    Phase {
        group_id: i64,
        phase: Option<PhaseInfo>,
        finished: bool,
    },
    /// Boxed: a notice carries its flag and message, far larger than the other events.
    Notice {
        group_id: i64,
        flag: Box<NoticeView>,
    },
    /// A facilitator has seen a notice (a help request: SEEN); it stays until dealt with.
    NoticeSeen {
        group_id: i64,
        flag_id: i64,
        seen_at_ms: i64,
    },
    NoticeResolved {
        group_id: i64,
        flag_id: i64,
    },
    Session {
        session_id: i64,
        status: String,
    },
}

impl WatchEvent {
    /// A notice for the dashboards, with the message it is about (if any).
    pub fn notice(group_id: i64, flag: Flag, message: Option<WatchedMessage>) -> Self {
        WatchEvent::Notice {
            group_id,
            flag: Box::new(NoticeView { flag, message }),
        }
    }
}

/// Per-session channels of dashboard events.
#[derive(Debug, Default)]
pub struct Watch {
    sessions: Mutex<HashMap<i64, broadcast::Sender<FrameJson>>>,
}

impl Watch {
    pub fn subscribe(&self, session_id: i64) -> broadcast::Receiver<FrameJson> {
        self.sessions
            .lock()
            .expect("watch lock")
            .entry(session_id)
            .or_insert_with(|| broadcast::channel(WATCH_CAPACITY).0)
            .subscribe()
    }

    /// Sends an event to the session's watchers; nothing happens when nobody watches.
    pub fn publish(&self, session_id: i64, event: &WatchEvent) {
        let mut sessions = self.sessions.lock().expect("watch lock");
        let Some(tx) = sessions.get(&session_id) else {
            return;
        };
        if tx.receiver_count() == 0 {
            sessions.remove(&session_id);
            return;
        }
        let json = serde_json::to_string(event).expect("watch events always serialise");
        let _ = tx.send(json.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_reach_only_their_sessions_watchers() {
        let watch = Watch::default();
        let mut one = watch.subscribe(1);
        let mut two = watch.subscribe(2);
        watch.publish(
            1,
            &WatchEvent::Presence {
                group_id: 7,
                online: vec![3],
            },
        );
        assert_eq!(
            one.try_recv().unwrap().as_str(),
            r#"{"type":"presence","group_id":7,"online":[3]}"#
        );
        assert!(two.try_recv().is_err());
        drop(one);
        drop(two);
        // Publishing to a session nobody watches any more forgets its channel.
        watch.publish(
            1,
            &WatchEvent::Session {
                session_id: 1,
                status: "running".into(),
            },
        );
        assert!(!watch.sessions.lock().unwrap().contains_key(&1));
    }
}
