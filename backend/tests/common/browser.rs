//! Real headless Chromium sessions driven over WebDriver, in front of a
//! [`TestServer`](super::server::TestServer).
//!
//! ```ignore
//! let server = TestServer::start().await;
//! let driver = Chromedriver::start().await;
//! let mia = driver.browser().await; // its own profile: its own cookie jar
//! mia.goto(&server.url("/")).await;
//! mia.wait_for("#join-form").await;
//! ```
//!
//! Paths can be overridden with `PEERLEARN_CHROMEDRIVER` and `PEERLEARN_CHROMIUM`.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::net::TcpStream;

use super::facilitator::PASSWORD;
use super::process::free_port;
use super::server::TestServer;
use super::WAIT;

/// WebDriver's Enter key.
pub const ENTER: char = '\u{e007}';

/// WebDriver's Tab key.
pub const TAB: char = '\u{e004}';

/// Window size of every browser: a portrait tablet.
pub const WINDOW: (u32, u32) = (768, 1024);

// ---------------------------------------------------------------------------------------------
// Chromedriver and the browsers

/// A chromedriver process on a free port; killed (with the browsers it started) on drop.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    pub async fn start() -> Chromedriver {
        let path = std::env::var("PEERLEARN_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that drop can end it together with its browsers.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {path}: {e} (scripts/test.sh installs chromium-driver)")
            });
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "chromedriver did not start listening on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    /// A new headless Chromium with a fresh profile (its own cookies and storage), in English.
    pub async fn browser(&self) -> Browser {
        self.browser_in("en-US").await
    }

    /// A new headless Chromium whose interface language (and so `Accept-Language`) is `lang`,
    /// e.g. "de-DE".
    pub async fn browser_in(&self, lang: &str) -> Browser {
        let chromium =
            std::env::var("PEERLEARN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tempfile::tempdir().expect("profile folder");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            format!("--lang={lang}"),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        ])
        .collect::<Vec<_>>();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": { "intl.accept_languages": lang },
            },
            // A page's alert() must stay open so a test can see it; nothing dismisses it.
            "unhandledPromptBehavior": "ignore",
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("open a Chromium session");
        Browser {
            client,
            _profile: profile,
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every browser it launched.
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window, with helpers that wait (pages and sockets are asynchronous).
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl std::ops::Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The element matching `css`, waiting until it is there.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?} after {WAIT:?}: {e}"))
    }

    /// Clicks the element matching `css`, waiting until it is there.
    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    /// Replaces the text of the field matching `css` (waiting until it is there) with `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Types `text` into the field matching `css` and presses Enter, as a teacher sends a
    /// one-line form.
    pub async fn submit_text(&self, css: &str, text: &str) {
        self.type_into(css, text).await;
        self.find(css)
            .await
            .send_keys(&ENTER.to_string())
            .await
            .unwrap();
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?}: {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css:?}: {e}"))
    }

    /// The rendered text (`innerText`) of the first element matching `css`, read in one step
    /// (an element handle may go stale when the page redraws a list).
    pub async fn text_of(&self, css: &str) -> String {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                vec![css.into()],
            )
            .await;
        v.as_str()
            .unwrap_or_else(|| panic!("no element {css:?}"))
            .to_string()
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> u64 {
        self.js(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![css.into()],
        )
        .await
        .as_u64()
        .unwrap()
    }

    /// Runs a script (its `return` value comes back as JSON).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns something truthy; returns that value. `what` names the
    /// condition in the failure message.
    pub async fn wait_until(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let started = Instant::now();
        loop {
            let value = self.js(script, args.clone()).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(_) | Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            if started.elapsed() > WAIT {
                let url = self.url_now().await;
                panic!("waited {WAIT:?} for {what} (at {url}); last value {value}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page's address now (empty when the browser cannot say).
    pub async fn url_now(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Waits until the page's path is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            if let Ok(url) = self.client.current_url().await {
                if url.path() == path {
                    return;
                }
            }
            assert!(started.elapsed() < WAIT, "the page never went to {path}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Marks the current document, so that [`Browser::wait_new_page`] can tell when the
    /// browser has loaded another one (even at the same URL, as after a form re-renders).
    pub async fn mark_page(&self) {
        self.js("document.documentElement.dataset.e2eOldPage = '1';", vec![])
            .await;
    }

    /// Waits until a document without the mark of [`Browser::mark_page`] has loaded.
    pub async fn wait_new_page(&self) {
        self.wait_until(
            "a new page to load",
            "return !document.documentElement.dataset.e2eOldPage && document.readyState === 'complete';",
            vec![],
        )
        .await;
    }

    /// The text of an open alert/confirm/prompt, if one is open.
    pub async fn open_alert(&self) -> Option<String> {
        match self.client.get_alert_text().await {
            Ok(text) => Some(text),
            Err(CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::NoSuchAlert =>
            {
                None
            }
            Err(e) => panic!("cannot ask for an alert: {e}"),
        }
    }

    /// Saves a PNG of the window (for looking at a failing test).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Fills the join page's form and sends it; the avatar is picked with the mouse.
    pub async fn fill_join_form(&self, code: &str, nickname: &str, avatar: &str) {
        self.type_into("#code", code).await;
        self.type_into("#nickname", nickname).await;
        self.click(&format!("input[name=avatar][value=\"{avatar}\"]"))
            .await;
        self.click("#join-button").await;
    }

    /// Waits until the chat page's socket is open and the replay is done.
    pub async fn wait_connected(&self) {
        self.wait_until(
            "the chat socket to be open and synced",
            "const c = window.peerlearnChat && window.peerlearnChat.connection; \
             return !!c && c.ready && c.synced && document.getElementById('banner').hidden;",
            vec![],
        )
        .await;
    }

    /// Types a message into the chat page's composer and presses Enter.
    pub async fn say(&self, text: &str) {
        let field = self.find("#text").await;
        field.send_keys(&format!("{text}{ENTER}")).await.unwrap();
    }

    /// Waits until a stored message (one with a seq) with exactly this text is on the chat page.
    pub async fn wait_for_message(&self, text: &str) {
        self.wait_until(
            &format!("the message {text:?}"),
            "return [...document.querySelectorAll('#messages li[data-seq] .msg-text')] \
                    .some(p => p.textContent === arguments[0]);",
            vec![json!(text)],
        )
        .await;
    }

    /// Saves a picture of the window as `{name}.png` when PEERLEARN_SCREENSHOTS names a folder
    /// (for looking at the pages as children and teachers see them).
    pub async fn picture_if_asked(&self, name: &str) {
        if let Some(dir) = std::env::var_os("PEERLEARN_SCREENSHOTS") {
            self.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")))
                .await;
        }
    }

    /// Signs `name` in through the dashboard's sign-in form, with the tests' password.
    pub async fn sign_in_facilitator(&self, server: &TestServer, name: &str) {
        self.goto(&server.url("/facilitator")).await;
        self.wait_for_path("/facilitator/login").await;
        self.wait_for("#login-form").await;
        self.type_into("#name", name).await;
        self.type_into("#password", PASSWORD).await;
        self.click("#login-button").await;
        self.wait_for_path("/facilitator").await;
        self.wait_for("#create-form").await;
    }

    /// On the signed-in sessions page: creates a session in `language` with one group per
    /// role in `roles` through the set-up form, starts it, and waits for its live grid.
    /// Returns the first group's join code, as the grid shows it.
    pub async fn create_and_start_session(&self, language: &str, roles: &[&str]) -> String {
        self.type_into("#groups", &roles.len().to_string()).await;
        self.js(
            "document.getElementById('language').value = arguments[0]; \
             arguments[1].forEach((r, i) => { \
               document.querySelector(`select[name=role_${i + 1}]`).value = r; });",
            vec![json!(language), json!(roles)],
        )
        .await;
        self.click("#create-button").await;
        self.wait_until(
            "the session page",
            "return location.pathname.startsWith('/facilitator/sessions/');",
            vec![],
        )
        .await;
        self.mark_page().await;
        self.click("#start-session").await;
        self.wait_new_page().await;
        self.wait_until(
            "the running session's live grid",
            // By class, not words: the grid may be in any of the dashboard's languages.
            "return document.getElementById('session-status').classList.contains('status-running') \
                    && document.getElementById('conn').classList.contains('conn-live') \
                    && document.querySelectorAll('.group-card').length === arguments[0];",
            vec![json!(roles.len())],
        )
        .await;
        let title = self.text_of(".group-card h2").await;
        title.rsplit(' ').next().unwrap().to_string()
    }

    /// From the live grid, opens the first group's page and waits until its transcript shows
    /// the message `text`.
    pub async fn open_group_page(&self, text: &str) {
        self.click(".group-card a.open-group").await;
        self.wait_until(
            &format!("the transcript with {text:?}"),
            "return [...document.querySelectorAll('#transcript .entry-text')] \
                    .some(p => p.textContent === arguments[0]);",
            vec![json!(text)],
        )
        .await;
    }

    /// Hands `frames` to the chat page's connection as if the socket had sent them
    /// (`ends_in_ms` is turned into the `ends_at_ms` of the page's clock).
    pub async fn feed(&self, frames: Value) {
        self.js(
            "const c = window.peerlearnChat.connection; \
             for (const f of arguments[0]) { \
               if (f.ends_in_ms) { f.ends_at_ms = Date.now() + f.ends_in_ms; delete f.ends_in_ms; } \
               c.handle(f); \
             }",
            vec![frames],
        )
        .await;
    }

    /// Runs axe-core on the page as it is now, with its default rules (WCAG 2 A and AA and
    /// best practices), and fails with a readable list of what it found. `page` names the page
    /// in the failure message.
    pub async fn assert_axe_clean(&self, page: &str) {
        let violations = self.axe_violations().await;
        if violations.is_empty() {
            return;
        }
        let url = self.url_now().await;
        let list: Vec<String> = violations.iter().map(describe_violation).collect();
        panic!(
            "axe-core found {} violation(s) on the {page} ({url}):\n{}",
            list.len(),
            list.join("\n")
        );
    }

    /// Tabs through the page from its start: every stop has a visible focus style (an outline
    /// or a halo, on the control or, for a control drawn by its label, on that label), and
    /// the stops follow the document's order (no tabindex reordering). Returns the stops.
    pub async fn assert_focus_visible(&self, page: &str) -> Vec<String> {
        self.js(
            // A stop before everything else, so that the first Tab goes to the first control
            // (Chromium goes on from where focus last was, even after a blur).
            "delete window.e2eLastStop; const start = document.createElement('span'); \
             start.tabIndex = -1; start.id = 'e2e-focus-start'; document.body.prepend(start); start.focus();",
            vec![],
        )
        .await;
        let mut stops = Vec::new();
        for _ in 0..200 {
            // A real key press (sending keys to a colour or file field would set its value).
            let tab = KeyActions::new("keyboard".into())
                .then(KeyAction::Down { value: TAB })
                .then(KeyAction::Up { value: TAB });
            self.client.perform_actions(tab).await.expect("press Tab");
            let stop = self
                .js(
                    "const e = document.activeElement; \
                     document.getElementById('e2e-focus-start')?.remove(); \
                     if (!e || e === document.body) return null; \
                     const prev = window.e2eLastStop; window.e2eLastStop = e; \
                     if (prev === e) return { same: true }; \
                     const after = !prev || !!(prev.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING); \
                     const drawn = getComputedStyle(e).opacity === '0' ? e.parentElement : e; \
                     const s = getComputedStyle(drawn); \
                     const visible = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; \
                     const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') \
                       + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') \
                       + (e.dataset.action ? `[data-action=${e.dataset.action}]` : ''); \
                     return { name, after, visible };",
                    vec![],
                )
                .await;
            if stop["same"] == json!(true) {
                // Within one control (the parts of a date field).
                continue;
            }
            if stop.is_null() || stop["after"] == json!(false) {
                // Past the last control: the browser's own interface, or round to the first.
                return stops;
            }
            let name = stop["name"].as_str().unwrap_or("?").to_string();
            assert_eq!(
                stop["visible"],
                json!(true),
                "no visible focus style on {name} ({page}); stops so far: {stops:?}"
            );
            stops.push(name);
        }
        panic!("more than 200 Tab stops on the {page}: {stops:?}");
    }

    /// axe-core's violations on the page as it is now (its `violations` array).
    pub async fn axe_violations(&self) -> Vec<Value> {
        // Injected through WebDriver, which the page's Content-Security-Policy does not cover
        // (the pages allow no inline script); only once per document.
        self.js(
            &format!(
                "if (!window.axe) {{ {}\n }} return typeof window.axe;",
                axe_source()
            ),
            vec![],
        )
        .await;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 window.axe.run(document).then( \
                   (r) => done({ violations: r.violations }), \
                   (e) => done({ error: String(e) }));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("axe.run failed: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe.run failed: {error}");
        }
        result["violations"]
            .as_array()
            .cloned()
            .expect("axe's violations")
    }

    /// Ends the browser session (the window closes, the profile is removed).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// axe-core's `axe.min.js`, read once: `PEERLEARN_AXE` (scripts/test.sh installs the npm
/// package `axe-core` and sets it), else where scripts/test.sh puts it.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var("PEERLEARN_AXE").unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            format!("{home}/.cache/peerlearn/axe/node_modules/axe-core/axe.min.js")
        });
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("cannot read axe-core from {path}: {e} (scripts/test.sh installs it)")
        })
    })
}

/// One axe violation on a few lines: its rule, impact and summary, then each offending
/// element's selector and what is wrong with it.
fn describe_violation(v: &Value) -> String {
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or("").to_string();
    let mut out = format!(
        "- {} ({}): {} [{}]",
        text(v, "id"),
        text(v, "impact"),
        text(v, "help"),
        text(v, "helpUrl")
    );
    for node in v["nodes"].as_array().into_iter().flatten() {
        let target: Vec<String> = node["target"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string))
            .collect();
        let summary = text(node, "failureSummary").replace('\n', " ");
        out.push_str(&format!("\n    at {}: {summary}", target.join(" > ")));
    }
    out
}
