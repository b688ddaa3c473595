//! Abuse and limits, each tried over real HTTP and real sockets: CSV downloads that a
//! spreadsheet would run as formulas, cross-site joins, guessing join codes, full and locked
//! groups, slow clients, parallel sign-in attempts, floods of chat frames, credentials that
//! outlive their session, and the health and metrics routes.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::facilitator::{
    add_facilitator, facilitator, login_attempt, login_attempt_with, Fac, PASSWORD,
};
use common::http::{client, cookie_of};
use common::server::TestServer;
use common::session::new_session;
use common::socket::{
    self, child_socket, closed_with, connect, join_attempt, join_form, next, say, send, Served, Ws,
};
use futures::{SinkExt, StreamExt};
use peerlearn::store::{NewGroup, NewSession, SessionStatus};
use reqwest::header;
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// A client whose connections come from another loopback address (127.0.0.0/8 is all
/// loopback on Linux), to tell addresses apart.
fn client_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .local_address(addr.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A chat-only server from `builder`, with one running group.
async fn one_group(builder: common::server::Builder) -> (TestServer, Vec<peerlearn::store::Group>) {
    let srv = builder.start().await;
    let (_, groups) = srv.running_session(1).await;
    (srv, groups)
}

/// A session of this facilitator's with one group named `group_name`, still waiting for Start.
async fn owned_session(srv: &TestServer, fac: &Fac, group_name: &str) -> (i64, i64, String) {
    let (session, groups) = srv
        .store()
        .create_session(&NewSession {
            facilitator_id: Some(fac.id),
            groups: vec![NewGroup {
                name: group_name.into(),
                agent_role: peerlearn::store::AgentRole::None,
            }],
            ..new_session(&[])
        })
        .await
        .unwrap();
    (session.id, groups[0].id, groups[0].join_code.clone())
}

// ---------------------------------------------------------------------------------------------
// 1. CSV downloads

/// Every cell as a spreadsheet reads it: none may start a formula, unless it is a number the
/// product wrote itself (a negative `ms_since_start` stays a number).
fn assert_spreadsheet_safe(csv: &[u8], what: &str) -> Vec<HashMap<String, String>> {
    let csv = csv.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(csv);
    let mut reader = ::csv::Reader::from_reader(csv);
    let headers = reader.headers().unwrap().clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        for (column, cell) in headers.iter().zip(record.iter()) {
            if peerlearn_transcripts::spreadsheet::starts_like_formula(cell) {
                assert!(
                    cell.parse::<f64>().is_ok(),
                    "{what}: {column} = {cell:?} would run as a formula"
                );
            }
        }
        rows.push(
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    rows
}

#[tokio::test]
async fn csv_downloads_are_safe_to_open_in_a_spreadsheet() {
    let srv = TestServer::start().await;
    let fac = facilitator(&srv, "ms-lee").await;
    let (session, group, code) = owned_session(&srv, &fac, "+Tigers").await;
    let http = client();
    // Nicknames may not hold `=` or `@` (the join refuses markup), but `+` and `-` are
    // ordinary characters that a spreadsheet would still read as the start of a formula.
    let evil_name = "+Tigers fan";
    let mia = join_attempt(&http, &srv, &code, evil_name).await;
    assert_eq!(mia.status(), 200);
    let cookie = cookie_of(&mia);
    let mut ws = child_socket(&srv, group, &cookie).await;
    // Before the start (children may chat while the session waits): ms_since_start < 0.
    // A formula without a link (a link would be hidden by the safety screen anyway).
    let link = "=HYPERLINK(A1&B1,\"click me\")";
    for (i, text) in [
        link,
        "+1 for the slide",
        "-minus",
        "@everyone look",
        "plain",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(say(&mut ws, &format!("m{i}"), text).await["type"], "ack");
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    srv.store()
        .set_session_status(session, SessionStatus::Running, peerlearn::store::now_ms())
        .await
        .unwrap();

    let download = |query: &str| {
        http.get(format!(
            "{}/facilitator/sessions/{session}/export?{query}",
            srv.base
        ))
        .header(header::COOKIE, &fac.cookie)
        .send()
    };
    for query in ["format=csv", "format=csv&pseudonyms=nicknames"] {
        let resp = download(query).await.unwrap();
        assert_eq!(resp.status(), 200, "{query}");
        let rows = assert_spreadsheet_safe(&resp.bytes().await.unwrap(), query);
        assert_eq!(rows.len(), 5, "{query}");
        let first = &rows[0];
        assert_eq!(first["text"], format!("'{link}"), "{query}");
        assert_eq!(first["group_name"], "'+Tigers");
        let ms: i64 = first["ms_since_start"].parse().unwrap();
        assert!(ms < 0, "written before the start, a usable number: {ms}");
        assert_eq!(rows[2]["text"], "'-minus");
        assert_eq!(rows[4]["text"], "plain", "ordinary text is left alone");
        if query.contains("nicknames") {
            assert_eq!(first["speaker"], format!("'{evil_name}"));
        } else {
            assert_eq!(first["speaker"], "Child 1");
        }
    }
    for query in [
        "format=participation",
        "format=participation-speakers",
        "format=participation-speakers&pseudonyms=nicknames",
    ] {
        let resp = download(query).await.unwrap();
        assert_eq!(resp.status(), 200, "{query}");
        let rows = assert_spreadsheet_safe(&resp.bytes().await.unwrap(), query);
        assert!(!rows.is_empty());
        assert_eq!(rows[0]["group_name"], "'+Tigers", "{query}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Cross-site joins

#[tokio::test]
async fn api_join_refuses_cross_site_posts_and_other_content_types() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let code = &groups[0].join_code;
    let body = json!({"code": code, "nickname": "Mia", "avatar": "🦊"}).to_string();
    let post = |content_type: &'static str, extra: Option<(&'static str, &'static str)>| {
        let mut req = client()
            .post(format!("{}/api/join", srv.base))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.clone());
        if let Some((k, v)) = extra {
            req = req.header(k, v);
        }
        req.send()
    };
    // A page on another site posting with the browser's cookies: refused, nothing stored.
    for foreign in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ] {
        let resp = post("application/json", Some(foreign)).await.unwrap();
        assert_eq!(resp.status(), 403, "{foreign:?}");
        assert!(resp.headers().get(header::SET_COOKIE).is_none());
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "cross_site");
    }
    // A form (no preflight) cannot send JSON's type: other types are refused.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let resp = post(content_type, None).await.unwrap();
        assert_eq!(resp.status(), 415, "{content_type}");
    }
    assert!(srv
        .store()
        .participants(groups[0].id)
        .await
        .unwrap()
        .is_empty());
    // The page's own script (same origin, JSON) still joins.
    let resp = post(
        "application/json; charset=utf-8",
        Some(("sec-fetch-site", "same-origin")),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// 3. Guessing join codes, timing, locking

#[tokio::test]
async fn guessing_codes_is_limited_per_address_and_overall() {
    let (srv, groups) = one_group(TestServer::builder().limits(|l| {
        l.join_failures_per_address = 3;
        l.join_failures_per_minute = 5;
    }))
    .await;
    let code = groups[0].join_code.clone();
    let here = client();
    for i in 0..3 {
        let resp = join_attempt(&here, &srv, "ZZZZZZ", &format!("Guess{i}")).await;
        assert_eq!(resp.status(), 404);
    }
    // The address is locked out, and a right code does not tell it so.
    let resp = join_attempt(&here, &srv, &code, "Mia").await;
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((500..=600).contains(&wait), "{wait}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "too_many_tries");
    assert!(v["message"].as_str().unwrap().contains("10 minutes"), "{v}");
    // The form says it in words a child reads, with the same status.
    let page = join_form(&here, &srv, &code, "Mia").await;
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key(header::RETRY_AFTER));
    assert!(page.text().await.unwrap().contains("Too many tries"));

    // Another address still joins; two more failures there fill the overall limit (5 a
    // minute), and then nobody joins for a while.
    let there = client_from("127.0.0.2");
    assert_eq!(join_attempt(&there, &srv, &code, "Leo").await.status(), 200);
    for i in 0..2 {
        let resp = join_attempt(&there, &srv, "YYYYYY", &format!("G{i}")).await;
        assert_eq!(resp.status(), 404);
    }
    let elsewhere = client_from("127.0.0.3");
    let resp = join_attempt(&elsewhere, &srv, &code, "Ana").await;
    assert_eq!(resp.status(), 429, "the overall limit holds for everyone");
    let names: Vec<_> = srv
        .store()
        .participants(groups[0].id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.nickname)
        .collect();
    assert_eq!(names, ["Leo"]);
}

#[tokio::test]
async fn a_wrong_code_takes_as_long_as_a_right_one() {
    let (srv, groups) =
        one_group(TestServer::builder().limits(|l| l.join_failures_per_address = 100)).await;
    let code = groups[0].join_code.clone();
    let http = client();
    let mut right = Vec::new();
    let mut wrong = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        assert_eq!(
            join_attempt(&http, &srv, &code, &format!("Kid{i}"))
                .await
                .status(),
            200
        );
        right.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(
            join_attempt(&http, &srv, "ZZZZZZ", &format!("Kid{i}"))
                .await
                .status(),
            404
        );
        wrong.push(t.elapsed());
    }
    right.sort();
    wrong.sort();
    let (r, w) = (right[3], wrong[3]);
    assert!(
        w >= peerlearn::http::join::JOIN_MIN_DURATION,
        "a wrong code answers at once: {w:?}"
    );
    let gap = r.abs_diff(w);
    assert!(
        gap < Duration::from_millis(40),
        "right {r:?} and wrong {w:?} differ by {gap:?}"
    );
}

#[tokio::test]
async fn a_locked_group_takes_nobody_new_but_lets_its_children_back() {
    let srv = TestServer::start().await;
    let fac = facilitator(&srv, "ms-lee").await;
    let (_, group, code) = owned_session(&srv, &fac, "Group 1").await;
    let http = client();
    let mia = join_attempt(&http, &srv, &code, "Mia").await;
    assert_eq!(mia.status(), 200);
    let mia_cookie = cookie_of(&mia);
    let lock = |locked: bool, csrf: &str| {
        client()
            .post(format!("{}/api/facilitator/groups/{group}/lock", srv.base))
            .header(header::COOKIE, &fac.cookie)
            .header("x-csrf-token", csrf.to_string())
            .json(&json!({ "locked": locked }))
            .send()
    };
    assert_eq!(lock(true, "wrong").await.unwrap().status(), 403, "CSRF");
    let resp = lock(true, &fac.csrf).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["locked"], true);
    // The dashboard's snapshot shows it (the button reads it).
    let snapshot: Value = client()
        .get(format!(
            "{}/api/facilitator/sessions/{}/snapshot",
            srv.base,
            srv.store().group(group).await.unwrap().session_id
        ))
        .header(header::COOKIE, &fac.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snapshot["groups"][0]["locked"], true, "{snapshot}");

    // Somebody new: refused, in words a child reads.
    let resp = join_attempt(&http, &srv, &code, "Leo").await;
    assert_eq!(resp.status(), 403);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "group_locked");
    let page = join_form(&http, &srv, &code, "Leo").await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("ask your teacher"));
    // Mia, on her own tablet (her cookie), comes back as herself.
    let again = http
        .post(format!("{}/api/join", srv.base))
        .header(header::COOKIE, &mia_cookie)
        .json(&json!({"code": code, "nickname": "Mia", "avatar": "🦊"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let ids: Vec<_> = srv
        .store()
        .participants(group)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.nickname)
        .collect();
    assert_eq!(ids, ["Mia"], "nobody was added");
    let mut ws = child_socket(&srv, group, &mia_cookie).await;
    assert_eq!(say(&mut ws, "a", "still here").await["type"], "ack");

    assert_eq!(lock(false, &fac.csrf).await.unwrap().status(), 200);
    assert_eq!(join_attempt(&http, &srv, &code, "Leo").await.status(), 200);
    let audit = srv.audit().await;
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"lock_group") && actions.contains(&"unlock_group"));
}

// ---------------------------------------------------------------------------------------------
// 4. Group size

#[tokio::test]
async fn a_full_group_says_so() {
    let (srv, groups) = one_group(TestServer::builder().limits(|l| l.max_group_size = 3)).await;
    let code = groups[0].join_code.clone();
    // Five at once for three seats: exactly three get in.
    let joins = (0..5).map(|i| {
        let srv = &srv;
        let code = code.clone();
        async move { join_attempt(&client(), srv, &code, &format!("Kid{i}")).await }
    });
    let answers = futures::future::join_all(joins).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 409, 409]);
    let full = answers.into_iter().find(|r| r.status() == 409).unwrap();
    let v: Value = full.json().await.unwrap();
    assert_eq!(v["error"], "group_full");
    assert!(v["message"].as_str().unwrap().contains("ask your teacher"));
    let page = join_form(&client(), &srv, &code, "Late").await;
    assert_eq!(page.status(), 409);
    assert!(page.text().await.unwrap().contains("This group is full"));
    assert_eq!(
        srv.store().participants(groups[0].id).await.unwrap().len(),
        3
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Slow clients

#[tokio::test]
async fn half_a_request_header_is_closed_within_the_header_timeout() {
    let srv = TestServer::builder()
        .limits(|l| l.header_read_timeout = Duration::from_secs(1))
        .start()
        .await;
    let mut slow = tokio::net::TcpStream::connect(srv.server.addr)
        .await
        .unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    // The server closes it (perhaps after a 408): the read ends, with 0 bytes at last.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a half-sent request held its connection");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_websocket_is_not_cut_by_the_request_timeout() {
    let (srv, groups) =
        one_group(TestServer::builder().limits(|l| l.request_timeout = Duration::from_secs(1)))
            .await;
    let kid = socket::join(&srv, &groups[0].join_code, "Mia").await;
    let mut ws = child_socket(&srv, groups[0].id, &kid.cookie).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(say(&mut ws, "late", "still open").await["type"], "ack");
}

#[tokio::test]
async fn connections_beyond_the_bound_wait() {
    let srv = TestServer::builder()
        .limits(|l| l.max_connections = 2)
        .start()
        .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(srv.server.addr)
            .await
            .unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        assert!(s.read(&mut buf).await.unwrap() > 0);
        held.push(s); // kept alive: each holds a place
    }
    let third = tokio::time::timeout(
        Duration::from_millis(500),
        client().get(format!("{}/healthz", srv.base)).send(),
    )
    .await;
    assert!(third.is_err(), "a third connection was served at once");
    drop(held);
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        client().get(format!("{}/healthz", srv.base)).send(),
    )
    .await
    .expect("served once a place is free")
    .unwrap();
    assert_eq!(resp.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// 6. Sign-in

/// A chat-only server from `builder` with ms-lee's account (not signed in).
async fn ms_lee_on(builder: common::server::Builder) -> TestServer {
    let srv = builder.start().await;
    add_facilitator(&srv, "ms-lee").await;
    srv
}

#[tokio::test]
async fn parallel_sign_in_attempts_are_counted_before_the_password_check() {
    // Enough password checks at once for all of them: still only five are checked.
    let srv = ms_lee_on(TestServer::builder().limits(|l| l.concurrent_sign_ins = 64)).await;
    let statuses = futures::future::join_all((0..40).map(|_| async {
        login_attempt(&srv, "ms-lee", "wrong one!!")
            .await
            .status()
            .as_u16()
    }))
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 35), "{statuses:?}");
}

#[tokio::test]
async fn parallel_sign_in_attempts_are_counted_as_they_start() {
    let srv = ms_lee_on(TestServer::builder().limits(|l| l.concurrent_sign_ins = 2)).await;
    let attempt = |from: &'static str, password: &'static str| {
        let srv = &srv;
        async move {
            login_attempt_with(&client_from(from), srv, "ms-lee", password)
                .await
                .status()
                .as_u16()
        }
    };
    let started = Instant::now();
    let statuses =
        futures::future::join_all((0..40).map(|_| attempt("127.0.0.1", "wrong one!!"))).await;
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    // At most five were checked (the per account-and-address limit, counted as attempts
    // start), at most two at a time; the rest were answered at once, without a password
    // check (429 when counted out, 503 while the checks were busy: not counted).
    assert!(count(401) <= 5, "{statuses:?}");
    assert_eq!(count(401) + count(429) + count(503), 40, "{statuses:?}");
    assert!(count(429) + count(503) >= 35, "{statuses:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Fill the account-and-address limit for certain, then: locked here, not elsewhere.
    while attempt("127.0.0.1", "wrong one!!").await == 401 {}
    assert_eq!(attempt("127.0.0.1", PASSWORD).await, 429);
    assert_eq!(
        attempt("127.0.0.2", PASSWORD).await,
        303,
        "the teacher signs in from her own address"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Chat frames and sockets

#[tokio::test]
async fn a_typing_flood_makes_nobody_resync_and_sends_stay_prompt() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let (group, code) = (groups[0].id, groups[0].join_code.clone());
    let flooder = socket::join(&srv, &code, "Flood").await;
    let other = socket::join(&srv, &code, "Mia").await;
    let mut f = child_socket(&srv, group, &flooder.cookie).await;
    let mut m = child_socket(&srv, group, &other.cookie).await;
    for i in 0..300 {
        send(&mut f, json!({"type": "typing", "on": i % 2 == 0})).await;
    }
    // Pings and bad frames beyond their rate are answered rate_limited, then the socket closes.
    let started = Instant::now();
    let ack = say(&mut m, "m1", "can you hear me?").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Mia saw a few typing frames at most, and never a resync.
    let mut typing = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(300), m.next()).await {
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_ne!(v["type"], "resync", "{v}");
            typing += usize::from(v["type"] == "typing");
        }
    }
    assert!(typing <= 6, "{typing} typing frames reached Mia");

    let mut limited = 0;
    let mut closed = None;
    for _ in 0..200 {
        if f.send(Message::Text("{\"type\":\"ping\"}".into()))
            .await
            .is_err()
        {
            break;
        }
    }
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(3), f.next()).await {
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["code"] == "rate_limited" {
                    limited += 1;
                    assert!(v["retry_after_ms"].as_u64().unwrap() > 0);
                }
            }
            Ok(Message::Close(frame)) => {
                closed = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(limited >= 1, "no rate_limited answer");
    assert_eq!(closed, Some(1008), "sustained abuse closes the socket");
    // Mia's chat goes on.
    assert_eq!(say(&mut m, "m2", "still fine").await["type"], "ack");
}

#[tokio::test]
async fn sockets_are_capped_per_child_and_per_address() {
    let (srv, groups) = one_group(TestServer::builder().limits(|l| {
        l.sockets_per_child = 2;
        l.sockets_per_address = 3;
    }))
    .await;
    let (group, code) = (groups[0].id, groups[0].join_code.clone());
    let mia = socket::join(&srv, &code, "Mia").await;
    let leo = socket::join(&srv, &code, "Leo").await;
    let _a = child_socket(&srv, group, &mia.cookie).await;
    let _b = child_socket(&srv, group, &mia.cookie).await;
    let refused = |mut ws: Ws| async move {
        let frame = next(&mut ws).await;
        (frame, closed_with(&mut ws).await)
    };
    let third = connect(&srv.ws_url(group), Some(&mia.cookie), None)
        .await
        .unwrap();
    let (frame, close) = refused(third).await;
    assert_eq!(frame["code"], "too_many_connections", "{frame}");
    assert_eq!(close, Some(4008));
    let _c = child_socket(&srv, group, &leo.cookie).await;
    let fourth = connect(&srv.ws_url(group), Some(&leo.cookie), None)
        .await
        .unwrap();
    let (frame, close) = refused(fourth).await;
    assert_eq!(
        frame["code"], "too_many_connections",
        "the address has three"
    );
    assert_eq!(close, Some(4008));
    drop(_a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _again = child_socket(&srv, group, &leo.cookie).await;
}

// ---------------------------------------------------------------------------------------------
// 8. Credentials that outlive their chat

#[tokio::test]
async fn a_credential_stops_working_when_its_session_ends() {
    let srv = TestServer::start().await;
    let (session, groups) = srv.running_session(1).await;
    let group = groups[0].id;
    let mia = socket::join(&srv, &groups[0].join_code, "Mia").await;
    let mut ws = child_socket(&srv, group, &mia.cookie).await;
    assert_eq!(say(&mut ws, "a", "our secret plan").await["type"], "ack");
    drop(ws);
    srv.store()
        .set_session_status(session.id, SessionStatus::Ended, peerlearn::store::now_ms())
        .await
        .unwrap();
    // The shared tablet afterwards: no chat page, no socket, no replay.
    let page = client()
        .get(format!("{}/chat/{group}", srv.base))
        .header(header::COOKIE, &mia.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("This chat has ended") && !html.contains("our secret plan"));
    assert_ended(&srv, group, &mia.cookie).await;
}

#[tokio::test]
async fn a_credential_stops_working_after_its_lifetime() {
    let (srv, groups) = one_group(TestServer::builder().limits(|l| {
        l.child_credential_lifetime = Duration::from_secs(2);
    }))
    .await;
    let group = groups[0].id;
    let resp = join_attempt(&client(), &srv, &groups[0].join_code, "Mia").await;
    assert!(resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=2"));
    let cookie = cookie_of(&resp);
    let _ws = child_socket(&srv, group, &cookie).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let page = client()
        .get(format!("{}/chat/{group}", srv.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    assert_ended(&srv, group, &cookie).await;
}

/// The socket refuses the credential with `unauthorized` and close 4001 before any replay.
async fn assert_ended(srv: &TestServer, group: i64, cookie: &str) {
    let mut ws = connect(&srv.ws_url(group), Some(cookie), None)
        .await
        .unwrap();
    send(&mut ws, json!({"type": "hello", "v": 1, "last_seq": 0})).await;
    let frame = next(&mut ws).await;
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "unauthorized");
    assert!(frame["message"].as_str().unwrap().contains("ended"));
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => {
                assert_eq!(f.map(|f| u16::from(f.code)), Some(4001));
                break;
            }
            Ok(Some(Ok(Message::Text(t)))) => {
                panic!("nothing may follow: {t}")
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Health and metrics

#[tokio::test]
async fn healthz_is_minimal_and_metrics_are_off_without_a_token() {
    let srv = TestServer::start().await;
    let health: Value = client()
        .get(format!("{}/healthz", srv.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let off = client()
        .get(format!("{}/metrics", srv.base))
        .bearer_auth("anything-at-all-here")
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 404, "no token configured: no metrics");
}

#[tokio::test]
async fn metrics_and_the_detailed_health_need_the_token() {
    let token = "0123456789abcdef0123";
    let srv = TestServer::builder()
        .limits(|l| l.metrics_token = Some(token.into()))
        .start()
        .await;
    let get = |path: &str, bearer: Option<&str>| {
        let mut req = client().get(format!("{}{path}", srv.base));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send()
    };
    assert_eq!(get("/metrics", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/metrics", Some("0123456789abcdef0124"))
            .await
            .unwrap()
            .status(),
        401
    );
    let metrics = get("/metrics", Some(token)).await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("peerlearn_messages_stored_total"));
    let public: Value = get("/healthz", None).await.unwrap().json().await.unwrap();
    assert_eq!(public, json!({"status": "ok"}));
    let detailed: Value = get("/healthz", Some(token))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detailed["database"], "sqlite");
    assert!(detailed["uptime_seconds"].is_u64());
}
