//! A real server on a loopback port with a fresh SQLite database, for tests over real sockets.

use std::path::PathBuf;
use std::time::Duration;

use peerlearn::config::{
    DatabaseKind, DatabaseSettings, EngineArgs, EngineSettings, FileConfig, Settings,
};
use peerlearn::room::RoomConfig;
use peerlearn::server::{RunningServer, StartOptions};
use peerlearn::store::{AgentRole, Group, NewGroup, NewSession, Session, SessionStatus, Store};

pub struct TestServer {
    pub server: RunningServer,
    pub base: String,
    _dir: tempfile::TempDir,
}

/// The real default model (scripts/test.sh fetches it); the server checks it at start.
pub fn test_model() -> PathBuf {
    std::env::var_os("PEERLEARN_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../models/default.gguf"
            ))
        })
}

pub fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: "http://127.0.0.1:0".into(),
        prompts_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../prompts")),
        database: DatabaseSettings {
            url: format!("sqlite://{}", dir.join("test.db").display()),
            kind: DatabaseKind::Sqlite,
            connect_timeout: Duration::from_secs(5),
        },
        engine: EngineSettings::resolve(
            &EngineArgs {
                model: Some(test_model()),
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
    }
}

impl TestServer {
    /// A chat-only server (no model loaded): the chat tests are about the chat.
    pub async fn start() -> TestServer {
        Self::start_with(StartOptions {
            room_config: RoomConfig::default(),
            load_engine: false,
        })
        .await
    }

    pub async fn start_with(options: StartOptions) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let server = peerlearn::server::start_with(&settings(dir.path()), options)
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr);
        TestServer {
            server,
            base,
            _dir: dir,
        }
    }

    /// Wraps a server a test started with settings of its own (another database).
    pub fn from_running(server: RunningServer, dir: tempfile::TempDir) -> TestServer {
        let base = format!("http://{}", server.addr);
        TestServer {
            server,
            base,
            _dir: dir,
        }
    }

    pub fn store(&self) -> &Store {
        &self.server.context.store
    }

    /// A running session with `groups` groups (agent role none: these tests are about the chat).
    pub async fn session(&self, groups: usize) -> (Session, Vec<Group>) {
        let (session, groups) = self
            .store()
            .create_session(&NewSession {
                facilitator_id: None,
                activity_id: "playground".into(),
                language: "en".into(),
                agent_name: "Blue".into(),
                groups: (0..groups)
                    .map(|i| NewGroup {
                        name: format!("Group {}", i + 1),
                        agent_role: AgentRole::None,
                    })
                    .collect(),
                created_at: peerlearn::store::now_ms(),
                phase_minutes: None,
                safety_level: "standard".into(),
            })
            .await
            .unwrap();
        let session = self
            .store()
            .set_session_status(
                session.id,
                SessionStatus::Running,
                peerlearn::store::now_ms(),
            )
            .await
            .unwrap();
        (session, groups)
    }

    pub fn ws_url(&self, group_id: i64) -> String {
        format!("ws://{}/ws?group={group_id}", self.server.addr)
    }
}

impl TestServer {
    /// A chat-only server with its limits changed by `limits` (the abuse tests use small ones).
    pub async fn start_with_limits(
        limits: impl FnOnce(&mut peerlearn::config::LimitSettings),
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(dir.path());
        limits(&mut settings.limits);
        let options = StartOptions {
            room_config: RoomConfig::default(),
            load_engine: false,
        };
        let server = peerlearn::server::start_with(&settings, options)
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr);
        TestServer {
            server,
            base,
            _dir: dir,
        }
    }
}
