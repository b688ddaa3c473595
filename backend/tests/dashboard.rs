//! The facilitator dashboard over real HTTP and real sockets: accounts, sign-in and its
//! throttle, CSRF, every permission rule (a child's credential opens nothing, a facilitator
//! reaches only their own sessions), session set-up, the live socket, and stepping in.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::facilitator::*;
use common::server::TestServer;
use common::socket::{join as child, say};
use futures::StreamExt;
use peerlearn::store::{AgentRole, SessionStatus};
use reqwest::header;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------------------------

#[test]
fn facilitator_add_hashes_with_argon2id_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = |name: &str, password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peerlearn"))
            .args(["facilitator", "add", name, "--database-url", &db])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let ok = run("ms-lee", PASSWORD);
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("facilitator ms-lee added"));

    let taken = run("ms-lee", PASSWORD);
    assert_eq!(taken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));

    let short = run("mr-kim", "short");
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("password must be"));

    let bad_name = run(" spaced ", PASSWORD);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_name.stderr).contains("name must be"));

    // The stored hash is argon2id and verifies; nothing was stored for the refused ones.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = peerlearn::store::Store::connect(&peerlearn::config::DatabaseSettings {
            url: db.clone(),
            kind: peerlearn::config::DatabaseKind::Sqlite,
            connect_timeout: Duration::from_secs(5),
        })
        .await
        .unwrap();
        let f = store.facilitator_by_name("ms-lee").await.unwrap();
        assert!(f.password_hash.starts_with("$argon2id$"));
        assert!(peerlearn::auth::verify_password(&f.password_hash, PASSWORD));
        assert!(store.facilitator_by_name("mr-kim").await.is_err());
        store.close().await;
    });
}

#[tokio::test]
async fn sign_in_out_and_the_throttle() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;

    let page = get(&srv, "/facilitator/login", None).await;
    assert_eq!(page.status(), 200);
    // Not signed in: pages send to the sign-in page, data routes answer 401.
    let resp = get(&srv, "/facilitator", None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], "/facilitator/login");

    // Wrong password and unknown name read the same.
    for (name, pw) in [("ms-lee", "wrong password!"), ("nobody", PASSWORD)] {
        let resp = login_attempt(&srv, name, pw).await;
        assert_eq!(resp.status(), 401);
        assert!(cookie_of(&resp).is_none());
        assert!(resp.text().await.unwrap().contains("do not match"));
    }
    // Empty fields and a form posted from another site.
    assert_eq!(login_attempt(&srv, "", "").await.status(), 400);
    let foreign = client()
        .post(format!("{}/facilitator/login", srv.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "ms-lee"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);

    // The right password signs in; signing out needs the CSRF token and ends the sign-in.
    let fac = sign_in(&srv, "ms-lee").await;
    let no_csrf = post_form(&srv, "/facilitator/logout", Some(&fac.cookie), &[]).await;
    assert_eq!(no_csrf.status(), 403);
    let out = post_form(
        &srv,
        "/facilitator/logout",
        Some(&fac.cookie),
        &[("csrf", &fac.csrf)],
    )
    .await;
    assert_eq!(out.status(), 303);
    assert!(cookie_of(&out).unwrap().contains("Max-Age=0"));
    let after = get(&srv, "/facilitator", Some(&fac.cookie)).await;
    assert_eq!(after.status(), 303, "the old cookie opens nothing");

    // Five failures lock the account (from any address), even for the right password.
    for _ in 0..5 {
        assert_eq!(
            login_attempt(&srv, "ms-lee", "wrong password!")
                .await
                .status(),
            401
        );
    }
    let locked = login_attempt(&srv, "ms-lee", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key(header::RETRY_AFTER));
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Too many failed sign-ins"));
    // Twenty failures from one address lock that address for every name.
    add_facilitator(&srv, "mr-kim").await;
    for i in 0..20 {
        let _ = login_attempt(&srv, &format!("guess-{i}"), "wrong password!").await;
    }
    assert_eq!(login_attempt(&srv, "mr-kim", PASSWORD).await.status(), 429);
    let audit = srv.store().audit_log().await.unwrap();
    assert!(audit.iter().any(|a| a.action == "sign_in"));
    assert!(audit.iter().any(|a| a.action == "sign_out"));
}

#[tokio::test]
async fn a_childs_credential_opens_no_facilitator_page_route_or_socket() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
    let fac = sign_in(&srv, "ms-lee").await;
    let session = create_session(&srv, &fac, &[("activity", "playground"), ("groups", "1")]).await;
    let (group, code) = groups(&srv, session).await[0].clone();
    let kid = child(&srv, &code, "Mia").await;
    // The child's cookie, and the child's token presented as a facilitator cookie.
    let token = kid.cookie.split('=').nth(1).unwrap();
    let disguised = format!("pl_fac={token}");
    for cookie in [kid.cookie.as_str(), disguised.as_str()] {
        for page in [
            "/facilitator".to_string(),
            format!("/facilitator/sessions/{session}"),
            format!("/facilitator/sessions/{session}/cards"),
            format!("/facilitator/groups/{group}"),
        ] {
            let r = get(&srv, &page, Some(cookie)).await;
            assert_eq!(r.status(), 303, "{page} with {cookie}");
            assert_eq!(r.headers()[header::LOCATION], "/facilitator/login");
        }
        for route in [
            format!("/api/facilitator/sessions/{session}/snapshot"),
            format!("/api/facilitator/groups/{group}/transcript"),
            format!("/facilitator/sessions/{session}/export?format=csv"),
        ] {
            assert_eq!(
                get(&srv, &route, Some(cookie)).await.status(),
                401,
                "{route}"
            );
        }
        let r = action(
            &srv,
            group,
            Some(cookie),
            Some(&fac.csrf),
            r#"{"action":"pause_agent"}"#,
        )
        .await;
        assert_eq!(r.status(), 401);
        let r = post_form(
            &srv,
            &format!("/facilitator/sessions/{session}/status"),
            Some(cookie),
            &[("csrf", &fac.csrf), ("action", "end")],
        )
        .await;
        assert_eq!(r.status(), 303, "to the sign-in page");
        let ws = ws_connect(
            &srv,
            &format!("/facilitator/ws?session={session}"),
            Some(cookie),
        )
        .await;
        match ws {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 401)
            }
            other => panic!("the socket must be refused: {:?}", other.map(|_| ())),
        }
    }
    let s = srv.store().session(session).await.unwrap();
    assert_eq!(s.status, SessionStatus::Created, "nothing changed");
}

#[tokio::test]
async fn a_facilitator_reaches_only_their_own_sessions() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
    add_facilitator(&srv, "mr-kim").await;
    let lee = sign_in(&srv, "ms-lee").await;
    let kim = sign_in(&srv, "mr-kim").await;
    let session =
        create_session(&srv, &lee, &[("activity", "robot-helper"), ("groups", "1")]).await;
    let (group, _) = groups(&srv, session).await[0].clone();

    let list = get(&srv, "/facilitator", Some(&kim.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(&format!("/facilitator/sessions/{session}\"")));
    for path in [
        format!("/facilitator/sessions/{session}"),
        format!("/facilitator/sessions/{session}/cards"),
        format!("/facilitator/groups/{group}"),
        format!("/api/facilitator/sessions/{session}/snapshot"),
        format!("/api/facilitator/groups/{group}/transcript"),
        format!("/facilitator/sessions/{session}/export?format=csv"),
        // Someone else's and a session that does not exist read the same.
        "/facilitator/sessions/99999".to_string(),
    ] {
        assert_eq!(
            get(&srv, &path, Some(&kim.cookie)).await.status(),
            404,
            "{path}"
        );
    }
    let r = action(
        &srv,
        group,
        Some(&kim.cookie),
        Some(&kim.csrf),
        r#"{"action":"pause_agent"}"#,
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(set_status(&srv, &kim, session, "start").await.status(), 404);
    match ws_connect(
        &srv,
        &format!("/facilitator/ws?session={session}"),
        Some(&kim.cookie),
    )
    .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 404),
        other => panic!("refused: {:?}", other.map(|_| ())),
    }
    // Another sign-in's CSRF token is not this one's.
    let r = action(
        &srv,
        group,
        Some(&lee.cookie),
        Some(&kim.csrf),
        r#"{"action":"pause_agent"}"#,
    )
    .await;
    assert_eq!(r.status(), 403);
    // The owner gets everything.
    assert_eq!(
        get(
            &srv,
            &format!("/facilitator/sessions/{session}"),
            Some(&lee.cookie)
        )
        .await
        .status(),
        200
    );
    let r = action(
        &srv,
        group,
        Some(&lee.cookie),
        Some(&lee.csrf),
        r#"{"action":"pause_agent"}"#,
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert!(srv.store().group(group).await.unwrap().agent_paused);
}

#[tokio::test]
async fn setting_up_a_session_and_its_life() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
    let fac = sign_in(&srv, "ms-lee").await;

    // Bad forms come back with the reason and create nothing.
    let before = srv.store().sessions(None).await.unwrap().len();
    for (form, reason) in [
        (
            vec![("activity", "playground"), ("groups", "0")],
            "number of groups",
        ),
        (
            vec![("activity", "playground"), ("groups", "31")],
            "number of groups",
        ),
        (
            vec![
                ("activity", "volcano"),
                ("groups", "1"),
                ("agent_name", "Blue"),
                ("language", "en"),
            ],
            "pick an activity",
        ),
        (
            vec![
                ("activity", "playground"),
                ("groups", "1"),
                ("agent_name", ""),
                ("language", "en"),
            ],
            "agent's name",
        ),
        (
            vec![
                ("activity", "playground"),
                ("groups", "2"),
                ("role_2", "teacher"),
                ("agent_name", "Blue"),
                ("language", "en"),
            ],
            "Group 2",
        ),
        (
            vec![
                ("activity", "playground"),
                ("groups", "1"),
                ("agent_name", "Blue"),
                ("language", "en"),
                ("phase_minutes", "3,x"),
            ],
            "Phase minutes",
        ),
        (
            vec![
                ("activity", "playground"),
                ("groups", "1"),
                ("agent_name", "Blue"),
                ("language", "en"),
                ("phase_minutes", "0,8,8,5,3"),
            ],
            "Phase minutes",
        ),
    ] {
        let mut fields = vec![("csrf", fac.csrf.as_str())];
        fields.extend(form);
        let resp = post_form(&srv, "/facilitator/sessions", Some(&fac.cookie), &fields).await;
        assert_eq!(resp.status(), 400, "{fields:?}");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(reason),
            "{reason} in the answer to {fields:?}"
        );
    }
    let no_csrf = post_form(
        &srv,
        "/facilitator/sessions",
        Some(&fac.cookie),
        &[("activity", "playground"), ("groups", "1")],
    )
    .await;
    assert_eq!(no_csrf.status(), 403);
    assert_eq!(srv.store().sessions(None).await.unwrap().len(), before);

    let session = create_session(
        &srv,
        &fac,
        &[
            ("activity", "playground"),
            ("groups", "3"),
            ("role_1", "moderator"),
            ("role_2", "participant"),
            ("role_3", "none"),
            ("agent_name", "Robo"),
            ("language", "de"),
            ("phase_minutes", "2, 5,5,4,2"),
        ],
    )
    .await;
    let s = srv.store().session(session).await.unwrap();
    assert_eq!((s.agent_name.as_str(), s.language.as_str()), ("Robo", "de"));
    assert_eq!(s.phase_minutes.as_deref(), Some("2,5,5,4,2"));
    assert_eq!(s.status, SessionStatus::Created);
    let gs = srv.store().groups_of_session(session).await.unwrap();
    let roles: Vec<AgentRole> = gs.iter().map(|g| g.agent_role).collect();
    assert_eq!(
        roles,
        [
            AgentRole::Moderator,
            AgentRole::Participant,
            AgentRole::None
        ]
    );

    // Join cards: one per group with its code and the address to open.
    let cards = get(
        &srv,
        &format!("/facilitator/sessions/{session}/cards"),
        Some(&fac.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    for g in &gs {
        assert!(cards.contains(&peerlearn::join_code::display(&g.join_code)));
    }
    assert!(cards.contains("http://127.0.0.1:0/"));

    // Children may join before the start; the session's life: start, pause, resume, end.
    let kid = child(&srv, &gs[0].join_code, "Mia").await;
    let mut ws = child_socket(&srv, gs[0].id, &kid).await;
    assert_eq!(
        set_status(&srv, &fac, session, "pause").await.status(),
        400,
        "not running yet"
    );
    assert_eq!(set_status(&srv, &fac, session, "start").await.status(), 303);
    assert_eq!(say(&mut ws, "m1", "hello").await["type"], "ack");
    assert_eq!(set_status(&srv, &fac, session, "pause").await.status(), 303);
    let refused = say(&mut ws, "m2", "still there?").await;
    assert_eq!(refused["code"], "session_closed");
    assert_eq!(
        set_status(&srv, &fac, session, "resume").await.status(),
        303
    );
    assert_eq!(say(&mut ws, "m3", "back").await["type"], "ack");
    assert_eq!(set_status(&srv, &fac, session, "bogus").await.status(), 400);
    assert_eq!(set_status(&srv, &fac, session, "end").await.status(), 303);
    assert_eq!(say(&mut ws, "m4", "bye").await["code"], "session_closed");
    // A closed session takes no joins, no actions and no further status changes.
    assert_eq!(
        join_child(&srv, &gs[1].join_code, "Leo").await.status(),
        404
    );
    let r = action(
        &srv,
        gs[0].id,
        Some(&fac.cookie),
        Some(&fac.csrf),
        r#"{"action":"pause_agent"}"#,
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(set_status(&srv, &fac, session, "start").await.status(), 409);
    let audit: Vec<String> = srv
        .store()
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    for a in [
        "create_session",
        "session_start",
        "session_pause",
        "session_resume",
        "session_end",
    ] {
        assert!(audit.iter().any(|x| x == a), "{a} in {audit:?}");
    }
}

#[tokio::test]
async fn the_live_socket_and_stepping_in() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
    let fac = sign_in(&srv, "ms-lee").await;
    let session = create_session(&srv, &fac, &[("activity", "playground"), ("groups", "2")]).await;
    assert_eq!(set_status(&srv, &fac, session, "start").await.status(), 303);
    let gs = groups(&srv, session).await;
    let (group, code) = gs[0].clone();

    let mut watch = ws_connect(
        &srv,
        &format!("/facilitator/ws?session={session}"),
        Some(&fac.cookie),
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    let snap = next_of(&mut watch, "snapshot", &mut seen).await;
    assert_eq!(snap["session"]["status"], "running");
    assert_eq!(snap["groups"].as_array().unwrap().len(), 2);

    let mia = child(&srv, &code, "Mia").await;
    let leo = child(&srv, &code, "Leo").await;
    let mut mia_ws = child_socket(&srv, group, &mia).await;
    let mut leo_ws = child_socket(&srv, group, &leo).await;
    let presence = next_of(&mut watch, "presence", &mut seen).await;
    assert_eq!(presence["group_id"], group);

    let sent = std::time::Instant::now();
    assert_eq!(
        say(&mut mia_ws, "a1", "a slide for everyone").await["type"],
        "ack"
    );
    let m = loop {
        let m = next_of(&mut watch, "message", &mut seen).await;
        if m["message"]["text"] == "a slide for everyone" {
            break m;
        }
    };
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "shown on the dashboard within a second"
    );
    assert_eq!(m["group_id"], group);
    assert_eq!(m["message"]["sender_name"], "Mia");
    let snap = get(
        &srv,
        &format!("/api/facilitator/sessions/{session}/snapshot"),
        Some(&fac.cookie),
    )
    .await;
    let snap: Value = snap.json().await.unwrap();
    let g0 = &snap["groups"][0];
    let mia_stats = g0["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["nickname"] == "Mia")
        .unwrap();
    assert_eq!(
        (mia_stats["messages"].as_i64(), mia_stats["words"].as_i64()),
        (Some(1), Some(4))
    );
    assert_eq!(g0["online"].as_array().unwrap().len(), 2);

    let act = |body: &'static str| {
        let (cookie, csrf) = (fac.cookie.clone(), fac.csrf.clone());
        let srv = &srv;
        async move { action(srv, group, Some(&cookie), Some(&csrf), body).await }
    };
    // A whisper: the children get nothing at all from it.
    let secret = "ask Leo about the sandpit";
    let r = action(
        &srv,
        group,
        Some(&fac.cookie),
        Some(&fac.csrf),
        &json!({"action":"whisper","text": secret}).to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);
    // Posting as the teacher: both children see it, from the adult.
    let r = act(r#"{"action":"post","text":"Remember the wheelchair ramp!"}"#).await;
    assert_eq!(r.status(), 200);
    let mut leo_seen = Vec::new();
    let post = loop {
        let m = next_of(&mut leo_ws, "message", &mut leo_seen).await;
        if m["sender"]["kind"] != "child" {
            break m;
        }
    };
    assert_eq!(post["sender"]["kind"], "facilitator");
    assert_eq!(post["text"], "Remember the wheelchair ramp!");
    // Hiding Mia's message: the children are told to remove it, the database keeps it.
    let seq = m["message"]["seq"].as_i64().unwrap();
    let r = action(
        &srv,
        group,
        Some(&fac.cookie),
        Some(&fac.csrf),
        &json!({"action":"hide","seq": seq}).to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let hidden = next_of(&mut leo_ws, "hidden", &mut leo_seen).await;
    assert_eq!(hidden["seq"], seq);
    let stored = srv.store().message(group, seq).await.unwrap();
    assert_eq!(stored.moderation, peerlearn::store::Moderation::Hidden);
    assert!(stored.moderated_by.is_some() && stored.moderated_at.is_some());
    let modev = next_of(&mut watch, "moderation", &mut seen).await;
    assert_eq!(modev["moderation"], "hidden");
    // Muting Leo for a few minutes.
    let r = action(
        &srv,
        group,
        Some(&fac.cookie),
        Some(&fac.csrf),
        &json!({"action":"mute","participant_id": leo.id,"minutes": 5}).to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);
    // Leo's page is told at once (only Leo's), before he tries to write.
    let mut leo_seen = Vec::new();
    let muted = next_of(&mut leo_ws, "muted", &mut leo_seen).await;
    let seconds = muted["seconds"].as_i64().unwrap();
    assert!((295..=300).contains(&seconds), "{muted}");
    assert!(muted["until_ms"].as_i64().unwrap() > peerlearn::store::now_ms());
    assert_eq!(say(&mut leo_ws, "l1", "hey").await["code"], "muted");
    let r = action(
        &srv,
        group,
        Some(&fac.cookie),
        Some(&fac.csrf),
        &json!({"action":"unmute","participant_id": leo.id}).to_string(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let unmuted = next_of(&mut leo_ws, "muted", &mut leo_seen).await;
    assert!(
        unmuted["until_ms"].is_null() && unmuted["seconds"].is_null(),
        "{unmuted}"
    );
    assert_eq!(say(&mut leo_ws, "l2", "hey again").await["type"], "ack");
    // Mia saw Leo's message, and never a notice meant for Leo.
    let mut mia_seen = Vec::new();
    while next_of(&mut mia_ws, "message", &mut mia_seen).await["text"] != "hey again" {}
    assert!(
        mia_seen.iter().all(|f| f["type"] != "muted"),
        "{mia_seen:?}"
    );
    // Pause, role switch, phases.
    assert_eq!(act(r#"{"action":"pause_agent"}"#).await.status(), 200);
    assert_eq!(act(r#"{"action":"resume_agent"}"#).await.status(), 200);
    assert_eq!(
        act(r#"{"action":"switch_role","role":"participant"}"#)
            .await
            .status(),
        200
    );
    assert_eq!(
        srv.store().group(group).await.unwrap().agent_role,
        AgentRole::Participant
    );
    assert_eq!(
        act(r#"{"action":"extend_phase","minutes":2}"#)
            .await
            .status(),
        200
    );
    assert_eq!(act(r#"{"action":"skip_phase"}"#).await.status(), 200);
    let phase = next_of(&mut watch, "phase", &mut seen).await;
    assert_eq!(phase["group_id"], group);

    // Bad actions: a clear error, nothing done.
    for (body, status) in [
        ("not json", 400),
        (r#"{"action":"launch_rocket"}"#, 400),
        (r#"{"action":"pause_agent","extra":true}"#, 400),
        (r#"{"action":"mute","participant_id":1,"minutes":0}"#, 400),
        (r#"{"action":"mute","participant_id":1,"minutes":61}"#, 400),
        (r#"{"action":"extend_phase","minutes":0}"#, 400),
        (r#"{"action":"whisper","text":"   "}"#, 400),
        (r#"{"action":"post","text":""}"#, 400),
        (r#"{"action":"hide","seq":999}"#, 404),
        (
            r#"{"action":"mute","participant_id":999999,"minutes":5}"#,
            404,
        ),
        (r#"{"action":"resolve_notice","flag_id":999999}"#, 404),
    ] {
        let r = action(&srv, group, Some(&fac.cookie), Some(&fac.csrf), body).await;
        assert_eq!(r.status(), status, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"].as_str().is_some_and(|s| !s.is_empty()),
            "{body}: {e}"
        );
    }
    let long = json!({"action":"post","text": "x".repeat(501)}).to_string();
    assert_eq!(
        action(&srv, group, Some(&fac.cookie), Some(&fac.csrf), &long)
            .await
            .status(),
        400
    );
    assert_eq!(
        action(
            &srv,
            group,
            Some(&fac.cookie),
            None,
            r#"{"action":"pause_agent"}"#
        )
        .await
        .status(),
        403
    );

    // A notice for the facilitator, dealt with from the dashboard.
    let flag = srv
        .store()
        .raise_flag(
            group,
            None,
            "directive_ignored",
            "Leo was invited twice",
            peerlearn::store::now_ms(),
        )
        .await
        .unwrap();
    let body = json!({"action":"resolve_notice","flag_id": flag.id}).to_string();
    assert_eq!(
        action(&srv, group, Some(&fac.cookie), Some(&fac.csrf), &body)
            .await
            .status(),
        200
    );
    assert!(srv.store().flags(group).await.unwrap()[0]
        .resolved_at
        .is_some());
    let other_group = gs[1].0;
    assert_eq!(
        action(&srv, other_group, Some(&fac.cookie), Some(&fac.csrf), &body)
            .await
            .status(),
        404,
        "a notice of another group"
    );

    // Neither child ever received the whisper's words.
    let mut frames = leo_seen.clone();
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), mia_ws.next()).await
    {
        frames.push(serde_json::from_str(&t).unwrap());
    }
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), leo_ws.next()).await
    {
        frames.push(serde_json::from_str(&t).unwrap());
    }
    assert!(
        frames.iter().all(|f| !f.to_string().contains(secret)),
        "{frames:?}"
    );

    // Every action is in the audit log, with the whisper's words.
    let audit = srv.store().audit_log().await.unwrap();
    for a in [
        "whisper",
        "post",
        "hide",
        "mute",
        "unmute",
        "pause_agent",
        "resume_agent",
        "switch_role",
        "extend_phase",
        "skip_phase",
    ] {
        assert!(
            audit
                .iter()
                .any(|x| x.action == a && x.target == format!("group {group}")),
            "{a}"
        );
    }
    assert!(audit
        .iter()
        .any(|x| x.action == "whisper" && x.detail.contains(secret)));

    // Downloads: a CSV with the session's messages, pseudonymised.
    let csv = get(
        &srv,
        &format!("/facilitator/sessions/{session}/export?format=csv"),
        Some(&fac.cookie),
    )
    .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains(".csv"));
    let body = csv.text().await.unwrap();
    assert!(
        body.contains("Child 2") && !body.contains("Mia") && !body.contains("Leo"),
        "{body}"
    );
    assert!(
        !body.contains("a slide for everyone"),
        "hidden messages are left out"
    );
    assert_eq!(
        get(
            &srv,
            &format!("/facilitator/sessions/{session}/export?format=pdf"),
            Some(&fac.cookie)
        )
        .await
        .status(),
        400
    );
    assert!(srv
        .store()
        .audit_log()
        .await
        .unwrap()
        .iter()
        .any(|a| a.action == "export"));
}

async fn json_request(
    srv: &TestServer,
    method: reqwest::Method,
    path: &str,
    fac: &Fac,
    body: &str,
) -> reqwest::Response {
    client()
        .request(method, format!("{}{path}", srv.base))
        .header(header::COOKIE, &fac.cookie)
        .header("x-csrf-token", &fac.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn coding_in_the_transcript_view_and_the_analysis_downloads() {
    use reqwest::Method;
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
    add_facilitator(&srv, "mr-kim").await;
    let lee = sign_in(&srv, "ms-lee").await;
    let kim = sign_in(&srv, "mr-kim").await;
    let session = create_session(&srv, &lee, &[("activity", "playground"), ("groups", "1")]).await;
    assert_eq!(set_status(&srv, &lee, session, "start").await.status(), 303);
    let (group, code) = groups(&srv, session).await[0].clone();
    let mia = child(&srv, &code, "Mia").await;
    let mut ws = child_socket(&srv, group, &mia).await;
    let seq = say(&mut ws, "c1", "what if the slide had a ramp").await["seq"]
        .as_i64()
        .unwrap();

    // The codebook: add, refuse a duplicate and bad input, rename.
    let codes = format!("/api/facilitator/sessions/{session}/codes");
    let r = json_request(
        &srv,
        Method::POST,
        &codes,
        &lee,
        r##"{"name":"Builds on an idea","color":"#1d4ed8"}"##,
    )
    .await;
    assert_eq!(r.status(), 200);
    let made: Value = r.json().await.unwrap();
    let code_id = made["id"].as_i64().unwrap();
    for (body, status) in [
        (r#"{"name":"builds on an IDEA"}"#, 409),
        (r#"{"name":""}"#, 400),
        (r#"{"name":"x","color":"blue-ish"}"#, 400),
        ("{", 400),
    ] {
        assert_eq!(
            json_request(&srv, Method::POST, &codes, &lee, body)
                .await
                .status(),
            status,
            "{body}"
        );
    }
    let rename = format!("{codes}/{code_id}");
    let r = json_request(
        &srv,
        Method::POST,
        &rename,
        &lee,
        r#"{"name":"Building on ideas"}"#,
    )
    .await;
    assert_eq!(r.status(), 200);
    // Another facilitator can neither see nor change it.
    assert_eq!(
        get(
            &srv,
            &format!("/api/facilitator/sessions/{session}/coding"),
            Some(&kim.cookie)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        json_request(&srv, Method::POST, &rename, &kim, r#"{"name":"mine now"}"#)
            .await
            .status(),
        404
    );
    let codings = format!("/api/facilitator/groups/{group}/codings");
    let apply = json!({"code_id": code_id, "seq": seq}).to_string();
    assert_eq!(
        json_request(&srv, Method::POST, &codings, &kim, &apply)
            .await
            .status(),
        404
    );

    // Coding: apply (twice is the same coding), refuse unknown utterances and codes.
    let r = json_request(&srv, Method::POST, &codings, &lee, &apply).await;
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["coder"], "ms-lee");
    let again: Value = json_request(&srv, Method::POST, &codings, &lee, &apply)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], first["id"]);
    let bad_seq = json!({"code_id": code_id, "seq": 999}).to_string();
    assert_eq!(
        json_request(&srv, Method::POST, &codings, &lee, &bad_seq)
            .await
            .status(),
        400
    );
    let bad_code = json!({"code_id": 999_999, "seq": seq}).to_string();
    assert_eq!(
        json_request(&srv, Method::POST, &codings, &lee, &bad_code)
            .await
            .status(),
        404
    );
    let no_csrf = client()
        .post(format!("{}{codings}", srv.base))
        .header(header::COOKIE, &lee.cookie)
        .body(apply.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let state: Value = get(
        &srv,
        &format!("/api/facilitator/sessions/{session}/coding"),
        Some(&lee.cookie),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(state["coder"], "ms-lee");
    assert_eq!(state["codes"][0]["name"], "Building on ideas");
    assert_eq!(state["codings"].as_array().unwrap().len(), 1);

    // The downloads: the codebook, the QDPX with the coding, participation, agreement.
    let export = |format: &str| format!("/facilitator/sessions/{session}/export?format={format}");
    let qdc = get(&srv, &export("qdc"), Some(&lee.cookie)).await;
    assert_eq!(qdc.status(), 200);
    assert!(qdc.text().await.unwrap().contains("Building on ideas"));
    let qdpx = get(&srv, &export("qdpx"), Some(&lee.cookie)).await;
    assert_eq!(qdpx.status(), 200);
    assert!(qdpx.bytes().await.unwrap().starts_with(b"PK"), "a zip");
    let groups_csv = get(&srv, &export("participation"), Some(&lee.cookie)).await;
    assert_eq!(groups_csv.status(), 200);
    assert!(groups_csv.text().await.unwrap().contains("gini"));
    let speakers = get(&srv, &export("participation-speakers"), Some(&lee.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        speakers.contains("Child 1") && !speakers.contains("Mia"),
        "{speakers}"
    );
    let irr = get(
        &srv,
        &format!("/facilitator/sessions/{session}/agreement"),
        Some(&lee.cookie),
    )
    .await;
    assert_eq!(irr.status(), 200);
    let irr: Value = irr.json().await.unwrap();
    assert_eq!(irr["coders"], json!(["ms-lee"]));
    assert_eq!(
        get(&srv, &export("docx"), Some(&lee.cookie)).await.status(),
        400
    );
    assert_eq!(
        get(
            &srv,
            &format!("/facilitator/sessions/{session}/agreement"),
            Some(&kim.cookie)
        )
        .await
        .status(),
        404
    );

    // Removing: only one's own coding; deleting the code takes its codings along.
    assert_eq!(
        json_request(&srv, Method::DELETE, &codings, &lee, &apply)
            .await
            .status(),
        200
    );
    assert_eq!(
        json_request(&srv, Method::DELETE, &codings, &lee, &apply)
            .await
            .status(),
        404
    );
    assert_eq!(
        json_request(&srv, Method::DELETE, &rename, &kim, "")
            .await
            .status(),
        404
    );
    assert_eq!(
        json_request(&srv, Method::DELETE, &rename, &lee, "")
            .await
            .status(),
        200
    );
    assert!(srv.store().codebook(session).await.unwrap().is_empty());
    // With no codes left, the codebook download says so instead of an empty file.
    assert_eq!(
        get(&srv, &export("qdc"), Some(&lee.cookie)).await.status(),
        409
    );

    // Importing a codebook file: a malformed one names its line and imports nothing.
    let import = format!("/api/facilitator/sessions/{session}/codebook");
    let bad = json_request(
        &srv,
        Method::POST,
        &import,
        &lee,
        "name,colour\nIdeas,#00aa00\nBad,#12\n",
    )
    .await;
    assert_eq!(bad.status(), 400);
    let e: Value = bad.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("line 3"), "{e}");
    assert!(srv.store().codebook(session).await.unwrap().is_empty());
    assert_eq!(
        json_request(&srv, Method::POST, &import, &lee, "")
            .await
            .status(),
        400
    );
    let huge = "name\n".to_string() + &"x\n".repeat(600_000);
    assert_eq!(
        json_request(&srv, Method::POST, &import, &lee, &huge)
            .await
            .status(),
        413,
        "over 1 MiB: payload too large"
    );
    assert_eq!(
        json_request(&srv, Method::POST, &import, &kim, "name\nIdeas\n")
            .await
            .status(),
        404
    );
    let ok = json_request(
        &srv,
        Method::POST,
        &import,
        &lee,
        "name,description,colour\nIdeas,new ideas,#00aa00\nQuestions,,\n",
    )
    .await;
    assert_eq!(ok.status(), 200);
    let summary: Value = ok.json().await.unwrap();
    assert_eq!(
        (summary["created"].as_u64(), summary["updated"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(srv.store().codebook(session).await.unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Children's data: retention, consent, deletion, and the audit of reads and failed sign-ins

#[tokio::test]
async fn childrens_data_retention_consent_deletion_and_audit() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
    add_facilitator(&srv, "mr-ode").await;

    // Failed sign-ins are audited with the client's address, never with the typed name.
    assert_eq!(
        login_attempt(&srv, "ms-lee", "not the password")
            .await
            .status(),
        401
    );
    assert_eq!(
        login_attempt(&srv, "nobody-x", "whatever it is")
            .await
            .status(),
        401
    );
    let failed: Vec<_> = srv
        .store()
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "sign_in_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    let lee_id = srv.store().facilitator_by_name("ms-lee").await.unwrap().id;
    assert_eq!(failed[0].facilitator_id, Some(lee_id));
    assert_eq!(failed[0].detail, "address=127.0.0.1 account=known");
    assert_eq!(failed[1].facilitator_id, None);
    assert_eq!(failed[1].detail, "address=127.0.0.1 account=unknown");

    let fac = sign_in(&srv, "ms-lee").await;
    let other = sign_in(&srv, "mr-ode").await;

    // The form offers the configured retention period and refuses a bad one.
    let html = get(&srv, "/facilitator", Some(&fac.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"name="retention_days" type="number" min="1" max="3650" value="180""#),
        "{html}"
    );
    for bad in ["0", "-3", "many"] {
        let resp = post_form(
            &srv,
            "/facilitator/sessions",
            Some(&fac.cookie),
            &[
                ("csrf", &fac.csrf),
                ("activity", "playground"),
                ("groups", "1"),
                ("agent_name", "Blue"),
                ("language", "en"),
                ("retention_days", bad),
            ],
        )
        .await;
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.text().await.unwrap().contains("1 to 3650 days"));
    }
    let kept = create_session(
        &srv,
        &fac,
        &[
            ("activity", "playground"),
            ("groups", "1"),
            ("retention_days", "30"),
        ],
    )
    .await;
    assert_eq!(srv.store().session(kept).await.unwrap().retention_days, 30);
    let session = create_session(&srv, &fac, &[("activity", "playground"), ("groups", "1")]).await;
    assert_eq!(
        srv.store().session(session).await.unwrap().retention_days,
        180
    );
    let (group, code) = groups(&srv, session).await[0].clone();
    assert_eq!(join_child(&srv, &code, "Mia").await.status(), 200);

    let page = |cookie: String| {
        let srv = &srv;
        async move {
            get(
                srv,
                &format!("/facilitator/sessions/{session}"),
                Some(&cookie),
            )
            .await
            .text()
            .await
            .unwrap()
        }
    };
    let html = page(fac.cookie.clone()).await;
    assert!(
        html.contains("kept until 180 days after the session ends"),
        "{html}"
    );
    assert!(html.contains("No consent recorded yet."));
    assert!(html.contains(&format!("href=\"/facilitator/sessions/{session}/delete\"")));

    // Consent: checked, shown, audited, downloadable.
    let consent = |cookie: &str, csrf: &str, kind: &str, date: &str, note: &str| {
        let (srv, cookie, csrf) = (&srv, cookie.to_string(), csrf.to_string());
        let (kind, date, note) = (kind.to_string(), date.to_string(), note.to_string());
        async move {
            post_form(
                srv,
                &format!("/facilitator/sessions/{session}/consents"),
                Some(&cookie),
                &[
                    ("csrf", &csrf),
                    ("kind", &kind),
                    ("given_on", &date),
                    ("note", &note),
                ],
            )
            .await
        }
    };
    let resp = consent(
        &fac.cookie,
        &fac.csrf,
        "parents",
        "2026-02-30",
        "forms in office",
    )
    .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(html.contains("is not a day") && html.contains("value=\"forms in office\""));
    let resp = consent(&fac.cookie, &fac.csrf, "uncle", "2026-11-20", "").await;
    assert!(resp.text().await.unwrap().contains("unknown consent kind"));
    assert_eq!(
        consent(&fac.cookie, "forged", "parents", "2026-11-20", "")
            .await
            .status(),
        403
    );
    assert_eq!(
        consent(&other.cookie, &other.csrf, "parents", "2026-11-20", "")
            .await
            .status(),
        404,
        "not their session"
    );
    let resp = consent(
        &fac.cookie,
        &fac.csrf,
        "parents",
        "2026-11-20",
        "forms in office",
    )
    .await;
    assert_eq!(resp.status(), 303);
    let html = page(fac.cookie.clone()).await;
    assert!(
        html.contains("<td>parents</td><td>2026-11-20</td><td>forms in office</td><td>ms-lee</td>"),
        "{html}"
    );
    let csv = get(
        &srv,
        &format!("/facilitator/sessions/{session}/export?format=consent"),
        Some(&fac.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        csv.contains("parents,2026-11-20,forms in office,Facilitator,") && !csv.contains("ms-lee"),
        "{csv}"
    );

    // Reading messages and editing the codebook are audited.
    let snapshot = get(
        &srv,
        &format!("/api/facilitator/sessions/{session}/snapshot"),
        Some(&fac.cookie),
    )
    .await;
    assert_eq!(snapshot.status(), 200);
    let transcript = get(
        &srv,
        &format!("/api/facilitator/groups/{group}/transcript"),
        Some(&fac.cookie),
    )
    .await;
    assert_eq!(transcript.status(), 200);
    let code: Value = json_request(
        &srv,
        reqwest::Method::POST,
        &format!("/api/facilitator/sessions/{session}/codes"),
        &fac,
        r#"{"name":"ramp"}"#,
    )
    .await
    .json()
    .await
    .unwrap();
    let resp = json_request(
        &srv,
        reqwest::Method::POST,
        &format!("/api/facilitator/sessions/{session}/codes/{}", code["id"]),
        &fac,
        r#"{"name":"ramps"}"#,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let audit = srv.store().audit_log().await.unwrap();
    let has = |action: &str, target: &str, detail: &str| {
        audit.iter().any(|a| {
            a.action == action
                && a.target == target
                && a.detail.contains(detail)
                && a.facilitator_id == Some(lee_id)
        })
    };
    let (s, g) = (format!("session {session}"), format!("group {group}"));
    assert!(
        has("add_consent", &s, "kind=parents given_on=2026-11-20"),
        "{audit:?}"
    );
    assert!(has("export", &s, "format=consent"), "{audit:?}");
    assert!(has("read_snapshot", &s, "groups=1"), "{audit:?}");
    assert!(has("read_transcript", &g, ""), "{audit:?}");
    assert!(has("add_code", &s, "name=ramp"), "{audit:?}");
    assert!(has("update_code", &s, "name=ramps was=ramp"), "{audit:?}");
    assert!(has("create_session", &s, "retention_days=180"), "{audit:?}");

    // Deleting: a confirmation page, then a CSRF-checked form; only one's own sessions.
    let html = get(
        &srv,
        &format!("/facilitator/sessions/{session}/delete"),
        Some(&fac.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("<strong id=\"delete-children\">1</strong>")
            && html.contains("<strong id=\"delete-consents\">1</strong>")
            && html.contains("it is ended first"),
        "{html}"
    );
    let delete = |cookie: &str, csrf: &str| {
        let (srv, cookie, csrf) = (&srv, cookie.to_string(), csrf.to_string());
        async move {
            post_form(
                srv,
                &format!("/facilitator/sessions/{session}/delete"),
                Some(&cookie),
                &[("csrf", &csrf)],
            )
            .await
        }
    };
    assert_eq!(delete(&fac.cookie, "forged").await.status(), 403);
    assert_eq!(delete(&other.cookie, &other.csrf).await.status(), 404);
    assert_eq!(
        get(
            &srv,
            &format!("/facilitator/sessions/{session}/delete"),
            Some(&other.cookie)
        )
        .await
        .status(),
        404
    );
    assert!(srv.store().session(session).await.is_ok());
    let resp = delete(&fac.cookie, &fac.csrf).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], "/facilitator");
    assert!(srv.store().session(session).await.is_err());
    assert!(srv.store().participants(group).await.unwrap().is_empty());
    assert!(
        srv.store().session(kept).await.is_ok(),
        "the other session stays"
    );
    assert_eq!(
        get(
            &srv,
            &format!("/facilitator/sessions/{session}"),
            Some(&fac.cookie)
        )
        .await
        .status(),
        404
    );
    let entry = srv.store().audit_log().await.unwrap().pop().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.facilitator_id),
        ("delete_session", Some(lee_id))
    );
    assert!(
        entry
            .detail
            .starts_with("by=ms-lee reason=request via=dashboard")
            && entry.detail.contains("participants=1")
            && entry.detail.contains("consents=1")
            && entry.detail.contains("codes=1"),
        "{}",
        entry.detail
    );
}
