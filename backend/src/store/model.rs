//! The records the store keeps. Enumerations are stored as lower-case text so that both
//! databases, and a researcher reading them with plain SQL, see the same words.

pub use crate::agent::decision_log::{LogDecision, LogTrigger};
use serde::{Deserialize, Serialize};

text_enum!(
    /// What the agent is in a group; `None` is the control condition without an agent.
    AgentRole { Moderator => "moderator", Participant => "participant", None => "none" }
);
text_enum!(
    /// A session's life: created (joinable, not started), running, paused, ended (closed for good).
    SessionStatus { Created => "created", Running => "running", Paused => "paused", Ended => "ended" }
);
text_enum!(
    /// Whose consent a consent record is: the school's, the parents', the child's own assent,
    /// or something else (the note says what).
    ConsentKind { School => "school", Parents => "parents", ChildAssent => "child_assent", Other => "other" }
);
text_enum!(
    /// Who said something.
    SenderKind { Child => "child", Agent => "agent", Facilitator => "facilitator", System => "system" }
);
text_enum!(
    /// How much a notice needs the facilitator: an urgent one (a safeguarding disclosure)
    /// stands apart and stays until somebody deals with it.
    Severity { Notice => "notice", Urgent => "urgent" }
);
text_enum!(
    /// Whether a message is shown to the group. Hidden messages stay in the database.
    Moderation { Visible => "visible", Hidden => "hidden", Flagged => "flagged" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Facilitator {
    pub id: i64,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub facilitator_id: Option<i64>,
    pub activity_id: String,
    pub language: String,
    pub agent_name: String,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// The facilitator's phase durations in minutes ("3,8,8,5,3"); None keeps the activity's.
    pub phase_minutes: Option<String>,
    /// How strict the safety screen is with mild words: strict, standard or relaxed.
    pub safety_level: String,
    /// Days the session's data is kept after it ended (see `Store::expired_sessions`).
    pub retention_days: i64,
}

impl Session {
    /// The facilitator's phase durations, when set and well-formed.
    pub fn phase_minutes(&self) -> Option<Vec<u32>> {
        self.phase_minutes
            .as_deref()
            .and_then(|s| s.split(',').map(|m| m.trim().parse().ok()).collect())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: i64,
    pub session_id: i64,
    pub name: String,
    pub join_code: String,
    pub agent_role: AgentRole,
    pub last_seq: i64,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    /// While the facilitator has paused the agent (kept across room restarts).
    pub agent_paused: bool,
    /// The running phase (None before the start and after the end), when it ends, how many
    /// phases are done, and whether all are: the room's phase clock, kept across restarts.
    pub phase_index: Option<i64>,
    pub phase_ends_at: Option<i64>,
    pub phases_completed: i64,
    pub phases_finished: bool,
}

/// Read by hand for its two flags: one schema serves both databases, so they are stored as 0/1
/// integers (SQLite has no boolean type), and the rest of the program sees `bool`.
impl sqlx::FromRow<'_, sqlx::any::AnyRow> for Group {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let role: String = row.try_get("agent_role")?;
        Ok(Group {
            id: row.try_get("id")?,
            session_id: row.try_get("session_id")?,
            name: row.try_get("name")?,
            join_code: row.try_get("join_code")?,
            agent_role: role
                .parse()
                .map_err(|e: String| sqlx::Error::ColumnDecode {
                    index: "agent_role".into(),
                    source: e.into(),
                })?,
            last_seq: row.try_get("last_seq")?,
            created_at: row.try_get("created_at")?,
            closed_at: row.try_get("closed_at")?,
            agent_paused: row.try_get::<i64, _>("agent_paused")? != 0,
            phase_index: row.try_get("phase_index")?,
            phase_ends_at: row.try_get("phase_ends_at")?,
            phases_completed: row.try_get("phases_completed")?,
            phases_finished: row.try_get::<i64, _>("phases_finished")? != 0,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Participant {
    pub id: i64,
    pub group_id: i64,
    pub nickname: String,
    pub avatar: String,
    pub created_at: i64,
    pub muted_until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub group_id: i64,
    pub seq: i64,
    pub client_msg_id: String,
    #[sqlx(try_from = "String")]
    pub sender_kind: SenderKind,
    pub sender_id: Option<i64>,
    pub text: String,
    pub phase: Option<String>,
    pub created_at: i64,
    pub reply_to: Option<i64>,
    #[sqlx(try_from = "String")]
    pub moderation: Moderation,
    pub moderated_by: Option<i64>,
    pub moderated_at: Option<i64>,
    /// What was written, when the screen changed it (personal data hidden): for the
    /// facilitator only. `text` is always what the group may see.
    pub original_text: Option<String>,
    /// The screen's decision: allow, redact, hold or urgent.
    pub screen_action: String,
    pub screen_category: Option<String>,
    /// Why, in words for the facilitator.
    pub screen_reason: Option<String>,
}

/// A message about to be stored; `seq` and `id` are assigned by the store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub group_id: i64,
    pub client_msg_id: String,
    pub sender_kind: SenderKind,
    pub sender_id: Option<i64>,
    /// What the group may see.
    pub text: String,
    pub phase: Option<String>,
    pub created_at: i64,
    pub reply_to: Option<i64>,
    /// What the screen decided; `Screening::default()` for a message it let through unchanged.
    pub screening: Screening,
    /// The audit entry of the facilitator's action this message is (a post as the adult),
    /// committed with the message or not at all; None for children's and the agent's.
    pub audit: Option<NewAudit>,
}

/// The screen's decision about a message, stored with it in the same transaction (a held
/// message is never visible, not even for a moment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screening {
    /// Stored hidden: the group never sees it.
    pub hidden: bool,
    /// The original, when `text` differs from it.
    pub original_text: Option<String>,
    /// allow, redact, hold or urgent (empty means allow).
    pub action: String,
    pub category: Option<String>,
    pub reason: Option<String>,
    /// A notice for the facilitator, raised in the same transaction.
    pub notice: Option<NewNotice>,
}

/// A notice to raise with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub kind: String,
    pub detail: String,
    pub severity: Severity,
}

/// One entry of the agent's decision log, silent decisions included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, Default)]
pub struct AgentEvent {
    pub id: i64,
    pub group_id: i64,
    pub created_at: i64,
    #[sqlx(try_from = "String")]
    pub trigger: LogTrigger,
    #[sqlx(try_from = "String")]
    pub decision: LogDecision,
    pub reason: String,
    pub message_seq: Option<i64>,
    pub prompt_version: Option<String>,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub generated_tokens: Option<i64>,
    pub ttft_ms: Option<i64>,
    pub total_ms: Option<i64>,
}

/// Something a facilitator should look at (an ignored directive, a flagged message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Flag {
    pub id: i64,
    pub group_id: i64,
    pub message_seq: Option<i64>,
    pub kind: String,
    pub detail: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    #[sqlx(try_from = "String")]
    pub severity: Severity,
    /// How it was dealt with: released, kept, dealt_with.
    pub resolution: Option<String>,
    pub resolved_by: Option<i64>,
    /// The child it is about (a help request), when it is about a child rather than a message.
    pub participant_id: Option<i64>,
    /// When a facilitator said they had seen it (a help request: NEW -> SEEN -> DEALT WITH).
    pub seen_at: Option<i64>,
    pub seen_by: Option<i64>,
    /// A help request's note, as the safety screen let it through (personal data hidden).
    pub note: Option<String>,
    /// The note as written, when the screen changed it (adults only).
    pub original_note: Option<String>,
}

/// A child's request for the teacher's help, to store as a `help_request` notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHelpRequest {
    pub group_id: i64,
    pub participant_id: i64,
    pub detail: String,
    pub severity: Severity,
    pub note: Option<String>,
    pub original_note: Option<String>,
    pub created_at: i64,
}

/// An audit log entry about to be written. The store operations behind a facilitator's
/// action take one and insert it in the action's own transaction: the action is audited or
/// did not happen, and whoever sees its effect can find its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    pub facilitator_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub created_at: i64,
}

/// A facilitator's action, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub facilitator_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub created_at: i64,
}
