//! Starting and stopping the server. Everything that can be wrong with the configuration is
//! found before the port is opened: the model file, the database, the activities.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::activity::{ActivityError, Catalog};
use crate::config::{ClassifierSource, Settings};
use crate::engine::{build_engine, EngineConfig, EngineError};
use crate::http::{self, AppContext};
use crate::metrics::Metrics;
use crate::model::{self, ModelFileError};
use crate::room::{RoomConfig, RoomDeps, Rooms};
use crate::safety::classifier::Classifier;
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
    #[error("invalid safety file: {0}")]
    Safety(#[from] crate::safety::SafetyError),
    #[error("cannot start the inference engine: {0}")]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        addr: SocketAddr,
        cause: std::io::Error,
    },
}

/// How long a stopping server waits for its rooms, and then for open requests.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub context: Arc<AppContext>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops in order, within a bounded time: stop accepting connections; stop every room
    /// (a message being stored is finished, agent replies are cancelled and not stored, pages
    /// are told to reconnect); give open requests [`SHUTDOWN_GRACE`] to finish, then drop
    /// what is left; the engine stops with the last room; the store closes last.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, self.context.rooms.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some rooms did not stop in time");
        }
        let result = match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await {
            Ok(joined) => joined.unwrap_or(Ok(())),
            Err(_) => {
                tracing::warn!("connections still open after the grace period are dropped");
                self.task.abort();
                Ok(())
            }
        };
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
    if options.load_engine && settings.engine.llm_urls.is_empty() {
        model::check_gguf(&settings.engine.model)?;
    }
    let activities = Arc::new(Catalog::load(&settings.prompts_dir)?);
    // The agent's role templates: the built-ins, replaced by the folder's (checked now, so a
    // typo in a template stops the start instead of reaching a classroom).
    let mut room_config = options.room_config;
    room_config.agent.templates = Arc::new(crate::agent::Templates::load(&settings.prompts_dir)?);
    room_config.agent.stale_after = settings.agent.stale_after as usize;
    room_config.agent.answer_within = settings.agent.answer_within;
    room_config.agent.reply_within = settings.agent.reply_within;
    // The safety screen's word lists and notes: the built-ins, replaced or extended by the
    // folder's, checked now like the templates.
    let screen = crate::safety::Screen::load(&settings.prompts_dir)?;
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
    let classifier = match &settings.safety.classifier {
        Some(source) => Some(load_classifier(settings, source).await?),
        None => None,
    };
    let model_name = engine
        .as_ref()
        .map_or_else(|| "none".to_string(), |e| e.model_name().to_string());
    let metrics = Arc::new(Metrics::default());
    let rooms = Rooms::new(RoomDeps {
        store: store.clone(),
        metrics: metrics.clone(),
        activities: activities.clone(),
        screen: screen.clone(),
        classifier,
        engine: engine.clone(),
        config: room_config,
        watch: Arc::default(),
    });
    let context = Arc::new(AppContext {
        screen,
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
        limits: crate::limits::Limits::new(&settings.limits),
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
    let limits = settings.limits.clone();
    let task = tokio::spawn(async move {
        http::serve::serve(listener, app, &limits, async {
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

/// The optional safety classifier (Llama Guard) on an engine of its own: one slot, a short
/// context (one message and the task), the same threads as the agent's engine; or a remote
/// server. Checked at start like the agent's model.
async fn load_classifier(
    settings: &Settings,
    source: &ClassifierSource,
) -> Result<Classifier, StartError> {
    let mut config = EngineConfig {
        slots: 1,
        context_per_slot: 1024,
        ..engine_config(settings)
    };
    config.llm_model = None;
    match source {
        ClassifierSource::Model(path) => {
            model::check_gguf(path)?;
            config.model_path = path.clone();
            config.llm_urls.clear();
        }
        ClassifierSource::Url(url) => config.llm_urls = vec![url.clone()],
    }
    let engine = tokio::task::spawn_blocking(move || build_engine(&config))
        .await
        .map_err(|_| EngineError::Stopped)??;
    tracing::info!(model = engine.model_name(), "safety classifier ready");
    Ok(Classifier::new(engine, settings.safety.wait))
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
