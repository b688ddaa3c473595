//! Helpers shared by the integration tests: fresh databases on both backends.
#![allow(dead_code)]

use std::time::Duration;

use peerlearn::config::{DatabaseKind, DatabaseSettings};
use peerlearn::store::Store;
use sqlx::Connection;

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
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb {
        settings: DatabaseSettings {
            url,
            kind: DatabaseKind::Sqlite,
            connect_timeout: Duration::from_secs(5),
        },
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

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}
pub mod facilitator;
pub mod process;
pub mod research;
pub mod server;
pub mod socket;
