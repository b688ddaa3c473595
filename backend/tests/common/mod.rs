//! The test kit every integration test shares, one copy of each helper:
//!
//! - [`server`]: the real server in this process (`TestServer::builder()`: chat only, with the
//!   model, behind a proxy that can drop the network, with other limits or another database);
//! - [`session`]: sessions made straight in the store (`running_session`);
//! - [`socket`]: a child over real HTTP and a real socket; [`facilitator`]: a teacher over the
//!   dashboard's HTTP and live socket, and a whole classroom;
//! - [`http`]: the client and the cookies; [`process`]: the real binary as a child process;
//! - [`engine`]: the real model; [`browser`]: chromedriver and headless Chromium; [`proxy`]:
//!   the flaky network; [`research`]: a stored session for the command-line exports;
//! - here: fresh databases on both backends.
#![allow(dead_code)]

pub mod browser;
pub mod engine;
pub mod facilitator;
pub mod http;
pub mod process;
pub mod proxy;
pub mod research;
pub mod server;
pub mod session;
pub mod socket;

use std::time::Duration;

use peerlearn::config::{DatabaseKind, DatabaseSettings};
use peerlearn::store::{NewAudit, Store};
use sqlx::Connection;

/// How long a test waits for anything it expects (a frame, an element, a page).
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh, empty database: its settings, plus the temporary folder that keeps a SQLite file
/// alive for the test's duration.
pub struct TestDb {
    pub settings: DatabaseSettings,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn store(&self) -> Store {
        Store::connect(&self.settings)
            .await
            .expect("connect to the test database")
    }

    /// The database's URL (what `--database-url` takes).
    pub fn url(&self) -> &str {
        &self.settings.url
    }

    /// The folder the SQLite file lives in (a command-line test runs the binary there).
    pub fn dir(&self) -> &std::path::Path {
        self._dir
            .as_ref()
            .expect("a SQLite database has a folder")
            .path()
    }
}

/// The settings of a SQLite database at `path` (which need not exist yet).
pub fn sqlite_at(path: &std::path::Path) -> DatabaseSettings {
    DatabaseSettings {
        url: format!("sqlite://{}", path.display()),
        kind: DatabaseKind::Sqlite,
        connect_timeout: Duration::from_secs(5),
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    TestDb {
        settings: sqlite_at(&dir.path().join("test.db")),
        _dir: Some(dir),
    }
}

/// A new database on the PostgreSQL server named by `TEST_DATABASE_URL` (scripts/test.sh
/// starts a throwaway cluster and sets it). Missing, it fails: the suite never skips PostgreSQL.
pub async fn postgres() -> TestDb {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts a throwaway PostgreSQL",
    );
    let name = format!("peerlearn_test_{}", uuid_like());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("TEST_DATABASE_URL must end with /DATABASE"),
    };
    TestDb {
        settings: DatabaseSettings {
            url,
            kind: DatabaseKind::Postgres,
            connect_timeout: Duration::from_secs(10),
        },
        _dir: None,
    }
}

/// Facilitator `by`'s audit entry for `action` on group `group` at `at`, as the dashboard's
/// actions make it (the room's commands carry one).
pub fn audit_entry(by: i64, action: &str, group: i64, at: i64) -> NewAudit {
    NewAudit {
        facilitator_id: Some(by),
        action: action.into(),
        target: format!("group {group}"),
        detail: format!("by the test at {at}"),
        created_at: at,
    }
}

/// Makes the database refuse every new audit log entry from now on (a trigger that raises),
/// for the tests that an action whose entry cannot be written does not happen at all.
pub async fn refuse_audit_entries(database: &DatabaseSettings) {
    sqlx::any::install_default_drivers();
    let statements: &[&str] = match database.kind {
        DatabaseKind::Sqlite => &["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'audit entries refused by the test'); END"],
        DatabaseKind::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit entries refused by the test'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
    };
    let mut conn = sqlx::AnyConnection::connect(&database.url)
        .await
        .expect("connect to the test database");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("install the trigger");
    }
    conn.close().await.ok();
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}
