//! Folding text for matching: words are cut out of the original with their byte ranges, then
//! folded (compatibility forms, accents, case, look-alike letters, leet digits and symbols,
//! stretched letters), so one word list entry catches "Scheiße", "SCHEISSE", "sch31sse" and
//! "fuuuck" while every match still points back at the child's own characters.

use std::ops::Range;

use unicode_normalization::char::{decompose_compatible, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

/// One word of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The folded word (lower case, no accents, leet undone, runs of 3+ letters cut to one).
    pub text: String,
    /// The same with runs of 3+ letters cut to two ("asss" -> "ass"), when that differs.
    pub alt: Option<String>,
    /// Byte range in the original text.
    pub span: Range<usize>,
    /// The original starts with an upper-case letter.
    pub capitalised: bool,
    /// The original had `*` or `#` inside: a masked word ("f*ck"), `*` in `text` is a wildcard.
    pub masked: bool,
    /// The original is letters only (no digits or symbols).
    pub alpha: bool,
}

/// Apostrophes joined into words ("you're" -> "youre", "t'es" -> "tes").
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '´')
}

/// Symbols that stand for letters inside a word: "b!tch", "a$$", "f*ck", "sh#t", "@ss".
fn is_mask_symbol(c: char) -> bool {
    matches!(c, '*' | '$' | '@' | '!' | '#')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || is_apostrophe(c) || is_mask_symbol(c)
}

/// The words of `text` in order. A French (or Italian) elision is its own word ("l'école"
/// -> "l", "école"; "t'es" -> "t", "es"), other apostrophes join ("you're" -> "youre").
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (true, Some(s)) if is_apostrophe(c) && is_elision(&text[s..i]) => {
                push_token(text, s..i, &mut out);
                start = None;
            }
            (false, Some(s)) => {
                push_token(text, s..i, &mut out);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        push_token(text, s..text.len(), &mut out);
    }
    out
}

/// "l", "d", "j", "t", "m", "s", "n", "c", "qu" (also "quelqu", "jusqu") before an apostrophe.
fn is_elision(word: &str) -> bool {
    matches!(
        word,
        "l" | "L"
            | "d"
            | "D"
            | "j"
            | "J"
            | "t"
            | "T"
            | "m"
            | "M"
            | "s"
            | "S"
            | "n"
            | "N"
            | "c"
            | "C"
            | "qu"
            | "Qu"
            | "QU"
            | "quelqu"
            | "Quelqu"
            | "jusqu"
            | "Jusqu"
            | "lorsqu"
            | "puisqu"
    )
}

fn push_token(text: &str, mut r: Range<usize>, out: &mut Vec<Token>) {
    // Trim what is punctuation rather than a disguised letter: quotes, "!!!", "@" of a
    // mention, "#" of a hashtag, "*emphasis*".
    let s = &text[r.clone()];
    let emphasis = s.len() > 2 && s.starts_with('*') && s.ends_with('*');
    let lead = s
        .char_indices()
        .find(|(_, c)| {
            !(is_apostrophe(*c) || matches!(c, '!' | '@' | '#') || (*c == '*' && emphasis))
        })
        .map_or(s.len(), |(i, _)| i);
    let trail = s
        .char_indices()
        .rev()
        .find(|(_, c)| {
            !(is_apostrophe(*c) || matches!(c, '!' | '#' | '@') || (*c == '*' && emphasis))
        })
        .map_or(0, |(i, c)| i + c.len_utf8());
    if lead >= trail {
        return;
    }
    r = r.start + lead..r.start + trail;
    let s = &text[r.clone()];
    if !s.chars().any(char::is_alphanumeric) {
        return;
    }
    let has_letter = s.chars().any(char::is_alphabetic);
    let has_digit = s.chars().any(|c| c.is_ascii_digit());
    let mut folded = String::with_capacity(s.len());
    let mut masked = false;
    for c in s.chars() {
        if is_apostrophe(c) {
            continue;
        }
        if is_mask_symbol(c) {
            if !has_letter {
                continue;
            }
            match c {
                '$' => folded.push('s'),
                '@' => folded.push('a'),
                '!' => folded.push('i'),
                _ => {
                    masked = true;
                    folded.push('*');
                }
            }
            continue;
        }
        if has_letter && has_digit {
            if let Some(l) = leet_digit(c) {
                folded.push(l);
                continue;
            }
        }
        fold_char(c, &mut folded);
    }
    if folded.is_empty() {
        return;
    }
    let (text_form, alt) = squeeze(&folded);
    out.push(Token {
        text: text_form,
        alt,
        capitalised: s.chars().next().is_some_and(char::is_uppercase),
        masked,
        alpha: s.chars().all(|c| c.is_alphabetic() || is_combining_mark(c)),
        span: r,
    });
}

/// Digits written for letters in a word that also has letters ("sh1t", "h3ll", "a55").
fn leet_digit(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '8' => 'b',
        _ => return None,
    })
}

/// Runs of three or more of the same letter cut to one ("fuuuck" -> "fuck"), and to two as
/// the alternative ("asss" -> "ass") when there was such a run.
fn squeeze(s: &str) -> (String, Option<String>) {
    let chars: Vec<char> = s.chars().collect();
    let mut one = String::with_capacity(s.len());
    let mut two = String::with_capacity(s.len());
    let mut stretched = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let run = j - i;
        if run >= 3 && c != '*' {
            stretched = true;
            one.push(c);
            two.push(c);
            two.push(c);
        } else {
            for _ in 0..run {
                one.push(c);
                two.push(c);
            }
        }
        i = j;
    }
    (one, stretched.then_some(two))
}

/// Appends the folded form of one character: compatibility decomposition (full-width,
/// ligatures), accents dropped, lower case, a few letters spelt out (ß -> ss) and Cyrillic or
/// Greek look-alikes read as the Latin letter they imitate.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    decompose_compatible(c, |d| {
        if is_combining_mark(d) || is_invisible(d) {
            return;
        }
        if let Some(l) = upper_look_alike(d) {
            out.push(l);
            return;
        }
        for l in d.to_lowercase() {
            match l {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'þ' => out.push_str("th"),
                other => out.push(look_alike(other).unwrap_or(other)),
            }
        }
    });
}

/// Capital Cyrillic and Greek letters that look like a Latin capital (Greek Ν is N, while
/// its small letter ν looks like v).
fn upper_look_alike(c: char) -> Option<char> {
    Some(match c {
        'А' | 'Α' => 'a',
        'В' | 'Β' => 'b',
        'С' | 'Ϲ' => 'c',
        'Е' | 'Ε' | 'Ё' => 'e',
        'Н' | 'Η' => 'h',
        'І' | 'Ι' | 'Ї' => 'i',
        'Ј' => 'j',
        'К' | 'Κ' => 'k',
        'М' | 'Μ' => 'm',
        'Ν' => 'n',
        'О' | 'Ο' => 'o',
        'Р' | 'Ρ' => 'p',
        'Ѕ' => 's',
        'Т' | 'Τ' => 't',
        'Х' | 'Χ' => 'x',
        'У' | 'Υ' | 'Ү' => 'y',
        'Ζ' => 'z',
        _ => return None,
    })
}

/// The Latin letter a lower-case Cyrillic, Greek or special Latin letter is mistaken for.
/// A small table of the letters that look the same in ordinary fonts (after Unicode's
/// confusables list), not the full UTS #39 data: enough to stop "Mіa" (Cyrillic і)
/// impersonating "Mia", without a large dependency.
fn look_alike(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic
        'а' => 'a',
        'в' => 'b',
        'с' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' | 'є' => 'e',
        'һ' | 'н' => 'h',
        'і' | 'ї' | 'ı' | 'ɩ' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'ӏ' => 'l',
        'м' => 'm',
        'п' => 'n',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'т' => 't',
        'ц' | 'υ' => 'u',
        'ѵ' | 'ν' => 'v',
        'ԝ' | 'ѡ' | 'ш' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'ү' | 'γ' => 'y',
        'ь' => 'b',
        // Greek
        'α' => 'a',
        'β' => 'b',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'ο' | 'σ' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'ω' => 'w',
        'ζ' => 'z',
        // Latin letters with a stroke (no decomposition)
        'ł' => 'l',
        'ø' => 'o',
        'đ' | 'ð' => 'd',
        'ħ' => 'h',
        'ŧ' => 't',
        'ƀ' => 'b',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ſ' => 's',
        _ => return None,
    })
}

/// Characters that show nothing or turn the text around: zero-width and direction marks
/// (U+200B-U+200F, U+202A-U+202E, U+2060-U+206F), the byte order mark, the soft hyphen,
/// the other format characters (Unicode category Cf) and the blank "filler" letters.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x034F
        | 0x061C
        | 0x0600..=0x0605
        | 0x06DD
        | 0x070F
        | 0x08E2
        | 0x115F | 0x1160
        | 0x17B4 | 0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x2800
        | 0x3164
        | 0xFEFF
        | 0xFFA0
        | 0xFFF9..=0xFFFB
        | 0x110BD | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
        || (c.is_control() && !matches!(c, '\n' | '\t'))
}

/// The folded words of a word-list entry, joined by single spaces ("You're  DUMB" ->
/// "youre dumb"): list entries are folded exactly like messages.
pub fn fold_words(entry: &str) -> String {
    tokens(entry)
        .into_iter()
        .map(|t| t.text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Confusable folding, the comparison key of nicknames: NFKC, invisible characters and
/// accents removed, lower case, Cyrillic/Greek/full-width look-alikes read as Latin, runs
/// of white space as one space. `skeleton("Mіa") == skeleton("MIA") == skeleton("Ｍｉａ")
/// == "mia"`. Digits stay digits ("Mia2" is someone else than "Mia"; "M1a" is allowed).
pub fn skeleton(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkc() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        fold_char(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn folds_case_accents_and_disguises() {
        assert_eq!(words("Scheiße, SCHEISSE!"), ["scheisse", "scheisse"]);
        assert_eq!(
            words("sh1t a$$ b!tch h3ll"),
            ["shit", "ass", "bitch", "hell"]
        );
        assert_eq!(words("fuuuuck"), ["fuck"]);
        assert_eq!(tokens("asss")[0].alt.as_deref(), Some("ass"));
        assert_eq!(words("f*ck"), ["f*ck"]);
        assert!(tokens("f*ck")[0].masked);
        assert_eq!(
            words("you're L'école t'es"),
            ["youre", "l", "ecole", "t", "es"]
        );
        assert_eq!(
            words("wow!!! @leo #fun *loud*"),
            ["wow", "leo", "fun", "loud"]
        );
        assert_eq!(words("10:30 2015"), ["10", "30", "2015"]);
        assert_eq!(words("Ｆｕｌｌ"), ["full"]);
        assert_eq!(words("*** !!!"), Vec::<String>::new());
    }

    #[test]
    fn spans_point_at_the_original_after_multibyte_text() {
        let text = "Grüße 🌉 dümm";
        let t = tokens(text);
        assert_eq!(&text[t[0].span.clone()], "Grüße");
        assert_eq!(&text[t[1].span.clone()], "dümm");
        assert_eq!(t[1].text, "dumm");
        assert!(t[0].capitalised && !t[1].capitalised && t[0].alpha);
    }

    #[test]
    fn skeleton_folds_look_alikes() {
        assert_eq!(skeleton("Mіa"), "mia"); // Cyrillic і
        assert_eq!(skeleton("MIA"), "mia");
        assert_eq!(skeleton("Ｍｉａ"), "mia");
        assert_eq!(skeleton("Μια"), "mia"); // Greek
        assert_eq!(skeleton("Mi\u{200B}a"), "mia");
        assert_eq!(skeleton("Léa"), "lea");
        assert_eq!(skeleton("  Blue   Fox "), "blue fox");
        assert_eq!(skeleton("Jürgen"), "jurgen");
        assert_ne!(skeleton("M1a"), skeleton("Mia"));
    }

    #[test]
    fn invisible_characters() {
        for c in [
            '\u{200B}', '\u{200F}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{00AD}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        assert!(!is_invisible('a') && !is_invisible(' ') && !is_invisible('é'));
    }
}
