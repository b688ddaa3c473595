//! "I need help" over real sockets and HTTP (issue 17): a child's private request reaches the
//! teacher's live grid at once as a notice on the group, the child is told that the teacher
//! knows, the other child sees nothing; the note is screened like a message; one request per
//! child per minute; the teacher marks it SEEN then DEALT WITH (audited); and a reconnect
//! still shows the child where their request stands.

mod common;

use std::time::Duration;

use common::facilitator::Classroom;
use common::server::TestServer;
use common::socket::{self, next_kind, send, Ws, LIFE, ROOM_LIFE};
use futures::StreamExt;
use peerlearn::store::{Flag, HELP_REQUEST};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// One group without an agent, Mia and Leo connected, the teacher's live socket open.
async fn classroom() -> Classroom {
    Classroom::open(
        TestServer::start().await,
        &[
            ("activity", "playground"),
            ("groups", "1"),
            ("role_1", "none"),
        ],
    )
    .await
}

/// The group's help requests in the store.
async fn help_requests(c: &Classroom) -> Vec<Flag> {
    c.srv
        .store()
        .flags(c.group)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.kind == HELP_REQUEST)
        .collect()
}

/// Asks for help on `ws` with an optional note.
async fn ask(ws: &mut Ws, note: Option<&str>) {
    let frame = match note {
        Some(n) => json!({"type": "help", "note": n}),
        None => json!({"type": "help"}),
    };
    send(ws, frame).await;
}

/// The child's answer to a help request: `help_sent` or an `error`.
async fn answer(ws: &mut Ws) -> Value {
    next_kind(ws, &["help_sent", "error"], LIFE).await
}

/// The one `help_sent` among the frames a hello brought (before `synced`).
fn reminder(frames: &[Value]) -> &Value {
    let found: Vec<&Value> = frames.iter().filter(|f| f["type"] == "help_sent").collect();
    assert_eq!(found.len(), 1, "{frames:?}");
    found[0]
}

/// Every frame that reaches `ws` within 300 ms of quiet.
async fn drain(ws: &mut Ws) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), ws.next()).await
    {
        frames.push(serde_json::from_str(&t).unwrap());
    }
    frames
}

async fn audited(c: &Classroom, action: &str, flag: i64) -> bool {
    let (target, detail) = (format!("group {}", c.group), format!("notice={flag}"));
    c.srv
        .audited(|x| x.action == action && x.target == target && x.detail == detail)
        .await
}

#[tokio::test]
async fn a_help_request_reaches_the_teacher_at_once_and_nobody_else() {
    let mut c = classroom().await;
    ask(&mut c.mia, Some("I'm stuck on the drawing")).await;
    let sent = answer(&mut c.mia).await;
    assert_eq!(sent["type"], "help_sent", "{sent}");
    assert_eq!(sent["state"], "new");
    assert!(sent["asked_at_ms"].as_i64().unwrap() > 0);
    let notice = next_kind(&mut c.dash, &["notice"], LIFE).await;
    assert_eq!(notice["group_id"], c.group);
    let flag = &notice["flag"];
    assert_eq!(flag["kind"], "help_request");
    assert_eq!(flag["severity"], "notice");
    assert_eq!(flag["participant_id"], c.mia_child.id);
    assert_eq!(flag["note"], "I'm stuck on the drawing");
    assert_eq!(flag["detail"], "Mia asked for help.");
    assert!(flag["seen_at"].is_null() && flag["resolved_at"].is_null());
    // The other child sees nothing of it, and no message was written to the group.
    for f in drain(&mut c.leo).await {
        let kind = f["type"].as_str().unwrap_or("");
        assert!(ROOM_LIFE.contains(&kind), "Leo saw {f}");
    }
    assert_eq!(c.srv.store().group(c.group).await.unwrap().last_seq, 0);
    let stored = help_requests(&c).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].participant_id, Some(c.mia_child.id));
    assert_eq!(stored[0].message_seq, None);
    // A request without a note is a request too (another child's own limit).
    ask(&mut c.leo, None).await;
    assert_eq!(answer(&mut c.leo).await["type"], "help_sent");
    let notice = next_kind(&mut c.dash, &["notice"], LIFE).await;
    assert_eq!(notice["flag"]["detail"], "Leo asked for help.");
    assert!(notice["flag"]["note"].is_null());
}

#[tokio::test]
async fn a_second_request_within_a_minute_is_refused_kindly_and_stores_nothing() {
    let mut c = classroom().await;
    ask(&mut c.mia, None).await;
    assert_eq!(answer(&mut c.mia).await["type"], "help_sent");
    ask(&mut c.mia, Some("please come")).await;
    let refused = answer(&mut c.mia).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(refused["about"], "help");
    let wait = refused["retry_after_ms"].as_u64().unwrap();
    assert!(wait > 50_000 && wait <= 60_000, "{wait}");
    let text = refused["message"].as_str().unwrap();
    assert!(
        text.starts_with("Your teacher already knows you need help."),
        "{text}"
    );
    // A new connection (a reload) is the same child: still refused.
    let (mut again, frames) = socket::hello(&c.srv, c.group, &c.mia_child.cookie, 0).await;
    assert_eq!(reminder(&frames)["state"], "new");
    ask(&mut again, None).await;
    assert_eq!(answer(&mut again).await["code"], "rate_limited");
    assert_eq!(help_requests(&c).await.len(), 1, "nothing more stored");
}

#[tokio::test]
async fn a_note_with_an_email_is_stored_hidden_with_the_original_for_the_teacher() {
    let mut c = classroom().await;
    let written = "please email me at mia.jones@gmail.com";
    ask(&mut c.mia, Some(written)).await;
    assert_eq!(answer(&mut c.mia).await["type"], "help_sent");
    let notice = next_kind(&mut c.dash, &["notice"], LIFE).await;
    let flag = &notice["flag"];
    let note = flag["note"].as_str().unwrap();
    assert!(
        note.contains("[hidden]") && !note.contains("mia.jones"),
        "{note}"
    );
    assert_eq!(flag["original_note"], written);
    assert_eq!(flag["severity"], "notice");
    assert!(
        flag["detail"].as_str().unwrap().contains("personal data"),
        "{flag}"
    );
    let stored = &help_requests(&c).await[0];
    assert_eq!(stored.note.as_deref(), Some(note));
    assert_eq!(stored.original_note.as_deref(), Some(written));
}

#[tokio::test]
async fn a_disclosure_in_the_note_raises_the_urgent_alert() {
    let mut c = classroom().await;
    ask(&mut c.mia, Some("I want to die")).await;
    assert_eq!(answer(&mut c.mia).await["type"], "help_sent");
    let notice = next_kind(&mut c.dash, &["notice"], LIFE).await;
    let flag = &notice["flag"];
    assert_eq!(flag["severity"], "urgent");
    assert_eq!(flag["kind"], "help_request");
    let detail = flag["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Mia asked for help and may need it urgently"),
        "{detail}"
    );
    // The teacher reads the words; the group never does.
    assert_eq!(flag["note"], "I want to die");
    for f in drain(&mut c.leo).await {
        assert!(!f.to_string().contains("die"), "Leo saw {f}");
    }
}

#[tokio::test]
async fn the_teacher_marks_it_seen_then_dealt_with_audited_and_a_reconnect_follows() {
    let mut c = classroom().await;
    ask(&mut c.mia, Some("can you come")).await;
    assert_eq!(answer(&mut c.mia).await["type"], "help_sent");
    let notice = next_kind(&mut c.dash, &["notice"], LIFE).await;
    let flag = notice["flag"]["id"].as_i64().unwrap();

    let r = c
        .act(json!({"action": "see_notice", "flag_id": flag}))
        .await;
    assert_eq!(r.status(), 200);
    // The child hears it at once; the other child does not.
    assert_eq!(answer(&mut c.mia).await["state"], "seen");
    let seen = next_kind(&mut c.dash, &["notice_seen"], LIFE).await;
    assert_eq!(seen["flag_id"], flag);
    assert!(seen["seen_at_ms"].as_i64().unwrap() > 0);
    let stored = c.srv.store().flag(c.group, flag).await.unwrap();
    assert!(stored.seen_at.is_some() && stored.resolved_at.is_none());
    assert!(audited(&c, "see_notice", flag).await);
    // Still on the grid after a reload of the dashboard, as seen.
    let snapshot: Value = c
        .get(&format!("/api/facilitator/groups/{}/transcript", c.group))
        .await
        .json()
        .await
        .unwrap();
    let open = snapshot["groups"][0]["notices"].as_array().unwrap().clone();
    assert!(
        open.iter()
            .any(|n| n["id"] == flag && !n["seen_at"].is_null()),
        "{open:?}"
    );
    // The child's reloaded page shows where the request stands.
    let (_again, frames) = socket::hello(&c.srv, c.group, &c.mia_child.cookie, 0).await;
    assert_eq!(reminder(&frames)["state"], "seen");

    let r = c
        .act(json!({"action": "resolve_notice", "flag_id": flag}))
        .await;
    assert_eq!(r.status(), 200);
    let resolved = next_kind(&mut c.dash, &["notice_resolved"], LIFE).await;
    assert_eq!(resolved["flag_id"], flag);
    assert_eq!(answer(&mut c.mia).await["state"], "dealt_with");
    for f in drain(&mut c.leo).await {
        assert_ne!(f["type"], "help_sent", "Leo saw {f}");
    }
    let stored = c.srv.store().flag(c.group, flag).await.unwrap();
    assert_eq!(stored.resolution.as_deref(), Some("dealt_with"));
    assert!(audited(&c, "resolve_notice", flag).await);
    // Dealt with: a new page has nothing to remind of.
    let (mut later, mut frames) = socket::hello(&c.srv, c.group, &c.mia_child.cookie, 0).await;
    frames.extend(drain(&mut later).await);
    assert!(
        frames.iter().all(|f| f["type"] != "help_sent"),
        "{frames:?}"
    );
    // A notice this group does not have: not found.
    let r = c
        .act(json!({"action": "see_notice", "flag_id": flag + 100}))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bad_help_frames_get_clear_errors_and_store_nothing() {
    let mut c = classroom().await;
    let long = "a".repeat(201);
    ask(&mut c.mia, Some(&long)).await;
    let e = answer(&mut c.mia).await;
    assert_eq!(e["code"], "message_too_long", "{e}");
    assert_eq!(e["about"], "help");
    assert!(e["message"].as_str().unwrap().contains("200"), "{e}");
    for bad in [
        json!({"type": "help", "note": 5}),
        json!({"type": "help", "note": ["a"]}),
        json!({"type": "help", "urgent": true}),
    ] {
        send(&mut c.mia, bad.clone()).await;
        let e = answer(&mut c.mia).await;
        assert_eq!(e["code"], "bad_request", "{bad}: {e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("This frame could not be understood"),
            "{e}"
        );
    }
    // Before hello, a socket cannot ask.
    let mut fresh = socket::connect(
        &socket::Served::ws_url(&c.srv, c.group),
        Some(&c.mia_child.cookie),
        Some(&c.srv.base),
    )
    .await
    .unwrap();
    ask(&mut fresh, None).await;
    assert_eq!(answer(&mut fresh).await["code"], "not_ready");
    assert!(help_requests(&c).await.is_empty());
    // None of those used up the limit: a good request still goes through.
    ask(&mut c.mia, Some("now it works")).await;
    assert_eq!(answer(&mut c.mia).await["type"], "help_sent");
    assert_eq!(help_requests(&c).await.len(), 1);
}
