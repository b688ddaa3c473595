//! Heuristics over the children's chat text: whether a message calls the agent ([`addresses`]),
//! the words of the problem ([`topic_words`]) and whether a message stays on it
//! ([`on_topic`]), and which language a text is surely not in ([`surely_not_in`]).
//!
//! They are guesses about words, tuned on real messages, and used on both sides: the room
//! marks each child's message with them before the policy decides, the reply checks use them
//! to judge the agent's own words, and the simulator's report counts with them. Kept apart
//! from the policy so that it stays a pure decision over facts, and so the word lists can
//! change without touching when the agent speaks. Languages are told apart by a trigram
//! identifier (`whatlang`), not by word lists of our own.

use whatlang::{Detector, Lang};

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

/// The ISO 639-1 codes of the languages the identifier knows (a session's language is one of
/// these codes; any other is not judged).
#[rustfmt::skip]
const LANGUAGE_CODES: &[(&str, Lang)] = &[
    ("af", Lang::Afr), ("ak", Lang::Aka), ("am", Lang::Amh), ("ar", Lang::Ara),
    ("az", Lang::Aze), ("be", Lang::Bel), ("bg", Lang::Bul), ("bn", Lang::Ben),
    ("ca", Lang::Cat), ("cs", Lang::Ces), ("cy", Lang::Cym), ("da", Lang::Dan),
    ("de", Lang::Deu), ("el", Lang::Ell), ("en", Lang::Eng), ("eo", Lang::Epo),
    ("es", Lang::Spa), ("et", Lang::Est), ("fa", Lang::Pes), ("fi", Lang::Fin),
    ("fr", Lang::Fra), ("gu", Lang::Guj), ("he", Lang::Heb), ("hi", Lang::Hin),
    ("hr", Lang::Hrv), ("hu", Lang::Hun), ("hy", Lang::Hye), ("id", Lang::Ind),
    ("it", Lang::Ita), ("ja", Lang::Jpn), ("jv", Lang::Jav), ("ka", Lang::Kat),
    ("km", Lang::Khm), ("kn", Lang::Kan), ("ko", Lang::Kor), ("la", Lang::Lat),
    ("lt", Lang::Lit), ("lv", Lang::Lav), ("mk", Lang::Mkd), ("ml", Lang::Mal),
    ("mr", Lang::Mar), ("my", Lang::Mya), ("nb", Lang::Nob), ("no", Lang::Nob),
    ("ne", Lang::Nep), ("nl", Lang::Nld), ("or", Lang::Ori), ("pa", Lang::Pan),
    ("pl", Lang::Pol), ("pt", Lang::Por), ("ro", Lang::Ron), ("ru", Lang::Rus),
    ("si", Lang::Sin), ("sk", Lang::Slk), ("sl", Lang::Slv), ("sn", Lang::Sna),
    ("sr", Lang::Srp), ("sv", Lang::Swe), ("ta", Lang::Tam), ("te", Lang::Tel),
    ("th", Lang::Tha), ("tk", Lang::Tuk), ("tl", Lang::Tgl), ("tr", Lang::Tur),
    ("uk", Lang::Ukr), ("ur", Lang::Urd), ("uz", Lang::Uzb), ("vi", Lang::Vie),
    ("yi", Lang::Yid), ("zh", Lang::Cmn), ("zu", Lang::Zul),
];

/// The language of an ISO 639-1 code ("es", "pt-BR"), when the identifier knows it.
pub fn language_of_code(code: &str) -> Option<Lang> {
    let base = code.trim().split(['-', '_']).next()?.to_lowercase();
    LANGUAGE_CODES
        .iter()
        .find(|(c, _)| *c == base)
        .map(|(_, lang)| *lang)
}

/// Fewer words than this (of two letters or more, names aside) are not judged: "Super idée,
/// Leo !" and "Great idea, Leo!" look alike to any identifier.
const LANGUAGE_MIN_WORDS: usize = 4;
/// The identifier's confidence in its first guess below which a text is not judged. With the
/// two-way comparison below, 0.2 refused no sentence of the safety corpus' 972 children's
/// messages or of 136 agent-like lines in its own language, and caught about six in ten
/// agent-like sentences written in one of the other three.
const LANGUAGE_MIN_GUESS: f64 = 0.2;

/// Whether `text` is surely not in `lang`: the identifier's first guess is another language,
/// and that language beats `lang` clearly (the identifier's full confidence) when only the two
/// are compared. Short texts and unsure guesses pass; `names` (the children's, the agent's)
/// are left out first, since they belong to no language.
pub fn surely_not_in(text: &str, lang: Lang, names: &[&str]) -> bool {
    let names: Vec<String> = names
        .iter()
        .flat_map(|n| n.split_whitespace())
        .map(str::to_lowercase)
        .collect();
    let kept: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            let bare = w
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            !names.contains(&bare)
        })
        .collect();
    let words = kept
        .iter()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    if words < LANGUAGE_MIN_WORDS {
        return false;
    }
    let plain = kept.join(" ");
    let Some(guess) = whatlang::detect(&plain) else {
        return false;
    };
    if guess.lang() == lang || guess.confidence() < LANGUAGE_MIN_GUESS {
        return false;
    }
    Detector::with_allowlist(vec![lang, guess.lang()])
        .detect(&plain)
        .is_some_and(|two| two.lang() != lang && two.confidence() >= 1.0)
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

    /// Replies an agent writes, four in each shipped language.
    const REPLIES: &[(&str, &str)] = &[
        ("en", "What if the slide was wide enough for two friends at once? Then nobody has to wait alone."),
        ("en", "Welcome, everyone! Today we design a playground that everyone can enjoy together."),
        ("en", "I love the idea of a quiet corner with plants. Who could use it best?"),
        ("en", "How could children in wheelchairs use the swings? Maybe a seat with a belt would help."),
        ("de", "Was wäre, wenn wir eine Rampe an die Rutsche bauen? Dann können alle mitmachen."),
        ("de", "Hallo Mia! Was machst du am liebsten auf dem Spielplatz?"),
        ("de", "Sam, was möchtest du noch hinzufügen? Jede Idee ist willkommen."),
        ("de", "Ja, Roboter können auch spielen, wenn sie vorsichtig sind."),
        ("fr", "Et si le toboggan était assez large pour deux amis ? Comme ça, personne n'attend seul."),
        ("fr", "Bienvenue ! Aujourd'hui, on imagine une aire de jeux pour tous."),
        ("fr", "Salut Mia, qu'est-ce que tu voudrais ajouter à l'aire de jeux ?"),
        ("fr", "Oui, les robots peuvent jouer aussi, s'ils font attention."),
        ("es", "¿Y si añadimos una rampa al tobogán de Mia? Así todos pueden subir."),
        ("es", "¡Bienvenidos! Hoy vamos a diseñar un parque para todos."),
        ("es", "Hola Mia, ¿qué te gustaría añadir al parque?"),
        ("es", "Sí, los robots también pueden jugar si tienen cuidado."),
    ];

    #[test]
    fn a_text_is_judged_not_in_a_language_only_when_the_identifier_is_sure() {
        for (lang, text) in REPLIES {
            let own = language_of_code(lang).unwrap();
            assert!(!surely_not_in(text, own, &["Mia", "Sam"]), "{lang}: {text}");
            for other in ["en", "de", "fr", "es"].iter().filter(|o| *o != lang) {
                let other = language_of_code(other).unwrap();
                assert!(
                    surely_not_in(text, other, &["Mia", "Sam"]),
                    "{text} is not {other:?}"
                );
            }
        }
        // The Spanish session's English reply from the study.
        assert!(surely_not_in(
            "Hola, I am excited to introduce you to a new adventure. Let's discover the \
             wonders of the Spanish language together!",
            Lang::Spa,
            &[]
        ));
        // Short or unsure: passes in any language.
        for short in [
            "Super idée, Leo !",
            "Great idea, Leo!",
            "Ok!",
            "Sí, claro.",
            "Génial !",
        ] {
            for lang in [Lang::Eng, Lang::Deu, Lang::Fra, Lang::Spa] {
                assert!(!surely_not_in(short, lang, &["Leo"]), "{short} as {lang:?}");
            }
        }
        // Names are no language's words.
        assert!(!surely_not_in(
            "Mia, Leo, Sam, Ada und Tom!",
            Lang::Eng,
            &["Mia", "Leo", "Sam", "Ada", "Tom"]
        ));
        // English that looks French to a trigram counter is still English.
        assert!(!surely_not_in(
            "Let's vote on our favourite design!",
            Lang::Eng,
            &[]
        ));
    }

    #[test]
    fn session_languages_are_iso_639_1_codes() {
        assert_eq!(language_of_code("es"), Some(Lang::Spa));
        assert_eq!(language_of_code("DE"), Some(Lang::Deu));
        assert_eq!(language_of_code("pt-BR"), Some(Lang::Por));
        assert_eq!(language_of_code("zh"), Some(Lang::Cmn));
        assert_eq!(language_of_code("xx"), None, "unknown: not judged");
        assert_eq!(language_of_code(""), None);
    }
}
