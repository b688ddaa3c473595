//! The chat WebSocket at `/ws?group=ID`: one task per connection, relaying between the socket
//! and the group's room actor. docs/protocol.md is the contract.
//!
//! The task never holds room state; it authenticates once (the `pl_child` cookie, checked
//! against the group, its age and its session), checks the Origin (cross-site WebSocket
//! hijacking), holds one of the child's and the address's socket places
//! ([`crate::limits::SocketSlots`]), enforces the frame size and the per-kind frame rates
//! ([`crate::limits::frames`]), keeps the connection alive with pings, and closes it when it
//! goes idle.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::join::{self, Credential};
use super::Ctx;
use crate::child_text;
use crate::i18n::Lang;
use crate::limits::frames::{FrameKind, FrameLimits, Verdict};
use crate::limits::SocketSlot;
use crate::metrics::Metrics;
use crate::protocol::{
    parse_client_frame, ClientFrame, ErrorCode, ErrorFrame, ServerFrame, MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
};
use crate::room::{Outbound, RoomError, SendRequest};
use crate::store::Participant;

/// A ping every 20 s keeps NAT and proxies from dropping a quiet socket.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Nothing from the client for this long (not even a pong) and it is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// tungstenite's own hard limit; frames between MAX_FRAME_BYTES and this are refused by us
/// with a proper 1009 close.
const TRANSPORT_LIMIT: usize = 1024 * 1024;

pub const CLOSE_UNAUTHORIZED: u16 = 4001;
/// The child (or the address) has too many chat sockets open.
pub const CLOSE_TOO_MANY_SOCKETS: u16 = 4008;
/// Policy violation: frames kept coming after many `rate_limited` answers.
pub const CLOSE_ABUSE: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_GOING_AWAY: u16 = 1001;

pub fn router() -> Router<Ctx> {
    Router::new().route("/ws", get(upgrade))
}

#[derive(Debug, Deserialize)]
struct WsQuery {
    group: Option<String>,
}

async fn upgrade(
    ws: WebSocketUpgrade,
    State(ctx): State<Ctx>,
    Query(query): Query<WsQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !origin_allowed(&headers, &ctx.public_url) {
        tracing::warn!(%peer, origin = ?headers.get(header::ORIGIN), "refused a cross-origin WebSocket");
        return (StatusCode::FORBIDDEN, "cross-origin WebSocket refused").into_response();
    }
    let group_id = query.group.as_deref().and_then(|g| g.parse::<i64>().ok());
    let token = join::token_from_headers(&headers).unwrap_or_default();
    let access = match group_id {
        Some(g) => match join::credential(&ctx, &token).await {
            Credential::Valid(p) if p.group_id == g => {
                match ctx.limits.sockets.acquire(p.id, peer.ip()) {
                    Ok(slot) => Access::Open(p, token.clone(), slot),
                    Err(limit) => {
                        tracing::warn!(%peer, participant = p.id, %limit, "refused a chat socket");
                        Access::TooMany
                    }
                }
            }
            Credential::Expired => Access::Ended,
            Credential::Ended(p) if p.group_id == g => Access::Ended,
            _ => Access::Refused,
        },
        None => Access::Refused,
    };
    // What a refused socket reads is in its session's language (the browser's if no
    // credential names one); an open one finds its language when it starts.
    let refused_in = match &access {
        Access::Open(..) => Lang::En,
        Access::Refused => Lang::of_browser(&headers),
        Access::Ended | Access::TooMany => join::language_of_credential(&ctx, &token)
            .await
            .unwrap_or_else(|| Lang::of_browser(&headers)),
    };
    // Small buffers: chat frames are small, and a classroom server holds many sockets.
    ws.max_message_size(TRANSPORT_LIMIT)
        .max_frame_size(TRANSPORT_LIMIT)
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            match access {
                Access::Open(p, token, slot) => Connection::run(ctx, socket, p, token, slot).await,
                Access::Refused => {
                    refuse(
                        socket,
                        ErrorCode::Unauthorized,
                        child_text::join_again(refused_in),
                        CLOSE_UNAUTHORIZED,
                        "unauthorized",
                    )
                    .await
                }
                Access::Ended => {
                    refuse(
                        socket,
                        ErrorCode::Unauthorized,
                        child_text::chat_ended(refused_in),
                        CLOSE_UNAUTHORIZED,
                        "ended",
                    )
                    .await
                }
                Access::TooMany => {
                    refuse(
                        socket,
                        ErrorCode::TooManyConnections,
                        child_text::too_many_tabs(refused_in),
                        CLOSE_TOO_MANY_SOCKETS,
                        "too many sockets",
                    )
                    .await
                }
            }
        })
}

/// What an upgrade request may do.
enum Access {
    Open(Participant, String, SocketSlot),
    /// No credential, or one for another group.
    Refused,
    /// A credential whose time is up or whose session ended: the chat is not shown again.
    Ended,
    TooMany,
}

/// Browsers always send Origin; it must be this server. A client without one (a script, the
/// benchmark) cannot ride a child's cookies, so it is let through to the credential check.
pub(super) fn origin_allowed(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(public_url.trim_end_matches('/')) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    !host.is_empty()
        && (origin.eq_ignore_ascii_case(&format!("http://{host}"))
            || origin.eq_ignore_ascii_case(&format!("https://{host}")))
}

async fn refuse(
    mut socket: WebSocket,
    code: ErrorCode,
    message: String,
    close: u16,
    reason: &'static str,
) {
    let frame = ServerFrame::Error(ErrorFrame::new(code, message));
    let _ = socket.send(Message::Text(frame.to_json().into())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close,
            reason: reason.into(),
        })))
        .await;
}

struct Connection {
    ctx: Ctx,
    socket: WebSocket,
    participant: Participant,
    conn_id: u64,
    /// The live stream, once `hello` was accepted (None again after a resync).
    events: Option<broadcast::Receiver<Outbound>>,
    last_seq: i64,
    said_hello: bool,
    limits: FrameLimits,
    /// The credential, checked again at every `hello` (the session may have ended).
    token: String,
    /// The session's language: what this socket itself tells the child is in it.
    lang: Lang,
    /// This socket's place in the per-child and per-address counts, given back on drop.
    _slot: SocketSlot,
}

/// Why a connection loop ended.
enum End {
    Gone,
    Close(u16, &'static str),
}

impl Connection {
    async fn run(
        ctx: Ctx,
        socket: WebSocket,
        participant: Participant,
        token: String,
        slot: SocketSlot,
    ) {
        let conn_id = ctx.rooms.connection_id();
        Metrics::add(&ctx.metrics.websocket_connections, 1);
        let lang = join::language_of_group(&ctx, participant.group_id)
            .await
            .unwrap_or(Lang::En);
        let mut conn = Connection {
            ctx: ctx.clone(),
            socket,
            participant,
            conn_id,
            events: None,
            last_seq: 0,
            said_hello: false,
            limits: FrameLimits::new(Instant::now()),
            token,
            lang,
            _slot: slot,
        };
        let end = conn.serve().await;
        if let End::Close(code, reason) = end {
            let _ = conn
                .socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
        ctx.rooms.leave(conn.participant.group_id, conn_id).await;
        Metrics::add(&ctx.metrics.websocket_connections, -1);
    }

    async fn serve(&mut self) -> End {
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                incoming = self.socket.recv() => {
                    last_heard = Instant::now();
                    match incoming {
                        None | Some(Ok(Message::Close(_))) => return End::Gone,
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "socket read failed");
                            // tungstenite refuses frames over its limit with an error: still a 1009.
                            return End::Close(CLOSE_TOO_BIG, "frame too big");
                        }
                        Some(Ok(Message::Text(text))) => {
                            if text.len() > MAX_FRAME_BYTES {
                                return End::Close(CLOSE_TOO_BIG, "frame over 16 KiB");
                            }
                            if let Some(end) = self.on_text(&text).await {
                                return end;
                            }
                        }
                        Some(Ok(Message::Binary(bytes))) => {
                            if bytes.len() > MAX_FRAME_BYTES {
                                return End::Close(CLOSE_TOO_BIG, "frame over 16 KiB");
                            }
                            match self.limited(FrameKind::Bad).await {
                                None => {
                                    self.error(ErrorFrame::new(ErrorCode::BadRequest, child_text::FRAMES_ARE_JSON)).await.ok();
                                }
                                Some(None) => {}
                                Some(Some(end)) => return end,
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    }
                }
                event = next_event(&mut self.events) => {
                    if let Err(end) = self.on_event(event).await {
                        return end;
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > IDLE_TIMEOUT {
                        return End::Close(CLOSE_GOING_AWAY, "idle");
                    }
                    if self.socket.send(Message::Ping(Default::default())).await.is_err() {
                        return End::Gone;
                    }
                }
            }
        }
    }

    /// Applies the frame limits to one frame of `kind`: None to go on with it, or why not
    /// (`Some(None)`: dropped or refused, the connection stays; `Some(Some(end))`: closed).
    async fn limited(&mut self, kind: FrameKind) -> Option<Option<End>> {
        let verdict = self.limits.check(kind, Instant::now());
        self.verdict(verdict, None).await
    }

    /// Acts on a verdict; `None` lets the frame through, `Some(end)` stops it, ending the
    /// connection if `end` is `Some`.
    async fn verdict(&mut self, verdict: Verdict, send_id: Option<&str>) -> Option<Option<End>> {
        match verdict {
            Verdict::Pass => None,
            Verdict::Drop => Some(None),
            Verdict::Refuse(wait) => {
                let wait_ms = wait.as_millis().max(1) as u64;
                let mut e =
                    ErrorFrame::new(ErrorCode::RateLimited, child_text::slow_down(self.lang));
                e.retry_after_ms = Some(wait_ms);
                if let Some(id) = send_id {
                    e = e.for_send(id);
                }
                Some(self.error(e).await.err())
            }
            Verdict::Close => {
                tracing::warn!(
                    participant = self.participant.id,
                    "closing a chat socket that kept sending after rate_limited"
                );
                Some(Some(End::Close(CLOSE_ABUSE, "rate limited")))
            }
        }
    }

    /// Handles one client frame; `Some` ends the connection.
    async fn on_text(&mut self, text: &str) -> Option<End> {
        let frame = match parse_client_frame(text) {
            Ok(f) => f,
            Err(why) => {
                return match self.limited(FrameKind::Bad).await {
                    None => self
                        .error(ErrorFrame::new(ErrorCode::BadRequest, why))
                        .await
                        .err(),
                    Some(stop) => stop,
                };
            }
        };
        let now = Instant::now();
        let verdict = match &frame {
            ClientFrame::Hello { .. } => self.limits.check(FrameKind::Hello, now),
            ClientFrame::Ping {} => self.limits.check(FrameKind::Ping, now),
            _ if !self.said_hello => self.limits.check(FrameKind::Bad, now),
            ClientFrame::Typing { on } => self.limits.typing(*on, now),
            // A help request counts like a message against the socket's flood limit; the room
            // has its own, stricter limit per child.
            ClientFrame::Send { .. } | ClientFrame::Help { .. } => {
                self.limits.check(FrameKind::Send, now)
            }
        };
        let send_id = match &frame {
            ClientFrame::Send { client_msg_id, .. } => Some(client_msg_id.clone()),
            _ => None,
        };
        if let Some(stop) = self.verdict(verdict, send_id.as_deref()).await {
            return stop;
        }
        let group_id = self.participant.group_id;
        let sent = match frame {
            ClientFrame::Hello { v, last_seq } => {
                if v != PROTOCOL_VERSION {
                    let e = ErrorFrame::new(
                        ErrorCode::UnsupportedVersion,
                        child_text::protocol_version(PROTOCOL_VERSION),
                    );
                    return self.error(e).await.err();
                }
                return self.hello(last_seq).await.err();
            }
            ClientFrame::Ping {} => self.send_text(ServerFrame::Pong.to_json().into()).await,
            _ if !self.said_hello => {
                self.error(ErrorFrame::new(
                    ErrorCode::NotReady,
                    child_text::SAY_HELLO_FIRST,
                ))
                .await
            }
            ClientFrame::Typing { on } => {
                self.ctx
                    .rooms
                    .typing(group_id, self.participant.id, on)
                    .await;
                Ok(())
            }
            ClientFrame::Send {
                client_msg_id,
                text,
                reply_to,
            } => {
                let request = SendRequest {
                    participant_id: self.participant.id,
                    client_msg_id: client_msg_id.clone(),
                    text,
                    reply_to,
                };
                match self.ctx.rooms.send_message(group_id, request).await {
                    Ok(ack) => {
                        let frame = ServerFrame::Ack {
                            client_msg_id,
                            seq: ack.seq,
                            duplicate: ack.duplicate,
                        };
                        self.send_text(frame.to_json().into()).await
                    }
                    Err(RoomError::Refused(e)) => self.error(e).await,
                    Err(unavailable @ RoomError::Unavailable(_)) => {
                        tracing::error!(error = %unavailable, "room unavailable");
                        let e = ErrorFrame::new(
                            ErrorCode::Internal,
                            child_text::will_send_again(self.lang),
                        )
                        .for_send(&client_msg_id);
                        self.error(e).await
                    }
                }
            }
            // Accepted, the room tells every connection of this child (`help_sent`).
            ClientFrame::Help { note } => {
                match self
                    .ctx
                    .rooms
                    .help(group_id, self.participant.id, note)
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(RoomError::Refused(e)) => self.error(e).await,
                    Err(unavailable @ RoomError::Unavailable(_)) => {
                        tracing::error!(error = %unavailable, "room unavailable");
                        let e = ErrorFrame::new(
                            ErrorCode::Internal,
                            child_text::help_not_sent(self.lang),
                        )
                        .for_help();
                        self.error(e).await
                    }
                }
            }
        };
        sent.err()
    }

    async fn hello(&mut self, last_seq: i64) -> Result<(), End> {
        // The session may have ended since the socket opened: no replay after the end.
        if !matches!(
            join::credential(&self.ctx, &self.token).await,
            Credential::Valid(_)
        ) {
            self.error(ErrorFrame::new(
                ErrorCode::Unauthorized,
                child_text::chat_ended(self.lang),
            ))
            .await?;
            return Err(End::Close(CLOSE_UNAUTHORIZED, "ended"));
        }
        let welcome = match self
            .ctx
            .rooms
            .hello(
                self.participant.group_id,
                self.conn_id,
                self.participant.clone(),
                last_seq,
            )
            .await
        {
            Ok(w) => w,
            Err(RoomError::Refused(e)) => {
                let unauthorized = e.code == ErrorCode::Unauthorized;
                self.error(e).await?;
                return if unauthorized {
                    Err(End::Close(CLOSE_UNAUTHORIZED, "unauthorized"))
                } else {
                    Ok(())
                };
            }
            Err(unavailable @ RoomError::Unavailable(_)) => {
                tracing::error!(error = %unavailable, "room unavailable");
                return Err(End::Close(CLOSE_GOING_AWAY, "room unavailable"));
            }
        };
        self.send_text(super::ws_text(welcome.welcome)).await?;
        self.last_seq = last_seq.max(0);
        for out in welcome.replay {
            self.last_seq = out.seq.unwrap_or(self.last_seq);
            self.send_text(super::ws_text(out.json)).await?;
        }
        self.last_seq = self.last_seq.max(welcome.last_seq);
        self.send_text(super::ws_text(welcome.synced)).await?;
        self.events = Some(welcome.events);
        self.said_hello = true;
        Ok(())
    }

    async fn on_event(
        &mut self,
        event: Result<Outbound, broadcast::error::RecvError>,
    ) -> Result<(), End> {
        match event {
            Ok(out) => {
                if out.skip_participant == Some(self.participant.id)
                    || out
                        .only_participant
                        .is_some_and(|only| only != self.participant.id)
                {
                    return Ok(());
                }
                if let Some(seq) = out.seq {
                    self.last_seq = self.last_seq.max(seq);
                }
                self.send_text(super::ws_text(out.json)).await
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Too slow to keep up: say so and stop the live stream until the client
                // says hello again and catches up from the store.
                tracing::debug!(
                    missed,
                    participant = self.participant.id,
                    "connection lagged, asking for resync"
                );
                Metrics::inc(&self.ctx.metrics.resyncs);
                self.events = None;
                let frame = ServerFrame::Resync {
                    reason: "lagged".into(),
                    from_seq: self.last_seq,
                };
                self.send_text(frame.to_json().into()).await
            }
            Err(broadcast::error::RecvError::Closed) => {
                // The room stopped under us (it should not while we are connected): let the
                // client catch up through a fresh hello.
                self.events = None;
                let frame = ServerFrame::Resync {
                    reason: "room_restarted".into(),
                    from_seq: self.last_seq,
                };
                self.send_text(frame.to_json().into()).await
            }
        }
    }

    async fn error(&mut self, e: ErrorFrame) -> Result<(), End> {
        self.send_text(ServerFrame::Error(e).to_json().into()).await
    }

    async fn send_text(&mut self, text: Utf8Bytes) -> Result<(), End> {
        self.socket
            .send(Message::Text(text))
            .await
            .map_err(|_| End::Gone)
    }
}

async fn next_event(
    events: &mut Option<broadcast::Receiver<Outbound>>,
) -> Result<Outbound, broadcast::error::RecvError> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_origin_may_open_a_socket() {
        let public = "http://127.0.0.1:8080";
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            public
        ));
        assert!(origin_allowed(
            &headers(Some("http://school.local:8080"), "school.local:8080"),
            public
        ));
        assert!(origin_allowed(&headers(None, "127.0.0.1:8080"), public));
        assert!(!origin_allowed(
            &headers(Some("http://evil.example"), "127.0.0.1:8080"),
            public
        ));
        assert!(!origin_allowed(
            &headers(Some("null"), "127.0.0.1:8080"),
            public
        ));
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:8080.evil.example"), "127.0.0.1:8080"),
            public
        ));
    }
}
