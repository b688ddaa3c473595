//! TEMPORARY stand-in with the safety screen's API while the real screen is built on its own
//! branch (safety/); replaced by it at the merge. Nothing here is used in a release.

pub mod classifier;

use std::ops::Range;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Allow,
    Redact,
    Hold,
    Urgent,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::Hold => "hold",
            Action::Urgent => "urgent",
        }
    }
}

impl std::str::FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "allow" => Action::Allow,
            "redact" => Action::Redact,
            "hold" => Action::Hold,
            "urgent" => Action::Urgent,
            o => return Err(format!("unknown action {o}")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Email,
    Phone,
    Insult,
    Disclosure,
    PromptLeak,
    Mild,
    Threat,
    Hate,
    Sexual,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Email => "email",
            Category::Phone => "phone",
            Category::Insult => "insult",
            Category::Disclosure => "disclosure",
            Category::PromptLeak => "prompt_leak",
            Category::Mild => "mild",
            Category::Threat => "threat",
            Category::Hate => "hate",
            Category::Sexual => "sexual",
        }
    }
    pub fn is_personal_data(self) -> bool {
        matches!(self, Category::Email | Category::Phone)
    }
}

impl std::str::FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "email" => Category::Email,
            "phone" => Category::Phone,
            "insult" => Category::Insult,
            "disclosure" => Category::Disclosure,
            "prompt_leak" => Category::PromptLeak,
            "mild" => Category::Mild,
            o => return Err(format!("unknown category {o}")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    Strict,
    #[default]
    Standard,
    Relaxed,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Strict => "strict",
            Level::Standard => "standard",
            Level::Relaxed => "relaxed",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "strict" => Level::Strict,
            "standard" => Level::Standard,
            "relaxed" => Level::Relaxed,
            o => return Err(format!("unknown level {o}")),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub category: Category,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub action: Action,
    pub category: Option<Category>,
    pub findings: Vec<Finding>,
    pub shown: String,
}

impl Verdict {
    pub fn allow(text: &str) -> Verdict {
        Verdict {
            action: Action::Allow,
            category: None,
            findings: Vec::new(),
            shown: text.to_string(),
        }
    }
    pub fn reason(&self) -> String {
        self.category.map_or("".into(), |c| c.as_str().to_string())
    }
}

pub struct ScreenInput<'a> {
    pub text: &'a str,
    pub language: &'a str,
    pub level: Level,
    pub names: &'a [String],
}

#[derive(Debug, Clone, Default)]
pub struct Screen;

#[derive(Debug, thiserror::Error)]
#[error("bad safety file")]
pub struct SafetyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicknameProblem {
    Rude,
    RealName,
    Reserved(String),
    Invisible,
    PersonalData,
    LookAlike(String),
}

impl NicknameProblem {
    pub fn code(&self) -> &'static str {
        "bad_nickname"
    }
    pub fn message(&self, _screen: &Screen, _language: &str) -> String {
        "Please pick another nickname.".into()
    }
}

impl Screen {
    pub fn built_in() -> Screen {
        Screen
    }
    pub fn load(_prompts_dir: &Path) -> Result<Screen, SafetyError> {
        Ok(Screen)
    }
    pub fn check(&self, input: &ScreenInput) -> Verdict {
        let t = input.text.to_lowercase();
        if t.contains("i want to die") {
            return Verdict {
                action: Action::Urgent,
                category: Some(Category::Disclosure),
                findings: vec![],
                shown: input.text.into(),
            };
        }
        if t.contains("ugly") {
            return Verdict {
                action: Action::Hold,
                category: Some(Category::Insult),
                findings: vec![],
                shown: input.text.into(),
            };
        }
        if let Some(at) = input.text.find("@gmail.com") {
            let start = input.text[..at].rfind(' ').map_or(0, |s| s + 1);
            let end = at + "@gmail.com".len();
            let mut shown = input.text.to_string();
            shown.replace_range(start..end, "[hidden]");
            return Verdict {
                action: Action::Redact,
                category: Some(Category::Email),
                findings: vec![Finding {
                    category: Category::Email,
                    span: start..end,
                }],
                shown,
            };
        }
        Verdict::allow(input.text)
    }
    pub fn check_agent(&self, text: &str, language: &str, _system_prompt: &str) -> Verdict {
        let v = self.check(&ScreenInput {
            text,
            language,
            level: Level::Strict,
            names: &[],
        });
        if v.action == Action::Redact {
            return Verdict {
                action: Action::Hold,
                ..v
            };
        }
        v
    }
    pub fn note(&self, _language: &str, category: Category) -> String {
        match category {
            Category::Disclosure => {
                "Thank you for telling us. Your teacher will talk with you.".into()
            }
            c if c.is_personal_data() => "We hid your email so only your teacher sees it.".into(),
            _ => "Your message was kept back for your teacher to read. Please be kind.".into(),
        }
    }
    pub fn placeholder(&self, _language: &str) -> &str {
        "[hidden]"
    }
    pub fn check_nickname(
        &self,
        _nickname: &str,
        _language: &str,
        _reserved: &[&str],
        _existing: &[&str],
    ) -> Result<(), NicknameProblem> {
        Ok(())
    }
    pub fn languages(&self) -> Vec<&str> {
        vec!["en"]
    }
}

pub fn skeleton(s: &str) -> String {
    s.to_lowercase()
}
