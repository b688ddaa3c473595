//! End-to-end helpers: the real server in-process, a proxy that can cut its connections (a
//! school Wi-Fi dropping out), and real headless Chromium sessions driven over WebDriver.
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
#![allow(dead_code)]

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use peerlearn::config::{DatabaseArgs, EngineArgs, FileConfig, ServeArgs, Settings};
use peerlearn::server::RunningServer;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a `wait_*` helper waits before failing the test.
pub const WAIT: Duration = Duration::from_secs(10);

/// Window size of every browser: a portrait tablet.
pub const WINDOW: (u32, u32) = (768, 1024);

// ---------------------------------------------------------------------------------------------
// The server

/// The peerlearn server on a free loopback port with a fresh SQLite database, reached through
/// a [`FlakyProxy`] so a test can take the network away. `url()` goes through the proxy.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub proxy: FlakyProxy,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temporary folder");
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let model = std::env::var_os("PEERLEARN_TEST_MODEL")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("models/default.gguf"));
        let args = ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            prompts_dir: Some(workspace.join("prompts")),
            database: DatabaseArgs {
                database_url: Some(format!("sqlite://{}", dir.path().join("e2e.db").display())),
                ..Default::default()
            },
            engine: EngineArgs {
                model: Some(model),
                ..Default::default()
            },
            ..Default::default()
        };
        let settings = Settings::resolve(&args, &FileConfig::default()).expect("test settings");
        let server = peerlearn::server::start(&settings)
            .await
            .expect("start the server");
        let proxy = FlakyProxy::start(server.addr).await;
        TestServer {
            server: Some(server),
            proxy,
            _dir: dir,
        }
    }

    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("the server is running")
    }

    pub fn ctx(&self) -> &peerlearn::http::AppContext {
        &self.running().context
    }

    /// A URL on the server, through the proxy (what the browsers open).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy.addr)
    }

    /// A URL on the server itself, bypassing the proxy.
    pub fn direct_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running().addr)
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server.stop()).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A proxy that can drop the network

/// A TCP proxy in front of the server. `cut()` closes every open connection (as a Wi-Fi that
/// drops out would), `set_down(true)` refuses new ones until `set_down(false)`.
pub struct FlakyProxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyProxy {
    pub async fn start(upstream: SocketAddr) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = watch::channel(0u64);
        let task = {
            let down = down.clone();
            let cut = cut.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let mut cut_rx = cut.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut_rx.changed() => {}
                        }
                    });
                }
            })
        };
        FlakyProxy {
            addr,
            down,
            cut,
            task,
        }
    }

    /// Closes every connection that is open now.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// While down, new connections are closed as soon as they are accepted.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

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

    /// A new headless Chromium with a fresh profile (its own cookies and storage).
    pub async fn browser(&self) -> Browser {
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
            "--lang=en-US",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        ])
        .collect::<Vec<_>>();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
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

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
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
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                panic!("waited {WAIT:?} for {what} (at {url}); last value {value}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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

    /// Ends the browser session (the window closes, the profile is removed).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
