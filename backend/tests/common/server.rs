//! The real server in this process, on a loopback port with a fresh SQLite database.
//!
//! ```ignore
//! let srv = TestServer::start().await; // chat only: no model is loaded
//! let srv = TestServer::builder().with_model().start().await;
//! let srv = TestServer::builder().behind_proxy().start().await; // srv.proxy().cut()
//! let srv = TestServer::builder().limits(|l| l.max_group_size = 3).start().await;
//! ```

use std::path::PathBuf;
use std::time::Duration;

use peerlearn::config::{
    DatabaseSettings, EngineArgs, EngineSettings, FileConfig, LimitSettings, Settings,
};
use peerlearn::room::RoomConfig;
use peerlearn::server::{RunningServer, StartOptions};
use peerlearn::store::{AgentRole, AuditEntry, Group, Session, Store};

use super::engine::test_model;
use super::proxy::FlakyProxy;

pub struct TestServer {
    pub server: RunningServer,
    /// The server's own address (`http://127.0.0.1:PORT`), never through the proxy.
    pub base: String,
    proxy: Option<FlakyProxy>,
    database: DatabaseSettings,
    _dir: tempfile::TempDir,
}

/// What a test may change about its server before it starts.
pub struct Builder {
    dir: tempfile::TempDir,
    settings: Settings,
    options: StartOptions,
    proxy: bool,
}

impl TestServer {
    /// A chat-only server (no model loaded): most tests are about the chat, not the agent.
    pub async fn start() -> TestServer {
        Self::builder().start().await
    }

    /// A chat-only server on a fresh SQLite database, until the builder says otherwise.
    pub fn builder() -> Builder {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: "http://127.0.0.1:0".into(),
            prompts_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../prompts")),
            database: super::sqlite_at(&dir.path().join("test.db")),
            // Small enough for the test machine; the model is named only by `with_model`.
            engine: EngineSettings::resolve(
                &EngineArgs {
                    threads: Some(2),
                    slots: Some(4),
                    context_per_slot: Some(2048),
                    ..Default::default()
                },
                &FileConfig::default(),
            )
            .unwrap(),
            safety: Default::default(),
            limits: Default::default(),
            data: Default::default(),
            agent: Default::default(),
        };
        Builder {
            dir,
            settings,
            options: StartOptions {
                room_config: RoomConfig::default(),
                load_engine: false,
            },
            proxy: false,
        }
    }

    pub fn store(&self) -> &Store {
        &self.server.context.store
    }

    /// The database the server stores in (a test can break it under the server).
    pub fn database(&self) -> &DatabaseSettings {
        &self.database
    }

    /// A URL on the server as a browser opens it: through the proxy when there is one.
    pub fn url(&self, path: &str) -> String {
        match &self.proxy {
            Some(proxy) => format!("http://{}{path}", proxy.addr),
            None => format!("{}{path}", self.base),
        }
    }

    /// The audit log, oldest first.
    pub async fn audit(&self) -> Vec<AuditEntry> {
        self.store().audit_log().await.unwrap()
    }

    /// Whether the audit log holds an entry that `matches`.
    pub async fn audited(&self, matches: impl Fn(&AuditEntry) -> bool) -> bool {
        self.audit().await.iter().any(matches)
    }

    /// The proxy of a server started [`Builder::behind_proxy`].
    pub fn proxy(&self) -> &FlakyProxy {
        self.proxy
            .as_ref()
            .expect("the server was started behind_proxy()")
    }

    /// [`running_session`](super::session::running_session) on this server's store, with
    /// `groups` groups and no agent (what the chat tests need).
    pub async fn running_session(&self, groups: usize) -> (Session, Vec<Group>) {
        super::session::running_session(self.store(), &vec![AgentRole::None; groups]).await
    }

    /// Stops the server as SIGTERM would, in a bounded time.
    pub async fn stop(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server.stop()).await;
    }
}

impl Builder {
    /// Loads the real model (see [`test_model`]): for the tests about the agent's real replies.
    pub fn with_model(mut self) -> Builder {
        self.settings.engine.model = test_model();
        self.options.load_engine = true;
        self
    }

    /// Puts a [`FlakyProxy`] in front: [`TestServer::url`] then goes through it.
    pub fn behind_proxy(mut self) -> Builder {
        self.proxy = true;
        self
    }

    /// Changes the rooms' tunables (small queues, a generous rate limit).
    pub fn rooms(mut self, change: impl FnOnce(&mut RoomConfig)) -> Builder {
        change(&mut self.options.room_config);
        self
    }

    /// Changes the abuse limits (the abuse tests use small ones).
    pub fn limits(mut self, change: impl FnOnce(&mut LimitSettings)) -> Builder {
        change(&mut self.settings.limits);
        self
    }

    /// Another database than the fresh SQLite file (one the test can break).
    pub fn database(mut self, database: DatabaseSettings) -> Builder {
        self.settings.database = database;
        self
    }

    pub async fn start(self) -> TestServer {
        let server = peerlearn::server::start_with(&self.settings, self.options)
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr);
        let proxy = match self.proxy {
            true => Some(FlakyProxy::start(server.addr).await),
            false => None,
        };
        TestServer {
            server,
            base,
            proxy,
            database: self.settings.database,
            _dir: self.dir,
        }
    }
}
