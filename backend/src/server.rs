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
    #[error("cannot listen on {addr}: {cause}")]
    Bind { addr: SocketAddr, cause: std::io::Error },
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
    start_with(settings, RoomConfig::default()).await
}

/// [`start`] with the rooms' tunables set (tests use small queues to provoke lagging clients).
pub async fn start_with(settings: &Settings, room_config: RoomConfig) -> Result<RunningServer, StartError> {
    let model_name = match &settings.engine.llm_url {
        Some(url) => format!("remote: {url}"),
        None => {
            model::check_gguf(&settings.engine.model)?;
            model::display_name(&settings.engine.model)
        }
    };
    let activities = Arc::new(Catalog::load(&settings.prompts_dir)?);
    let store = Store::connect(&settings.database).await?;
    let metrics = Arc::new(Metrics::default());
    let rooms = Rooms::new(RoomDeps {
        store: store.clone(),
        metrics: metrics.clone(),
        activities: activities.clone(),
        filter: Arc::new(AllowAll),
        config: room_config,
    });
    let context = Arc::new(AppContext {
        store,
        activities,
        metrics,
        rooms,
        started: Instant::now(),
        public_url: settings.public_url.clone(),
        model_name,
    });
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|cause| StartError::Bind { addr: settings.listen, cause })?;
    let addr = listener.local_addr().map_err(|cause| StartError::Bind { addr: settings.listen, cause })?;
    let app = http::router(context.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
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
