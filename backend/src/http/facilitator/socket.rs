//! The facilitator socket at `/facilitator/ws?session=ID`: a snapshot of every group, then the
//! session's live events as they happen (docs/protocol.md, "Facilitator socket").
//!
//! Authentication happens before the upgrade (a plain 401/404 for a child's cookie, no cookie,
//! or someone else's session), and again every ping: signing out elsewhere closes the socket.
//! The socket only listens; actions go over HTTP with the CSRF token.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::live::build_snapshot;
use super::owned_session;
use super::signed_in::SignedIn;
use crate::http::chat_socket::origin_allowed;
use crate::http::{ApiError, Ctx};

const PING_EVERY: Duration = Duration::from_secs(20);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The dashboard sends nothing but pings; anything big is not from it.
const MAX_INCOMING_BYTES: usize = 4 * 1024;
const CLOSE_SIGNED_OUT: u16 = 4001;

#[derive(Debug, Deserialize)]
pub struct WatchQuery {
    session: Option<String>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(ctx): State<Ctx>,
    Query(query): Query<WatchQuery>,
    headers: HeaderMap,
    // Looked at once the origin passed: a cross-origin socket is refused as one, signed in or not.
    me: Result<SignedIn, ApiError>,
) -> Result<Response, ApiError> {
    if !origin_allowed(&headers, &ctx.public_url) {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), "refused a cross-origin facilitator socket");
        return Ok((StatusCode::FORBIDDEN, "cross-origin WebSocket refused").into_response());
    }
    let me = me?;
    let session_id = query
        .session
        .as_deref()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::BadRequest("session=ID is missing or not a number".into()))?;
    let session = owned_session(&ctx, &me, session_id).await?;
    // Watching reads every group's messages: audited once per socket, before any is sent.
    ctx.store
        .audit(
            Some(me.id()),
            "watch_session",
            &format!("session {}", session.id),
            "via=socket",
            crate::store::now_ms(),
        )
        .await?;
    let cookie_headers = headers.clone();
    Ok(ws
        .max_message_size(MAX_INCOMING_BYTES)
        .max_frame_size(MAX_INCOMING_BYTES)
        .on_upgrade(move |socket| async move {
            watch(ctx, socket, session.id, cookie_headers).await;
        }))
}

async fn watch(ctx: Ctx, mut socket: WebSocket, session_id: i64, headers: HeaderMap) {
    // Subscribe before the snapshot is read: events in between arrive twice at worst, and the
    // page ignores a message whose seq it already has.
    let mut events = ctx.rooms.watch().subscribe(session_id);
    if send_snapshot(&ctx, &mut socket, session_id).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                last_heard = Instant::now();
                match incoming {
                    None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return,
                    Some(Ok(Message::Text(t))) if t.as_str().contains("\"ping\"") => {
                        if socket.send(Message::Text(r#"{"type":"pong"}"#.into())).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                }
            }
            event = events.recv() => match event {
                Ok(json) => {
                    if socket.send(Message::Text(crate::http::ws_text(json))).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too far behind to patch up event by event: start again from a snapshot.
                    if send_snapshot(&ctx, &mut socket, session_id).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    return;
                }
                if !matches!(SignedIn::from_cookie(&ctx, &headers).await, Ok(Some(_))) {
                    let _ = socket.send(Message::Close(Some(CloseFrame {
                        code: CLOSE_SIGNED_OUT,
                        reason: "signed out".into(),
                    }))).await;
                    return;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn send_snapshot(ctx: &Ctx, socket: &mut WebSocket, session_id: i64) -> Result<(), ()> {
    let snapshot = async {
        let session = ctx.store.session(session_id).await?;
        build_snapshot(ctx, &session, None).await
    };
    match snapshot.await {
        Ok(s) => {
            let json = serde_json::to_string(&s).map_err(|_| ())?;
            socket
                .send(Message::Text(json.into()))
                .await
                .map_err(|_| ())
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot build a dashboard snapshot");
            Err(())
        }
    }
}
