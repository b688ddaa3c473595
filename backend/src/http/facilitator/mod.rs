//! The facilitator dashboard: sign-in, setting sessions up, watching every group live, and
//! stepping in. Pages are server-rendered; the live grid is kept current over the facilitator
//! socket (`/facilitator/ws`), and actions go through small JSON requests that carry the
//! sign-in's CSRF token.
//!
//! Permission rules, enforced here and proven in `backend/tests/dashboard.rs`: only a
//! signed-in facilitator passes (a child's cookie opens nothing: the extractors of
//! [`signed_in`], named in each handler's arguments), and a facilitator reaches only their own
//! sessions and groups ([`owned_session`], [`owned_group`]); anything else is "not found", so
//! ids reveal nothing.

mod auth;
mod coding;
mod data;
mod language;
mod live;
mod lock;
mod safety;
mod sessions;
mod signed_in;
mod socket;

use axum::routing::{get, post};
use axum::{middleware, Router};

use super::{ApiError, Ctx};
use crate::store::{Group, Session, StoreError};

pub use language::{status_label, DashPage};
pub use signed_in::SignedIn;

/// Where a dashboard page sends a browser that is not signed in.
pub const LOGIN_PATH: &str = "/facilitator/login";

pub fn router() -> Router<Ctx> {
    Router::new()
        .route(LOGIN_PATH, get(auth::login_page).post(auth::login_submit))
        .route("/facilitator/logout", post(auth::logout))
        .route("/facilitator/language", post(language::choose))
        .route("/facilitator", get(sessions::list))
        .route("/facilitator/sessions", post(sessions::create))
        .route("/facilitator/sessions/{id}", get(live::session_page))
        .route(
            "/facilitator/sessions/{id}/status",
            post(sessions::change_status),
        )
        .route("/facilitator/sessions/{id}/cards", get(sessions::cards))
        .route(
            "/facilitator/sessions/{id}/consents",
            post(data::add_consent),
        )
        .route(
            "/facilitator/sessions/{id}/delete",
            get(data::confirm_delete).post(data::delete),
        )
        .route("/facilitator/sessions/{id}/export", get(sessions::export))
        .route(
            "/facilitator/sessions/{id}/agreement",
            get(sessions::agreement),
        )
        .route("/facilitator/sessions/{id}/safety", get(safety::summary))
        .route("/facilitator/groups/{id}", get(live::group_page))
        .route("/facilitator/ws", get(socket::upgrade))
        .route(
            "/api/facilitator/sessions/{id}/snapshot",
            get(live::snapshot),
        )
        .route(
            "/api/facilitator/groups/{id}/transcript",
            get(live::transcript),
        )
        .route("/api/facilitator/groups/{id}/actions", post(live::action))
        .route("/api/facilitator/groups/{id}/lock", post(lock::set_lock))
        .route("/api/facilitator/sessions/{id}/coding", get(coding::state))
        .route(
            "/api/facilitator/sessions/{id}/codes",
            post(coding::add_code),
        )
        .route(
            "/api/facilitator/sessions/{id}/codebook",
            post(coding::import_codebook).layer(axum::extract::DefaultBodyLimit::max(
                coding::MAX_CODEBOOK_BYTES + 1,
            )),
        )
        .route(
            "/api/facilitator/sessions/{id}/codes/{code}",
            post(coding::update_code).delete(coding::delete_code),
        )
        .route(
            "/api/facilitator/groups/{id}/codings",
            post(coding::add_coding).delete(coding::remove_coding),
        )
        .layer(middleware::map_response(super::pages::security_headers))
}

/// The session, if it is this facilitator's; otherwise "not found" (never "forbidden": a
/// facilitator must not learn which other sessions exist).
pub async fn owned_session(ctx: &Ctx, me: &SignedIn, id: i64) -> Result<Session, ApiError> {
    match ctx.store.session(id).await {
        Ok(s) if s.facilitator_id == Some(me.id()) => Ok(s),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(ApiError::NotFound("session")),
        Err(e) => Err(e.into()),
    }
}

/// The group and its session, if the session is this facilitator's.
pub async fn owned_group(ctx: &Ctx, me: &SignedIn, id: i64) -> Result<(Group, Session), ApiError> {
    let group = match ctx.store.group(id).await {
        Ok(g) => g,
        Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound("group")),
        Err(e) => return Err(e.into()),
    };
    let session = owned_session(ctx, me, group.session_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("group"),
            other => other,
        })?;
    Ok((group, session))
}
