//! The input model: what the server hands this crate for one session.
//!
//! The types are owned, plain and serde-friendly so the server can fill them straight from
//! its store rows (ids are the store's `i64` keys, times are Unix milliseconds, enumerations
//! use the same lower-case words as the database). Utterances are not part of
//! [`SessionExport`]: they arrive one by one (see [`mod@crate::export`]) so that a 100,000-message
//! session never has to sit in memory.

use serde::{Deserialize, Serialize};

/// What the agent is in a group: the study's condition. `None` is the control without agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    Moderator,
    Participant,
    #[default]
    None,
}

impl AgentRole {
    /// The word used in every export and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Moderator => "moderator",
            AgentRole::Participant => "participant",
            AgentRole::None => "none",
        }
    }
}

/// Who said something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerKind {
    Child,
    Agent,
    Facilitator,
    System,
}

impl SpeakerKind {
    /// The word used in every export and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SpeakerKind::Child => "child",
            SpeakerKind::Agent => "agent",
            SpeakerKind::Facilitator => "facilitator",
            SpeakerKind::System => "system",
        }
    }
}

/// Whether a message was shown to the group. Hidden messages are left out of exports unless
/// [`crate::ExportOptions::include_hidden`] asks for them; flagged ones are always exported
/// (the children saw them) and carry their state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Moderation {
    #[default]
    Visible,
    Hidden,
    Flagged,
}

impl Moderation {
    /// The word used in every export and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::Visible => "visible",
            Moderation::Hidden => "hidden",
            Moderation::Flagged => "flagged",
        }
    }
}

/// Everything about a session except its utterances: small, held in memory for the export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionExport {
    pub session_id: i64,
    /// The activity (design problem) id, e.g. `bridge-design`.
    pub activity: String,
    /// BCP 47 language tag of the session, e.g. `en` or `de`.
    pub language: String,
    /// Start of the session; "ms since start" columns count from here. Pass the creation time
    /// when a session never started.
    pub started_at_ms: i64,
    #[serde(default)]
    pub ended_at_ms: Option<i64>,
    /// When the export is made. An input rather than the clock so that the same data and
    /// options give byte-identical exports (reproducible research artefacts, testable output).
    pub exported_at_ms: i64,
    /// The agent's display name (e.g. `Blue`), used for agent turns whose sender id is empty.
    pub agent_name: String,
    /// The session's groups in display order; this order is also the export order.
    pub groups: Vec<Group>,
    /// Children, and optionally facilitators and agents. Children are numbered in this crate
    /// by group (in `groups` order), then by `joined_at_ms`, then by id.
    pub participants: Vec<Participant>,
    /// The consent the session's data was collected under (research metadata: the QDPX
    /// carries it as notes, [`crate::csv::write_consent_csv`] as a table of its own).
    #[serde(default)]
    pub consents: Vec<Consent>,
}

/// One consent record: who gave consent for what and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// `school`, `parents`, `child_assent` or `other`.
    pub kind: String,
    /// The day it was given, `YYYY-MM-DD`.
    pub given_on: String,
    /// Free text; names in it are replaced like in message texts.
    pub note: String,
    /// The facilitator (a `participants` id of kind facilitator) who recorded it; `None` when
    /// recorded from the command line. Exported as the facilitator's label.
    #[serde(default)]
    pub recorded_by: Option<i64>,
    pub recorded_at_ms: i64,
}

/// A group of children working together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: i64,
    /// The group's name or join label (e.g. `Tigers`); not identifying, so exported as is.
    pub name: String,
    /// The agent's role in this group: the experimental condition.
    pub condition: AgentRole,
}

/// Someone who can speak in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Matches [`Utterance::sender_id`] together with `kind`.
    pub id: i64,
    pub kind: SpeakerKind,
    /// The name shown in the chat. For children this is what pseudonymisation removes.
    pub nickname: String,
    #[serde(default)]
    pub avatar: Option<String>,
    /// The child's group. Facilitators and agents may span groups (`None`).
    #[serde(default)]
    pub group_id: Option<i64>,
    /// When the participant joined; orders the numbered pseudonyms.
    #[serde(default)]
    pub joined_at_ms: i64,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utterance {
    pub group_id: i64,
    /// Position in the group's chat, strictly increasing within a group.
    pub seq: i64,
    pub created_at_ms: i64,
    pub sender_kind: SpeakerKind,
    /// The participant (or facilitator) id. Agent and system messages may leave it empty.
    #[serde(default)]
    pub sender_id: Option<i64>,
    pub text: String,
    /// The activity phase the group was in (e.g. `ideas`, `prototype`).
    #[serde(default)]
    pub phase: Option<String>,
    /// The `seq` of the message this one answers.
    #[serde(default)]
    pub reply_to: Option<i64>,
    /// For agent turns: what made the agent speak (e.g. `mention`, `lull`, `phase_end`).
    #[serde(default)]
    pub agent_trigger: Option<String>,
    /// For agent turns: the agent's stated reason for speaking.
    #[serde(default)]
    pub agent_reason: Option<String>,
    #[serde(default)]
    pub moderation: Moderation,
    /// For agent turns: whether this turn was an instruction to the group.
    #[serde(default)]
    pub directive: bool,
    /// For directives: whether the group followed it (`None` = not judged).
    #[serde(default)]
    pub directive_complied: Option<bool>,
}

impl Utterance {
    /// A visible message with no optional fields set; the remaining fields are public.
    pub fn new(
        group_id: i64,
        seq: i64,
        created_at_ms: i64,
        sender_kind: SpeakerKind,
        sender_id: Option<i64>,
        text: impl Into<String>,
    ) -> Self {
        Utterance {
            group_id,
            seq,
            created_at_ms,
            sender_kind,
            sender_id,
            text: text.into(),
            phase: None,
            reply_to: None,
            agent_trigger: None,
            agent_reason: None,
            moderation: Moderation::Visible,
            directive: false,
            directive_complied: None,
        }
    }
}

/// Points at one utterance: the unit that codes are applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UtteranceRef {
    pub group_id: i64,
    pub seq: i64,
}

/// A code of the codebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    /// Stable id. A GUID (8-4-4-4-12 hex) is used as the REFI-QDA guid unchanged; any other
    /// id gets a GUID derived from it, so the server may use its own keys.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `#RRGGBB` (or `#RGB`).
    #[serde(default)]
    pub color: Option<String>,
    /// The parent code's `id`.
    #[serde(default)]
    pub parent: Option<String>,
    /// `false` for pure category codes that group other codes (REFI-QDA `isCodable`).
    #[serde(default = "yes")]
    pub codable: bool,
}

fn yes() -> bool {
    true
}

impl Code {
    /// A codable top-level code without description or colour.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Code {
            id: id.into(),
            name: name.into(),
            description: None,
            color: None,
            parent: None,
            codable: true,
        }
    }
}

/// The codes of a study. Parents must be listed (in any order); see [`Codebook::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Codebook {
    pub codes: Vec<Code>,
}

/// One coder applying one code to one utterance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coding {
    /// The coder's name or account id as it should appear in the QDA tool's user list.
    pub coder: String,
    pub code_id: String,
    pub group_id: i64,
    pub seq: i64,
    #[serde(default)]
    pub created_at_ms: Option<i64>,
}

impl Coding {
    pub fn new(
        coder: impl Into<String>,
        code_id: impl Into<String>,
        group_id: i64,
        seq: i64,
    ) -> Self {
        Coding {
            coder: coder.into(),
            code_id: code_id.into(),
            group_id,
            seq,
            created_at_ms: None,
        }
    }

    pub fn unit(&self) -> UtteranceRef {
        UtteranceRef {
            group_id: self.group_id,
            seq: self.seq,
        }
    }
}
