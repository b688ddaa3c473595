//! The facilitator dashboard end to end in real headless Chromium: a facilitator signs in and
//! creates a session, a child joins in a second browser, the grid shows the child's message
//! within a second; the facilitator pauses the real agent (the real default model) and
//! whispers to it without the child seeing either, mutes and unmutes a child (whose page says
//! so at once), codes her message in the group's transcript view, and takes a child's help
//! request from NEW to SEEN to DEALT WITH.

mod common;

use std::time::{Duration, Instant};

use common::browser::{Browser, Chromedriver};
use common::facilitator::add_facilitator;
use common::server::TestServer;
use serde_json::json;

/// The mute button of the group's first child, which turns into Unmute.
const MUTE: &str = ".group-card .mutes button[data-action=mute]";

/// What Mia says in every test.
const TEXT: &str = "We could build a ramp to the treehouse";

/// ms-lee's dashboard in one browser with a running session of one group (a moderator agent),
/// made through its forms; Mia in another browser, joined with the code the grid shows, has
/// said [`TEXT`], and the grid shows it.
struct Dashboard {
    server: TestServer,
    driver: Chromedriver,
    teacher: Browser,
    child: Browser,
    /// How long after it was stored the grid showed Mia's message.
    shown_after: Duration,
}

async fn dashboard(server: TestServer) -> Dashboard {
    add_facilitator(&server, "ms-lee").await;
    let driver = Chromedriver::start().await;
    let teacher = driver.browser().await;
    let child = driver.browser().await;

    // Sign in and create a session of one group with a moderator agent.
    teacher.sign_in_facilitator(&server, "ms-lee").await;
    let code = teacher.create_and_start_session("en", &["moderator"]).await;

    // A child joins in another browser.
    child.goto(&server.url("/")).await;
    child.fill_join_form(&code, "Mia", "🦊").await;
    child.wait_connected().await;

    // Her message shows on the grid within a second of being stored.
    child.say(TEXT).await;
    child.wait_for_message(TEXT).await;
    let stored = Instant::now();
    teacher
        .wait_until(
            "the message on the grid",
            "return [...document.querySelectorAll('.group-card .recent .entry-text')] \
                    .some(p => p.textContent === arguments[0]);",
            vec![json!(TEXT)],
        )
        .await;
    let shown_after = stored.elapsed();
    Dashboard {
        server,
        driver,
        teacher,
        child,
        shown_after,
    }
}

impl Dashboard {
    /// Opens the group's page (its transcript and codebook) from the grid.
    async fn open_group(&self) {
        self.teacher.open_group_page(TEXT).await;
    }

    async fn finish(self) {
        self.teacher.close().await;
        self.child.close().await;
        drop(self.driver);
        self.server.stop().await;
    }
}

#[tokio::test]
async fn the_grid_shows_a_childs_message_within_a_second_with_her_participation() {
    let d = dashboard(TestServer::start().await).await;
    let (teacher, shown_after) = (&d.teacher, d.shown_after);
    assert!(
        shown_after < Duration::from_secs(1),
        "the grid showed the message after {shown_after:?}"
    );
    // Her participation bar is drawn (one message, eight words).
    let label = teacher
        .js(
            "return document.querySelector('.group-card svg.participation').getAttribute('aria-label');",
            vec![],
        )
        .await;
    assert!(
        // One message is singular now (the catalogue's plural, not "1 messages").
        label.as_str().unwrap().contains("Mia: 1 message, 8 words"),
        "{label}"
    );
    teacher.picture_if_asked("grid").await;
    d.finish().await;
}

#[tokio::test]
async fn pausing_and_whispering_to_the_real_agent_stay_unseen_by_the_child() {
    // The real model: the agent the teacher pauses and whispers to is a real one.
    let d = dashboard(TestServer::builder().with_model().start().await).await;
    let (server, teacher, child) = (&d.server, &d.teacher, &d.child);
    // Pause the agent, then whisper to it.
    let agent_messages = "return document.querySelectorAll('#messages li.msg-agent').length;";
    teacher.click(".group-card button[data-action=pause]").await;
    teacher
        .wait_until(
            "the agent to show as paused",
            "return document.querySelector('.group-card .card-agent').dataset.state === 'paused';",
            vec![],
        )
        .await;
    // Let a reply the agent may have been writing at the pause settle on the child's page.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = child.js(agent_messages, vec![]).await;
    let whisper = "Ask Mia how children in wheelchairs reach the treehouse";
    teacher
        .submit_text(".group-card input[data-action=whisper]", whisper)
        .await;
    teacher
        .wait_until(
            "the whisper to be accepted",
            "return [...document.querySelectorAll('.group-card .action-status')] \
                    .some(p => p.textContent === 'Done.');",
            vec![],
        )
        .await;

    // The child sees neither the whisper nor any trace of it: no words, no reply, no typing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let html = child
        .js("return document.documentElement.outerHTML;", vec![])
        .await;
    assert!(!html.as_str().unwrap().contains(whisper));
    assert!(!html.as_str().unwrap().to_lowercase().contains("whisper"));
    assert_eq!(child.js(agent_messages, vec![]).await, before);
    let streaming = child
        .js(
            "return document.querySelectorAll('#messages li.msg-agent:not([data-seq])').length;",
            vec![],
        )
        .await;
    assert_eq!(streaming, json!(0), "no reply is being written either");
    // The whisper is in the agent's log and the audit log.
    let audit = server.audit().await;
    assert!(audit
        .iter()
        .any(|a| a.action == "whisper" && a.detail.contains(whisper)));
    assert!(audit.iter().any(|a| a.action == "pause_agent"));

    d.finish().await;
}

#[tokio::test]
async fn muting_a_child_from_the_groups_page_tells_her_page_at_once() {
    let d = dashboard(TestServer::start().await).await;
    let (teacher, child) = (&d.teacher, &d.child);
    d.open_group().await;
    // From the group's page, muting Mia: her page says so at once and turns sending off;
    // unmuting turns it back on.
    teacher.click(MUTE).await;
    child
        .wait_until(
            "Mia's page to say she is muted",
            "return document.getElementById('send').disabled && \
                    document.getElementById('notice').textContent.includes('paused your messages for 5 minutes');",
            vec![],
        )
        .await;
    teacher
        .wait_until(
            "the unmute button",
            &format!("return document.querySelector('{MUTE}').textContent.startsWith('Unmute');"),
            vec![],
        )
        .await;
    teacher.click(MUTE).await;
    child
        .wait_until(
            "Mia's page to let her write again",
            "return !document.getElementById('send').disabled && \
                    document.getElementById('notice').textContent.includes('You can write again');",
            vec![],
        )
        .await;
    child.picture_if_asked("child").await;
    d.finish().await;
}

#[tokio::test]
async fn a_teacher_codes_a_message_in_the_groups_transcript_view() {
    let d = dashboard(TestServer::start().await).await;
    let (server, teacher) = (&d.server, &d.teacher);
    // The group's transcript view: add a code and apply it to Mia's message.
    d.open_group().await;
    teacher.submit_text("#code-name", "Inclusive design").await;
    teacher
        .wait_until(
            "the new code in the codebook and the transcript",
            "return document.querySelectorAll('#codes .code-row').length === 1 \
                    && document.querySelectorAll('#transcript select.apply-code').length > 0;",
            vec![],
        )
        .await;
    teacher
        .js(
            "const li = [...document.querySelectorAll('#transcript li.entry')] \
                 .find(li => li.querySelector('.entry-text').textContent === arguments[0]); \
             const pick = li.querySelector('select.apply-code'); \
             pick.value = pick.options[1].value; \
             pick.dispatchEvent(new Event('change'));",
            vec![json!(TEXT)],
        )
        .await;
    teacher
        .wait_until(
            "the code on Mia's message",
            "return [...document.querySelectorAll('#transcript .code-chip.mine')] \
                    .some(c => c.textContent.startsWith('Inclusive design'));",
            vec![],
        )
        .await;
    teacher.picture_if_asked("group").await;
    let store = server.store();
    let codings = store
        .codings(store.group(1).await.unwrap().session_id)
        .await
        .unwrap();
    assert_eq!(codings.len(), 1);
    assert_eq!(codings[0].coder, "ms-lee");

    d.finish().await;
}

/// "I need help" seen from the grid: Mia's request shows at once on her group as NEW with
/// her note; the teacher marks it SEEN, then DEALT WITH (both audited), and Mia's page follows.
#[tokio::test]
async fn a_childs_help_request_goes_new_seen_dealt_with_on_the_grid() {
    let d = dashboard(TestServer::start().await).await;
    let (teacher, child) = (&d.teacher, &d.child);
    child.click("#help-open").await;
    child
        .find("#help-note")
        .await
        .send_keys("I'm stuck")
        .await
        .unwrap();
    child.click("#help-send").await;
    let notice = ".group-card .notice-help_request";
    // The grid's help notice `n` (its state label, note and buttons) until `holds` is true.
    let notice_until = |what: &'static str, holds: &'static str| {
        let script =
            format!("const n = document.querySelector('{notice}'); return !!n && ({holds});");
        async move { teacher.wait_until(what, &script, vec![]).await }
    };
    notice_until(
        "the help request on the grid, NEW, with Mia's note",
        "n.querySelector('.notice-state').textContent === 'NEW' \
         && n.querySelector('.notice-text').textContent === \"I'm stuck\" \
         && n.textContent.includes('Mia asked for help.')",
    )
    .await;
    teacher
        .click(&format!("{notice} button[data-action=see]"))
        .await;
    notice_until(
        "the help request SEEN, still on the grid",
        "n.querySelector('.notice-state').textContent === 'SEEN' \
         && !n.querySelector('button[data-action=see]')",
    )
    .await;
    child
        .wait_until(
            "Mia's page to say the teacher has seen it",
            "return document.getElementById('help-status').textContent.includes('has seen');",
            vec![],
        )
        .await;
    teacher
        .click(&format!("{notice} button[data-action=resolve]"))
        .await;
    teacher
        .wait_until(
            "the help request off the grid",
            &format!("return !document.querySelector('{notice}');"),
            vec![],
        )
        .await;
    child
        .wait_until(
            "Mia's page to say the teacher dealt with it",
            "return document.getElementById('help-status').textContent.includes('dealt with');",
            vec![],
        )
        .await;
    // Both steps are on the pages, so their entries are stored: each was committed with its
    // notice's change, before the pages were told.
    for action in ["see_notice", "resolve_notice"] {
        assert!(
            d.server.audited(|a| a.action == action).await,
            "{action} audited"
        );
    }
    d.finish().await;
}
