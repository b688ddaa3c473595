//! CSV: one row per utterance, RFC 4180 (comma, CRLF, fields quoted only when needed, quotes
//! doubled), optionally with a UTF-8 byte order mark for Excel. Text cells that a spreadsheet
//! would run as a formula get a `'` in front unless the caller turns the guard off
//! ([`crate::spreadsheet`]).

use std::io::Write;

use serde::Serialize;

use crate::error::Result;
use crate::export::{Counting, ExportOptions, ExportSummary};
use crate::model::{SessionExport, Utterance};
use crate::rows::{Pipeline, Row};
use crate::spreadsheet::guard_cell;
use crate::time::push_iso8601;

/// The columns of the CSV and the keys of the JSON Lines records, in order.
pub const COLUMNS: [&str; 15] = [
    "session_id",
    "group_id",
    "group_name",
    "condition",
    "phase",
    "seq",
    "timestamp",
    "ms_since_start",
    "speaker",
    "speaker_kind",
    "text",
    "reply_to",
    "agent_trigger",
    "agent_reason",
    "moderation",
];

/// One exported utterance as the flat record shared by CSV and JSON Lines (field names are
/// [`COLUMNS`]).
#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    pub session_id: i64,
    pub group_id: i64,
    pub group_name: &'a str,
    pub condition: &'static str,
    pub phase: Option<&'a str>,
    pub seq: i64,
    pub timestamp: &'a str,
    pub ms_since_start: i64,
    pub speaker: &'a str,
    pub speaker_kind: &'static str,
    pub text: &'a str,
    pub reply_to: Option<i64>,
    pub agent_trigger: Option<&'a str>,
    pub agent_reason: Option<&'a str>,
    pub moderation: &'static str,
}

impl<'a> Record<'a> {
    pub fn new(session_id: i64, row: &'a Row<'a>, timestamp: &'a str, text: &'a str) -> Self {
        Record {
            session_id,
            group_id: row.group.id,
            group_name: &row.group.name,
            condition: row.group.condition.as_str(),
            phase: row.phase,
            seq: row.seq,
            timestamp,
            ms_since_start: row.elapsed_ms,
            speaker: &row.speaker.label,
            speaker_kind: row.speaker.kind.as_str(),
            text,
            reply_to: row.reply_to,
            agent_trigger: row.agent_trigger.as_deref(),
            agent_reason: row.agent_reason.as_deref(),
            moderation: row.moderation.as_str(),
        }
    }
}

/// Streaming CSV writer; see [`mod@crate::export`] for the push/finish protocol.
pub struct CsvExport<'s, W: Write> {
    pipe: Pipeline<'s>,
    out: ::csv::Writer<Counting<W>>,
    guard: bool,
    timestamp: String,
}

impl<'s, W: Write> CsvExport<'s, W> {
    pub fn new(session: &'s SessionExport, opts: &ExportOptions, out: W) -> Result<Self> {
        let pipe = Pipeline::new(session, opts)?;
        let mut out = Counting::new(out);
        if opts.csv_bom {
            out.write_all("\u{FEFF}".as_bytes())?;
        }
        let mut out = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .quote_style(::csv::QuoteStyle::Necessary)
            .has_headers(false)
            .buffer_capacity(64 * 1024)
            .from_writer(out);
        out.write_record(COLUMNS)?;
        Ok(CsvExport {
            pipe,
            out,
            guard: opts.csv_formula_guard,
            timestamp: String::with_capacity(24),
        })
    }

    pub fn push(&mut self, u: &Utterance) -> Result<()> {
        let Some(admitted) = self.pipe.admit(u)? else {
            return Ok(());
        };
        let row = self.pipe.row(u, admitted);
        self.timestamp.clear();
        push_iso8601(&mut self.timestamp, row.created_at_ms);
        let mut record = Record::new(
            self.pipe.session.session_id,
            &row,
            &self.timestamp,
            &row.text,
        );
        if !self.guard {
            self.out.serialize(record)?;
            return Ok(());
        }
        // Every text cell (people's words, names), never the numbers: see crate::spreadsheet.
        fn guard(s: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
            s.map(guard_cell)
        }
        let (group_name, phase, speaker, text, trigger, reason) = (
            guard_cell(record.group_name),
            guard(record.phase),
            guard_cell(record.speaker),
            guard_cell(record.text),
            guard(record.agent_trigger),
            guard(record.agent_reason),
        );
        record.group_name = &group_name;
        record.phase = phase.as_deref();
        record.speaker = &speaker;
        record.text = &text;
        record.agent_trigger = trigger.as_deref();
        record.agent_reason = reason.as_deref();
        self.out.serialize(record)?;
        Ok(())
    }

    pub fn finish(self) -> Result<ExportSummary> {
        let mut summary = self.pipe.summary;
        let mut out = self.out.into_inner().map_err(|e| e.into_error())?;
        out.flush()?;
        summary.bytes = out.bytes;
        Ok(summary)
    }
}

/// The columns of [`write_consent_csv`].
pub const CONSENT_COLUMNS: [&str; 6] = [
    "session_id",
    "kind",
    "given_on",
    "note",
    "recorded_by",
    "recorded_at",
];

/// Writes the session's consent records as CSV (one row each, a header row also when there
/// are none), pseudonymised as a transcript export with `opts` would be. peerlearn writes it
/// beside a CSV, JSON Lines or text export as `...-consent.csv`; a `.qdpx` carries the same
/// records as notes. Returns the number of records.
pub fn write_consent_csv<W: Write>(
    session: &SessionExport,
    opts: &ExportOptions,
    mut out: W,
) -> Result<usize> {
    if opts.csv_bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let speakers = crate::pseudonym::Speakers::new(session, opts.pseudonyms);
    let consents = speakers.consents(session);
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(out);
    w.write_record(CONSENT_COLUMNS)?;
    let mut at = String::with_capacity(24);
    for c in &consents {
        at.clear();
        push_iso8601(&mut at, c.recorded_at_ms);
        let note = if opts.csv_formula_guard {
            guard_cell(&c.note)
        } else {
            std::borrow::Cow::Borrowed(c.note.as_str())
        };
        w.write_record([
            session.session_id.to_string().as_str(),
            &c.kind,
            &c.given_on,
            &note,
            &c.recorded_by,
            &at,
        ])?;
    }
    w.flush()?;
    Ok(consents.len())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::*;

    pub(crate) fn tiny_session() -> SessionExport {
        SessionExport {
            session_id: 7,
            activity: "bridge".into(),
            language: "en".into(),
            started_at_ms: 1_700_000_000_000,
            ended_at_ms: None,
            exported_at_ms: 1_700_000_100_000,
            agent_name: "Blue".into(),
            groups: vec![Group {
                id: 1,
                name: "Tigers".into(),
                condition: AgentRole::Moderator,
            }],
            participants: vec![Participant {
                id: 11,
                kind: SpeakerKind::Child,
                nickname: "Mia".into(),
                avatar: None,
                group_id: Some(1),
                joined_at_ms: 0,
            }],
            consents: Vec::new(),
        }
    }

    #[test]
    fn quoting_bom_and_formula_guard() {
        let s = tiny_session();
        let t0 = s.started_at_ms;
        let mut u1 = Utterance::new(
            1,
            1,
            t0 + 1500,
            SpeakerKind::Child,
            Some(11),
            "=SUM(A1), \"Mia\" said\nnext line",
        );
        u1.phase = Some("ideas".into());
        let mut u2 = Utterance::new(1, 2, t0 + 2000, SpeakerKind::Agent, None, "Hello Mia");
        u2.agent_trigger = Some("mention".into());
        u2.agent_reason = Some("-Mia asked".into());
        u2.reply_to = Some(1);
        let opts = ExportOptions {
            csv_bom: true,
            csv_formula_guard: true,
            ..Default::default()
        };
        let mut out = Vec::new();
        let summary = crate::export::export(
            crate::export::ExportFormat::Csv,
            &s,
            &crate::export::Extras::default(),
            &opts,
            [&u1, &u2],
            &mut out,
        )
        .unwrap();
        assert_eq!(summary.utterances, 2);
        assert_eq!(summary.bytes as usize, out.len());
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("\u{FEFF}session_id,group_id,group_name,"));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "7,1,Tigers,moderator,ideas,1,2023-11-14T22:13:21.500Z,1500,Child 1,child,\"'=SUM(A1), \"\"Child 1\"\" said\nnext line\",,,,visible"
        );
        assert_eq!(lines[2], "7,1,Tigers,moderator,,2,2023-11-14T22:13:22.000Z,2000,Blue (AI),agent,Hello Child 1,1,mention,'-Child 1 asked,visible");
        assert_eq!(lines[3], "");
    }
}
