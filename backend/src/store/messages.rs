//! Messages: the transcript of each group, numbered by `seq` (1, 2, 3 ... per group, no gaps).

use super::log::{commit_audited, FLAG_COLUMNS};
use super::{Flag, Message, Moderation, NewAudit, NewMessage, Result, Store, StoreError};

const MESSAGE_COLUMNS: &str =
    "id, group_id, seq, client_msg_id, sender_kind, sender_id, text, phase, \
                               created_at, reply_to, moderation, moderated_by, moderated_at, \
                               original_text, screen_action, screen_category, screen_reason";

/// A message as exports read it: only the columns a transcript needs, because an export reads
/// every message of a session and each column costs a conversion per row in the `Any` driver.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedMessage {
    pub seq: i64,
    #[sqlx(try_from = "String")]
    pub sender_kind: super::SenderKind,
    pub sender_id: Option<i64>,
    pub text: String,
    pub phase: Option<String>,
    pub created_at: i64,
    pub reply_to: Option<i64>,
    #[sqlx(try_from = "String")]
    pub moderation: Moderation,
}

/// The outcome of [`Store::append_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: Message,
    /// True when `client_msg_id` had been stored before: `message` is the original, and
    /// nothing new was written.
    pub duplicate: bool,
    /// The notice raised with it (`NewMessage::screening.notice`), in the same transaction.
    pub notice: Option<Flag>,
}

impl Store {
    /// Stores a message with the next `seq` of its group, or returns the message stored
    /// earlier under the same `client_msg_id` (a retry). Returns only after the commit.
    ///
    /// The screen's decision is part of the same transaction: a held message is inserted
    /// hidden (never visible for a moment), and its notice for the facilitator is committed
    /// with it or not at all; so is a facilitator's post's audit entry (`NewMessage::audit`).
    ///
    /// The group row's counter is bumped first: that takes the write lock (SQLite) or the row
    /// lock (PostgreSQL) before anything is read, so concurrent writers to one group queue up
    /// instead of racing, a rolled-back retry leaves no gap, and SQLite never has to upgrade a
    /// read transaction (which would fail with SQLITE_BUSY instead of waiting).
    pub async fn append_message(&self, new: &NewMessage) -> Result<Appended> {
        let mut tx = self.writer().begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE groups SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .bind(new.group_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("group"))?;

        let earlier: Option<Message> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE group_id = $1 AND client_msg_id = $2"
        ))
        .bind(new.group_id)
        .bind(&new.client_msg_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(message) = earlier {
            tx.rollback().await?;
            return Ok(Appended {
                message,
                duplicate: true,
                notice: None,
            });
        }

        let screening = &new.screening;
        let moderation = if screening.hidden {
            Moderation::Hidden
        } else {
            Moderation::Visible
        };
        let action = if screening.action.is_empty() {
            "allow"
        } else {
            screening.action.as_str()
        };
        let message: Message = sqlx::query_as(&format!(
            "INSERT INTO messages (group_id, seq, client_msg_id, sender_kind, sender_id, text, phase, \
                                   created_at, reply_to, moderation, original_text, screen_action, \
                                   screen_category, screen_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(new.group_id)
        .bind(seq)
        .bind(&new.client_msg_id)
        .bind(new.sender_kind.as_str())
        .bind(new.sender_id)
        .bind(&new.text)
        .bind(&new.phase)
        .bind(new.created_at)
        .bind(new.reply_to)
        .bind(moderation.as_str())
        .bind(&screening.original_text)
        .bind(action)
        .bind(&screening.category)
        .bind(&screening.reason)
        .fetch_one(&mut *tx)
        .await?;
        let notice = match &screening.notice {
            Some(n) => Some(
                sqlx::query_as::<_, Flag>(&format!(
                    "INSERT INTO flags (group_id, message_seq, kind, detail, created_at, severity) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {FLAG_COLUMNS}"
                ))
                .bind(new.group_id)
                .bind(message.seq)
                .bind(&n.kind)
                .bind(&n.detail)
                .bind(new.created_at)
                .bind(n.severity.as_str())
                .fetch_one(&mut *tx)
                .await?,
            ),
            None => None,
        };
        commit_audited(tx, new.audit.as_ref()).await?;
        Ok(Appended {
            message,
            duplicate: false,
            notice,
        })
    }

    /// Messages of a group with `seq > after_seq`, oldest first, at most `limit`.
    pub async fn messages_after(
        &self,
        group_id: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE group_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(group_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Like [`Store::messages_after`], with only the columns of [`ExportedMessage`].
    pub async fn messages_for_export(
        &self,
        group_id: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ExportedMessage>> {
        Ok(sqlx::query_as(
            "SELECT seq, sender_kind, sender_id, text, phase, created_at, reply_to, moderation \
             FROM messages WHERE group_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(group_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The last `limit` messages of a group, oldest first.
    pub async fn recent_messages(&self, group_id: i64, limit: i64) -> Result<Vec<Message>> {
        let mut rows: Vec<Message> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE group_id = $1 ORDER BY seq DESC LIMIT $2"
        ))
        .bind(group_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.reverse();
        Ok(rows)
    }

    pub async fn message(&self, group_id: i64, seq: i64) -> Result<Message> {
        sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE group_id = $1 AND seq = $2"
        ))
        .bind(group_id)
        .bind(seq)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("message"))
    }

    /// Hides, flags or shows a message again; the message itself is never deleted, and who
    /// changed it and when is kept. A facilitator's change has its `audit` entry in the same
    /// transaction.
    pub async fn set_moderation(
        &self,
        group_id: i64,
        seq: i64,
        state: Moderation,
        by: Option<i64>,
        at: i64,
        audit: Option<&NewAudit>,
    ) -> Result<Message> {
        let mut tx = self.writer().begin().await?;
        let message = sqlx::query_as(&format!(
            "UPDATE messages SET moderation = $1, moderated_by = $2, moderated_at = $3 \
             WHERE group_id = $4 AND seq = $5 RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(state.as_str())
        .bind(by)
        .bind(at)
        .bind(group_id)
        .bind(seq)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("message"))?;
        commit_audited(tx, audit).await?;
        Ok(message)
    }

    /// Number of messages in a group (for the dashboard and tests).
    pub async fn message_count(&self, group_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE group_id = $1")
                .bind(group_id)
                .fetch_one(self.pool())
                .await?,
        )
    }
}
