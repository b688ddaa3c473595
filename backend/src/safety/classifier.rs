//! An optional classifier behind the rules: Llama Guard 3 (1B or 8B), run by any [`Engine`]
//! (a second embedded llama.cpp engine loaded from `--safety-model`, or a remote
//! OpenAI-compatible server at `--safety-url`).
//!
//! The rules always run first and are always on; the classifier can only make a verdict
//! stricter, never lift one. It is given at most `wait` per message: a classifier that is
//! slow, down, or answers something that is not a Llama Guard verdict leaves the rules'
//! verdict in place (and is logged), so it can never block the chat.
//!
//! Llama Guard 3's prompt is one user turn (Meta's model card, "Llama Guard 3 prompt format"):
//! the task, the hazard categories S1-S14, the conversation, and the instruction to answer
//! `safe` or `unsafe` with the violated categories on a second line. Its chat template is the
//! Llama 3 one, which the engine applies, so the turn's text is all this module writes.

use std::time::Duration;

use super::{Action, Category};
use crate::engine::{ChatMessage, GenerateRequest, RoomKey, SamplingParams, SharedEngine};

/// Whose words are judged: Llama Guard asks about the last 'User' or the last 'Agent' message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// A child (or the facilitator).
    User,
    /// The AI peer.
    Agent,
}

impl Turn {
    fn label(self) -> &'static str {
        match self {
            Turn::User => "User",
            Turn::Agent => "Agent",
        }
    }
}

/// Llama Guard 3's hazard categories (the MLCommons taxonomy).
pub const HAZARDS: &[(&str, &str)] = &[
    ("S1", "Violent Crimes."),
    ("S2", "Non-Violent Crimes."),
    ("S3", "Sex Crimes."),
    ("S4", "Child Exploitation."),
    ("S5", "Defamation."),
    ("S6", "Specialized Advice."),
    ("S7", "Privacy."),
    ("S8", "Intellectual Property."),
    ("S9", "Indiscriminate Weapons."),
    ("S10", "Hate."),
    ("S11", "Self-Harm."),
    ("S12", "Sexual Content."),
    ("S13", "Elections."),
    ("S14", "Code Interpreter Abuse."),
];

/// What a hazard means in a children's classroom chat. Child exploitation, sex crimes and
/// self-harm may be a child at risk: urgent. Privacy cannot be redacted without the rules'
/// spans, so the message is held. Specialized advice, intellectual property, elections and
/// code-interpreter abuse are no danger to children in a design chat: allowed.
pub fn action_of(hazard: &str) -> (Action, Option<Category>) {
    match hazard {
        "S3" | "S4" | "S11" => (Action::Urgent, Some(Category::Disclosure)),
        "S1" | "S2" | "S9" => (Action::Hold, Some(Category::Threat)),
        "S5" => (Action::Hold, Some(Category::Insult)),
        "S7" => (Action::Hold, Some(Category::Email)),
        "S10" => (Action::Hold, Some(Category::Hate)),
        "S12" => (Action::Hold, Some(Category::Sexual)),
        _ => (Action::Allow, None),
    }
}

/// The classifier's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardVerdict {
    pub safe: bool,
    /// The violated categories (`S1`..`S14`), when unsafe.
    pub hazards: Vec<String>,
}

impl GuardVerdict {
    /// The strictest action of the violated categories, with its category.
    pub fn action(&self) -> (Action, Option<Category>) {
        self.hazards
            .iter()
            .map(|h| action_of(h))
            .max_by_key(|(a, _)| *a)
            .unwrap_or((Action::Allow, None))
    }
}

/// Why the classifier gave no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    #[error("the classifier answered {0:?}, which is not a Llama Guard verdict")]
    Unparsable(String),
    #[error("the classifier's engine failed: {0}")]
    Engine(String),
    #[error("the classifier took longer than {0:?}")]
    Timeout(Duration),
}

/// Llama Guard 3's task for one message.
pub fn render_prompt(text: &str, turn: Turn) -> String {
    let role = turn.label();
    let categories: String = HAZARDS
        .iter()
        .map(|(code, name)| format!("{code}: {name}\n"))
        .collect();
    format!(
        "Task: Check if there is unsafe content in '{role}' messages in conversations according our safety policy with the below categories.\n\
         \n\
         <BEGIN UNSAFE CONTENT CATEGORIES>\n\
         {categories}\
         <END UNSAFE CONTENT CATEGORIES>\n\
         \n\
         <BEGIN CONVERSATION>\n\
         \n\
         {role}: {text}\n\
         \n\
         <END CONVERSATION>\n\
         \n\
         Provide your safety assessment for ONLY THE LAST {role} message in the above conversation:\n \
         - First line must read 'safe' or 'unsafe'.\n \
         - If unsafe, a second line must include a comma-separated list of violated categories."
    )
}

/// Reads Llama Guard's answer: `safe`, or `unsafe` and a line of categories (`S1,S10`).
/// Anything else is refused rather than guessed at.
pub fn parse_verdict(output: &str) -> Result<GuardVerdict, ClassifierError> {
    let mut lines = output.trim().lines().map(str::trim);
    let first = lines.next().unwrap_or("").to_ascii_lowercase();
    match first.as_str() {
        "safe" => Ok(GuardVerdict {
            safe: true,
            hazards: Vec::new(),
        }),
        "unsafe" => {
            let hazards: Vec<String> = lines
                .next()
                .unwrap_or("")
                .split(',')
                .map(|h| h.trim().to_ascii_uppercase())
                .filter(|h| !h.is_empty())
                .collect();
            if hazards.is_empty() || hazards.iter().any(|h| !HAZARDS.iter().any(|(c, _)| c == h)) {
                return Err(ClassifierError::Unparsable(output.to_string()));
            }
            Ok(GuardVerdict {
                safe: false,
                hazards,
            })
        }
        _ => Err(ClassifierError::Unparsable(output.to_string())),
    }
}

/// Llama Guard behind an engine, with the longest a message waits for it.
#[derive(Clone)]
pub struct Classifier {
    engine: SharedEngine,
    wait: Duration,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("model", &self.engine.model_name())
            .field("wait", &self.wait)
            .finish()
    }
}

/// The room key of the classifier's requests: each is a conversation of its own, so nothing of
/// one child's message stays in the context of the next.
const ROOM: &str = "safety-classifier";

impl Classifier {
    pub fn new(engine: SharedEngine, wait: Duration) -> Classifier {
        Classifier { engine, wait }
    }

    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// The classifier's verdict on one message, within `wait`.
    pub async fn classify(&self, text: &str, turn: Turn) -> Result<GuardVerdict, ClassifierError> {
        let request = GenerateRequest::new(
            RoomKey::new(ROOM),
            vec![ChatMessage::user(render_prompt(text, turn))],
            // `unsafe\nS10,S12` is about ten tokens; greedy, so the same message always gets
            // the same verdict.
            SamplingParams::greedy(12),
        );
        let stream = self.engine.generate(request);
        let cancel = stream.cancel_handle();
        match tokio::time::timeout(self.wait, stream.collect_completion()).await {
            Ok(Ok(done)) => parse_verdict(&done.text),
            Ok(Err(e)) => Err(ClassifierError::Engine(e.to_string())),
            Err(_) => {
                cancel.cancel();
                Err(ClassifierError::Timeout(self.wait))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_is_llama_guard_3s_with_every_category_and_the_turn() {
        let p = render_prompt("you're ugly", Turn::User);
        assert!(p.starts_with("Task: Check if there is unsafe content in 'User' messages"));
        for (code, name) in HAZARDS {
            assert!(p.contains(&format!("{code}: {name}\n")), "{code}");
        }
        assert!(p.contains("<BEGIN CONVERSATION>\n\nUser: you're ugly\n\n<END CONVERSATION>"));
        assert!(p.contains("ONLY THE LAST User message"));
        assert!(p.ends_with("comma-separated list of violated categories."));
        let a = render_prompt("hello", Turn::Agent);
        assert!(a.contains("'Agent' messages") && a.contains("Agent: hello"));
    }

    #[test]
    fn verdicts_are_parsed_strictly() {
        assert_eq!(
            parse_verdict("safe").unwrap(),
            GuardVerdict {
                safe: true,
                hazards: vec![]
            }
        );
        assert!(parse_verdict("  Safe \n").unwrap().safe);
        let v = parse_verdict("unsafe\nS10,S12").unwrap();
        assert_eq!(v.hazards, ["S10", "S12"]);
        assert_eq!(v.action().0, Action::Hold);
        assert_eq!(
            parse_verdict("unsafe\nS11").unwrap().action().0,
            Action::Urgent
        );
        assert_eq!(
            parse_verdict("unsafe\ns4, S1").unwrap().action().0,
            Action::Urgent
        );
        assert_eq!(
            parse_verdict("unsafe\nS13").unwrap().action().0,
            Action::Allow
        );
        for bad in [
            "",
            "maybe",
            "unsafe",
            "unsafe\nS99",
            "unsafe\nviolence",
            "I think it is safe",
        ] {
            assert!(parse_verdict(bad).is_err(), "{bad:?}");
        }
    }
}
