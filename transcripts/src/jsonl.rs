//! JSON Lines: one JSON object per utterance with the same fields as the CSV, for scripts
//! (pandas `read_json(lines=True)`, jq) that should not have to guess CSV types.

use std::io::{BufWriter, Write};

use crate::csv::Record;
use crate::error::Result;
use crate::export::{Counting, ExportOptions, ExportSummary};
use crate::model::{SessionExport, Utterance};
use crate::rows::Pipeline;
use crate::time::push_iso8601;

/// Streaming JSON Lines writer; see [`mod@crate::export`] for the push/finish protocol.
pub struct JsonlExport<'s, W: Write> {
    pipe: Pipeline<'s>,
    out: BufWriter<Counting<W>>,
    timestamp: String,
}

impl<'s, W: Write> JsonlExport<'s, W> {
    pub fn new(session: &'s SessionExport, opts: &ExportOptions, out: W) -> Result<Self> {
        Ok(JsonlExport {
            pipe: Pipeline::new(session, opts)?,
            out: BufWriter::with_capacity(64 * 1024, Counting::new(out)),
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
        let record = Record::new(
            self.pipe.session.session_id,
            &row,
            &self.timestamp,
            &row.text,
        );
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::COLUMNS;
    use crate::model::*;

    #[test]
    fn same_fields_as_csv() {
        let s = crate::csv::tests::tiny_session();
        let mut u = Utterance::new(
            1,
            3,
            s.started_at_ms + 10,
            SpeakerKind::Child,
            Some(11),
            "ich bin Mia 🙂",
        );
        u.moderation = Moderation::Flagged;
        let mut out = Vec::new();
        crate::export::export(
            crate::export::ExportFormat::Jsonl,
            &s,
            &crate::export::Extras::default(),
            &ExportOptions::default(),
            [u],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(
            obj.keys().map(String::as_str).collect::<Vec<_>>().len(),
            COLUMNS.len()
        );
        for c in COLUMNS {
            assert!(obj.contains_key(c), "{c}");
        }
        assert_eq!(obj["text"], "ich bin Child 1 🙂");
        assert_eq!(obj["moderation"], "flagged");
        assert_eq!(obj["reply_to"], serde_json::Value::Null);
        assert_eq!(obj["ms_since_start"], 10);
    }
}
