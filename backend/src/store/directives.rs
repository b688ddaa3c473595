//! The moderator's directives and whether groups followed them, for researchers to count.

use super::{Result, Store};

/// One directive as stored. `outcome` is `pending`, `followed`, `followed_after_escalation`,
/// `ignored` or `superseded` (a newer directive of the same kind replaced it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct DirectiveRecord {
    pub id: i64,
    pub group_id: i64,
    pub kind: String,
    pub target_id: Option<i64>,
    pub message_seq: Option<i64>,
    pub given_at: i64,
    pub escalated_at: Option<i64>,
    pub outcome: String,
    pub resolved_at: Option<i64>,
}

const COLUMNS: &str =
    "id, group_id, kind, target_id, message_seq, given_at, escalated_at, outcome, resolved_at";

impl Store {
    pub async fn add_directive(
        &self,
        group_id: i64,
        kind: &str,
        target_id: Option<i64>,
        message_seq: Option<i64>,
        at: i64,
    ) -> Result<DirectiveRecord> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO directives (group_id, kind, target_id, message_seq, given_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(group_id)
        .bind(kind)
        .bind(target_id)
        .bind(message_seq)
        .bind(at)
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn directive_escalated(&self, id: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE directives SET escalated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn resolve_directive(&self, id: i64, outcome: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE directives SET outcome = $1, resolved_at = $2 WHERE id = $3")
            .bind(outcome)
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn directives(&self, group_id: i64) -> Result<Vec<DirectiveRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM directives WHERE group_id = $1 ORDER BY id"
        ))
        .bind(group_id)
        .fetch_all(self.pool())
        .await?)
    }
}
