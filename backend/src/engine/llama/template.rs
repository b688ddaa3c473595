//! From a conversation to prompt tokens: the model's own chat template, and the rule that
//! keeps a long conversation inside a room's context.
//!
//! The template comes from the GGUF metadata (`tokenizer.chat_template`) and is applied by
//! llama.cpp's built-in formatter, which recognises the common families (ChatML for SmolLM2,
//! the Llama 3 header format, ...). A model without a template falls back to ChatML.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token_type::LlamaTokenAttr;
use llama_cpp_2::vocab::LlamaVocab;

use super::segments::{
    assemble, marker, resolve, split_marked, strip_sentinels, Part, Piece, TemplatePiece,
};
use crate::engine::error::EngineError;
use crate::engine::types::{ChatMessage, Role};

/// The model's chat format.
pub(crate) struct ChatFormat {
    template: LlamaChatTemplate,
    /// A short name for logs and `EngineInfo` (`chatml`, `llama3`, ...).
    pub name: String,
}

impl ChatFormat {
    pub(crate) fn from_model(model: &LlamaModel) -> ChatFormat {
        match model.chat_template(None) {
            Ok(template) => {
                let text = template.to_string().unwrap_or_default();
                ChatFormat {
                    name: crate::model::gguf::TemplateFamily::of(&text)
                        .as_str()
                        .to_string(),
                    template,
                }
            }
            Err(_) => {
                tracing::warn!("the model has no chat template; using ChatML");
                ChatFormat {
                    template: LlamaChatTemplate::new("chatml").expect("static template name"),
                    name: "chatml (fallback)".to_string(),
                }
            }
        }
    }

    /// Applies the template to the roles with the given contents.
    fn apply<S: AsRef<str>>(
        &self,
        model: &LlamaModel,
        roles: &[Role],
        contents: &[S],
        add_assistant: bool,
    ) -> Result<String, EngineError> {
        let chat = roles
            .iter()
            .zip(contents)
            .map(|(role, content)| {
                LlamaChatMessage::new(role.as_str().to_string(), content.as_ref().to_string())
                    .map_err(|e| EngineError::Template(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        model
            .apply_chat_template(&self.template, &chat, add_assistant)
            .map_err(|e| EngineError::Template(e.to_string()))
    }

    /// Renders and tokenizes the conversation; with `add_assistant` the prompt ends with the
    /// header of the assistant's turn, ready for generation.
    ///
    /// Only the text the template itself writes is parsed for special tokens. Every message's
    /// content (the system prompt too: it carries nicknames and activity text) is tokenized as
    /// plain text, so a child typing `<|im_end|>` or `<start_of_turn>` gets the ordinary tokens
    /// that spell it, never the control token. The template is applied once with a marker in
    /// place of each content (to see where contents go) and once with the contents (to see
    /// what the template did to them, e.g. trimming); see [`split_marked`] and [`resolve`].
    ///
    /// The room's own earlier replies keep the tokens they were generated as (`replies`):
    /// tokenizing a reply's text again often splits it differently from how it was sampled,
    /// and every token after the first difference would have to be evaluated again on the
    /// next turn. The substituted tokens spell exactly the same text, so the prompt is the same.
    pub(crate) fn tokens(
        &self,
        model: &LlamaModel,
        messages: &[ChatMessage],
        add_assistant: bool,
        replies: &[KnownReply],
    ) -> Result<Vec<LlamaToken>, EngineError> {
        let contents: Vec<String> = messages
            .iter()
            .map(|m| strip_sentinels(&m.content))
            .collect();
        let markers: Vec<String> = (0..messages.len()).map(marker).collect();
        let mut roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
        let first = self.apply(model, &roles, &markers, add_assistant)?;
        // A template without a system role may drop a system message: llama.cpp's Gemma
        // formatter folds system text into the *next user* turn, so the turn's instruction
        // after the last child's message (or the whole system prompt, before any child spoke)
        // would silently vanish. Such messages are given to the template as user turns.
        let dropped = dropped_system_messages(&split_markers(&first, messages.len())?, &roles);
        let marked = if dropped.is_empty() {
            first
        } else {
            for &i in &dropped {
                roles[i] = Role::User;
            }
            self.apply(model, &roles, &markers, add_assistant)?
        };
        let parts = split_markers(&marked, messages.len())?;
        let real = self.apply(model, &roles, &contents, add_assistant)?;
        let (segs, matched) = resolve(&parts, &contents, &real);
        if !matched {
            tracing::debug!(
                "the template changed a content beyond trimming; contents are used as given"
            );
        }
        let vocab = model.vocab();
        let pieces = assemble(
            &segs,
            |text| template_pieces(&vocab, text),
            |i, text| {
                if messages[i].role != Role::Assistant || text.is_empty() {
                    return None;
                }
                replies
                    .iter()
                    .find(|r| r.text == text && r.tokens.iter().all(|t| !is_special(&vocab, *t)))
                    .map(|r| r.tokens.clone())
            },
        );
        Ok(tokenize_pieces(&vocab, &pieces))
    }
}

/// [`split_marked`], failing when the template did not keep the markers.
fn split_markers(marked: &str, messages: usize) -> Result<Vec<Part<'_>>, EngineError> {
    split_marked(marked, messages).ok_or_else(|| {
        EngineError::Template("the chat template did not keep the message markers".into())
    })
}

/// The system messages whose content does not appear in a rendering made with markers.
fn dropped_system_messages(parts: &[Part<'_>], roles: &[Role]) -> Vec<usize> {
    let mut kept = vec![false; roles.len()];
    for part in parts {
        if let Part::Content(i) = *part {
            kept[i] = true;
        }
    }
    (0..roles.len())
        .filter(|&i| !kept[i] && roles[i] == Role::System)
        .collect()
}

/// A reply the engine generated in a room: its text and the tokens it was sampled as.
#[derive(Debug, Clone)]
pub(crate) struct KnownReply {
    pub text: String,
    pub tokens: Vec<LlamaToken>,
}

/// A token that only special-token parsing produces (control and unknown tokens). User-defined
/// tokens are matched by llama.cpp with parsing on or off, like Hugging Face's tokenizers.
pub(crate) fn is_special(vocab: &LlamaVocab<'_>, token: LlamaToken) -> bool {
    let attrs = vocab.attr(token);
    attrs.contains(LlamaTokenAttr::Control) || attrs.contains(LlamaTokenAttr::Unknown)
}

/// Splits template text into plain text and the special tokens llama.cpp finds in it (with
/// their strip attributes). Falls back to the whole text as parsed if a token's text cannot be
/// located, which keeps the tokens right at the price of a token boundary.
fn template_pieces<'t>(
    vocab: &LlamaVocab<'_>,
    text: &'t str,
) -> Vec<TemplatePiece<'t, LlamaToken>> {
    let tokens = vocab.tokenize(text.as_bytes(), false, true);
    let mut out = Vec::new();
    let mut cursor = 0;
    for &t in &tokens {
        if !is_special(vocab, t) {
            continue;
        }
        let found = vocab
            .text(t)
            .and_then(|s| s.to_str().ok())
            .filter(|s| !s.is_empty())
            .and_then(|s| text[cursor..].find(s).map(|at| (cursor + at, s.len())));
        let Some((at, len)) = found else {
            return vec![TemplatePiece::Parsed(tokens)];
        };
        if at > cursor {
            out.push(TemplatePiece::Text(&text[cursor..at]));
        }
        let attrs = vocab.attr(t);
        out.push(TemplatePiece::Special {
            token: t,
            lstrip: attrs.contains(LlamaTokenAttr::LStrip),
            rstrip: attrs.contains(LlamaTokenAttr::RStrip),
        });
        cursor = at + len;
    }
    if cursor < text.len() {
        out.push(TemplatePiece::Text(&text[cursor..]));
    }
    out
}

/// Tokenizes the pieces: text with special-token parsing off, one call per run of text between
/// tokens (so a run tokenizes exactly as it did inside the whole prompt), and BOS once at the
/// start when the model wants one (a template that writes its own BOS does not get two).
fn tokenize_pieces(vocab: &LlamaVocab<'_>, pieces: &[Piece<LlamaToken>]) -> Vec<LlamaToken> {
    let mut out = Vec::new();
    let bos = vocab.bos();
    let add_bos = vocab.should_add_bos();
    if add_bos {
        out.push(bos);
    }
    for p in pieces {
        match p {
            Piece::Text(text) if !text.is_empty() => {
                vocab.tokenize_into(text.as_bytes(), &mut out, false, false);
            }
            Piece::Text(_) => {}
            Piece::Tokens(tokens) => out.extend_from_slice(tokens),
        }
    }
    if add_bos && out.len() >= 2 && out[1] == bos {
        out.remove(0);
    }
    out
}

/// The prompt chosen for a request, and the room's window for the next one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fitted<T> {
    pub tokens: Vec<T>,
    /// Fingerprint of the first turn kept, when older turns were dropped. Remembered per room so
    /// the next request drops the same turns and its prompt still starts like this one (which
    /// keeps the room's cache valid) instead of shifting by one turn each time.
    pub window: Option<u64>,
    /// Older turns were dropped by this request.
    pub compacted: bool,
}

/// Fits the conversation into `budget` tokens.
///
/// The leading system messages (the role, the activity, the phase) always stay. When the rest
/// does not fit, the oldest turns are dropped until the prompt fills at most three quarters of
/// the budget, so that the next several turns fit again without another re-evaluation. If even
/// the last turn alone does not fit, the prompt is cut in the middle, keeping the start of the
/// system prompt and the end of the conversation: the children get a reply either way.
pub(crate) fn fit<T: Clone>(
    messages: &[ChatMessage],
    budget: usize,
    window: Option<u64>,
    mut render: impl FnMut(&[ChatMessage]) -> Result<Vec<T>, EngineError>,
) -> Result<Fitted<T>, EngineError> {
    let pinned_n = messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count();
    let (pinned, turns) = messages.split_at(pinned_n);
    let hashes: Vec<u64> = (0..turns.len()).map(|i| turn_hash(turns, i)).collect();
    let start = window
        .and_then(|h| hashes.iter().position(|x| *x == h))
        .unwrap_or(0);
    let with_turns = |from: usize| -> Vec<ChatMessage> {
        pinned.iter().chain(&turns[from..]).cloned().collect()
    };

    let tokens = render(&with_turns(start))?;
    if tokens.len() <= budget {
        return Ok(Fitted {
            tokens,
            window: (start > 0).then(|| hashes[start]),
            compacted: false,
        });
    }

    let target = (budget * 3 / 4).max(1);
    // Estimates only: a template that cannot render a lone piece must not turn a long
    // conversation into an error, so fall back to a byte-count guess.
    let mut estimate = |piece: &[ChatMessage]| {
        render(piece)
            .map(|t| t.len())
            .unwrap_or_else(|_| piece.iter().map(|m| m.content.len() / 3 + 8).sum())
    };
    let pinned_len = if pinned.is_empty() {
        0
    } else {
        estimate(pinned)
    };
    let mut from = turns.len().saturating_sub(1);
    if !turns.is_empty() {
        // Estimate each turn's share from its own rendering, then verify the real prompt.
        let mut kept = pinned_len;
        for i in (start..turns.len()).rev() {
            let cost = estimate(&turns[i..=i]);
            if kept + cost > target && i < turns.len() - 1 {
                break;
            }
            kept += cost;
            from = i;
        }
        from = from.max(start + 1).min(turns.len() - 1);
    }
    let mut tokens = render(&with_turns(from))?;
    while tokens.len() > target && from + 1 < turns.len() {
        from += 1;
        tokens = render(&with_turns(from))?;
    }
    if tokens.len() > budget {
        let head = pinned_len.min(budget / 2);
        let tail = target.saturating_sub(head);
        let mut cut = tokens[..head].to_vec();
        cut.extend_from_slice(&tokens[tokens.len() - tail..]);
        tokens = cut;
    }
    Ok(Fitted {
        tokens,
        window: hashes.get(from).copied(),
        compacted: true,
    })
}

/// A turn's fingerprint: its role and text, and the text before it (so a short reply such as
/// "ok" that occurs twice is still told apart).
fn turn_hash(turns: &[ChatMessage], i: usize) -> u64 {
    let mut h = DefaultHasher::new();
    turns[i].hash(&mut h);
    if i > 0 {
        turns[i - 1].content.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token per word plus two per message, like a template's markers.
    fn words(messages: &[ChatMessage]) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for m in messages {
            out.push(format!("<{}>", m.role.as_str()));
            out.extend(m.content.split_whitespace().map(str::to_string));
            out.push("</>".to_string());
        }
        Ok(out)
    }

    fn convo(turns: usize) -> Vec<ChatMessage> {
        let mut m = vec![ChatMessage::system("You are Blue the helper")];
        for i in 0..turns {
            m.push(ChatMessage::user(format!("Mia: idea {i} about slides")));
        }
        m
    }

    #[test]
    fn system_messages_a_template_dropped_are_found() {
        use crate::engine::llama::segments::Part;
        // Gemma's formatter: the system prompt went into the user turn, the last system
        // message (the turn's instruction) is nowhere.
        let parts = [
            Part::Template("<start_of_turn>user\n"),
            Part::Content(0),
            Part::Template("\n\n"),
            Part::Content(1),
            Part::Template("<end_of_turn>\n<start_of_turn>model\n"),
        ];
        let roles = [Role::System, Role::User, Role::System];
        assert_eq!(dropped_system_messages(&parts, &roles), [2]);
        // A dropped user message is not ours to move (no built-in template drops one).
        let roles = [Role::System, Role::User, Role::User];
        assert!(dropped_system_messages(&parts, &roles).is_empty());
    }

    #[test]
    fn short_conversations_are_untouched() {
        let f = fit(&convo(3), 100, None, words).unwrap();
        assert_eq!(f.tokens, words(&convo(3)).unwrap());
        assert_eq!((f.window, f.compacted), (None, false));
    }

    #[test]
    fn overflow_drops_oldest_turns_keeps_system_and_window_is_stable() {
        // 7 tokens of system, 7 per turn.
        let budget = 60;
        let c = convo(12);
        let f = fit(&c, budget, None, words).unwrap();
        assert!(f.compacted);
        assert!(f.tokens.len() <= budget * 3 / 4);
        assert_eq!(f.tokens[..7], words(&c[..1]).unwrap()[..]);
        assert_eq!(f.tokens.last().unwrap(), "</>");
        assert!(f.tokens.join(" ").contains("idea 11"));
        assert!(!f.tokens.join(" ").contains("idea 0 "));

        // One more turn: the same turns stay dropped, so the prompt extends the previous one.
        let mut c2 = c.clone();
        c2.push(ChatMessage::user("Leo: idea 12 about swings"));
        let g = fit(&c2, budget, f.window, words).unwrap();
        assert!(!g.compacted);
        assert_eq!(g.window, f.window);
        assert_eq!(g.tokens[..f.tokens.len()], f.tokens[..]);
    }

    #[test]
    fn a_single_huge_turn_is_cut_not_refused() {
        let mut c = convo(0);
        c.push(ChatMessage::user("word ".repeat(500)));
        let f = fit(&c, 40, None, words).unwrap();
        assert!(f.compacted);
        assert!(f.tokens.len() <= 40);
        assert_eq!(f.tokens[0], "<system>");
        assert_eq!(f.tokens.last().unwrap(), "</>");
    }
}
