//! The chat over real sockets: join, send, broadcast order, resume, idempotent retries, and
//! every bad input of docs/protocol.md.

mod common;

use std::time::Duration;

use common::server::TestServer;
use common::socket::{
    self, closed_with, join, message_seqs, next, next_kind, say, send, Child, Served, Ws, ROOM_LIFE,
};
use common::WAIT;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// Connects to a group's chat socket.
async fn connect(
    srv: &TestServer,
    group: i64,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    socket::connect(&srv.ws_url(group), cookie, origin).await
}

/// The next frame of `kind`; only the room's own life (presence, typing, phase) may come first.
async fn next_skipping_room_life(ws: &mut Ws, kind: &str) -> Value {
    next_kind(ws, &[kind], ROOM_LIFE).await
}

/// Says hello as `child`, who must be welcomed as themselves (only the room's own life before
/// the welcome); the socket after `synced` and the replayed messages.
async fn hello(srv: &TestServer, group: i64, child: &Child, last_seq: i64) -> (Ws, Vec<Value>) {
    let (ws, frames) = socket::hello(srv, group, &child.cookie, last_seq).await;
    let welcome = frames
        .iter()
        .position(|f| f["type"] == "welcome")
        .expect("a welcome before synced");
    for f in &frames[..welcome] {
        assert!(
            ROOM_LIFE.contains(&f["type"].as_str().unwrap_or("")),
            "expected welcome, got {f}"
        );
    }
    assert_eq!(frames[welcome]["you"]["id"], child.id);
    let replay = frames
        .into_iter()
        .filter(|f| f["type"] == "message")
        .collect();
    (ws, replay)
}

/// A chat-only server with one running group that Mia and Leo joined (not yet connected).
async fn mia_and_leo() -> (TestServer, i64, Child, Child) {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let (g, code) = (groups[0].id, groups[0].join_code.clone());
    let mia = join(&srv, &code, "Mia").await;
    let leo = join(&srv, &code, "Leo").await;
    (srv, g, mia, leo)
}

#[tokio::test]
async fn three_children_see_every_message_in_seq_order() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let (g, code) = (groups[0].id, groups[0].join_code.clone());
    let mut children = Vec::new();
    for name in ["Mia", "Leo", "Zoë"] {
        children.push(join(&srv, &code, name).await);
    }
    let mut sockets = Vec::new();
    for c in &children {
        sockets.push(hello(&srv, g, c, 0).await.0);
    }
    // Everyone talks at once.
    let mut senders = Vec::new();
    for (i, mut ws) in sockets.into_iter().enumerate() {
        senders.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut acked = 0;
            let mut next_to_send = 0;
            // A little over the rate limit's allowance would be refused: 4 each is plenty here.
            while seen.len() < 12 || acked < 4 {
                if next_to_send < 4 && next_to_send == acked {
                    send(&mut ws, json!({"type": "send", "client_msg_id": format!("c{i}-{next_to_send}"), "text": format!("child {i} idea {next_to_send}")})).await;
                    next_to_send += 1;
                }
                let f = next(&mut ws).await;
                match f["type"].as_str() {
                    Some("message") => seen.push(f),
                    Some("ack") => {
                        assert_eq!(f["duplicate"], false);
                        acked += 1;
                    }
                    Some("presence" | "typing" | "phase") => {}
                    _ => panic!("unexpected {f}"),
                }
            }
            (i, seen)
        }));
    }
    let mut orders = Vec::new();
    for s in senders {
        let (_, seen) = s.await.unwrap();
        let seqs: Vec<i64> = seen.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=12).collect::<Vec<_>>(),
            "every client sees 1..=12 in order"
        );
        orders.push(
            seen.iter()
                .map(|m| m["client_msg_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "all clients see the same order"
    );
    let stored = srv.store().messages_after(g, 0, 100).await.unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|m| m.client_msg_id.clone())
            .collect::<Vec<_>>(),
        orders[0]
    );
}

#[tokio::test]
async fn a_reconnecting_child_gets_what_it_missed_then_live_messages() {
    let (srv, g, mia, leo) = mia_and_leo().await;
    let (mut mia_ws, _) = hello(&srv, g, &mia, 0).await;
    let (mut leo_ws, _) = hello(&srv, g, &leo, 0).await;
    assert_eq!(say(&mut mia_ws, "m1", "first").await["seq"], 1);
    let seen = next_skipping_room_life(&mut leo_ws, "message").await;
    assert_eq!(seen["seq"], 1);
    // Leo's Wi-Fi drops.
    drop(leo_ws);
    for i in 2..=4 {
        assert_eq!(
            say(
                &mut mia_ws,
                &format!("m{i}"),
                &format!("while Leo was away {i}")
            )
            .await["seq"],
            i
        );
    }
    let (mut leo_ws, replay) = hello(&srv, g, &leo, 1).await;
    assert_eq!(
        replay
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(replay[0]["sender"]["name"], "Mia");
    assert_eq!(replay[0]["text"], "while Leo was away 2");
    // And live again.
    say(&mut mia_ws, "m5", "welcome back").await;
    assert_eq!(
        next_skipping_room_life(&mut leo_ws, "message").await["seq"],
        5
    );
    // The same credential survives: Leo is still Leo.
    let (_, replay) = hello(&srv, g, &leo, 0).await;
    assert_eq!(replay.len(), 5);
}

#[tokio::test]
async fn a_retried_send_is_stored_once() {
    let (srv, g, mia, leo) = mia_and_leo().await;
    let (mut mia_ws, _) = hello(&srv, g, &mia, 0).await;
    let (mut leo_ws, _) = hello(&srv, g, &leo, 0).await;
    let first = say(&mut mia_ws, "same-id", "a slide with a ramp").await;
    assert_eq!(
        (first["seq"].as_i64(), first["duplicate"].as_bool()),
        (Some(1), Some(false))
    );
    let again = say(&mut mia_ws, "same-id", "a slide with a ramp").await;
    assert_eq!(
        (again["seq"].as_i64(), again["duplicate"].as_bool()),
        (Some(1), Some(true))
    );
    // After a reconnect (the room's memory is not what answers: the store is).
    drop(mia_ws);
    let (mut mia_ws, _) = hello(&srv, g, &mia, 1).await;
    assert_eq!(
        say(&mut mia_ws, "same-id", "a slide with a ramp").await["duplicate"],
        true
    );
    say(&mut mia_ws, "other-id", "next").await;
    // Leo saw the message once, then the next one.
    assert_eq!(
        next_skipping_room_life(&mut leo_ws, "message").await["seq"],
        1
    );
    assert_eq!(
        next_skipping_room_life(&mut leo_ws, "message").await["seq"],
        2
    );
    assert_eq!(srv.store().message_count(g).await.unwrap(), 2);
}

#[tokio::test]
async fn bad_frames_get_error_codes_and_the_connection_stays_open() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let (g, code) = (groups[0].id, groups[0].join_code.clone());
    let mia = join(&srv, &code, "Mia").await;
    let mut ws = connect(&srv, g, Some(&mia.cookie), Some(&srv.base))
        .await
        .unwrap();

    send(
        &mut ws,
        json!({"type": "send", "client_msg_id": "x", "text": "too early"}),
    )
    .await;
    assert_eq!(next(&mut ws).await["code"], "not_ready");
    send(&mut ws, json!({"type": "hello", "v": 2})).await;
    assert_eq!(next(&mut ws).await["code"], "unsupported_version");
    send(&mut ws, json!({"type": "hello", "v": 1, "last_seq": 0})).await;
    next_skipping_room_life(&mut ws, "welcome").await;
    next_skipping_room_life(&mut ws, "synced").await;

    ws.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(
        next_skipping_room_life(&mut ws, "error").await["code"],
        "bad_request"
    );
    send(&mut ws, json!({"type": "shout", "text": "hi"})).await;
    assert_eq!(
        next_skipping_room_life(&mut ws, "error").await["code"],
        "bad_request"
    );
    send(&mut ws, json!({"type": "send", "text": "no id"})).await;
    assert_eq!(
        next_skipping_room_life(&mut ws, "error").await["code"],
        "bad_request"
    );

    let too_long = say(&mut ws, "long", &"a".repeat(501)).await;
    assert_eq!(
        (
            too_long["code"].as_str(),
            too_long["client_msg_id"].as_str()
        ),
        (Some("message_too_long"), Some("long"))
    );
    for (id, empty) in [("e1", ""), ("e2", "   \n\t ")] {
        assert_eq!(say(&mut ws, id, empty).await["code"], "empty_message");
    }
    // 500 characters (emoji count as one each) are fine.
    let max = "🎢".repeat(500);
    assert_eq!(say(&mut ws, "max", &max).await["type"], "ack");
    assert_eq!(say(&mut ws, "", "no id").await["code"], "bad_request");
    assert_eq!(
        say(&mut ws, &"i".repeat(65), "long id").await["code"],
        "bad_request"
    );

    // Rate limit: 5 in 10 s (one used above).
    for i in 0..4 {
        assert_eq!(
            say(&mut ws, &format!("r{i}"), "quick").await["type"],
            "ack",
            "message {i}"
        );
    }
    let limited = say(&mut ws, "r5", "one too many").await;
    assert_eq!(limited["code"], "rate_limited");
    let retry = limited["retry_after_ms"].as_u64().unwrap();
    assert!(retry > 0 && retry <= 10_000, "{retry}");

    // Still open and working after all that.
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(
        next_skipping_room_life(&mut ws, "pong").await["type"],
        "pong"
    );
    // Nothing refused was stored.
    let stored = srv.store().messages_after(g, 0, 100).await.unwrap();
    assert_eq!(stored.len(), 5);
    assert!(stored
        .iter()
        .all(|m| m.client_msg_id == "max" || m.client_msg_id.starts_with('r')));
}

#[tokio::test]
async fn a_frame_over_16_kib_closes_with_1009() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let mia = join(&srv, &groups[0].join_code, "Mia").await;
    let (mut ws, _) = hello(&srv, groups[0].id, &mia, 0).await;
    let huge = json!({"type": "send", "client_msg_id": "big", "text": "x".repeat(17 * 1024)});
    send(&mut ws, huge).await;
    assert_eq!(closed_with(&mut ws).await, Some(u16::from(CloseCode::Size)));
    assert_eq!(srv.store().message_count(groups[0].id).await.unwrap(), 0);
    // A frame of several MiB (over the transport's own limit) closes too, without harm.
    let (mut ws, _) = hello(&srv, groups[0].id, &mia, 0).await;
    let _ = ws
        .send(Message::Text("y".repeat(3 * 1024 * 1024).into()))
        .await;
    assert!(matches!(closed_with(&mut ws).await, Some(1009) | None));
}

#[tokio::test]
async fn credentials_are_checked_before_anything_is_shown() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(2).await;
    let mia = join(&srv, &groups[0].join_code, "Mia").await;
    let (mut mia_ws, _) = hello(&srv, groups[0].id, &mia, 0).await;
    say(&mut mia_ws, "secret", "only for group 1").await;

    // No credential.
    let mut ws = connect(&srv, groups[0].id, None, None).await.unwrap();
    assert_eq!(next(&mut ws).await["code"], "unauthorized");
    assert_eq!(closed_with(&mut ws).await, Some(4001));
    // Mia's credential for another group.
    let mut ws = connect(&srv, groups[1].id, Some(&mia.cookie), Some(&srv.base))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await["code"], "unauthorized");
    assert_eq!(closed_with(&mut ws).await, Some(4001));
    // A forged token.
    let forged = format!("pl_child={}", "ab".repeat(32));
    let mut ws = connect(&srv, groups[0].id, Some(&forged), None)
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await["code"], "unauthorized");
    // No group in the URL.
    let mut req = format!("ws://{}/ws", srv.server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("cookie", mia.cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(next(&mut ws).await["code"], "unauthorized");
    // Another site's page trying to ride Mia's cookie: refused before the upgrade.
    let err = connect(
        &srv,
        groups[0].id,
        Some(&mia.cookie),
        Some("http://evil.example"),
    )
    .await
    .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 403),
        other => panic!("expected an HTTP 403, got {other:?}"),
    }
}

#[tokio::test]
async fn joining_refuses_bad_codes_names_and_bodies() {
    let srv = TestServer::start().await;
    let (session, groups) = srv.running_session(1).await;
    let code = groups[0].join_code.clone();
    join(&srv, &code, "Mia").await;
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(format!("{}/api/join", srv.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        (
            json!({"code": "ZZZZZZ", "nickname": "Leo", "avatar": "🦊"}),
            404,
            "unknown_code",
        ),
        (
            json!({"code": code, "nickname": "mia", "avatar": "🐼"}),
            409,
            "nickname_taken",
        ),
        (
            json!({"code": code, "nickname": "Blue", "avatar": "🐼"}),
            400,
            "bad_nickname",
        ),
        (
            json!({"code": code, "nickname": "", "avatar": "🐼"}),
            400,
            "bad_nickname",
        ),
        (
            json!({"code": code, "nickname": "x".repeat(21), "avatar": "🐼"}),
            400,
            "bad_nickname",
        ),
        (
            json!({"code": code, "nickname": "Leo", "avatar": "<script>"}),
            400,
            "bad_avatar",
        ),
        (json!({"code": code}), 400, "bad_request"),
    ];
    for (body, status, error) in cases {
        let resp = post(body.to_string()).await.unwrap();
        assert_eq!(resp.status(), status, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], error, "{body}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(post("not json".into()).await.unwrap().status(), 400);
    // An ended session's code opens nothing.
    srv.store()
        .set_session_status(session.id, peerlearn::store::SessionStatus::Ended, 1)
        .await
        .unwrap();
    let resp = post(json!({"code": code, "nickname": "Ana", "avatar": "🦊"}).to_string())
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        srv.store().participants(groups[0].id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn presence_and_typing_reach_the_others() {
    let (srv, g, mia, leo) = mia_and_leo().await;
    let (mut mia_ws, _) = hello(&srv, g, &mia, 0).await;
    let (leo_ws, _) = hello(&srv, g, &leo, 0).await;
    let mut leo_ws = leo_ws;
    loop {
        let p = next_skipping_room_life(&mut mia_ws, "presence").await;
        if p["online"].as_array().unwrap().len() == 2 {
            break;
        }
    }
    send(&mut leo_ws, json!({"type": "typing", "on": true})).await;
    let t = next_skipping_room_life(&mut mia_ws, "typing").await;
    assert_eq!(
        (t["nickname"].as_str(), t["on"].as_bool()),
        (Some("Leo"), Some(true))
    );
    drop(leo_ws);
    loop {
        let p = next_skipping_room_life(&mut mia_ws, "presence").await;
        let online = p["online"].as_array().unwrap();
        if online.len() == 1 {
            assert_eq!(online[0]["nickname"], "Mia");
            break;
        }
    }
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_to_resync() {
    // A tiny live queue makes a slow reader overflow quickly.
    let srv = TestServer::builder()
        .rooms(|r| r.broadcast_capacity = 4)
        .start()
        .await;
    let (_, groups) = srv.running_session(1).await;
    let (g, code) = (groups[0].id, groups[0].join_code.clone());
    let (slow, fast) = (
        join(&srv, &code, "Slow").await,
        join(&srv, &code, "Fast").await,
    );
    // The slow tablet: a tiny receive buffer, and it stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let stream = socket.connect(srv.server.addr).await.unwrap();
    let mut req = srv.ws_url(g).into_client_request().unwrap();
    req.headers_mut()
        .insert("cookie", slow.cookie.parse().unwrap());
    let (mut slow_ws, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    send(
        &mut slow_ws,
        json!({"type": "hello", "v": 1, "last_seq": 0}),
    )
    .await;
    next_skipping_room_life(&mut slow_ws, "welcome").await;
    next_skipping_room_life(&mut slow_ws, "synced").await;

    let (mut fast_ws, _) = hello(&srv, g, &fast, 0).await;
    // A cheap flood of live frames, straight into the room: a socket's own typing frames are
    // coalesced and rate limited (tests/abuse.rs), so they would not overflow anything.
    for i in 0..5000 {
        srv.server
            .context
            .rooms
            .typing(g, fast.id, i % 2 == 0)
            .await;
    }
    let stored = say(&mut fast_ws, "after-flood", "still here").await;
    assert_eq!(stored["seq"], 1);

    // Now the slow client reads: somewhere in its backlog is a resync, never a silent gap.
    let resync = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let f = next(&mut slow_ws).await;
            if f["type"] == "resync" {
                return f;
            }
        }
    })
    .await
    .expect("a resync frame");
    assert_eq!(resync["reason"], "lagged");
    let from = resync["from_seq"].as_i64().unwrap();
    let replayed = message_seqs(&socket::say_hello(&mut slow_ws, from).await);
    // Whatever it had not seen of the stored messages comes from the store.
    assert!(
        from == 1 || replayed == vec![1],
        "from {from}, replayed {replayed:?}"
    );
    assert!(
        srv.server
            .context
            .metrics
            .resyncs
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

/// A muted child cannot lift the mute: not by saying hello again on the same socket (as the
/// page does on `resync`), not by reconnecting. The room's copy of the child is the truth.
#[tokio::test]
async fn a_mute_survives_hellos_reconnects_and_resyncs() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let (g, code) = (groups[0].id, groups[0].join_code.clone());
    let mia = join(&srv, &code, "Mia").await;
    let (mut ws, _) = hello(&srv, g, &mia, 0).await;
    let until = peerlearn::store::now_ms() + 60_000;
    srv.server
        .context
        .rooms
        .facilitator(
            g,
            peerlearn::room::FacilitatorCommand::Mute {
                participant_id: mia.id,
                until_ms: Some(until),
                audit: common::audit_entry(1, "mute", g, until),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next_skipping_room_life(&mut ws, "muted").await["until_ms"],
        until
    );
    // The page says hello again on the same socket.
    send(&mut ws, json!({"type": "hello", "v": 1, "last_seq": 0})).await;
    let welcome = next_skipping_room_life(&mut ws, "welcome").await;
    assert!(welcome["muted_for_s"].as_i64().unwrap() > 0, "{welcome}");
    next_skipping_room_life(&mut ws, "synced").await;
    let refused = say(&mut ws, "m-1", "let me talk").await;
    assert_eq!(refused["code"], "muted", "{refused}");
    // A new socket (a reload, a second tab).
    let (mut again, _) = hello(&srv, g, &mia, 0).await;
    let refused = say(&mut again, "m-2", "let me talk").await;
    assert_eq!(refused["code"], "muted", "{refused}");
}

/// SIGTERM's path: the server stops in a bounded time even with a connection whose request
/// headers never finish, and a connected child is told to reconnect, not left hanging.
#[tokio::test]
async fn stopping_the_server_is_bounded_and_tells_pages_to_reconnect() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let (g, code) = (groups[0].id, groups[0].join_code.clone());
    let mia = join(&srv, &code, "Mia").await;
    let (mut ws, _) = hello(&srv, g, &mia, 0).await;
    let ack = say(&mut ws, "s-1", "before the stop").await;
    assert_eq!(ack["type"], "ack");
    let mut stuck = tokio::net::TcpStream::connect(srv.server.addr)
        .await
        .unwrap();
    stuck
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let TestServer { server, .. } = srv;
    let stopping = tokio::spawn(server.stop());
    // The page hears that its room is gone (resync, then the socket closes when the hello
    // finds no room), so it reconnects by itself to the next server.
    let mut told = false;
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let f: Value = serde_json::from_str(&t).unwrap();
                if f["type"] == "resync" {
                    told = true;
                    send(&mut ws, json!({"type": "hello", "v": 1, "last_seq": 1})).await;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break,
            Err(_) => panic!("the socket stayed open after the server stopped"),
        }
    }
    assert!(told, "the page was told to resync");
    tokio::time::timeout(Duration::from_secs(30), stopping)
        .await
        .expect("stop() returns within its grace periods")
        .unwrap()
        .unwrap();
    drop(stuck);
}
