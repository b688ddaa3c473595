//! What the model wrote, made fit for children: the stream cleaner and the checks a reply must
//! pass before a child sees it.
//!
//! A small model's raw output is not a chat message: it starts with role prefixes (`Blue:`),
//! goes on to write the children's turns, copies its instruction, takes another name. The
//! [`StreamCleaner`] cleans the text as it streams ([`clean_reply`]), holds back what cannot be
//! judged yet, releases the rest (a sentence at a time when a [`SentenceCheck`] screens it) and
//! refuses the whole reply with a [`Rejection`] that becomes its decision in the agent event
//! log. It is separate from the prompts ([`super::prompt`], what the model is told) and from
//! the policy ([`super::policy`], when the agent speaks): it judges only the model's words,
//! with no I/O, so every check is a unit test with a string.
//!
//! What a reply must be, beyond clean: in the session's language ([`StreamCleaner::in_language`]),
//! for the child it answers and not another ([`StreamCleaner::for_child`]), its own words and
//! not its prompt's ([`StreamCleaner::not_copying`]), and an AI's, never a person's with a
//! family, a job or a body.

use whatlang::Lang;

use super::text::{addresses, language_of_code, on_topic, surely_not_in};

/// Makes sure an invitation names the child it invites (tiny models often forget): prefixes
/// `Name, ` when the reply does not mention them.
pub fn ensure_named(reply: String, nickname: &str) -> String {
    if nickname.is_empty() || addresses(&reply, nickname) {
        return reply;
    }
    let mut chars = reply.chars();
    let rest: String = match chars.next() {
        Some(first) if !reply.starts_with("I ") && !reply.starts_with("I'") => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => reply.clone(),
    };
    format!("{nickname}, {rest}")
}

/// Most sentences a reply may have.
pub const MAX_SENTENCES: usize = 3;

/// Complete sentences of a reply for the group that may miss the problem before the reply is
/// refused as off topic (a greeting, then one more).
const OFF_TOPIC_AFTER_SENTENCES: usize = 2;

/// Cleans a model's reply for children: drops role prefixes (`Blue:`, `Assistant:`), stops
/// where the model starts writing someone else's line, keeps at most three sentences. `None`
/// when nothing worth showing is left. Returns whether the reply is complete (the model can
/// stop now).
pub fn clean_reply(raw: &str, agent_name: &str) -> (Option<String>, bool) {
    let mut text = raw.trim_start();
    // Role prefixes, possibly repeated ("Blue: Assistant: ...").
    while let Some(colon) = text.find(':') {
        let head = text[..colon].trim_matches(|c: char| c == '*' || c.is_whitespace());
        let is_prefix = colon <= 24
            && !head.is_empty()
            && head.split_whitespace().count() <= 2
            && (head.eq_ignore_ascii_case(agent_name)
                || [
                    "assistant",
                    "moderator",
                    "participant",
                    "ai",
                    "ai helper",
                    "bot",
                ]
                .contains(&head.to_lowercase().as_str()));
        if !is_prefix {
            break;
        }
        text = text[colon + 1..].trim_start();
    }
    let mut complete = false;
    // A new line ends the reply: after it, tiny models write other people's turns. A first
    // line that is only a greeting ("Dear Sam,") continues on the next line.
    let mut joined = String::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if !joined.is_empty() && !line.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line);
        let Some(next) = lines.peek() else { break };
        let greeting =
            joined.is_empty() || joined.ends_with(',') || joined.split_whitespace().count() < 3;
        if !greeting || looks_like_a_turn(next) {
            complete = true;
            break;
        }
    }
    let text = joined.as_str();
    let mut text = text;
    // At most MAX_SENTENCES sentences.
    let mut sentences = 0;
    let mut cut = None;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, (at, c)) in chars.iter().enumerate() {
        if matches!(c, '.' | '!' | '?') {
            let next = chars.get(i + 1).map(|(_, n)| *n);
            if next.is_none_or(char::is_whitespace)
                && !matches!(next, Some('.') | Some('!') | Some('?'))
            {
                sentences += 1;
                if sentences == MAX_SENTENCES {
                    cut = Some(at + c.len_utf8());
                    break;
                }
            }
        }
    }
    if let Some(cut) = cut {
        text = &text[..cut];
        complete = true;
    }
    let text = text.trim().trim_matches('"').trim();
    if !text.chars().any(char::is_alphanumeric) {
        return (None, complete);
    }
    (Some(text.to_string()), complete)
}

/// The byte offsets just past each sentence of `text` that ends after `from`: a `.`, `!` or `?`
/// (or a run of them) followed by white space. A sentence still being written, or one whose
/// full stop has nothing after it yet ("3." of "3.5"), is not complete.
fn sentence_ends(text: &str, from: usize) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut chars = text[from..].char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        match chars.peek() {
            Some((_, n)) if n.is_whitespace() => ends.push(from + at + c.len_utf8()),
            _ => {}
        }
    }
    ends
}

/// Whether a line starts like someone's chat turn (`Name: ...`).
fn looks_like_a_turn(line: &str) -> bool {
    line.split_once(':').is_some_and(|(head, _)| {
        !head.trim().is_empty() && head.len() <= 24 && head.split_whitespace().count() <= 2
    })
}

/// Judges one complete sentence of the agent's reply before children see it: `Some(reason)`
/// refuses it (the safety screen: no personal data, no bad words, nothing of its own prompt).
pub type SentenceCheck = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Shows a reply as it streams, already cleaned: holds back the first characters until a
/// role prefix (or a copied instruction) can be recognised, then releases text as it grows.
/// With a [`SentenceCheck`], text is released a whole sentence at a time, each one once it
/// has passed: a sentence that fails ends the reply (see [`Rejection::Unsafe`]).
#[derive(Default)]
pub struct StreamCleaner {
    raw: String,
    shown: String,
    /// The instruction the model was given: tiny models sometimes copy it instead of replying.
    instruction: String,
    /// The reply is long enough (or worthless): the caller can stop the model.
    pub complete: bool,
    /// The reply is not worth showing (see [`Rejection`]): nothing is shown or stored.
    pub rejected: bool,
    /// Why, when rejected.
    pub rejection: Option<Rejection>,
    /// The children's nicknames, lower case: a reply starting `Name:` speaks for a child.
    children: Vec<String>,
    /// When set, the whole reply is held back and must share a word with these (the problem,
    /// the phase, what the children said), else it is rejected as off topic.
    topic: Option<Vec<String>>,
    /// The long words of the agent's recent messages in this room, one list per message: a
    /// reply that mostly repeats one is refused.
    said: Vec<Vec<String>>,
    /// The safety screen for each sentence, when set.
    check: Option<SentenceCheck>,
    /// Bytes of the cleaned reply whose sentences have passed `check`.
    checked: usize,
    /// Why the screen refused a sentence.
    pub unsafe_reason: Option<String>,
    /// The session's language, when the language identifier knows it: a reply surely in
    /// another one is refused.
    language: Option<Lang>,
    /// The child this reply is for (who asked, or who is invited), lower case: a reply that
    /// calls another child of the group instead is refused.
    for_child: Option<String>,
    /// The lines of the system prompt, lower case: a sentence that copies one is refused.
    prompt_lines: Vec<String>,
}

impl std::fmt::Debug for StreamCleaner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCleaner")
            .field("raw", &self.raw)
            .field("shown", &self.shown)
            .field("complete", &self.complete)
            .field("rejection", &self.rejection)
            .field("screened", &self.check.is_some())
            .field("language", &self.language)
            .field("for_child", &self.for_child)
            .finish()
    }
}

/// Why a reply was not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A copy of its instruction, a child's line (`Mia: ...`), talk about the prompt, or empty.
    Echo,
    /// The agent presents itself as someone else ("I'm Emily"): it is always itself, an AI.
    Persona,
    /// Nothing in it touches the problem or what the group said.
    OffTopic,
    /// Mostly what the agent already said in this room (tiny models loop).
    Repeat,
    /// A sentence failed the safety screen: the reply ends, and a written safe line replaces
    /// it.
    Unsafe,
    /// Not in the session's language (judged only where the identification is sure).
    WrongLanguage,
    /// For one child (an answer, an invitation) but calls another child of the group instead
    /// ("Mia, ..." when Leo asked).
    WrongChild,
    /// A copy of a line of its own system prompt ("Your job in this part: ...").
    PromptCopy,
    /// Speaks as a person with a family, a job or a body ("my children", "when I was a kid").
    HumanLife,
}

impl Rejection {
    pub const ALL: &'static [Rejection] = &[
        Rejection::Echo,
        Rejection::Persona,
        Rejection::OffTopic,
        Rejection::Repeat,
        Rejection::Unsafe,
        Rejection::WrongLanguage,
        Rejection::WrongChild,
        Rejection::PromptCopy,
        Rejection::HumanLife,
    ];

    /// The decision logged for a reply dropped for this reason.
    pub fn decision(self) -> &'static str {
        match self {
            Rejection::Echo => "dropped_echo",
            Rejection::Persona => "dropped_persona",
            Rejection::OffTopic => "dropped_off_topic",
            Rejection::Repeat => "dropped_repeat",
            Rejection::Unsafe => "dropped_unsafe",
            Rejection::WrongLanguage => "dropped_wrong_language",
            Rejection::WrongChild => "dropped_wrong_child",
            Rejection::PromptCopy => "dropped_prompt_copy",
            Rejection::HumanLife => "dropped_human_life",
        }
    }
}

/// Whether `text` gives the agent another name ("I'm Emily", "my name is Sam") or makes it a
/// person ("as a teacher", "I'm a kid"). A name is a
/// capitalised whole word after the phrase; the agent's own name and "AI" are fine. A word
/// still being written (at the end of `text` while streaming) is not judged yet unless
/// `finished`.
pub fn claims_another_name(text: &str, agent_name: &str, finished: bool) -> bool {
    const PHRASES: &[&str] = &[
        "I'm ",
        "I am ",
        "I\u{2019}m ",
        "my name is ",
        "My name is ",
        "call me ",
        "Call me ",
    ];
    const FINE: &[&str] = &[
        "AI", "A", "An", "Not", "So", "Really", "Very", "Here", "Happy", "Glad",
    ];
    // Claims of being a person: the agent is a peer, but never pretends to be human.
    const ROLES: &[&str] = &[
        "i'm a teacher",
        "i am a teacher",
        "as a teacher",
        "as your teacher",
        "i'm a kid",
        "i am a kid",
        "i'm a child",
        "i am a child",
        "i'm a student",
        "i am a student",
        "i'm a human",
        "i am a human",
        "i'm a person",
        "i am a person",
        "i'm a real person",
        "i am a real person",
        "i'm a girl",
        "i am a girl",
        "i'm a boy",
        "i am a boy",
    ];
    let lower = text.to_lowercase().replace('\u{2019}', "'");
    if ROLES.iter().any(|r| lower.contains(r)) {
        return true;
    }
    PHRASES.iter().any(|phrase| {
        text.match_indices(phrase).any(|(at, _)| {
            let rest = &text[at + phrase.len()..];
            let word: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            let whole = finished || rest.len() > word.len();
            whole
                && word.chars().next().is_some_and(char::is_uppercase)
                && !word.eq_ignore_ascii_case(agent_name.trim())
                && !FINE.contains(&word.as_str())
        })
    })
}

/// Whether `reply` mostly repeats `instruction` (a tiny model's failure mode).
pub fn echoes(reply: &str, instruction: &str) -> bool {
    let (r, i) = (long_words(reply), long_words(instruction));
    if r.len() < 4 || i.is_empty() {
        return false;
    }
    mostly_from(&r, &i)
}

/// The words of four letters or more, lower case: what copies are judged by.
fn long_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .collect()
}

/// Whether 60 % of `words` are in `source`.
fn mostly_from(words: &[String], source: &[String]) -> bool {
    let shared = words.iter().filter(|w| source.contains(w)).count();
    shared * 10 >= words.len() * 6
}

/// What a person with a family, a job or a body says, in the shipped languages (lower case,
/// `'` for any apostrophe). The agent is an AI: it has no children, no colleagues, no
/// childhood and no hands, and saying so misleads children ("I always try to make sure my
/// children are included"). Only the first person counts: "robots have bodies" and "your
/// family" are fine, and so is "my job is to help you" (an AI helper has one).
#[rustfmt::skip]
const HUMAN_LIFE: &[&str] = &[
    // English
    "my children", "my kids", "my son", "my daughter", "my baby", "my wife", "my husband",
    "my family", "my parents", "my mom", "my mum", "my mother", "my dad", "my father",
    "my brother", "my sister", "my grandma", "my grandpa", "my boyfriend", "my girlfriend",
    "my students", "my pupils", "my boss", "my colleagues", "my coworkers", "my office",
    "at my job", "at my work", "my body", "my hands", "my legs", "my feet", "my childhood",
    "when i was a kid", "when i was a child", "when i was little", "when i was young",
    "when i was your age", "i grew up", "i have children", "i have kids", "i'm married",
    "i am married", "i'm a mom", "i'm a dad", "i'm a parent", "i am a parent",
    // Deutsch
    "meine kinder", "meinen kindern", "mein sohn", "meinen sohn", "meine tochter", "meine frau",
    "mein mann", "meinen mann", "meine familie", "meine eltern", "meine mutter", "meine mama",
    "mein vater", "mein papa", "mein bruder", "meine schwester", "meine schüler", "mein chef",
    "meine chefin", "meine kollegen", "in meinem büro", "bei meiner arbeit",
    "auf meiner arbeit", "mein körper", "meinen körper", "meinem körper", "meine hände",
    "meine beine", "meine kindheit", "als ich ein kind war", "als ich klein war",
    "als ich jung war", "ich habe kinder", "ich bin verheiratet",
    // Français
    "mes enfants", "mon fils", "ma fille", "mon bébé", "ma femme", "mon mari", "ma famille",
    "mes parents", "ma mère", "ma maman", "mon père", "mon papa", "mon frère", "ma sœur",
    "mes élèves", "mon patron", "ma patronne", "mes collègues", "mon bureau", "à mon travail",
    "au boulot", "mon corps", "mes mains", "mes jambes", "mon enfance", "quand j'étais petit",
    "quand j'étais petite", "quand j'étais enfant", "quand j'étais jeune", "j'ai des enfants",
    "je suis marié", "je suis mariée",
    // Español
    "mis hijos", "mis niños", "mi hijo", "mi hija", "mi bebé", "mi esposa", "mi esposo",
    "mi marido", "mi mujer", "mi familia", "mis padres", "mi madre", "mi mamá", "mi padre",
    "mi papá", "mi hermano", "mi hermana", "mis alumnos", "mis estudiantes", "mi jefe",
    "mi jefa", "mis compañeros de trabajo", "mi oficina", "en mi trabajo", "mi cuerpo",
    "mis manos", "mis piernas", "mi infancia", "cuando era niño", "cuando era niña",
    "cuando era pequeño", "cuando era pequeña", "cuando era joven", "tengo hijos",
    "estoy casado", "estoy casada",
];

/// Whether `text` speaks as a person with a family, a job or a body (see [`HUMAN_LIFE`]): one
/// of the phrases as whole words. A word still being written at the end of `text` is not
/// judged unless `finished` ("my son" may become "my song").
pub fn speaks_as_a_person(text: &str, finished: bool) -> bool {
    let lower = text.to_lowercase().replace('\u{2019}', "'");
    HUMAN_LIFE
        .iter()
        .any(|phrase| has_words(&lower, phrase, finished))
}

/// Whether `lower` has `words` (both lower case) as whole words. At the very end of `lower`
/// they count only when `finished` (the last word may go on).
fn has_words(lower: &str, words: &str, finished: bool) -> bool {
    lower.match_indices(words).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + words.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric)
            && match after {
                Some(c) => !c.is_alphanumeric(),
                None => finished,
            }
    })
}

/// Words in a row shared with a prompt line that, with most words from it, make a copy.
const COPY_RUN: usize = 5;

/// Whether `text` copies `line` of the system prompt (both lower case): it starts with the
/// line's heading ("your job in this part:", "rules:"), or it is mostly the line's words
/// ([`echoes`]) with [`COPY_RUN`] of them in a row. The words alone are not enough: the
/// moderator is told to ask for ideas and to say that a trusted adult can help, and its reply
/// doing so shares words with those lines without copying them.
fn copies_line(text: &str, line: &str) -> bool {
    let heading = line
        .split_once(':')
        .map(|(head, _)| head.trim())
        .filter(|h| h.chars().count() >= 5 && h.split_whitespace().count() <= 6);
    if heading.is_some_and(|h| text.trim_start().starts_with(&format!("{h}:"))) {
        return true;
    }
    echoes(text, line) && {
        let words = |s: &str| -> Vec<String> {
            s.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        };
        let (mine, theirs) = (words(text), words(line));
        let runs: Vec<&[String]> = theirs.windows(COPY_RUN).collect();
        mine.windows(COPY_RUN).any(|w| runs.contains(&w))
    }
}

/// Greetings that may stand before a name the reply calls ("Hi Mia, ...").
const GREETINGS: &[&str] = &[
    "hi", "hey", "hello", "dear", "oh", "wow", "yes", "ok", "okay", "so", "hallo", "liebe",
    "lieber", "ja", "salut", "bonjour", "coucou", "cher", "chère", "oui", "hola", "querido",
    "querida", "sí", "si", "vale",
];

/// Whether `sentence` calls `name` (lower case): "Mia, ...", "Hi Mia! ...", "Great idea, Mia!".
/// "Mia had a good idea" names Mia without calling her.
fn calls(sentence: &str, name: &str) -> bool {
    let lower = sentence.trim().to_lowercase();
    // Spanish opens its exclamations and questions ("¡Hola Mia!").
    let mut rest = lower.trim_start_matches(['¡', '¿']);
    let first: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
    if GREETINGS.contains(&first.as_str()) {
        rest = rest[first.len()..].trim_start_matches([',', '!', ' ']);
    }
    let rest = rest.trim_start_matches(['@', '¡', '¿']);
    // French writes a space before `!` and `?` ("Salut Mia !").
    let at_start = rest
        .strip_prefix(name)
        .and_then(|after| after.trim_start_matches([' ', '\u{a0}']).chars().next())
        .is_some_and(|c| matches!(c, ',' | '!' | '?' | ':' | ';' | '.' | '\u{2014}'));
    let body = lower.trim_end_matches(|c: char| !c.is_alphanumeric());
    let at_end = body
        .strip_suffix(name)
        .is_some_and(|before| before.trim_end().ends_with(',') || before.ends_with('@'));
    at_start || at_end
}

/// Whether a reply meant for `child` calls another of `children` (all lower case) in its first
/// sentence and never names `child`: "Mia, ..." when Leo asked. "Mia, nice! Leo, ..." is fine,
/// and so is a child who is not in the group.
pub fn calls_the_wrong_child(text: &str, child: &str, children: &[String]) -> bool {
    if !children.iter().any(|n| n == child) {
        return false;
    }
    let first = &text[..sentence_ends(text, 0)
        .first()
        .copied()
        .unwrap_or(text.len())];
    !mentions(text, child)
        && children
            .iter()
            .any(|other| other != child && calls(first, other))
}

/// Whether `text` has `name` (lower case) as a whole word, anywhere.
fn mentions(text: &str, name: &str) -> bool {
    has_words(&text.to_lowercase(), name, true)
}

/// Characters held back at the start (a prefix like `Moderator:` fits).
const HOLD_BACK: usize = 26;

impl StreamCleaner {
    /// A cleaner that also refuses copies of `instruction`.
    pub fn new(instruction: &str) -> StreamCleaner {
        StreamCleaner {
            instruction: instruction.to_string(),
            ..StreamCleaner::default()
        }
    }

    /// What the model wrote so far, uncleaned (for the log when a reply is dropped).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Also refuses replies written as one of these children (`Sam: ...`).
    pub fn with_children(mut self, nicknames: &[String]) -> StreamCleaner {
        self.children = nicknames.iter().map(|n| n.to_lowercase()).collect();
        self
    }

    /// Holds the whole reply back and refuses it unless it shares a word with `topic` (see
    /// [`on_topic`]). For what nobody is waiting for (a phase announcement, a
    /// question or an idea for the group): a second of delay is invisible there, words that
    /// are shown and then taken back are not.
    pub fn on_topic_only(mut self, topic: Vec<String>) -> StreamCleaner {
        self.topic = Some(topic);
        self
    }

    /// Also refuses a reply that mostly repeats one of these (the agent's recent messages).
    pub fn not_repeating(mut self, said: Vec<String>) -> StreamCleaner {
        // Split once here: the check runs on every token.
        self.said = said.iter().map(|m| long_words(m)).collect();
        self
    }

    /// Screens every sentence before it is shown (see [`SentenceCheck`]).
    pub fn screened(mut self, check: SentenceCheck) -> StreamCleaner {
        self.check = Some(check);
        self
    }

    /// Refuses a reply surely not in the session's language `code` (ISO 639-1: "en", "es"),
    /// judging each sentence alone and with the ones before it (so the whole reply at the
    /// end). A code the identifier does not know is not judged.
    pub fn in_language(mut self, code: &str) -> StreamCleaner {
        self.language = language_of_code(code);
        self
    }

    /// The reply is for this child (who asked, or who is invited): one that calls another
    /// child of the group (see [`Self::with_children`]) and never names this one is refused.
    pub fn for_child(mut self, nickname: Option<&str>) -> StreamCleaner {
        self.for_child = nickname
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty());
        self
    }

    /// Refuses a reply that copies a line of `system_prompt` (see [`copies_line`]), sentence
    /// by sentence and as a whole.
    pub fn not_copying(mut self, system_prompt: &str) -> StreamCleaner {
        self.prompt_lines = system_prompt
            .lines()
            .map(|l| l.trim().to_lowercase())
            .filter(|l| !l.is_empty())
            .collect();
        self
    }

    /// Whether text is released a sentence at a time, each judged before it is shown.
    fn by_sentence(&self) -> bool {
        self.check.is_some() || self.language.is_some() || !self.prompt_lines.is_empty()
    }

    /// Why the new `sentence` of the reply, `so_far` up to it, may not be shown.
    fn sentence_refusal(
        &self,
        sentence: &str,
        so_far: &str,
        agent_name: &str,
    ) -> Option<Rejection> {
        let lower = sentence.to_lowercase();
        if self.prompt_lines.iter().any(|l| copies_line(&lower, l)) {
            return Some(Rejection::PromptCopy);
        }
        let lang = self.language?;
        let mut names: Vec<&str> = self.children.iter().map(String::as_str).collect();
        names.push(agent_name);
        (surely_not_in(sentence, lang, &names)
            || (so_far != sentence && surely_not_in(so_far, lang, &names)))
        .then_some(Rejection::WrongLanguage)
    }

    /// Whether `text` calls another child of the group in its first sentence and never names
    /// the child it is for ("Mia, ..." when Leo asked; "Mia, nice! Leo, ..." is fine).
    fn misaddressed(&self, text: &str) -> bool {
        self.for_child
            .as_deref()
            .is_some_and(|child| calls_the_wrong_child(text, child, &self.children))
    }

    /// The end of the part of `clean` that may be shown: when judged by sentence, the end of
    /// the last complete sentence that passed (each new one is judged once); all of it when
    /// the reply is `finished`. None when a sentence failed (the reply is rejected).
    fn passed(&mut self, clean: &str, finished: bool, agent_name: &str) -> Option<usize> {
        if !self.by_sentence() {
            return Some(clean.len());
        }
        let check = self.check.clone();
        if self.checked > clean.len() || !clean.is_char_boundary(self.checked) {
            // The cleaned text changed under what was checked (a prefix was dropped): check
            // it again from the start.
            self.checked = 0;
        }
        let mut ends = sentence_ends(clean, self.checked);
        if finished && ends.last() != Some(&clean.len()) && !clean[self.checked..].trim().is_empty()
        {
            ends.push(clean.len());
        }
        for end in ends {
            // Each new sentence is judged with the ones before it: "Call 07700." and
            // "900123 is the rest." pass alone, not together.
            let sentence = clean[self.checked..end].trim();
            if !sentence.is_empty() {
                if let Some(why) = self.sentence_refusal(sentence, clean[..end].trim(), agent_name)
                {
                    self.reject(why);
                    return None;
                }
                if let Some(why) = check.as_ref().and_then(|c| c(clean[..end].trim())) {
                    self.unsafe_reason = Some(why);
                    self.reject(Rejection::Unsafe);
                    return None;
                }
            }
            self.checked = end;
        }
        Some(self.checked)
    }

    fn reject(&mut self, why: Rejection) {
        self.rejected = true;
        self.rejection.get_or_insert(why);
        self.complete = true;
    }

    /// Adds generated text; returns what to show now (may be empty).
    pub fn push(&mut self, token: &str, agent_name: &str) -> String {
        if self.rejected {
            return String::new();
        }
        self.raw.push_str(token);
        let (clean, complete) = clean_reply(&self.raw, agent_name);
        self.complete = complete;
        let clean = clean.unwrap_or_default();
        if claims_another_name(&clean, agent_name, false) {
            self.reject(Rejection::Persona);
            return String::new();
        }
        // The cleaned text is trimmed: the raw text says whether its last word is complete.
        let last_word_done = self.raw.ends_with(|c: char| !c.is_alphanumeric());
        if speaks_as_a_person(&clean, last_word_done) {
            self.reject(Rejection::HumanLife);
            return String::new();
        }
        if self.repeats(&clean) {
            self.reject(Rejection::Repeat);
            return String::new();
        }
        // Unless it is judged by sentence, a reply for the group is held back whole (its topic
        // is judged at the end); if it is, sentences are released once what they add up to
        // touches the topic.
        if (self.topic.is_some() && !self.by_sentence())
            || (!complete
                && self.raw.trim_start().chars().count() < HOLD_BACK
                && !self.raw.contains(':'))
        {
            return String::new();
        }
        if self.shown.is_empty() && self.is_echo(&clean) {
            self.reject(Rejection::Echo);
            return String::new();
        }
        let Some(end) = self.passed(&clean, complete, agent_name) else {
            return String::new();
        };
        let ready = &clean[..end];
        if let Some(topic) = &self.topic {
            if !on_topic(ready, topic) {
                // Replies are one to three short sentences: when the first two have not
                // touched the problem, neither will the reply, and the children get the
                // written line now instead of after the rest is generated.
                let sentences = sentence_ends(&clean, 0)
                    .iter()
                    .filter(|e| **e <= end)
                    .count();
                if sentences >= OFF_TOPIC_AFTER_SENTENCES {
                    self.reject(Rejection::OffTopic);
                }
                return String::new();
            }
        }
        // A start that calls another child waits until the child it is for is named too (or
        // the reply ends, and is refused).
        if self.misaddressed(ready) {
            return String::new();
        }
        self.advance(ready.to_string())
    }

    /// The whole cleaned reply (None when nothing is worth showing), and the part of it not
    /// yet shown.
    pub fn finish(&mut self, agent_name: &str) -> (Option<String>, String) {
        let (clean, _) = clean_reply(&self.raw, agent_name);
        if let Some(c) = clean.as_deref() {
            if echoes(c, &self.instruction) || self.is_echo(c) {
                self.reject(Rejection::Echo);
            } else if claims_another_name(c, agent_name, true) {
                self.reject(Rejection::Persona);
            } else if speaks_as_a_person(c, true) {
                self.reject(Rejection::HumanLife);
            } else if self
                .prompt_lines
                .iter()
                .any(|l| copies_line(&c.to_lowercase(), l))
            {
                self.reject(Rejection::PromptCopy);
            } else if self.repeats(c) {
                self.reject(Rejection::Repeat);
            } else if self.only_names(c) {
                self.reject(Rejection::Echo);
            } else if self.misaddressed(c) {
                self.reject(Rejection::WrongChild);
            } else if self.topic.as_ref().is_some_and(|t| !on_topic(c, t)) {
                self.reject(Rejection::OffTopic);
            }
        }
        if !self.rejected {
            if let Some(c) = clean.as_deref() {
                self.passed(c, true, agent_name);
            }
        }
        if self.rejected {
            return (None, String::new());
        }
        let rest = self.advance(clean.clone().unwrap_or_default());
        (clean, rest)
    }

    /// Whether `text` is nothing but the children's names ("Ada, Max, Tom."), or one word
    /// besides them.
    fn only_names(&self, text: &str) -> bool {
        let words = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .filter(|w| !self.children.contains(&w.to_lowercase()))
            .count();
        words < 2
    }

    /// Whether `text` says again what the agent said recently: at least six words of four
    /// letters or more (names aside, so the same kind question to another child is fine),
    /// 60 % of them from one earlier message.
    fn repeats(&self, text: &str) -> bool {
        let mut mine = long_words(text);
        mine.retain(|w| !self.children.contains(w));
        mine.len() >= 6 && self.said.iter().any(|old| mostly_from(&mine, old))
    }

    fn is_echo(&self, start: &str) -> bool {
        let start = start.to_lowercase();
        let lead: String = start.chars().take(20).collect();
        let speaks_for_a_child = start
            .split_once(':')
            .is_some_and(|(head, _)| self.children.iter().any(|c| head.trim() == c));
        // Words of the instruction, or talk about the prompt, that a reply to children never
        // needs.
        let instruction_talk = [
            "sentence",
            "write only",
            "do not say",
            "teacher says",
            "possible answer",
            "possible response",
            "a sample of",
            "as an ai",
            "language model",
        ]
        .iter()
        .any(|w| start.contains(w));
        start.starts_with('(')
            || instruction_talk
            || speaks_for_a_child
            || start.contains("only you see")
            || (!self.instruction.is_empty()
                && lead.len() >= 12
                && self.instruction.to_lowercase().contains(&lead))
    }

    fn advance(&mut self, clean: String) -> String {
        match clean.strip_prefix(self.shown.as_str()) {
            Some(rest) if !rest.is_empty() => {
                let rest = rest.to_string();
                self.shown = clean;
                rest
            }
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_cleaned_for_children() {
        let c = |s| clean_reply(s, "Blue").0;
        assert_eq!(c("Blue: Hi there!").as_deref(), Some("Hi there!"));
        assert_eq!(c("**Blue**: Assistant: Hello.").as_deref(), Some("Hello."));
        assert_eq!(
            c("One. Two! Three? Four.").as_deref(),
            Some("One. Two! Three?")
        );
        assert_eq!(
            c("Good idea Mia!\nLeo: I agree").as_deref(),
            Some("Good idea Mia!")
        );
        assert_eq!(
            c("It costs 2.50 dollars. Ok."),
            Some("It costs 2.50 dollars. Ok.".into())
        );
        assert_eq!(
            c("Mia: we could"),
            Some("Mia: we could".into()),
            "a child's name is not a role prefix"
        );
        assert_eq!(
            c("Dear Sam,\nwhat would you add?\nMore").as_deref(),
            Some("Dear Sam, what would you add?")
        );
        assert_eq!(c("Hi!\nLeo: no").as_deref(), Some("Hi!"));
        assert_eq!(c("   "), None);
        assert_eq!(c("Blue: ..."), None);
        assert_eq!(c("\"Let's vote!\"").as_deref(), Some("Let's vote!"));
    }

    #[test]
    fn the_stream_cleaner_hides_the_prefix_and_stops_after_three_sentences() {
        let mut s = StreamCleaner::default();
        let mut shown = String::new();
        for tok in [
            "Bl", "ue", ":", " What", " a great", " idea.", " Yes!", " Go.", " More.",
        ] {
            shown.push_str(&s.push(tok, "Blue"));
            if s.complete {
                break;
            }
        }
        assert!(s.complete);
        let (full, rest) = s.finish("Blue");
        shown.push_str(&rest);
        assert_eq!(full.as_deref(), Some("What a great idea. Yes! Go."));
        assert_eq!(shown, "What a great idea. Yes! Go.");
    }

    #[test]
    fn invitations_always_name_the_child() {
        assert_eq!(
            ensure_named("What would you add?".into(), "Sam"),
            "Sam, what would you add?"
        );
        assert_eq!(
            ensure_named("I wonder what you think.".into(), "Sam"),
            "Sam, I wonder what you think."
        );
        assert_eq!(
            ensure_named("Sam, your turn!".into(), "Sam"),
            "Sam, your turn!"
        );
    }

    #[test]
    fn copies_of_the_instruction_are_never_shown() {
        let instr = "Kindly invite Sam by name to share an idea. Ask an easy, open question.";
        let mut s = StreamCleaner::new(instr);
        let mut shown = String::new();
        for tok in [
            "Kindly",
            " invite",
            " Sam",
            " by",
            " name",
            " to share",
            " an idea.",
        ] {
            shown.push_str(&s.push(tok, "Blue"));
        }
        assert!(s.rejected && s.complete);
        assert_eq!(s.finish("Blue"), (None, String::new()));
        assert_eq!(shown, "");
        assert!(echoes("Ask an easy open question to share an idea", instr));
        assert!(!echoes(
            "Sam, what would you like to add to the playground?",
            instr
        ));
        let mut s = StreamCleaner::new(instr);
        s.push(
            "(Teacher, only you see this) hello there my friends",
            "Blue",
        );
        assert!(s.rejected);
        let mut s = StreamCleaner::new(instr).with_children(&["Sam".to_string()]);
        s.push("Sam: I'm not sure if I can answer", "Blue");
        assert!(s.rejected, "the agent never writes as a child");
        let mut s = StreamCleaner::new(instr);
        s.push(
            "Do not say you were quiet. Write one to three short sentences",
            "Blue",
        );
        assert_eq!(
            s.finish("Blue").0,
            None,
            "paraphrased instructions are refused too"
        );
        assert_eq!(s.finish("Blue").0, None);
    }

    fn stream(cleaner: &mut StreamCleaner, text: &str) -> String {
        let mut shown = String::new();
        for piece in text.split_inclusive(' ') {
            shown.push_str(&cleaner.push(piece, "Blue"));
        }
        shown
    }

    #[test]
    fn the_agent_never_takes_another_name() {
        assert!(claims_another_name(
            "Hi Tom, I'm Emily and I'll help.",
            "Blue",
            false
        ));
        assert!(claims_another_name("Hello! My name is Sam.", "Blue", true));
        assert!(!claims_another_name(
            "Hi, I'm Blue, an AI helper.",
            "Blue",
            true
        ));
        assert!(!claims_another_name(
            "I'm so glad, I am not sure. I'm AI.",
            "Blue",
            true
        ));
        // A word still being written is not judged ("I'm Bl" may become "I'm Blue").
        assert!(!claims_another_name("Hello, I'm Bl", "Blue", false));
        assert!(claims_another_name("Hello, I'm Bl", "Blue", true));

        let mut c = StreamCleaner::new("Kindly invite Tom");
        let shown = stream(
            &mut c,
            "Hi Tom, I'm Emily and I'll be your friend! What is a cool idea?",
        );
        assert_eq!(shown, "", "refused before anything was shown");
        assert_eq!(c.finish("Blue").0, None);
        assert_eq!(c.rejection, Some(Rejection::Persona));
        assert_eq!(Rejection::Persona.decision(), "dropped_persona");
    }

    #[test]
    fn talk_about_the_prompt_is_refused() {
        let mut c = StreamCleaner::new("Ask the group one open question");
        stream(
            &mut c,
            "Here's a possible answer to your question: the team is nice.",
        );
        assert_eq!(c.finish("Blue").0, None);
        assert_eq!(c.rejection, Some(Rejection::Echo));
    }

    #[test]
    fn a_reply_for_the_group_is_held_back_and_must_touch_the_problem() {
        let topic = crate::agent::text::topic_words(&[
            "A playground everyone can play on",
            "Collect many ideas for parts of the playground",
            "a ramp for the slide",
        ]);
        let mut c =
            StreamCleaner::new("Ask the group one open question").on_topic_only(topic.clone());
        let shown = stream(
            &mut c,
            "What could we add next to the slide so that everyone can use it?",
        );
        assert_eq!(shown, "", "nothing is streamed");
        let (text, rest) = c.finish("Blue");
        assert_eq!(
            text.as_deref(),
            Some("What could we add next to the slide so that everyone can use it?")
        );
        assert_eq!(rest, text.unwrap(), "all of it is shown at the end");

        let mut c = StreamCleaner::new("Ask the group one open question").on_topic_only(topic);
        stream(
            &mut c,
            "If you're ready to explore the world with me, what's a fun adventure today?",
        );
        assert_eq!(c.finish("Blue").0, None);
        assert_eq!(c.rejection, Some(Rejection::OffTopic));
        assert_eq!(Rejection::OffTopic.decision(), "dropped_off_topic");
    }

    #[test]
    fn two_sentences_off_the_problem_end_a_reply_for_the_group_before_it_is_finished() {
        let topic = crate::agent::text::topic_words(&["A playground everyone can play on"]);
        // Judged by sentence, as every reply in a room is (the screen checks each one).
        let cleaner = |topic: &[String]| {
            StreamCleaner::new("Announce the phase")
                .in_language("en")
                .on_topic_only(topic.to_vec())
        };
        let mut c = cleaner(&topic);
        stream(
            &mut c,
            "Hello, friends! Today is a new day to have fun together.",
        );
        assert_eq!(
            c.rejection, None,
            "the second sentence may still be unfinished"
        );
        stream(&mut c, " We");
        assert_eq!(
            c.rejection,
            Some(Rejection::OffTopic),
            "refused without the rest"
        );
        // One sentence off the problem, then the problem: shown whole at the end.
        let mut c = cleaner(&topic);
        stream(&mut c, "Hello, friends! What should our playground have? ");
        let (text, _) = c.finish("Blue");
        assert_eq!(
            text.as_deref(),
            Some("Hello, friends! What should our playground have?")
        );
    }

    #[test]
    fn the_agent_does_not_say_the_same_thing_again() {
        let said = vec![
            "Lia, I love your creativity! You can create a ramp that goes around the tree."
                .to_string(),
        ];
        let mut c = StreamCleaner::new("Kindly invite Sam")
            .with_children(&["Lia".into(), "Sam".into()])
            .not_repeating(said.clone());
        stream(
            &mut c,
            "Sam, I love your creativity! You can create a ramp that goes around the tree.",
        );
        assert_eq!(c.finish("Blue").0, None);
        assert_eq!(c.rejection, Some(Rejection::Repeat));
        // The same short, kind question to another child is not a repeat.
        let mut c = StreamCleaner::new("Kindly invite Sam")
            .with_children(&["Lia".into(), "Sam".into()])
            .not_repeating(vec!["Lia, what would you add?".into()]);
        stream(&mut c, "Sam, what would you add?");
        assert_eq!(
            c.finish("Blue").0.as_deref(),
            Some("Sam, what would you add?")
        );
        // A reply of names only is refused.
        let mut c = StreamCleaner::new("Kindly invite Ada").with_children(&[
            "Ada".into(),
            "Max".into(),
            "Tom".into(),
        ]);
        stream(&mut c, "Ada, Max, Tom.");
        assert_eq!(c.finish("Blue").0, None);
        assert_eq!(c.rejection, Some(Rejection::Echo));
        // Claims of being a person are refused like another name.
        assert!(claims_another_name(
            "Hi Alex, it was rewarding for me as a teacher.",
            "Blue",
            true
        ));
        assert!(claims_another_name("I\u{2019}m a kid too!", "Blue", true));
        assert!(!claims_another_name(
            "I'm an AI helper, not a teacher.",
            "Blue",
            true
        ));
    }

    /// Streams `text` through `cleaner` and finishes it: what the children would read at the
    /// end (None when refused), what was shown while it streamed, and why it was refused.
    fn say(mut cleaner: StreamCleaner, text: &str) -> (Option<String>, String, Option<Rejection>) {
        let mut shown = stream(&mut cleaner, text);
        let (full, rest) = cleaner.finish("Blue");
        shown.push_str(&rest);
        (full, shown, cleaner.rejection)
    }

    /// Each of `texts`, through a cleaner from `cleaner`, is refused for `why` before any of
    /// it is shown.
    fn refused(cleaner: impl Fn() -> StreamCleaner, texts: &[&str], why: Rejection) {
        for text in texts {
            assert_eq!(
                say(cleaner(), text),
                (None, String::new(), Some(why)),
                "{text}"
            );
        }
    }

    /// Each of `texts`, through a cleaner from `cleaner`, is shown whole.
    fn shown_whole(cleaner: impl Fn() -> StreamCleaner, texts: &[&str]) {
        for text in texts {
            assert_eq!(
                say(cleaner(), text),
                (Some(text.to_string()), text.to_string(), None),
                "{text}"
            );
        }
    }

    #[test]
    fn a_reply_not_in_the_session_language_is_refused() {
        let replies = [
            (
                "en",
                "What if the slide was wide enough for two friends at once? Then nobody waits.",
            ),
            (
                "de",
                "Was wäre, wenn wir eine Rampe an die Rutsche bauen? Dann können alle mitmachen.",
            ),
            (
                "fr",
                "Et si le toboggan était assez large pour deux amis ? Comme ça, personne n'attend.",
            ),
            (
                "es",
                "¿Y si añadimos una rampa al tobogán de Mia? Así todos pueden subir.",
            ),
        ];
        for (lang, text) in replies {
            shown_whole(|| StreamCleaner::new("").in_language(lang), &[text]);
            for (other, _) in replies.iter().filter(|(o, _)| *o != lang) {
                // Refused sentence by sentence, before it is shown.
                refused(
                    || StreamCleaner::new("").in_language(other),
                    &[text],
                    Rejection::WrongLanguage,
                );
            }
        }
        // The study's Spanish session: English with a Spanish greeting. Its first sentence
        // alone is too unsure to judge (it is shown, then taken back); the two together are not.
        let (full, _, why) = say(
            StreamCleaner::new("").in_language("es"),
            "Hola, I am excited to introduce you to a new adventure. Let's discover the \
             wonders of the Spanish language together!",
        );
        assert_eq!((full, why), (None, Some(Rejection::WrongLanguage)));
        // A second sentence in another language is judged on its own.
        let (full, shown, _) = say(
            StreamCleaner::new("").in_language("de"),
            "Was wäre, wenn wir eine Rampe an die Rutsche bauen? What do you think about \
             a ramp for the slide, everyone?",
        );
        assert_eq!(full, None);
        assert_eq!(shown, "Was wäre, wenn wir eine Rampe an die Rutsche bauen?");
        // Short replies, and languages the identifier does not know, pass.
        let children = ["Leo".to_string(), "Mia".to_string(), "Sam".to_string()];
        for (lang, text) in [
            ("en", "Super idée, Leo !"),
            ("de", "Great idea, Leo!"),
            ("fr", "¡Qué bien, Mia!"),
            ("es", "Toll gemacht, Sam!"),
            (
                "xx",
                "What if the slide was wide enough for two friends at once?",
            ),
        ] {
            shown_whole(
                || {
                    StreamCleaner::new("")
                        .in_language(lang)
                        .with_children(&children)
                },
                &[text],
            );
        }
        assert_eq!(
            Rejection::WrongLanguage.decision(),
            "dropped_wrong_language"
        );
    }

    #[test]
    fn an_answer_calls_the_child_who_asked_or_nobody() {
        let children = ["Mia".to_string(), "Leo".to_string(), "Sam".to_string()];
        let for_leo = || {
            StreamCleaner::new("")
                .with_children(&children)
                .for_child(Some("Leo"))
        };
        // Held back until it names the child, so never shown.
        refused(
            for_leo,
            &[
                "Mia, slides are so much fun for everyone!",
                "Hi Mia! Yes, robots can play too.",
                "Great question, Mia! Robots can play too.",
                "Hallo Mia, Roboter können auch spielen.",
                "Salut Mia ! Les robots peuvent jouer aussi.",
                "¡Hola Mia! Los robots también pueden jugar.",
            ],
            Rejection::WrongChild,
        );
        shown_whole(
            for_leo,
            &[
                "Leo, yes, robots can play too!",
                "Yes, robots can play too!",
                "Mia had a great idea about robots. What do you think?",
                "Mia, nice idea! Leo, robots can play too.",
                "Hola Leo, los robots también pueden jugar.",
                "Oui Leo, les robots peuvent jouer aussi.",
                "Ja, Leo, Roboter können auch spielen.",
            ],
        );
        // For nobody, or for someone who is not in the group: not judged.
        let mia_first = ["Mia, slides are so much fun!"];
        shown_whole(
            || StreamCleaner::new("").with_children(&children),
            &mia_first,
        );
        shown_whole(
            || {
                StreamCleaner::new("")
                    .with_children(&children)
                    .for_child(Some("someone"))
            },
            &mia_first,
        );
        assert_eq!(Rejection::WrongChild.decision(), "dropped_wrong_child");
    }

    #[test]
    fn a_line_of_the_system_prompt_is_never_said() {
        // The moderator's system prompt as the room gives it: the parts children see anyway
        // are left out.
        let vars: crate::agent::prompt::Vars = [
            ("name", "Blue".to_string()),
            ("language", "English".to_string()),
            (
                "phase_aim",
                "Ask Mia to write down her favorite thing about the playground.".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let prompt = crate::agent::Templates::built_in()
            .moderator
            .render_instructions(&vars);
        let not_copying = || StreamCleaner::new("").not_copying(&prompt);
        refused(
            not_copying,
            &[
                "Your job in this part: Ask Mia to write down her favorite thing about the playground.",
                "Ask Mia to write down her favorite thing about the playground.",
                "Rules: write in English and be kind.",
                "Never ask for or repeat anyone's personal details, please.",
                "Never pretend to be a person, a parent or anyone else. Stay on the problem.",
            ],
            Rejection::PromptCopy,
        );
        // Doing what the prompt says shares its words without copying it.
        shown_whole(
            not_copying,
            &[
                "Mia, can you write down your favourite thing about the playground?",
                "Remember, every idea is welcome! What ideas do you have?",
                "Please talk to a trusted adult like your teacher, they can help you.",
                "What if we add a ramp to the tree house?",
                "Let's be kind to each other and share our ideas.",
            ],
        );
        assert_eq!(Rejection::PromptCopy.decision(), "dropped_prompt_copy");
    }

    #[test]
    fn the_agent_never_speaks_as_a_person_with_a_life() {
        // Screened sentence by sentence, as in the room: nothing is shown before it is judged.
        let screened = || StreamCleaner::new("").screened(std::sync::Arc::new(|_: &str| None));
        refused(
            screened,
            &[
                "I always try to make sure my children are included.",
                "My kids love slides too!",
                "At my job we always use ramps.",
                "When I was a kid, I loved the swings.",
                "My body gets tired on the climbing frame.",
                "Meine Kinder lieben Rutschen!",
                "Als ich klein war, habe ich gern geschaukelt.",
                "Mes enfants adorent les toboggans !",
                "Quand j\u{2019}étais petit, j'adorais les balançoires.",
                "Mis hijos también aman los toboganes.",
                "Cuando era niña, me encantaban los columpios.",
            ],
            Rejection::HumanLife,
        );
        shown_whole(
            screened,
            &[
                "My idea is a quiet corner with plants.",
                "My favourite slide is the wide one.",
                "Robots have bodies made of metal, so they can play too!",
                "My job is to help you think together.",
                "Your family could visit the playground too!",
                "I like my song about slides.",
                "Meine Idee ist eine breite Rutsche.",
                "Mon idée : un coin calme avec des plantes.",
                "Mi idea es un rincón tranquilo con plantas.",
            ],
        );
        // A word still being written is not judged: "my son" may become "my song".
        assert!(!speaks_as_a_person("I like my son", false));
        assert!(speaks_as_a_person("I like my son", true));
        assert_eq!(Rejection::HumanLife.decision(), "dropped_human_life");
    }
}
