//! Participation analytics per group and per speaker: who talked how much, how unequal the
//! children's turns were, how much and how quickly the agent talked, and whether its
//! directives were followed. Computed in one streaming pass, like the exports.
//!
//! Definitions:
//! * *turn*: one message; *words*: Unicode words (UAX #29) of the cleaned, original text, so
//!   an emoji is not a word and each Chinese or Japanese character is one;
//! * *talk* counts children, agent and facilitators; system messages are counted separately
//!   and left out of every share;
//! * *Gini coefficient of turns among children*: over all children of the group, including
//!   those who never spoke (0 = everyone took the same number of turns, towards 1 = one child
//!   did all the talking);
//! * *agent reply latency*: time from the message the agent answered to its answer. That is
//!   the `reply_to` message when it is among the group's last 64 messages, else the message
//!   just before the agent's, if a child or facilitator wrote it. Turns the agent started on
//!   its own (after its own or a system message, e.g. a lull prompt) have no latency. The
//!   median is taken from a histogram with exact 1 ms buckets below 100 ms and 1 % wide
//!   buckets above, so it is exact to within 0.5 %, while memory stays flat;
//! * *directives*: agent turns with `directive` set; *compliance* = complied / (complied +
//!   ignored), directives without a judgement are counted as unknown.
//!
//! Hidden messages and the group filter follow the same [`ExportOptions`] as the exports;
//! speakers carry the same pseudonyms.

use std::collections::{HashMap, VecDeque};
use std::io::Write;

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use crate::error::Result;
use crate::export::ExportOptions;
use crate::model::{SessionExport, SpeakerKind, Utterance};
use crate::pseudonym::clean_text;
use crate::rows::Pipeline;
use crate::spreadsheet::guard_cell;

const RECENT: usize = 64;

/// Figures for one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupParticipation {
    pub group_id: i64,
    pub group_name: String,
    pub condition: &'static str,
    /// Children in the group (from the participant list, also the silent ones).
    pub children: u64,
    /// Turns and words of children, agent and facilitators.
    pub turns: u64,
    pub words: u64,
    pub child_turns: u64,
    pub child_words: u64,
    pub agent_turns: u64,
    pub agent_words: u64,
    pub facilitator_turns: u64,
    pub facilitator_words: u64,
    pub system_messages: u64,
    pub agent_turn_share: Option<f64>,
    pub agent_word_share: Option<f64>,
    pub child_turn_gini: Option<f64>,
    /// Agent turns with a measurable reply latency.
    pub agent_replies: u64,
    pub agent_latency_mean_ms: Option<f64>,
    pub agent_latency_median_ms: Option<f64>,
    pub agent_latency_max_ms: Option<i64>,
    pub directives: u64,
    pub directives_complied: u64,
    pub directives_ignored: u64,
    pub directive_compliance: Option<f64>,
}

/// Figures for one speaker in one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeakerParticipation {
    pub group_id: i64,
    pub group_name: String,
    pub condition: &'static str,
    pub speaker: String,
    pub speaker_kind: &'static str,
    pub turns: u64,
    pub words: u64,
    /// Share of the group's turns (children, agent and facilitators).
    pub turn_share: Option<f64>,
    pub word_share: Option<f64>,
    /// For children: share of the children's turns.
    pub share_of_child_turns: Option<f64>,
    pub mean_words_per_turn: Option<f64>,
    /// Milliseconds since the session start of the first and last turn.
    pub first_turn_ms: Option<i64>,
    pub last_turn_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipationReport {
    pub session_id: i64,
    /// The exported groups, in session order.
    pub groups: Vec<GroupParticipation>,
    /// Children first (in pseudonym order, also the silent ones), then the agent and
    /// facilitators per group as they first spoke.
    pub speakers: Vec<SpeakerParticipation>,
}

/// Latency histogram: exact below 100 ms, ~1 % buckets above.
#[derive(Debug, Default, Clone)]
struct Latencies {
    buckets: Vec<u32>,
    n: u64,
    sum: f64,
    max: Option<i64>,
}

impl Latencies {
    const LINEAR: i64 = 100;

    fn bucket(ms: i64) -> usize {
        if ms < Self::LINEAR {
            ms as usize
        } else {
            Self::LINEAR as usize
                + ((ms as f64 / Self::LINEAR as f64).ln() / 1.01f64.ln()).floor() as usize
        }
    }

    fn value(bucket: usize) -> f64 {
        if bucket < Self::LINEAR as usize {
            bucket as f64
        } else {
            Self::LINEAR as f64 * 1.01f64.powf((bucket - Self::LINEAR as usize) as f64 + 0.5)
        }
    }

    fn add(&mut self, ms: i64) {
        let ms = ms.max(0);
        let b = Self::bucket(ms);
        if self.buckets.len() <= b {
            self.buckets.resize(b + 1, 0);
        }
        self.buckets[b] += 1;
        self.n += 1;
        self.sum += ms as f64;
        self.max = Some(self.max.map_or(ms, |m| m.max(ms)));
    }

    /// The value of the `rank`-th smallest sample (1-based).
    fn nth(&self, rank: u64) -> f64 {
        let mut seen = 0u64;
        for (b, &c) in self.buckets.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return Self::value(b);
            }
        }
        f64::NAN
    }

    fn median(&self) -> Option<f64> {
        (self.n > 0).then(|| (self.nth(self.n.div_ceil(2)) + self.nth(self.n / 2 + 1)) / 2.0)
    }

    fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Gini coefficient of non-negative counts; `None` for no people or no turns at all.
pub fn gini(values: &[u64]) -> Option<f64> {
    let total: u64 = values.iter().sum();
    if values.is_empty() || total == 0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| (i as f64 + 1.0) * x as f64)
        .sum();
    Some(2.0 * weighted / (n * total as f64) - (n + 1.0) / n)
}

#[derive(Debug, Default, Clone)]
struct GroupAcc {
    system: u64,
    latencies: Latencies,
    directives: u64,
    complied: u64,
    ignored: u64,
    recent: VecDeque<(i64, i64, SpeakerKind)>,
}

#[derive(Debug, Clone)]
struct SpeakerAcc {
    speaker_idx: usize,
    group_idx: usize,
    turns: u64,
    words: u64,
    first: Option<i64>,
    last: Option<i64>,
}

/// Streaming participation counter; push utterances ordered by group, then seq.
pub struct ParticipationCounter<'s> {
    pipe: Pipeline<'s>,
    groups: Vec<GroupAcc>,
    speakers: Vec<SpeakerAcc>,
    speaker_index: HashMap<(usize, usize), usize>,
}

impl<'s> ParticipationCounter<'s> {
    /// Uses `opts.groups`, `opts.include_hidden` and `opts.pseudonyms`.
    pub fn new(session: &'s SessionExport, opts: &ExportOptions) -> Result<Self> {
        let pipe = Pipeline::new(session, opts)?;
        let mut counter = ParticipationCounter {
            groups: vec![GroupAcc::default(); session.groups.len()],
            speakers: Vec::new(),
            speaker_index: HashMap::new(),
            pipe,
        };
        let children: Vec<(usize, usize)> = counter
            .pipe
            .speakers
            .iter()
            .filter(|(_, s)| s.kind == SpeakerKind::Child)
            .filter_map(|(i, s)| Some((i, s.group?)))
            .filter(|&(_, g)| counter.pipe.included[g])
            .collect();
        for (s, g) in children {
            counter.speaker(s, g);
        }
        Ok(counter)
    }

    fn speaker(&mut self, speaker_idx: usize, group_idx: usize) -> &mut SpeakerAcc {
        let next = self.speakers.len();
        let i = *self
            .speaker_index
            .entry((speaker_idx, group_idx))
            .or_insert(next);
        if i == next {
            self.speakers.push(SpeakerAcc {
                speaker_idx,
                group_idx,
                turns: 0,
                words: 0,
                first: None,
                last: None,
            });
        }
        &mut self.speakers[i]
    }

    pub fn push(&mut self, u: &Utterance) -> Result<()> {
        let Some(a) = self.pipe.admit(u)? else {
            return Ok(());
        };
        let kind = self.pipe.speakers.get(a.speaker_idx).kind;
        let elapsed = u.created_at_ms - self.pipe.session.started_at_ms;
        let g = &mut self.groups[a.group_idx];
        if kind == SpeakerKind::Agent {
            let target = u
                .reply_to
                .and_then(|r| g.recent.iter().find(|(seq, _, _)| *seq == r))
                .or_else(|| {
                    g.recent.back().filter(|(_, _, k)| {
                        matches!(k, SpeakerKind::Child | SpeakerKind::Facilitator)
                    })
                });
            if let Some(&(_, at, _)) = target {
                g.latencies.add(u.created_at_ms - at);
            }
            if u.directive {
                g.directives += 1;
                match u.directive_complied {
                    Some(true) => g.complied += 1,
                    Some(false) => g.ignored += 1,
                    None => {}
                }
            }
        }
        if g.recent.len() == RECENT {
            g.recent.pop_front();
        }
        g.recent.push_back((u.seq, u.created_at_ms, kind));
        if kind == SpeakerKind::System {
            g.system += 1;
            return Ok(());
        }
        let words = clean_text(&u.text).unicode_words().count() as u64;
        let s = self.speaker(a.speaker_idx, a.group_idx);
        s.turns += 1;
        s.words += words;
        s.first.get_or_insert(elapsed);
        s.last = Some(elapsed);
        Ok(())
    }

    pub fn finish(self) -> ParticipationReport {
        let session = self.pipe.session;
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        let mut groups = Vec::new();
        for (gi, acc) in self.groups.iter().enumerate() {
            if !self.pipe.included[gi] {
                continue;
            }
            let group = &session.groups[gi];
            let sum = |kind: SpeakerKind| {
                self.speakers
                    .iter()
                    .filter(|s| {
                        s.group_idx == gi && self.pipe.speakers.get(s.speaker_idx).kind == kind
                    })
                    .fold((0u64, 0u64, Vec::new()), |(t, w, mut each), s| {
                        each.push(s.turns);
                        (t + s.turns, w + s.words, each)
                    })
            };
            let (child_turns, child_words, per_child) = sum(SpeakerKind::Child);
            let (agent_turns, agent_words, _) = sum(SpeakerKind::Agent);
            let (fac_turns, fac_words, _) = sum(SpeakerKind::Facilitator);
            let turns = child_turns + agent_turns + fac_turns;
            let words = child_words + agent_words + fac_words;
            groups.push(GroupParticipation {
                group_id: group.id,
                group_name: group.name.clone(),
                condition: group.condition.as_str(),
                children: per_child.len() as u64,
                turns,
                words,
                child_turns,
                child_words,
                agent_turns,
                agent_words,
                facilitator_turns: fac_turns,
                facilitator_words: fac_words,
                system_messages: acc.system,
                agent_turn_share: share(agent_turns, turns),
                agent_word_share: share(agent_words, words),
                child_turn_gini: gini(&per_child),
                agent_replies: acc.latencies.n,
                agent_latency_mean_ms: acc.latencies.mean(),
                agent_latency_median_ms: acc.latencies.median(),
                agent_latency_max_ms: acc.latencies.max,
                directives: acc.directives,
                directives_complied: acc.complied,
                directives_ignored: acc.ignored,
                directive_compliance: share(acc.complied, acc.complied + acc.ignored),
            });
        }
        let speakers = self
            .speakers
            .iter()
            .map(|s| {
                let sp = self.pipe.speakers.get(s.speaker_idx);
                let group = &session.groups[s.group_idx];
                let gs = groups
                    .iter()
                    .find(|g| g.group_id == group.id)
                    .expect("included group");
                SpeakerParticipation {
                    group_id: group.id,
                    group_name: group.name.clone(),
                    condition: group.condition.as_str(),
                    speaker: sp.label.clone(),
                    speaker_kind: sp.kind.as_str(),
                    turns: s.turns,
                    words: s.words,
                    turn_share: share(s.turns, gs.turns),
                    word_share: share(s.words, gs.words),
                    share_of_child_turns: if sp.kind == SpeakerKind::Child {
                        share(s.turns, gs.child_turns)
                    } else {
                        None
                    },
                    mean_words_per_turn: share(s.words, s.turns),
                    first_turn_ms: s.first,
                    last_turn_ms: s.last,
                }
            })
            .collect();
        ParticipationReport {
            session_id: session.session_id,
            groups,
            speakers,
        }
    }
}

/// Computes participation over a stream of utterances (ordered by group, then seq).
pub fn participation<I, U>(
    session: &SessionExport,
    opts: &ExportOptions,
    utterances: I,
) -> Result<ParticipationReport>
where
    I: IntoIterator<Item = U>,
    U: std::borrow::Borrow<Utterance>,
{
    let mut c = ParticipationCounter::new(session, opts)?;
    for u in utterances {
        c.push(u.borrow())?;
    }
    Ok(c.finish())
}

fn f(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{v:.4}"))
}

fn i(x: Option<i64>) -> String {
    x.map_or_else(String::new, |v| v.to_string())
}

/// Writes one row per group. Text cells are guarded against spreadsheet formulas
/// ([`crate::spreadsheet`]); the figures are numbers and written as they are.
pub fn write_groups_csv<W: Write>(report: &ParticipationReport, out: W) -> Result<()> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record([
        "session_id",
        "group_id",
        "group_name",
        "condition",
        "children",
        "turns",
        "words",
        "child_turns",
        "child_words",
        "agent_turns",
        "agent_words",
        "facilitator_turns",
        "facilitator_words",
        "system_messages",
        "agent_turn_share",
        "agent_word_share",
        "child_turn_gini",
        "agent_replies",
        "agent_latency_mean_ms",
        "agent_latency_median_ms",
        "agent_latency_max_ms",
        "directives",
        "directives_complied",
        "directives_ignored",
        "directive_compliance",
    ])?;
    for g in &report.groups {
        w.write_record([
            report.session_id.to_string(),
            g.group_id.to_string(),
            guard_cell(&g.group_name).into_owned(),
            g.condition.to_owned(),
            g.children.to_string(),
            g.turns.to_string(),
            g.words.to_string(),
            g.child_turns.to_string(),
            g.child_words.to_string(),
            g.agent_turns.to_string(),
            g.agent_words.to_string(),
            g.facilitator_turns.to_string(),
            g.facilitator_words.to_string(),
            g.system_messages.to_string(),
            f(g.agent_turn_share),
            f(g.agent_word_share),
            f(g.child_turn_gini),
            g.agent_replies.to_string(),
            f(g.agent_latency_mean_ms),
            f(g.agent_latency_median_ms),
            i(g.agent_latency_max_ms),
            g.directives.to_string(),
            g.directives_complied.to_string(),
            g.directives_ignored.to_string(),
            f(g.directive_compliance),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Writes one row per speaker and group (text cells guarded as in [`write_groups_csv`]).
pub fn write_speakers_csv<W: Write>(report: &ParticipationReport, out: W) -> Result<()> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record([
        "session_id",
        "group_id",
        "group_name",
        "condition",
        "speaker",
        "speaker_kind",
        "turns",
        "words",
        "turn_share",
        "word_share",
        "share_of_child_turns",
        "mean_words_per_turn",
        "first_turn_ms",
        "last_turn_ms",
    ])?;
    for s in &report.speakers {
        w.write_record([
            report.session_id.to_string(),
            s.group_id.to_string(),
            guard_cell(&s.group_name).into_owned(),
            s.condition.to_owned(),
            guard_cell(&s.speaker).into_owned(),
            s.speaker_kind.to_owned(),
            s.turns.to_string(),
            s.words.to_string(),
            f(s.turn_share),
            f(s.word_share),
            f(s.share_of_child_turns),
            f(s.mean_words_per_turn),
            i(s.first_turn_ms),
            i(s.last_turn_ms),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    #[test]
    fn gini_values() {
        assert_eq!(gini(&[]), None);
        assert_eq!(gini(&[0, 0]), None);
        assert!((gini(&[5, 5, 5]).unwrap()).abs() < 1e-12);
        // One of four children did everything: (n-1)/n = 0.75.
        assert!((gini(&[0, 0, 0, 8]).unwrap() - 0.75).abs() < 1e-12);
        // 1,2,3,4: sum |xi-xj| over ordered pairs = 20; G = 20 / (2 * 16 * 2.5) = 0.25.
        assert!((gini(&[4, 1, 3, 2]).unwrap() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn latency_histogram() {
        let mut l = Latencies::default();
        for v in [10, 20, 30, 40] {
            l.add(v);
        }
        assert_eq!(l.median(), Some(25.0));
        assert_eq!(l.mean(), Some(25.0));
        let mut l = Latencies::default();
        for v in [1_000, 2_000, 50_000] {
            l.add(v);
        }
        let m = l.median().unwrap();
        assert!((m - 2_000.0).abs() / 2_000.0 < 0.005, "{m}");
        assert_eq!(l.max, Some(50_000));
        l.add(-5);
        assert_eq!(l.nth(1), 0.0);
    }

    fn session() -> SessionExport {
        let child = |id, nick: &str, joined| Participant {
            id,
            kind: SpeakerKind::Child,
            nickname: nick.into(),
            avatar: None,
            group_id: Some(1),
            joined_at_ms: joined,
        };
        SessionExport {
            session_id: 3,
            activity: "a".into(),
            language: "en".into(),
            started_at_ms: 0,
            ended_at_ms: None,
            exported_at_ms: 0,
            agent_name: "Blue".into(),
            groups: vec![Group {
                id: 1,
                name: "G".into(),
                condition: AgentRole::Moderator,
            }],
            participants: vec![child(1, "Ann", 0), child(2, "Bo", 1), child(3, "Cy", 2)],
            consents: Vec::new(),
        }
    }

    #[test]
    fn group_and_speaker_figures() {
        let s = session();
        let c =
            |seq, t, id, text: &str| Utterance::new(1, seq, t, SpeakerKind::Child, Some(id), text);
        let agent = |seq, t, text: &str| Utterance::new(1, seq, t, SpeakerKind::Agent, None, text);
        let mut a1 = agent(3, 5_000, "Let's vote now");
        a1.reply_to = Some(1);
        a1.directive = true;
        a1.directive_complied = Some(false);
        let mut a2 = agent(5, 9_000, "Good idea Bo");
        a2.directive = true;
        a2.directive_complied = Some(true);
        let mut a3 = agent(7, 20_000, "Anyone there?");
        a3.directive = true;
        let mut hidden = c(8, 21_000, 2, "rude words here");
        hidden.moderation = Moderation::Hidden;
        let us = vec![
            c(1, 1_000, 1, "We could build a bridge 🌉"),
            c(2, 2_000, 1, "with ropes"),
            a1,
            c(4, 8_000, 2, "I think 日本 wood"),
            a2,
            Utterance::new(1, 6, 10_000, SpeakerKind::System, None, "Phase: prototype"),
            a3,
            hidden,
        ];
        let r = participation(&s, &ExportOptions::default(), &us).unwrap();
        let g = &r.groups[0];
        assert_eq!(
            (
                g.children,
                g.turns,
                g.child_turns,
                g.agent_turns,
                g.system_messages
            ),
            (3, 6, 3, 3, 1)
        );
        assert_eq!(g.child_words, 5 + 2 + 5);
        assert_eq!(g.agent_words, 3 + 3 + 2);
        assert_eq!(g.agent_turn_share, Some(0.5));
        // Children's turns 2, 1, 0.
        assert!((g.child_turn_gini.unwrap() - gini(&[2, 1, 0]).unwrap()).abs() < 1e-12);
        // a1 replies to #1 (4 s), a2 follows a child (1 s), a3 follows a system message.
        assert_eq!(g.agent_replies, 2);
        assert_eq!(g.agent_latency_mean_ms, Some(2_500.0));
        assert_eq!(g.agent_latency_max_ms, Some(4_000));
        assert_eq!(
            (g.directives, g.directives_complied, g.directives_ignored),
            (3, 1, 1)
        );
        assert_eq!(g.directive_compliance, Some(0.5));
        let names: Vec<_> = r.speakers.iter().map(|s| s.speaker.as_str()).collect();
        assert_eq!(names, ["Child 1", "Child 2", "Child 3", "Blue (AI)"]);
        let silent = &r.speakers[2];
        assert_eq!((silent.turns, silent.first_turn_ms), (0, None));
        assert_eq!(
            r.speakers[0]
                .share_of_child_turns
                .map(|x| (x * 3.0).round()),
            Some(2.0)
        );
        assert_eq!(r.speakers[3].share_of_child_turns, None);
        let mut out = Vec::new();
        write_groups_csv(&r, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.lines().nth(1).unwrap().starts_with(
                "3,1,G,moderator,3,6,20,3,12,3,8,0,0,1,0.5000,0.4000,0.4444,2,2500.0000,"
            ),
            "{text}"
        );
        let mut out = Vec::new();
        write_speakers_csv(&r, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 5);
    }
}
