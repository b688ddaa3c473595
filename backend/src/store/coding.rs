//! A session's codebook and the codings coders apply to its utterances (thematic analysis).
//!
//! Codes are per session and keep a REFI-QDA GUID, so a codebook imported from a `.qdc` goes
//! back out in the `.qdpx` as the same codes. A coding is one coder applying one code to one
//! utterance (`group_id`, `seq`), at most once.

use std::collections::HashMap;

use peerlearn_transcripts as tx;
use tx::qdpx::guid::{guid_for_id, GuidGen};

use super::{Store, StoreError};

/// Longest code name and coder name accepted; longer ones are almost certainly a wrong column.
const MAX_NAME_CHARS: usize = 200;

/// Why a codebook or coding change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CodingError {
    #[error("{0}")]
    Invalid(String),
    #[error("a code named {0:?} already exists in this session")]
    DuplicateName(String),
    /// A codebook file that cannot be read; carries the line and the reason.
    #[error("{0}")]
    Import(#[from] tx::CodebookError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CodingError {
    fn from(e: sqlx::Error) -> Self {
        CodingError::Store(e.into())
    }
}

impl CodingError {
    /// Errors in what was asked for (a bad name, an unknown code), as opposed to failures.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CodingError::Invalid(_)
                | CodingError::DuplicateName(_)
                | CodingError::Import(_)
                | CodingError::Store(StoreError::NotFound(_))
        )
    }
}

type Result<T, E = CodingError> = std::result::Result<T, E>;

/// One code of a session's codebook.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeRecord {
    pub id: i64,
    pub session_id: i64,
    /// The REFI-QDA GUID (lower-case 8-4-4-4-12).
    pub guid: String,
    pub name: String,
    pub description: Option<String>,
    /// `#RRGGBB`.
    pub color: Option<String>,
    pub parent_id: Option<i64>,
    /// False for category codes that only group others (REFI-QDA `isCodable`).
    pub codable: bool,
    pub created_at: i64,
}

/// Booleans are stored as 0/1 on both backends: the `Any` driver decodes integers alike
/// everywhere, booleans not.
#[derive(sqlx::FromRow)]
struct CodeRow {
    id: i64,
    session_id: i64,
    guid: String,
    name: String,
    description: Option<String>,
    color: Option<String>,
    parent_id: Option<i64>,
    codable: i64,
    created_at: i64,
}

impl From<CodeRow> for CodeRecord {
    fn from(r: CodeRow) -> Self {
        CodeRecord {
            id: r.id,
            session_id: r.session_id,
            guid: r.guid,
            name: r.name,
            description: r.description,
            color: r.color,
            parent_id: r.parent_id,
            codable: r.codable != 0,
            created_at: r.created_at,
        }
    }
}

/// A code to create, or the new state of a code to update.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(default)]
pub struct CodeFields {
    pub name: String,
    pub description: Option<String>,
    /// `#RRGGBB`, `#RGB` (a missing `#` is tolerated); stored as `#RRGGBB`.
    pub color: Option<String>,
    pub parent_id: Option<i64>,
    #[serde(default = "yes")]
    pub codable: bool,
}

fn yes() -> bool {
    true
}

impl CodeFields {
    pub fn named(name: impl Into<String>) -> Self {
        CodeFields {
            name: name.into(),
            codable: true,
            ..Default::default()
        }
    }
}

/// One coder applying one code to one utterance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct CodingRecord {
    pub id: i64,
    pub code_id: i64,
    pub group_id: i64,
    pub seq: i64,
    pub coder: String,
    pub facilitator_id: Option<i64>,
    pub created_at: i64,
}

/// A coding to add.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct NewCoding {
    pub code_id: i64,
    pub group_id: i64,
    pub seq: i64,
    /// The coder's name as it should appear in agreement reports and QDA tools.
    pub coder: String,
    #[serde(default)]
    pub facilitator_id: Option<i64>,
    pub created_at: i64,
}

/// What [`Store::import_codebook`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImportSummary {
    pub created: u64,
    /// Codes that were already in the session (same GUID, or else the same name) and took the
    /// file's description, colour and parent.
    pub updated: u64,
}

const CODE_COLUMNS: &str =
    "id, session_id, guid, name, description, color, parent_id, codable, created_at";
const CODING_COLUMNS: &str = "id, code_id, group_id, seq, coder, facilitator_id, created_at";

/// The form two code names are compared in.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn check_name(what: &str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CodingError::Invalid(format!("the {what} is empty")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(CodingError::Invalid(format!(
            "the {what} is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

/// The fields as they are stored: trimmed name, normalised colour, empty description dropped.
fn clean(fields: &CodeFields) -> Result<CodeFields> {
    let color = match fields.color.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(
            tx::codebook::normalize_color(c)
                .ok_or_else(|| CodingError::Invalid(format!("the colour {c:?} is not #RRGGBB")))?,
        ),
    };
    Ok(CodeFields {
        name: check_name("code name", &fields.name)?,
        description: fields
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        color,
        parent_id: fields.parent_id,
        codable: fields.codable,
    })
}

/// A fresh GUID for a code made here rather than imported.
fn new_guid() -> String {
    let noise: [u8; 16] = rand::random();
    GuidGen::new("", None)
        .derive("store-code", &[&noise[..]])
        .as_str()
        .to_owned()
}

impl Store {
    async fn require_session(&self, session_id: i64) -> Result<()> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(self.pool())
            .await?;
        found
            .map(|_| ())
            .ok_or(CodingError::Store(StoreError::NotFound("session")))
    }

    /// The session's codes in the order they were made (parents are not necessarily first).
    pub async fn codebook(&self, session_id: i64) -> Result<Vec<CodeRecord>, StoreError> {
        let rows: Vec<CodeRow> = sqlx::query_as(&format!(
            "SELECT {CODE_COLUMNS} FROM codes WHERE session_id = $1 ORDER BY id"
        ))
        .bind(session_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(CodeRecord::from).collect())
    }

    pub async fn code(&self, id: i64) -> Result<CodeRecord, StoreError> {
        let row: Option<CodeRow> =
            sqlx::query_as(&format!("SELECT {CODE_COLUMNS} FROM codes WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(CodeRecord::from)
            .ok_or(StoreError::NotFound("code"))
    }

    /// Checks that `parent` is a code of the same session and that making it the parent of
    /// `code` (None for a new code) closes no cycle.
    async fn check_parent(&self, session_id: i64, code: Option<i64>, parent: i64) -> Result<()> {
        let parents: HashMap<i64, Option<i64>> = self
            .codebook(session_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.parent_id))
            .collect();
        if !parents.contains_key(&parent) {
            return Err(CodingError::Invalid(format!(
                "the parent code {parent} is not a code of session {session_id}"
            )));
        }
        let mut cur = Some(parent);
        for _ in 0..=parents.len() {
            match cur {
                Some(c) if Some(c) == code => {
                    return Err(CodingError::Invalid(
                        "a code cannot be its own parent or ancestor".into(),
                    ))
                }
                Some(c) => cur = parents.get(&c).copied().flatten(),
                None => break,
            }
        }
        Ok(())
    }

    async fn check_name_free(
        &self,
        session_id: i64,
        name: &str,
        except: Option<i64>,
    ) -> Result<()> {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM codes WHERE session_id = $1 AND name_key = $2")
                .bind(session_id)
                .bind(name_key(name))
                .fetch_optional(self.pool())
                .await?;
        match taken {
            Some(id) if Some(id) != except => Err(CodingError::DuplicateName(name.to_owned())),
            _ => Ok(()),
        }
    }

    /// Adds a code to a session's codebook. Names are unique per session, ignoring case.
    pub async fn create_code(
        &self,
        session_id: i64,
        fields: &CodeFields,
        at: i64,
    ) -> Result<CodeRecord> {
        let f = clean(fields)?;
        self.require_session(session_id).await?;
        if let Some(p) = f.parent_id {
            self.check_parent(session_id, None, p).await?;
        }
        self.check_name_free(session_id, &f.name, None).await?;
        let row: CodeRow = sqlx::query_as(&format!(
            "INSERT INTO codes (session_id, guid, name, name_key, description, color, parent_id, codable, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {CODE_COLUMNS}"
        ))
        .bind(session_id)
        .bind(new_guid())
        .bind(&f.name)
        .bind(name_key(&f.name))
        .bind(&f.description)
        .bind(&f.color)
        .bind(f.parent_id)
        .bind(f.codable as i64)
        .bind(at)
        .fetch_one(self.writer())
        .await
        .map_err(|e| unique_as_duplicate(e, &f.name))?;
        Ok(row.into())
    }

    /// Replaces a code's name, description, colour, parent and codability (its GUID stays).
    pub async fn update_code(&self, id: i64, fields: &CodeFields) -> Result<CodeRecord> {
        let f = clean(fields)?;
        let code = self.code(id).await?;
        if let Some(p) = f.parent_id {
            self.check_parent(code.session_id, Some(id), p).await?;
        }
        self.check_name_free(code.session_id, &f.name, Some(id))
            .await?;
        let row: Option<CodeRow> = sqlx::query_as(&format!(
            "UPDATE codes SET name = $1, name_key = $2, description = $3, color = $4, parent_id = $5, \
               codable = $6 WHERE id = $7 RETURNING {CODE_COLUMNS}"
        ))
        .bind(&f.name)
        .bind(name_key(&f.name))
        .bind(&f.description)
        .bind(&f.color)
        .bind(f.parent_id)
        .bind(f.codable as i64)
        .bind(id)
        .fetch_optional(self.writer())
        .await
        .map_err(|e| unique_as_duplicate(e, &f.name))?;
        row.map(CodeRecord::from)
            .ok_or(CodingError::Store(StoreError::NotFound("code")))
    }

    /// Deletes a code and its codings; its child codes move up to its parent, so deleting a
    /// category never silently deletes the codes (and the coding work) under it.
    pub async fn delete_code(&self, id: i64) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let parent: Option<Option<i64>> =
            sqlx::query_scalar("SELECT parent_id FROM codes WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(parent) = parent else {
            return Err(CodingError::Store(StoreError::NotFound("code")));
        };
        sqlx::query("UPDATE codes SET parent_id = $1 WHERE parent_id = $2")
            .bind(parent)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM codings WHERE code_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM codes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a code to an utterance. Applying the same code to the same utterance again by
    /// the same coder is not an error (a double click): the first coding is returned.
    pub async fn add_coding(&self, new: &NewCoding) -> Result<CodingRecord> {
        let coder = check_name("coder name", &new.coder)?;
        let code = self.code(new.code_id).await?;
        if !code.codable {
            return Err(CodingError::Invalid(format!(
                "the code {:?} is a category and cannot be applied",
                code.name
            )));
        }
        let message: Option<i64> = sqlx::query_scalar(
            "SELECT m.seq FROM messages m JOIN groups g ON g.id = m.group_id \
             WHERE m.group_id = $1 AND m.seq = $2 AND g.session_id = $3",
        )
        .bind(new.group_id)
        .bind(new.seq)
        .bind(code.session_id)
        .fetch_optional(self.pool())
        .await?;
        if message.is_none() {
            return Err(CodingError::Invalid(format!(
                "group {} has no message {} in session {}",
                new.group_id, new.seq, code.session_id
            )));
        }
        let inserted: Option<CodingRecord> = sqlx::query_as(&format!(
            "INSERT INTO codings (code_id, group_id, seq, coder, facilitator_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (coder, code_id, group_id, seq) DO NOTHING RETURNING {CODING_COLUMNS}"
        ))
        .bind(new.code_id)
        .bind(new.group_id)
        .bind(new.seq)
        .bind(&coder)
        .bind(new.facilitator_id)
        .bind(new.created_at)
        .fetch_optional(self.writer())
        .await?;
        if let Some(c) = inserted {
            return Ok(c);
        }
        Ok(sqlx::query_as(&format!(
            "SELECT {CODING_COLUMNS} FROM codings \
             WHERE coder = $1 AND code_id = $2 AND group_id = $3 AND seq = $4"
        ))
        .bind(&coder)
        .bind(new.code_id)
        .bind(new.group_id)
        .bind(new.seq)
        .fetch_one(self.pool())
        .await?)
    }

    /// Removes one coding; false when there was none.
    pub async fn remove_coding(
        &self,
        coder: &str,
        code_id: i64,
        group_id: i64,
        seq: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM codings WHERE coder = $1 AND code_id = $2 AND group_id = $3 AND seq = $4",
        )
        .bind(coder.trim())
        .bind(code_id)
        .bind(group_id)
        .bind(seq)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every coding of a session, ordered by group, utterance, coder and code.
    pub async fn codings(&self, session_id: i64) -> Result<Vec<CodingRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT k.id, k.code_id, k.group_id, k.seq, k.coder, k.facilitator_id, k.created_at \
             FROM codings k JOIN codes c ON c.id = k.code_id WHERE c.session_id = $1 \
             ORDER BY k.group_id, k.seq, k.coder, k.code_id",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Reads a codebook file (`.qdc` XML or CSV) and merges it into the session's codebook in
    /// one transaction. A malformed file is refused with its line and reason, before anything
    /// is written; a conflict found while writing rolls everything back.
    pub async fn import_codebook_file(
        &self,
        session_id: i64,
        bytes: &[u8],
        at: i64,
    ) -> Result<ImportSummary> {
        let codebook = tx::read_codebook(bytes)?;
        self.import_codebook(session_id, &codebook, at).await
    }

    /// Merges a codebook into the session's: a code matches an existing one by GUID, else by
    /// name (ignoring case), and takes the file's name, description, colour, parent and
    /// codability; other codes are created. Codes missing from the file are kept, with their
    /// codings. All or nothing.
    pub async fn import_codebook(
        &self,
        session_id: i64,
        codebook: &tx::Codebook,
        at: i64,
    ) -> Result<ImportSummary> {
        codebook.validate()?;
        self.require_session(session_id).await?;
        let gen = GuidGen::new("", None);
        let mut summary = ImportSummary::default();
        let mut tx = self.writer().begin().await?;
        let existing: Vec<CodeRow> = sqlx::query_as(&format!(
            "SELECT {CODE_COLUMNS} FROM codes WHERE session_id = $1 ORDER BY id"
        ))
        .bind(session_id)
        .fetch_all(&mut *tx)
        .await?;
        // The file's code id -> the store's code id.
        let mut ids: HashMap<&str, i64> = HashMap::new();
        let mut claimed: Vec<i64> = Vec::new();
        for code in &codebook.codes {
            let guid = guid_for_id(&gen, "code", &code.id).to_ascii_lowercase();
            let name = check_name("code name", &code.name)?;
            let color = match &code.color {
                Some(c) => Some(tx::codebook::normalize_color(c).ok_or_else(|| {
                    CodingError::Invalid(format!("code {name:?}: colour {c:?} is not #RRGGBB"))
                })?),
                None => None,
            };
            let description = code
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty());
            let matched = existing
                .iter()
                .find(|e| e.guid == guid)
                .or_else(|| {
                    existing
                        .iter()
                        .find(|e| e.name.to_lowercase() == name_key(&name))
                })
                .map(|e| e.id);
            // Two codes of the file matching the same stored code would merge silently.
            if let Some(id) = matched.filter(|id| claimed.contains(id)) {
                return Err(CodingError::Invalid(format!(
                    "code {name:?} matches stored code {id}, which another code of the file already matched"
                )));
            }
            let id = match matched {
                Some(id) => {
                    claimed.push(id);
                    // A name taken by another stored code is checked here rather than left
                    // to the unique index: in PostgreSQL a violation aborts the transaction.
                    let clash: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM codes WHERE session_id = $1 AND name_key = $2 AND id <> $3",
                    )
                    .bind(session_id)
                    .bind(name_key(&name))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if clash.is_some() {
                        return Err(CodingError::DuplicateName(name));
                    }
                    sqlx::query(
                        "UPDATE codes SET name = $1, name_key = $2, description = $3, color = $4, \
                           codable = $5, parent_id = NULL WHERE id = $6",
                    )
                    .bind(&name)
                    .bind(name_key(&name))
                    .bind(description)
                    .bind(&color)
                    .bind(code.codable as i64)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    summary.updated += 1;
                    id
                }
                None => {
                    let clash: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM codes WHERE session_id = $1 AND (name_key = $2 OR guid = $3)",
                    )
                    .bind(session_id)
                    .bind(name_key(&name))
                    .bind(&guid)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if clash.is_some() {
                        return Err(CodingError::DuplicateName(name));
                    }
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO codes (session_id, guid, name, name_key, description, color, codable, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    )
                    .bind(session_id)
                    .bind(&guid)
                    .bind(&name)
                    .bind(name_key(&name))
                    .bind(description)
                    .bind(&color)
                    .bind(code.codable as i64)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    summary.created += 1;
                    id
                }
            };
            ids.insert(code.id.as_str(), id);
        }
        // Parents last: a file may list a child before its parent.
        for code in &codebook.codes {
            if let Some(parent) = &code.parent {
                sqlx::query("UPDATE codes SET parent_id = $1 WHERE id = $2")
                    .bind(ids[parent.as_str()])
                    .bind(ids[code.id.as_str()])
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(summary)
    }
}

fn unique_as_duplicate(e: sqlx::Error, name: &str) -> CodingError {
    if StoreError::is_unique_violation(&e) {
        CodingError::DuplicateName(name.to_owned())
    } else {
        e.into()
    }
}
