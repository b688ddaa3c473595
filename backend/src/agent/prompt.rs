//! What the agent is told: role templates with named variables, the instruction for one reply,
//! and the conversation as the model sees it.
//!
//! A role template (`prompts/roles/<role>.txt`) has up to three parts:
//! - the system prompt, first: what stays the same for the whole session (the role, the
//!   activity, the rules), so it is evaluated once and shared by every group of the session;
//! - after a line `### situation`, optionally: what changes during it (the phase, the
//!   children). It goes into the conversation as a note at the point where it changed, so a
//!   new phase or a child who joins adds a few tokens to evaluate instead of invalidating the
//!   engine's cache of the whole chat (a phase in the system prompt cost the moderator a full
//!   re-evaluation, seconds, at every phase change);
//! - after a line `### turn`: the instruction for one reply (its intent), appended after the
//!   conversation.
//!
//! Variables are written `{{name}}`; a template naming a variable that does not exist is
//! refused at load with its file, line and variable, so a typo never reaches a classroom.
//! Every reply records the template's version: a short hash of its text.
//!
//! What the model writes back is judged elsewhere ([`super::reply_check`]): this module only
//! builds the input, so a change to the wording of the prompts never touches the checks.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::policy::Intent;
use crate::data_files::{files_in, line_of};
use crate::engine::ChatMessage;
use crate::store::AgentRole;

const BUILT_IN_MODERATOR: &str = include_str!("../../../prompts/roles/moderator.txt");
const BUILT_IN_PARTICIPANT: &str = include_str!("../../../prompts/roles/participant.txt");

/// The variables a template may use.
pub const VARIABLES: &[&str] = &[
    "name",
    "activity_title",
    "problem",
    "phase_name",
    "phase_goal",
    "phase_aim",
    "children",
    "language",
    "intent",
];

const TURN_MARKER: &str = "### turn";
const SITUATION_MARKER: &str = "### situation";

/// Why a role template was refused.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{file}:{line}: unknown variable {{{{{variable}}}}}; known variables: {known}")]
    UnknownVariable {
        file: String,
        line: usize,
        variable: String,
        known: String,
    },
    #[error("{file}:{line}: {reason}")]
    Malformed {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: cannot be read: {cause}")]
    Unreadable { file: String, cause: std::io::Error },
    #[error(
        "unknown role {0:?}: the agent's roles are moderator and participant (none means no agent)"
    )]
    UnknownRole(String),
}

/// One role's template, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub role: AgentRole,
    system: String,
    /// Empty when the template keeps everything in its system prompt.
    situation: String,
    turn: String,
    /// A short hash of the template's text, stored with every reply.
    pub version: String,
}

impl Template {
    /// Checks `text` (from `file`, for error messages).
    pub fn parse(role: AgentRole, text: &str, file: &str) -> Result<Template, PromptError> {
        check_variables(text, file, VARIABLES)?;
        let (system, turn) = match text.find(TURN_MARKER) {
            Some(at) => (&text[..at], &text[at + TURN_MARKER.len()..]),
            None => {
                return Err(PromptError::Malformed {
                    file: file.into(),
                    line: text.lines().count().max(1),
                    reason: format!("no `{TURN_MARKER}` line separating the system prompt from the reply instruction"),
                })
            }
        };
        if turn.contains(SITUATION_MARKER) {
            return Err(PromptError::Malformed {
                file: file.into(),
                line: line_of(text, text.rfind(SITUATION_MARKER).unwrap_or(0)),
                reason: format!("`{SITUATION_MARKER}` must come before `{TURN_MARKER}`"),
            });
        }
        if !turn.contains("{{intent}}") {
            return Err(PromptError::Malformed {
                file: file.into(),
                line: line_of(text, text.find(TURN_MARKER).unwrap_or(0)),
                reason: "the part after `### turn` must use {{intent}}".into(),
            });
        }
        let (system, situation) = match system.find(SITUATION_MARKER) {
            Some(at) => (&system[..at], &system[at + SITUATION_MARKER.len()..]),
            None => (system, ""),
        };
        let digest = Sha256::digest(text.as_bytes());
        Ok(Template {
            role,
            system: system.trim().to_string(),
            situation: situation.trim().to_string(),
            turn: turn.trim().to_string(),
            version: format!("{}-{}", role.as_str(), &hex::encode(digest)[..10]),
        })
    }

    pub fn render_system(&self, vars: &Vars) -> String {
        substitute(&self.system, vars, "")
    }

    /// The note on the phase and the children, None when the template has no such part.
    pub fn render_situation(&self, vars: &Vars) -> Option<String> {
        (!self.situation.is_empty()).then(|| substitute(&self.situation, vars, ""))
    }

    /// Everything the agent is told before the chat, as one text (what a reply must not copy).
    pub fn render_instructions(&self, vars: &Vars) -> String {
        match self.render_situation(vars) {
            Some(situation) => format!("{}\n{situation}", self.render_system(vars)),
            None => self.render_system(vars),
        }
    }

    pub fn render_turn(&self, vars: &Vars, intent: &str) -> String {
        substitute(&self.turn, vars, intent)
    }
}

/// The role templates in use: the built-in ones, replaced by `prompts_dir/roles/*.txt`, and
/// the fallback lines (`prompts_dir/fallbacks/*.toml`).
#[derive(Debug, Clone)]
pub struct Templates {
    pub moderator: Template,
    pub participant: Template,
    /// What the agent says when the model's words are dropped twice.
    pub fallbacks: super::fallback::Fallbacks,
}

impl Templates {
    pub fn built_in() -> Templates {
        Templates {
            moderator: Template::parse(
                AgentRole::Moderator,
                BUILT_IN_MODERATOR,
                "(built-in) roles/moderator.txt",
            )
            .expect("the shipped moderator template is valid"),
            participant: Template::parse(
                AgentRole::Participant,
                BUILT_IN_PARTICIPANT,
                "(built-in) roles/participant.txt",
            )
            .expect("the shipped participant template is valid"),
            fallbacks: super::fallback::Fallbacks::built_in(),
        }
    }

    /// The built-ins, overridden by the folder's files. Any other `.txt` in `roles/` names an
    /// unknown role and is refused.
    pub fn load(prompts_dir: &Path) -> Result<Templates, PromptError> {
        let mut t = Templates::built_in();
        t.fallbacks = super::fallback::Fallbacks::load(prompts_dir)?;
        for path in files_in(&prompts_dir.join("roles"), "txt") {
            let shown = path.display().to_string();
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let role = parse_agent_role(&stem)?;
            let text = std::fs::read_to_string(&path).map_err(|cause| PromptError::Unreadable {
                file: shown.clone(),
                cause,
            })?;
            let template = Template::parse(role, &text, &shown)?;
            match role {
                AgentRole::Moderator => t.moderator = template,
                _ => t.participant = template,
            }
        }
        Ok(t)
    }

    pub fn for_role(&self, role: AgentRole) -> Option<&Template> {
        match role {
            AgentRole::Moderator => Some(&self.moderator),
            AgentRole::Participant => Some(&self.participant),
            AgentRole::None => None,
        }
    }
}

/// A role the agent can take (`none` is not one: it means no agent).
pub fn parse_agent_role(s: &str) -> Result<AgentRole, PromptError> {
    match s.trim() {
        "moderator" => Ok(AgentRole::Moderator),
        "participant" => Ok(AgentRole::Participant),
        other => Err(PromptError::UnknownRole(other.to_string())),
    }
}

/// The values of a template's variables.
pub type Vars = BTreeMap<&'static str, String>;

/// Refuses a `{{name}}` that is not in `known`, or a `{{` left open, with its line in `text`.
pub(crate) fn check_variables(text: &str, file: &str, known: &[&str]) -> Result<(), PromptError> {
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(PromptError::Malformed {
                file: file.into(),
                line: line_of(text, offset + start),
                reason: "`{{` without a closing `}}`".into(),
            });
        };
        let name = after[..end].trim();
        if !known.contains(&name) {
            return Err(PromptError::UnknownVariable {
                file: file.into(),
                line: line_of(text, offset + start),
                variable: name.to_string(),
                known: known.join(", "),
            });
        }
        offset += start + 2 + end + 2;
        rest = &text[offset..];
    }
    Ok(())
}

fn substitute(text: &str, vars: &Vars, intent: &str) -> String {
    let mut out = text.to_string();
    for name in VARIABLES {
        let value = if *name == "intent" {
            intent
        } else {
            vars.get(name).map_or("", String::as_str)
        };
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// The instruction for one reply. `target` is the child it is for, `guidance` a whisper.
pub fn intent_instruction(
    intent: Intent,
    role: AgentRole,
    target: Option<&str>,
    guidance: Option<&str>,
) -> String {
    let who = target.unwrap_or("a child who has not said much");
    match intent {
        Intent::Answer => format!("{} asked you something. Answer {} directly and kindly.", target.unwrap_or("A child"), target.unwrap_or("them")),
        Intent::InviteQuiet => format!("Kindly invite {who} by name to share an idea. Ask an easy, open question. Do not say they were quiet."),
        Intent::Redirect => "The talk has moved away from the problem. Gently bring everyone back to the problem with one question.".into(),
        Intent::Summarise => "Sum up the group's ideas in one or two sentences, naming who said what, and thank everyone.".into(),
        Intent::AnnouncePhase => match role {
            AgentRole::Moderator => "A new part of the activity starts now. In one sentence say what we do now, then ask the group a question about it.".into(),
            _ => "A new part of the activity starts now. Say you are ready and share one small idea.".into(),
        },
        Intent::ContributeIdea => "Share one new idea of your own that builds on what a child said. Name that child.".into(),
        Intent::AskQuestion => "Ask the group one open question about the problem that helps them think further.".into(),
        Intent::FollowGuidance => format!("Your teacher says: {}. Do this now in your own words.", guidance.unwrap_or("help the group")),
        Intent::Escalate => format!("{who} did not answer yet. Talk to {who} directly by name and make the question very easy, for example with two choices."),
    }
}

/// Who a line of the conversation is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    /// A child, or the teacher, by the name the group sees.
    Named(String),
    /// The agent itself.
    Agent,
    /// The room's note to the agent on the phase and the children (never shown to anyone).
    Room,
}

/// One line of the group's chat, as the prompt shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub speaker: Speaker,
    pub text: String,
}

impl Line {
    pub fn named(name: impl Into<String>, text: impl Into<String>) -> Line {
        Line {
            speaker: Speaker::Named(name.into()),
            text: text.into(),
        }
    }

    pub fn agent(text: impl Into<String>) -> Line {
        Line {
            speaker: Speaker::Agent,
            text: text.into(),
        }
    }

    pub fn room(text: impl Into<String>) -> Line {
        Line {
            speaker: Speaker::Room,
            text: text.into(),
        }
    }

    /// Said by a child or the teacher (not the agent, not the room's note).
    pub fn is_named(&self) -> bool {
        matches!(self.speaker, Speaker::Named(_))
    }
}

/// The messages for the engine: the system prompt, then the chat (children as `User`
/// messages `Name: text`, the agent's own as `Assistant`, the room's notes as `System`), then,
/// when `turn` is given, the instruction for this reply. Without `turn` it is the prefix to
/// prefill.
pub fn conversation(system: &str, lines: &[Line], turn: Option<&str>) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(lines.len() + 2);
    out.push(ChatMessage::system(system));
    for l in lines {
        out.push(match &l.speaker {
            Speaker::Named(name) => ChatMessage::user(format!("{name}: {}", l.text)),
            Speaker::Agent => ChatMessage::assistant(l.text.clone()),
            Speaker::Room => ChatMessage::system(l.text.clone()),
        });
    }
    if let Some(turn) = turn {
        out.push(ChatMessage::system(turn));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_load_and_have_versions() {
        let t = Templates::built_in();
        assert!(t.moderator.version.starts_with("moderator-"));
        assert_eq!(t.moderator.version.len(), "moderator-".len() + 10);
        assert_ne!(t.moderator.version, t.participant.version);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Templates::load(dir.path()).unwrap().participant,
            t.participant
        );
    }

    #[test]
    fn an_unknown_variable_is_refused_naming_file_line_and_variable() {
        let text = "You are {{name}}.\nThe problem: {{problme}}\n### turn\n{{intent}}";
        let e = Template::parse(AgentRole::Moderator, text, "roles/moderator.txt").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("roles/moderator.txt:2: unknown variable {{problme}}"),
            "{msg}"
        );
        let e = Template::parse(AgentRole::Moderator, "{{name", "m.txt").unwrap_err();
        assert!(e.to_string().contains("m.txt:1"), "{e}");
        let e =
            Template::parse(AgentRole::Moderator, "no turn part {{name}}", "m.txt").unwrap_err();
        assert!(e.to_string().contains("### turn"), "{e}");
        let e = Template::parse(
            AgentRole::Moderator,
            "x\n### turn\n{{intent}}\n### situation\ny",
            "m.txt",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.txt:4: `### situation` must come before"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_role_file_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("roles")).unwrap();
        std::fs::write(
            dir.path().join("roles/teacher.txt"),
            "x\n### turn\n{{intent}}",
        )
        .unwrap();
        let e = Templates::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("unknown role \"teacher\""), "{e}");
        assert!(parse_agent_role("none").is_err());
        assert_eq!(
            parse_agent_role("participant").unwrap(),
            AgentRole::Participant
        );
    }

    #[test]
    fn a_folder_template_replaces_the_built_in_and_changes_the_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("roles")).unwrap();
        std::fs::write(
            dir.path().join("roles/moderator.txt"),
            "I am {{name}}.\n### turn\nNow: {{intent}}",
        )
        .unwrap();
        let t = Templates::load(dir.path()).unwrap();
        assert_ne!(t.moderator.version, Templates::built_in().moderator.version);
        let vars: Vars = [("name", "Blue".to_string())].into_iter().collect();
        assert_eq!(t.moderator.render_system(&vars), "I am Blue.");
        assert_eq!(t.moderator.render_turn(&vars, "ask"), "Now: ask");
    }

    #[test]
    fn rendering_fills_every_variable() {
        let t = Templates::built_in();
        let vars: Vars = VARIABLES
            .iter()
            .filter(|v| **v != "intent")
            .map(|v| (*v, format!("<{v}>")))
            .collect();
        for tpl in [&t.moderator, &t.participant] {
            let s = tpl.render_instructions(&vars);
            assert!(!s.contains("{{"), "{s}");
            assert!(
                s.contains("<name>") && s.contains("<language>") && s.contains("<children>"),
                "{s}"
            );
            assert!(tpl.render_turn(&vars, "INTENT").contains("INTENT"));
        }
    }

    #[test]
    fn the_shipped_system_prompts_stay_the_same_through_phases_and_joins() {
        // What changes during a session lives in the situation note, so the engine's cache of
        // the system prompt and the chat survives a new phase or a child who joins.
        let t = Templates::built_in();
        let vars = |phase: &str, children: &str| -> Vars {
            [
                ("name", "Blue".to_string()),
                ("phase_name", phase.to_string()),
                ("phase_goal", format!("goal of {phase}")),
                ("phase_aim", format!("aim of {phase}")),
                ("children", children.to_string()),
            ]
            .into_iter()
            .collect()
        };
        for tpl in [&t.moderator, &t.participant] {
            let (a, b) = (vars("Warm-up", "Mia"), vars("Ideas", "Leo, Mia"));
            assert_eq!(tpl.render_system(&a), tpl.render_system(&b));
            let note = tpl.render_situation(&b).expect("a situation part");
            assert!(
                note.contains("Ideas") && note.contains("Leo, Mia"),
                "{note}"
            );
            assert_ne!(tpl.render_situation(&a), Some(note));
            assert!(tpl.render_instructions(&b).contains("goal of Ideas"));
        }
    }

    #[test]
    fn a_template_without_a_situation_part_keeps_everything_in_its_system_prompt() {
        let t = Template::parse(
            AgentRole::Moderator,
            "I am {{name}} in {{phase_name}}.\n### turn\n{{intent}}",
            "m.txt",
        )
        .unwrap();
        let vars: Vars = [("name", "Blue".into()), ("phase_name", "Ideas".into())]
            .into_iter()
            .collect();
        assert_eq!(t.render_system(&vars), "I am Blue in Ideas.");
        assert_eq!(t.render_situation(&vars), None);
        assert_eq!(t.render_instructions(&vars), "I am Blue in Ideas.");
        let t = Template::parse(
            AgentRole::Moderator,
            "I am {{name}}.\n### situation\nNow: {{phase_name}}.\n### turn\n{{intent}}",
            "m.txt",
        )
        .unwrap();
        assert_eq!(t.render_system(&vars), "I am Blue.");
        assert_eq!(t.render_situation(&vars).as_deref(), Some("Now: Ideas."));
        assert_eq!(t.render_instructions(&vars), "I am Blue.\nNow: Ideas.");
    }

    #[test]
    fn the_conversation_puts_children_as_users_and_the_turn_last() {
        let lines = vec![
            Line::room("Now: Ideas."),
            Line::named("Mia", "a slide"),
            Line::agent("Nice!"),
        ];
        let m = conversation("sys", &lines, Some("ask"));
        assert_eq!(m.len(), 5);
        assert_eq!(m[1], ChatMessage::system("Now: Ideas."));
        assert_eq!(m[2].content, "Mia: a slide");
        assert_eq!(m[3].role, crate::engine::Role::Assistant);
        assert_eq!(m[4], ChatMessage::system("ask"));
        // The prefill prefix is the same conversation without the turn.
        assert_eq!(conversation("sys", &lines, None)[..], m[..4]);
    }
}
