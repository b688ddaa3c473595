//! A child over real HTTP and a real socket, as the chat page does it: join with a code,
//! connect, say hello, send frames and read them back.

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::server::TestServer;
use super::WAIT;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where a test's server answers: a [`TestServer`] in this process, or the base URL
/// (`http://127.0.0.1:PORT`) of a `peerlearn serve` the test started as a child process.
pub trait Served {
    fn base(&self) -> &str;

    /// The chat socket of a group.
    fn ws_url(&self, group_id: i64) -> String {
        let base = self.base();
        let host = base.strip_prefix("http://").unwrap_or(base);
        format!("ws://{host}/ws?group={group_id}")
    }
}

impl Served for TestServer {
    fn base(&self) -> &str {
        &self.base
    }
}

impl Served for str {
    fn base(&self) -> &str {
        self
    }
}

impl Served for String {
    fn base(&self) -> &str {
        self
    }
}

/// A child who joined: their credential cookie (`name=value`), participant id and group.
pub struct Child {
    pub cookie: String,
    pub id: i64,
    pub group: i64,
}

/// `POST /api/join` as the page's script sends it (JSON, its own Origin), with `http` (a
/// test that tells addresses apart brings its own client).
pub async fn join_attempt(
    http: &reqwest::Client,
    at: &(impl Served + ?Sized),
    code: &str,
    nickname: &str,
) -> reqwest::Response {
    http.post(format!("{}/api/join", at.base()))
        .header("origin", at.base())
        .json(&json!({"code": code, "nickname": nickname, "avatar": "🦊"}))
        .send()
        .await
        .unwrap()
}

/// `POST /join` as the join page's form sends it without its script (the fox avatar picked).
pub async fn join_form(
    http: &reqwest::Client,
    at: &(impl Served + ?Sized),
    code: &str,
    nickname: &str,
) -> reqwest::Response {
    http.post(format!("{}/join", at.base()))
        .form(&[("code", code), ("nickname", nickname), ("avatar", "🦊")])
        .send()
        .await
        .unwrap()
}

/// Joins a group with its code; the credential cookie must be HttpOnly and SameSite=Strict.
pub async fn join(at: &(impl Served + ?Sized), code: &str, nickname: &str) -> Child {
    let resp = join_attempt(&super::http::client(), at, code, nickname).await;
    assert_eq!(resp.status(), 200, "join {nickname}");
    let set_cookie = super::http::set_cookie(&resp).expect("a credential cookie");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = super::http::cookie_of(&resp);
    let body: Value = resp.json().await.unwrap();
    Child {
        cookie,
        id: body["participant"]["id"].as_i64().unwrap(),
        group: body["group_id"].as_i64().unwrap(),
    }
}

/// Opens a socket at `url` with an optional cookie and Origin header.
pub async fn connect(
    url: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = url.into_client_request().unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Connects to a group's chat socket as its page does (the cookie, the server's own Origin),
/// says hello with `last_seq` and reads up to `synced`: the socket, and every frame before
/// `synced` (the welcome, the replayed messages, the room's own life).
pub async fn hello(
    at: &(impl Served + ?Sized),
    group: i64,
    cookie: &str,
    last_seq: i64,
) -> (Ws, Vec<Value>) {
    let mut ws = connect(&at.ws_url(group), Some(cookie), Some(at.base()))
        .await
        .unwrap();
    let frames = say_hello(&mut ws, last_seq).await;
    (ws, frames)
}

/// Says hello with `last_seq` on an open socket (as the page does again after `resync`) and
/// reads up to `synced`: every frame before it.
pub async fn say_hello(ws: &mut Ws, last_seq: i64) -> Vec<Value> {
    send(ws, json!({"type": "hello", "v": 1, "last_seq": last_seq})).await;
    let mut frames = Vec::new();
    loop {
        let f = next(ws).await;
        if f["type"] == "synced" {
            return frames;
        }
        frames.push(f);
    }
}

/// A child's socket that has said hello and is synced, nothing replayed.
pub async fn child_socket(at: &(impl Served + ?Sized), group: i64, cookie: &str) -> Ws {
    hello(at, group, cookie, 0).await.0
}

/// The seqs of the `message` frames among `frames` (what a hello replayed).
pub fn message_seqs(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect()
}

pub async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON frame (pings are answered by tungstenite itself).
pub async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next frame of `kind`, collecting everything seen on the way (anything may come first).
pub async fn next_of(ws: &mut Ws, kind: &str, seen: &mut Vec<Value>) -> Value {
    loop {
        let f = next(ws).await;
        seen.push(f.clone());
        if f["type"] == kind {
            return f;
        }
    }
}

/// The frames of the room's own life, which come whenever the room lives: who is online, who
/// is typing, the phase clock.
pub const ROOM_LIFE: &[&str] = &["presence", "typing", "phase"];

/// The room's own life and, on a dashboard, the group's other news: what may come between the
/// frames a test waits for on either kind of socket.
pub const LIFE: &[&str] = &[
    "presence",
    "typing",
    "phase",
    "participant",
    "agent",
    "decision",
];

/// The next frame of one of `kinds`; on the way only frames of `skip` may come (a test that
/// must see nothing else says so).
pub async fn next_kind(ws: &mut Ws, kinds: &[&str], skip: &[&str]) -> Value {
    loop {
        let f = next(ws).await;
        let kind = f["type"].as_str().unwrap_or("");
        if kinds.contains(&kind) {
            return f;
        }
        assert!(
            skip.contains(&kind),
            "unexpected {f} while waiting for {kinds:?}"
        );
    }
}

/// Reads until the server closes the socket: the close code, or None when the connection just
/// ended (no close frame).
pub async fn closed_with(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("close in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// Sends a chat message; returns its `ack` or `error` frame.
pub async fn say(ws: &mut Ws, id: &str, text: &str) -> Value {
    send(
        ws,
        json!({"type": "send", "client_msg_id": id, "text": text}),
    )
    .await;
    loop {
        let f = next(ws).await;
        if f["type"] == "ack" || f["type"] == "error" {
            return f;
        }
    }
}
