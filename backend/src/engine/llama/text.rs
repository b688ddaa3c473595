//! Turns the bytes of generated tokens into text that is safe to show as it streams.
//!
//! Two things must not leak to the children: half a character (an emoji is often split over
//! two or three tokens, each a few bytes of its UTF-8 encoding) and the start of a stop string
//! that is later completed. So bytes are held until they form whole characters, and text that
//! could still turn into a stop string is held until it cannot.

/// Incremental decoder for one reply.
#[derive(Debug)]
pub(crate) struct TextDecoder {
    /// Bytes of an unfinished UTF-8 character.
    partial: Vec<u8>,
    /// All text decoded so far (cut at a stop string once one appears).
    text: String,
    /// How much of `text` has been handed out.
    emitted: usize,
    stop: Vec<String>,
    stopped: bool,
}

/// What one token added.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// Text that can be shown now (may be empty).
    pub emit: String,
    /// A stop string appeared: the reply is over, `emit` ends right before it.
    pub stopped: bool,
}

impl TextDecoder {
    pub(crate) fn new(stop: &[String]) -> Self {
        TextDecoder {
            partial: Vec::new(),
            text: String::new(),
            emitted: 0,
            stop: stop.iter().filter(|s| !s.is_empty()).cloned().collect(),
            stopped: false,
        }
    }

    /// The reply so far (without any stop string).
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Adds the bytes of one token.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Pushed {
        if self.stopped {
            return Pushed {
                emit: String::new(),
                stopped: true,
            };
        }
        self.partial.extend_from_slice(bytes);
        let before = self.text.len();
        self.decode_partial();
        if let Some(cut) = self.find_stop(before) {
            self.text.truncate(cut);
            self.stopped = true;
            self.partial.clear();
            let emit = self.text[self.emitted..].to_string();
            self.emitted = self.text.len();
            return Pushed {
                emit,
                stopped: true,
            };
        }
        let safe = self.text.len() - self.held_back();
        let emit = self.text[self.emitted..safe].to_string();
        self.emitted = safe;
        Pushed {
            emit,
            stopped: false,
        }
    }

    /// The end of the reply: hands out whatever was held. A dangling half character (the reply
    /// hit `max_tokens` in the middle of an emoji) is dropped rather than shown as U+FFFD.
    pub(crate) fn finish(&mut self) -> String {
        self.partial.clear();
        let emit = self.text[self.emitted..].to_string();
        self.emitted = self.text.len();
        emit
    }

    /// Moves every complete character from `partial` to `text`.
    fn decode_partial(&mut self) {
        loop {
            match std::str::from_utf8(&self.partial) {
                Ok(s) => {
                    self.text.push_str(s);
                    self.partial.clear();
                    return;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // SAFETY-free: the prefix up to `valid` is valid UTF-8 by definition.
                    self.text
                        .push_str(std::str::from_utf8(&self.partial[..valid]).unwrap_or_default());
                    match e.error_len() {
                        // Incomplete character at the end: wait for the next token.
                        None => {
                            self.partial.drain(..valid);
                            return;
                        }
                        // Bytes that can never be valid: show a replacement character.
                        Some(bad) => {
                            self.text.push('\u{FFFD}');
                            self.partial.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// The earliest stop string that ends after `new_from` (a stop string that was complete
    /// before this token would have been found then).
    fn find_stop(&self, new_from: usize) -> Option<usize> {
        let longest = self.stop.iter().map(String::len).max()?;
        let mut from = new_from.saturating_sub(longest);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        self.stop
            .iter()
            .filter_map(|s| self.text[from..].find(s.as_str()).map(|p| p + from))
            .min()
    }

    /// Bytes at the end of `text` (not yet emitted) that are the start of some stop string.
    fn held_back(&self) -> usize {
        let pending = &self.text[self.emitted..];
        let mut held = 0;
        for s in &self.stop {
            for (i, _) in pending.char_indices() {
                let tail = &pending[i..];
                if tail.len() <= held {
                    break;
                }
                if s.starts_with(tail) {
                    held = tail.len();
                    break;
                }
            }
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(d: &mut TextDecoder, chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut out = Vec::new();
        let mut stopped = false;
        for c in chunks {
            let p = d.push(c);
            out.push(p.emit);
            stopped |= p.stopped;
        }
        (out, stopped)
    }

    #[test]
    fn emoji_split_over_tokens_is_held_until_whole() {
        let bytes = "a🎉b".as_bytes();
        let mut d = TextDecoder::new(&[]);
        let (out, _) = feed(&mut d, &[&bytes[..2], &bytes[2..4], &bytes[4..]]);
        assert_eq!(out, vec!["a".to_string(), String::new(), "🎉b".to_string()]);
        assert_eq!(d.finish(), "");
        assert_eq!(d.text(), "a🎉b");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut d = TextDecoder::new(&[]);
        assert_eq!(d.push(b"x\xffy").emit, "x\u{FFFD}y");
        assert_eq!(d.push(&"é".as_bytes()[..1]).emit, "");
        assert_eq!(
            d.finish(),
            "",
            "a half character at the very end is dropped"
        );
        assert_eq!(d.text(), "x\u{FFFD}y");
    }

    #[test]
    fn stop_string_across_tokens_is_never_shown() {
        let mut d = TextDecoder::new(&["\nMia:".to_string()]);
        let (out, stopped) = feed(&mut d, &[b"Hello", b" there\n", b"Mi", b"a: hi"]);
        assert!(stopped);
        assert_eq!(out.concat(), "Hello there");
        assert_eq!(d.text(), "Hello there");
    }

    #[test]
    fn held_text_that_does_not_become_a_stop_string_is_released() {
        let mut d = TextDecoder::new(&["STOP".to_string()]);
        let (out, stopped) = feed(&mut d, &[b"ab ST", b"ILL"]);
        assert!(!stopped);
        assert_eq!(out, vec!["ab ".to_string(), "STILL".to_string()]);
        let mut d = TextDecoder::new(&["STOP".to_string()]);
        d.push(b"x ST");
        assert_eq!(d.finish(), "ST");
        assert_eq!(d.text(), "x ST");
    }
}
