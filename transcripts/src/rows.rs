//! The shared front half of every transcript writer: checks the order of the incoming
//! utterances, applies the group filter and the hidden-message rule, resolves speakers and
//! pseudonymises texts. Each writer turns the resulting [`Row`]s into its own format, so all
//! formats agree on what was exported and how it reads.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::export::{ExportOptions, ExportSummary};
use crate::model::{Group, Moderation, SessionExport, Utterance};
use crate::pseudonym::{clean_text, Speaker, Speakers};

/// Remembers where the stream is, so that out-of-order input is an error rather than a
/// silently wrong QDA project (selections and sources rely on the order).
#[derive(Debug, Default)]
struct OrderCheck {
    current: Option<(usize, i64)>,
    finished: Vec<bool>,
}

impl OrderCheck {
    fn admit(&mut self, group_idx: usize, group_id: i64, seq: i64) -> Result<()> {
        match self.current {
            Some((g, prev)) if g == group_idx => {
                if seq <= prev {
                    return Err(Error::OutOfOrder {
                        group_id,
                        seq,
                        previous: prev,
                    });
                }
            }
            other => {
                if let Some((g, _)) = other {
                    self.finished[g] = true;
                }
                if self.finished[group_idx] {
                    return Err(Error::GroupsInterleaved { group_id });
                }
            }
        }
        self.current = Some((group_idx, seq));
        Ok(())
    }
}

/// What [`Pipeline::admit`] decided about an utterance that is to be exported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admitted {
    pub group_idx: usize,
    pub speaker_idx: usize,
}

/// One utterance ready to be written: pseudonymised, cleaned, with resolved group and speaker.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub group_idx: usize,
    pub group: &'a Group,
    pub seq: i64,
    pub created_at_ms: i64,
    pub elapsed_ms: i64,
    pub speaker: &'a Speaker,
    pub text: Cow<'a, str>,
    pub phase: Option<&'a str>,
    pub reply_to: Option<i64>,
    pub agent_trigger: Option<Cow<'a, str>>,
    pub agent_reason: Option<Cow<'a, str>>,
    pub moderation: Moderation,
}

#[derive(Debug)]
pub(crate) struct Pipeline<'s> {
    pub session: &'s SessionExport,
    pub include_hidden: bool,
    numbered: bool,
    pub group_index: HashMap<i64, usize>,
    /// Which groups the export covers (the group filter).
    pub included: Vec<bool>,
    pub speakers: Speakers,
    order: OrderCheck,
    last_written_group: Option<usize>,
    pub summary: ExportSummary,
}

impl<'s> Pipeline<'s> {
    pub fn new(session: &'s SessionExport, opts: &ExportOptions) -> Result<Self> {
        let group_index: HashMap<i64, usize> = session
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id, i))
            .collect();
        let included = match &opts.groups {
            None => vec![true; session.groups.len()],
            Some(ids) => {
                let mut inc = vec![false; session.groups.len()];
                for id in ids {
                    let &i = group_index
                        .get(id)
                        .ok_or(Error::UnknownGroup { group_id: *id })?;
                    inc[i] = true;
                }
                inc
            }
        };
        Ok(Pipeline {
            session,
            include_hidden: opts.include_hidden,
            numbered: opts.pseudonyms == crate::pseudonym::PseudonymMode::Numbered,
            group_index,
            included,
            speakers: Speakers::new(session, opts.pseudonyms),
            order: OrderCheck {
                current: None,
                finished: vec![false; session.groups.len()],
            },
            last_written_group: None,
            summary: ExportSummary::default(),
        })
    }

    /// Checks order and sender; `None` when the utterance is filtered out or hidden.
    pub fn admit(&mut self, u: &Utterance) -> Result<Option<Admitted>> {
        let &group_idx = self
            .group_index
            .get(&u.group_id)
            .ok_or(Error::UnknownGroup {
                group_id: u.group_id,
            })?;
        self.order.admit(group_idx, u.group_id, u.seq)?;
        if !self.included[group_idx] {
            self.summary.filtered_out += 1;
            return Ok(None);
        }
        let speaker_idx =
            self.speakers
                .resolve(u.sender_kind, u.sender_id)
                .ok_or(Error::UnknownSender {
                    group_id: u.group_id,
                    seq: u.seq,
                    kind: u.sender_kind,
                    sender: u.sender_id,
                })?;
        if u.moderation == Moderation::Hidden && !self.include_hidden {
            self.summary.hidden_skipped += 1;
            return Ok(None);
        }
        self.summary.utterances += 1;
        if self.last_written_group != Some(group_idx) {
            self.last_written_group = Some(group_idx);
            self.summary.groups += 1;
        }
        Ok(Some(Admitted {
            group_idx,
            speaker_idx,
        }))
    }

    /// Whether children are numbered (rather than keeping their nicknames).
    pub fn speakers_mode_numbered(&self) -> bool {
        self.numbered
    }

    pub fn row<'a>(&'a self, u: &'a Utterance, a: Admitted) -> Row<'a> {
        let group = Some(a.group_idx);
        let scrub = |s: &'a str| -> Cow<'a, str> {
            match clean_text(s) {
                Cow::Borrowed(b) => self.speakers.replace_names(b, group),
                Cow::Owned(o) => Cow::Owned(self.speakers.replace_names(&o, group).into_owned()),
            }
        };
        Row {
            group_idx: a.group_idx,
            group: &self.session.groups[a.group_idx],
            seq: u.seq,
            created_at_ms: u.created_at_ms,
            elapsed_ms: u.created_at_ms - self.session.started_at_ms,
            speaker: self.speakers.get(a.speaker_idx),
            text: scrub(&u.text),
            phase: u.phase.as_deref(),
            reply_to: u.reply_to,
            agent_trigger: u.agent_trigger.as_deref().map(scrub),
            agent_reason: u.agent_reason.as_deref().map(scrub),
            moderation: u.moderation,
        }
    }
}
