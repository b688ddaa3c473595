//! Participants: pseudonymous children in one group. No real name, no email, no account; a
//! child is known by a credential (a random token whose hash is kept here) scoped to one group.

use super::log::commit_audited;
use super::{NewAudit, Participant, Result, Store, StoreError};

const PARTICIPANT_COLUMNS: &str = "id, group_id, nickname, avatar, created_at, muted_until";

/// Why a child could not join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("the nickname is already taken in this group")]
    NicknameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The form two nicknames are compared in: "Mia", "mia", " MIA " and "Mіa" (with a Cyrillic
/// "і") are the same child. The unique index on it makes a look-alike of a nickname already
/// in the group impossible even when two children join at the same moment.
pub fn nickname_key(nickname: &str) -> String {
    crate::safety::skeleton(&nickname.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl Store {
    /// Adds a child to a group. `credential_hash` is the hash of the token the child's browser
    /// keeps; the token itself is never stored.
    pub async fn add_participant(
        &self,
        group_id: i64,
        nickname: &str,
        avatar: &str,
        credential_hash: &str,
        at: i64,
    ) -> Result<Participant, JoinError> {
        let inserted = sqlx::query_as::<_, Participant>(&format!(
            "INSERT INTO participants (group_id, nickname, nickname_key, avatar, credential_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {PARTICIPANT_COLUMNS}"
        ))
        .bind(group_id)
        .bind(nickname)
        .bind(nickname_key(nickname))
        .bind(avatar)
        .bind(credential_hash)
        .bind(at)
        .fetch_one(self.writer())
        .await;
        match inserted {
            Ok(p) => Ok(p),
            Err(e) if StoreError::is_unique_violation(&e) => Err(JoinError::NicknameTaken),
            Err(e) => Err(JoinError::Store(e.into())),
        }
    }

    /// The participant a credential belongs to.
    pub async fn participant_by_credential(&self, credential_hash: &str) -> Result<Participant> {
        sqlx::query_as(&format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE credential_hash = $1"
        ))
        .bind(credential_hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("participant"))
    }

    pub async fn participants(&self, group_id: i64) -> Result<Vec<Participant>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE group_id = $1 ORDER BY id"
        ))
        .bind(group_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Mutes a child until `until` (None lifts it), with the facilitator's audit entry in the
    /// same transaction.
    pub async fn set_muted_until(
        &self,
        participant_id: i64,
        until: Option<i64>,
        audit: &NewAudit,
    ) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query("UPDATE participants SET muted_until = $1 WHERE id = $2")
            .bind(until)
            .bind(participant_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("participant"));
        }
        commit_audited(tx, Some(audit)).await
    }
}
