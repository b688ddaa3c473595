//! Join codes: what a child types to find their group. Six characters from an alphabet
//! without look-alikes (no 0/O, 1/I/L), shown as `ABC-DEF`, typed in any case, with or
//! without the dash or spaces.

use rand::Rng;

/// Upper-case letters and digits that cannot be mistaken for one another when read aloud or
/// copied from a projector: no 0/O, 1/I/L.
pub const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const LENGTH: usize = 6;

/// A fresh random code in normalised form (`ABCDEF`).
pub fn generate() -> String {
    let mut rng = rand::thread_rng();
    (0..LENGTH)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The normalised form of what a child typed, or `None` if it cannot be a code.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// How a code is shown: `ABC-DEF`.
pub fn display(code: &str) -> String {
    if code.len() == LENGTH {
        format!("{}-{}", &code[..3], &code[3..])
    } else {
        code.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_avoid_ambiguous_characters() {
        for _ in 0..1000 {
            let code = generate();
            assert_eq!(code.len(), LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            assert_eq!(normalise(&code).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(normalise(" abc-def ").as_deref(), Some("ABCDEF"));
        assert_eq!(normalise("ab c d e f").as_deref(), Some("ABCDEF"));
        assert_eq!(normalise("ABCDE"), None);
        assert_eq!(normalise("ABCDE0"), None, "0 is not in the alphabet");
        assert_eq!(normalise("ÀBCDEF"), None);
        assert_eq!(display("ABCDEF"), "ABC-DEF");
    }
}
