//! Pseudonymisation: who is called what in an export, and removing children's names from
//! what was said.
//!
//! # Speaker labels
//! * Children: `Child 1`, `Child 2`, ... numbered over the whole session in order of first
//!   appearance, which is taken to be joining order: by group (in the session's group order),
//!   then `joined_at_ms`, then id. A streaming export cannot wait to see who speaks first, and a
//!   child can be *mentioned* before their first turn, so the number must be known up front.
//!   The numbering ignores the group filter, so `Child 3` is the same child in every export of
//!   the session. With [`PseudonymMode::Nicknames`] the nickname is kept; a nickname used by
//!   more than one child (in different groups) gets ` (2)`, ` (3)` to keep speakers apart.
//! * The agent keeps its name with an `(AI)` marker: `Blue (AI)`.
//! * Facilitators: `Facilitator`, `Facilitator 2`, ... (adults, but their names can identify
//!   the school). peerlearn lists every facilitator account (the session's owner first), so
//!   a teacher a child mentions is replaced even if they never wrote in the session.
//! * System messages: `System`.
//!
//! # Names inside texts
//! Every occurrence of a child's nickname (numbered mode) or a facilitator's name (both modes)
//! inside a message text, agent trigger, agent reason or consent note is replaced with that
//! person's label. A facilitator name made of parts joined by `-`, `_` or `.` (`ms-lee`) is
//! also matched with spaces between the parts (`ms lee`) and with a dot after the first
//! (`ms. lee`), as children write it.
//! The rule, applied left to right:
//! * matching is case-insensitive with Unicode simple case folding (`ÉLODIE` = `Élodie`),
//!   after both names and texts are normalised to Unicode NFC;
//! * a match must be a whole word: the characters before and after it must not be word
//!   characters (Unicode `\w`: letters, marks, digits, connector punctuation). So `Mia` is
//!   replaced in `Mia's idea` and `@mia!` but not in `Miami` or `Amia`. Scripts written
//!   without spaces between words (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar) have no
//!   word boundaries to check: where the name's edge or its neighbour is such a character,
//!   the match counts (`こんにちは日向さん` loses `日向`);
//! * at each position the longest name that matches as a whole word wins, so a child called
//!   `Ann Marie` is not turned into `Child 1 Marie` because another child is called `Ann`;
//! * a name shared by several children maps to the one in the message's own group, else to
//!   the first in numbering order.
//!
//! Privacy wins over readability: a nickname that is also an ordinary word (`Sky`, `Max`) is
//! replaced wherever it appears as a word. Names shorter than one character after trimming are
//! ignored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::model::{SessionExport, SpeakerKind};

/// How children are named in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PseudonymMode {
    /// `Child 1`, `Child 2`, ...; nicknames are also removed from texts.
    #[default]
    Numbered,
    /// Keep the nicknames the children chose (they are already pseudonyms in many studies).
    Nicknames,
}

/// A speaker as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speaker {
    /// The pseudonym shown in every export.
    pub label: String,
    pub kind: SpeakerKind,
    /// Index into `SessionExport::groups` for children; `None` for speakers spanning groups.
    pub group: Option<usize>,
    /// The participant id; `None` for the session's agent, the system and unknown facilitators.
    pub id: Option<i64>,
}

/// The label of the agent: its name with an `(AI)` marker so that transcripts read correctly
/// in tools that do not show the speaker kind.
pub fn agent_label(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        "Agent (AI)".to_owned()
    } else if name.ends_with("(AI)") {
        name.to_owned()
    } else {
        format!("{name} (AI)")
    }
}

/// All speakers of a session with their labels, plus the name replacer for texts.
#[derive(Debug)]
pub struct Speakers {
    list: Vec<Speaker>,
    by_id: HashMap<(SpeakerKind, i64), usize>,
    agent: usize,
    system: usize,
    facilitator: usize,
    replacer: NameReplacer,
}

impl Speakers {
    /// Labels every participant of `session` (see the module documentation for the rules).
    pub fn new(session: &SessionExport, mode: PseudonymMode) -> Self {
        let group_index: HashMap<i64, usize> = session
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id, i))
            .collect();
        let mut list = Vec::new();
        let mut by_id = HashMap::new();
        let mut names: Vec<(String, Option<usize>, usize)> = Vec::new();

        let mut children: Vec<_> = session
            .participants
            .iter()
            .filter(|p| p.kind == SpeakerKind::Child)
            .collect();
        children.sort_by_key(|p| {
            let g = p
                .group_id
                .and_then(|g| group_index.get(&g).copied())
                .unwrap_or(usize::MAX);
            (g, p.joined_at_ms, p.id)
        });
        let mut seen_nicknames: HashMap<String, usize> = HashMap::new();
        for (n, p) in children.iter().enumerate() {
            let group = p.group_id.and_then(|g| group_index.get(&g).copied());
            let nickname = clean_name(&p.nickname);
            let label = match mode {
                PseudonymMode::Numbered => format!("Child {}", n + 1),
                PseudonymMode::Nicknames if nickname.is_empty() => format!("Child {}", n + 1),
                PseudonymMode::Nicknames => {
                    let count = seen_nicknames.entry(nickname.to_lowercase()).or_insert(0);
                    *count += 1;
                    if *count == 1 {
                        nickname.clone()
                    } else {
                        format!("{nickname} ({count})")
                    }
                }
            };
            let idx = list.len();
            list.push(Speaker {
                label,
                kind: SpeakerKind::Child,
                group,
                id: Some(p.id),
            });
            by_id.insert((SpeakerKind::Child, p.id), idx);
            if mode == PseudonymMode::Numbered {
                names.push((nickname, group, idx));
            }
        }

        let mut facilitators: Vec<_> = session
            .participants
            .iter()
            .filter(|p| p.kind == SpeakerKind::Facilitator)
            .collect();
        facilitators.sort_by_key(|p| (p.joined_at_ms, p.id));
        let facilitator = list.len();
        list.push(Speaker {
            label: "Facilitator".to_owned(),
            kind: SpeakerKind::Facilitator,
            group: None,
            id: facilitators.first().map(|p| p.id),
        });
        for (n, p) in facilitators.iter().enumerate() {
            let idx = if n == 0 {
                facilitator
            } else {
                list.push(Speaker {
                    label: format!("Facilitator {}", n + 1),
                    kind: SpeakerKind::Facilitator,
                    group: None,
                    id: Some(p.id),
                });
                list.len() - 1
            };
            by_id.insert((SpeakerKind::Facilitator, p.id), idx);
            let name = clean_name(&p.nickname);
            // An account name like `ms-lee` is written `ms lee` or `Ms. Lee` by children.
            let spaced: String = name
                .split(['-', '_', '.'])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if spaced != name && spaced.contains(' ') {
                names.push((spaced.clone(), None, idx));
                let dotted = spaced.replacen(' ', ". ", 1);
                names.push((dotted, None, idx));
            }
            names.push((name, None, idx));
        }

        let agent = list.len();
        list.push(Speaker {
            label: agent_label(&session.agent_name),
            kind: SpeakerKind::Agent,
            group: None,
            id: None,
        });
        for p in session
            .participants
            .iter()
            .filter(|p| p.kind == SpeakerKind::Agent)
        {
            list.push(Speaker {
                label: agent_label(&p.nickname),
                kind: SpeakerKind::Agent,
                group: p.group_id.and_then(|g| group_index.get(&g).copied()),
                id: Some(p.id),
            });
            by_id.insert((SpeakerKind::Agent, p.id), list.len() - 1);
        }
        let system = list.len();
        list.push(Speaker {
            label: "System".to_owned(),
            kind: SpeakerKind::System,
            group: None,
            id: None,
        });

        let replacer = NameReplacer::new(
            names
                .into_iter()
                .map(|(name, group, idx)| (name, group, list[idx].label.clone()))
                .collect(),
        );
        Speakers {
            list,
            by_id,
            agent,
            system,
            facilitator,
            replacer,
        }
    }

    /// The speaker of a message, or `None` for a child id that is not in the participant
    /// list (a child whose name we do not know cannot be exported safely).
    pub fn resolve(&self, kind: SpeakerKind, id: Option<i64>) -> Option<usize> {
        if let Some(&idx) = id.and_then(|id| self.by_id.get(&(kind, id))) {
            return Some(idx);
        }
        match kind {
            SpeakerKind::Child => None,
            SpeakerKind::Agent => Some(self.agent),
            SpeakerKind::Facilitator => Some(self.facilitator),
            SpeakerKind::System => Some(self.system),
        }
    }

    pub fn get(&self, idx: usize) -> &Speaker {
        &self.list[idx]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, &Speaker)> {
        self.list.iter().enumerate()
    }

    /// Replaces names in `text` (already [`clean_text`]ed) said in group `group`.
    pub fn replace_names<'a>(&self, text: &'a str, group: Option<usize>) -> Cow<'a, str> {
        self.replacer.replace(text, group)
    }
}

/// A consent record as exported: the note with names replaced, the recorder as a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedConsent {
    pub kind: String,
    pub given_on: String,
    pub note: String,
    /// The recording facilitator's label, or `command line`.
    pub recorded_by: String,
    pub recorded_at_ms: i64,
}

impl Speakers {
    /// The session's consent records, pseudonymised like the transcript.
    pub fn consents(&self, session: &SessionExport) -> Vec<ExportedConsent> {
        session
            .consents
            .iter()
            .map(|c| ExportedConsent {
                kind: c.kind.clone(),
                given_on: c.given_on.clone(),
                note: self.replace_names(&clean_text(&c.note), None).into_owned(),
                recorded_by: match c.recorded_by {
                    Some(id) => self
                        .resolve(SpeakerKind::Facilitator, Some(id))
                        .map_or_else(|| "Facilitator".to_owned(), |i| self.get(i).label.clone()),
                    None => "command line".to_owned(),
                },
                recorded_at_ms: c.recorded_at_ms,
            })
            .collect()
    }
}

fn clean_name(name: &str) -> String {
    name.trim().nfc().collect()
}

/// Normalises a message text the same way for every format, so that all formats carry the
/// same characters and QDA character positions agree with the CSV: Unicode NFC, line breaks
/// as `\n`, and characters XML 1.0 cannot carry (C0 controls other than tab and newline,
/// U+FFFE, U+FFFF) as U+FFFD.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    let needs_fix =
        |c: char| (c < ' ' && c != '\n' && c != '\t') || c == '\u{FFFE}' || c == '\u{FFFF}';
    let ascii_clean = text
        .bytes()
        .all(|b| (0x20..0x80).contains(&b) || b == b'\n' || b == b'\t');
    if ascii_clean {
        return Cow::Borrowed(text);
    }
    let nfc = is_nfc_quick(text.chars()) == IsNormalized::Yes;
    if nfc && !text.chars().any(needs_fix) {
        return Cow::Borrowed(text);
    }
    let source: Cow<'_, str> = if nfc {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    };
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c if needs_fix(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn word_regex() -> &'static Regex {
    static WORD: OnceLock<Regex> = OnceLock::new();
    WORD.get_or_init(|| Regex::new(r"^\w").expect("valid regex"))
}

/// Unicode `\w`, as the regex crate defines it.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let mut buf = [0u8; 4];
    word_regex().is_match(c.encode_utf8(&mut buf))
}

/// Characters of scripts that do not separate words with spaces, where a whole-word rule
/// would never match.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x31F0..=0x31FF // Katakana extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x3134F // CJK extensions B-G
    )
}

/// Whether `outside` next to the name's edge character `edge` joins them into one word.
fn continues_word(outside: char, edge: char) -> bool {
    is_word_char(outside) && !is_unspaced_script(outside) && !is_unspaced_script(edge)
}

/// (group index, label) of every person sharing a name.
type Targets = Vec<(Option<usize>, String)>;

#[derive(Debug)]
struct NameEntry {
    name: String,
    /// `(?i)^name`, compiled on first use: only needed when the longest name at a position
    /// fails the whole-word test and a shorter one is tried.
    anchored: OnceLock<Regex>,
    /// Everyone with this name, in numbering order.
    targets: Targets,
    /// Shorter names that are prefixes of this one (longest first): the only other names that
    /// can match where this one matched but failed the whole-word test.
    shorter_prefixes: Vec<usize>,
}

/// Finds names as whole words, longest first; see the module documentation for the rule.
///
/// One case-insensitive alternation of all names (longest first, so leftmost-first
/// semantics yields the longest name at a position) finds candidates; the matched text's
/// lower case identifies the name, so the work per candidate does not grow with the number
/// of names.
#[derive(Debug)]
struct NameReplacer {
    any: Option<Regex>,
    entries: Vec<NameEntry>,
    by_lower: HashMap<String, usize>,
}

impl NameReplacer {
    fn new(names: Vec<(String, Option<usize>, String)>) -> Self {
        let mut grouped: Vec<(String, Targets)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (name, group, label) in names {
            if name.is_empty() {
                continue;
            }
            let key = name.to_lowercase();
            match index.get(&key) {
                Some(&i) => grouped[i].1.push((group, label)),
                None => {
                    index.insert(key, grouped.len());
                    grouped.push((name, vec![(group, label)]));
                }
            }
        }
        // Longest first (in characters), then alphabetical for a deterministic order.
        grouped.sort_by(|a, b| {
            b.0.chars()
                .count()
                .cmp(&a.0.chars().count())
                .then_with(|| a.0.cmp(&b.0))
        });
        if grouped.is_empty() {
            return NameReplacer {
                any: None,
                entries: Vec::new(),
                by_lower: HashMap::new(),
            };
        }
        let alternation = grouped
            .iter()
            .map(|(n, _)| regex::escape(n))
            .collect::<Vec<_>>()
            .join("|");
        let any = RegexBuilder::new(&alternation)
            .case_insensitive(true)
            .size_limit(256 << 20)
            .build()
            .expect("escaped names form a valid regex");
        let lower: Vec<String> = grouped.iter().map(|(n, _)| n.to_lowercase()).collect();
        let by_lower = lower
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i))
            .collect();
        let entries = grouped
            .into_iter()
            .enumerate()
            .map(|(i, (name, targets))| NameEntry {
                name,
                anchored: OnceLock::new(),
                targets,
                shorter_prefixes: (i + 1..lower.len())
                    .filter(|&j| lower[i].starts_with(&lower[j]) && lower[j].len() < lower[i].len())
                    .collect(),
            })
            .collect();
        NameReplacer {
            any: Some(any),
            entries,
            by_lower,
        }
    }

    /// The entry matching at `start` as a whole word, with the end of the match.
    fn whole_word_at(
        &self,
        text: &str,
        start: usize,
        longest: &str,
    ) -> Option<(&NameEntry, usize)> {
        let whole_word = |end: usize, matched: &str| {
            let last = matched.chars().next_back()?;
            (!text[end..]
                .chars()
                .next()
                .is_some_and(|next| continues_word(next, last)))
            .then_some(end)
        };
        let try_entry = |e: &NameEntry| {
            let re = e.anchored.get_or_init(|| {
                RegexBuilder::new(&format!("^(?:{})", regex::escape(&e.name)))
                    .case_insensitive(true)
                    .build()
                    .expect("an escaped name is a valid regex")
            });
            let m = re.find(&text[start..])?;
            whole_word(start + m.end(), m.as_str())
        };
        match self.by_lower.get(&longest.to_lowercase()) {
            Some(&i) => {
                let e = &self.entries[i];
                if let Some(end) = whole_word(start + longest.len(), longest) {
                    return Some((e, end));
                }
                e.shorter_prefixes
                    .iter()
                    .find_map(|&j| Some((&self.entries[j], try_entry(&self.entries[j])?)))
            }
            // Lower-casing and the regex's case folding disagree (rare scripts): try all.
            None => self.entries.iter().find_map(|e| Some((e, try_entry(e)?))),
        }
    }

    fn replace<'a>(&self, text: &'a str, group: Option<usize>) -> Cow<'a, str> {
        let Some(any) = &self.any else {
            return Cow::Borrowed(text);
        };
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut pos = 0;
        while pos < text.len() {
            let Some(m) = any.find_at(text, pos) else {
                break;
            };
            let start = m.start();
            let first = text[start..]
                .chars()
                .next()
                .expect("a match starts at a character");
            let next_char = first.len_utf8();
            if text[..start]
                .chars()
                .next_back()
                .is_some_and(|prev| continues_word(prev, first))
            {
                pos = start + next_char;
                continue;
            }
            match self.whole_word_at(text, start, m.as_str()) {
                Some((entry, end)) => {
                    let label = entry
                        .targets
                        .iter()
                        .find(|(g, _)| group.is_some() && *g == group)
                        .unwrap_or(&entry.targets[0])
                        .1
                        .as_str();
                    let buf = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                    buf.push_str(&text[copied..start]);
                    buf.push_str(label);
                    copied = end;
                    pos = end;
                }
                None => pos = start + next_char,
            }
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut buf) => {
                buf.push_str(&text[copied..]);
                Cow::Owned(buf)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AgentRole, Group, Participant};

    fn participant(
        id: i64,
        kind: SpeakerKind,
        nick: &str,
        group: Option<i64>,
        joined: i64,
    ) -> Participant {
        Participant {
            id,
            kind,
            nickname: nick.to_owned(),
            avatar: None,
            group_id: group,
            joined_at_ms: joined,
        }
    }

    fn session(participants: Vec<Participant>) -> SessionExport {
        SessionExport {
            session_id: 1,
            activity: "a".into(),
            language: "en".into(),
            started_at_ms: 0,
            ended_at_ms: None,
            exported_at_ms: 0,
            agent_name: "Blue".into(),
            groups: vec![
                Group {
                    id: 10,
                    name: "Tigers".into(),
                    condition: AgentRole::Moderator,
                },
                Group {
                    id: 20,
                    name: "Owls".into(),
                    condition: AgentRole::Participant,
                },
            ],
            participants,
            consents: Vec::new(),
        }
    }

    fn replacer(names: &[(&str, Option<usize>, &str)]) -> NameReplacer {
        NameReplacer::new(
            names
                .iter()
                .map(|(n, g, l)| (n.to_string(), *g, l.to_string()))
                .collect(),
        )
    }

    #[test]
    fn numbering_follows_group_then_joining_order() {
        let s = session(vec![
            participant(5, SpeakerKind::Child, "Zoë", Some(20), 1),
            participant(3, SpeakerKind::Child, "Mia", Some(10), 9),
            participant(4, SpeakerKind::Child, "Ali", Some(10), 2),
            participant(1, SpeakerKind::Facilitator, "Ms Jones", None, 0),
            participant(2, SpeakerKind::Facilitator, "Mr Khan", None, 5),
        ]);
        let sp = Speakers::new(&s, PseudonymMode::Numbered);
        let label = |k, id| sp.get(sp.resolve(k, Some(id)).unwrap()).label.clone();
        assert_eq!(label(SpeakerKind::Child, 4), "Child 1");
        assert_eq!(label(SpeakerKind::Child, 3), "Child 2");
        assert_eq!(label(SpeakerKind::Child, 5), "Child 3");
        assert_eq!(label(SpeakerKind::Facilitator, 1), "Facilitator");
        assert_eq!(label(SpeakerKind::Facilitator, 2), "Facilitator 2");
        assert_eq!(
            sp.get(sp.resolve(SpeakerKind::Agent, None).unwrap()).label,
            "Blue (AI)"
        );
        assert_eq!(
            sp.get(sp.resolve(SpeakerKind::System, None).unwrap()).label,
            "System"
        );
        assert_eq!(
            sp.get(sp.resolve(SpeakerKind::Facilitator, Some(99)).unwrap())
                .label,
            "Facilitator"
        );
        assert_eq!(sp.resolve(SpeakerKind::Child, Some(99)), None);
        assert_eq!(sp.resolve(SpeakerKind::Child, None), None);
        assert_eq!(
            sp.replace_names("Mia and ali asked Ms Jones, zoë agreed", Some(0)),
            "Child 2 and Child 1 asked Facilitator, Child 3 agreed"
        );
    }

    #[test]
    fn nickname_mode_keeps_children_but_not_facilitators() {
        let s = session(vec![
            participant(1, SpeakerKind::Child, " Mia ", Some(10), 1),
            participant(2, SpeakerKind::Child, "mia", Some(20), 1),
            participant(3, SpeakerKind::Facilitator, "Ms Jones", None, 0),
        ]);
        let sp = Speakers::new(&s, PseudonymMode::Nicknames);
        let label = |id| {
            sp.get(sp.resolve(SpeakerKind::Child, Some(id)).unwrap())
                .label
                .clone()
        };
        assert_eq!(label(1), "Mia");
        assert_eq!(label(2), "mia (2)");
        assert_eq!(
            sp.replace_names("Mia asked Ms Jones", Some(0)),
            "Mia asked Facilitator"
        );
    }

    #[test]
    fn whole_words_only_case_insensitive_unicode() {
        let r = replacer(&[
            ("Mia", None, "Child 1"),
            ("Élodie", None, "Child 2"),
            ("Łukasz", None, "Child 3"),
        ]);
        assert_eq!(
            r.replace("Mia's idea, MIA! @mia.", None),
            "Child 1's idea, Child 1! @Child 1."
        );
        assert_eq!(
            r.replace("Miami and Amia and Mia_x and Mia2", None),
            "Miami and Amia and Mia_x and Mia2"
        );
        assert_eq!(r.replace("ÉLODIE und élodie", None), "Child 2 und Child 2");
        assert_eq!(r.replace("łukasz🙂Łukaszek", None), "Child 3🙂Łukaszek");
        // A combining mark continues the word: "Mia" followed by U+0301 is not the name.
        assert_eq!(r.replace("Mia\u{301}", None), "Mia\u{301}");
        assert!(matches!(r.replace("nothing here", None), Cow::Borrowed(_)));
    }

    #[test]
    fn scripts_without_spaces() {
        let r = replacer(&[
            ("日向", None, "Child 1"),
            ("Mia", None, "Child 2"),
            ("สมชาย", None, "Child 3"),
        ]);
        assert_eq!(
            r.replace("こんにちは日向さん", None),
            "こんにちはChild 1さん"
        );
        assert_eq!(r.replace("Mia日本", None), "Child 2日本");
        assert_eq!(r.replace("สวัสดีสมชายครับ", None), "สวัสดีChild 3ครับ");
        assert_eq!(r.replace("xMia", None), "xMia");
    }

    #[test]
    fn longest_name_wins_and_falls_back_to_shorter() {
        let r = replacer(&[
            ("Ann", None, "Child 1"),
            ("Ann Marie", None, "Child 2"),
            ("Mia", None, "Child 3"),
            ("Miami", None, "Child 4"),
        ]);
        assert_eq!(r.replace("Ann Marie and Ann", None), "Child 2 and Child 1");
        assert_eq!(r.replace("Ann Maries", None), "Child 1 Maries");
        assert_eq!(r.replace("Miami, Mia", None), "Child 4, Child 3");
    }

    #[test]
    fn many_names() {
        let names: Vec<(String, Option<usize>, String)> = (0..2000)
            .map(|i| (format!("Kid{i}"), None, format!("Child {}", i + 1)))
            .collect();
        let r = NameReplacer::new(names);
        assert_eq!(
            r.replace("kid7 and KID1999 but not Kid20000 or Kid", None),
            "Child 8 and Child 2000 but not Kid20000 or Kid"
        );
    }

    #[test]
    fn shared_name_prefers_own_group() {
        let r = replacer(&[("Sam", Some(0), "Child 1"), ("Sam", Some(1), "Child 5")]);
        assert_eq!(r.replace("hi Sam", Some(1)), "hi Child 5");
        assert_eq!(r.replace("hi Sam", Some(0)), "hi Child 1");
        assert_eq!(r.replace("hi Sam", None), "hi Child 1");
    }

    #[test]
    fn regex_metacharacters_in_names() {
        let r = replacer(&[
            ("J.J.", None, "Child 1"),
            ("(x)", None, "Child 2"),
            ("🦄", None, "Child 3"),
        ]);
        assert_eq!(
            r.replace("J.J. and JxJx and (x) 🦄🦄", None),
            "Child 1 and JxJx and Child 2 Child 3Child 3"
        );
    }

    #[test]
    fn cleaning() {
        assert!(matches!(clean_text("plain text\n"), Cow::Borrowed(_)));
        assert!(matches!(clean_text("Zoë 🦄"), Cow::Borrowed(_)));
        assert_eq!(
            clean_text("a\r\nb\rc\u{7}d\u{FFFF}"),
            "a\nb\nc\u{FFFD}d\u{FFFD}"
        );
        assert_eq!(clean_text("Zoe\u{308}"), "Zoë");
    }

    #[test]
    fn agent_labels() {
        assert_eq!(agent_label("Blue"), "Blue (AI)");
        assert_eq!(agent_label("Blue (AI)"), "Blue (AI)");
        assert_eq!(agent_label("  "), "Agent (AI)");
    }
}
