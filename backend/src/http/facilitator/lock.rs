//! Locking a group against new joins: `POST /api/facilitator/groups/ID/lock` with
//! `{"locked": true|false}` and the sign-in's `X-CSRF-Token`. Once the class is in, a teacher
//! locks the groups so that a leaked or guessed code lets nobody else in; a child already in
//! comes back with their credential (the join answers them as themselves). Kept in
//! `groups.locked_at`, audited as `lock_group` / `unlock_group`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

use super::owned_group;
use super::signed_in::CsrfHeader;
use crate::http::{ApiError, Ctx};
use crate::store::{self, SessionStatus};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockRequest {
    locked: bool,
}

pub async fn set_lock(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (group, session) = owned_group(&ctx, &me, id).await?;
    let request: LockRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"locked\": true}}: {e}")))?;
    if session.status == SessionStatus::Ended {
        return Err(ApiError::Conflict("This session has ended.".into()));
    }
    let now = store::now_ms();
    ctx.store
        .set_group_locked(group.id, request.locked, now)
        .await?;
    let action = if request.locked {
        "lock_group"
    } else {
        "unlock_group"
    };
    ctx.store
        .audit(
            Some(me.id()),
            action,
            &format!("group {}", group.id),
            "",
            now,
        )
        .await?;
    Ok(Json(
        serde_json::json!({ "ok": true, "locked": request.locked }),
    ))
}
