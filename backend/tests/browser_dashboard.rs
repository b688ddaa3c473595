//! The facilitator dashboard end to end in real headless Chromium, with the real server and
//! the real default model: a facilitator signs in and creates a session, a child joins in a
//! second browser, the grid shows the child's message within a second, and the facilitator
//! pauses the agent and whispers to it without the child seeing either, mutes and unmutes a
//! child (whose page says so at once).

mod common;

use std::time::{Duration, Instant};

use common::browser::{Chromedriver, ENTER};
use common::facilitator::{add_facilitator, PASSWORD};
use common::server::TestServer;
use serde_json::json;

/// The mute button of the group's first child, which turns into Unmute.
const MUTE: &str = ".group-card .mutes button[data-action=mute]";

#[tokio::test]
async fn a_facilitator_sets_up_watches_and_steps_in_unseen() {
    // The real model: the agent the teacher pauses and whispers to is a real one.
    let server = TestServer::builder().with_model().start().await;
    add_facilitator(&server, "ms-lee").await;
    let driver = Chromedriver::start().await;
    let teacher = driver.browser().await;
    let child = driver.browser().await;

    // Sign in and create a session of one group with a moderator agent.
    teacher.goto(&server.url("/facilitator")).await;
    teacher.wait_for_path("/facilitator/login").await;
    teacher.type_into("#name", "ms-lee").await;
    teacher.type_into("#password", PASSWORD).await;
    teacher.click("#login-button").await;
    teacher.wait_for_path("/facilitator").await;
    teacher.type_into("#groups", "1").await;
    teacher.click("#create-button").await;
    teacher
        .wait_until(
            "the session page",
            "return location.pathname.startsWith('/facilitator/sessions/');",
            vec![],
        )
        .await;
    teacher.mark_page().await;
    teacher.click("#start-session").await;
    teacher.wait_new_page().await;
    teacher
        .wait_until(
            "the running session's live grid",
            "return document.getElementById('session-status').textContent === 'running' \
                    && document.getElementById('conn').textContent === 'live' \
                    && document.querySelectorAll('.group-card').length === 1;",
            vec![],
        )
        .await;
    let title = teacher.text_of(".group-card h2").await;
    let code = title.rsplit(' ').next().unwrap().to_string();

    // A child joins in another browser.
    child.goto(&server.url("/")).await;
    child.type_into("#code", &code).await;
    child.type_into("#nickname", "Mia").await;
    child.click("input[name=avatar][value=\"🦊\"]").await;
    child.click("#join-button").await;
    child
        .wait_until(
            "the chat to be ready",
            "const c = window.peerlearnChat && window.peerlearnChat.connection; \
             return !!c && c.ready && c.synced;",
            vec![],
        )
        .await;

    // Her message shows on the grid within a second of being stored.
    let text = "We could build a ramp to the treehouse";
    child
        .find("#text")
        .await
        .send_keys(&format!("{text}{ENTER}"))
        .await
        .unwrap();
    child
        .wait_until(
            "the child's message to be stored",
            "return [...document.querySelectorAll('#messages li[data-seq] .msg-text')] \
                    .some(p => p.textContent === arguments[0]);",
            vec![json!(text)],
        )
        .await;
    let stored = Instant::now();
    teacher
        .wait_until(
            "the message on the grid",
            "return [...document.querySelectorAll('.group-card .recent .entry-text')] \
                    .some(p => p.textContent === arguments[0]);",
            vec![json!(text)],
        )
        .await;
    let shown_after = stored.elapsed();
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
        label.as_str().unwrap().contains("Mia: 1 messages, 8 words"),
        "{label}"
    );

    teacher.picture_if_asked("grid").await;

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

    // The group's transcript view: add a code and apply it to Mia's message.
    teacher.click(".group-card a.open-group").await;
    teacher
        .wait_until(
            "the transcript with Mia's message",
            "return [...document.querySelectorAll('#transcript .entry-text')] \
                    .some(p => p.textContent === arguments[0]);",
            vec![json!(text)],
        )
        .await;
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
            vec![json!(text)],
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
    child.picture_if_asked("child").await;
    let store = server.store();
    let codings = store
        .codings(store.group(1).await.unwrap().session_id)
        .await
        .unwrap();
    assert_eq!(codings.len(), 1);
    assert_eq!(codings[0].coder, "ms-lee");

    teacher.close().await;
    child.close().await;
    server.stop().await;
}
