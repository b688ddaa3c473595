//! The facilitator dashboard over real HTTP and real sockets: accounts, sign-in and its
//! throttle, CSRF, every permission rule (a child's credential opens nothing, a facilitator
//! reaches only their own sessions), session set-up, the live socket, and stepping in.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::facilitator::*;
use common::http::{client, set_cookie};
use common::server::TestServer;
use common::socket::{join as child, join_attempt, next_of, say};
use futures::StreamExt;
use peerlearn::store::{AgentRole, SessionStatus};
use reqwest::{header, Method};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------------------------
// Accounts and signing in

#[test]
fn facilitator_add_hashes_with_argon2id_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::sqlite_at(&dir.path().join("cli.db"));
    let run = |name: &str, password: &str| {
        let mut child = common::process::peerlearn(dir.path())
            .args(["facilitator", "add", name, "--database-url", &database.url])
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
        let store = peerlearn::store::Store::connect(&database).await.unwrap();
        let f = store.facilitator_by_name("ms-lee").await.unwrap();
        assert!(f.password_hash.starts_with("$argon2id$"));
        assert!(peerlearn::auth::verify_password(&f.password_hash, PASSWORD));
        assert!(store.facilitator_by_name("mr-kim").await.is_err());
        store.close().await;
    });
}

#[tokio::test]
async fn signing_in_refuses_wrong_empty_and_cross_site_attempts() {
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
        assert!(set_cookie(&resp).is_none());
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
}

#[tokio::test]
async fn signing_out_needs_the_csrf_token_and_ends_the_sign_in() {
    let srv = TestServer::start().await;
    // The right password signs in; signing out needs the CSRF token and ends the sign-in.
    let fac = facilitator(&srv, "ms-lee").await;
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
    assert!(set_cookie(&out).unwrap().contains("Max-Age=0"));
    let after = get(&srv, "/facilitator", Some(&fac.cookie)).await;
    assert_eq!(after.status(), 303, "the old cookie opens nothing");
    let audit = srv.audit().await;
    assert!(audit.iter().any(|a| a.action == "sign_in"));
    assert!(audit.iter().any(|a| a.action == "sign_out"));
}

#[tokio::test]
async fn failed_sign_ins_lock_the_account_then_the_address() {
    let srv = TestServer::start().await;
    add_facilitator(&srv, "ms-lee").await;
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
}

// ---------------------------------------------------------------------------------------------
// Who reaches what

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

    let list = get_text(&srv, "/facilitator", Some(&kim.cookie)).await;
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

// ---------------------------------------------------------------------------------------------
// Setting up a session, and its life

#[tokio::test]
async fn a_bad_session_form_comes_back_with_the_reason_and_creates_nothing() {
    let srv = TestServer::start().await;
    let fac = facilitator(&srv, "ms-lee").await;
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
            // The sentence itself (the page escapes its apostrophe).
            "The agent&#39;s name must be 1 to",
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
}

#[tokio::test]
async fn a_session_is_created_as_its_form_says_with_a_join_card_per_group() {
    let srv = TestServer::start().await;
    let fac = facilitator(&srv, "ms-lee").await;
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
    let cards = get_text(
        &srv,
        &format!("/facilitator/sessions/{session}/cards"),
        Some(&fac.cookie),
    )
    .await;
    for g in &gs {
        assert!(cards.contains(&peerlearn::join_code::display(&g.join_code)));
    }
    assert!(cards.contains("http://127.0.0.1:0/"));
}

#[tokio::test]
async fn a_session_is_started_paused_resumed_and_ended_then_takes_nothing() {
    let srv = TestServer::start().await;
    let fac = facilitator(&srv, "ms-lee").await;
    let session = create_session(&srv, &fac, &[("activity", "playground"), ("groups", "2")]).await;
    let gs = groups(&srv, session).await;

    // Children may join before the start; the session's life: start, pause, resume, end.
    let kid = child(&srv, &gs[0].1, "Mia").await;
    let mut ws = common::socket::child_socket(&srv, gs[0].0, &kid.cookie).await;
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
        join_attempt(&client(), &srv, &gs[1].1, "Leo")
            .await
            .status(),
        404
    );
    let r = action(
        &srv,
        gs[0].0,
        Some(&fac.cookie),
        Some(&fac.csrf),
        r#"{"action":"pause_agent"}"#,
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(set_status(&srv, &fac, session, "start").await.status(), 409);
    let audit: Vec<String> = srv.audit().await.into_iter().map(|a| a.action).collect();
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

// ---------------------------------------------------------------------------------------------
// The live socket and stepping in

/// A classroom of two groups on a chat-only server: Mia and Leo in the first group, the
/// teacher's live socket open.
async fn classroom() -> Classroom {
    Classroom::open(
        TestServer::start().await,
        &[("activity", "playground"), ("groups", "2")],
    )
    .await
}

/// Whether the audit log holds `action` on the classroom's group.
async fn audited(c: &Classroom, action: &str) -> bool {
    let target = format!("group {}", c.group);
    c.srv
        .audited(|x| x.action == action && x.target == target)
        .await
}

/// Every frame that reaches `ws` within 300 ms of quiet.
async fn drain(ws: &mut common::socket::Ws) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), ws.next()).await
    {
        frames.push(serde_json::from_str(&t).unwrap());
    }
    frames
}

#[tokio::test]
async fn the_live_socket_opens_with_a_snapshot_and_shows_who_comes_online() {
    let mut c = classroom().await;
    assert_eq!(c.snapshot["session"]["status"], "running");
    assert_eq!(c.snapshot["groups"].as_array().unwrap().len(), 2);
    let presence = next_of(&mut c.dash, "presence", &mut Vec::new()).await;
    assert_eq!(presence["group_id"], c.group);
}

#[tokio::test]
async fn a_childs_message_is_on_the_dashboard_within_a_second() {
    let mut c = classroom().await;
    let sent = std::time::Instant::now();
    assert_eq!(
        say(&mut c.mia, "a1", "a slide for everyone").await["type"],
        "ack"
    );
    let m = loop {
        let m = next_of(&mut c.dash, "message", &mut Vec::new()).await;
        if m["message"]["text"] == "a slide for everyone" {
            break m;
        }
    };
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "shown on the dashboard within a second"
    );
    assert_eq!(m["group_id"], c.group);
    assert_eq!(m["message"]["sender_name"], "Mia");
    let snap = c
        .get(&format!("/api/facilitator/sessions/{}/snapshot", c.session))
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
}

#[tokio::test]
async fn a_whisper_reaches_no_child_and_is_audited_with_its_words() {
    let mut c = classroom().await;
    let secret = "ask Leo about the sandpit";
    let r = c.act(json!({"action":"whisper","text": secret})).await;
    assert_eq!(r.status(), 200);
    // Neither child ever received the whisper's words.
    let mut frames = drain(&mut c.mia).await;
    frames.extend(drain(&mut c.leo).await);
    assert!(
        frames.iter().all(|f| !f.to_string().contains(secret)),
        "{frames:?}"
    );
    // The whisper is in the audit log, with its words.
    assert!(audited(&c, "whisper").await, "whisper");
    assert!(
        c.srv
            .audited(|x| x.action == "whisper" && x.detail.contains(secret))
            .await
    );
}

#[tokio::test]
async fn posting_as_the_teacher_reaches_the_children_from_the_adult() {
    let mut c = classroom().await;
    let r = c
        .act(r#"{"action":"post","text":"Remember the wheelchair ramp!"}"#)
        .await;
    assert_eq!(r.status(), 200);
    let post = loop {
        let m = next_of(&mut c.leo, "message", &mut Vec::new()).await;
        if m["sender"]["kind"] != "child" {
            break m;
        }
    };
    assert_eq!(post["sender"]["kind"], "facilitator");
    assert_eq!(post["text"], "Remember the wheelchair ramp!");
    assert!(audited(&c, "post").await, "post");
}

#[tokio::test]
async fn hiding_a_message_tells_the_children_and_the_store_keeps_it() {
    let mut c = classroom().await;
    let seq = say(&mut c.mia, "a1", "a slide for everyone").await["seq"]
        .as_i64()
        .unwrap();
    // Hiding Mia's message: the children are told to remove it, the database keeps it.
    let r = c.act(json!({"action":"hide","seq": seq})).await;
    assert_eq!(r.status(), 200);
    let hidden = next_of(&mut c.leo, "hidden", &mut Vec::new()).await;
    assert_eq!(hidden["seq"], seq);
    let stored = c.srv.store().message(c.group, seq).await.unwrap();
    assert_eq!(stored.moderation, peerlearn::store::Moderation::Hidden);
    assert!(stored.moderated_by.is_some() && stored.moderated_at.is_some());
    let modev = next_of(&mut c.dash, "moderation", &mut Vec::new()).await;
    assert_eq!(modev["moderation"], "hidden");
    assert!(audited(&c, "hide").await, "hide");
}

#[tokio::test]
async fn muting_tells_only_that_child_and_unmuting_lets_them_write_again() {
    let mut c = classroom().await;
    let leo = c.leo_child.id;
    // Muting Leo for a few minutes.
    let r = c
        .act(json!({"action":"mute","participant_id": leo,"minutes": 5}))
        .await;
    assert_eq!(r.status(), 200);
    // Leo's page is told at once (only Leo's), before he tries to write.
    let mut leo_seen = Vec::new();
    let muted = next_of(&mut c.leo, "muted", &mut leo_seen).await;
    let seconds = muted["seconds"].as_i64().unwrap();
    assert!((295..=300).contains(&seconds), "{muted}");
    assert!(muted["until_ms"].as_i64().unwrap() > peerlearn::store::now_ms());
    assert_eq!(say(&mut c.leo, "l1", "hey").await["code"], "muted");
    let r = c
        .act(json!({"action":"unmute","participant_id": leo}))
        .await;
    assert_eq!(r.status(), 200);
    let unmuted = next_of(&mut c.leo, "muted", &mut leo_seen).await;
    assert!(
        unmuted["until_ms"].is_null() && unmuted["seconds"].is_null(),
        "{unmuted}"
    );
    assert_eq!(say(&mut c.leo, "l2", "hey again").await["type"], "ack");
    // Mia saw Leo's message, and never a notice meant for Leo.
    let mut mia_seen = Vec::new();
    while next_of(&mut c.mia, "message", &mut mia_seen).await["text"] != "hey again" {}
    assert!(
        mia_seen.iter().all(|f| f["type"] != "muted"),
        "{mia_seen:?}"
    );
    for a in ["mute", "unmute"] {
        assert!(audited(&c, a).await, "{a}");
    }
}

#[tokio::test]
async fn pausing_switching_roles_and_moving_phases_take_effect() {
    let mut c = classroom().await;
    assert_eq!(c.act(r#"{"action":"pause_agent"}"#).await.status(), 200);
    assert_eq!(c.act(r#"{"action":"resume_agent"}"#).await.status(), 200);
    assert_eq!(
        c.act(r#"{"action":"switch_role","role":"participant"}"#)
            .await
            .status(),
        200
    );
    assert_eq!(
        c.srv.store().group(c.group).await.unwrap().agent_role,
        AgentRole::Participant
    );
    assert_eq!(
        c.act(r#"{"action":"extend_phase","minutes":2}"#)
            .await
            .status(),
        200
    );
    assert_eq!(c.act(r#"{"action":"skip_phase"}"#).await.status(), 200);
    let phase = next_of(&mut c.dash, "phase", &mut Vec::new()).await;
    assert_eq!(phase["group_id"], c.group);
    for a in [
        "pause_agent",
        "resume_agent",
        "switch_role",
        "extend_phase",
        "skip_phase",
    ] {
        assert!(audited(&c, a).await, "{a}");
    }
}

#[tokio::test]
async fn a_bad_action_gets_a_clear_error_and_does_nothing() {
    let c = classroom().await;
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
        let r = c.act(body).await;
        assert_eq!(r.status(), status, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"].as_str().is_some_and(|s| !s.is_empty()),
            "{body}: {e}"
        );
    }
    let long = json!({"action":"post","text": "x".repeat(501)});
    assert_eq!(c.act(long).await.status(), 400);
    assert_eq!(
        action(
            &c.srv,
            c.group,
            Some(&c.fac.cookie),
            None,
            r#"{"action":"pause_agent"}"#
        )
        .await
        .status(),
        403
    );
}

/// A notice about the classroom's group, raised as the agent raises one.
async fn notice(c: &Classroom) -> peerlearn::store::Flag {
    c.srv
        .store()
        .raise_flag(
            c.group,
            None,
            "directive_ignored",
            "Leo was invited twice",
            peerlearn::store::now_ms(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_notice_is_resolved_from_the_dashboard_for_its_own_group_only() {
    let c = classroom().await;
    let flag = notice(&c).await;
    let body = json!({"action":"resolve_notice","flag_id": flag.id});
    assert_eq!(c.act(&body).await.status(), 200);
    assert!(c.srv.store().flags(c.group).await.unwrap()[0]
        .resolved_at
        .is_some());
    let other_group = c.groups[1].0;
    assert_eq!(
        c.act_on(other_group, &body).await.status(),
        404,
        "a notice of another group"
    );
}

/// Whether, the moment `ws` gets a `frame`, the audit log holds `action` on `target`.
async fn audited_once_shown(
    srv: &TestServer,
    ws: &mut common::socket::Ws,
    frame: &str,
    action: &str,
    target: &str,
) -> bool {
    next_of(ws, frame, &mut Vec::new()).await;
    srv.audited(|a| a.action == action && a.target == target)
        .await
}

/// A facilitator's action is audited before anyone can see it, and not done at all when its
/// entry cannot be written: a room's command (hide) and a store action (see a notice).
async fn audited_before_shown_and_undone_without_entry(srv: TestServer) {
    let mut c = Classroom::open(srv, &[("activity", "playground"), ("groups", "1")]).await;
    let target = format!("group {}", c.group);
    let seq = say(&mut c.mia, "a1", "a slide for everyone").await["seq"]
        .as_i64()
        .unwrap();
    let flag = c
        .srv
        .store()
        .raise_flag(
            c.group,
            Some(seq),
            "held",
            "held",
            peerlearn::store::now_ms(),
        )
        .await
        .unwrap();

    // The moment a page shows the action, its entry is there, whether or not the request
    // has answered yet.
    let (srv, fac, group) = (&c.srv, &c.fac, c.group);
    let act = |body: Value| async move {
        action(
            srv,
            group,
            Some(&fac.cookie),
            Some(&fac.csrf),
            &body.to_string(),
        )
        .await
    };
    let (hid, audited_when_hidden) = tokio::join!(
        act(json!({"action":"hide","seq": seq})),
        audited_once_shown(srv, &mut c.leo, "hidden", "hide", &target),
    );
    assert_eq!(hid.status(), 200);
    assert!(audited_when_hidden, "hide audited once Leo is told");
    let (saw, audited_when_seen) = tokio::join!(
        act(json!({"action":"see_notice","flag_id": flag.id})),
        audited_once_shown(srv, &mut c.dash, "notice_seen", "see_notice", &target),
    );
    assert_eq!(saw.status(), 200);
    assert!(
        audited_when_seen,
        "see_notice audited once the grid shows it"
    );

    // The database refuses audit entries from now on: the action fails and nothing changes.
    common::refuse_audit_entries(c.srv.database()).await;
    let entries = c.srv.audit().await.len();
    let seq = say(&mut c.mia, "a2", "a tunnel too").await["seq"]
        .as_i64()
        .unwrap();
    let other = notice(&c).await;
    let r = c.act(json!({"action":"hide","seq": seq})).await;
    assert_eq!(r.status(), 500, "hide without its entry");
    let r = c
        .act(json!({"action":"see_notice","flag_id": other.id}))
        .await;
    assert_eq!(r.status(), 500, "see_notice without its entry");
    let store = c.srv.store();
    assert_eq!(
        store.message(c.group, seq).await.unwrap().moderation,
        peerlearn::store::Moderation::Visible
    );
    assert_eq!(store.flag(c.group, other.id).await.unwrap().seen_at, None);
    assert_eq!(c.srv.audit().await.len(), entries);
    let shown: Vec<Value> = drain(&mut c.leo).await;
    assert!(
        !shown.iter().any(|f| f["type"] == "hidden"),
        "Leo is told nothing: {shown:?}"
    );
    let grid = drain(&mut c.dash).await;
    assert!(
        !grid
            .iter()
            .any(|f| f["type"] == "notice_seen" || f["type"] == "moderation"),
        "the grid shows nothing: {grid:?}"
    );
}

#[tokio::test]
async fn an_action_is_audited_before_it_shows_and_undone_without_its_entry_sqlite() {
    audited_before_shown_and_undone_without_entry(TestServer::start().await).await;
}

#[tokio::test]
async fn an_action_is_audited_before_it_shows_and_undone_without_its_entry_postgres() {
    let db = common::postgres().await;
    let srv = TestServer::builder()
        .database(db.settings.clone())
        .start()
        .await;
    audited_before_shown_and_undone_without_entry(srv).await;
}

#[tokio::test]
async fn the_csv_download_is_pseudonymised_and_leaves_hidden_messages_out() {
    let mut c = classroom().await;
    let seq = say(&mut c.mia, "a1", "a slide for everyone").await["seq"]
        .as_i64()
        .unwrap();
    assert_eq!(
        c.act(json!({"action":"hide","seq": seq})).await.status(),
        200
    );
    assert_eq!(say(&mut c.leo, "l2", "hey again").await["type"], "ack");
    // Downloads: a CSV with the session's messages, pseudonymised.
    let export =
        |format: &str| format!("/facilitator/sessions/{}/export?format={format}", c.session);
    let csv = c.get(&export("csv")).await;
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
    assert_eq!(c.get(&export("pdf")).await.status(), 400);
    assert!(c.srv.audited(|a| a.action == "export").await);
}

// ---------------------------------------------------------------------------------------------
// Coding in the transcript view, and the analysis downloads

/// A running session of one group with Mia's message in it, ms-lee its owner and mr-kim
/// another facilitator, and the paths of its coding routes.
struct Coding {
    srv: TestServer,
    lee: Fac,
    kim: Fac,
    session: i64,
    /// Mia's message.
    seq: i64,
    /// `.../sessions/{session}/codes`: the codebook.
    codes: String,
    /// `.../groups/{group}/codings`: applying and removing codes.
    codings: String,
}

async fn coding() -> Coding {
    let srv = TestServer::start().await;
    let lee = facilitator(&srv, "ms-lee").await;
    let kim = facilitator(&srv, "mr-kim").await;
    let (session, groups) =
        start_session(&srv, &lee, &[("activity", "playground"), ("groups", "1")]).await;
    let (group, code) = groups[0].clone();
    let mia = child(&srv, &code, "Mia").await;
    let mut ws = common::socket::child_socket(&srv, group, &mia.cookie).await;
    let seq = say(&mut ws, "c1", "what if the slide had a ramp").await["seq"]
        .as_i64()
        .unwrap();
    Coding {
        codes: format!("/api/facilitator/sessions/{session}/codes"),
        codings: format!("/api/facilitator/groups/{group}/codings"),
        srv,
        lee,
        kim,
        session,
        seq,
    }
}

impl Coding {
    async fn request(
        &self,
        method: Method,
        path: &str,
        fac: &Fac,
        body: &str,
    ) -> reqwest::Response {
        json_request(&self.srv, method, path, fac, body).await
    }

    /// ms-lee adds "Builds on an idea" to the codebook; the code's path.
    async fn add_code(&self) -> String {
        let r = self
            .request(
                Method::POST,
                &self.codes,
                &self.lee,
                r##"{"name":"Builds on an idea","color":"#1d4ed8"}"##,
            )
            .await;
        assert_eq!(r.status(), 200);
        let made: Value = r.json().await.unwrap();
        format!("{}/{}", self.codes, made["id"].as_i64().unwrap())
    }

    /// ms-lee renames the code at `path` to "Building on ideas".
    async fn rename(&self, path: &str) {
        let r = self
            .request(
                Method::POST,
                path,
                &self.lee,
                r#"{"name":"Building on ideas"}"#,
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    /// The body that applies (or removes) the code at `path` on Mia's message.
    fn apply(&self, path: &str) -> String {
        let code_id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
        json!({"code_id": code_id, "seq": self.seq}).to_string()
    }

    fn export(&self, format: &str) -> String {
        format!(
            "/facilitator/sessions/{}/export?format={format}",
            self.session
        )
    }

    fn agreement(&self) -> String {
        format!("/facilitator/sessions/{}/agreement", self.session)
    }
}

#[tokio::test]
async fn the_codebook_adds_renames_and_refuses_a_duplicate_or_bad_input() {
    let c = coding().await;
    let code = c.add_code().await;
    for (body, status) in [
        (r#"{"name":"builds on an IDEA"}"#, 409),
        (r#"{"name":""}"#, 400),
        (r#"{"name":"x","color":"blue-ish"}"#, 400),
        ("{", 400),
    ] {
        assert_eq!(
            c.request(Method::POST, &c.codes, &c.lee, body)
                .await
                .status(),
            status,
            "{body}"
        );
    }
    c.rename(&code).await;
}

#[tokio::test]
async fn another_facilitator_can_neither_see_nor_change_the_coding() {
    let c = coding().await;
    let code = c.add_code().await;
    let apply = c.apply(&code);
    let kim = &c.kim;
    assert_eq!(
        get(
            &c.srv,
            &format!("/api/facilitator/sessions/{}/coding", c.session),
            Some(&kim.cookie)
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        c.request(Method::POST, &code, kim, r#"{"name":"mine now"}"#)
            .await
            .status(),
        404
    );
    assert_eq!(
        c.request(Method::POST, &c.codings, kim, &apply)
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&c.srv, &c.agreement(), Some(&kim.cookie))
            .await
            .status(),
        404
    );
    assert_eq!(
        c.request(Method::DELETE, &code, kim, "").await.status(),
        404
    );
    let import = format!("/api/facilitator/sessions/{}/codebook", c.session);
    assert_eq!(
        c.request(Method::POST, &import, kim, "name\nIdeas\n")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_coding_is_applied_once_and_refused_for_unknown_utterances_and_codes() {
    let c = coding().await;
    let code = c.add_code().await;
    c.rename(&code).await;
    let apply = c.apply(&code);
    // Coding: apply (twice is the same coding), refuse unknown utterances and codes.
    let r = c.request(Method::POST, &c.codings, &c.lee, &apply).await;
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["coder"], "ms-lee");
    let again: Value = c
        .request(Method::POST, &c.codings, &c.lee, &apply)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], first["id"]);
    let code_id: i64 = code.rsplit('/').next().unwrap().parse().unwrap();
    let bad_seq = json!({"code_id": code_id, "seq": 999}).to_string();
    assert_eq!(
        c.request(Method::POST, &c.codings, &c.lee, &bad_seq)
            .await
            .status(),
        400
    );
    let bad_code = json!({"code_id": 999_999, "seq": c.seq}).to_string();
    assert_eq!(
        c.request(Method::POST, &c.codings, &c.lee, &bad_code)
            .await
            .status(),
        404
    );
    let no_csrf = client()
        .post(format!("{}{}", c.srv.base, c.codings))
        .header(header::COOKIE, &c.lee.cookie)
        .body(apply.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let state: Value = get(
        &c.srv,
        &format!("/api/facilitator/sessions/{}/coding", c.session),
        Some(&c.lee.cookie),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(state["coder"], "ms-lee");
    assert_eq!(state["codes"][0]["name"], "Building on ideas");
    assert_eq!(state["codings"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_analysis_downloads_carry_the_codebook_and_the_coding() {
    let c = coding().await;
    let code = c.add_code().await;
    c.rename(&code).await;
    let r = c
        .request(Method::POST, &c.codings, &c.lee, &c.apply(&code))
        .await;
    assert_eq!(r.status(), 200);
    // The downloads: the codebook, the QDPX with the coding, participation, agreement.
    let download = |path: String| {
        let (srv, cookie) = (&c.srv, c.lee.cookie.clone());
        async move { get(srv, &path, Some(&cookie)).await }
    };
    let qdc = download(c.export("qdc")).await;
    assert_eq!(qdc.status(), 200);
    assert!(qdc.text().await.unwrap().contains("Building on ideas"));
    let qdpx = download(c.export("qdpx")).await;
    assert_eq!(qdpx.status(), 200);
    assert!(qdpx.bytes().await.unwrap().starts_with(b"PK"), "a zip");
    let groups_csv = download(c.export("participation")).await;
    assert_eq!(groups_csv.status(), 200);
    assert!(groups_csv.text().await.unwrap().contains("gini"));
    let speakers = download(c.export("participation-speakers"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        speakers.contains("Child 1") && !speakers.contains("Mia"),
        "{speakers}"
    );
    let irr = download(c.agreement()).await;
    assert_eq!(irr.status(), 200);
    let irr: Value = irr.json().await.unwrap();
    assert_eq!(irr["coders"], json!(["ms-lee"]));
    assert_eq!(download(c.export("docx")).await.status(), 400);
}

#[tokio::test]
async fn removing_a_coding_or_a_code_takes_only_ones_own() {
    let c = coding().await;
    let code = c.add_code().await;
    let apply = c.apply(&code);
    let r = c.request(Method::POST, &c.codings, &c.lee, &apply).await;
    assert_eq!(r.status(), 200);
    // Removing: only one's own coding; deleting the code takes its codings along.
    assert_eq!(
        c.request(Method::DELETE, &c.codings, &c.lee, &apply)
            .await
            .status(),
        200
    );
    assert_eq!(
        c.request(Method::DELETE, &c.codings, &c.lee, &apply)
            .await
            .status(),
        404
    );
    assert_eq!(
        c.request(Method::DELETE, &code, &c.kim, "").await.status(),
        404
    );
    assert_eq!(
        c.request(Method::DELETE, &code, &c.lee, "").await.status(),
        200
    );
    assert!(c.srv.store().codebook(c.session).await.unwrap().is_empty());
    // With no codes left, the codebook download says so instead of an empty file.
    assert_eq!(
        get(&c.srv, &c.export("qdc"), Some(&c.lee.cookie))
            .await
            .status(),
        409
    );
}

#[tokio::test]
async fn a_codebook_file_is_imported_all_or_nothing() {
    let c = coding().await;
    // Importing a codebook file: a malformed one names its line and imports nothing.
    let import = format!("/api/facilitator/sessions/{}/codebook", c.session);
    let bad = c
        .request(
            Method::POST,
            &import,
            &c.lee,
            "name,colour\nIdeas,#00aa00\nBad,#12\n",
        )
        .await;
    assert_eq!(bad.status(), 400);
    let e: Value = bad.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("line 3"), "{e}");
    assert!(c.srv.store().codebook(c.session).await.unwrap().is_empty());
    assert_eq!(
        c.request(Method::POST, &import, &c.lee, "").await.status(),
        400
    );
    let huge = "name\n".to_string() + &"x\n".repeat(600_000);
    assert_eq!(
        c.request(Method::POST, &import, &c.lee, &huge)
            .await
            .status(),
        413,
        "over 1 MiB: payload too large"
    );
    let ok = c
        .request(
            Method::POST,
            &import,
            &c.lee,
            "name,description,colour\nIdeas,new ideas,#00aa00\nQuestions,,\n",
        )
        .await;
    assert_eq!(ok.status(), 200);
    let summary: Value = ok.json().await.unwrap();
    assert_eq!(
        (summary["created"].as_u64(), summary["updated"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(c.srv.store().codebook(c.session).await.unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Children's data: retention, consent, deletion, and the audit of reads and failed sign-ins

#[tokio::test]
async fn failed_sign_ins_are_audited_with_the_address_never_the_typed_name() {
    let srv = TestServer::start().await;
    let lee_id = add_facilitator(&srv, "ms-lee").await;
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
        .audit()
        .await
        .into_iter()
        .filter(|a| a.action == "sign_in_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].facilitator_id, Some(lee_id));
    assert_eq!(failed[0].detail, "address=127.0.0.1 account=known");
    assert_eq!(failed[1].facilitator_id, None);
    assert_eq!(failed[1].detail, "address=127.0.0.1 account=unknown");
}

/// ms-lee's session of one group (the default retention period) that Mia joined, and mr-ode,
/// another facilitator.
struct ChildrensData {
    srv: TestServer,
    fac: Fac,
    other: Fac,
    session: i64,
    group: i64,
}

async fn childrens_data() -> ChildrensData {
    let srv = TestServer::start().await;
    let fac = facilitator(&srv, "ms-lee").await;
    let other = facilitator(&srv, "mr-ode").await;
    let session = create_session(&srv, &fac, &[("activity", "playground"), ("groups", "1")]).await;
    let (group, code) = groups(&srv, session).await[0].clone();
    assert_eq!(
        join_attempt(&client(), &srv, &code, "Mia").await.status(),
        200
    );
    ChildrensData {
        srv,
        fac,
        other,
        session,
        group,
    }
}

impl ChildrensData {
    /// The session's page as `fac` sees it.
    async fn page(&self) -> String {
        let path = format!("/facilitator/sessions/{}", self.session);
        get_text(&self.srv, &path, Some(&self.fac.cookie)).await
    }

    /// A consent record posted by `who` with the CSRF token `csrf`.
    async fn consent(
        &self,
        who: &Fac,
        csrf: &str,
        kind: &str,
        date: &str,
        note: &str,
    ) -> reqwest::Response {
        post_form(
            &self.srv,
            &format!("/facilitator/sessions/{}/consents", self.session),
            Some(&who.cookie),
            &[
                ("csrf", csrf),
                ("kind", kind),
                ("given_on", date),
                ("note", note),
            ],
        )
        .await
    }

    /// ms-lee's consent of the parents, recorded.
    async fn parents_consent(&self) {
        let resp = self
            .consent(
                &self.fac,
                &self.fac.csrf,
                "parents",
                "2026-11-20",
                "forms in office",
            )
            .await;
        assert_eq!(resp.status(), 303);
    }

    /// ms-lee adds a code named `name`; its id.
    async fn add_code(&self, name: &str) -> Value {
        json_request(
            &self.srv,
            Method::POST,
            &format!("/api/facilitator/sessions/{}/codes", self.session),
            &self.fac,
            &json!({ "name": name }).to_string(),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
            .clone()
    }

    /// Whether ms-lee's audit holds `action` on `target` with `detail` in its detail.
    async fn audited(&self, action: &str, target: &str, detail: &str) -> bool {
        let audit = self.srv.audit().await;
        audit.iter().any(|a| {
            a.action == action
                && a.target == target
                && a.detail.contains(detail)
                && a.facilitator_id == Some(self.fac.id)
        })
    }
}

#[tokio::test]
async fn the_session_form_offers_the_retention_period_and_refuses_a_bad_one() {
    let d = childrens_data().await;
    let (srv, fac) = (&d.srv, &d.fac);
    let html = get_text(srv, "/facilitator", Some(&fac.cookie)).await;
    assert!(
        html.contains(r#"name="retention_days" type="number" min="1" max="3650" value="180""#),
        "{html}"
    );
    for bad in ["0", "-3", "many"] {
        let resp = post_form(
            srv,
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
        srv,
        fac,
        &[
            ("activity", "playground"),
            ("groups", "1"),
            ("retention_days", "30"),
        ],
    )
    .await;
    assert_eq!(srv.store().session(kept).await.unwrap().retention_days, 30);
    assert_eq!(
        srv.store().session(d.session).await.unwrap().retention_days,
        180
    );
    assert!(
        d.audited(
            "create_session",
            &format!("session {}", d.session),
            "retention_days=180"
        )
        .await
    );
}

#[tokio::test]
async fn the_session_page_tells_how_long_data_is_kept_and_offers_deletion() {
    let d = childrens_data().await;
    let html = d.page().await;
    assert!(
        html.contains("kept until 180 days after the session ends"),
        "{html}"
    );
    assert!(html.contains("No consent recorded yet."));
    assert!(html.contains(&format!(
        "href=\"/facilitator/sessions/{}/delete\"",
        d.session
    )));
}

#[tokio::test]
async fn consent_is_checked_shown_audited_and_downloadable() {
    let d = childrens_data().await;
    let (fac, other) = (&d.fac, &d.other);
    let resp = d
        .consent(fac, &fac.csrf, "parents", "2026-02-30", "forms in office")
        .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(html.contains("is not a day") && html.contains("value=\"forms in office\""));
    let resp = d.consent(fac, &fac.csrf, "uncle", "2026-11-20", "").await;
    assert!(resp.text().await.unwrap().contains("unknown consent kind"));
    assert_eq!(
        d.consent(fac, "forged", "parents", "2026-11-20", "")
            .await
            .status(),
        403
    );
    assert_eq!(
        d.consent(other, &other.csrf, "parents", "2026-11-20", "")
            .await
            .status(),
        404,
        "not their session"
    );
    d.parents_consent().await;
    let html = d.page().await;
    assert!(
        html.contains("<td>parents</td><td>2026-11-20</td><td>forms in office</td><td>ms-lee</td>"),
        "{html}"
    );
    let csv = get_text(
        &d.srv,
        &format!("/facilitator/sessions/{}/export?format=consent", d.session),
        Some(&fac.cookie),
    )
    .await;
    assert!(
        csv.contains("parents,2026-11-20,forms in office,Facilitator,") && !csv.contains("ms-lee"),
        "{csv}"
    );
    let s = format!("session {}", d.session);
    assert!(
        d.audited("add_consent", &s, "kind=parents given_on=2026-11-20")
            .await
    );
    assert!(d.audited("export", &s, "format=consent").await);
}

#[tokio::test]
async fn reading_messages_and_editing_the_codebook_are_audited() {
    let d = childrens_data().await;
    let (srv, fac, session, group) = (&d.srv, &d.fac, d.session, d.group);
    let snapshot = get(
        srv,
        &format!("/api/facilitator/sessions/{session}/snapshot"),
        Some(&fac.cookie),
    )
    .await;
    assert_eq!(snapshot.status(), 200);
    let transcript = get(
        srv,
        &format!("/api/facilitator/groups/{group}/transcript"),
        Some(&fac.cookie),
    )
    .await;
    assert_eq!(transcript.status(), 200);
    let code = d.add_code("ramp").await;
    let resp = json_request(
        srv,
        Method::POST,
        &format!("/api/facilitator/sessions/{session}/codes/{code}"),
        fac,
        r#"{"name":"ramps"}"#,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (s, g) = (format!("session {session}"), format!("group {group}"));
    assert!(d.audited("read_snapshot", &s, "groups=1").await);
    assert!(d.audited("read_transcript", &g, "").await);
    assert!(d.audited("add_code", &s, "name=ramp").await);
    assert!(d.audited("update_code", &s, "name=ramps was=ramp").await);
}

#[tokio::test]
async fn deleting_a_session_asks_first_and_takes_only_ones_own() {
    let d = childrens_data().await;
    let (srv, fac, other, session) = (&d.srv, &d.fac, &d.other, d.session);
    let kept = create_session(srv, fac, &[("activity", "playground"), ("groups", "1")]).await;
    d.parents_consent().await;
    d.add_code("ramp").await;
    // Deleting: a confirmation page, then a CSRF-checked form; only one's own sessions.
    let html = get_text(
        srv,
        &format!("/facilitator/sessions/{session}/delete"),
        Some(&fac.cookie),
    )
    .await;
    assert!(
        html.contains("<strong id=\"delete-children\">1</strong>")
            && html.contains("<strong id=\"delete-consents\">1</strong>")
            && html.contains("it is ended first"),
        "{html}"
    );
    let delete = |who: &Fac, csrf: &str| {
        let (cookie, csrf) = (who.cookie.clone(), csrf.to_string());
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
    assert_eq!(delete(fac, "forged").await.status(), 403);
    assert_eq!(delete(other, &other.csrf).await.status(), 404);
    assert_eq!(
        get(
            srv,
            &format!("/facilitator/sessions/{session}/delete"),
            Some(&other.cookie)
        )
        .await
        .status(),
        404
    );
    assert!(srv.store().session(session).await.is_ok());
    let resp = delete(fac, &fac.csrf).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], "/facilitator");
    assert!(srv.store().session(session).await.is_err());
    assert!(srv.store().participants(d.group).await.unwrap().is_empty());
    assert!(
        srv.store().session(kept).await.is_ok(),
        "the other session stays"
    );
    assert_eq!(
        get(
            srv,
            &format!("/facilitator/sessions/{session}"),
            Some(&fac.cookie)
        )
        .await
        .status(),
        404
    );
    let entry = srv.audit().await.pop().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.facilitator_id),
        ("delete_session", Some(fac.id))
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
