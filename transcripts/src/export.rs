//! The entry points the server calls: options, the format switch and the summary.
//!
//! Every transcript writer has the same push-based shape, so the server can feed it from a
//! database cursor (sync or async) without collecting the session:
//!
//! ```no_run
//! # use peerlearn_transcripts::*;
//! # fn rows() -> Vec<Utterance> { vec![] }
//! # fn main() -> Result<(), Error> {
//! # let session: SessionExport = unimplemented!();
//! let opts = ExportOptions::default();
//! let extras = Extras::default();
//! let file = std::fs::File::create("out.qdpx")?;
//! let mut exporter = Exporter::new(ExportFormat::Qdpx, &session, &extras, &opts, file)?;
//! for u in rows() {
//!     exporter.push(&u)?; // ordered by group, then seq
//! }
//! let summary = exporter.finish()?;
//! # Ok(()) }
//! ```
//!
//! Writers report errors in the data (unknown group or sender, wrong order) as they meet
//! them, so a failed export may have written part of its output: write to a temporary file
//! and rename it on success.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::csv::CsvExport;
use crate::error::Result;
use crate::jsonl::JsonlExport;
use crate::model::{Codebook, Coding, SessionExport, Utterance};
use crate::pseudonym::PseudonymMode;
use crate::qdpx::QdpxExport;
use crate::text::TextExport;

/// How REFI-QDA character positions are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionUnit {
    /// Unicode scalar values (code points), as QualCoder and the REFI-QDA text model count.
    #[default]
    CodePoints,
    /// UTF-16 code units, for tools built on .NET or Java strings that count an emoji as 2.
    Utf16,
}

/// What to export and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportOptions {
    pub pseudonyms: PseudonymMode,
    /// Include messages a facilitator hid (marked `hidden`). Off by default: hidden messages
    /// are usually ones that should not have been written.
    pub include_hidden: bool,
    /// Export only these groups (ids); `None` exports all. Unknown ids are an error.
    pub groups: Option<Vec<i64>>,
    /// Start the CSV with a UTF-8 byte order mark so Excel reads non-English text correctly.
    pub csv_bom: bool,
    /// Prefix CSV text cells starting with `=`, `+`, `-`, `@`, tab or CR with `'` so
    /// spreadsheets do not run them as formulas (OWASP "CSV injection", see
    /// [`crate::spreadsheet`]). On by default: a transcript holds what children typed, and it is
    /// opened in Excel. Numbers are never changed; turn it off only for a file that goes
    /// straight into R or pandas and never into a spreadsheet.
    pub csv_formula_guard: bool,
    /// Show the agent's trigger and reason under its turns in the plain-text script.
    pub text_agent_reasons: bool,
    /// How QDPX selection positions are counted.
    pub positions: PositionUnit,
    /// Where the QDPX writer keeps its temporary spool files (default: the system temp dir).
    /// They hold pseudonymised XML only and are deleted on drop (and are unlinked from the
    /// start where the OS allows).
    pub spool_dir: Option<PathBuf>,
    /// Mixed into every derived REFI-QDA GUID. Give each installation its own salt so that two
    /// installations' "session 1" do not produce clashing GUIDs in one QDA project.
    ///
    /// GUIDs derived from an empty or known salt can be recomputed from the session's and
    /// participants' ids; peerlearn therefore draws a random salt for every export (GUIDs
    /// stay consistent within one file, and cannot be traced back to ids).
    pub guid_salt: String,
    /// Name the coders (REFI-QDA `User`s) `Coder 1`, `Coder 2`, ... (in the order of their
    /// names) instead of by their names. On by default.
    pub pseudonymise_coders: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            pseudonyms: PseudonymMode::Numbered,
            include_hidden: false,
            groups: None,
            csv_bom: false,
            csv_formula_guard: true,
            text_agent_reasons: true,
            positions: PositionUnit::CodePoints,
            spool_dir: None,
            guid_salt: String::new(),
            pseudonymise_coders: true,
        }
    }
}

/// The optional research data that only the QDPX format carries.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub codebook: Codebook,
    pub codings: Vec<Coding>,
}

/// What an export wrote; the server puts this in its audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    /// Utterances written.
    pub utterances: u64,
    /// Hidden utterances left out.
    pub hidden_skipped: u64,
    /// Utterances of groups outside the group filter.
    pub filtered_out: u64,
    /// Groups with at least one written utterance.
    pub groups: u64,
    /// Codings written (QDPX).
    pub codings: u64,
    /// Codings whose utterance was not exported (hidden, filtered, or missing).
    pub codings_dropped: u64,
    /// Bytes written to the output.
    pub bytes: u64,
}

/// The transcript formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Jsonl,
    /// Readable plain-text script, all groups one after another.
    Txt,
    Qdpx,
}

impl ExportFormat {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Txt => "txt",
            ExportFormat::Qdpx => "qdpx",
        }
    }

    /// The media type for a download.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/jsonl; charset=utf-8",
            ExportFormat::Txt => "text/plain; charset=utf-8",
            ExportFormat::Qdpx => "application/zip",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            "txt" => Ok(ExportFormat::Txt),
            "qdpx" => Ok(ExportFormat::Qdpx),
            other => Err(format!(
                "unknown format {other:?}; expected csv, jsonl, txt or qdpx"
            )),
        }
    }
}

/// Any transcript writer behind one type, for a `--format` switch.
pub enum Exporter<'s, W: Write> {
    Csv(Box<CsvExport<'s, W>>),
    Jsonl(Box<JsonlExport<'s, W>>),
    Txt(Box<TextExport<'s, W>>),
    Qdpx(Box<QdpxExport<'s, W>>),
}

impl<'s, W: Write> Exporter<'s, W> {
    /// Starts an export of `session` to `out`. `extras` is used by QDPX only.
    pub fn new(
        format: ExportFormat,
        session: &'s SessionExport,
        extras: &'s Extras,
        opts: &ExportOptions,
        out: W,
    ) -> Result<Self> {
        Ok(match format {
            ExportFormat::Csv => Exporter::Csv(Box::new(CsvExport::new(session, opts, out)?)),
            ExportFormat::Jsonl => Exporter::Jsonl(Box::new(JsonlExport::new(session, opts, out)?)),
            ExportFormat::Txt => Exporter::Txt(Box::new(TextExport::new(session, opts, out)?)),
            ExportFormat::Qdpx => Exporter::Qdpx(Box::new(QdpxExport::new(
                session,
                &extras.codebook,
                &extras.codings,
                opts,
                out,
            )?)),
        })
    }

    /// Adds the next utterance (ordered by group, then seq).
    pub fn push(&mut self, u: &Utterance) -> Result<()> {
        match self {
            Exporter::Csv(e) => e.push(u),
            Exporter::Jsonl(e) => e.push(u),
            Exporter::Txt(e) => e.push(u),
            Exporter::Qdpx(e) => e.push(u),
        }
    }

    /// Completes the output and flushes it.
    pub fn finish(self) -> Result<ExportSummary> {
        match self {
            Exporter::Csv(e) => e.finish(),
            Exporter::Jsonl(e) => e.finish(),
            Exporter::Txt(e) => e.finish(),
            Exporter::Qdpx(e) => e.finish(),
        }
    }
}

/// Exports a whole stream of utterances in one call.
pub fn export<W, I, U>(
    format: ExportFormat,
    session: &SessionExport,
    extras: &Extras,
    opts: &ExportOptions,
    utterances: I,
    out: W,
) -> Result<ExportSummary>
where
    W: Write,
    I: IntoIterator<Item = U>,
    U: std::borrow::Borrow<Utterance>,
{
    let mut exporter = Exporter::new(format, session, extras, opts, out)?;
    for u in utterances {
        exporter.push(u.borrow())?;
    }
    exporter.finish()
}

/// Counts bytes on their way to the real output, for [`ExportSummary::bytes`].
#[derive(Debug)]
pub(crate) struct Counting<W> {
    pub inner: W,
    pub bytes: u64,
}

impl<W> Counting<W> {
    pub fn new(inner: W) -> Self {
        Counting { inner, bytes: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.bytes += buf.len() as u64;
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
