//! The logs researchers and facilitators read: the agent's decisions, flags that need a
//! facilitator, and the audit log of facilitator actions.

use sqlx::{Any, AnyConnection, Transaction};

use super::{AgentEvent, AuditEntry, Flag, NewAudit, NewHelpRequest, Result, Store, StoreError};

const EVENT_COLUMNS: &str = "id, group_id, created_at, trigger, decision, reason, message_seq, prompt_version, \
                             model, prompt_tokens, cached_tokens, generated_tokens, ttft_ms, total_ms";
pub(super) const FLAG_COLUMNS: &str =
    "id, group_id, message_seq, kind, detail, created_at, resolved_at, severity, resolution, resolved_by, \
     participant_id, seen_at, seen_by, note, original_note";
/// The kind of flag a child's "I need help" request is stored as.
pub const HELP_REQUEST: &str = "help_request";
const AUDIT_COLUMNS: &str = "id, facilitator_id, action, target, detail, created_at";

impl Store {
    /// Writes one agent decision (its `id` is ignored and assigned here).
    pub async fn record_agent_event(&self, e: &AgentEvent) -> Result<AgentEvent> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO agent_events (group_id, created_at, trigger, decision, reason, message_seq, \
               prompt_version, model, prompt_tokens, cached_tokens, generated_tokens, ttft_ms, total_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {EVENT_COLUMNS}"
        ))
        .bind(e.group_id)
        .bind(e.created_at)
        .bind(e.trigger.to_string())
        .bind(e.decision.to_string())
        .bind(&e.reason)
        .bind(e.message_seq)
        .bind(&e.prompt_version)
        .bind(&e.model)
        .bind(e.prompt_tokens)
        .bind(e.cached_tokens)
        .bind(e.generated_tokens)
        .bind(e.ttft_ms)
        .bind(e.total_ms)
        .fetch_one(self.writer())
        .await?)
    }

    pub async fn agent_events(&self, group_id: i64) -> Result<Vec<AgentEvent>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM agent_events WHERE group_id = $1 ORDER BY id"
        ))
        .bind(group_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn raise_flag(
        &self,
        group_id: i64,
        message_seq: Option<i64>,
        kind: &str,
        detail: &str,
        at: i64,
    ) -> Result<Flag> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO flags (group_id, message_seq, kind, detail, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {FLAG_COLUMNS}"
        ))
        .bind(group_id)
        .bind(message_seq)
        .bind(kind)
        .bind(detail)
        .bind(at)
        .fetch_one(self.writer())
        .await?)
    }

    /// Stores a child's help request as a notice of kind [`HELP_REQUEST`].
    pub async fn raise_help_request(&self, r: &NewHelpRequest) -> Result<Flag> {
        Ok(sqlx::query_as(&format!(
            "INSERT INTO flags (group_id, kind, detail, created_at, severity, participant_id, note, original_note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {FLAG_COLUMNS}"
        ))
        .bind(r.group_id)
        .bind(HELP_REQUEST)
        .bind(&r.detail)
        .bind(r.created_at)
        .bind(r.severity.as_str())
        .bind(r.participant_id)
        .bind(&r.note)
        .bind(&r.original_note)
        .fetch_one(self.writer())
        .await?)
    }

    /// The child's latest help request that nobody has dealt with yet (to show them, after a
    /// reload, that the teacher was told).
    pub async fn open_help_request(
        &self,
        group_id: i64,
        participant_id: i64,
    ) -> Result<Option<Flag>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {FLAG_COLUMNS} FROM flags WHERE group_id = $1 AND participant_id = $2 \
             AND kind = $3 AND resolved_at IS NULL ORDER BY id DESC LIMIT 1"
        ))
        .bind(group_id)
        .bind(participant_id)
        .bind(HELP_REQUEST)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Marks a notice as seen by `by` (still open), with the facilitator's audit entry in the
    /// same transaction. Seeing one twice keeps the first sighting.
    pub async fn see_flag(
        &self,
        group_id: i64,
        flag_id: i64,
        by: i64,
        at: i64,
        audit: &NewAudit,
    ) -> Result<Flag> {
        let mut tx = self.writer().begin().await?;
        let flag = sqlx::query_as(&format!(
            "UPDATE flags SET seen_at = COALESCE(seen_at, $1), seen_by = COALESCE(seen_by, $2) \
             WHERE id = $3 AND group_id = $4 RETURNING {FLAG_COLUMNS}"
        ))
        .bind(at)
        .bind(by)
        .bind(flag_id)
        .bind(group_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("notice"))?;
        commit_audited(tx, Some(audit)).await?;
        Ok(flag)
    }

    pub async fn flags(&self, group_id: i64) -> Result<Vec<Flag>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {FLAG_COLUMNS} FROM flags WHERE group_id = $1 ORDER BY id"
        ))
        .bind(group_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn flag(&self, group_id: i64, flag_id: i64) -> Result<Flag> {
        sqlx::query_as(&format!(
            "SELECT {FLAG_COLUMNS} FROM flags WHERE id = $1 AND group_id = $2"
        ))
        .bind(flag_id)
        .bind(group_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(super::StoreError::NotFound("notice"))
    }

    /// Marks a flag as dealt with: `resolution` says how (dealt_with, released, kept), `by`
    /// who, with `audit` in the same transaction (None when the action was audited with an
    /// earlier write of its own: a release, with the message it shows again). Resolving one
    /// twice keeps the first resolution.
    pub async fn resolve_flag(
        &self,
        group_id: i64,
        flag_id: i64,
        resolution: &str,
        by: Option<i64>,
        at: i64,
        audit: Option<&NewAudit>,
    ) -> Result<Flag> {
        let mut tx = self.writer().begin().await?;
        let flag = sqlx::query_as(&format!(
            "UPDATE flags SET resolved_at = COALESCE(resolved_at, $1), \
                              resolution = COALESCE(resolution, $2), \
                              resolved_by = COALESCE(resolved_by, $3) \
             WHERE id = $4 AND group_id = $5 RETURNING {FLAG_COLUMNS}"
        ))
        .bind(at)
        .bind(resolution)
        .bind(by)
        .bind(flag_id)
        .bind(group_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("notice"))?;
        commit_audited(tx, audit).await?;
        Ok(flag)
    }

    /// Writes an audit entry on its own: for what has no write of its own to share a
    /// transaction with (a read, a download, a whisper). Callers write it before the data
    /// leaves or the effect is shown.
    pub async fn audit(
        &self,
        facilitator_id: Option<i64>,
        action: &str,
        target: &str,
        detail: &str,
        at: i64,
    ) -> Result<AuditEntry> {
        self.record_audit(&NewAudit {
            facilitator_id,
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.to_string(),
            created_at: at,
        })
        .await
    }

    /// [`Store::audit`] for an entry already made.
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<AuditEntry> {
        let mut conn = self.writer().acquire().await?;
        insert_audit(&mut conn, entry).await
    }

    pub async fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?)
    }
}

/// Inserts an audit entry on `conn` (a transaction's, for an action audited with its write).
pub(super) async fn insert_audit(conn: &mut AnyConnection, entry: &NewAudit) -> Result<AuditEntry> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO audit_log (facilitator_id, action, target, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {AUDIT_COLUMNS}"
    ))
    .bind(entry.facilitator_id)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.detail)
    .bind(entry.created_at)
    .fetch_one(conn)
    .await?)
}

/// Commits a write with its audit entry: both are stored, or (the insert failing) neither,
/// since dropping the transaction rolls the write back.
pub(super) async fn commit_audited(
    mut tx: Transaction<'static, Any>,
    audit: Option<&NewAudit>,
) -> Result<()> {
    if let Some(entry) = audit {
        insert_audit(&mut tx, entry).await?;
    }
    tx.commit().await?;
    Ok(())
}
