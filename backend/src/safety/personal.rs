//! Personal-data detectors. Each returns findings with byte spans of the original text, so
//! exactly the data is hidden ("my email is [hidden]") and the rest of the message stays.
//!
//! Emails, phone numbers, links and handles are found the same way in every language (also
//! one without a rules file); addresses, passwords and birth dates use the cue words and
//! street words of all the rules files together (a child in an English session may well give
//! a German address); names, schools and birth contexts use the session language's cues.
//!
//! What is deliberately not personal data: a first name alone ("Mia had a good idea"), a
//! town alone ("my cousin lives in Scunthorpe"), a date without a year ("on 14 March we
//! present"), a year alone, numbers that are maths, counting, times, sizes or scores.

use std::collections::HashSet;
use std::ops::Range;

use regex::Regex;

use super::normalize::{fold_words, skeleton, Token};
use super::rules_file::{LanguageRules, Shared};
use super::structure::Role;
use super::verdict::{Category, Finding};
use super::words::{Cue, Hit, Kind};

/// The words that spell "@" and "." in a written-out email, in the four languages and Italian.
const AT_WORDS: &str = r"at|arobase|arroba|chiocciola|ät|klammeraffe";
const DOT_WORDS: &str = r"dot|punkt|point|punto";
const JOIN_WORDS: &str = r"underscore|unterstrich|tiret|guion|guión|dash|minus|bindestrich";
const TLDS: &str = r"com|net|org|de|fr|es|it|uk|io|eu|ch|be|info|edu|me|us|ca|nl|pl|pt|at";
/// Where a handle lives; the word that follows (after "is", "name", ":") is the handle.
const PLATFORMS: &str = r"insta|instagram|snap|snapchat|tiktok|tik tok|discord|roblox|minecraft|fortnite|xbox|psn|playstation|steam|twitch|youtube|telegram|twitter|facebook|fb|gamertag|epic|whatsapp|wechat|kik|threads|pinterest|brawl stars|among us|ig";
/// Words between a platform and the handle.
const HANDLE_CUES: &str = r"is|ist|es|est|its|im|i'm|i am|as|ich bin|je suis|soy|it's|c'est|c’est|name|username|user|id|tag|handle|account|acc|nick|nickname|pseudo|nom|nombre|usuario|nutzername|benutzername|konto|compte|cuenta|heißt|heisst|se llama|s'appelle|called|my|mein|meine|mon|ma|mi";
/// Mail providers: "mia@gmail" without its ending is an email too.
const PROVIDERS: &str = r"gmail|googlemail|hotmail|outlook|yahoo|icloud|aol|gmx|web\.de|t-online|orange|free|laposte|sfr|wanadoo|telefonica|protonmail|proton|live";
/// Words between a platform and a plain-word handle that say it is a name.
const NAME_CUES: &[&str] = &[
    "name",
    "username",
    "user",
    "id",
    "tag",
    "handle",
    "account",
    "acc",
    "nick",
    "nickname",
    "pseudo",
    "nom",
    "nombre",
    "usuario",
    "nutzername",
    "benutzername",
    "konto",
    "compte",
    "cuenta",
    "called",
    "heisst",
    "llama",
    "appelle",
    "gamertag",
];
/// Places a shared code is written, so "the wifi password is ..." is no child's secret.
const SHARED_SECRETS: &[&str] = &[
    "wifi",
    "wlan",
    "class",
    "classroom",
    "klasse",
    "classe",
    "clase",
    "board",
    "tafel",
    "tableau",
    "pizarra",
    "door",
    "tur",
    "porte",
    "puerta",
    "room",
    "raum",
    "salle",
    "aula",
    "school",
    "schule",
    "ecole",
    "colegio",
    "game",
    "spiel",
    "jeu",
    "juego",
    "session",
];
/// Mentions that are the app's own, not a handle.
const MENTIONS: &[&str] = &["everyone", "all", "here", "teacher", "team", "group"];

/// The compiled patterns, shared by all languages.
#[derive(Debug)]
pub struct Patterns {
    email: Regex,
    written_email: Regex,
    url: Regex,
    at_handle: Regex,
    platform: Regex,
    phone: Regex,
    street_number_first: Option<Regex>,
    street_before_number: Option<Regex>,
    street_name_number: Option<Regex>,
    street_compound: Option<Regex>,
    uk_postcode: Regex,
    town_postcode: Regex,
    zip: Regex,
    password: Option<Regex>,
    password_bare: Option<Regex>,
    password_reverse: Option<Regex>,
    provider_email: Regex,
    birth_year: Regex,
    numeric_date: Regex,
    text_date: Option<Regex>,
    common: HashSet<String>,
    possessives: HashSet<String>,
    school_words: HashSet<String>,
    school_connectors: HashSet<String>,
    street_words: Vec<String>,
    number_words: std::collections::HashMap<String, u32>,
}

/// Words before a town after a school's name ("collège jean moulin à lyon", "in hamburg").
const PLACE_PREPOSITIONS: &[&str] = &["in", "at", "near", "a", "en", "de", "aus", "bei", "pres"];

/// `words` as a regex alternation, longest first, escaped.
fn alternation(words: &[String]) -> Option<String> {
    let mut w: Vec<String> = words
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if w.is_empty() {
        return None;
    }
    w.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    w.dedup();
    Some(
        w.iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|"),
    )
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("a personal-data pattern is invalid: {e}"))
}

impl Patterns {
    /// Compiles the patterns over the merged lists of every language.
    pub fn new(shared: &Shared) -> Patterns {
        let email = re(r"[\w.%+-]+\s?@\s?[\w-]+(?:\s?\.\s?[\w-]+)*\s?\.\s?[A-Za-z]{2,}\b");
        let dot = format!(r"(?:\s+(?:{DOT_WORDS})\s+|\s*[(\[]\s*(?:{DOT_WORDS})\s*[)\]]\s*|\.)");
        let local_join = format!(r"(?:\s+(?:{DOT_WORDS}|{JOIN_WORDS})\s+|[._-])");
        let written_email = re(&format!(
            r"(?i)\b[\w+]+(?:{local_join}[\w+]+)*(?:\s+(?:{AT_WORDS})\s+|\s*[(\[]\s*(?:{AT_WORDS}|@)\s*[)\]]\s*|\s*@\s*)[\w-]+(?:{dot}[\w-]+)*?{dot}(?:{TLDS})\b"
        ));
        let url = re(&format!(
            r#"(?i)\b(?:https?://|www\.)[^\s<>"]+|\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{TLDS}|tv|gg|app|ly|xyz|online|site|live|co)\b(?:/[^\s]*)?"#
        ));
        let at_handle = re(r"(?:^|[^\w@.])(@\w[\w.]{1,29})");
        let platform = re(&format!(
            r"(?i)\b(?:{PLATFORMS})\b((?:[\s:=\-]|(?:{HANDLE_CUES})\b)*)(@?[\w.#\-]{{3,32}})"
        ));
        let phone = re(r"\+?\(?\d[\d \t().\-/]{4,}\d");
        let mut after = shared.street_after.clone();
        after.retain(|s| !s.trim().is_empty());
        let street_number_first = alternation(&after).map(|a| {
            re(&format!(
                r"(?i)\b\d{{1,5}}[a-z]?,?\s+((?:[\p{{L}}'’.-]+\s+){{1,3}}?)(?:{a})\b\.?"
            ))
        });
        let articles = r"(?:(?:de|du|des|del|la|le|les|las|los|el)\s+|[dl]['’]\s*)*";
        let street_before_number = alternation(&shared.street_before).map(|b| {
            re(&format!(
                r"(?i:\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?:{b})\.?\s+{articles}[\p{{L}}'’-]+)(?:\s+\p{{Lu}}[\p{{L}}'’-]+){{0,3}}"
            ))
        });
        let street_name_number = alternation(&shared.street_before).map(|b| {
            re(&format!(
                r"(?i)(?:^|[^\w])((?:{b})\.?\s+{articles}([\p{{L}}'’-]+(?:\s+[\p{{L}}'’-]+){{0,2}}?),?\s*(?:n[º°o]\.?\s*)?\d{{1,4}}[a-z]?\b)"
            ))
        });
        let street_compound = alternation(&shared.street_suffix).map(|s| {
            re(&format!(
                r"(?i)\b([\p{{L}}-]{{2,}}(?:{s})|\p{{Lu}}[\p{{L}}-]+\s+(?:{s}))\s*\d{{1,4}}\s?[a-z]?\b"
            ))
        });
        let uk_postcode = re(r"(?i)\b[a-z]{1,2}\d[a-z\d]?\s?\d[a-z]{2}\b");
        let town_postcode = re(r"\b\d{5}\s+\p{Lu}[\p{L}-]+");
        let zip = re(
            r"(?i)\b(?:zip|zip code|plz|postleitzahl|postcode|post code|code postal|cp|código postal|codigo postal)\b\D{0,8}(\d{5})\b",
        );
        let password = alternation(&shared.password).map(|p| {
            re(&format!(
                r"(?i)\b(?:{p})\b([^.!?\n]{{0,40}}?)(?:\s(?:is|ist|es|est|son|sind|lautet)\b|c['’]est|:|=)\s*([^\s,;!?]+)"
            ))
        });
        let password_bare = alternation(&shared.password)
            .map(|p| re(&format!(r"(?i)\b(?:{p})\s*[:=]?\s+([^\s,;!?]+)")));
        let password_reverse = alternation(&shared.password).map(|p| {
            re(&format!(
                r"(?i)([^\s,;!?]+)\s+(?:is|ist|es|est)\s+(?:my|mein|meine|mon|ma|mi)\s+(?:{p})\b"
            ))
        });
        let provider_email = re(&format!(
            r"(?i)\b[\w.+-]+(?:\s?@\s?|\s+(?:{AT_WORDS})\s+)(?:{PROVIDERS})\b"
        ));
        let birth_year = re(r"\b(?:19|20)\d{2}\b");
        let numeric_date =
            re(r"\b(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d{2}|(?:19|20)\d{2}-\d{1,2}-\d{1,2})\b");
        let text_date = alternation(&shared.months).map(|m| {
            re(&format!(
                r"(?i)\b(?:\d{{1,2}}(?:st|nd|rd|th|er|º|o|\.)?\s+(?:of\s+|de\s+)?(?:{m})\.?(?:\s+(?:de\s+|del\s+)?|,\s*)(?:19|20)\d{{2}}|(?:{m})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}|(?:{m})\.?\s+(?:de\s+|del\s+)?(?:19|20)\d{{2}})\b"
            ))
        });
        let mut street_words: Vec<String> = shared
            .street_after
            .iter()
            .chain(&shared.street_before)
            .chain(&shared.street_suffix)
            .map(|s| fold_words(s))
            .filter(|s| s.len() >= 3)
            .collect();
        street_words.sort();
        street_words.dedup();
        Patterns {
            email,
            written_email,
            url,
            at_handle,
            platform,
            phone,
            street_number_first,
            street_before_number,
            street_name_number,
            street_compound,
            uk_postcode,
            town_postcode,
            zip,
            password,
            password_bare,
            password_reverse,
            provider_email,
            birth_year,
            numeric_date,
            text_date,
            common: shared.common.iter().cloned().collect(),
            possessives: shared.possessives.iter().cloned().collect(),
            school_words: shared.school_words.iter().cloned().collect(),
            school_connectors: shared.school_connectors.iter().cloned().collect(),
            street_words,
            number_words: shared.number_words.iter().cloned().collect(),
        }
    }

    /// A street word ("road", "rue", "calle") or a street's name ending in one
    /// ("schillerstrasse").
    fn is_street(&self, folded: &str) -> bool {
        self.street_words
            .iter()
            .any(|s| folded == s || (folded.len() > s.len() + 2 && folded.ends_with(s.as_str())))
    }

    /// A common word of any language (function words, colours, animals...).
    pub fn is_common(&self, folded: &str) -> bool {
        self.common.contains(folded)
    }

    /// Every personal-data finding in `text`.
    pub fn find(
        &self,
        text: &str,
        tokens: &[Token],
        hits: &[Hit],
        lang: Option<&LanguageRules>,
        names: &[String],
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        let push = |out: &mut Vec<Finding>, category: Category, span: Range<usize>| {
            if span.start < span.end {
                out.push(Finding { category, span });
            }
        };
        let has_at = text.contains('@');
        if has_at {
            for m in self.email.find_iter(text) {
                push(&mut out, Category::Email, m.range());
            }
        }
        let lower_has = |needles: &[&str]| {
            let l = text.to_lowercase();
            needles.iter().any(|n| l.contains(n))
        };
        if has_at
            || lower_has(&[
                " at ",
                "arobase",
                "arroba",
                " ät ",
                "chiocciola",
                "(at)",
                "[at]",
            ])
        {
            for m in self.written_email.find_iter(text) {
                push(&mut out, Category::Email, m.range());
            }
            // Without the ending: "mia@gmail", "mia at hotmail".
            for m in self.provider_email.find_iter(text) {
                push(&mut out, Category::Email, m.range());
            }
        }
        if text.contains('.') {
            for m in self.url.find_iter(text) {
                let s = m
                    .as_str()
                    .trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
                push(
                    &mut out,
                    Category::HandleUrl,
                    m.start()..m.start() + s.len(),
                );
            }
        }
        if has_at {
            let named: HashSet<String> = names.iter().map(|n| skeleton(n)).collect();
            for c in self.at_handle.captures_iter(text) {
                let g = c.get(1).expect("group 1");
                let handle = g.as_str().trim_end_matches('.');
                let key = skeleton(&handle[1..]);
                // "@Blue", "@leo": a mention of someone in the room. Handles have digits,
                // dots or underscores ("@mia_rocks_2015"), or come after "my insta is".
                let plain_word =
                    handle[1..].chars().all(char::is_alphabetic) && handle.chars().count() <= 16;
                if named.contains(&key) || MENTIONS.contains(&key.as_str()) || plain_word {
                    continue;
                }
                push(
                    &mut out,
                    Category::HandleUrl,
                    g.start()..g.start() + handle.len(),
                );
            }
        }
        for c in self.platform.captures_iter(text) {
            let between = c.get(1).map_or("", |m| m.as_str());
            let g = c.get(2).expect("group 2");
            let handle = g.as_str().trim_end_matches(['.', '-']);
            // A plain word is a handle only after "name", "username", "pseudo"... or after
            // "my insta is" ("minecraft is fun", "roblox: education edition" stay).
            let named_cue = fold_words(between)
                .split(' ')
                .any(|w| NAME_CUES.contains(&w));
            let at = c.get(0).expect("match").start();
            let lead_start = text[..at]
                .char_indices()
                .rev()
                .nth(12)
                .map_or(0, |(i, _)| i);
            let owned = fold_words(&text[lead_start..at])
                .split(' ')
                .any(|w| self.possessives.contains(w));
            let cued = named_cue || (owned && between.trim().len() > 1);
            if (handle_like(handle) && !between.is_empty())
                || (cued && !self.is_common(&fold_words(handle)) && handle.len() >= 3)
            {
                push(
                    &mut out,
                    Category::HandleUrl,
                    g.start()..g.start() + handle.len(),
                );
            }
        }
        if text.bytes().filter(u8::is_ascii_digit).count() >= 7 {
            for m in self.phone.find_iter(text) {
                let s = m.as_str().trim_end_matches([')', '(', '.', '-', '/', ' ']);
                if phone_like(s) {
                    push(&mut out, Category::Phone, m.start()..m.start() + s.len());
                }
            }
        }
        self.number_word_phone(tokens, &mut out);
        self.addresses(text, tokens, hits, &mut out);
        self.passwords(text, &mut out);
        self.birth_dates(text, tokens, hits, &mut out);
        if let Some(lang) = lang {
            self.real_names(text, tokens, hits, lang, &mut out);
        }
        self.schools(text, tokens, hits, &mut out);
        // A link inside an email, a phone inside an address, "mia@free" inside "mia@free.fr":
        // the larger finding names it.
        let all = out.clone();
        out.retain(|f| {
            !all.iter().any(|g| {
                g.span.start <= f.span.start
                    && f.span.end <= g.span.end
                    && g.span.len() > f.span.len()
            })
        });
        out
    }

    /// "seis cero cero, uno uno dos, dos tres tres": seven or more number words in a row with
    /// a zero among them, or nine or more; not when they count up ("eins zwei drei vier...").
    fn number_word_phone(&self, tokens: &[Token], out: &mut Vec<Finding>) {
        if self.number_words.is_empty() {
            return;
        }
        let mut i = 0;
        while i < tokens.len() {
            let mut j = i;
            let mut values = Vec::new();
            while j < tokens.len() {
                // "double oh", "triple seven": the digit said two or three times.
                let times = match tokens[j].text.as_str() {
                    "double" | "doble" | "doppel" => 2,
                    "triple" | "tripel" => 3,
                    _ => 1,
                };
                let k = if times > 1 { j + 1 } else { j };
                match tokens.get(k).and_then(|t| self.number_words.get(&t.text)) {
                    Some(v) => values.extend(std::iter::repeat_n(*v, times)),
                    None => break,
                }
                j = k + 1;
            }
            let n = values.len();
            let counting = values.windows(2).all(|w| w[1] == w[0] + 1);
            if (n >= 9 || (n >= 7 && values.contains(&0))) && !counting {
                out.push(Finding {
                    category: Category::Phone,
                    span: tokens[i].span.start..tokens[j - 1].span.end,
                });
            }
            i = j.max(i + 1);
        }
    }

    fn addresses(&self, text: &str, tokens: &[Token], hits: &[Hit], out: &mut Vec<Finding>) {
        let before = out.len();
        let add = |out: &mut Vec<Finding>, span: Range<usize>| {
            out.push(Finding {
                category: Category::Address,
                span,
            })
        };
        let has_digit = text.bytes().any(|b| b.is_ascii_digit());
        if has_digit {
            if let Some(r) = &self.street_number_first {
                for c in r.captures_iter(text) {
                    let middle = c.get(1).map_or("", |m| m.as_str());
                    let words: Vec<String> = middle.split_whitespace().map(fold_words).collect();
                    if words.iter().all(|w| !self.is_common(w)) {
                        add(out, c.get(0).expect("match").range());
                    }
                }
            }
            if let Some(r) = &self.street_before_number {
                for m in r.find_iter(text) {
                    add(out, m.range());
                }
            }
            if let Some(r) = &self.street_name_number {
                for c in r.captures_iter(text) {
                    let name = c.get(2).map_or("", |m| m.as_str());
                    let capital = name.chars().next().is_some_and(char::is_uppercase);
                    let all_common = name
                        .split_whitespace()
                        .all(|w| self.is_common(&fold_words(w)));
                    if capital || !all_common {
                        add(out, c.get(1).expect("group 1").range());
                    }
                }
            }
            if let Some(r) = &self.street_compound {
                for m in r.find_iter(text) {
                    add(out, m.range());
                }
            }
            for m in self.uk_postcode.find_iter(text) {
                // "M1 1AE", "SW1A 1AA": a letter must be upper case or the message must
                // already hold an address, so "me2 2go" stays.
                if m.as_str().chars().any(char::is_uppercase) {
                    add(out, m.range());
                }
            }
            for c in self.zip.captures_iter(text) {
                add(out, c.get(1).expect("group 1").range());
            }
        }
        // After "I live at", "my address is": the rest of the sentence, when it holds a number
        // (a town alone, "I live in Berlin", stays).
        for h in hits.iter().filter(|h| h.kind == Kind::Cue(Cue::Live)) {
            let taken = sentence_after(text, tokens, h.words.end, 10);
            if taken.clone().any(|k| {
                let t = &tokens[k].text;
                t.bytes().any(|b| b.is_ascii_digit()) || self.is_street(t)
            }) {
                let first = taken.start;
                let last = taken.end - 1;
                add(out, tokens[first].span.start..tokens[last].span.end);
            }
        }
        // A five-digit postcode with its town, when the message gives an address anyway.
        if out.len() > before && has_digit {
            for m in self.town_postcode.find_iter(text) {
                add(out, m.range());
            }
        }
    }

    fn passwords(&self, text: &str, out: &mut Vec<Finding>) {
        let Some(r) = &self.password else { return };
        for c in r.captures_iter(text) {
            let between = c.get(1).map_or("", |m| m.as_str());
            let secret = c.get(2).expect("group 2");
            // "my pin is 2 7 9 1": digits spaced out one by one are one secret.
            let spaced = spaced_digits(text, secret.start());
            let s = if spaced.len() > secret.as_str().len() {
                spaced
            } else {
                secret.as_str().trim_end_matches(['.', ')', '"', '\''])
            };
            let start = c.get(0).expect("match").start();
            let lead = &text[text[..start]
                .char_indices()
                .rev()
                .nth(20)
                .map_or(0, |(i, _)| i)..start];
            let owned = fold_words(between)
                .split(' ')
                .chain(fold_words(lead).split(' '))
                .any(|w| self.possessives.contains(w));
            let plain = fold_words(s);
            let shared_place = fold_words(between)
                .split(' ')
                .chain(fold_words(lead).split(' '))
                .any(|w| SHARED_SECRETS.contains(&w));
            let word_secret = s.chars().count() >= 3 && !self.is_common(&plain);
            let pin = s.bytes().filter(u8::is_ascii_digit).count() >= 4 && s.contains(' ');
            if handle_like(s) || ((pin || word_secret) && (owned || !shared_place)) {
                out.push(Finding {
                    category: Category::Password,
                    span: secret.start()..secret.start() + s.len(),
                });
            }
        }
        // "my pin 4821", "4821 is my pin": only what looks like a secret.
        for r in [&self.password_bare, &self.password_reverse]
            .into_iter()
            .flatten()
        {
            for c in r.captures_iter(text) {
                let secret = c.get(1).expect("group 1");
                let s = secret.as_str().trim_end_matches(['.', ')', '"', '\'']);
                if handle_like(s) {
                    out.push(Finding {
                        category: Category::Password,
                        span: secret.start()..secret.start() + s.len(),
                    });
                }
            }
        }
    }

    fn birth_dates(&self, text: &str, tokens: &[Token], hits: &[Hit], out: &mut Vec<Finding>) {
        let cues: Vec<&Hit> = hits
            .iter()
            .filter(|h| h.kind == Kind::Cue(Cue::Birth))
            .collect();
        if cues.is_empty() {
            return;
        }
        let mut dates: Vec<Range<usize>> = self
            .numeric_date
            .find_iter(text)
            .map(|m| m.range())
            .collect();
        if let Some(r) = &self.text_date {
            dates.extend(r.find_iter(text).map(|m| m.range()));
        }
        // "born in 2014": a year right after the cue.
        for m in self.birth_year.find_iter(text) {
            let first = tokens.partition_point(|t| t.span.end <= m.start());
            if cues
                .iter()
                .any(|c| c.words.end <= first && first - c.words.end <= 2)
                && !dates
                    .iter()
                    .any(|d| d.start <= m.start() && m.end() <= d.end)
            {
                dates.push(m.range());
            }
        }
        for d in dates {
            let first = tokens.partition_point(|t| t.span.end <= d.start);
            let last = tokens.partition_point(|t| t.span.start < d.end);
            // The cue anywhere near in the sentence: "my bday is 4/5/14", "hab am 12.04.2014
            // geburtstag", "née le 2/6/2014".
            let near = cues.iter().any(|c| {
                (c.words.end <= first && first - c.words.end <= 8)
                    || (c.words.start >= last && c.words.start - last <= 6)
            });
            if near {
                out.push(Finding {
                    category: Category::Birthdate,
                    span: d,
                });
            }
        }
    }

    fn real_names(
        &self,
        text: &str,
        tokens: &[Token],
        hits: &[Hit],
        lang: &LanguageRules,
        out: &mut Vec<Finding>,
    ) {
        for h in hits {
            let strong = match h.kind {
                Kind::Cue(Cue::RealName) => true,
                Kind::Cue(Cue::Name) => false,
                _ => continue,
            };
            let mut k = h.words.end;
            while k < tokens.len() && lang.copulas.contains(lang.matcher.read(&tokens[k].text)) {
                k += 1;
            }
            let mut names = Vec::new();
            while k < tokens.len() && names.len() < 4 {
                let t = &tokens[k];
                let gap = &text[tokens[k - 1].span.end..t.span.start];
                if (!names.is_empty() && gap.contains(['.', ',', '!', '?', ';', ':', '\n']))
                    || !t.alpha
                    || self.is_common(&t.text)
                    || lang.common.contains(&t.text)
                {
                    break;
                }
                names.push(k);
                k += 1;
            }
            let enough = if strong {
                !names.is_empty()
            } else {
                // "my name is Mia Hernandez", not "my name is Mia", not "ich bin total müde".
                names.len() >= 2 && names.iter().all(|k| tokens[*k].capitalised)
            };
            if enough {
                out.push(Finding {
                    category: Category::RealName,
                    span: tokens[names[0]].span.start
                        ..tokens[*names.last().expect("names")].span.end,
                });
            }
        }
    }

    /// A school word with a name next to it: "St Mary's Primary", "Oakfield Academy",
    /// "Astrid-Lindgren-Schule", "Grundschule am Lindenweg", "l'école Jean Jaurès", "el
    /// Colegio Santa Ana", "das gymnasium an der bahnhofstrasse". A school word alone ("after
    /// school", "our school jumpers") is not personal data.
    fn schools(&self, text: &str, tokens: &[Token], hits: &[Hit], out: &mut Vec<Finding>) {
        let is_school = |t: &Token| {
            self.school_words.contains(&t.text)
                || (t.capitalised
                    && t.text.len() > 8
                    && (t.text.ends_with("schule") || t.text.ends_with("gymnasium")))
        };
        let is_name = |t: &Token| {
            (t.capitalised && !self.is_common(&t.text) && t.text.chars().any(char::is_alphabetic))
                || (self.is_street(&t.text) && !self.street_words.contains(&t.text))
        };
        // A school's name does not run across punctuation: in "joining the school. I've
        // been thinking" the "I've" is the next sentence, not the school's name.
        let apart = |a: &Token, b: &Token| {
            text[a.span.end..b.span.start].contains(['.', '!', '?', '\n', ',', ';', ':'])
        };
        let mut i = 0;
        while i < tokens.len() {
            if !is_school(&tokens[i]) {
                i += 1;
                continue;
            }
            let mut names = 0;
            let mut first = i;
            while first > 0 {
                let t = &tokens[first - 1];
                if apart(t, &tokens[first]) {
                    break;
                }
                if is_school(t) {
                    first -= 1;
                } else if is_name(t)
                    || matches!(t.text.as_str(), "st" | "saint" | "sankt") && t.capitalised
                {
                    names += 1;
                    first -= 1;
                } else {
                    break;
                }
            }
            let mut end = i + 1;
            loop {
                let mut k = end;
                while k < tokens.len()
                    && !apart(&tokens[k - 1], &tokens[k])
                    && self.school_connectors.contains(&tokens[k].text)
                {
                    k += 1;
                }
                if k < tokens.len() && apart(&tokens[k - 1], &tokens[k]) {
                    break;
                }
                if k < tokens.len() && is_school(&tokens[k]) {
                    end = k + 1;
                } else if k < tokens.len() && is_name(&tokens[k]) {
                    names += 1;
                    end = k + 1;
                } else {
                    break;
                }
            }
            // "my school is called st josephs", "mi cole se llama CEIP Los Olivos": the words
            // after the name verb are the name, in any case.
            if names == 0 {
                let called = hits.iter().find(|h| {
                    h.kind == Kind::Role(Role::Called)
                        && h.words.start >= end
                        && h.words.start <= end + 1
                });
                if let Some(c) = called {
                    let from = c.words.end;
                    let mut k = from;
                    while k < tokens.len()
                        && k - from < 4
                        && tokens[k].alpha
                        && (k == from || !apart(&tokens[k - 1], &tokens[k]))
                    {
                        k += 1;
                    }
                    if (from..k).any(|j| !self.is_common(&tokens[j].text)) {
                        names = k - from;
                        end = k;
                    }
                }
            }
            // After "I go to", "my school is": lower-case names before a school word count too.
            if names == 0 {
                let cued = hits.iter().any(|h| {
                    h.kind == Kind::Cue(Cue::School) && h.words.end <= i && i - h.words.end <= 3
                });
                if cued {
                    let h_end = hits
                        .iter()
                        .filter(|h| h.kind == Kind::Cue(Cue::School) && h.words.end <= i)
                        .map(|h| h.words.end)
                        .max()
                        .unwrap_or(i);
                    let lower: Vec<usize> = (h_end..i)
                        .filter(|k| tokens[*k].alpha && !self.is_common(&tokens[*k].text))
                        .collect();
                    if let Some(f) = lower.first() {
                        first = first.min(*f);
                        names = lower.len();
                    }
                }
            }
            // "ich bin auf der gesamtschule am park in der schillerstrasse", "je suis au
            // collège victor hugo rue de la paix": a school said with its street is found
            // where the child lives, even when every word is lower case. The child must say
            // it is their school (a cue: "i go to", "je vais au"), so "after school we walked
            // down the road" and "después del cole fuimos por la calle" stay.
            if names == 0 {
                let cued = hits.iter().any(|h| {
                    h.kind == Kind::Cue(Cue::School) && h.words.end <= i + 1 && i <= h.words.end + 3
                });
                let mut k = end;
                while k < tokens.len() && self.school_connectors.contains(&tokens[k].text) {
                    k += 1;
                }
                let named_after = k < tokens.len()
                    && !apart(&tokens[k - 1], &tokens[k])
                    && tokens[k].alpha
                    && !self.is_common(&tokens[k].text);
                let sentence_end = (end..tokens.len())
                    .find(|&j| {
                        text[tokens[j - 1].span.end..tokens[j].span.start]
                            .contains(['.', '!', '?', '\n'])
                    })
                    .unwrap_or(tokens.len());
                let street =
                    (end..sentence_end.min(end + 7)).find(|&j| self.is_street(&tokens[j].text));
                // "collège jean moulin a lyon": a named school with its town.
                let town = (k + 1..sentence_end.saturating_sub(1)).find(|&j| {
                    PLACE_PREPOSITIONS.contains(&tokens[j].text.as_str())
                        && tokens[j + 1].alpha
                        && !self.is_common(&tokens[j + 1].text)
                });
                if let (true, Some(st)) = (cued, street) {
                    names = 1;
                    // The street's name follows the street word in French and Spanish.
                    end = (st + 4).min(sentence_end);
                } else if let (true, Some(t)) = (cued && named_after, town) {
                    names = 1;
                    end = t + 2;
                }
            }
            if names > 0 {
                out.push(Finding {
                    category: Category::School,
                    span: tokens[first].span.start..tokens[end - 1].span.end,
                });
            }
            i = end.max(i + 1);
        }
    }
}

#[cfg(test)]
mod school_tests {
    use crate::safety::{Screen, ScreenInput};

    #[test]
    fn a_school_name_does_not_run_into_the_next_sentence() {
        let screen = Screen::built_in();
        let check = |text: &str| {
            screen
                .check(&ScreenInput {
                    text,
                    language: "en",
                    level: Default::default(),
                    names: &[],
                })
                .action
        };
        use crate::safety::Action;
        assert_eq!(
            check("I'm so glad you're joining the school. I've been thinking about games."),
            Action::Allow
        );
        assert_eq!(check("after school, Mia can draw it"), Action::Allow);
        assert_eq!(check("I go to Oakfield Academy"), Action::Redact);
    }
}

/// Token indices from `from` to the end of the sentence (at most `max`): stops at ". ! ?",
/// a line break or a word that starts a new thought ("and", "lol").
fn sentence_after(text: &str, tokens: &[Token], from: usize, max: usize) -> Range<usize> {
    const STOP: &[&str] = &[
        "and", "und", "et", "y", "but", "aber", "mais", "pero", "lol", "so", "if", "wenn", "si",
    ];
    let mut k = from;
    while k < tokens.len() && k - from < max {
        if k > from {
            let gap = &text[tokens[k - 1].span.end..tokens[k].span.start];
            if gap.contains(['.', '!', '?', '\n']) && !gap.trim().is_empty() && gap.trim() != "." {
                break;
            }
        }
        if STOP.contains(&tokens[k].text.as_str()) {
            break;
        }
        k += 1;
    }
    from..k
}

/// The run of single digits separated by single spaces at `at` ("2 7 9 1"), or "" when
/// there is none of at least four.
fn spaced_digits(text: &str, at: usize) -> &str {
    let bytes = text.as_bytes();
    let mut end = at;
    let mut digits = 0;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        let next = end + 1;
        if next < bytes.len() && bytes[next].is_ascii_digit() {
            return "";
        }
        digits += 1;
        end = next;
        if end + 1 < bytes.len() && bytes[end] == b' ' && bytes[end + 1].is_ascii_digit() {
            end += 1;
        } else {
            break;
        }
    }
    if digits >= 4 {
        &text[at..end]
    } else {
        ""
    }
}

/// A username rather than a word: digits, `_`, `.`, `#` in it, or a capital inside
/// ("MiaRox", "leo.k2014", "leo#1234").
fn handle_like(s: &str) -> bool {
    let s = s.trim_start_matches('@');
    let chars: Vec<char> = s.chars().collect();
    chars.len() >= 3
        && chars.iter().any(|c| c.is_alphanumeric())
        && (chars
            .iter()
            .any(|c| c.is_ascii_digit() || matches!(c, '_' | '#'))
            || chars[1..chars.len() - 1].contains(&'.')
            || chars
                .windows(2)
                .any(|w| w[0].is_lowercase() && w[1].is_uppercase()))
}

/// Whether a run of digits and separators is a phone number rather than maths, counting,
/// a date, a time range, years, a round number or a decimal.
pub fn phone_like(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let plus = s.starts_with('+');
    let bracket = s.starts_with('(');
    if !(7..=15).contains(&digits) {
        return false;
    }
    let groups: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    // Dates: 03/07/2015, 14.03.2014, 2014-03-14.
    if groups.len() == 3
        && ((lens[0] <= 2 && lens[1] <= 2 && (lens[2] == 4 || lens[2] == 2) && !s.contains(' '))
            || (lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2))
    {
        return false;
    }
    // Years: "2014 2015 2016".
    if lens.iter().all(|l| *l == 4)
        && groups
            .iter()
            .all(|g| g.starts_with("19") || g.starts_with("20"))
    {
        return false;
    }
    let values: Vec<u64> = groups
        .iter()
        .map(|g| g.parse().unwrap_or(u64::MAX))
        .collect();
    if groups.len() >= 3 {
        // Counting and times tables: "1 2 3 4 5 6 7 8 9 10", "4 8 12 16 20".
        let step = values[1] as i128 - values[0] as i128;
        if values
            .windows(2)
            .all(|w| w[1] as i128 - w[0] as i128 == step)
        {
            return false;
        }
    }
    let leading_zero = groups[0].starts_with('0');
    if groups.len() == 1 {
        let g = groups[0];
        let round = g.trim_end_matches('0').len() <= 2;
        let same = g.bytes().all(|b| b == g.as_bytes()[0]);
        let ascending = g.as_bytes().windows(2).all(|w| w[1] == w[0] + 1);
        return (plus || digits >= 9 || leading_zero) && !round && !same && !ascending;
    }
    // Thousands: "100 000 000".
    if groups[1..].iter().all(|g| g.bytes().all(|b| b == b'0')) {
        return false;
    }
    if plus || bracket || leading_zero {
        return true;
    }
    // Small numbers that only go up look like a sequence ("1 1 2 3 5 8 13 21").
    if lens.iter().all(|l| *l <= 2) && groups.len() >= 6 && values.windows(2).all(|w| w[1] >= w[0])
    {
        return false;
    }
    let max_group = lens.iter().copied().max().unwrap_or(0);
    (digits >= 9 && max_group <= 4) || (digits >= 7 && s.contains('-') && lens == [3, 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_shapes() {
        for yes in [
            "07700 900123",
            "+44 7700 900456",
            "(202) 555-0142",
            "2 0 2 5 5 5 0 1 7 3",
            "13812345678",
            "0151 23456789",
            "+49 170 9876543",
            "030 1234567",
            "0176/12 34 56 78",
            "0 1 5 7 3 4 5 6 7 8 9 0",
            "+34 612 345 678",
            "612 34 56 78",
            "91 123 45 67",
            "6-9-9-1-2-3-4-5-6",
            "06 12 34 56 78",
            "06.39.98.45.67",
            "555-1234",
        ] {
            assert!(phone_like(yes), "{yes}");
        }
        for no in [
            "2 4 6 8 10",
            "1 2 3 4 5 6 7 8 9 10",
            "2 4 6 8 10 12 14 16 18 20",
            "4 8 12 16 20 24 28 32 36 40",
            "03/07/2015",
            "14.03.2014",
            "2014-03-14",
            "2014 2015 2016",
            "1000000",
            "100 000 000",
            "1 1 2 3 5 8 13 21",
            "123456789",
        ] {
            assert!(!phone_like(no), "{no}");
        }
    }

    #[test]
    fn handles() {
        assert!(handle_like("leo#1234") && handle_like("MiaRox") && handle_like("hugo.lbd"));
        assert!(!handle_like("with") && !handle_like("cool") && !handle_like("so"));
    }
}
