//! Heuristics over the children's chat text: whether a message calls the agent ([`addresses`]),
//! the words of the problem ([`topic_words`]) and whether a message stays on it
//! ([`on_topic`]).
//!
//! They are guesses about words, tuned on real messages, and used on both sides: the room
//! marks each child's message with them before the policy decides, the reply checks use them
//! to judge the agent's own words, and the simulator's report counts with them. Kept apart
//! from the policy so that it stays a pure decision over facts, and so the word lists can
//! change without touching when the agent speaks.

/// Whether `text` addresses the agent: `@name` anywhere, or its name (whole word, any case)
/// where one calls someone: at the start (after a greeting), next to a comma, or followed by
/// `?`, `!` or `:`. "Blue, what do you think?" does; "it should be blue and fast" does not.
pub fn addresses(text: &str, agent_name: &str) -> bool {
    let name = agent_name.trim().to_lowercase();
    if name.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    let tokens: Vec<&str> = lower.split_whitespace().collect();
    let bare = |t: &str| t.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    const GREETINGS: &[&str] = &[
        "hi", "hey", "hello", "ok", "okay", "so", "dear", "and", "thanks", "yo", "but",
    ];
    tokens.iter().enumerate().any(|(i, tok)| {
        let at = tok.trim_matches(|c: char| !c.is_alphanumeric() && c != '@');
        if at.strip_prefix('@').is_some_and(|n| bare(n) == name) {
            return true;
        }
        if bare(tok) != name {
            return false;
        }
        let first = i == 0 || (i == 1 && GREETINGS.contains(&bare(tokens[0]).as_str()));
        let punctuated = tok.ends_with([',', '?', '!', ':']);
        let after_comma = i > 0 && tokens[i - 1].ends_with(',');
        first || punctuated || after_comma
    })
}

/// The words of a problem description worth matching (4 letters or more, lower case).
pub fn topic_words(texts: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = texts
        .iter()
        .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Words too common or too social to say whether a message is about the problem.
const STOP_WORDS: &[&str] = &[
    "that",
    "this",
    "with",
    "from",
    "your",
    "what",
    "will",
    "they",
    "them",
    "their",
    "there",
    "have",
    "should",
    "every",
    "everyone",
    "children",
    "child",
    "team",
    "like",
    "about",
    "which",
    "into",
    "each",
    "more",
    "could",
    "hello",
    "thanks",
    "thank",
    "great",
    "good",
    "really",
    "think",
    "want",
    "would",
    "maybe",
    "okay",
    "sure",
    "love",
    "cool",
    "nice",
    "awesome",
    "friends",
    "today",
    "everybody",
    "guys",
    "here",
    "yeah",
    "agree",
    "fine",
    "well",
    "just",
    "know",
    "some",
    "when",
    "then",
    "than",
    "also",
    "been",
    "were",
    "make",
    "thing",
    "things",
];

/// Whether a child's message touches the problem: it shares a topic word (or its stem), or it
/// is short (a "yes", "ok", "I agree" is part of the talk, not drift), or addresses the agent.
pub fn on_topic(text: &str, topic: &[String]) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() <= 3 || topic.is_empty() {
        return true;
    }
    words.iter().filter(|w| w.chars().count() >= 4).any(|w| {
        topic.iter().any(|t| {
            let stem = |s: &str| s.chars().take(5).collect::<String>();
            *t == *w || (w.chars().count() >= 5 && t.chars().count() >= 5 && stem(t) == stem(w))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_as_whole_words() {
        assert!(addresses("Blue what do you think?", "Blue"));
        assert!(addresses("hey @blue!", "Blue"));
        assert!(addresses("what about you, BLUE", "Blue"));
        assert!(!addresses("I like blueberries", "Blue"));
        assert!(!addresses("the sky is bluegreen", "Blue"));
        assert!(!addresses("it should be blue and very fast", "Blue"));
        assert!(addresses("hi Blue! what is your favourite?", "Blue"));
        assert!(addresses("do you like our ideas Blue?", "Blue"));
        assert!(addresses("Blue do you like it", "Blue"));
        assert!(!addresses("anything", ""));
    }
}
