//! Word-list matching: every entry of a language's lists (harm words and phrases, idioms to
//! exempt, personal-data cues) in one Aho-Corasick automaton over the message's folded words,
//! so a message is scanned once however long the lists are.
//!
//! Entries match whole words only: the message's folded words are joined by single spaces
//! and every entry is searched as " entry ", so "ass" never fires inside "assassin" or "bass"
//! and "cunt" not inside "Scunthorpe". An entry is a word or a phrase; in it
//! - a trailing `*` makes the last word a prefix ("fuck*" also finds "fucking", "fucker");
//! - `{set}` stands for any entry of the file's `[sets]` table ("my {family} hits me");
//! - `...` stands for up to three other words ("ignore ... instructions"), `...+` for up to
//!   eight ("my dad ...+ hits me": "my dad gets really angry and hits me").
//!
//! Disguises beyond folding are tried word by word against the one-word entries: a masked
//! word ("f*ck", "d**n") with `*` as any letter, a stretched word cut to two letters
//! ("asss"), and letters spaced out one by one ("f u c k", "s.h.i.t").

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::normalize::{fold_words, Token};
use super::structure::Role;
use super::verdict::Category;

/// Cue phrases that make the words after them personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cue {
    /// "my real name is": the name words that follow are hidden.
    RealName,
    /// "my name is": only a first name plus surname that follow are hidden.
    Name,
    /// "my password is": the next word is hidden.
    Password,
    /// "born on", "my birthday is": a full date with a year nearby is hidden.
    Birth,
    /// "I live at", "my address is": the words up to the end of the sentence are hidden.
    Live,
    /// "I go to", "my school is": a named school that follows is hidden.
    School,
}

/// What an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Held (or masked, for mild words) wherever it appears.
    Harm(Category),
    /// An insult only when aimed at someone ("stupid" in "you're stupid", not in "this is stupid").
    Aimed,
    /// An idiom: harm and disclosure matches inside it are dropped ("this is killing me").
    Exempt,
    Cue(Cue),
    /// A word's part in a sentence, for the structural rules ([`super::structure`]).
    Role(Role),
}

/// An entry found in a message: its kind and the words it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: Kind,
    pub words: Range<usize>,
}

/// A bad entry (the caller adds the file and line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub entry: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Rule {
    kind: Kind,
    segments: usize,
    /// The most words between segment i and i + 1.
    gaps: Vec<usize>,
}

/// The compiled lists of one language.
#[derive(Debug, Clone)]
pub struct WordMatcher {
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern: the (rule, segment) pairs it stands for.
    targets: Vec<Vec<(usize, usize)>>,
    rules: Vec<Rule>,
    /// One-word entries (no prefix), for the disguise checks.
    singles: HashMap<String, Vec<Kind>>,
    /// One-word prefix entries.
    prefixes: Vec<(String, Kind)>,
    spellings: HashMap<String, String>,
}

/// The most words `...` stands for.
const GAP: usize = 3;
/// The most words `...+` stands for.
const LONG_GAP: usize = 8;
/// A set expansion larger than this is a mistake in the file, not a list.
const MAX_EXPANSION: usize = 5000;

impl WordMatcher {
    /// Compiles `entries`; `sets` are the `{name}` sets, `spellings` map a folded word to the
    /// word it is read as ("u" -> "you").
    pub fn new(
        entries: &[(String, Kind)],
        sets: &HashMap<String, Vec<String>>,
        spellings: &HashMap<String, String>,
    ) -> Result<WordMatcher, EntryError> {
        let spellings: HashMap<String, String> = spellings
            .iter()
            .map(|(k, v)| (fold_words(k), fold_words(v)))
            .collect();
        let mut patterns: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut targets: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut rules = Vec::new();
        let mut singles: HashMap<String, Vec<Kind>> = HashMap::new();
        let mut prefixes = Vec::new();
        for (entry, kind) in entries {
            let err = |reason: &str| EntryError {
                entry: entry.clone(),
                reason: reason.to_string(),
            };
            let trimmed = entry.trim();
            if trimmed.is_empty() {
                return Err(err("an entry must not be empty"));
            }
            let (body, prefix) = match trimmed.strip_suffix('*') {
                Some(b) if !b.ends_with('*') => (b.trim_end(), true),
                _ => (trimmed, false),
            };
            let mut segments: Vec<&str> = Vec::new();
            let mut gaps = Vec::new();
            for (i, part) in body.split("...").enumerate() {
                let part = match part.strip_prefix('+') {
                    Some(rest) if i > 0 => {
                        gaps.push(LONG_GAP);
                        rest
                    }
                    _ => {
                        if i > 0 {
                            gaps.push(GAP);
                        }
                        part
                    }
                };
                segments.push(part.trim());
            }
            if segments.iter().any(|s| s.is_empty()) {
                return Err(err("`...` must stand between words"));
            }
            let rule = rules.len();
            rules.push(Rule {
                kind: *kind,
                segments: segments.len(),
                gaps,
            });
            for (seg_i, seg) in segments.iter().enumerate() {
                let last = seg_i + 1 == segments.len();
                let phrases = expand(seg, sets).map_err(|r| err(&r))?;
                for phrase in phrases {
                    let folded = fold_phrase(&phrase, &spellings);
                    if folded.is_empty() {
                        return Err(err("an entry must have a letter or digit in every part"));
                    }
                    let is_prefix = prefix && last;
                    if segments.len() == 1 && !folded.contains(' ') {
                        if is_prefix {
                            prefixes.push((folded.clone(), *kind));
                        } else {
                            singles.entry(folded.clone()).or_default().push(*kind);
                        }
                    }
                    let pattern = if is_prefix {
                        format!(" {folded}")
                    } else {
                        format!(" {folded} ")
                    };
                    let id = *index.entry(pattern.clone()).or_insert_with(|| {
                        patterns.push(pattern);
                        targets.push(Vec::new());
                        patterns.len() - 1
                    });
                    if !targets[id].contains(&(rule, seg_i)) {
                        targets[id].push((rule, seg_i));
                    }
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| EntryError {
                        entry: String::new(),
                        reason: format!("the word lists cannot be compiled: {e}"),
                    })?,
            )
        };
        Ok(WordMatcher {
            automaton,
            targets,
            rules,
            singles,
            prefixes,
            spellings,
        })
    }

    /// The folded word as this language reads it ("u" -> "you").
    pub fn read<'a>(&'a self, word: &'a str) -> &'a str {
        self.spellings.get(word).map_or(word, String::as_str)
    }

    /// Every entry found in `tokens`, in no particular order (overlaps included).
    pub fn find(&self, text: &str, tokens: &[Token]) -> Vec<Hit> {
        let mut hits = Vec::new();
        let Some(ac) = &self.automaton else {
            return hits;
        };
        if tokens.is_empty() {
            return hits;
        }
        let mut joined = String::with_capacity(text.len() + tokens.len() + 2);
        let mut starts = Vec::with_capacity(tokens.len());
        joined.push(' ');
        for t in tokens {
            starts.push(joined.len());
            joined.push_str(self.read(&t.text));
            joined.push(' ');
        }
        let word_at = |byte: usize| starts.partition_point(|s| *s <= byte).saturating_sub(1);
        // Segment matches of multi-part rules, by rule.
        let mut partial: HashMap<usize, Vec<(usize, Range<usize>)>> = HashMap::new();
        for m in ac.find_overlapping_iter(&joined) {
            let first = word_at(m.start() + 1);
            let last = word_at(m.end().saturating_sub(2).max(m.start() + 1));
            let words = first..last + 1;
            for &(rule, seg) in &self.targets[m.pattern().as_usize()] {
                let r = &self.rules[rule];
                if r.segments == 1 {
                    hits.push(Hit {
                        kind: r.kind,
                        words: words.clone(),
                    });
                } else {
                    partial.entry(rule).or_default().push((seg, words.clone()));
                }
            }
        }
        for (rule, parts) in partial {
            let r = &self.rules[rule];
            for (seg, start) in parts.iter().filter(|(s, _)| *s == 0) {
                debug_assert_eq!(*seg, 0);
                if let Some(end) = chain(&parts, 1, start.end, r) {
                    hits.push(Hit {
                        kind: r.kind,
                        words: start.start..end,
                    });
                }
            }
        }
        self.find_disguised(text, tokens, &mut hits);
        hits
    }

    /// Masked, stretched and spaced-out words checked against the one-word entries.
    fn find_disguised(&self, text: &str, tokens: &[Token], hits: &mut Vec<Hit>) {
        for (i, t) in tokens.iter().enumerate() {
            if t.masked {
                for kind in self.wildcard(&t.text) {
                    hits.push(Hit {
                        kind,
                        words: i..i + 1,
                    });
                }
            }
            if let Some(alt) = &t.alt {
                for kind in self.single(alt) {
                    hits.push(Hit {
                        kind,
                        words: i..i + 1,
                    });
                }
            }
        }
        // Letters spaced out: runs of one-letter words with only spaces, dots, dashes or
        // underscores between them.
        let mut i = 0;
        while i < tokens.len() {
            let mut j = i;
            while j < tokens.len()
                && tokens[j].text.chars().count() == 1
                && tokens[j].alpha
                && (j == i || spacer(&text[tokens[j - 1].span.end..tokens[j].span.start]))
            {
                j += 1;
            }
            if j - i >= 3 {
                let run = &tokens[i..j.min(i + 24)];
                for a in 0..run.len() {
                    let mut word = String::new();
                    for (b, t) in run.iter().enumerate().skip(a) {
                        word.push_str(&t.text);
                        if b - a + 1 >= 3 {
                            let squeezed = squeeze_all(&word);
                            for kind in self.single(&word).into_iter().chain(self.single(&squeezed))
                            {
                                hits.push(Hit {
                                    kind,
                                    words: i + a..i + b + 1,
                                });
                            }
                        }
                    }
                }
                i = j;
            } else {
                i = j.max(i + 1);
            }
        }
    }

    /// The kinds of a one-word entry equal to `word` or a prefix entry it starts with.
    fn single(&self, word: &str) -> Vec<Kind> {
        let mut out: Vec<Kind> = self.singles.get(word).cloned().unwrap_or_default();
        for (p, kind) in &self.prefixes {
            if word.starts_with(p.as_str()) {
                out.push(*kind);
            }
        }
        out
    }

    /// The harm kinds of one-word entries a masked word can stand for: `*` is any one letter,
    /// the first letter and at least two letters in all must be shown ("f*ck", "d**n", not "***k").
    fn wildcard(&self, masked: &str) -> Vec<Kind> {
        let chars: Vec<char> = masked.chars().collect();
        let shown = chars.iter().filter(|c| **c != '*').count();
        if shown < 2 || chars[0] == '*' {
            return Vec::new();
        }
        let fits = |word: &str, prefix: bool| {
            let w: Vec<char> = word.chars().collect();
            let n = if prefix {
                w.len().min(chars.len())
            } else {
                w.len()
            };
            (w.len() == chars.len() || (prefix && chars.len() > w.len()))
                && chars[..n]
                    .iter()
                    .zip(&w[..n])
                    .all(|(m, c)| *m == '*' || m == c)
        };
        let mut out = Vec::new();
        for (word, kinds) in &self.singles {
            if fits(word, false) {
                out.extend(
                    kinds
                        .iter()
                        .filter(|k| matches!(k, Kind::Harm(_) | Kind::Aimed)),
                );
            }
        }
        for (word, kind) in &self.prefixes {
            if matches!(kind, Kind::Harm(_)) && fits(word, true) {
                out.push(*kind);
            }
        }
        out
    }
}

/// The end word of a chain of segment matches `seg..`, each starting at most the rule's gap
/// after the previous one ended.
fn chain(parts: &[(usize, Range<usize>)], seg: usize, after: usize, rule: &Rule) -> Option<usize> {
    if seg == rule.segments {
        return Some(after);
    }
    let gap = rule.gaps[seg - 1];
    parts
        .iter()
        .filter(|(s, w)| *s == seg && w.start >= after && w.start - after <= gap)
        .find_map(|(_, w)| chain(parts, seg + 1, w.end, rule))
}

fn spacer(gap: &str) -> bool {
    !gap.is_empty() && gap.len() <= 3 && gap.chars().all(|c| matches!(c, ' ' | '.' | '-' | '_'))
}

fn squeeze_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// An entry's folded words, with the language's spellings applied.
fn fold_phrase(phrase: &str, spellings: &HashMap<String, String>) -> String {
    fold_words(phrase)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| spellings.get(w).map_or(w, String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every phrase `segment` stands for, with `{set}` replaced by each member of the set.
fn expand(segment: &str, sets: &HashMap<String, Vec<String>>) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| "a `{` without its `}`".to_string())?;
        let name = rest[open + 1..close].trim();
        let members = sets.get(name).ok_or_else(|| {
            let mut known: Vec<&str> = sets.keys().map(String::as_str).collect();
            known.sort();
            format!(
                "unknown set {{{name}}}; the file's [sets] are: {}",
                known.join(", ")
            )
        })?;
        let before = &rest[..open];
        let mut next = Vec::with_capacity(out.len() * members.len());
        for o in &out {
            for m in members {
                next.push(format!("{o}{before}{m}"));
            }
        }
        if next.len() > MAX_EXPANSION {
            return Err(format!("expands to more than {MAX_EXPANSION} phrases"));
        }
        out = next;
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` without its `{`".to_string());
    }
    for o in &mut out {
        o.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::normalize::tokens;
    use super::*;

    fn matcher(entries: &[(&str, Kind)]) -> WordMatcher {
        let sets: HashMap<String, Vec<String>> = [
            (
                "family".to_string(),
                vec!["dad".into(), "step dad".into(), "mum".into()],
            ),
            ("hit".to_string(), vec!["hits".into(), "hit".into()]),
        ]
        .into();
        let spellings: HashMap<String, String> = [("u".to_string(), "you".to_string())].into();
        let entries: Vec<(String, Kind)> =
            entries.iter().map(|(e, k)| (e.to_string(), *k)).collect();
        WordMatcher::new(&entries, &sets, &spellings).unwrap()
    }

    fn found(m: &WordMatcher, text: &str) -> Vec<(Kind, String)> {
        let toks = tokens(text);
        let mut out: Vec<(Kind, String)> = m
            .find(text, &toks)
            .into_iter()
            .map(|h| {
                let span = toks[h.words.start].span.start..toks[h.words.end - 1].span.end;
                (h.kind, text[span].to_string())
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out.dedup();
        out
    }

    const P: Kind = Kind::Harm(Category::Profanity);
    const D: Kind = Kind::Harm(Category::Disclosure);

    #[test]
    fn whole_words_prefixes_and_disguises() {
        let m = matcher(&[("ass", P), ("fuck*", P), ("shit", P), ("cunt", P)]);
        for benign in [
            "Scunthorpe",
            "assassin",
            "bass drum",
            "Middlesex",
            "classes",
        ] {
            assert!(found(&m, benign).is_empty(), "{benign}");
        }
        assert_eq!(found(&m, "what the FUCKING hell"), [(P, "FUCKING".into())]);
        for bad in [
            "f*ck", "sh1t", "f u c k", "s.h.i.t", "fuuuuck", "asss", "a$$", "sh!t",
        ] {
            assert_eq!(found(&m, bad).len(), 1, "{bad}");
        }
        assert!(found(&m, "***k").is_empty());
        assert!(found(&m, "I a m").is_empty());
    }

    #[test]
    fn sets_gaps_and_spellings() {
        let m = matcher(&[
            ("my {family} ... {hit} me", D),
            ("everyone hates you", Kind::Harm(Category::Insult)),
        ]);
        assert_eq!(found(&m, "my dad hits me").len(), 1);
        assert_eq!(found(&m, "My step-dad always hit me").len(), 1);
        assert!(found(&m, "my dad helps me").is_empty());
        assert!(found(&m, "my dad said that the ball hit me").is_empty());
        let long = matcher(&[("my {family} ...+ {hit} me", D)]);
        assert_eq!(
            found(&long, "my dad gets really angry and hits me").len(),
            1
        );
        assert_eq!(
            found(&m, "everyone hates u"),
            [(Kind::Harm(Category::Insult), "everyone hates u".into())]
        );
    }

    #[test]
    fn bad_entries() {
        let sets = HashMap::new();
        let sp = HashMap::new();
        let bad = |e: &str| {
            WordMatcher::new(&[(e.to_string(), P)], &sets, &sp)
                .unwrap_err()
                .reason
        };
        assert!(bad("  ").contains("empty"));
        assert!(bad("my {pets} bite").contains("unknown set {pets}"));
        assert!(bad("ignore ...").contains("..."));
        assert!(bad("!!").contains("letter"));
    }
}
