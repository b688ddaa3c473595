//! One language's rules file, `prompts/safety/<language>.toml`: word lists, personal-data
//! cues, the placeholder, the notes for children and the nickname messages. Every section
//! is optional (a file for a new language can start with a few lists; missing notes fall back
//! to English), but what is there is checked: unknown keys, empty entries, unknown `{sets}`,
//! notes that are too long, all reported with the file and line.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use super::normalize::fold_words;
use super::structure::{Role, Settings};
use super::verdict::Category;
use super::words::{Cue, Kind, WordMatcher};
use super::SafetyError;
use crate::data_files::line_of;

/// Notes and nickname messages are read by children: short.
pub const MAX_NOTE_CHARS: usize = 200;
/// A placeholder replaces a word or two in a sentence.
pub const MAX_PLACEHOLDER_CHARS: usize = 24;

/// The nickname problems' codes, the keys of `[nickname.messages]`.
pub const NICKNAME_CODES: &[&str] = &[
    "rude",
    "real_name",
    "reserved",
    "invisible",
    "personal_data",
    "look_alike",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    placeholder: Option<String>,
    #[serde(default)]
    spellings: BTreeMap<String, String>,
    #[serde(default)]
    sets: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    words: RawWords,
    #[serde(default)]
    aimed: RawAimed,
    #[serde(default)]
    exempt: Vec<String>,
    #[serde(default)]
    personal: RawPersonal,
    #[serde(default)]
    common_words: Vec<String>,
    #[serde(default)]
    notes: BTreeMap<String, String>,
    #[serde(default)]
    nickname: RawNickname,
    /// Words by their part in a sentence, for the structural rules: `role = [entries]`.
    #[serde(default)]
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    structure: RawStructure,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructure {
    #[serde(default)]
    object_after_verb: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    #[serde(default)]
    profanity: Vec<String>,
    #[serde(default)]
    mild: Vec<String>,
    #[serde(default)]
    insult: Vec<String>,
    #[serde(default)]
    threat: Vec<String>,
    #[serde(default)]
    sexual: Vec<String>,
    #[serde(default)]
    hate: Vec<String>,
    #[serde(default)]
    jailbreak: Vec<String>,
    #[serde(default)]
    disclosure: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAimed {
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    copulas: Vec<String>,
    #[serde(default)]
    negations: Vec<String>,
    #[serde(default)]
    determiners: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPersonal {
    #[serde(default)]
    real_name: Vec<String>,
    #[serde(default)]
    name: Vec<String>,
    #[serde(default)]
    password: Vec<String>,
    #[serde(default)]
    secret_words: Vec<String>,
    #[serde(default)]
    possessives: Vec<String>,
    #[serde(default)]
    birth: Vec<String>,
    #[serde(default)]
    months: Vec<String>,
    #[serde(default)]
    live: Vec<String>,
    #[serde(default)]
    school: Vec<String>,
    #[serde(default)]
    school_words: Vec<String>,
    #[serde(default)]
    school_connectors: Vec<String>,
    #[serde(default)]
    street_after: Vec<String>,
    #[serde(default)]
    street_before: Vec<String>,
    #[serde(default)]
    street_suffix: Vec<String>,
    #[serde(default)]
    number_words: BTreeMap<String, u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNickname {
    #[serde(default)]
    reserved: Vec<String>,
    #[serde(default)]
    never_inside: Vec<String>,
    #[serde(default)]
    first_names: Vec<String>,
    #[serde(default)]
    messages: BTreeMap<String, String>,
}

/// One language's checked and compiled rules.
#[derive(Debug, Clone)]
pub struct LanguageRules {
    pub language: String,
    pub placeholder: Option<String>,
    pub matcher: WordMatcher,
    pub targets: HashSet<String>,
    pub copulas: HashSet<String>,
    pub negations: HashSet<String>,
    pub determiners: HashSet<String>,
    pub common: HashSet<String>,
    pub notes: HashMap<Category, String>,
    pub nickname_messages: HashMap<String, String>,
    pub settings: Settings,
    /// Lists the screen merges over all languages (personal-data patterns, nicknames).
    pub shared: Shared,
}

/// The lists every language's screen uses, merged over the files (an address or a
/// password cue in German is found in an English session too).
#[derive(Debug, Clone, Default)]
pub struct Shared {
    pub password: Vec<String>,
    pub secret_words: Vec<String>,
    pub possessives: Vec<String>,
    pub months: Vec<String>,
    pub school_words: Vec<String>,
    pub school_connectors: Vec<String>,
    pub street_after: Vec<String>,
    pub street_before: Vec<String>,
    pub street_suffix: Vec<String>,
    pub number_words: Vec<(String, u32)>,
    pub reserved: Vec<String>,
    pub never_inside: Vec<String>,
    pub first_names: Vec<String>,
    pub common: Vec<String>,
}

impl LanguageRules {
    /// Checks and compiles one file (`file` only names it in errors).
    pub fn parse(language: &str, text: &str, file: &str) -> Result<LanguageRules, SafetyError> {
        let bad = |line: usize, reason: String| SafetyError::Malformed {
            file: file.to_string(),
            line,
            reason,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            bad(
                e.span().map_or(1, |s| line_of(text, s.start)),
                e.message().trim().to_string(),
            )
        })?;
        let entry_line = |entry: &str| quoted_line(text, entry);

        // Empty entries anywhere are mistakes.
        let all_lists: Vec<(&str, &Vec<String>)> = vec![
            ("words.profanity", &raw.words.profanity),
            ("words.mild", &raw.words.mild),
            ("words.insult", &raw.words.insult),
            ("words.threat", &raw.words.threat),
            ("words.sexual", &raw.words.sexual),
            ("words.hate", &raw.words.hate),
            ("words.jailbreak", &raw.words.jailbreak),
            ("words.disclosure", &raw.words.disclosure),
            ("aimed.words", &raw.aimed.words),
            ("aimed.targets", &raw.aimed.targets),
            ("aimed.copulas", &raw.aimed.copulas),
            ("aimed.negations", &raw.aimed.negations),
            ("aimed.determiners", &raw.aimed.determiners),
            ("exempt", &raw.exempt),
            ("personal.real_name", &raw.personal.real_name),
            ("personal.name", &raw.personal.name),
            ("personal.password", &raw.personal.password),
            ("personal.secret_words", &raw.personal.secret_words),
            ("personal.possessives", &raw.personal.possessives),
            ("personal.birth", &raw.personal.birth),
            ("personal.months", &raw.personal.months),
            ("personal.live", &raw.personal.live),
            ("personal.school", &raw.personal.school),
            ("personal.school_words", &raw.personal.school_words),
            (
                "personal.school_connectors",
                &raw.personal.school_connectors,
            ),
            ("personal.street_after", &raw.personal.street_after),
            ("personal.street_before", &raw.personal.street_before),
            ("personal.street_suffix", &raw.personal.street_suffix),
            ("common_words", &raw.common_words),
            ("nickname.reserved", &raw.nickname.reserved),
            ("nickname.never_inside", &raw.nickname.never_inside),
            ("nickname.first_names", &raw.nickname.first_names),
        ];
        for (list, entries) in &all_lists {
            if let Some(_empty) = entries.iter().find(|e| fold_words(e).is_empty()) {
                let key = list.rsplit('.').next().unwrap_or(list);
                return Err(bad(
                    empty_entry_line(text, key),
                    format!("`{list}`: an entry must not be empty (and needs a letter or digit)"),
                ));
            }
        }
        for (name, members) in &raw.sets {
            if members.is_empty() || members.iter().any(|m| fold_words(m).is_empty()) {
                return Err(bad(
                    key_line(text, name),
                    format!("set `{name}`: a set needs entries, none of them empty"),
                ));
            }
        }
        for (name, members) in &raw.roles {
            if name.parse::<Role>().is_err() {
                return Err(bad(
                    key_line(text, name),
                    format!(
                        "unknown role `{name}`; the roles are: {}",
                        names(Role::ALL, |r| r.as_str())
                    ),
                ));
            }
            if members.iter().any(|m| fold_words(m).is_empty()) {
                return Err(bad(
                    empty_entry_line(text, name),
                    format!(
                        "role `{name}`: an entry must not be empty (and needs a letter or digit)"
                    ),
                ));
            }
        }
        let placeholder = match raw.placeholder {
            Some(p) => {
                let n = p.trim().chars().count();
                if n == 0 || n > MAX_PLACEHOLDER_CHARS {
                    return Err(bad(
                        key_line(text, "placeholder"),
                        format!("`placeholder` must have 1 to {MAX_PLACEHOLDER_CHARS} characters"),
                    ));
                }
                Some(p.trim().to_string())
            }
            None => None,
        };

        let mut entries: Vec<(String, Kind)> = Vec::new();
        let w = &raw.words;
        for (list, category) in [
            (&w.profanity, Category::Profanity),
            (&w.mild, Category::Mild),
            (&w.insult, Category::Insult),
            (&w.threat, Category::Threat),
            (&w.sexual, Category::Sexual),
            (&w.hate, Category::Hate),
            (&w.jailbreak, Category::Jailbreak),
            (&w.disclosure, Category::Disclosure),
        ] {
            entries.extend(list.iter().map(|e| (e.clone(), Kind::Harm(category))));
        }
        entries.extend(raw.aimed.words.iter().map(|e| (e.clone(), Kind::Aimed)));
        entries.extend(raw.exempt.iter().map(|e| (e.clone(), Kind::Exempt)));
        let p = &raw.personal;
        for (list, cue) in [
            (&p.real_name, Cue::RealName),
            (&p.name, Cue::Name),
            (&p.birth, Cue::Birth),
            (&p.live, Cue::Live),
            (&p.school, Cue::School),
        ] {
            entries.extend(list.iter().map(|e| (e.clone(), Kind::Cue(cue))));
        }
        for (name, list) in &raw.roles {
            let role: Role = name.parse().expect("checked above");
            entries.extend(list.iter().map(|e| (e.clone(), Kind::Role(role))));
        }
        let sets: HashMap<String, Vec<String>> = raw.sets.into_iter().collect();
        let spellings: HashMap<String, String> = raw.spellings.into_iter().collect();
        let matcher = WordMatcher::new(&entries, &sets, &spellings)
            .map_err(|e| bad(entry_line(&e.entry), format!("{:?}: {}", e.entry, e.reason)))?;

        let mut notes = HashMap::new();
        for (key, note) in raw.notes {
            let category: Category = key.parse().map_err(|_| {
                bad(
                    key_line(text, &key),
                    format!(
                        "unknown note `{key}`; notes are per category: {}",
                        names(Category::ALL, |c| c.as_str())
                    ),
                )
            })?;
            check_note(&note)
                .map_err(|r| bad(key_line(text, &key), format!("note `{key}`: {r}")))?;
            notes.insert(category, note.trim().to_string());
        }
        let mut nickname_messages = HashMap::new();
        for (key, message) in raw.nickname.messages {
            if !NICKNAME_CODES.contains(&key.as_str()) {
                return Err(bad(
                    key_line(text, &key),
                    format!(
                        "unknown nickname message `{key}`; known: {}",
                        NICKNAME_CODES.join(", ")
                    ),
                ));
            }
            check_note(&message)
                .map_err(|r| bad(key_line(text, &key), format!("message `{key}`: {r}")))?;
            nickname_messages.insert(key, message.trim().to_string());
        }

        let folded = |list: &[String]| -> HashSet<String> {
            list.iter()
                .map(|e| matcher.read(&fold_words(e)).to_string())
                .collect()
        };
        let shared = Shared {
            password: p.password.clone(),
            secret_words: p.secret_words.iter().map(|e| fold_words(e)).collect(),
            possessives: p.possessives.iter().map(|e| fold_words(e)).collect(),
            months: p.months.clone(),
            school_words: p.school_words.iter().map(|e| fold_words(e)).collect(),
            school_connectors: p.school_connectors.iter().map(|e| fold_words(e)).collect(),
            street_after: p.street_after.clone(),
            street_before: p.street_before.clone(),
            street_suffix: p.street_suffix.clone(),
            number_words: p
                .number_words
                .iter()
                .map(|(k, v)| (fold_words(k), *v))
                .collect(),
            reserved: raw.nickname.reserved.clone(),
            never_inside: raw
                .nickname
                .never_inside
                .iter()
                .map(|e| fold_words(e))
                .collect(),
            first_names: raw
                .nickname
                .first_names
                .iter()
                .map(|e| fold_words(e))
                .collect(),
            common: raw.common_words.iter().map(|e| fold_words(e)).collect(),
        };
        Ok(LanguageRules {
            language: language.to_string(),
            placeholder,
            targets: folded(&raw.aimed.targets),
            copulas: folded(&raw.aimed.copulas),
            negations: folded(&raw.aimed.negations),
            determiners: folded(&raw.aimed.determiners),
            common: folded(&raw.common_words),
            matcher,
            notes,
            nickname_messages,
            settings: Settings {
                object_after_verb: raw.structure.object_after_verb,
            },
            shared,
        })
    }
}

/// "a, b, c": the names an error message offers instead of an unknown key.
fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", ")
}

fn check_note(note: &str) -> Result<(), String> {
    let n = note.trim().chars().count();
    if n == 0 {
        return Err("must not be empty".into());
    }
    if n > MAX_NOTE_CHARS {
        return Err(format!(
            "has {n} characters; at most {MAX_NOTE_CHARS} (children read it)"
        ));
    }
    Ok(())
}

/// The line of the first `"entry"` in `text` (1 when not found).
fn quoted_line(text: &str, entry: &str) -> usize {
    text.find(&format!("\"{entry}\""))
        .or_else(|| text.find(&format!("'{entry}'")))
        .or_else(|| (!entry.is_empty()).then(|| text.find(entry)).flatten())
        .map_or(1, |at| line_of(text, at))
}

/// The line of an empty (or blank) entry: the first `""` after the list's key.
fn empty_entry_line(text: &str, key: &str) -> usize {
    let from = text
        .lines()
        .scan(0usize, |at, l| {
            let start = *at;
            *at += l.len() + 1;
            Some((start, l))
        })
        .find(|(_, l)| l.trim_start().starts_with(key))
        .map_or(0, |(at, _)| at);
    let rest = &text[from.min(text.len())..];
    let mut at = 0;
    let mut blank = None;
    while let Some(open) = rest[at..].find(['"', '\'']).map(|i| at + i) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        let Some(close) = rest[open + 1..].find(quote).map(|j| open + 1 + j) else {
            break;
        };
        if fold_words(&rest[open + 1..close]).is_empty() {
            blank = Some(open);
            break;
        }
        at = close + 1;
    }
    line_of(text, from + blank.unwrap_or(0))
}

/// The first line that starts with `key` (a table key or `key =`), 1 when none.
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches('"');
            l.starts_with(key)
                && l[key.len()..]
                    .trim_start()
                    .trim_start_matches('"')
                    .trim_start()
                    .starts_with('=')
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        LanguageRules::parse("xx", text, "safety/xx.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_small_file_is_enough() {
        let r =
            LanguageRules::parse("it", "[words]\nprofanity = [\"cazzo\"]\n", "it.toml").unwrap();
        assert!(r.placeholder.is_none() && r.notes.is_empty());
    }

    #[test]
    fn bad_files_name_the_file_and_line() {
        assert_eq!(
            err("placeholder = \"[x]\"\n[words]\nrude = [\"a\"]\n"),
            "safety/xx.toml:3: unknown field `rude`, expected one of `profanity`, `mild`, `insult`, `threat`, `sexual`, `hate`, `jailbreak`, `disclosure`"
        );
        assert_eq!(
            err("[words]\nprofanity = [\n  \"ok\",\n  \"\",\n]\n"),
            "safety/xx.toml:4: `words.profanity`: an entry must not be empty (and needs a letter or digit)"
        );
        assert!(err("[words]\ndisclosure = [\"my {pets} bite me\"]\n")
            .starts_with("safety/xx.toml:2: \"my {pets} bite me\": unknown set {pets}"));
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert!(err(&format!("[notes]\n\nemail = \"{long}\"\n"))
            .starts_with("safety/xx.toml:3: note `email`: has 201 characters"));
        assert!(
            err("[notes]\nemial = \"Hi\"\n").starts_with("safety/xx.toml:2: unknown note `emial`")
        );
        assert!(err("placeholder = \"\"\n").starts_with("safety/xx.toml:1: `placeholder`"));
        assert!(err("[nickname.messages]\nrud = \"Hi\"\n")
            .starts_with("safety/xx.toml:2: unknown nickname message `rud`"));
        assert!(err("[words]\nprofanity = \"not a list\"\n").starts_with("safety/xx.toml:2:"));
        assert!(err("[sets]\nfamily = []\n").starts_with("safety/xx.toml:2: set `family`"));
    }
}
