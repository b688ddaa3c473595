//! Facilitators (teachers, researchers) and their signed-in browsers. Children never have an
//! account; facilitators do, with an argon2id password hash kept here (hashing lives in
//! `crate::auth`, the store only keeps what it is given).

use super::{Facilitator, Result, Store, StoreError};

const FACILITATOR_COLUMNS: &str = "id, name, password_hash, created_at";

/// A signed-in browser: who it is and the CSRF token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Login {
    pub facilitator_id: i64,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// Why a facilitator could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddFacilitatorError {
    #[error("a facilitator called {0:?} already exists")]
    NameTaken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    pub async fn add_facilitator(
        &self,
        name: &str,
        password_hash: &str,
        at: i64,
    ) -> Result<Facilitator, AddFacilitatorError> {
        let inserted = sqlx::query_as(&format!(
            "INSERT INTO facilitators (name, password_hash, created_at) VALUES ($1, $2, $3) \
             RETURNING {FACILITATOR_COLUMNS}"
        ))
        .bind(name)
        .bind(password_hash)
        .bind(at)
        .fetch_one(self.writer())
        .await;
        match inserted {
            Ok(f) => Ok(f),
            Err(e) if StoreError::is_unique_violation(&e) => {
                Err(AddFacilitatorError::NameTaken(name.to_string()))
            }
            Err(e) => Err(AddFacilitatorError::Store(e.into())),
        }
    }

    pub async fn facilitator_by_name(&self, name: &str) -> Result<Facilitator> {
        sqlx::query_as(&format!(
            "SELECT {FACILITATOR_COLUMNS} FROM facilitators WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("facilitator"))
    }

    /// Every facilitator account, by id (exports replace all their names in texts).
    pub async fn facilitators(&self) -> Result<Vec<Facilitator>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {FACILITATOR_COLUMNS} FROM facilitators ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn facilitator(&self, id: i64) -> Result<Facilitator> {
        sqlx::query_as(&format!(
            "SELECT {FACILITATOR_COLUMNS} FROM facilitators WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("facilitator"))
    }

    /// Records a sign-in; `token_hash` is the hash of the cookie's token.
    pub async fn add_login(
        &self,
        token_hash: &str,
        facilitator_id: i64,
        csrf_token: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<()> {
        // Expired sign-ins are dropped here rather than by a timer: sign-ins are rare.
        sqlx::query("DELETE FROM facilitator_logins WHERE expires_at <= $1")
            .bind(at)
            .execute(self.writer())
            .await?;
        sqlx::query(
            "INSERT INTO facilitator_logins (token_hash, facilitator_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(facilitator_id)
        .bind(csrf_token)
        .bind(at)
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The sign-in a cookie's token hash belongs to, if it has not expired by `now`.
    pub async fn login(&self, token_hash: &str, now: i64) -> Result<Login> {
        sqlx::query_as(
            "SELECT facilitator_id, csrf_token, expires_at FROM facilitator_logins \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("login"))
    }

    pub async fn remove_login(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM facilitator_logins WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
