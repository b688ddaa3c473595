//! The chat protocol's frames (docs/protocol.md is their reference, with an example of each).
//!
//! Client frames are parsed strictly (unknown types and fields are `bad_request`); server frames
//! are serialised once per broadcast and shared by every connection of the room.

use serde::{Deserialize, Serialize};

use crate::store::{AgentRole, Message, SenderKind};

pub const PROTOCOL_VERSION: u32 = 1;
/// Longest message a child may send, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Largest WebSocket frame accepted; larger ones close the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
/// Longest note a child may add to an "I need help" request, in characters.
pub const MAX_HELP_NOTE_CHARS: usize = 200;
/// The name children see on the facilitator's messages.
pub const TEACHER_NAME: &str = "Teacher";
/// The name children see on the system's own lines.
pub const SYSTEM_NAME: &str = "peerlearn";
/// The name of a child the reader does not know (left, or deleted): never an id.
pub const UNKNOWN_CHILD_NAME: &str = "someone";

/// The one rule for the name a message is shown under, everywhere (the chat, the dashboard,
/// the safety summary, the agent's prompt): the child's nickname (`child`, when known), the
/// agent's name, "Teacher" or "peerlearn".
pub fn sender_name(
    kind: crate::store::SenderKind,
    child: Option<&str>,
    agent_name: &str,
) -> String {
    use crate::store::SenderKind;
    match kind {
        SenderKind::Child => child.unwrap_or(UNKNOWN_CHILD_NAME).to_string(),
        SenderKind::Agent => agent_name.to_string(),
        SenderKind::Facilitator => TEACHER_NAME.to_string(),
        SenderKind::System => SYSTEM_NAME.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Hello {
        v: u32,
        #[serde(default)]
        last_seq: i64,
    },
    Send {
        client_msg_id: String,
        text: String,
        #[serde(default)]
        reply_to: Option<i64>,
    },
    Typing {
        on: bool,
    },
    /// "I need help": a private request to the teacher, with an optional short note.
    Help {
        #[serde(default)]
        note: Option<String>,
    },
    /// A struct variant (not a unit one) so that unknown fields are refused here too.
    Ping {},
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome {
        v: u32,
        you: Person,
        group: GroupInfo,
        session_status: String,
        phase: Option<PhaseInfo>,
        last_seq: i64,
        /// Seconds left of a mute the facilitator set on this child (absent when not muted).
        #[serde(skip_serializing_if = "Option::is_none")]
        muted_for_s: Option<i64>,
    },
    Message(MessageFrame),
    Ack {
        client_msg_id: String,
        seq: i64,
        duplicate: bool,
    },
    Synced {
        last_seq: i64,
    },
    Presence {
        online: Vec<Person>,
    },
    Typing {
        participant_id: i64,
        nickname: String,
        on: bool,
    },
    AgentStart {
        stream_id: u64,
        name: String,
        reply_to: Option<i64>,
    },
    AgentDelta {
        stream_id: u64,
        text: String,
    },
    AgentEnd {
        stream_id: u64,
        seq: Option<i64>,
    },
    Phase(PhaseInfo),
    /// The facilitator started, paused, resumed or ended the session.
    Session {
        status: String,
    },
    Hidden {
        seq: i64,
    },
    /// To one child only: the facilitator paused their messages until `until_ms` (server
    /// clock; `seconds` from now), or lifted the pause (both null).
    Muted {
        until_ms: Option<i64>,
        seconds: Option<i64>,
    },
    /// To the child who wrote message `seq` only: the safety screen changed it (`redact`:
    /// the group sees it with personal data hidden) or kept it from the group (`hold`,
    /// `urgent`), and why, in words a child reads.
    SafetyNote {
        seq: i64,
        client_msg_id: String,
        action: String,
        note: String,
    },
    /// To the child who asked only: the teacher was told of their help request (sent again
    /// after a reconnect while nobody has dealt with it). `state`: new, seen or dealt_with.
    HelpSent {
        asked_at_ms: i64,
        state: String,
    },
    Resync {
        reason: String,
        from_seq: i64,
    },
    Pong,
    Error(ErrorFrame),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub id: i64,
    pub nickname: String,
    pub avatar: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInfo {
    pub id: i64,
    pub name: String,
    pub activity_title: String,
    pub agent: Option<AgentInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentInfo {
    pub name: String,
    pub role: AgentRole,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseInfo {
    pub index: usize,
    pub name: String,
    pub goal: String,
    pub ends_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageFrame {
    pub seq: i64,
    pub client_msg_id: String,
    pub sender: Sender,
    pub text: String,
    pub phase: Option<String>,
    pub created_at_ms: i64,
    pub reply_to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sender {
    pub kind: SenderKind,
    pub id: Option<i64>,
    pub name: String,
    pub avatar: Option<String>,
}

impl MessageFrame {
    pub fn new(m: &Message, sender: Sender) -> Self {
        MessageFrame {
            seq: m.seq,
            client_msg_id: m.client_msg_id.clone(),
            sender,
            text: m.text.clone(),
            phase: m.phase.clone(),
            created_at_ms: m.created_at,
            reply_to: m.reply_to,
        }
    }
}

/// Error codes; docs/protocol.md lists when each is sent and whether the socket stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    UnsupportedVersion,
    NotReady,
    MessageTooLong,
    EmptyMessage,
    RateLimited,
    Muted,
    SessionClosed,
    Unauthorized,
    /// Too many chat sockets for this child or this address (closed with 4008).
    TooManyConnections,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorFrame {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// `help` when the error is about a help request (the page shows it in the help dialog).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<&'static str>,
}

impl ErrorFrame {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorFrame {
            code,
            message: message.into(),
            client_msg_id: None,
            retry_after_ms: None,
            about: None,
        }
    }

    /// Marks the error as the answer to a `help` frame.
    pub fn for_help(mut self) -> Self {
        self.about = Some("help");
        self
    }

    pub fn for_send(mut self, client_msg_id: &str) -> Self {
        self.client_msg_id = Some(client_msg_id.to_string());
        self
    }
}

impl ServerFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

/// Parses a client frame; the error is a sentence for the `bad_request` frame.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, String> {
    serde_json::from_str(text).map_err(crate::child_text::frame_not_understood)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_strictly() {
        assert_eq!(
            parse_client_frame(r#"{"type":"hello","v":1,"last_seq":4}"#).unwrap(),
            ClientFrame::Hello { v: 1, last_seq: 4 }
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping {}
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"help"}"#).unwrap(),
            ClientFrame::Help { note: None }
        );
        assert!(matches!(
            parse_client_frame(r#"{"type":"send","client_msg_id":"a","text":"hi"}"#).unwrap(),
            ClientFrame::Send { reply_to: None, .. }
        ));
        for bad in [
            "not json",
            "[]",
            r#"{"type":"shout"}"#,
            r#"{"type":"send","text":"hi"}"#,
            r#"{"type":"typing","on":"yes"}"#,
            r#"{"type":"ping","extra":1}"#,
            r#"{"type":"help","note":5}"#,
            r#"{"type":"help","urgent":true}"#,
        ] {
            assert!(parse_client_frame(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_frames_are_tagged() {
        let json = ServerFrame::Ack {
            client_msg_id: "x".into(),
            seq: 3,
            duplicate: false,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"ack","client_msg_id":"x","seq":3,"duplicate":false}"#
        );
        let e = ServerFrame::Error(ErrorFrame::new(ErrorCode::RateLimited, "slow").for_send("m"))
            .to_json();
        assert_eq!(
            e,
            r#"{"type":"error","code":"rate_limited","message":"slow","client_msg_id":"m"}"#
        );
        assert_eq!(ServerFrame::Pong.to_json(), r#"{"type":"pong"}"#);
    }
}
