//! The child-safety screen: a rule-based check of every message before the group sees it.
//!
//! Why rules and not only a model: children aged 8-14 chat here, the teacher watches, and the
//! screen sits in the message pipeline (validate -> screen -> persist -> ack -> broadcast), so it
//! must decide in well under a millisecond, the same way every time, in four languages, and a
//! teacher or researcher must be able to read why it decided (the word lists are data files,
//! `prompts/safety/<language>.toml`, with comments). None of the school chat products we
//! looked at (Khanmigo, SchoolAI, MagicSchool; Llama Guard as a classifier) documents hiding a
//! child's personal data from the other children; this screen does that first.
//!
//! What it decides ([`Action`], least severe first):
//! - **Redact**: personal data (email, phone, address, handle or link, real name, school,
//!   password, birth date) is replaced by the language's placeholder in what the group sees
//!   ([`Verdict::shown`]); the teacher sees the original. At the standard level mild words
//!   ("damn") are masked ("d**n") the same way.
//! - **Hold**: harm (profanity, insults aimed at someone, threats, sexual content, hate,
//!   attempts to misuse the AI) is kept back for the teacher; the child gets a kind note.
//! - **Urgent**: a safeguarding disclosure ("my dad hits me", "I want to die") is held and the
//!   teacher must be alerted at once; the child's note thanks them and says the teacher will
//!   talk with them, never cheerful.
//!
//! How: the message is cut into words with their byte ranges and folded (case, accents,
//! full-width, look-alike letters, leet, masks, stretched and spaced-out letters:
//! [`normalize`]); one Aho-Corasick automaton per language finds every list entry on whole
//! words ([`words`]); idioms exempt what they contain ("this is killing me", "ich lach mich
//! tot"); insult words count only when aimed at someone ("Sam is so dumb", not "that idea is
//! dumb"); structural rules find disclosures, hate, sexual requests, jailbreaks, threats and
//! real-name cues from the roles of the words in a clause ("hits" + "me", "want to" +
//! "disappear": [`structure`]), so new wording is found too; regular expressions compiled once
//! find personal data ([`personal`]). Nicknames are
//! checked at the join page ([`nickname`]), the agent's sentences before they are sent
//! ([`agent`]).
//!
//! The screen is a value: cheap to clone (an `Arc` inside), `Send + Sync`, no I/O after
//! loading.

pub mod agent;
pub mod classifier;
pub mod nickname;
pub mod normalize;
pub mod personal;
pub mod rules_file;
pub mod structure;
pub mod verdict;
pub mod words;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use nickname::NicknameProblem;
pub use normalize::skeleton;
pub use verdict::{Action, Category, Finding, Level, Verdict};

use crate::data_files::files_in;
use personal::Patterns;
use rules_file::{LanguageRules, Shared};
use words::{Hit, Kind};

const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("../../../prompts/safety/en.toml")),
    ("de", include_str!("../../../prompts/safety/de.toml")),
    ("fr", include_str!("../../../prompts/safety/fr.toml")),
    ("es", include_str!("../../../prompts/safety/es.toml")),
];

/// The language notes and messages fall back to.
const FALLBACK_LANGUAGE: &str = "en";
const FALLBACK_PLACEHOLDER: &str = "[hidden]";

/// Word 8-grams of recent system prompts by the prompt's hash, for the agent's leak check.
pub(crate) type PromptGrams = Mutex<Vec<(u64, Arc<HashSet<u64>>)>>;

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    #[error("{file}:{line}: {reason}")]
    Malformed {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: cannot be read: {cause}")]
    Unreadable { file: String, cause: std::io::Error },
}

/// One message to screen.
#[derive(Debug, Clone)]
pub struct ScreenInput<'a> {
    pub text: &'a str,
    /// The session's language code ("en", "de", "fr", "es", or any other: then only the
    /// language-independent checks run).
    pub language: &'a str,
    pub level: Level,
    /// Nicknames of the group's children and the agent's name (for insults aimed at someone by
    /// name, and so "@Mia" is a mention rather than a handle); may be empty.
    pub names: &'a [String],
}

/// The screen: every language's rules and the shared patterns.
#[derive(Debug, Clone)]
pub struct Screen {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    languages: BTreeMap<String, LanguageRules>,
    patterns: Patterns,
    shared: Shared,
    /// Word 8-grams of recent system prompts, for the agent's prompt-leak check.
    prompt_grams: PromptGrams,
}

impl Screen {
    /// The shipped rules (`prompts/safety/{en,de,fr,es}.toml`, compiled into the binary).
    pub fn built_in() -> Screen {
        let languages = BUILT_IN
            .iter()
            .map(|(lang, text)| {
                let file = format!("(built-in) safety/{lang}.toml");
                let rules = LanguageRules::parse(lang, text, &file)
                    .unwrap_or_else(|e| panic!("the shipped safety rules are valid: {e}"));
                (lang.to_string(), rules)
            })
            .collect();
        Screen::from_languages(languages)
    }

    /// The built-ins, each language replaced by `prompts_dir/safety/<language>.toml` when
    /// there is one, and new languages added (e.g. `it.toml`). A missing folder is fine; a
    /// bad file is an error naming its file and line.
    pub fn load(prompts_dir: &Path) -> Result<Screen, SafetyError> {
        let mut languages: BTreeMap<String, LanguageRules> =
            Screen::built_in().inner.languages.clone();
        for path in files_in(&prompts_dir.join("safety"), "toml") {
            let shown = path.display().to_string();
            let lang = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_lowercase();
            let text = std::fs::read_to_string(&path).map_err(|cause| SafetyError::Unreadable {
                file: shown.clone(),
                cause,
            })?;
            let rules = LanguageRules::parse(&lang, &text, &shown)?;
            languages.insert(lang, rules);
        }
        Ok(Screen::from_languages(languages))
    }

    fn from_languages(languages: BTreeMap<String, LanguageRules>) -> Screen {
        let mut shared = Shared::default();
        for r in languages.values() {
            let s = &r.shared;
            shared.password.extend(s.password.iter().cloned());
            shared.secret_words.extend(s.secret_words.iter().cloned());
            shared.possessives.extend(s.possessives.iter().cloned());
            shared.months.extend(s.months.iter().cloned());
            shared.school_words.extend(s.school_words.iter().cloned());
            shared
                .school_connectors
                .extend(s.school_connectors.iter().cloned());
            shared.street_after.extend(s.street_after.iter().cloned());
            shared.street_before.extend(s.street_before.iter().cloned());
            shared.street_suffix.extend(s.street_suffix.iter().cloned());
            shared.number_words.extend(s.number_words.iter().cloned());
            shared.reserved.extend(s.reserved.iter().cloned());
            shared.never_inside.extend(s.never_inside.iter().cloned());
            shared.first_names.extend(s.first_names.iter().cloned());
            shared.common.extend(s.common.iter().cloned());
        }
        let patterns = Patterns::new(&shared);
        Screen {
            inner: Arc::new(Inner {
                languages,
                patterns,
                shared,
                prompt_grams: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The languages with a rules file, sorted.
    pub fn languages(&self) -> Vec<&str> {
        self.inner.languages.keys().map(String::as_str).collect()
    }

    fn rules(&self, language: &str) -> Option<&LanguageRules> {
        let code = language.trim().to_lowercase();
        let primary = code.split(['-', '_']).next().unwrap_or("");
        self.inner.languages.get(primary)
    }

    /// A child's (or facilitator's) message.
    pub fn check(&self, input: &ScreenInput) -> Verdict {
        let findings = self.findings(input.text, input.language, input.names);
        Verdict::from_findings(
            input.text,
            findings,
            input.level,
            self.placeholder(input.language),
        )
    }

    /// Every finding in `text`, of any level.
    fn findings(&self, text: &str, language: &str, names: &[String]) -> Vec<Finding> {
        let tokens = normalize::tokens(text);
        let rules = self.rules(language);
        let mut hits: Vec<Hit> = rules.map_or_else(Vec::new, |r| r.matcher.find(text, &tokens));
        let exempt: Vec<&Hit> = hits.iter().filter(|h| h.kind == Kind::Exempt).collect();
        let inside_idiom = |h: &Hit| {
            exempt
                .iter()
                .any(|e| e.words.start < h.words.end && h.words.start < e.words.end)
        };
        let span = |h: &Hit| tokens[h.words.start].span.start..tokens[h.words.end - 1].span.end;
        let mut findings = Vec::new();
        let named: HashSet<String> = names
            .iter()
            .flat_map(|n| normalize::tokens(n).into_iter().map(|t| t.text))
            .collect();
        for h in &hits {
            match h.kind {
                Kind::Harm(category) if !inside_idiom(h) => findings.push(Finding {
                    category,
                    span: span(h),
                }),
                Kind::Aimed if !inside_idiom(h) => {
                    if let Some(r) = rules {
                        if aimed(&tokens, h, r, &named, &self.inner.patterns) {
                            findings.push(Finding {
                                category: Category::Insult,
                                span: span(h),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(r) = rules {
            let found = structure::find(text, &tokens, &hits, r.settings);
            findings.extend(found.findings);
            hits.extend(found.cues);
        }
        findings.extend(self.inner.patterns.find(text, &tokens, &hits, rules, names));
        findings
    }

    /// The agent's output, one sentence at a time: see [`agent`].
    pub fn check_agent(&self, text: &str, language: &str, system_prompt: &str) -> Verdict {
        agent::check(self, text, language, system_prompt)
    }

    /// The private note for the child who wrote a message of `category`, in words a
    /// nine-year-old reads, in `language` (English when that language has none).
    pub fn note(&self, language: &str, category: Category) -> String {
        self.rules(language)
            .and_then(|r| r.notes.get(&category))
            .or_else(|| {
                self.inner
                    .languages
                    .get(FALLBACK_LANGUAGE)
                    .and_then(|r| r.notes.get(&category))
            })
            .cloned()
            .unwrap_or_else(|| "Your message was kept back for your teacher to read.".to_string())
    }

    /// What replaces hidden personal data in `language` ("[hidden]", "[versteckt]", ...).
    pub fn placeholder(&self, language: &str) -> &str {
        self.rules(language)
            .and_then(|r| r.placeholder.as_deref())
            .or_else(|| {
                self.inner
                    .languages
                    .get(FALLBACK_LANGUAGE)
                    .and_then(|r| r.placeholder.as_deref())
            })
            .unwrap_or(FALLBACK_PLACEHOLDER)
    }

    /// Whether `nickname` may be used: see [`nickname`].
    pub fn check_nickname(
        &self,
        nickname: &str,
        language: &str,
        reserved: &[&str],
        existing: &[&str],
    ) -> Result<(), NicknameProblem> {
        nickname::check(self, nickname, language, reserved, existing)
    }

    /// A nickname message from the language's file, English when it has none.
    pub(crate) fn nickname_message(&self, language: &str, code: &str) -> Option<String> {
        self.rules(language)
            .and_then(|r| r.nickname_messages.get(code))
            .or_else(|| {
                self.inner
                    .languages
                    .get(FALLBACK_LANGUAGE)
                    .and_then(|r| r.nickname_messages.get(code))
            })
            .cloned()
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    pub(crate) fn all_rules(&self) -> impl Iterator<Item = &LanguageRules> {
        self.inner.languages.values()
    }

    pub(crate) fn prompt_grams(&self) -> &PromptGrams {
        &self.inner.prompt_grams
    }

    /// The built-in screen, built once per test binary (building takes a while unoptimised).
    #[cfg(test)]
    pub(crate) fn for_tests() -> Screen {
        static SCREEN: std::sync::OnceLock<Screen> = std::sync::OnceLock::new();
        SCREEN.get_or_init(Screen::built_in).clone()
    }

    pub(crate) fn raw_findings(&self, text: &str, language: &str) -> Vec<Finding> {
        self.findings(text, language, &[])
    }
}

/// Whether an insult word is aimed at someone: "you", "du", "t'es", "eres" (the file's
/// `targets`) or a group member's name within four words before it (or two after: "qué
/// tonto eres"), or a capitalised word that is no common word followed by "is/ist/est/es"
/// ("Sam is so dumb", "Jonas ist so ein Opfer", but not "Die Idee ist doof": a German noun
/// after a determiner is no name); not after a negation ("you're not stupid").
fn aimed(
    tokens: &[normalize::Token],
    hit: &Hit,
    rules: &LanguageRules,
    names: &HashSet<String>,
    patterns: &Patterns,
) -> bool {
    let read = |k: usize| rules.matcher.read(&tokens[k].text);
    let from = hit.words.start.saturating_sub(4);
    let to = (hit.words.end + 2).min(tokens.len());
    let mut negated = false;
    for k in (from..hit.words.start).rev() {
        let w = read(k);
        if rules.negations.contains(w) {
            negated = true;
        }
        if rules.targets.contains(w) || names.contains(w) {
            return !negated;
        }
        let proper = tokens[k].capitalised
            && tokens[k].alpha
            && !rules.common.contains(w)
            && !patterns.is_common(w)
            && k + 1 < tokens.len()
            && rules.copulas.contains(read(k + 1))
            && (k == 0 || !rules.determiners.contains(read(k - 1)));
        if proper {
            return !negated;
        }
    }
    (hit.words.end..to).any(|k| rules.targets.contains(read(k)) || names.contains(read(k)))
}

#[cfg(test)]
mod tests;
