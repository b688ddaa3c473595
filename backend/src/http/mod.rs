//! The HTTP side: one module per feature, each exposing `router()`, sharing one [`AppContext`]
//! and one error type ([`ApiError`], in `error.rs` with every conversion into it) that maps to
//! status codes.

mod chat_socket;
mod error;
mod facilitator;
mod health;
pub mod join;
mod pages;
pub mod serve;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;

use crate::activity::Catalog;
use crate::engine::SharedEngine;
use crate::metrics::Metrics;
use crate::room::Rooms;
use crate::store::Store;

pub use error::{ApiError, JoinFailure};

/// What every handler can reach. Cloned per request as an `Arc`.
pub struct AppContext {
    /// The child-safety screen (nicknames at join; messages are screened in the rooms).
    pub screen: crate::safety::Screen,
    pub store: Store,
    pub activities: Arc<Catalog>,
    pub metrics: Arc<Metrics>,
    pub rooms: Rooms,
    /// None when the server runs without a model (the chat benchmark).
    pub engine: Option<SharedEngine>,
    pub started: Instant,
    /// Retention default for new sessions and the purge timer's interval.
    pub data: crate::config::DataSettings,
    /// The address children open (printed at start, shown on join cards).
    pub public_url: String,
    /// The model's display name for /healthz.
    pub model_name: String,
    /// Failed facilitator sign-ins, per account and per address.
    pub login_throttle: crate::auth::LoginThrottle,
    /// The abuse limits and their counters (crate::limits).
    pub limits: crate::limits::Limits,
}

pub type Ctx = Arc<AppContext>;

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppContext")
            .field("public_url", &self.public_url)
            .field("model", &self.model_name)
            .finish()
    }
}

/// The value of the request's cookie `name`, as sent.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A credential token from the request's cookie `name`: 64 hex characters or nothing (a
/// malformed value is never looked up).
pub(crate) fn cookie_token(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    cookie_value(headers, name)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The whole application's routes.
pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .merge(health::router())
        .merge(join::router())
        .merge(chat_socket::router())
        .merge(pages::router())
        .merge(facilitator::router())
        .with_state(ctx)
}

/// A room's frame as the WebSocket's text, without copying it (the bytes are shared).
pub(crate) fn ws_text(json: crate::room::FrameJson) -> axum::extract::ws::Utf8Bytes {
    axum::extract::ws::Utf8Bytes::try_from(json.into_bytes())
        .expect("a FrameJson is built from a String")
}
