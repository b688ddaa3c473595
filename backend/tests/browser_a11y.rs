//! Accessible to every child (and teacher), in real headless Chromium: axe-core finds nothing
//! on any page; avatars are pictures with their animal's name; a screen reader hears the
//! agent's finished reply once; the group page puts the agent's decisions beside the
//! transcript on a desktop screen; the session and group pages say the session's language,
//! the agent's role and how long the children's data is kept.

mod common;

use common::browser::{Browser, Chromedriver};
use common::facilitator::add_facilitator;
use common::server::TestServer;
use serde_json::{json, Value};

/// What the child says in every test.
const TEXT: &str = "We could build a ramp to the treehouse";

/// A server with ms-lee's account, chromedriver, and two browsers (in `lang`): the teacher's
/// and a child's.
async fn classroom(lang: &str) -> (TestServer, Chromedriver, Browser, Browser) {
    let server = TestServer::start().await;
    add_facilitator(&server, "ms-lee").await;
    let driver = Chromedriver::start().await;
    let teacher = driver.browser_in(lang).await;
    let child = driver.browser_in(lang).await;
    (server, driver, teacher, child)
}

/// Ends what [`classroom`] started.
async fn finish(server: TestServer, driver: Chromedriver, browsers: Vec<Browser>) {
    for b in browsers {
        b.close().await;
    }
    drop(driver);
    server.stop().await;
}

/// The child joins with `code` as Mia the fox and says [`TEXT`].
async fn child_joins(child: &Browser, server: &TestServer, code: &str) {
    child.goto(&server.url("/")).await;
    child.fill_join_form(code, "Mia", "🦊").await;
    child.wait_connected().await;
    child.say(TEXT).await;
    child.wait_for_message(TEXT).await;
}

/// The agent's streamed reply to Mia (stored as seq `seq`), then a system line (`seq + 1`),
/// handed to the chat page as if the socket had sent them.
async fn feed_agent_reply(child: &Browser, seq: i64, text: &str) {
    let (first, rest) = text.split_at(text.len() / 2);
    child
        .feed(json!([
            {"type": "agent_start", "stream_id": 70_001, "name": "Blue", "reply_to": null},
            {"type": "agent_delta", "stream_id": 70_001, "text": first},
            {"type": "agent_delta", "stream_id": 70_001, "text": rest},
            {"type": "agent_end", "stream_id": 70_001, "seq": seq},
            {"type": "message", "seq": seq, "client_msg_id": "agent-1", "text": text,
             "sender": {"kind": "agent", "id": null, "name": "Blue", "avatar": null}, "phase": null,
             "created_at_ms": 1_764_139_020_000_i64, "reply_to": null},
            {"type": "message", "seq": seq + 1, "client_msg_id": "s-1", "text": "Time for the next part soon!",
             "sender": {"kind": "system", "id": null, "name": "", "avatar": null}, "phase": null,
             "created_at_ms": 1_764_139_030_000_i64, "reply_to": null},
        ]))
        .await;
    child
        .wait_for(&format!("#messages li[data-seq=\"{}\"]", seq + 1))
        .await;
}

/// `wanted` (parts of the names of Tab stops) come in this order among `stops`.
fn in_order(stops: &[String], wanted: &[&str]) {
    let mut from = 0;
    for w in wanted {
        match stops[from..].iter().position(|s| s.contains(w)) {
            Some(i) => from += i + 1,
            None => panic!(
                "no Tab stop {w:?} after {:?} in {stops:?}",
                stops.get(from.wrapping_sub(1))
            ),
        }
    }
}

/// Every page a child or a teacher sees, for a session in `language` with the browsers set to
/// `browser_lang`: axe-core (WCAG 2 A and AA, best practices) finds nothing on any of them.
/// Another language is one more test calling this.
async fn every_page_is_axe_clean(language: &str, browser_lang: &str) {
    let (server, driver, teacher, child) = classroom(browser_lang).await;

    child.goto(&server.url("/")).await;
    child.wait_for("#join-form").await;
    // axe only checks that a language is named; it must be the page's own.
    let page_lang = "return document.documentElement.lang;";
    assert_eq!(
        child.js(page_lang, vec![]).await,
        language,
        "the join page's lang"
    );
    child.assert_axe_clean("join page").await;
    let stops = child.assert_focus_visible("join page").await;
    in_order(
        &stops,
        &[
            "input#code",
            "input#nickname",
            "input",
            "button#join-button",
        ],
    );
    // A failed join: the page with its error.
    child.click("#join-button").await;
    child.wait_for("#join-error").await;
    child.assert_axe_clean("join page with an error").await;

    teacher.goto(&server.url("/facilitator/login")).await;
    teacher.wait_for("#login-form").await;
    teacher.assert_axe_clean("sign-in page").await;
    teacher.sign_in_facilitator(&server, "ms-lee").await;
    teacher
        .assert_axe_clean("sessions page, no session yet")
        .await;
    let code = teacher
        .create_and_start_session(language, &["moderator"])
        .await;
    teacher.assert_axe_clean("live grid").await;
    assert_eq!(
        teacher.js(page_lang, vec![]).await,
        language,
        "the grid's lang"
    );

    // The chat page with a child's message, the agent's reply and a system line.
    child_joins(&child, &server, &code).await;
    feed_agent_reply(
        &child,
        100_001,
        "What a great idea! Who else could use the ramp?",
    )
    .await;
    // A message the safety screen changed and one it held (each with its private note), a
    // teacher's message, and a message from each of the eight name colours, someone typing.
    child.say("my email is mia.jones@gmail.com").await;
    // The screen hides it with the session's language's placeholder (safety::placeholder).
    let hidden = if language == "de" {
        "[versteckt]"
    } else {
        "[hidden]"
    };
    child
        .wait_for_message(&format!("my email is {hidden}"))
        .await;
    // Held in either language (the screen's rules are the session's language's).
    child
        .say(if language == "de" {
            "du bist so dumm"
        } else {
            "you're ugly"
        })
        .await;
    child
        .wait_for("#messages li.mine.msg-held .msg-safety")
        .await;
    let mut frames = vec![
        json!({"type": "message", "seq": 100_100, "client_msg_id": "t-1",
        "text": "Welcome everyone!", "phase": null, "created_at_ms": 1_764_139_000_000_i64, "reply_to": null,
        "sender": {"kind": "facilitator", "id": 1, "name": "Ms. Rivera", "avatar": null}}),
    ];
    for (i, avatar) in peerlearn::http::join::AVATARS.iter().take(8).enumerate() {
        let id = 900_000 + i as i64;
        frames.push(json!({"type": "message", "seq": 100_101 + id, "client_msg_id": format!("c-{i}"),
            "text": "I like it", "phase": null, "created_at_ms": 1_764_139_040_000_i64, "reply_to": 100_001,
            "sender": {"kind": "child", "id": id, "name": format!("Kid {i}"), "avatar": avatar}}));
    }
    frames.push(
        json!({"type": "typing", "participant_id": 900_001, "nickname": "Kid 1", "on": true}),
    );
    child.feed(Value::Array(frames)).await;
    child.wait_for("#messages li.msg-facilitator").await;
    assert_eq!(
        child.js(page_lang, vec![]).await,
        language,
        "the chat page's lang"
    );
    child.assert_axe_clean("chat page").await;
    child.picture_if_asked("a11y-chat-page").await;
    let stops = child.assert_focus_visible("chat page").await;
    in_order(
        &stops,
        &[
            "a.skip-link",
            "button#help-open",
            "summary",
            "ol#messages",
            "textarea#text",
            "button#send",
        ],
    );
    child.click("#help-open").await;
    child
        .wait_until(
            "the help dialog",
            "return document.getElementById('help-dialog').open;",
            vec![],
        )
        .await;
    child
        .assert_axe_clean("chat page with the help dialog")
        .await;
    child.type_into("#help-note", "I'm stuck").await;
    child.click("#help-send").await;
    child
        .wait_until(
            "the help status",
            "return !document.getElementById('help-status').hidden;",
            vec![],
        )
        .await;
    child
        .assert_axe_clean("chat page after asking for help")
        .await;

    // The grid with the child's message and her help request (a notice).
    teacher.wait_for(".group-card .notice-help_request").await;
    teacher.assert_axe_clean("live grid with a notice").await;
    teacher
        .picture_if_asked("a11y-live-grid-with-a-notice")
        .await;
    let stops = teacher.assert_focus_visible("live grid").await;
    in_order(
        &stops,
        &[
            "button#end-session",
            "[data-action=see]",
            "[data-action=pause]",
            "select#role-",
            "input#whisper-",
            "input#post-",
            "a.open-group",
            "input#consent-note",
        ],
    );

    // The group's page: transcript, codebook, decisions.
    teacher.open_group_page(TEXT).await;
    teacher.assert_axe_clean("group page").await;
    let stops = teacher.assert_focus_visible("group page").await;
    in_order(
        &stops,
        &[
            "[data-action=hide]",
            "ol#decisions",
            "[data-action=pause]",
            "input#whisper-",
            "[data-action=mute]",
            "input#code-name",
            "input#code-color",
            "input#codebook-file",
        ],
    );
    teacher.submit_text("#code-name", "Inclusive design").await;
    teacher.wait_for("#transcript select.apply-code").await;
    teacher.assert_axe_clean("group page with a code").await;
    teacher
        .picture_if_asked("a11y-group-page-with-a-code")
        .await;

    let session = teacher
        .js(
            "return document.getElementById('dashboard').dataset.session;",
            vec![],
        )
        .await;
    let session = session.as_str().unwrap().to_string();
    teacher
        .goto(&server.url(&format!("/facilitator/sessions/{session}/cards")))
        .await;
    teacher.wait_for(".join-card-print").await;
    teacher.assert_axe_clean("join cards").await;
    teacher
        .goto(&server.url(&format!("/facilitator/sessions/{session}/delete")))
        .await;
    teacher.wait_for("#delete-form").await;
    teacher.assert_axe_clean("delete page").await;
    teacher.goto(&server.url("/facilitator")).await;
    teacher.wait_for("#session-list").await;
    teacher
        .assert_axe_clean("sessions list and set-up form")
        .await;

    // Back on the join page, the child is welcomed back with her avatar.
    child.goto(&server.url("/")).await;
    child.wait_for(".welcome-back").await;
    child.assert_axe_clean("join page, welcome back").await;
    child.picture_if_asked("a11y-join-page").await;

    finish(server, driver, vec![teacher, child]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_axe_clean_in_english() {
    every_page_is_axe_clean("en", "en-US").await;
}

/// The same pages in German: a German page says so (`<html lang="de">`) and its translated
/// words fit the same layout without contrast, label or focus problems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_axe_clean_in_german() {
    every_page_is_axe_clean("de", "de-DE").await;
}

/// Avatars are pictures with their animal's name (no emoji, which machines without a colour
/// emoji font show as empty boxes), on the join page and the chat page; the help button's
/// icon is a picture too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_are_pictures_with_the_animals_name() {
    let (server, driver, teacher, child) = classroom("en-US").await;

    child.goto(&server.url("/")).await;
    let offered = child
        .js(
            "return [...document.querySelectorAll('.avatar-choice')].map(l => \
               [l.querySelector('input').value, l.querySelector('img').alt, l.innerText.trim()]);",
            vec![],
        )
        .await;
    let offered = offered.as_array().unwrap();
    assert_eq!(offered.len(), peerlearn::http::join::AVATARS.len());
    assert_eq!(offered[0], json!(["🦊", "Fox", ""]), "{offered:?}");
    for choice in offered {
        assert!(
            !choice[1].as_str().unwrap().is_empty(),
            "every animal has its name: {choice}"
        );
    }

    teacher.sign_in_facilitator(&server, "ms-lee").await;
    let code = teacher.create_and_start_session("en", &["moderator"]).await;
    child_joins(&child, &server, &code).await;
    feed_agent_reply(&child, 100_001, "Nice idea!").await;
    // Every avatar on the chat page (me, who is here, the messages) is a loaded picture with a
    // name, and no avatar or icon is drawn with text.
    let pictures = child
        .wait_until(
            "the avatars to load",
            "const all = [...document.querySelectorAll('.avatar, .person-avatar, .msg-avatar, .help-button')]; \
             const imgs = all.map(a => a.matches('img') ? a : a.querySelector('img')); \
             if (imgs.some(i => !i || !i.complete || i.naturalWidth === 0)) return null; \
             return imgs.map(i => [i.closest('.msg, .person, .me, .help-button').className, i.alt]);",
            vec![],
        )
        .await;
    let pictures: Vec<(String, String)> = pictures
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let alt_of = |class: &str| -> Vec<&str> {
        pictures
            .iter()
            .filter(|(c, _)| c.split(' ').any(|x| x == class))
            .map(|(_, alt)| alt.as_str())
            .collect()
    };
    assert_eq!(alt_of("me"), ["Fox"], "{pictures:?}");
    assert_eq!(alt_of("person-agent"), [""], "{pictures:?}");
    assert!(alt_of("msg-child").contains(&"Fox"), "{pictures:?}");
    assert_eq!(alt_of("msg-agent"), [""], "{pictures:?}");
    // The help button's icon is decoration next to its words.
    assert_eq!(alt_of("help-button"), [""], "{pictures:?}");
    assert_eq!(
        child
            .js(
                "return document.getElementById('help-open').textContent.trim()",
                vec![]
            )
            .await,
        "I need help"
    );
    // No emoji left as imagery anywhere on the page (the child's own words aside).
    let text = child
        .js(
            "const c = document.body.cloneNode(true); \
             c.querySelectorAll('.msg-text').forEach(n => n.remove()); \
             return c.textContent;",
            vec![],
        )
        .await;
    let emoji: Vec<char> = text
        .as_str()
        .unwrap()
        .chars()
        .filter(|c| is_emoji(*c))
        .collect();
    assert!(emoji.is_empty(), "emoji on the chat page: {emoji:?}");

    finish(server, driver, vec![teacher, child]).await;
}

/// Pictographs (the emoji blocks and the symbols that have emoji presentation here).
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x2B50 | 0x23F0..=0x23FA | 0x231A..=0x231B)
}

/// A screen reader hears each new message once through the polite live region, and the
/// agent's reply once it is finished, never word by word: the streaming bubble is in no live
/// region, and the stored reply (or a repeat of it) is announced once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_region_announces_the_agents_finished_reply_once() {
    let (server, driver, teacher, child) = classroom("en-US").await;
    teacher.sign_in_facilitator(&server, "ms-lee").await;
    let code = teacher.create_and_start_session("en", &["moderator"]).await;
    child_joins(&child, &server, &code).await;

    let announced =
        "return [...document.querySelectorAll('#announcer > *')].map(p => p.textContent);";
    let before = child.js(announced, vec![]).await;
    child
        .feed(json!([
            {"type": "agent_start", "stream_id": 70_002, "name": "Blue", "reply_to": null},
            {"type": "agent_delta", "stream_id": 70_002, "text": "Ramps are "},
        ]))
        .await;
    // The streaming bubble is in no live region, and nothing was announced for it.
    let live = child
        .js(
            "const li = document.querySelector('#messages li.streaming'); \
             return !!li && !li.closest('[aria-live]:not([aria-live=off]), [role=log], [role=status], [role=alert]');",
            vec![],
        )
        .await;
    assert_eq!(
        live,
        json!(true),
        "the streaming reply is outside live regions"
    );
    assert_eq!(child.js(announced, vec![]).await, before);

    let full = "Ramps are great for everyone!";
    let stored = json!({"type": "message", "seq": 100_010, "client_msg_id": "agent-2", "text": full,
        "sender": {"kind": "agent", "id": null, "name": "Blue", "avatar": null}, "phase": null,
        "created_at_ms": 1_764_139_020_000_i64, "reply_to": null});
    child
        .feed(json!([
            {"type": "agent_delta", "stream_id": 70_002, "text": "great for everyone!"},
            {"type": "agent_end", "stream_id": 70_002, "seq": 100_010},
        ]))
        .await;
    assert_eq!(
        child.js(announced, vec![]).await,
        before,
        "not at the stream's end"
    );
    // The stored reply, then the same frame again (as a replay after a reconnect sends it).
    child.feed(json!([stored.clone(), stored])).await;
    let after = child.js(announced, vec![]).await;
    let new: Vec<&Value> = after
        .as_array()
        .unwrap()
        .iter()
        .skip(before.as_array().unwrap().len())
        .collect();
    assert_eq!(new, [&json!(format!("Blue (AI helper) says: {full}"))]);
    assert_eq!(
        child
            .js(
                "const a = document.getElementById('announcer'); \
                 return [a.getAttribute('aria-live'), a.getAttribute('aria-atomic')];",
                vec![]
            )
            .await,
        json!(["polite", "false"])
    );

    finish(server, driver, vec![teacher, child]).await;
}

/// On a desktop screen (1400x900) the group page shows the agent's decisions to the right of
/// the transcript, within the window; the session page and the group page say the session's
/// language, the agent's role and how long the children's data is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_page_puts_decisions_beside_the_transcript_and_says_the_settings() {
    let (server, driver, teacher, child) = classroom("en-US").await;
    teacher.set_window_size(1400, 900).await.unwrap();
    teacher.sign_in_facilitator(&server, "ms-lee").await;
    teacher
        .create_and_start_session("de", &["participant", "none"])
        .await;

    // A language by its own name, as the set-up form offers it in every dashboard language.
    assert_eq!(teacher.text_of("#session-language").await, "Deutsch");
    assert_eq!(
        teacher.text_of("#session-roles").await,
        "participant, none (control)"
    );
    let kept = teacher.text_of("#retention").await;
    assert!(kept.contains("180 days"), "{kept}");

    teacher.click(".group-card a.open-group").await;
    teacher.wait_for("#transcript").await;
    teacher.wait_for(".group-card").await;
    assert_eq!(teacher.text_of("#group-language").await, "Deutsch");
    assert_eq!(teacher.text_of("#group-role").await, "participant");
    let kept = teacher.text_of("#group-retention").await;
    assert!(kept.contains("180 days"), "{kept}");

    let rects = teacher
        .js(
            "const r = (id) => { const b = document.getElementById(id).closest('.dash-card').getBoundingClientRect(); \
                                 return { left: b.left, right: b.right, top: b.top }; }; \
             return { transcript: r('transcript'), decisions: r('decisions'), height: innerHeight };",
            vec![],
        )
        .await;
    let (t, d) = (&rects["transcript"], &rects["decisions"]);
    let at = |v: &Value, k: &str| v[k].as_f64().unwrap();
    assert!(
        at(d, "left") >= at(t, "right"),
        "the decisions are right of the transcript: {rects}"
    );
    assert!(
        at(d, "top") < at(&rects, "height") && (at(d, "top") - at(t, "top")).abs() < 1.0,
        "the decisions start beside the transcript's top, in the window: {rects}"
    );
    teacher.picture_if_asked("group-desktop").await;

    finish(server, driver, vec![teacher, child]).await;
}
