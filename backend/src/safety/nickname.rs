//! Nickname checks at the join page. A nickname is seen by the whole group for the whole
//! session and lands in the transcripts, so it is checked more strictly than a message:
//!
//! 1. **Invisible**: zero-width, direction and other format characters (U+200B-U+200F,
//!    U+202A-U+202E, U+2066-U+2069, U+FEFF, U+00AD, the rest of Unicode's Cf), which make two
//!    nicknames look the same or turn the text around.
//! 2. **PersonalData**: an email, phone number, link or handle as a nickname.
//! 3. **Rude**: any harm or mild word of the session language's lists, also disguised
//!    (leet, masks, look-alike letters), also inside camel case or digits ("FuckBoy99",
//!    "xX_sh1t_Xx"), and the files' `never_inside` words anywhere inside ("Shitlord").
//! 4. **Reserved**: "Teacher", "Admin", "Moderator", "System", "peerlearn", their German,
//!    French and Spanish words (the files' `[nickname] reserved`), compared after folding, as a
//!    whole, as one of its words or at its start or end ("Teacher Mia", "TheAdmin",
//!    "ｓｙｓｔｅｍ"); and the caller's words (the agent's name) as the whole nickname ("blue"
//!    is refused when the agent is Blue, "Blue Fox" is fine).
//! 5. **RealName**: the shape of a first name plus surname. The heuristic: two or three
//!    words, each capitalised and letters only, the first no common word, the last neither a
//!    common word nor a first name. So "Mia Hernandez" and "Leo Fischer" are refused, while
//!    "Super Mia" (common first word), "Blue Fox" (common words), "Mia 2" (a digit) and "Ana
//!    Sofía" (two first names) are fine. It misses a surname that is also a first name or
//!    a common word ("Léa Martin", "Max Baker"), and lower-case names ("mia hernandez").
//! 6. **LookAlike**: the same [`skeleton`] as a nickname already in the group: case,
//!    accents, full-width forms and Cyrillic/Greek look-alikes are folded ("mia", "Mіa" with a
//!    Cyrillic і, "Ｍｉａ", "Mía" are all "Mia"). Digits are not folded into letters:
//!    "Mia2" and "M1a" are different nicknames (children add digits to tell themselves apart).

use super::normalize::{is_invisible, skeleton, tokens};
use super::verdict::Category;
use super::words::Kind;
use super::Screen;

/// Reserved in every language, besides the files' lists.
const ALWAYS_RESERVED: &[&str] = &["Teacher", "Admin", "Moderator", "System", "peerlearn"];

/// Why a nickname cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicknameProblem {
    Rude,
    RealName,
    /// The reserved word it contains (as written in the list or by the caller).
    Reserved(String),
    Invisible,
    PersonalData,
    /// The nickname already in the group that it looks like.
    LookAlike(String),
}

impl NicknameProblem {
    pub fn code(&self) -> &'static str {
        match self {
            NicknameProblem::Rude => "rude",
            NicknameProblem::RealName => "real_name",
            NicknameProblem::Reserved(_) => "reserved",
            NicknameProblem::Invisible => "invisible",
            NicknameProblem::PersonalData => "personal_data",
            NicknameProblem::LookAlike(_) => "look_alike",
        }
    }

    /// The friendly message for the child, from the language's file (`{word}`: the reserved
    /// word, `{name}`: the nickname it looks like).
    pub fn message(&self, screen: &Screen, language: &str) -> String {
        let text = screen
            .nickname_message(language, self.code())
            .unwrap_or_else(|| "Please pick a different nickname.".to_string());
        match self {
            NicknameProblem::Reserved(w) => text.replace("{word}", w),
            NicknameProblem::LookAlike(n) => text.replace("{name}", n),
            _ => text,
        }
    }
}

/// "FuckBoy99" -> "Fuck Boy 99", "xX_sh1t_Xx" -> "x X sh1t Xx": camel case, digits next to
/// letters (except inside leet words) and underscores split, so each part is a word.
fn split_parts(nickname: &str) -> String {
    let mut out = String::with_capacity(nickname.len() + 8);
    let mut prev: Option<char> = None;
    for c in nickname.chars() {
        if c == '_' || c == '.' || c == '-' {
            out.push(' ');
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            if p.is_lowercase() && c.is_uppercase() {
                out.push(' ');
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

pub(crate) fn check(
    screen: &Screen,
    nickname: &str,
    language: &str,
    reserved: &[&str],
    existing: &[&str],
) -> Result<(), NicknameProblem> {
    if nickname.chars().any(is_invisible) {
        return Err(NicknameProblem::Invisible);
    }
    let nick = nickname.trim();
    if nick.is_empty() {
        return Ok(());
    }
    let split = split_parts(nick);
    let mut findings = screen.raw_findings(nick, language);
    if findings.iter().any(|f| f.category.is_personal_data()) {
        return Err(NicknameProblem::PersonalData);
    }
    findings.extend(screen.raw_findings(&split, language));
    if findings
        .iter()
        .any(|f| !f.category.is_personal_data() && f.category != Category::PromptLeak)
        || aimed_word(screen, language, nick)
        || aimed_word(screen, language, &split)
    {
        return Err(NicknameProblem::Rude);
    }
    let joined: String = tokens(nick).iter().map(|t| t.text.as_str()).collect();
    if screen
        .shared()
        .never_inside
        .iter()
        .any(|w| !w.is_empty() && joined.contains(w.as_str()))
    {
        return Err(NicknameProblem::Rude);
    }

    let parts: Vec<String> = split.split_whitespace().map(skeleton).collect();
    let whole: String = skeleton(nick).replace(' ', "");
    // The grown-ups' words count as a word of the nickname too ("Teacher Mia", "TheAdmin");
    // the caller's (the agent's name, "Blue") only as the whole nickname, so "Blue Fox" is fine.
    let words = ALWAYS_RESERVED
        .iter()
        .map(|s| (s.to_string(), true))
        .chain(screen.shared().reserved.iter().map(|s| (s.clone(), true)))
        .chain(reserved.iter().map(|s| (s.to_string(), false)));
    for (r, as_part) in words {
        let key = skeleton(&r).replace(' ', "");
        if key.is_empty() {
            continue;
        }
        let hit = whole == key
            || (as_part
                && (parts.contains(&key)
                    || (key.chars().count() >= 4
                        && (whole.starts_with(&key) || whole.ends_with(&key)))));
        if hit {
            return Err(NicknameProblem::Reserved(r));
        }
    }

    if real_name_shape(screen, nick) {
        return Err(NicknameProblem::RealName);
    }

    let key = skeleton(nick).replace(' ', "");
    if let Some(e) = existing
        .iter()
        .find(|e| skeleton(e).replace(' ', "") == key)
    {
        return Err(NicknameProblem::LookAlike(e.to_string()));
    }
    Ok(())
}

/// Whether a word that is an insult when aimed ("idiot", "loser") is part of the nickname.
fn aimed_word(screen: &Screen, language: &str, nick: &str) -> bool {
    let toks = tokens(nick);
    screen.all_rules().any(|r| {
        (r.language == language || r.language == "en")
            && r.matcher
                .find(nick, &toks)
                .iter()
                .any(|h| h.kind == Kind::Aimed)
    })
}

fn real_name_shape(screen: &Screen, nick: &str) -> bool {
    let words: Vec<&str> = nick.split_whitespace().collect();
    if !(2..=3).contains(&words.len()) {
        return false;
    }
    let shaped = words.iter().all(|w| {
        let mut cs = w.chars();
        let first_upper = cs.next().is_some_and(char::is_uppercase);
        first_upper
            && w.chars().count() >= 2
            && w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
            && w.chars().skip(1).any(char::is_lowercase)
    });
    if !shaped {
        return false;
    }
    let fold = |w: &str| skeleton(w);
    let shared = screen.shared();
    let common = |w: &str| shared.common.iter().any(|c| *c == fold(w));
    let first_name = |w: &str| shared.first_names.iter().any(|c| *c == fold(w));
    let last = words[words.len() - 1];
    !common(words[0]) && !common(last) && !first_name(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(nick: &str) -> Result<(), NicknameProblem> {
        Screen::for_tests().check_nickname(nick, "en", &["Blue"], &["Mia", "Leo"])
    }

    #[test]
    fn ordinary_nicknames_are_fine() {
        let s = Screen::for_tests();
        for nick in [
            "Sam",
            "Super Sam",
            "Blue Fox",
            "Léa",
            "Jürgen",
            "Ana Sofía",
            "Mia 2",
            "M1a",
            "Zoë",
            "Ninja Cat",
            "Captain Rainbow",
            "Emre",
            "Aisha",
            "Dragon99",
            "Little Star",
        ] {
            assert_eq!(
                s.check_nickname(nick, "en", &["Blue"], &["Mia", "Leo"]),
                Ok(()),
                "{nick}"
            );
        }
        for (nick, lang) in [
            ("Schnelle Katze", "de"),
            ("Petit Loup", "fr"),
            ("Gato Veloz", "es"),
        ] {
            assert_eq!(s.check_nickname(nick, lang, &[], &[]), Ok(()), "{nick}");
        }
    }

    #[test]
    fn each_problem() {
        assert_eq!(check("Mi\u{200B}a"), Err(NicknameProblem::Invisible));
        assert_eq!(check("\u{202E}aiM"), Err(NicknameProblem::Invisible));
        assert_eq!(check("mia@gmail.com"), Err(NicknameProblem::PersonalData));
        assert_eq!(check("07700900123"), Err(NicknameProblem::PersonalData));
        for rude in [
            "FuckBoy99",
            "sh1thead",
            "xX_b1tch_Xx",
            "Shitlord",
            "Loser",
            "Idiot Kid",
        ] {
            assert_eq!(check(rude), Err(NicknameProblem::Rude), "{rude}");
        }
        assert_eq!(
            check("Teacher"),
            Err(NicknameProblem::Reserved("Teacher".into()))
        );
        assert_eq!(
            check("TheAdmin"),
            Err(NicknameProblem::Reserved("Admin".into()))
        );
        assert_eq!(
            check("ｓｙｓｔｅｍ"),
            Err(NicknameProblem::Reserved("System".into()))
        );
        assert_eq!(check("blue"), Err(NicknameProblem::Reserved("Blue".into())));
        assert!(matches!(
            check("Lehrerin"),
            Err(NicknameProblem::Reserved(_))
        ));
        assert!(matches!(check("Profe"), Err(NicknameProblem::Reserved(_))));
        assert_eq!(check("Mia Hernandez"), Err(NicknameProblem::RealName));
        assert_eq!(check("Leo Fischer"), Err(NicknameProblem::RealName));
        assert_eq!(check("mia"), Err(NicknameProblem::LookAlike("Mia".into())));
        assert_eq!(check("Mіa"), Err(NicknameProblem::LookAlike("Mia".into())));
        assert_eq!(
            check("Ｌｅｏ"),
            Err(NicknameProblem::LookAlike("Leo".into()))
        );
        assert_eq!(check("Mía"), Err(NicknameProblem::LookAlike("Mia".into())));
    }

    #[test]
    fn messages_come_from_the_language_file() {
        let s = Screen::for_tests();
        let p = NicknameProblem::RealName;
        assert_eq!(p.code(), "real_name");
        assert!(p.message(&s, "en").contains("real full name"));
        assert_ne!(p.message(&s, "de"), p.message(&s, "en"));
        assert_eq!(p.message(&s, "it"), p.message(&s, "en"));
        let l = NicknameProblem::LookAlike("Mia".into());
        assert!(l.message(&s, "fr").contains("Mia"));
        let r = NicknameProblem::Reserved("Teacher".into());
        assert!(r.message(&s, "es").contains("Teacher"));
    }
}
