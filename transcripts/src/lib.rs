//! Transcript export and analysis for peerlearn: pure code, no database, network or async.
//!
//! The server loads a session's header ([`SessionExport`]: groups and participants) and
//! streams its utterances, ordered by group then `seq`, into one of the writers:
//!
//! * [`csv`]: one row per utterance (RFC 4180, optional BOM for Excel, formula cells guarded:
//!   [`spreadsheet`]);
//! * [`jsonl`]: the same fields as JSON Lines;
//! * [`text`]: a readable script per group;
//! * [`qdpx`]: a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA, QualCoder;
//!
//! all through [`Exporter`] / [`export()`], pseudonymised as described in [`pseudonym`].
//! Memory does not grow with the transcript. [`codebook`] reads and writes codebooks (`.qdc`,
//! CSV), [`agreement`] computes inter-rater reliability (Cohen's kappa, Krippendorff's alpha)
//! and [`participation`] the participation analytics.

pub mod agreement;
pub mod codebook;
pub mod csv;
mod error;
pub mod export;
pub mod jsonl;
pub mod model;
pub mod participation;
pub mod pseudonym;
pub mod qdpx;
mod rows;
pub mod spreadsheet;
pub mod text;
mod time;

pub use codebook::{
    read_codebook, read_codebook_csv, read_qdc, write_codebook_csv, write_qdc, CodebookError,
};
pub use error::{Error, Result};
pub use export::{
    export, ExportFormat, ExportOptions, ExportSummary, Exporter, Extras, PositionUnit,
};
pub use model::*;
pub use pseudonym::PseudonymMode;
pub use time::iso8601;
