//! `/healthz` for load balancers and humans, `/metrics` for Prometheus.
//!
//! Both are reachable by anyone who can reach the server, children's tablets included, so
//! `/healthz` says only whether the server is up, and the details (version, database, model,
//! uptime) and `/metrics` need the `metrics_token` as a bearer token. Without a configured
//! token `/metrics` does not exist (404).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::Ctx;

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// What a request's `Authorization` header says about the metrics token.
#[derive(Debug, PartialEq, Eq)]
enum Bearer {
    /// No token is configured: the details are off.
    Off,
    Missing,
    Wrong,
    Right,
}

fn bearer(ctx: &Ctx, headers: &HeaderMap) -> Bearer {
    let Some(expected) = ctx.limits.settings.metrics_token.as_deref() else {
        return Bearer::Off;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        None => Bearer::Missing,
        Some(t) if crate::auth::same_secret(t.trim(), expected) => Bearer::Right,
        Some(_) => Bearer::Wrong,
    }
}

async fn healthz(State(ctx): State<Ctx>, headers: HeaderMap) -> impl IntoResponse {
    if bearer(&ctx, &headers) != Bearer::Right {
        return Json(serde_json::json!({ "status": "ok" }));
    }
    let mut details = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "database": ctx.store.kind().name(),
        "model": ctx.model_name,
        "uptime_seconds": ctx.started.elapsed().as_secs(),
    });
    // The remote engine's servers, so an operator sees at once which one is down.
    let replicas = ctx
        .engine
        .as_ref()
        .map(|e| e.replicas())
        .unwrap_or_default();
    if !replicas.is_empty() {
        details["replicas"] = serde_json::json!(replicas);
    }
    Json(details)
}

async fn metrics(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    match bearer(&ctx, &headers) {
        Bearer::Off => return (StatusCode::NOT_FOUND, "Not found").into_response(),
        Bearer::Missing | Bearer::Wrong => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "a bearer token is needed",
            )
                .into_response()
        }
        Bearer::Right => {}
    }
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
        .into_response()
}
