//! A child over real HTTP and a real socket, as the chat page does it: join with a code,
//! connect, send frames and read them back.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::server::TestServer;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(10);

/// A child who joined: their credential cookie (`name=value`) and participant id.
pub struct Child {
    pub cookie: String,
    pub id: i64,
}

/// Joins a group with its code; the credential cookie must be HttpOnly and SameSite=Strict.
pub async fn join(srv: &TestServer, code: &str, nickname: &str) -> Child {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/join", srv.base))
        .json(&json!({"code": code, "nickname": nickname, "avatar": "🦊"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "join {nickname}");
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    Child {
        cookie,
        id: body["participant"]["id"].as_i64().unwrap(),
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
