//! Fallback lines: what the agent says when the model's words were dropped twice.
//!
//! A small model sometimes copies its instruction or a child's line, or writes nothing usable.
//! The cleaner drops such a reply and the agent tries once more; when the retry is dropped too,
//! the agent used to stay silent, which is exactly the study's complaint (an AI peer that does
//! not answer in time) and Deliberate Lab's (agents that stall when the chat goes idle). Now a
//! child who asked still gets an answer, a quiet child is still invited, a silent group still
//! gets a question or an idea: a short line written by people, in the session's language
//! (`prompts/fallbacks/<language>.toml`). The line is stored and shown like any reply; its
//! agent event carries this file's version instead of the role template's, so researchers can
//! always tell the model's words from these.
//!
//! The choice is deterministic (the n-th fallback of an intent in a room takes the n-th line),
//! so a simulated session replays the same way.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::policy::Intent;
use super::prompt::{check_variables, PromptError};
use crate::data_files::{files_in, line_of};
use crate::store::AgentRole;

const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("../../../prompts/fallbacks/en.toml")),
    ("de", include_str!("../../../prompts/fallbacks/de.toml")),
    ("fr", include_str!("../../../prompts/fallbacks/fr.toml")),
    ("es", include_str!("../../../prompts/fallbacks/es.toml")),
];

/// The key of the lines that open a session (the first phase's announcement).
const OPENING: &str = "open";

/// The variables a fallback line may use.
pub const VARIABLES: &[&str] = &[
    "name",
    "child",
    "activity_title",
    "phase_name",
    "phase_goal",
    "spark",
];

/// What a line is filled with.
#[derive(Debug, Clone, Default)]
pub struct LineVars<'a> {
    pub name: &'a str,
    /// The child the speech is for (the one who asked, the one invited).
    pub child: Option<&'a str>,
    pub activity_title: &'a str,
    pub phase_name: &'a str,
    pub phase_goal: &'a str,
    /// An idea from the activity's `sparks`, for the participant.
    pub spark: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    moderator: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    participant: BTreeMap<String, Vec<String>>,
}

/// One language's lines, per role and intent.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageLines {
    moderator: BTreeMap<String, Vec<String>>,
    participant: BTreeMap<String, Vec<String>>,
    /// `fallback-<language>-<hash>`, recorded with every line said.
    pub version: String,
}

/// A line chosen for a speech.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub text: String,
    pub version: String,
}

impl LanguageLines {
    /// Checks one file (`file` only names it in errors).
    pub fn parse(language: &str, text: &str, file: &str) -> Result<LanguageLines, PromptError> {
        check_variables(text, file, VARIABLES)?;
        let raw: RawFile = toml::from_str(text).map_err(|e| PromptError::Malformed {
            file: file.into(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            reason: e.message().trim().to_string(),
        })?;
        let table = |lines: BTreeMap<String, Vec<String>>| {
            let mut out = BTreeMap::new();
            for (key, list) in lines {
                let line = key_line(text, &key);
                if key != OPENING && Intent::parse(&key).is_none() {
                    return Err(PromptError::Malformed {
                        file: file.into(),
                        line,
                        reason: format!(
                            "unknown intent `{key}`; known intents: {}, and {OPENING} (the first phase's announcement)",
                            Intent::ALL.map(Intent::as_str).join(", ")
                        ),
                    });
                }
                let mut kept = Vec::with_capacity(list.len());
                for l in list {
                    let l = l.trim().to_string();
                    if l.is_empty() || l.chars().count() > 300 {
                        return Err(PromptError::Malformed {
                            file: file.into(),
                            line,
                            reason: format!("`{key}`: a line must have 1 to 300 characters"),
                        });
                    }
                    kept.push(l);
                }
                out.insert(key, kept);
            }
            Ok(out)
        };
        let digest = Sha256::digest(text.as_bytes());
        Ok(LanguageLines {
            moderator: table(raw.moderator)?,
            participant: table(raw.participant)?,
            version: format!("fallback-{language}-{}", &hex::encode(digest)[..10]),
        })
    }

    /// The `nth` usable line for this speech, or None when the file has none for it. Lines
    /// using a variable without a value (no child, no spark, no phase) are skipped. The first phase's
    /// announcement (`opening`) takes the `open` lines when there are some.
    pub fn choose(
        &self,
        role: AgentRole,
        intent: Intent,
        opening: bool,
        nth: usize,
        vars: &LineVars<'_>,
    ) -> Option<Chosen> {
        let table = match role {
            AgentRole::Moderator => &self.moderator,
            AgentRole::Participant => &self.participant,
            AgentRole::None => return None,
        };
        let key = match table.get(OPENING) {
            Some(_) if opening && intent == Intent::AnnouncePhase => OPENING,
            _ => intent.as_str(),
        };
        let usable: Vec<&String> = table.get(key)?.iter().filter(|l| vars.fills(l)).collect();
        if usable.is_empty() {
            return None;
        }
        let line = usable[nth % usable.len()];
        Some(Chosen {
            text: fill(line, vars),
            version: self.version.clone(),
        })
    }
}

/// Every language's lines: the shipped ones, replaced or extended by
/// `prompts_dir/fallbacks/<language>.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallbacks {
    languages: BTreeMap<String, LanguageLines>,
}

impl Fallbacks {
    pub fn built_in() -> Fallbacks {
        let languages = BUILT_IN
            .iter()
            .map(|(lang, text)| {
                let file = format!("(built-in) fallbacks/{lang}.toml");
                let lines = LanguageLines::parse(lang, text, &file)
                    .expect("the shipped fallback lines are valid");
                (lang.to_string(), lines)
            })
            .collect();
        Fallbacks { languages }
    }

    /// The built-ins plus every `*.toml` under `prompts_dir/fallbacks` (named by language
    /// code, e.g. `it.toml`). A missing folder is fine; a bad file is an error.
    pub fn load(prompts_dir: &Path) -> Result<Fallbacks, PromptError> {
        let mut out = Fallbacks::built_in();
        for path in files_in(&prompts_dir.join("fallbacks"), "toml") {
            let shown = path.display().to_string();
            let lang = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_lowercase();
            let text = std::fs::read_to_string(&path).map_err(|cause| PromptError::Unreadable {
                file: shown.clone(),
                cause,
            })?;
            let lines = LanguageLines::parse(&lang, &text, &shown)?;
            out.languages.insert(lang, lines);
        }
        Ok(out)
    }

    /// The lines of a session's language (its code, e.g. `en`), if any were written.
    pub fn language(&self, code: &str) -> Option<&LanguageLines> {
        self.languages.get(code.trim().to_lowercase().as_str())
    }
}

impl LineVars<'_> {
    fn values(&self) -> [(&'static str, &str); 6] {
        [
            ("name", self.name),
            ("child", self.child.unwrap_or("")),
            ("activity_title", self.activity_title),
            ("phase_name", self.phase_name),
            ("phase_goal", self.phase_goal),
            ("spark", self.spark.unwrap_or("")),
        ]
    }

    /// Whether every variable `line` uses has a value (no "Time for the next part: ." after
    /// the last phase, no "Good question, !" without a child).
    fn fills(&self, line: &str) -> bool {
        self.values().iter().all(|(name, value)| {
            !value.trim().is_empty() || !line.contains(&format!("{{{{{name}}}}}"))
        })
    }
}

fn fill(line: &str, v: &LineVars<'_>) -> String {
    let mut out = line.to_string();
    for (name, value) in v.values() {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// The first line of `text` containing `needle` (1 when not found).
fn key_line(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(child: Option<&'a str>, spark: Option<&'a str>) -> LineVars<'a> {
        LineVars {
            name: "Blue",
            child,
            activity_title: "A playground everyone can play on",
            phase_name: "Ideas",
            phase_goal: "Collect many ideas.",
            spark: spark.map(|s| s as &str),
        }
    }

    #[test]
    fn shipped_languages_cover_what_each_role_says() {
        let f = Fallbacks::built_in();
        for lang in ["en", "de", "fr", "es"] {
            let l = f.language(lang).unwrap();
            for intent in [
                Intent::Answer,
                Intent::InviteQuiet,
                Intent::Redirect,
                Intent::Summarise,
                Intent::AnnouncePhase,
                Intent::AskQuestion,
                Intent::Escalate,
            ] {
                let c = l.choose(
                    AgentRole::Moderator,
                    intent,
                    false,
                    0,
                    &vars(Some("Mia"), None),
                );
                assert!(c.is_some(), "{lang}: moderator {intent:?}");
            }
            for intent in [
                Intent::Answer,
                Intent::ContributeIdea,
                Intent::AskQuestion,
                Intent::AnnouncePhase,
            ] {
                let c = l.choose(
                    AgentRole::Participant,
                    intent,
                    false,
                    0,
                    &vars(Some("Mia"), None),
                );
                assert!(c.is_some(), "{lang}: participant {intent:?}");
            }
        }
        let open = f.language("en").unwrap().choose(
            AgentRole::Moderator,
            Intent::AnnouncePhase,
            true,
            0,
            &vars(None, None),
        );
        assert!(
            open.unwrap().text.starts_with("Hi everyone"),
            "the opening has its own lines"
        );
        assert!(f.language("EN").is_some());
        assert!(f.language("xx").is_none());
    }

    #[test]
    fn lines_are_filled_rotated_and_skipped_when_a_variable_is_missing() {
        let text = r#"
[participant]
contribute_idea = ["What if {{spark}}?", "I wonder what {{child}} would add."]
answer = ["Good question, {{child}}!"]
"#;
        let l = LanguageLines::parse("en", text, "t.toml").unwrap();
        let with_both = vars(Some("Mia"), Some("we add a quiet corner"));
        let first = l
            .choose(
                AgentRole::Participant,
                Intent::ContributeIdea,
                false,
                0,
                &with_both,
            )
            .unwrap();
        assert_eq!(first.text, "What if we add a quiet corner?");
        assert!(first.version.starts_with("fallback-en-"));
        let second = l
            .choose(
                AgentRole::Participant,
                Intent::ContributeIdea,
                false,
                1,
                &with_both,
            )
            .unwrap();
        assert_eq!(second.text, "I wonder what Mia would add.");
        // Without a spark only the second line is usable, whatever n is.
        let no_spark = vars(Some("Mia"), None);
        for n in 0..3 {
            let c = l
                .choose(
                    AgentRole::Participant,
                    Intent::ContributeIdea,
                    false,
                    n,
                    &no_spark,
                )
                .unwrap();
            assert_eq!(c.text, "I wonder what Mia would add.");
        }
        let after_the_last_phase = LineVars {
            phase_name: "",
            phase_goal: "",
            ..vars(None, None)
        };
        let text = "[moderator]\nannounce_phase = [\"Next: {{phase_name}}!\"]\n";
        let m = LanguageLines::parse("en", text, "t.toml").unwrap();
        assert!(m
            .choose(
                AgentRole::Moderator,
                Intent::AnnouncePhase,
                false,
                0,
                &after_the_last_phase
            )
            .is_none());
        assert!(l
            .choose(
                AgentRole::Participant,
                Intent::Answer,
                false,
                0,
                &vars(None, None)
            )
            .is_none());
        assert!(l
            .choose(AgentRole::Moderator, Intent::Answer, false, 0, &with_both)
            .is_none());
    }

    #[test]
    fn bad_files_name_file_line_and_reason() {
        let e = LanguageLines::parse("en", "[moderator]\nanswer = [\"Hi {{kid}}\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml:2") && e.contains("{{kid}}"), "{e}");
        let e = LanguageLines::parse("en", "[moderator]\nshout = [\"Hi\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.toml:2") && e.contains("unknown intent `shout`"),
            "{e}"
        );
        let e = LanguageLines::parse("en", "[teacher]\nanswer = [\"Hi\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml:1") && e.contains("teacher"), "{e}");
        let e = LanguageLines::parse("en", "[moderator]\nanswer = \"Hi\"\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml:2"), "{e}");
        let e = LanguageLines::parse("en", "[moderator]\nanswer = [\"  \"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 to 300 characters"), "{e}");
    }

    #[test]
    fn a_folder_adds_languages_and_refuses_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fallbacks")).unwrap();
        std::fs::write(
            dir.path().join("fallbacks/it.toml"),
            "[moderator]\nanswer = [\"Bella domanda, {{child}}!\"]\n",
        )
        .unwrap();
        let f = Fallbacks::load(dir.path()).unwrap();
        let it = f.language("it").unwrap();
        let c = it
            .choose(
                AgentRole::Moderator,
                Intent::Answer,
                false,
                0,
                &vars(Some("Mia"), None),
            )
            .unwrap();
        assert_eq!(c.text, "Bella domanda, Mia!");
        assert!(f.language("en").is_some(), "built-ins stay");
        std::fs::write(dir.path().join("fallbacks/nl.toml"), "[moderator\n").unwrap();
        let e = Fallbacks::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("nl.toml:1"), "{e}");
    }
}
