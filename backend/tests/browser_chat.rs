//! The classroom web app end to end: the real server, real sockets, real headless Chromium.
//!
//! Children join through the join page's form, as they would; each browser has its own
//! profile, so two browsers are two children with two cookie jars.

mod common;

use std::time::Duration;

use common::browser::{Browser, Chromedriver, ENTER, TAB};
use common::http::{client as http, cookie_of};
use common::server::TestServer;
use common::session::running_session;
use common::socket::join_form;
use fantoccini::Locator;
use peerlearn::http::join::JoinFailure;
use peerlearn::store::{AgentRole, SenderKind};
use reqwest::header;
use serde_json::{json, Value};

/// WebDriver's arrow right.
const ARROW_RIGHT: char = '\u{e014}';

const XSS: &str = "<img src=x onerror=alert(1)>";

/// A running session with one group; returns the group's id and join code.
async fn new_group(server: &TestServer, role: AgentRole) -> (i64, String) {
    let (_, groups) = running_session(server.store(), &[role]).await;
    (groups[0].id, groups[0].join_code.clone())
}

/// A running group (its agent `role`) on `server`, and chromedriver for the children's
/// browsers: the server, the group's id and join code, the driver.
async fn classroom(server: TestServer, role: AgentRole) -> (TestServer, i64, String, Chromedriver) {
    let (group, code) = new_group(&server, role).await;
    (server, group, code, Chromedriver::start().await)
}

/// Closes the browsers (none may have an alert open: no markup a child wrote ever ran), then
/// chromedriver (with whatever it still runs), then the server.
async fn finish(browsers: Vec<Browser>, driver: Chromedriver, server: TestServer) {
    for b in browsers {
        assert_eq!(b.open_alert().await, None, "no alert is open");
        b.close().await;
    }
    drop(driver);
    server.stop().await;
}

async fn join(
    b: &Browser,
    server: &TestServer,
    code: &str,
    nickname: &str,
    avatar: &str,
    group_id: i64,
) {
    b.goto(&server.url("/")).await;
    b.fill_join_form(code, nickname, avatar).await;
    b.wait_for_path(&format!("/chat/{group_id}")).await;
    b.wait_connected().await;
}

/// A running group without an agent, and Mia and Leo in browsers of their own, joined through
/// the join page (Leo types the code in lower case, as children do): the server, the group,
/// the driver and the two browsers.
async fn mia_and_leo() -> (TestServer, i64, Chromedriver, Browser, Browser) {
    let (server, group, code, driver) = classroom(TestServer::start().await, AgentRole::None).await;
    let (mia, leo) = tokio::join!(driver.browser(), driver.browser());
    join(&mia, &server, &code, "Mia", "🦊", group).await;
    join(&leo, &server, &code.to_lowercase(), "Leo", "🐼", group).await;
    (server, group, driver, mia, leo)
}

/// The stored children's messages on the page, in page order: (seq, text, mine). Messages of
/// the system or the agent, which the room may add, are left out.
async fn shown_messages(b: &Browser) -> Vec<(i64, String, bool)> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#messages li[data-seq].msg-child')].map(li => \
               [Number(li.dataset.seq), li.querySelector('.msg-text').textContent, li.classList.contains('mine')]);",
            vec![],
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m[0].as_i64().unwrap(),
                m[1].as_str().unwrap().to_string(),
                m[2].as_bool().unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The pages' HTTP contract, without a browser (nor a model: a chat-only server)

#[tokio::test]
async fn the_join_page_is_served_with_its_security_headers() {
    let server = TestServer::start().await;
    let resp = http().get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    let csp = h
        .get(header::CONTENT_SECURITY_POLICY)
        .expect("a CSP")
        .to_str()
        .unwrap()
        .to_string();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(
        html.contains("Don&#39;t use your real name") || html.contains("Don't use your real name"),
        "{html}"
    );
    for avatar in peerlearn::http::join::AVATARS {
        assert!(html.contains(avatar), "{avatar} is offered");
    }
    assert!(!html.contains("<script>"), "no inline script");
    server.stop().await;
}

/// Static files: compiled in, typed, revalidated cheaply, nothing else reachable.
#[tokio::test]
async fn static_files_are_typed_and_revalidated_and_nothing_else_is_reachable() {
    let server = TestServer::start().await;
    let http = http();
    for (file, kind) in [
        ("app.css", "text/css"),
        ("chat.js", "text/javascript"),
        ("connection.js", "text/javascript"),
        ("join.js", "text/javascript"),
        ("favicon.svg", "image/svg+xml"),
        ("avatars/fox.svg", "image/svg+xml"),
        ("icons/help.svg", "image/svg+xml"),
    ] {
        let resp = http
            .get(server.url(&format!("/static/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{file}");
        assert!(
            resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{file}"
        );
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(resp.headers().contains_key(header::CACHE_CONTROL));
        let etag = resp.headers()[header::ETAG].clone();
        let again = http
            .get(server.url(&format!("/static/{file}")))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{file}");
    }
    for path in [
        "/static/nope.js",
        "/static/avatars/nope.svg",
        "/static/..%2F..%2FCargo.toml",
        "/static/%2e%2e%2fsrc%2flib.rs",
    ] {
        let status = http.get(server.url(path)).send().await.unwrap().status();
        assert!(status == 404 || status == 400, "{path}: {status}");
    }
    server.stop().await;
}

/// A failed join says why, kindly, and keeps what was typed; another site cannot post one.
#[tokio::test]
async fn a_failed_join_says_why_and_keeps_what_was_typed() {
    let server = TestServer::start().await;
    let (_, code) = new_group(&server, AgentRole::Moderator).await;
    let http = http();
    let resp = join_form(&http, &server, "zzz-zzz", "Mia").await;
    assert_eq!(resp.status(), 404);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&askama_escape(&JoinFailure::UnknownCode.to_string())),
        "{html}"
    );
    // And keeps what was typed, escaped (markup is no nickname: refused, never rendered).
    let resp = http
        .post(server.url("/join"))
        .form(&[
            ("code", "zzz-zzz"),
            ("nickname", "<b>Mia</b>"),
            ("avatar", "🦊"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("&lt;b&gt;Mia&lt;/b&gt;") || html.contains("&#60;b&#62;Mia&#60;/b&#62;"),
        "{html}"
    );
    assert!(!html.contains("<b>Mia</b>"));
    // Nothing picked: the friendly sentence, not a bare rejection.
    let resp = http
        .post(server.url("/join"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("nickname"));

    // A join posted from another site is refused.
    let resp = http
        .post(server.url("/join"))
        .header(header::ORIGIN, "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("code", code.as_str()),
            ("nickname", "Eve"),
            ("avatar", "🦊"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    server.stop().await;
}

/// The chat page needs a credential of that group: joining sets it and leads there, and back
/// on the join page the child is offered the way back.
#[tokio::test]
async fn the_chat_page_opens_only_with_a_credential_of_its_group() {
    let server = TestServer::start().await;
    let (group, code) = new_group(&server, AgentRole::Moderator).await;
    let (other_group, _) = new_group(&server, AgentRole::None).await;
    let http = http();
    let resp = http
        .get(server.url(&format!("/chat/{group}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], "/");
    let resp = http
        .get(server.url("/chat/not-a-number"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // Success: the cookie, and 303 to the chat.
    let resp = join_form(&http, &server, &code.to_lowercase(), "Mia").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()[header::LOCATION],
        format!("/chat/{group}").as_str()
    );
    let set_cookie = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.starts_with("pl_child=") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let cookie = cookie_of(&resp);

    let resp = http
        .get(server.url(&format!("/chat/{group}")))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
    let html = resp.text().await.unwrap();
    for needle in [
        format!("data-group-id=\"{group}\""),
        "data-me-nickname=\"Mia\"".into(),
        "data-agent-name=\"Blue\"".into(),
        "data-agent-role=\"moderator\"".into(),
        "A playground everyone can play on".into(),
    ] {
        assert!(html.contains(&needle), "{needle} in {html}");
    }
    // ... and only that group's.
    let resp = http
        .get(server.url(&format!("/chat/{other_group}")))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    // Back on the join page, the child is offered the way back.
    let html = http
        .get(server.url("/"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Welcome back") && html.contains(&format!("/chat/{group}")),
        "{html}"
    );
    server.stop().await;
}

/// askama's escaping of the few characters our messages contain.
fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
}

/// The join page in a browser: friendly errors keep what was typed; the avatar picker works
/// with the keyboard; joining lands on the chat page, which marks the AI helper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_page_in_a_browser() {
    let server = TestServer::start().await;
    let (group, code) = new_group(&server, AgentRole::Moderator).await;
    // Someone already took "Mia".
    let resp = http()
        .post(server.url("/api/join"))
        .json(&json!({"code": code, "nickname": "Mia", "avatar": "🐼"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let driver = Chromedriver::start().await;
    let b = driver.browser().await;
    b.goto(&server.url("/")).await;
    b.wait_for("#join-form").await;
    assert_eq!(
        b.js("return document.documentElement.lang", vec![]).await,
        json!("en")
    );
    let page_text = b.js("return document.body.innerText", vec![]).await;
    assert!(
        page_text
            .as_str()
            .unwrap()
            .contains("Don't use your real name"),
        "{page_text}"
    );
    b.picture_if_asked("join-empty").await;

    // Checked in the page before anything is sent.
    b.find("#join-button").await.click().await.unwrap();
    let alert = b.wait_for("#join-error").await.text().await.unwrap();
    assert!(alert.contains("code"), "{alert}");

    // An unknown code.
    b.mark_page().await;
    b.fill_join_form("zzz-zzz", "Mia", "🦊").await;
    b.wait_new_page().await;
    b.wait_for_path("/join").await;
    let alert = b.wait_for("#join-error").await.text().await.unwrap();
    assert_eq!(alert, JoinFailure::UnknownCode.to_string());
    assert_eq!(
        b.find("#nickname")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Mia")
    );
    assert_eq!(
        b.find("#code")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("zzz-zzz")
    );
    let checked = b
        .js(
            "return document.querySelector('input[name=avatar]:checked').value",
            vec![],
        )
        .await;
    assert_eq!(checked, json!("🦊"), "the picked animal stays picked");
    b.picture_if_asked("join-unknown-code").await;

    // The right code, typed in lower case without the dash, but the nickname is taken.
    b.mark_page().await;
    b.fill_join_form(&code.to_lowercase(), " mia ", "🦊").await;
    b.wait_new_page().await;
    let alert = b.wait_for("#join-error").await.text().await.unwrap();
    assert_eq!(alert, JoinFailure::NicknameTaken.to_string());

    // The avatar picker with the keyboard: focus the first animal, arrow right picks the next.
    b.find("#nickname").await.clear().await.unwrap();
    b.find("#nickname").await.send_keys("Leo").await.unwrap();
    b.js(
        "document.querySelector('input[name=avatar]').focus()",
        vec![],
    )
    .await;
    b.find("input[name=avatar]")
        .await
        .send_keys(&ARROW_RIGHT.to_string())
        .await
        .unwrap();
    let checked = b
        .js(
            "return document.querySelector('input[name=avatar]:checked').value",
            vec![],
        )
        .await;
    assert_eq!(checked, json!(peerlearn::http::join::AVATARS[1]));
    // Enter in a field sends the form.
    b.find("#nickname")
        .await
        .send_keys(&ENTER.to_string())
        .await
        .unwrap();
    b.wait_for_path(&format!("/chat/{group}")).await;

    // The chat page: who I am, and the AI helper marked as such.
    b.wait_for("#people .person-agent").await;
    let agent = b.text_of("#people .person-agent").await;
    assert!(
        agent.contains("Blue") && agent.contains("AI helper"),
        "{agent}"
    );
    let me = b.text_of(".me").await;
    assert!(me.contains("Leo"), "{me}");
    b.picture_if_asked("chat-joined").await;

    // Back on the join page, the child is offered the way back to the chat.
    b.goto(&server.url("/")).await;
    let back = b.wait_for(".welcome-back a").await;
    assert_eq!(
        back.attr("href").await.unwrap(),
        Some(format!("/chat/{group}"))
    );
    if std::env::var_os("PEERLEARN_SCREENSHOTS").is_some() {
        b.set_window_size(390, 844).await.unwrap();
        b.picture_if_asked("join-phone").await;
    }

    finish(vec![b], driver, server).await;
}

/// Two children in two browsers chat; markup stays text; a reload keeps the participant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_children_chat() {
    let (server, group, driver, mia, leo) = mia_and_leo().await;

    // Each sees the other online.
    mia.wait_until(
        "Mia to see Leo online",
        "return [...document.querySelectorAll('#people .person-name')].some(n => n.textContent === 'Leo');",
        vec![],
    )
    .await;

    mia.say("Hello Leo! What if the slide had a ramp?").await;
    leo.wait_for_message("Hello Leo! What if the slide had a ramp?")
        .await;
    // Leo sends with the button rather than Enter.
    leo.find("#text")
        .await
        .send_keys("Yes, and a quiet corner 🐢")
        .await
        .unwrap();
    leo.find("#send").await.click().await.unwrap();
    mia.wait_for_message("Yes, and a quiet corner 🐢").await;

    // Markup is text, in the sender's page and in the other's.
    leo.say(XSS).await;
    for b in [&mia, &leo] {
        b.wait_for_message(XSS).await;
        // The avatars' pictures are the page's own; nothing else may be an image.
        assert_eq!(
            b.count("#messages img:not(.msg-avatar > img)").await,
            0,
            "no <img> was created"
        );
        assert_eq!(b.open_alert().await, None, "no alert is open");
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // an onerror would have fired by now
    assert_eq!(mia.open_alert().await, None);

    // Both pages show the same messages in the same (seq) order; own ones are marked.
    let at_mia = shown_messages(&mia).await;
    let at_leo = shown_messages(&leo).await;
    let texts =
        |v: &[(i64, String, bool)]| v.iter().map(|m| (m.0, m.1.clone())).collect::<Vec<_>>();
    assert_eq!(texts(&at_mia), texts(&at_leo));
    assert_eq!(at_mia.len(), 3, "{at_mia:?}");
    assert!(
        at_mia.windows(2).all(|w| w[0].0 < w[1].0),
        "in seq order: {at_mia:?}"
    );
    assert_eq!(
        at_mia.iter().map(|m| m.2).collect::<Vec<_>>(),
        vec![true, false, false]
    );
    assert_eq!(
        at_leo.iter().map(|m| m.2).collect::<Vec<_>>(),
        vec![false, true, true]
    );
    assert_eq!(
        leo.find("#text")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    mia.picture_if_asked("chat-two-children").await;
    if std::env::var_os("PEERLEARN_SCREENSHOTS").is_some() {
        mia.set_window_size(1280, 800).await.unwrap();
        mia.picture_if_asked("chat-laptop").await;
    }

    // Mia reloads: still Mia, the history comes back once.
    let me_before = mia.js("return document.body.dataset.meId", vec![]).await;
    mia.refresh().await.unwrap();
    mia.wait_for_path(&format!("/chat/{group}")).await;
    mia.wait_connected().await;
    mia.wait_for_message(XSS).await;
    assert_eq!(
        mia.js("return document.body.dataset.meId", vec![]).await,
        me_before
    );
    assert_eq!(
        texts(&shown_messages(&mia).await),
        texts(&at_leo),
        "the same history, nothing doubled"
    );
    let participants = server.store().participants(group).await.unwrap();
    assert_eq!(
        participants.len(),
        2,
        "a reload does not make a new participant"
    );

    finish(vec![mia, leo], driver, server).await;
}

/// The Wi-Fi drops: the banner shows, what is typed meanwhile waits, and when the network is
/// back the banner clears by itself and the message is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_network_drops() {
    let (server, group, code, driver) = classroom(
        TestServer::builder().behind_proxy().start().await,
        AgentRole::None,
    )
    .await;
    let b = driver.browser().await;
    join(&b, &server, &code, "Zoe", "🦉", group).await;
    b.say("before the drop").await;
    b.wait_for_message("before the drop").await;

    server.proxy().set_down(true);
    server.proxy().cut();
    b.wait_until(
        "the reconnecting banner",
        "return !document.getElementById('banner').hidden;",
        vec![],
    )
    .await;
    let banner: Value = b
        .js(
            "return document.getElementById('banner').textContent",
            vec![],
        )
        .await;
    assert!(
        banner.as_str().unwrap().contains("Reconnecting"),
        "{banner}"
    );
    b.say("typed while offline").await;
    let pending = b
        .wait_for("#messages li.pending")
        .await
        .text()
        .await
        .unwrap();
    assert!(pending.contains("typed while offline"), "{pending}");
    b.picture_if_asked("chat-reconnecting").await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    server.proxy().set_down(false);
    b.wait_until(
        "the banner to clear",
        "return document.getElementById('banner').hidden;",
        vec![],
    )
    .await;
    b.wait_for_message("typed while offline").await;
    b.wait_until(
        "no message left pending",
        "return document.querySelectorAll('#messages li.pending').length === 0;",
        vec![],
    )
    .await;

    let stored = server.store().messages_after(group, 0, 100).await.unwrap();
    let texts: Vec<_> = stored
        .iter()
        .filter(|m| m.sender_kind == SenderKind::Child)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        texts,
        vec!["before the drop", "typed while offline"],
        "each stored once, in order"
    );
    let shown = shown_messages(&b).await;
    assert_eq!(shown.len(), 2, "{shown:?}");

    finish(vec![b], driver, server).await;
}

// ---------------------------------------------------------------------------------------------
// Frames the room does not send by itself yet (the agent's streamed reply, a teacher's message,
// phases, hiding, errors), handed to the page's connection as if they came from the socket: the
// page draws each kind right, and streamed text stays text too.

/// Mia's chat page in a group with a moderator, on a chat-only server (the frames are fed).
async fn fed_page() -> (TestServer, Chromedriver, Browser) {
    let (server, group, code, driver) =
        classroom(TestServer::start().await, AgentRole::Moderator).await;
    let b = driver.browser().await;
    join(&b, &server, &code, "Mia", "🦊", group).await;
    (server, driver, b)
}

/// The phase, a teacher's welcome (seq 1001), Leo's idea (seq 1002), Leo typing, and the
/// first words of the agent's streamed reply to Leo (stream 90005), with markup in them.
async fn feed_a_lesson(b: &Browser) {
    let leo = json!({"kind": "child", "id": 999_999, "name": "Leo", "avatar": "🐼"});
    b.feed(json!([
            {"type": "phase", "index": 1, "name": "Ideas", "goal": "Collect many ideas for the playground.", "ends_in_ms": 290_000},
            {"type": "message", "seq": 1001, "client_msg_id": "t-1", "text": "Welcome everyone! Be kind and share your ideas.",
             "sender": {"kind": "facilitator", "id": 1, "name": "Ms. Rivera", "avatar": null}, "phase": "Ideas",
             "created_at_ms": 1_764_139_000_000_i64, "reply_to": null},
            {"type": "message", "seq": 1002, "client_msg_id": "l-1", "text": "What if the slide had a ramp for wheelchairs?",
             "sender": leo, "phase": "Ideas", "created_at_ms": 1_764_139_010_000_i64, "reply_to": null},
            {"type": "typing", "participant_id": 999_999, "nickname": "Leo", "on": true},
            {"type": "agent_start", "stream_id": 90_005, "name": "Blue", "reply_to": 1002},
            {"type": "agent_delta", "stream_id": 90_005, "text": "What a "},
            {"type": "agent_delta", "stream_id": 90_005, "text": "<b>great</b> idea, Leo! 🛝 "},
        ]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_page_draws_who_is_typing_the_teachers_message_and_the_phase() {
    let (server, driver, b) = fed_page().await;
    feed_a_lesson(&b).await;
    b.wait_for("#messages li.msg-facilitator").await;
    let typing = b.text_of("#typing").await;
    assert!(typing.contains("Leo is typing"), "{typing}");
    let teacher = b.text_of("#messages li.msg-facilitator").await;
    assert!(
        teacher.contains("Teacher") && teacher.contains("Ms. Rivera"),
        "{teacher}"
    );
    let phase = b.text_of(".phase-bar").await.to_lowercase();
    // The clock's picture is drawn by the style sheet: its text starts with the minutes.
    assert!(
        phase.contains("ideas")
            && phase.lines().any(|l| l.starts_with("4:"))
            && phase.contains("part 2 of")
            && phase.contains("left"),
        "{phase}"
    );
    finish(vec![b], driver, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_reply_stays_text_and_the_stored_reply_replaces_it() {
    let (server, driver, b) = fed_page().await;
    feed_a_lesson(&b).await;
    // Streaming: the words so far, as text, marked as the AI helper.
    let streaming = b
        .wait_for("#messages li.streaming[data-stream-id=\"90005\"]")
        .await;
    assert_eq!(
        streaming
            .find(Locator::Css(".msg-text"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "What a <b>great</b> idea, Leo! 🛝 "
    );
    let head = streaming
        .find(Locator::Css(".msg-head"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        head.contains("Blue") && head.contains("AI helper"),
        "{head}"
    );
    assert_eq!(b.count("#messages b").await, 0);
    b.picture_if_asked("chat-agent-streaming").await;

    // The end of the stream, then the stored reply replaces the streamed bubble.
    let full = "What a <b>great</b> idea, Leo! 🛝 Who else could use the ramp?";
    b.feed(json!([
        {"type": "agent_delta", "stream_id": 90_005, "text": "Who else could use the ramp?"},
        {"type": "agent_end", "stream_id": 90_005, "seq": 1003},
    ]))
    .await;
    assert_eq!(b.count("#messages li[data-await-seq=\"1003\"]").await, 1);
    b.feed(json!([
            {"type": "message", "seq": 1003, "client_msg_id": "agent-5", "text": full,
             "sender": {"kind": "agent", "id": null, "name": "Blue", "avatar": null}, "phase": "Ideas",
             "created_at_ms": 1_764_139_020_000_i64, "reply_to": 1002},
            {"type": "message", "seq": 1004, "client_msg_id": "s-1", "text": "Time for the next part soon!",
             "sender": {"kind": "system", "id": null, "name": "", "avatar": null}, "phase": "Ideas",
             "created_at_ms": 1_764_139_030_000_i64, "reply_to": null},
        ]),
    )
    .await;
    // One bubble for the reply (the streamed one was replaced), with the stored text.
    let reply = b
        .js(
            "return [...document.querySelectorAll('#messages li.msg-agent .msg-text')] \
               .filter(p => p.textContent.startsWith('What a ')).map(p => p.textContent)",
            vec![],
        )
        .await;
    assert_eq!(reply, json!([full]), "one agent bubble, the stored text");
    assert_eq!(
        b.text_of("#messages li[data-seq=\"1003\"] .msg-text").await,
        full
    );
    assert_eq!(b.count("#messages li[data-stream-id=\"90005\"]").await, 0);
    let quote = b
        .find("#messages li[data-seq=\"1003\"] .msg-quote")
        .await
        .text()
        .await
        .unwrap();
    assert!(quote.contains("Leo") && quote.contains("ramp"), "{quote}");
    b.picture_if_asked("chat-agent-done").await;

    finish(vec![b], driver, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_message_goes_and_an_error_gets_a_friendly_notice() {
    let (server, driver, b) = fed_page().await;
    feed_a_lesson(&b).await;
    b.wait_for("#messages li[data-seq=\"1002\"]").await;
    // A hidden message goes; an error gets a friendly notice.
    b.feed(json!([
            {"type": "hidden", "seq": 1002},
            {"type": "error", "code": "rate_limited", "message": "Slow down a little: you can send again in 4 seconds.", "retry_after_ms": 4000},
        ]),
    )
    .await;
    assert_eq!(b.count("#messages li[data-seq=\"1002\"]").await, 0);
    let notice = b.text_of("#notice").await;
    assert!(notice.contains("Slow down"), "{notice}");

    finish(vec![b], driver, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_stops_a_message_over_500_characters() {
    let (server, driver, b) = fed_page().await;
    // The counter: over 500 characters cannot be sent.
    b.js(
        "const t = document.getElementById('text'); t.value = 'a'.repeat(510); t.dispatchEvent(new Event('input'));",
        vec![],
    )
    .await;
    assert_eq!(b.find("#counter").await.text().await.unwrap(), "510 / 500");
    assert_eq!(
        b.js("return document.getElementById('send').disabled", vec![])
            .await,
        json!(true)
    );
    b.js("const t = document.getElementById('text'); t.value = ''; t.dispatchEvent(new Event('input'));", vec![]).await;

    finish(vec![b], driver, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_credential_tells_the_child_to_join_again() {
    let (server, driver, b) = fed_page().await;
    // A phone-size screen.
    b.set_window_size(390, 844).await.unwrap();
    b.picture_if_asked("chat-phone").await;

    // The credential is no longer accepted: the child is told to join again.
    b.feed(json!([{"type": "error", "code": "unauthorized", "message": "Please join your group again."}])).await;
    let link = b.find("#notice a").await;
    assert_eq!(link.attr("href").await.unwrap().as_deref(), Some("/"));
    assert_eq!(
        b.js("return document.getElementById('text').disabled", vec![])
            .await,
        json!(true)
    );
    b.picture_if_asked("chat-unauthorized").await;

    finish(vec![b], driver, server).await;
}

/// The safety screen as children see it: a redacted message shows its placeholder to both, a
/// held one shows its private note to its writer only and never reaches the other child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_safety_screen_in_the_browser() {
    let (server, _, driver, mia, leo) = mia_and_leo().await;

    mia.say("my email is mia.jones@gmail.com").await;
    for b in [&mia, &leo] {
        b.wait_for_message("my email is [hidden]").await;
    }
    mia.wait_until(
        "Mia's private note under her own message",
        "return [...document.querySelectorAll('#messages li.mine .msg-safety')] \
           .some(p => p.textContent.length > 0);",
        vec![],
    )
    .await;
    let page = leo.js("return document.body.innerText", vec![]).await;
    assert!(!page.as_str().unwrap().contains("mia.jones"), "{page}");

    mia.say("you're ugly").await;
    mia.wait_until(
        "the held message marked for Mia only",
        "return [...document.querySelectorAll('#messages li.mine.msg-held')] \
           .some(li => li.querySelector('.msg-text').textContent === \"you're ugly\" \
                       && li.querySelector('.msg-safety'));",
        vec![],
    )
    .await;
    // Leo never sees it: the next message he gets is the one after it.
    mia.say("sorry, a slide with a ramp?").await;
    leo.wait_for_message("sorry, a slide with a ramp?").await;
    let at_leo: Vec<String> = shown_messages(&leo)
        .await
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(
        at_leo,
        ["my email is [hidden]", "sorry, a slide with a ramp?"],
        "the held message never reached Leo"
    );
    assert_eq!(
        leo.count("#messages .msg-safety").await,
        0,
        "Leo gets no one else's notes"
    );
    mia.picture_if_asked("chat-safety-notes").await;

    finish(vec![mia, leo], driver, server).await;
}

/// "I need help": Mia asks with the mouse, Leo with the keyboard alone (Tab to the button,
/// Enter, type, Enter); each page says the teacher was told, and neither sees the other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_button_tells_the_teacher_privately() {
    let (server, group, driver, mia, leo) = mia_and_leo().await;
    let told = "return (() => { const s = document.getElementById('help-status'); \
                return !s.hidden && s.textContent.includes('Your teacher knows you need help'); })()";

    // With the mouse: the button opens a dialog with an optional note.
    mia.click("#help-open").await;
    mia.wait_until(
        "the help dialog open with focus in its note",
        "return document.getElementById('help-dialog').open \
           && document.activeElement.id === 'help-note';",
        vec![],
    )
    .await;
    mia.find("#help-note")
        .await
        .send_keys("I'm stuck on the drawing")
        .await
        .unwrap();
    mia.click("#help-send").await;
    mia.wait_until("Mia's page to say the teacher was told", told, vec![])
        .await;
    assert_eq!(
        mia.js("return document.getElementById('help-dialog').open", vec![])
            .await,
        false,
        "the dialog closed"
    );
    assert_eq!(
        leo.js(
            "return document.getElementById('help-status').hidden",
            vec![]
        )
        .await,
        true,
        "Leo's page shows nothing of Mia's request"
    );

    // With the keyboard alone: the button is the next stop after the skip link.
    leo.js("document.querySelector('.skip-link').focus()", vec![])
        .await;
    leo.active_element()
        .await
        .unwrap()
        .send_keys(&TAB.to_string())
        .await
        .unwrap();
    assert_eq!(
        leo.js("return document.activeElement.id", vec![]).await,
        "help-open"
    );
    assert_eq!(
        leo.js("return document.activeElement.textContent.trim()", vec![])
            .await,
        "I need help"
    );
    leo.active_element()
        .await
        .unwrap()
        .send_keys(&ENTER.to_string())
        .await
        .unwrap();
    leo.wait_until(
        "the help dialog open with focus in its note",
        "return document.getElementById('help-dialog').open \
           && document.activeElement.id === 'help-note';",
        vec![],
    )
    .await;
    leo.active_element()
        .await
        .unwrap()
        .send_keys(&format!("can you come{ENTER}"))
        .await
        .unwrap();
    leo.wait_until("Leo's page to say the teacher was told", told, vec![])
        .await;

    // Both requests are the teacher's, with their notes; nothing of them is in the chat.
    let flags = server.store().flags(group).await.unwrap();
    let mut notes: Vec<Option<String>> = flags
        .iter()
        .filter(|f| f.kind == peerlearn::store::HELP_REQUEST)
        .map(|f| f.note.clone())
        .collect();
    notes.sort();
    assert_eq!(
        notes,
        [
            Some("I'm stuck on the drawing".to_string()),
            Some("can you come".to_string())
        ]
    );
    for b in [&mia, &leo] {
        assert_eq!(b.count("#messages li").await, 0, "nothing in the chat");
    }
    // A reload still shows that the teacher was told.
    mia.refresh().await.unwrap();
    mia.wait_connected().await;
    mia.wait_until(
        "the reloaded page to say the teacher was told",
        told,
        vec![],
    )
    .await;
    mia.picture_if_asked("chat-help-sent").await;

    finish(vec![mia, leo], driver, server).await;
}

/// A German session in German browsers: the join page (before the session is known, the
/// browser's language), the chat page and what its script writes (the people list, the
/// phase line, the counter), a refusal from the server, and the teacher's live grid.
/// With PEERLEARN_SCREENSHOTS set, pictures of each at tablet and phone size.
#[tokio::test]
async fn a_german_session_speaks_german() {
    let server = TestServer::start().await;
    let teacher_id = common::facilitator::add_facilitator(&server, "frau-lange").await;
    let store = server.store();
    let (session, groups) = store
        .create_session(&peerlearn::store::NewSession {
            language: "de".into(),
            facilitator_id: Some(teacher_id),
            ..common::session::new_session(&[AgentRole::None])
        })
        .await
        .unwrap();
    store
        .set_session_status(
            session.id,
            peerlearn::store::SessionStatus::Running,
            peerlearn::store::now_ms(),
        )
        .await
        .unwrap();
    let (group, code) = (groups[0].id, groups[0].join_code.clone());
    let driver = Chromedriver::start().await;
    let (mia, leo) = tokio::join!(driver.browser_in("de-DE"), driver.browser_in("de-DE"));

    mia.set_window_size(820, 1180).await.unwrap();
    mia.goto(&server.url("/")).await;
    assert_eq!(
        mia.js("return document.documentElement.lang;", vec![])
            .await,
        json!("de")
    );
    assert_eq!(
        mia.text_of("#join-title").await,
        "Hallo! Komm in deine Gruppe"
    );
    assert_eq!(mia.text_of("label[for=nickname]").await, "Spitzname");
    // The script's own check speaks German too.
    mia.click("#join-button").await;
    assert_eq!(
        mia.text_of("#join-error").await,
        "Bitte tippe den Gruppen-Code von deiner Karte ein."
    );
    mia.picture_if_asked("de-join").await;
    mia.goto(&server.url("/")).await;
    mia.fill_join_form(&code, "Mia", "🦊").await;
    mia.wait_for_path(&format!("/chat/{group}")).await;
    mia.wait_connected().await;
    assert_eq!(mia.text_of("#send").await, "Senden");
    assert!(mia
        .text_of("#help-open")
        .await
        .ends_with("Ich brauche Hilfe"));
    mia.wait_until(
        "the people list in German",
        "return [...document.querySelectorAll('.person-name')].some(n => n.textContent === 'Mia (du)') \
                && document.getElementById('people-count').textContent === '(1 online)';",
        vec![],
    )
    .await;
    mia.say("Wir könnten eine Rampe bauen").await;
    mia.wait_for_message("Wir könnten eine Rampe bauen").await;
    assert_eq!(
        mia.js(
            "return document.querySelector('#messages li[data-seq] .msg-text').dir;",
            vec![]
        )
        .await,
        json!("auto")
    );
    mia.picture_if_asked("de-chat-tablet").await;

    // Leo, in German too, picks Mia's nickname: the server refuses it in German.
    leo.set_window_size(390, 844).await.unwrap();
    leo.goto(&server.url("/")).await;
    leo.fill_join_form(&code, "Mia", "🐼").await;
    assert_eq!(
        leo.text_of("#join-error").await,
        "Jemand in deiner Gruppe hat diesen Spitznamen schon. Bitte such dir einen anderen aus."
    );
    leo.goto(&server.url("/")).await;
    leo.fill_join_form(&code, "Leo", "🐼").await;
    leo.wait_for_path(&format!("/chat/{group}")).await;
    leo.wait_connected().await;
    leo.wait_for_message("Wir könnten eine Rampe bauen").await;
    leo.picture_if_asked("de-chat-phone").await;

    // The teacher's dashboard follows her German browser.
    let teacher = driver.browser_in("de-DE").await;
    teacher.set_window_size(1280, 900).await.unwrap();
    teacher.goto(&server.url("/facilitator/login")).await;
    assert_eq!(
        teacher.text_of("#login-title").await,
        "Anmeldung für Lehrkräfte"
    );
    teacher.type_into("#name", "frau-lange").await;
    teacher
        .type_into("#password", common::facilitator::PASSWORD)
        .await;
    teacher.click("#login-button").await;
    teacher.wait_for_path("/facilitator").await;
    teacher
        .goto(&server.url(&format!("/facilitator/sessions/{}", session.id)))
        .await;
    teacher
        .wait_until(
            "the live grid in German",
            "return document.getElementById('session-status').textContent === 'läuft' \
                    && document.getElementById('conn').textContent === 'live' \
                    && (document.querySelector('.group-card .card-meta')?.textContent || '') \
                         .startsWith('2 von 2 online');",
            vec![],
        )
        .await;
    assert_eq!(
        teacher
            .text_of(".group-card button[data-action=pause]")
            .await,
        "Agent pausieren"
    );
    teacher.picture_if_asked("de-live-grid").await;

    finish(vec![mia, leo, teacher], driver, server).await;
}
