//! Starting and stopping the server. Everything that can be wrong with the configuration is
//! found before the port is opened: the model file, the database, the activities.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::activity::{ActivityError, Catalog};
use crate::config::Settings;
use crate::engine::{build_engine, EngineConfig, EngineError};
use crate::http::{self, AppContext};
use crate::metrics::Metrics;
use crate::model::{self, ModelFileError};
use crate::room::{RoomConfig, RoomDeps, Rooms};
use crate::safety::AllowAll;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Model(#[from] ModelFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid activity: {0}")]
    Activity(#[from] ActivityError),
    #[error("invalid agent role template: {0}")]
    Role(#[from] crate::agent::PromptError),
    #[error("cannot start the inference engine: {0}")]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        addr: SocketAddr,
        cause: std::io::Error,
    },
}

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub context: Arc<AppContext>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets open requests finish, and closes the store.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let result = self.task.await.unwrap_or(Ok(()));
        self.context.store.close().await;
        result
    }

    /// Runs until the process gets Ctrl-C or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// Checks the configuration's files and services, binds, and starts serving in a task.
pub async fn start(settings: &Settings) -> Result<RunningServer, StartError> {
    start_with(settings, StartOptions::default()).await
}

/// What tests and benchmarks may change about a server beyond its configuration.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The rooms' tunables (tests use small queues to provoke lagging clients).
    pub room_config: RoomConfig,
    /// False for chat-only uses (the chat benchmark): no model is checked or loaded, and groups
    /// get no agent.
    pub load_engine: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            room_config: RoomConfig::default(),
            load_engine: true,
        }
    }
}

/// [`start`] with [`StartOptions`].
pub async fn start_with(
    settings: &Settings,
    options: StartOptions,
) -> Result<RunningServer, StartError> {
    if options.load_engine && settings.engine.llm_url.is_none() {
        model::check_gguf(&settings.engine.model)?;
    }
    let activities = Arc::new(Catalog::load(&settings.prompts_dir)?);
    // The agent's role templates: the built-ins, replaced by the folder's (checked now, so a
    // typo in a template stops the start instead of reaching a classroom).
    let mut room_config = options.room_config;
    room_config.agent.templates = Arc::new(crate::agent::Templates::load(&settings.prompts_dir)?);
    let store = Store::connect(&settings.database).await?;
    let engine = if options.load_engine {
        let config = engine_config(settings);
        // Loading a model reads and maps a large file: keep it off the async workers.
        let engine = tokio::task::spawn_blocking(move || build_engine(&config))
            .await
            .map_err(|_| EngineError::Stopped)??;
        tracing::info!(model = engine.model_name(), "engine ready");
        Some(engine)
    } else {
        None
    };
    let model_name = engine
        .as_ref()
        .map_or_else(|| "none".to_string(), |e| e.model_name().to_string());
    let metrics = Arc::new(Metrics::default());
    let rooms = Rooms::new(RoomDeps {
        store: store.clone(),
        metrics: metrics.clone(),
        activities: activities.clone(),
        filter: Arc::new(AllowAll),
        engine: engine.clone(),
        config: room_config,
        watch: Arc::default(),
    });
    let context = Arc::new(AppContext {
        store,
        activities,
        metrics,
        rooms,
        engine,
        started: Instant::now(),
        data: settings.data.clone(),
        public_url: settings.public_url.clone(),
        model_name,
        login_throttle: Default::default(),
    });
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|cause| StartError::Bind {
            addr: settings.listen,
            cause,
        })?;
    let addr = listener.local_addr().map_err(|cause| StartError::Bind {
        addr: settings.listen,
        cause,
    })?;
    if let Some(every) = settings.data.purge_interval {
        crate::purge::spawn(context.store.clone(), every);
    }
    let app = http::router(context.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await
    });
    Ok(RunningServer {
        addr,
        context,
        shutdown: Some(tx),
        task,
    })
}

/// The engine's configuration from the server's settings; the rest keeps the engine's defaults.
pub fn engine_config(settings: &Settings) -> EngineConfig {
    settings.engine.engine_config()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
