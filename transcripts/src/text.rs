//! The readable plain-text script: per group a short header, then one line per utterance,
//! `[hh:mm:ss] #seq Speaker: text`, with phase changes as separator lines. The same layout
//! (without the agent's reasons and the continuation-line indent) is the plain text of each
//! REFI-QDA source, so a researcher sees the same transcript in both.

use std::io::{BufWriter, Write};

use crate::error::Result;
use crate::export::{Counting, ExportOptions, ExportSummary};
use crate::model::{Group, Moderation, SessionExport, Utterance};
use crate::rows::{Pipeline, Row};
use crate::time::{push_elapsed, push_iso8601};

/// The header block that opens a group's transcript (ends with a blank line).
pub(crate) fn push_group_header(buf: &mut String, session: &SessionExport, group: &Group) {
    use std::fmt::Write as _;
    let _ = writeln!(
        buf,
        "Session {} · activity {} · group {} · agent role: {}",
        session.session_id,
        session.activity,
        group.name,
        group.condition.as_str()
    );
    buf.push_str("Started ");
    push_iso8601(buf, session.started_at_ms);
    buf.push_str(" · [hh:mm:ss] is the time since the start, #n the message number\n\n");
}

/// `--- Phase: ideas ---` line, when the phase differs from the previous line's.
pub(crate) fn push_phase_change(buf: &mut String, last_phase: &mut Option<String>, row: &Row<'_>) {
    if let Some(phase) = row.phase {
        if last_phase.as_deref() != Some(phase) {
            buf.push_str("--- Phase: ");
            buf.push_str(phase);
            buf.push_str(" ---\n");
            *last_phase = Some(phase.to_owned());
        }
    }
}

/// Everything on an utterance's line before its text: `[00:01:02] #15 Child 2 (re #14): `.
pub(crate) fn push_line_prefix(buf: &mut String, row: &Row<'_>) {
    use std::fmt::Write as _;
    buf.push('[');
    push_elapsed(buf, row.elapsed_ms);
    let _ = write!(buf, "] #{} {}", row.seq, row.speaker.label);
    if let Some(r) = row.reply_to {
        let _ = write!(buf, " (re #{r})");
    }
    match row.moderation {
        Moderation::Visible => {}
        Moderation::Hidden => buf.push_str(" [hidden]"),
        Moderation::Flagged => buf.push_str(" [flagged]"),
    }
    buf.push_str(": ");
}

enum Target<W: Write, F> {
    Single(BufWriter<Counting<W>>),
    PerGroup {
        open: F,
        current: Option<BufWriter<Counting<W>>>,
        bytes: u64,
    },
}

/// Streaming plain-text writer, either all groups into one output or one output per group;
/// see [`mod@crate::export`] for the push/finish protocol.
pub struct TextExport<'s, W: Write, F = fn(&Group) -> std::io::Result<W>> {
    pipe: Pipeline<'s>,
    target: Target<W, F>,
    reasons: bool,
    current_group: Option<usize>,
    last_phase: Option<String>,
    line: String,
}

impl<'s, W: Write> TextExport<'s, W> {
    /// All groups into `out`, one after another.
    pub fn new(session: &'s SessionExport, opts: &ExportOptions, out: W) -> Result<Self> {
        Ok(TextExport {
            pipe: Pipeline::new(session, opts)?,
            target: Target::Single(BufWriter::with_capacity(64 * 1024, Counting::new(out))),
            reasons: opts.text_agent_reasons,
            current_group: None,
            last_phase: None,
            line: String::new(),
        })
    }
}

impl<'s, W: Write, F: FnMut(&Group) -> std::io::Result<W>> TextExport<'s, W, F> {
    /// One output per group: `open` is called with each group as its first utterance arrives
    /// (e.g. to create `group-<name>.txt`).
    pub fn per_group(session: &'s SessionExport, opts: &ExportOptions, open: F) -> Result<Self> {
        Ok(TextExport {
            pipe: Pipeline::new(session, opts)?,
            target: Target::PerGroup {
                open,
                current: None,
                bytes: 0,
            },
            reasons: opts.text_agent_reasons,
            current_group: None,
            last_phase: None,
            line: String::new(),
        })
    }

    pub fn push(&mut self, u: &Utterance) -> Result<()> {
        let Some(admitted) = self.pipe.admit(u)? else {
            return Ok(());
        };
        let row = self.pipe.row(u, admitted);
        let line = &mut self.line;
        line.clear();
        if self.current_group != Some(row.group_idx) {
            match &mut self.target {
                Target::Single(_) => {
                    if self.current_group.is_some() {
                        line.push_str("\n\n");
                    }
                }
                Target::PerGroup {
                    open,
                    current,
                    bytes,
                } => {
                    if let Some(mut done) = current.take() {
                        done.flush()?;
                        *bytes += done.get_ref().bytes;
                    }
                    *current = Some(BufWriter::with_capacity(
                        64 * 1024,
                        Counting::new(open(row.group)?),
                    ));
                }
            }
            self.current_group = Some(row.group_idx);
            self.last_phase = None;
            push_group_header(line, self.pipe.session, row.group);
        }
        push_phase_change(line, &mut self.last_phase, &row);
        push_line_prefix(line, &row);
        // Continuation lines are indented so that every utterance starts at the margin.
        for (i, part) in row.text.split('\n').enumerate() {
            if i > 0 {
                line.push_str("\n    ");
            }
            line.push_str(part);
        }
        line.push('\n');
        if self.reasons && (row.agent_trigger.is_some() || row.agent_reason.is_some()) {
            line.push_str("    [agent");
            if let Some(t) = &row.agent_trigger {
                line.push_str(" trigger: ");
                line.push_str(t);
            }
            if let Some(r) = &row.agent_reason {
                line.push_str(if row.agent_trigger.is_some() {
                    "; reason: "
                } else {
                    " reason: "
                });
                line.push_str(&r.replace('\n', " "));
            }
            line.push_str("]\n");
        }
        let out = match &mut self.target {
            Target::Single(w) => w,
            Target::PerGroup { current, .. } => current.as_mut().expect("opened above"),
        };
        out.write_all(line.as_bytes())?;
        Ok(())
    }

    pub fn finish(self) -> Result<ExportSummary> {
        let mut summary = self.pipe.summary;
        summary.bytes = match self.target {
            Target::Single(w) => {
                let mut c = w.into_inner().map_err(|e| e.into_error())?;
                c.flush()?;
                c.bytes
            }
            Target::PerGroup { current, bytes, .. } => {
                let mut total = bytes;
                if let Some(w) = current {
                    let mut c = w.into_inner().map_err(|e| e.into_error())?;
                    c.flush()?;
                    total += c.bytes;
                }
                total
            }
        };
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    #[test]
    fn script_layout() {
        let mut s = crate::csv::tests::tiny_session();
        s.groups.push(Group {
            id: 2,
            name: "Owls".into(),
            condition: AgentRole::None,
        });
        let t0 = s.started_at_ms;
        let mut a = Utterance::new(
            1,
            1,
            t0 + 65_000,
            SpeakerKind::Child,
            Some(11),
            "I'm Mia\nsecond line",
        );
        a.phase = Some("ideas".into());
        let mut b = Utterance::new(1, 2, t0 + 70_000, SpeakerKind::Agent, None, "Great, Mia!");
        b.phase = Some("ideas".into());
        b.reply_to = Some(1);
        b.agent_trigger = Some("mention".into());
        b.agent_reason = Some("Mia greeted".into());
        let mut c = Utterance::new(1, 3, t0 + 75_000, SpeakerKind::Child, Some(11), "secret");
        c.moderation = Moderation::Hidden;
        let d = Utterance::new(
            2,
            1,
            t0 + 3_600_000,
            SpeakerKind::System,
            None,
            "Phase changed",
        );
        let mut out = Vec::new();
        let summary = crate::export::export(
            crate::export::ExportFormat::Txt,
            &s,
            &crate::export::Extras::default(),
            &ExportOptions::default(),
            [&a, &b, &c, &d],
            &mut out,
        )
        .unwrap();
        assert_eq!(summary.utterances, 3);
        assert_eq!(summary.hidden_skipped, 1);
        assert_eq!(summary.groups, 2);
        let text = String::from_utf8(out).unwrap();
        let expected = "Session 7 · activity bridge · group Tigers · agent role: moderator\n\
Started 2023-11-14T22:13:20.000Z · [hh:mm:ss] is the time since the start, #n the message number\n\n\
--- Phase: ideas ---\n\
[00:01:05] #1 Child 1: I'm Child 1\n    second line\n\
[00:01:10] #2 Blue (AI) (re #1): Great, Child 1!\n    [agent trigger: mention; reason: Child 1 greeted]\n\
\n\n\
Session 7 · activity bridge · group Owls · agent role: none\n\
Started 2023-11-14T22:13:20.000Z · [hh:mm:ss] is the time since the start, #n the message number\n\n\
[01:00:00] #1 System: Phase changed\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn one_output_per_group() {
        let mut s = crate::csv::tests::tiny_session();
        s.groups.push(Group {
            id: 2,
            name: "Owls".into(),
            condition: AgentRole::None,
        });
        let us = [
            Utterance::new(1, 1, 0, SpeakerKind::Child, Some(11), "a"),
            Utterance::new(2, 1, 0, SpeakerKind::Facilitator, None, "b"),
        ];
        let files = std::cell::RefCell::new(Vec::<(
            String,
            std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
        )>::new());
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut e = TextExport::per_group(&s, &ExportOptions::default(), |g: &Group| {
            let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            files.borrow_mut().push((g.name.clone(), buf.clone()));
            Ok(Shared(buf))
        })
        .unwrap();
        for u in &us {
            e.push(u).unwrap();
        }
        let summary = e.finish().unwrap();
        let files = files.into_inner();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "Tigers");
        assert!(String::from_utf8(files[1].1.borrow().clone())
            .unwrap()
            .ends_with("#1 Facilitator: b\n"));
        let total: usize = files.iter().map(|f| f.1.borrow().len()).sum();
        assert_eq!(summary.bytes as usize, total);
    }
}
