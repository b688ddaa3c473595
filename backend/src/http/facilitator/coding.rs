//! Coding in the dashboard's transcript view: the session's codebook (add, rename, delete
//! codes) and codings (this facilitator, as the coder, applies a code to an utterance).
//! Agreement between coders is a download (`/facilitator/sessions/ID/agreement`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::signed_in::{CsrfHeader, SignedIn};
use super::{owned_group, owned_session};
use crate::http::{ApiError, Ctx};
use crate::store::{
    self, CodeFields, CodeRecord, CodingRecord, ImportSummary, NewCoding, StoreError,
};

#[derive(Debug, Serialize)]
pub struct CodingState {
    /// The name this facilitator codes as.
    pub coder: String,
    pub codes: Vec<CodeRecord>,
    pub codings: Vec<CodingRecord>,
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("this request could not be understood: {e}")))
}

pub async fn state(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    me: SignedIn,
) -> Result<Json<CodingState>, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    Ok(Json(CodingState {
        coder: me.facilitator.name.clone(),
        codes: ctx.store.codebook(session.id).await?,
        codings: ctx.store.codings(session.id).await?,
    }))
}

pub async fn add_code(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<CodeRecord>, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    let fields: CodeFields = json_body(&body)?;
    let code = ctx
        .store
        .create_code(session.id, &fields, store::now_ms())
        .await?;
    ctx.store
        .audit(
            Some(me.id()),
            "add_code",
            &format!("session {}", session.id),
            &format!("code={} name={}", code.id, code.name),
            store::now_ms(),
        )
        .await?;
    Ok(Json(code))
}

/// The code, if it belongs to this facilitator's session.
async fn owned_code(
    ctx: &Ctx,
    me: &SignedIn,
    session_id: i64,
    code_id: i64,
) -> Result<CodeRecord, ApiError> {
    let session = owned_session(ctx, me, session_id).await?;
    match ctx.store.code(code_id).await {
        Ok(c) if c.session_id == session.id => Ok(c),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(ApiError::NotFound("code")),
        Err(e) => Err(e.into()),
    }
}

pub async fn update_code(
    State(ctx): State<Ctx>,
    Path((session_id, code_id)): Path<(i64, i64)>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<CodeRecord>, ApiError> {
    let code = owned_code(&ctx, &me, session_id, code_id).await?;
    let fields: CodeFields = json_body(&body)?;
    let updated = ctx.store.update_code(code.id, &fields).await?;
    ctx.store
        .audit(
            Some(me.id()),
            "update_code",
            &format!("session {session_id}"),
            &format!(
                "code={} name={} was={}",
                updated.id, updated.name, code.name
            ),
            store::now_ms(),
        )
        .await?;
    Ok(Json(updated))
}

pub async fn delete_code(
    State(ctx): State<Ctx>,
    Path((session_id, code_id)): Path<(i64, i64)>,
    CsrfHeader(me): CsrfHeader,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = owned_code(&ctx, &me, session_id, code_id).await?;
    ctx.store.delete_code(code.id).await?;
    ctx.store
        .audit(
            Some(me.id()),
            "delete_code",
            &format!("session {session_id}"),
            &format!("code={} name={}", code.id, code.name),
            store::now_ms(),
        )
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

/// Largest codebook file the dashboard takes (a codebook is a few kilobytes).
pub const MAX_CODEBOOK_BYTES: usize = 1024 * 1024;

/// Imports a codebook file (REFI-QDA `.qdc` or CSV, sent as the request body) into the
/// session's: all or nothing, a malformed file answered with its line and reason.
pub async fn import_codebook(
    State(ctx): State<Ctx>,
    Path(session_id): Path<i64>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<ImportSummary>, ApiError> {
    let session = owned_session(&ctx, &me, session_id).await?;
    if body.is_empty() {
        return Err(ApiError::BadRequest("the codebook file is empty".into()));
    }
    if body.len() > MAX_CODEBOOK_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a codebook file may be at most {} KiB",
            MAX_CODEBOOK_BYTES / 1024
        )));
    }
    let summary = ctx
        .store
        .import_codebook_file(session.id, &body, store::now_ms())
        .await?;
    ctx.store
        .audit(
            Some(me.id()),
            "import_codebook",
            &format!("session {}", session.id),
            &format!(
                "created={} updated={} bytes={}",
                summary.created,
                summary.updated,
                body.len()
            ),
            store::now_ms(),
        )
        .await?;
    Ok(Json(summary))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodingRequest {
    code_id: i64,
    seq: i64,
}

pub async fn add_coding(
    State(ctx): State<Ctx>,
    Path(group_id): Path<i64>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<CodingRecord>, ApiError> {
    let (group, session) = owned_group(&ctx, &me, group_id).await?;
    let req: CodingRequest = json_body(&body)?;
    owned_code(&ctx, &me, session.id, req.code_id).await?;
    let coding = ctx
        .store
        .add_coding(&NewCoding {
            code_id: req.code_id,
            group_id: group.id,
            seq: req.seq,
            coder: me.facilitator.name.clone(),
            facilitator_id: Some(me.id()),
            created_at: store::now_ms(),
        })
        .await?;
    ctx.store
        .audit(
            Some(me.id()),
            "add_coding",
            &format!("group {}", group.id),
            &format!("code={} seq={}", req.code_id, req.seq),
            store::now_ms(),
        )
        .await?;
    Ok(Json(coding))
}

pub async fn remove_coding(
    State(ctx): State<Ctx>,
    Path(group_id): Path<i64>,
    CsrfHeader(me): CsrfHeader,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (group, _) = owned_group(&ctx, &me, group_id).await?;
    let req: CodingRequest = json_body(&body)?;
    // A facilitator removes only their own codings: another coder's work is theirs.
    let removed = ctx
        .store
        .remove_coding(&me.facilitator.name, req.code_id, group.id, req.seq)
        .await?;
    if !removed {
        return Err(ApiError::NotFound("coding"));
    }
    ctx.store
        .audit(
            Some(me.id()),
            "remove_coding",
            &format!("group {}", group.id),
            &format!("code={} seq={}", req.code_id, req.seq),
            store::now_ms(),
        )
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}
