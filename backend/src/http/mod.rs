//! The HTTP side: one module per feature, each exposing `router()`, sharing one [`AppContext`]
//! and one error type ([`ApiError`]) that maps to status codes.

mod chat_socket;
mod error;
mod health;
pub mod join;
mod pages;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;

use crate::activity::Catalog;
use crate::engine::SharedEngine;
use crate::metrics::Metrics;
use crate::room::Rooms;
use crate::store::Store;

pub use error::ApiError;

/// What every handler can reach. Cloned per request as an `Arc`.
pub struct AppContext {
    pub store: Store,
    pub activities: Arc<Catalog>,
    pub metrics: Arc<Metrics>,
    pub rooms: Rooms,
    /// None when the server runs without a model (the chat benchmark).
    pub engine: Option<SharedEngine>,
    pub started: Instant,
    /// The address children open (printed at start, shown on join cards).
    pub public_url: String,
    /// The model's display name for /healthz.
    pub model_name: String,
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

/// The whole application's routes.
pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .merge(health::router())
        .merge(join::router())
        .merge(chat_socket::router())
        .merge(pages::router())
        .with_state(ctx)
}
