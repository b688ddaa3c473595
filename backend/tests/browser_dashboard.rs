//! The facilitator dashboard end to end in real headless Chromium, with the real server and
//! the real default model: a facilitator signs in and creates a session, a child joins in a
//! second browser, the grid shows the child's message within a second, and the facilitator
//! pauses the agent and whispers to it without the child seeing either, mutes and unmutes a
//! child (whose page says so at once).

#[path = "common/browser.rs"]
mod browser;

use std::time::{Duration, Instant};

use browser::{Browser, Chromedriver, TestServer};
use serde_json::json;

const PASSWORD: &str = "a long enough password";
const ENTER: char = '\u{e007}';

async fn type_into(b: &Browser, css: &str, text: &str) {
    let field = b.wait_for(css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Saves a picture of the page when PEERLEARN_SCREENSHOTS names a folder (for looking at the
/// dashboard as a facilitator sees it).
async fn picture(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("PEERLEARN_SCREENSHOTS") {
        b.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")))
            .await;
    }
}

async fn click(b: &Browser, css: &str) {
    b.wait_for(css).await.click().await.unwrap();
}

#[tokio::test]
async fn a_facilitator_sets_up_watches_and_steps_in_unseen() {
    let server = TestServer::start().await;
    let hash = peerlearn::auth::hash_password(PASSWORD).unwrap();
    server
        .ctx()
        .store
        .add_facilitator("ms-lee", &hash, peerlearn::store::now_ms())
        .await
        .unwrap();
    let driver = Chromedriver::start().await;
    let teacher = driver.browser().await;
    let child = driver.browser().await;

    // Sign in and create a session of one group with a moderator agent.
    teacher.goto(&server.url("/facilitator")).await;
    teacher.wait_for_path("/facilitator/login").await;
    type_into(&teacher, "#name", "ms-lee").await;
    type_into(&teacher, "#password", PASSWORD).await;
    click(&teacher, "#login-button").await;
    teacher.wait_for_path("/facilitator").await;
    type_into(&teacher, "#groups", "1").await;
    click(&teacher, "#create-button").await;
    teacher
        .wait_until(
            "the session page",
            "return location.pathname.startsWith('/facilitator/sessions/');",
            vec![],
        )
        .await;
    teacher.mark_page().await;
    click(&teacher, "#start-session").await;
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
    type_into(&child, "#code", &code).await;
    type_into(&child, "#nickname", "Mia").await;
    click(&child, "input[name=avatar][value=\"🦊\"]").await;
    click(&child, "#join-button").await;
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

    picture(&teacher, "grid").await;

    // Pause the agent, then whisper to it.
    let agent_messages = "return document.querySelectorAll('#messages li.msg-agent').length;";
    click(&teacher, ".group-card button[data-action=pause]").await;
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
    type_into(&teacher, ".group-card input[data-action=whisper]", whisper).await;
    teacher
        .find(".group-card input[data-action=whisper]")
        .await
        .send_keys(&ENTER.to_string())
        .await
        .unwrap();
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
    let store = &server.ctx().store;
    let audit = store.audit_log().await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "whisper" && a.detail.contains(whisper)));
    assert!(audit.iter().any(|a| a.action == "pause_agent"));

    // The group's transcript view: add a code and apply it to Mia's message.
    click(&teacher, ".group-card a.open-group").await;
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
    click(&teacher, ".group-card .mutes button[data-action=mute]").await;
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
            "return document.querySelector('.group-card .mutes button[data-action=mute]').textContent.startsWith('Unmute');",
            vec![],
        )
        .await;
    click(&teacher, ".group-card .mutes button[data-action=mute]").await;
    child
        .wait_until(
            "Mia's page to let her write again",
            "return !document.getElementById('send').disabled && \
                    document.getElementById('notice').textContent.includes('You can write again');",
            vec![],
        )
        .await;
    type_into(&teacher, "#code-name", "Inclusive design").await;
    teacher
        .find("#code-name")
        .await
        .send_keys(&ENTER.to_string())
        .await
        .unwrap();
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
    picture(&teacher, "group").await;
    picture(&child, "child").await;
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
