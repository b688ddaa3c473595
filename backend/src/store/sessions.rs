//! Sessions and their groups, with join codes.

use super::log::commit_audited;
use super::{Group, NewAudit, Result, Session, SessionStatus, Store, StoreError};
use crate::join_code;
use crate::store::AgentRole;

const SESSION_COLUMNS: &str = "id, facilitator_id, activity_id, language, agent_name, status, \
                               created_at, started_at, ended_at, phase_minutes, safety_level, \
                               retention_days";
const GROUP_COLUMNS: &str =
    "id, session_id, name, join_code, agent_role, last_seq, created_at, closed_at, agent_paused, \
     phase_index, phase_ends_at, phases_completed, phases_finished";

/// A session to create, with its groups.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub facilitator_id: Option<i64>,
    pub activity_id: String,
    pub language: String,
    pub agent_name: String,
    pub groups: Vec<NewGroup>,
    pub created_at: i64,
    /// Phase durations in minutes, one per phase ("3,8,8,5,3"); None keeps the activity's.
    pub phase_minutes: Option<String>,
    /// The safety screen's level for mild words (strict, standard, relaxed).
    pub safety_level: String,
}

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub name: String,
    pub agent_role: AgentRole,
}

impl NewGroup {
    /// "Group 1", "Group 2"... with these roles, in order (tests and English sessions).
    pub fn numbered(roles: impl IntoIterator<Item = AgentRole>) -> Vec<NewGroup> {
        NewGroup::numbered_as(roles, |n| format!("Group {n}"))
    }

    /// Groups with these roles, in order, named `name_of(1)`, `name_of(2)`...: how every
    /// session names its groups, in the session's language ("Gruppe 1"), since children read
    /// the name on their page and their join card.
    pub fn numbered_as(
        roles: impl IntoIterator<Item = AgentRole>,
        name_of: impl Fn(usize) -> String,
    ) -> Vec<NewGroup> {
        roles
            .into_iter()
            .enumerate()
            .map(|(i, agent_role)| NewGroup {
                name: name_of(i + 1),
                agent_role,
            })
            .collect()
    }
}

/// How often a freshly drawn join code may collide before we give up; with 31^6 codes this
/// only happens when the code space is nearly exhausted.
const JOIN_CODE_ATTEMPTS: usize = 20;

impl Store {
    /// Creates a session and its groups in one transaction, each group with a join code that
    /// is unique among open groups. The session is kept for
    /// [`DEFAULT_RETENTION_DAYS`](super::DEFAULT_RETENTION_DAYS); see
    /// [`Store::create_session_with_retention`].
    pub async fn create_session(&self, new: &NewSession) -> Result<(Session, Vec<Group>)> {
        self.create_session_with_retention(new, super::DEFAULT_RETENTION_DAYS)
            .await
    }

    /// [`Store::create_session`] with the number of days its data is kept after it ended
    /// (1 to [`MAX_RETENTION_DAYS`](super::MAX_RETENTION_DAYS)).
    pub async fn create_session_with_retention(
        &self,
        new: &NewSession,
        retention_days: u32,
    ) -> Result<(Session, Vec<Group>)> {
        super::check_retention_days(i64::from(retention_days)).map_err(StoreError::Setup)?;
        let mut tx = self.writer().begin().await?;
        let session: Session = sqlx::query_as(&format!(
            "INSERT INTO sessions (facilitator_id, activity_id, language, agent_name, status, created_at, phase_minutes, safety_level, retention_days) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {SESSION_COLUMNS}"
        ))
        .bind(new.facilitator_id)
        .bind(&new.activity_id)
        .bind(&new.language)
        .bind(&new.agent_name)
        .bind(SessionStatus::Created.as_str())
        .bind(new.created_at)
        .bind(&new.phase_minutes)
        .bind(&new.safety_level)
        .bind(i64::from(retention_days))
        .fetch_one(&mut *tx)
        .await?;

        let mut groups = Vec::with_capacity(new.groups.len());
        for group in &new.groups {
            let mut attempt = 0;
            let created = loop {
                attempt += 1;
                let code = join_code::generate();
                // A unique violation aborts the whole transaction in PostgreSQL, so probe first;
                // the index still guards against a race with another session being created.
                let taken: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM groups WHERE join_code = $1 AND closed_at IS NULL",
                )
                .bind(&code)
                .fetch_optional(&mut *tx)
                .await?;
                if taken.is_some() {
                    if attempt >= JOIN_CODE_ATTEMPTS {
                        return Err(StoreError::Setup("no free join code could be drawn".into()));
                    }
                    continue;
                }
                break sqlx::query_as::<_, Group>(&format!(
                    "INSERT INTO groups (session_id, name, join_code, agent_role, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {GROUP_COLUMNS}"
                ))
                .bind(session.id)
                .bind(&group.name)
                .bind(&code)
                .bind(group.agent_role.as_str())
                .bind(new.created_at)
                .fetch_one(&mut *tx)
                .await?;
            };
            groups.push(created);
        }
        tx.commit().await?;
        Ok((session, groups))
    }

    pub async fn session(&self, id: i64) -> Result<Session> {
        sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("session"))
    }

    /// Sessions newest first; `facilitator` limits them to one facilitator's own.
    pub async fn sessions(&self, facilitator: Option<i64>) -> Result<Vec<Session>> {
        // One query for both cases: a NULL filter matches every session.
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE ($1 IS NULL OR facilitator_id = $1) ORDER BY id DESC"
        );
        let rows = sqlx::query_as(&sql)
            .bind(facilitator)
            .fetch_all(self.pool())
            .await?;
        Ok(rows)
    }

    /// Moves a session to `status`; ending it closes its groups and frees their join codes.
    pub async fn set_session_status(
        &self,
        id: i64,
        status: SessionStatus,
        at: i64,
    ) -> Result<Session> {
        let mut tx = self.writer().begin().await?;
        let session: Session = sqlx::query_as(&format!(
            "UPDATE sessions SET status = $1, \
               started_at = CASE WHEN $1 = 'running' AND started_at IS NULL THEN $2 ELSE started_at END, \
               ended_at = CASE WHEN $1 = 'ended' THEN $2 ELSE ended_at END \
             WHERE id = $3 RETURNING {SESSION_COLUMNS}"
        ))
        .bind(status.as_str())
        .bind(at)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("session"))?;
        if status == SessionStatus::Ended {
            sqlx::query(
                "UPDATE groups SET closed_at = $1 WHERE session_id = $2 AND closed_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(session)
    }

    pub async fn group(&self, id: i64) -> Result<Group> {
        sqlx::query_as(&format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("group"))
    }

    pub async fn groups_of_session(&self, session_id: i64) -> Result<Vec<Group>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE session_id = $1 ORDER BY id"
        ))
        .bind(session_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The open group a join code names (codes are compared in their normalised form).
    pub async fn open_group_by_code(&self, code: &str) -> Result<Group> {
        let code = join_code::normalise(code).ok_or(StoreError::NotFound("group"))?;
        sqlx::query_as(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE join_code = $1 AND closed_at IS NULL"
        ))
        .bind(code)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("group"))
    }

    /// Switches a group's agent to another role, with the facilitator's audit entry in the
    /// same transaction.
    pub async fn set_group_role(
        &self,
        group_id: i64,
        role: AgentRole,
        audit: &NewAudit,
    ) -> Result<Group> {
        self.update_group_audited(
            &format!("UPDATE groups SET agent_role = $1 WHERE id = $2 RETURNING {GROUP_COLUMNS}"),
            role.as_str().to_string(),
            group_id,
            audit,
        )
        .await
    }

    /// Pauses (or resumes) a group's agent, with the facilitator's audit entry in the same
    /// transaction; the room reads it when it starts.
    pub async fn set_agent_paused(
        &self,
        group_id: i64,
        paused: bool,
        audit: &NewAudit,
    ) -> Result<Group> {
        self.update_group_audited(
            &format!("UPDATE groups SET agent_paused = $1 WHERE id = $2 RETURNING {GROUP_COLUMNS}"),
            i64::from(paused),
            group_id,
            audit,
        )
        .await
    }

    /// One `UPDATE groups ... RETURNING` of a facilitator's, `$1` the new value, `$2` the group.
    async fn update_group_audited<T>(
        &self,
        sql: &str,
        value: T,
        group_id: i64,
        audit: &NewAudit,
    ) -> Result<Group>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        let mut tx = self.writer().begin().await?;
        let group = sqlx::query_as(sql)
            .bind(value)
            .bind(group_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("group"))?;
        commit_audited(tx, Some(audit)).await?;
        Ok(group)
    }

    /// Records where the group is in its activity (see [`Group::phase_index`]); when a
    /// facilitator moved it (extended or skipped a phase), with their `audit` entry in the
    /// same transaction.
    pub async fn set_group_phase(
        &self,
        group_id: i64,
        index: Option<i64>,
        ends_at: Option<i64>,
        completed: i64,
        finished: bool,
        audit: Option<&NewAudit>,
    ) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let done = sqlx::query(
            "UPDATE groups SET phase_index = $1, phase_ends_at = $2, phases_completed = $3, \
               phases_finished = $4 WHERE id = $5",
        )
        .bind(index)
        .bind(ends_at)
        .bind(completed)
        .bind(i64::from(finished))
        .bind(group_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("group"));
        }
        commit_audited(tx, audit).await
    }
}
