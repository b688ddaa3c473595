//! One error type for exports and statistics. Data errors name the group and message so the
//! server can say exactly what is wrong with a session; format-library errors are kept as
//! text so their types do not leak into this crate's API.

use crate::codebook::CodebookError;
use crate::model::SpeakerKind;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown group {group_id}")]
    UnknownGroup { group_id: i64 },
    #[error("group {group_id}, message {seq}: the {} sender {sender:?} is not a participant of the session", kind.as_str())]
    UnknownSender {
        group_id: i64,
        seq: i64,
        kind: SpeakerKind,
        sender: Option<i64>,
    },
    #[error("group {group_id}: message {seq} comes after message {previous}; utterances must be ordered by group, then seq")]
    OutOfOrder {
        group_id: i64,
        seq: i64,
        previous: i64,
    },
    #[error("group {group_id} appears again after other groups; utterances must be ordered by group, then seq")]
    GroupsInterleaved { group_id: i64 },
    #[error("a coding by {coder:?} refers to code {code_id:?}, which is not in the codebook")]
    UnknownCode { code_id: String, coder: String },
    #[error("invalid codebook: {0}")]
    Codebook(#[from] CodebookError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("zip error: {0}")]
    Zip(String),
    #[error("CSV error: {0}")]
    Csv(String),
    #[error("JSON error: {0}")]
    Json(String),
}

impl From<zip::result::ZipError> for Error {
    fn from(e: zip::result::ZipError) -> Self {
        match e {
            zip::result::ZipError::Io(io) => Error::Io(io),
            other => Error::Zip(other.to_string()),
        }
    }
}

impl From<::csv::Error> for Error {
    fn from(e: ::csv::Error) -> Self {
        if e.is_io_error() {
            if let ::csv::ErrorKind::Io(_) = e.kind() {
                return Error::Io(std::io::Error::from(e));
            }
        }
        Error::Csv(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            return Error::Io(std::io::Error::from(e));
        }
        Error::Json(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
