//! Transitional: the moderation seam the room used before the [`Screen`](super::Screen)
//! (`ContentFilter`, `AllowAll` and their three-way verdict), kept only so the room, the server
//! and the simulator build until they call the screen. Delete with their last use.

/// What the old moderation stage decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Flag { reason: String },
    Hold { reason: String },
}

pub trait ContentFilter: Send + Sync + std::fmt::Debug {
    fn check(&self, text: &str) -> Verdict;
}

/// Lets everything through.
#[derive(Debug, Default)]
pub struct AllowAll;

impl ContentFilter for AllowAll {
    fn check(&self, _text: &str) -> Verdict {
        Verdict::Allow
    }
}
