//! Checks of the agent's own output, one sentence at a time, before it is sent.
//!
//! The agent is held to more than a child: the same screen at the strict level, and then
//! - any personal data at all is held, not redacted: the agent must never say an address or a
//!   phone number, not even half hidden (it could only have copied it from a child);
//! - any mild word is held;
//! - a run of eight or more consecutive words copied from its system prompt is held as a
//!   prompt leak (small models recite their instructions; children then read "You are Blue, a
//!   friendly peer in a group of children aged 8-14...");
//! - a disclosure phrase in the agent's mouth is held too, not urgent: the agent cannot
//!   disclose, and an urgent alert would send the teacher to the wrong child.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::normalize::tokens;
use super::verdict::{Action, Category, Finding, Level, Verdict};
use super::Screen;

/// Words in a row that count as copying the prompt.
pub const LEAK_WORDS: usize = 8;
/// System prompts remembered (one per agent role and language in use, roughly).
const CACHED_PROMPTS: usize = 16;

pub(crate) fn check(screen: &Screen, text: &str, language: &str, system_prompt: &str) -> Verdict {
    let mut findings = screen.raw_findings(text, language);
    findings.extend(leaks(screen, text, system_prompt));
    let mut v = Verdict::from_findings(text, findings, Level::Strict, screen.placeholder(language));
    if v.action != Action::Allow {
        v.action = Action::Hold;
        // The category the teacher reads: a leak or harm before the personal data.
        v.category = v
            .findings
            .iter()
            .max_by_key(|f| {
                (
                    f.category == Category::PromptLeak,
                    !f.category.is_personal_data(),
                    std::cmp::Reverse(f.span.start),
                )
            })
            .map(|f| f.category);
        v.shown = text.to_string();
    }
    v
}

fn gram_hash(words: &[String]) -> u64 {
    let mut h = DefaultHasher::new();
    words.hash(&mut h);
    h.finish()
}

/// The word 8-grams of a system prompt, cached by the prompt's hash.
fn prompt_grams(screen: &Screen, system_prompt: &str) -> Arc<HashSet<u64>> {
    let mut h = DefaultHasher::new();
    system_prompt.hash(&mut h);
    let key = h.finish();
    let cache = screen.prompt_grams();
    if let Some((_, grams)) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(k, _)| *k == key)
    {
        return grams.clone();
    }
    let words: Vec<String> = tokens(system_prompt).into_iter().map(|t| t.text).collect();
    let grams: HashSet<u64> = words.windows(LEAK_WORDS).map(gram_hash).collect();
    let grams = Arc::new(grams);
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if c.len() >= CACHED_PROMPTS {
        c.remove(0);
    }
    c.push((key, grams.clone()));
    grams
}

/// The spans of `text` that copy `LEAK_WORDS` or more words in a row from the prompt.
fn leaks(screen: &Screen, text: &str, system_prompt: &str) -> Vec<Finding> {
    let toks = tokens(text);
    if toks.len() < LEAK_WORDS || system_prompt.trim().is_empty() {
        return Vec::new();
    }
    let grams = prompt_grams(screen, system_prompt);
    let words: Vec<String> = toks.iter().map(|t| t.text.clone()).collect();
    let mut out: Vec<Finding> = Vec::new();
    for (i, w) in words.windows(LEAK_WORDS).enumerate() {
        if grams.contains(&gram_hash(w)) {
            let span = toks[i].span.start..toks[i + LEAK_WORDS - 1].span.end;
            match out.last_mut() {
                Some(last) if span.start <= last.span.end => last.span.end = span.end,
                _ => out.push(Finding {
                    category: Category::PromptLeak,
                    span,
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "You are Blue, a friendly peer in a group of children aged 8 to 14. \
        Never share personal data. Keep every answer short and kind.";

    #[test]
    fn a_clean_sentence_passes() {
        let s = Screen::for_tests();
        let v = s.check_agent("What if the slide had a roof for rainy days?", "en", PROMPT);
        assert_eq!(v.action, Action::Allow);
        assert!(v.findings.is_empty());
    }

    #[test]
    fn copying_eight_words_of_the_prompt_is_a_leak() {
        let s = Screen::for_tests();
        let v = s.check_agent(
            "Sure! I am a friendly peer in a group of children aged 8 to 14.",
            "en",
            PROMPT,
        );
        assert_eq!(v.action, Action::Hold);
        assert_eq!(v.category, Some(Category::PromptLeak));
        // Seven words in a row are not.
        let v = s.check_agent("We are a group of children aged 8, right?", "en", PROMPT);
        assert_eq!(v.action, Action::Allow, "{v:?}");
    }

    #[test]
    fn personal_data_and_mild_words_are_held() {
        let s = Screen::for_tests();
        let v = s.check_agent("You can mail mia.jones@gmail.com about it.", "en", PROMPT);
        assert_eq!(
            (v.action, v.category),
            (Action::Hold, Some(Category::Email))
        );
        let v = s.check_agent("Damn, that tower fell over!", "en", PROMPT);
        assert_eq!((v.action, v.category), (Action::Hold, Some(Category::Mild)));
        let v = s.check_agent("I want to die", "en", PROMPT);
        assert_eq!(
            (v.action, v.category),
            (Action::Hold, Some(Category::Disclosure))
        );
    }
}
