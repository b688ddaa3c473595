//! What the abuse limits keep in the database: a group's lock (migration 0007_limits.sql),
//! and the count of children in a group for the group size cap.

use super::{Result, Store, StoreError};

impl Store {
    /// Locks a group against new joins (`locked` true) or opens it again. A child already in
    /// keeps their credential. NotFound for an unknown group.
    pub async fn set_group_locked(&self, group_id: i64, locked: bool, at: i64) -> Result<()> {
        let done = sqlx::query("UPDATE groups SET locked_at = $1 WHERE id = $2")
            .bind(locked.then_some(at))
            .bind(group_id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("group"));
        }
        Ok(())
    }

    /// Whether a group is locked against new joins.
    pub async fn group_locked(&self, group_id: i64) -> Result<bool> {
        let locked: Option<i64> = sqlx::query_scalar("SELECT locked_at FROM groups WHERE id = $1")
            .bind(group_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("group"))?;
        Ok(locked.is_some())
    }

    /// The groups of a session that are locked (for the dashboard's snapshot).
    pub async fn locked_groups(&self, session_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM groups WHERE session_id = $1 AND locked_at IS NOT NULL ORDER BY id",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// How many children a group has (everyone who ever joined it: a child whose tablet
    /// went to sleep still holds their seat).
    pub async fn participant_count(&self, group_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE group_id = $1")
                .bind(group_id)
                .fetch_one(self.pool())
                .await?,
        )
    }
}
