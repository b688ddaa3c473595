//! The durable store: one API over SQLite (embedded default) and PostgreSQL (deployments).
//!
//! Both backends go through sqlx's `Any` driver, so every query and every piece of business
//! logic (sequence numbers, idempotent retries, join codes) is written once. What differs per
//! backend is kept to the migrations (types, identity columns) and to connection handling
//! (SQLite pragmas, pool sizes). Queries use `$N` placeholders, which both databases accept.
//!
//! Durability contract: [`Store::append_message`] returns only after its transaction has
//! committed, so whoever acknowledges a message after it can promise it is stored. A
//! facilitator's action is audited the same way: the write behind it takes its [`NewAudit`]
//! entry and commits both in one transaction, so an action is audited or did not happen.

mod coding;
mod directives;
mod facilitators;
mod limits;
mod log;
mod messages;
pub mod model;
mod participants;
mod retention;
mod sessions;

use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use crate::config::{DatabaseKind, DatabaseSettings};

pub use coding::{CodeFields, CodeRecord, CodingError, CodingRecord, ImportSummary, NewCoding};
pub use directives::DirectiveRecord;
pub use facilitators::{AddFacilitatorError, Login};
pub use log::HELP_REQUEST;
pub use messages::{Appended, ExportedMessage};
pub use model::*;
pub use participants::{nickname_key, JoinError};
pub use retention::{
    check_consent, check_retention_days, ConsentRecord, Deleter, ExpiredSession, NewConsent,
    SessionRows, DEFAULT_RETENTION_DAYS, MAX_CONSENT_NOTE_CHARS, MAX_RETENTION_DAYS,
};
pub use sessions::{NewGroup, NewSession};

/// Errors of the store. `Unavailable` means the database could not be reached at all.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database at {url} is unreachable after {waited:?}: {cause}")]
    Unavailable {
        url: String,
        waited: Duration,
        cause: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database: {0}")]
    Setup(String),
}

impl StoreError {
    /// True when the database refused a write because a unique constraint was hit.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A handle to the database; cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// Where writes go. For SQLite a pool of one connection: SQLite has one writer at a time
    /// anyway, and queueing writers here (fairly, in order) instead of letting them collide on
    /// SQLite's lock keeps tail latency low (its busy handler backs off by sleeping, up to
    /// 100 ms a turn). For PostgreSQL the same pool as reads.
    writer: AnyPool,
    kind: DatabaseKind,
}

impl Store {
    /// Connects, retrying with backoff while the database is unreachable (a PostgreSQL server
    /// that is still starting, a network blip) for at most `settings.connect_timeout`, then
    /// applies the embedded migrations.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let url = match settings.kind {
            DatabaseKind::Sqlite => prepare_sqlite_url(&settings.url)?,
            DatabaseKind::Postgres => settings.url.clone(),
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Setup(format!("invalid database URL: {e}")))?;
        let pool_options = match settings.kind {
            // SQLite has one writer at a time; a few connections serve the readers.
            DatabaseKind::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL makes a commit survive
                            // a power cut, which an acknowledged child's message must.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
            }
            // A server that may be away (restarted, the network): a write that cannot get a
            // connection fails within seconds, so the child's page says "couldn't save, trying
            // again" and its outbox retries, instead of the room waiting half a minute.
            DatabaseKind::Postgres => AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5)),
        };
        // SQLite is a local file: a write waits its turn behind the single writer.
        let pool_options = match settings.kind {
            DatabaseKind::Sqlite => pool_options.acquire_timeout(Duration::from_secs(30)),
            DatabaseKind::Postgres => pool_options,
        };

        // Probe with single connections first: a pool would retry on its own until its
        // acquire timeout, hiding what went wrong and ignoring our bound.
        let started = Instant::now();
        let mut backoff = Duration::from_millis(200);
        loop {
            match AnyConnection::connect_with(&options).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    break;
                }
                Err(err)
                    if is_connect_error(&err) && started.elapsed() < settings.connect_timeout =>
                {
                    tracing::warn!(error = %err, retry_in = ?backoff, "database unreachable, retrying");
                    tokio::time::sleep(
                        backoff.min(settings.connect_timeout.saturating_sub(started.elapsed())),
                    )
                    .await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(err) if is_connect_error(&err) => {
                    return Err(StoreError::Unavailable {
                        url: redact_url(&settings.url),
                        waited: started.elapsed(),
                        cause: err.to_string(),
                    })
                }
                Err(err) => return Err(err.into()),
            }
        }
        let writer = match settings.kind {
            DatabaseKind::Sqlite => {
                pool_options
                    .clone()
                    .max_connections(1)
                    .connect_with(options.clone())
                    .await?
            }
            DatabaseKind::Postgres => pool_options.clone().connect_with(options.clone()).await?,
        };
        let pool = match settings.kind {
            DatabaseKind::Sqlite => pool_options.connect_with(options).await?,
            DatabaseKind::Postgres => writer.clone(),
        };
        match settings.kind {
            DatabaseKind::Sqlite => SQLITE_MIGRATIONS.run(&writer).await?,
            DatabaseKind::Postgres => POSTGRES_MIGRATIONS.run(&writer).await?,
        }
        Ok(Store {
            pool,
            writer,
            kind: settings.kind,
        })
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// Closes the pool, waiting for running queries; called on shutdown.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// True once [`Store::close`] was called (background tasks stop then).
    pub fn is_closed(&self) -> bool {
        self.writer.is_closed()
    }

    /// For reads.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For writes (see [`Store::writer`'s field](Store)).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }
}

/// Errors that mean "the server is not there (yet)" and are worth retrying.
fn is_connect_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        // PostgreSQL while starting up: "the database system is starting up" (57P03).
        sqlx::Error::Database(db) => db.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

/// Makes sure the SQLite file can be created: its folder exists and the URL asks for
/// read-write-create.
fn prepare_sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Setup(format!(
                        "cannot create the folder {}: {e}",
                        parent.display()
                    ))
                })?;
            }
        }
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Hides a password in a database URL before it is printed.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch: the store's one time unit.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn sqlite_urls_ask_for_creation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"), "{url}");
        assert!(path.parent().unwrap().is_dir());
        assert!(prepare_sqlite_url("sqlite::memory:")
            .unwrap()
            .contains(":memory:"));
    }
}
