//! `/healthz` for load balancers and humans, `/metrics` for Prometheus.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use super::Ctx;

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(ctx): State<Ctx>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "database": ctx.store.kind().name(),
        "model": ctx.model_name,
        "uptime_seconds": ctx.started.elapsed().as_secs(),
    }))
}

async fn metrics(State(ctx): State<Ctx>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    ctx.metrics.render(
        &mut out,
        ctx.started.elapsed().as_secs_f64(),
        env!("CARGO_PKG_VERSION"),
        ctx.store.kind().name(),
    );
    if let Some(engine) = &ctx.engine {
        engine.render_prometheus(&mut out);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
