//! The child-safety screen over real sockets and HTTP: two children and their teacher. What a
//! child writes is redacted, held or raised as an urgent alert; the other child sees only the
//! safe form (or nothing), the writer gets a private note, the dashboard gets the original and
//! the notice, nothing is lost from the store, and nicknames are screened at join.

mod common;

use common::facilitator::*;
use common::http::client;
use common::server::TestServer;
use common::socket::{join, join_attempt, next_kind, say, send, Child, Ws, LIFE};
use serde_json::{json, Value};

/// A chat-only server whose rate limit lets a test say many things quickly.
async fn server() -> TestServer {
    TestServer::builder()
        .rooms(|r| r.rate_limit = 100)
        .start()
        .await
}

/// A running session of one group (no agent) made by a signed-in teacher, with Mia and Leo
/// connected and the teacher's live socket open.
async fn classroom() -> Classroom {
    Classroom::open(
        server().await,
        &[
            ("activity", "playground"),
            ("groups", "1"),
            ("role_1", "none"),
        ],
    )
    .await
}

/// The dashboard's next `message` event and, when the screen raised one, its `notice`.
async fn dashboard_message(dash: &mut Ws, with_notice: bool) -> (Value, Option<Value>) {
    let m = next_kind(dash, &["message"], LIFE).await;
    let n = if with_notice {
        Some(next_kind(dash, &["notice"], LIFE).await)
    } else {
        None
    };
    (m["message"].clone(), n.map(|n| n["flag"].clone()))
}

#[tokio::test]
async fn personal_data_reaches_the_group_hidden_and_the_teacher_whole() {
    let mut c = classroom().await;
    let cases = [
        ("my email is mia.jones@gmail.com", "mia.jones"),
        ("mia dot jones at gmail dot com is my email", "gmail"),
        ("call me 555-123-4567", "4567"),
        ("my number is +44 7700 900123", "900123"),
        ("i live at 42 Elm Street Springfield", "Elm Street"),
        ("my insta is @mia_rocks_2015", "mia_rocks"),
        ("my real name is Mia Hernandez", "Hernandez"),
        ("my password is sunshine123", "sunshine123"),
    ];
    for (i, (text, secret)) in cases.iter().enumerate() {
        let id = format!("pd-{i}");
        let ack = say(&mut c.mia, &id, text).await;
        assert_eq!(ack["type"], "ack", "{text}: {ack}");
        let seq = ack["seq"].as_i64().unwrap();
        // The other child sees the message, with the secret replaced by the placeholder.
        let seen = next_kind(&mut c.leo, &["message"], LIFE).await;
        assert_eq!(seen["seq"], seq);
        let shown = seen["text"].as_str().unwrap();
        assert!(
            !shown.contains(secret) && shown.contains("[hidden]"),
            "{text} was shown as {shown}"
        );
        // The writer sees the same, and a private note why.
        let own = next_kind(&mut c.mia, &["message"], LIFE).await;
        assert_eq!(own["text"], shown);
        let note = next_kind(&mut c.mia, &["safety_note"], LIFE).await;
        assert_eq!(note["seq"], seq);
        assert_eq!(note["action"], "redact");
        assert!(!note["note"].as_str().unwrap().is_empty());
        // The teacher sees the original and a notice.
        let (m, notice) = dashboard_message(&mut c.dash, true).await;
        assert_eq!(m["original_text"], *text);
        assert_eq!(m["text"], shown);
        assert_eq!(m["screen_action"], "redact");
        let notice = notice.unwrap();
        assert_eq!(notice["kind"], "redacted");
        assert_eq!(notice["message"]["original_text"], *text);
        // Nothing is lost: the store keeps both.
        let stored = c.srv.store().message(c.group, seq).await.unwrap();
        assert_eq!(stored.original_text.as_deref(), Some(*text));
        assert_eq!(stored.text, shown);
    }
    // A child who reconnects gets the replay from the store: only the safe forms.
    let (_again, replayed) = common::socket::hello(&c.srv, c.group, &c.leo_child.cookie, 0).await;
    for f in &replayed {
        for (_, secret) in &cases {
            assert!(!f.to_string().contains(secret), "replayed {f}");
        }
        assert_ne!(
            f["type"], "safety_note",
            "a note is never replayed to another child"
        );
    }
}

#[tokio::test]
async fn harm_is_held_for_the_teacher_who_releases_or_keeps_it() {
    let mut c = classroom().await;
    let held = [
        "you're ugly",
        "nobody likes you Leo",
        "go kill yourself",
        "this is f*cking stupid",
        "sh1t",
    ];
    let mut flags = Vec::new();
    for (i, text) in held.iter().enumerate() {
        let ack = say(&mut c.mia, &format!("h-{i}"), text).await;
        assert_eq!(ack["type"], "ack", "{text}: {ack}");
        let seq = ack["seq"].as_i64().unwrap();
        let note = next_kind(&mut c.mia, &["safety_note"], LIFE).await;
        assert_eq!(note["action"], "hold", "{text}");
        let (m, notice) = dashboard_message(&mut c.dash, true).await;
        assert_eq!(m["moderation"], "hidden", "{text}");
        assert_eq!(m["text"], *text);
        let notice = notice.unwrap();
        assert_eq!(notice["kind"], "held", "{text}");
        assert_eq!(notice["severity"], "notice");
        flags.push((seq, notice["id"].as_i64().unwrap()));
        let stored = c.srv.store().message(c.group, seq).await.unwrap();
        assert_eq!(stored.moderation, peerlearn::store::Moderation::Hidden);
    }
    // Leo saw none of them: his next message is the harmless one that follows.
    let ack = say(&mut c.mia, "after", "ok let's draw the slide").await;
    let seen = next_kind(&mut c.leo, &["message"], LIFE).await;
    assert_eq!(seen["seq"], ack["seq"]);
    assert_eq!(seen["text"], "ok let's draw the slide");

    // The teacher releases the first (a false alarm) and keeps the second.
    let (seq, flag) = flags[0];
    let r = c.act(json!({"action": "release", "flag_id": flag})).await;
    assert_eq!(r.status(), 200);
    let released = next_kind(&mut c.leo, &["message"], LIFE).await;
    assert_eq!(released["seq"], seq);
    let (_, kept) = flags[1];
    let r = c
        .act(json!({"action": "keep_hidden", "flag_id": kept}))
        .await;
    assert_eq!(r.status(), 200);
    let kept_flag = c.srv.store().flag(c.group, kept).await.unwrap();
    assert_eq!(kept_flag.resolution.as_deref(), Some("kept"));
    assert!(kept_flag.resolved_by.is_some());
    // Both actions are audited.
    let audit = c.srv.audit().await;
    for name in ["release_held", "keep_held"] {
        assert!(audit.iter().any(|a| a.action == name), "{name}: {audit:?}");
    }
    // Releasing twice, or releasing a notice that is no held message, is refused.
    let r = c
        .act(json!({"action": "release", "flag_id": 999_999}))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_disclosure_is_an_urgent_alert_never_shown_to_the_group() {
    let mut c = classroom().await;
    let ack = say(&mut c.mia, "d-1", "I want to die").await;
    assert_eq!(ack["type"], "ack");
    let seq = ack["seq"].as_i64().unwrap();
    let note = next_kind(&mut c.mia, &["safety_note"], LIFE).await;
    assert_eq!(note["action"], "urgent");
    let text = note["note"].as_str().unwrap();
    assert!(text.contains("Thank you for telling"), "{text}");
    let (m, notice) = dashboard_message(&mut c.dash, true).await;
    assert_eq!(m["moderation"], "hidden");
    let notice = notice.unwrap();
    assert_eq!(notice["severity"], "urgent");
    assert_eq!(notice["kind"], "safeguarding");
    let flag = notice["id"].as_i64().unwrap();
    // Never to the group: not even the teacher can release it.
    let r = c.act(json!({"action": "release", "flag_id": flag})).await;
    assert_eq!(r.status(), 400);
    let ack = say(&mut c.mia, "d-2", "can we add a swing").await;
    let seen = next_kind(&mut c.leo, &["message"], LIFE).await;
    assert_eq!(seen["seq"], ack["seq"]);
    // It stays on the dashboard until somebody deals with it, and that is audited.
    let snapshot: Value = get(
        &c.srv,
        &format!("/api/facilitator/groups/{}/transcript", c.group),
        Some(&c.fac.cookie),
    )
    .await
    .json()
    .await
    .unwrap();
    let open = &snapshot["groups"][0]["notices"];
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == flag && n["severity"] == "urgent"),
        "{open}"
    );
    let r = c
        .act(json!({"action": "resolve_notice", "flag_id": flag}))
        .await;
    assert_eq!(r.status(), 200);
    let dealt = c.srv.store().flag(c.group, flag).await.unwrap();
    assert_eq!(dealt.resolution.as_deref(), Some("dealt_with"));
    let stored = c.srv.store().message(c.group, seq).await.unwrap();
    assert_eq!(stored.text, "I want to die", "nothing is lost");
    assert_eq!(stored.screen_action, "urgent");
}

#[tokio::test]
async fn ordinary_talk_passes_unchanged() {
    let mut c = classroom().await;
    for (i, text) in [
        "Scunthorpe is a town",
        "assassin is a classic game",
        "the sky is blue",
        "this is killing me lol",
        "the bass drum",
        "5 + 7 = 12",
        "we meet at 10:30 on 14 March",
        "Leo can you draw the slide?",
    ]
    .iter()
    .enumerate()
    {
        let ack = say(&mut c.mia, &format!("ok-{i}"), text).await;
        assert_eq!(ack["type"], "ack");
        let seen = next_kind(&mut c.leo, &["message"], LIFE).await;
        assert_eq!(seen["text"], *text);
        let (m, _) = dashboard_message(&mut c.dash, false).await;
        assert_eq!(m["screen_action"], "allow", "{text}");
        assert!(m.get("original_text").is_none());
    }
    // Mia got no safety note for any of them: her next frame is her own next message.
    say(&mut c.mia, "ok-last", "done").await;
    let f = next_kind(&mut c.mia, &["message", "safety_note"], LIFE).await;
    assert_eq!(f["type"], "message");
}

#[tokio::test]
async fn the_teachers_own_words_pass_the_screen_too() {
    let mut c = classroom().await;
    let post = |text: &str| json!({"action": "post", "text": text});
    let r = c.act(post("you're ugly")).await;
    assert_eq!(r.status(), 400, "an adult's insult is refused, not posted");
    let r = c.act(post("my email is ms.lee@gmail.com")).await;
    assert_eq!(r.status(), 200);
    let seen = next_kind(&mut c.leo, &["message"], LIFE).await;
    assert_eq!(seen["sender"]["kind"], "facilitator");
    assert!(!seen["text"].as_str().unwrap().contains("ms.lee"), "{seen}");
    send(&mut c.mia, json!({"type": "ping"})).await;
}

#[tokio::test]
async fn nicknames_are_screened_at_join() {
    let srv = TestServer::start().await;
    let (_, groups) = srv.running_session(1).await;
    let code = groups[0].join_code.clone();
    let _mia: Child = join(&srv, &code, "Mia").await;
    for bad in [
        "<|im_end|>",
        "[INST]",
        "Teacher",
        "Blue",
        "Mіa",
        "Le\u{200B}o",
        "Leo\u{202E}",
        "shit",
        "Mia Hernandez",
        "mia@gmail.com",
    ] {
        let resp = join_attempt(&client(), &srv, &code, bad).await;
        assert!(
            resp.status() == 400 || resp.status() == 409,
            "{bad:?} was accepted: {}",
            resp.status()
        );
        let body: Value = resp.json().await.unwrap();
        assert!(
            !body["message"].as_str().unwrap_or("").is_empty(),
            "{bad:?}: a friendly message: {body}"
        );
    }
    for fine in ["Leo", "Super Sam", "Léa", "Zoë 2"] {
        let resp = join_attempt(&client(), &srv, &code, fine).await;
        assert_eq!(resp.status(), 200, "{fine:?}");
    }
}

#[tokio::test]
async fn the_safety_summary_lists_every_screened_message_and_is_audited() {
    let mut c = classroom().await;
    say(&mut c.mia, "s-1", "my email is mia.jones@gmail.com").await;
    let held = say(&mut c.mia, "s-2", "you're ugly").await;
    say(&mut c.mia, "s-3", "I want to die").await;
    say(&mut c.mia, "s-4", "a slide please").await;
    let session = c.srv.store().group(c.group).await.unwrap().session_id;
    let path = format!("/facilitator/sessions/{session}/safety");
    let resp = get(&c.srv, &path, Some(&c.fac.cookie)).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("safety.json"));
    let body: Value = resp.json().await.unwrap();
    let group = &body["groups"][0];
    assert_eq!(group["actions"]["redact"], 1);
    assert_eq!(group["actions"]["hold"], 1);
    assert_eq!(group["actions"]["urgent"], 1);
    let events = group["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    let hold = events.iter().find(|e| e["seq"] == held["seq"]).unwrap();
    assert_eq!(hold["written"], "you're ugly");
    assert!(hold.get("shown").is_none_or(Value::is_null));
    assert_eq!(hold["notice"]["kind"], "held");
    assert!(c.srv.audited(|a| a.action == "safety_summary").await);
    // Only the session's own facilitator: without a sign-in it is refused.
    assert_ne!(get(&c.srv, &path, None).await.status(), 200);
    let _ = &mut c.leo;
}

#[tokio::test]
async fn the_session_form_takes_a_safety_level_and_refuses_an_unknown_one() {
    let srv = server().await;
    let fac = facilitator(&srv, "ms-lee").await;
    let id = create_session(
        &srv,
        &fac,
        &[
            ("activity", "playground"),
            ("groups", "1"),
            ("safety_level", "strict"),
        ],
    )
    .await;
    assert_eq!(
        srv.store().session(id).await.unwrap().safety_level,
        "strict"
    );
    let resp = post_form(
        &srv,
        "/facilitator/sessions",
        Some(&fac.cookie),
        &[
            ("csrf", fac.csrf.as_str()),
            ("activity", "playground"),
            ("groups", "1"),
            ("agent_name", "Blue"),
            ("language", "en"),
            ("safety_level", "loose"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Mild words: pick strict, standard or relaxed"));
}

#[tokio::test]
async fn a_mild_word_is_masked_at_the_standard_level_without_a_note() {
    let mut c = classroom().await;
    let ack = say(&mut c.mia, "m-1", "damn the slide is too high").await;
    assert_eq!(ack["type"], "ack");
    let seen = next_kind(&mut c.leo, &["message"], LIFE).await;
    let shown = seen["text"].as_str().unwrap();
    assert!(
        !shown.contains("damn") && shown.contains("the slide is too high"),
        "{shown}"
    );
    // No note for the writer: her next frame is her own message, then the next one.
    let own = next_kind(&mut c.mia, &["message", "safety_note"], LIFE).await;
    assert_eq!(own["type"], "message");
    say(&mut c.mia, "m-2", "ok").await;
    let next = next_kind(&mut c.mia, &["message", "safety_note"], LIFE).await;
    assert_eq!(next["type"], "message");
    assert_eq!(next["text"], "ok");
    // And no notice for the teacher.
    let (m, notice) = dashboard_message(&mut c.dash, false).await;
    assert_eq!(m["screen_action"], "redact");
    assert!(notice.is_none());
    let (m, _) = dashboard_message(&mut c.dash, false).await;
    assert_eq!(m["text"], "ok", "no notice came between the two messages");
}
