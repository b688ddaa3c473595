//! What the screen decides: the action, the categories it found and where, and the text the
//! group may see.

use std::ops::Range;

use serde::{Deserialize, Serialize};

text_enum!(
    /// What happens to a message, least severe first (`Allow < Redact < Hold < Urgent`).
    /// Redact: shown with the personal data (and mild words) hidden. Hold: only the teacher sees
    /// it. Urgent: held, and the teacher is alerted at once (a safeguarding disclosure).
    Action { Allow => "allow", Redact => "redact", Hold => "hold", Urgent => "urgent" }
);

text_enum!(
    /// Why. The names are the corpus's (`prompts/safety/corpus/*.jsonl`).
    Category {
        Email => "email",
        Phone => "phone",
        Address => "address",
        HandleUrl => "handle_url",
        RealName => "real_name",
        School => "school",
        Password => "password",
        Birthdate => "birthdate",
        Profanity => "profanity",
        Mild => "mild",
        Insult => "insult",
        Threat => "threat",
        Sexual => "sexual",
        Hate => "hate",
        Jailbreak => "jailbreak",
        Disclosure => "disclosure",
        PromptLeak => "prompt_leak",
    }
);

/// How strict a session is about mild language (personal data and harm do not depend on it).
/// The default is the standard level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Strict,
    #[default]
    Standard,
    Relaxed,
}

impl Level {
    pub const ALL: &'static [Level] = &[Level::Strict, Level::Standard, Level::Relaxed];

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
        Level::ALL
            .iter()
            .find(|l| l.as_str() == s)
            .copied()
            .ok_or_else(|| {
                format!("unknown Level {s:?}; expected one of: strict, standard, relaxed")
            })
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Category {
    /// Data that identifies or reaches a child outside the room: hidden from the group.
    pub fn is_personal_data(self) -> bool {
        matches!(
            self,
            Category::Email
                | Category::Phone
                | Category::Address
                | Category::HandleUrl
                | Category::RealName
                | Category::School
                | Category::Password
                | Category::Birthdate
        )
    }

    /// What a finding of this category does at `level`: personal data is redacted, mild words
    /// are held (strict), masked (standard) or let through (relaxed), harm is held and a
    /// disclosure is urgent.
    pub fn action(self, level: Level) -> Action {
        match self {
            c if c.is_personal_data() => Action::Redact,
            Category::Mild => match level {
                Level::Strict => Action::Hold,
                Level::Standard => Action::Redact,
                Level::Relaxed => Action::Allow,
            },
            Category::Disclosure => Action::Urgent,
            _ => Action::Hold,
        }
    }

    /// Short English for the teacher.
    pub fn label(self) -> &'static str {
        match self {
            Category::Email => "email",
            Category::Phone => "phone",
            Category::Address => "address",
            Category::HandleUrl => "handle or link",
            Category::RealName => "real name",
            Category::School => "school",
            Category::Password => "password",
            Category::Birthdate => "birth date",
            Category::Profanity => "profanity",
            Category::Mild => "mild language",
            Category::Insult => "insult",
            Category::Threat => "threat",
            Category::Sexual => "sexual content",
            Category::Hate => "hate",
            Category::Jailbreak => "attempt to misuse the AI",
            Category::Disclosure => "safeguarding disclosure",
            Category::PromptLeak => "AI repeated its instructions",
        }
    }
}

/// One thing the screen found: what, and where (a byte range of the original text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub category: Category,
    pub span: Range<usize>,
}

/// The screen's decision about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The most severe action over the findings (Allow without findings).
    pub action: Action,
    /// The category of the most severe finding.
    pub category: Option<Category>,
    /// Every finding whose action is more than Allow, in text order. (A mild word at the
    /// relaxed level is not a finding.)
    pub findings: Vec<Finding>,
    /// What the group may see: the original with every personal-data span replaced by the
    /// language's placeholder ("my email is [hidden]") and, at the standard level, every mild
    /// word masked ("d**n"); equal to the input when nothing was redacted.
    pub shown: String,
}

impl Verdict {
    /// Nothing found.
    pub fn allow(text: &str) -> Verdict {
        Verdict {
            action: Action::Allow,
            category: None,
            findings: Vec::new(),
            shown: text.to_string(),
        }
    }

    /// Short English for the teacher: "personal data (email, phone)", "insult",
    /// "safeguarding disclosure; personal data (phone)". Empty when allowed.
    pub fn reason(&self) -> String {
        let mut harm: Vec<Category> = Vec::new();
        let mut personal: Vec<Category> = Vec::new();
        for f in &self.findings {
            let list = if f.category.is_personal_data() {
                &mut personal
            } else {
                &mut harm
            };
            if !list.contains(&f.category) {
                list.push(f.category);
            }
        }
        // The most severe first (a disclosure before an insult before mild language).
        harm.sort_by_key(|c| std::cmp::Reverse((c.action(Level::Strict), *c)));
        let mut parts: Vec<String> = harm.iter().map(|c| c.label().to_string()).collect();
        if !personal.is_empty() {
            let names: Vec<&str> = personal.iter().map(|c| c.label()).collect();
            parts.push(format!("personal data ({})", names.join(", ")));
        }
        parts.join("; ")
    }

    /// Builds a verdict from findings (those with action Allow at `level` are dropped).
    pub(crate) fn from_findings(
        text: &str,
        mut findings: Vec<Finding>,
        level: Level,
        placeholder: &str,
    ) -> Verdict {
        findings.retain(|f| f.category.action(level) > Action::Allow);
        findings.sort_by_key(|f| (f.span.start, f.span.end));
        findings.dedup();
        let Some(top) = findings
            .iter()
            .max_by_key(|f| (f.category.action(level), std::cmp::Reverse(f.span.start)))
        else {
            return Verdict::allow(text);
        };
        let action = top.category.action(level);
        let category = Some(top.category);
        let shown = redacted(text, &findings, level, placeholder);
        Verdict {
            action,
            category,
            findings,
            shown,
        }
    }
}

/// `text` with personal-data spans replaced by `placeholder` (overlapping spans merged) and,
/// at the standard level, mild words masked.
fn redacted(text: &str, findings: &[Finding], level: Level, placeholder: &str) -> String {
    let mut cuts: Vec<(Range<usize>, bool)> = findings
        .iter()
        .filter_map(|f| {
            if f.category.is_personal_data() {
                Some((f.span.clone(), true))
            } else if f.category == Category::Mild && level == Level::Standard {
                Some((f.span.clone(), false))
            } else {
                None
            }
        })
        .collect();
    if cuts.is_empty() {
        return text.to_string();
    }
    cuts.sort_by_key(|(r, _)| (r.start, r.end));
    // Merge overlaps; a placeholder wins over a mask.
    let mut merged: Vec<(Range<usize>, bool)> = Vec::new();
    for (r, hide) in cuts {
        match merged.last_mut() {
            Some((last, last_hide)) if r.start < last.end => {
                last.end = last.end.max(r.end);
                *last_hide |= hide;
            }
            _ => merged.push((r, hide)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, hide) in merged {
        out.push_str(&text[at..r.start]);
        if hide {
            out.push_str(placeholder);
        } else {
            out.push_str(&mask(&text[r.clone()]));
        }
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// "damn" -> "d**n", "shut up" -> "s**t u*": each word keeps its first (and, from three
/// letters, its last) character so the group still sees that a word was there.
pub(crate) fn mask(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for (i, part) in word.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let chars: Vec<char> = part.chars().collect();
        for (j, c) in chars.iter().enumerate() {
            let keep = j == 0 || (chars.len() >= 3 && j == chars.len() - 1) || !c.is_alphanumeric();
            out.push(if keep { *c } else { '*' });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_ordered_and_named() {
        assert!(Action::Allow < Action::Redact);
        assert!(Action::Redact < Action::Hold);
        assert!(Action::Hold < Action::Urgent);
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
        }
        assert_eq!(Category::HandleUrl.as_str(), "handle_url");
        assert_eq!(Category::PromptLeak.as_str(), "prompt_leak");
        assert_eq!("relaxed".parse::<Level>().unwrap(), Level::Relaxed);
        assert_eq!(Level::default(), Level::Standard);
        assert!("loud".parse::<Level>().is_err());
    }

    #[test]
    fn category_actions_by_level() {
        assert_eq!(Category::Email.action(Level::Strict), Action::Redact);
        assert_eq!(Category::Mild.action(Level::Strict), Action::Hold);
        assert_eq!(Category::Mild.action(Level::Standard), Action::Redact);
        assert_eq!(Category::Mild.action(Level::Relaxed), Action::Allow);
        assert_eq!(Category::Insult.action(Level::Relaxed), Action::Hold);
        assert_eq!(Category::Disclosure.action(Level::Relaxed), Action::Urgent);
        assert!(Category::Birthdate.is_personal_data());
        assert!(!Category::Mild.is_personal_data());
    }

    #[test]
    fn verdict_redacts_merges_and_names_the_reason() {
        let text = "mail mia@x.com or call 0151 2345678, damn";
        let f = vec![
            Finding {
                category: Category::Phone,
                span: 23..35,
            },
            Finding {
                category: Category::Email,
                span: 5..14,
            },
            Finding {
                category: Category::Mild,
                span: 37..41,
            },
        ];
        let v = Verdict::from_findings(text, f.clone(), Level::Standard, "[hidden]");
        assert_eq!(v.action, Action::Redact);
        assert_eq!(v.shown, "mail [hidden] or call [hidden], d**n");
        assert_eq!(v.reason(), "mild language; personal data (email, phone)");
        let relaxed = Verdict::from_findings(text, f, Level::Relaxed, "[hidden]");
        assert_eq!(relaxed.shown, "mail [hidden] or call [hidden], damn");
        assert_eq!(relaxed.findings.len(), 2);
        assert_eq!(Verdict::allow("hi").reason(), "");
        assert_eq!(mask("shut up"), "s**t u*");
    }

    #[test]
    fn held_category_leads_the_reason() {
        let text = "Sam is dumb, 0151 2345678";
        let f = vec![
            Finding {
                category: Category::Insult,
                span: 7..11,
            },
            Finding {
                category: Category::Phone,
                span: 13..25,
            },
        ];
        let v = Verdict::from_findings(text, f, Level::Standard, "[hidden]");
        assert_eq!(v.action, Action::Hold);
        assert_eq!(v.category, Some(Category::Insult));
        assert_eq!(v.reason(), "insult; personal data (phone)");
    }
}
