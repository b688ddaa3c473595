//! The moderation stage of the message pipeline (validate -> moderation -> persist -> ack ->
//! broadcast). Today every message passes; this is the seam where a safety filter (word lists,
//! a classifier, personal-data detection) will sit, so adding one changes no other code.

/// What the moderation stage decides about a message before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Store and show it.
    Allow,
    /// Store it, show it, and raise a flag for the facilitator.
    Flag { reason: String },
    /// Store it hidden (the facilitator sees it), and tell the sender kindly.
    Hold { reason: String },
}

pub trait ContentFilter: Send + Sync + std::fmt::Debug {
    fn check(&self, text: &str) -> Verdict;
}

/// The filter in use until a real one lands: lets everything through.
#[derive(Debug, Default)]
pub struct AllowAll;

impl ContentFilter for AllowAll {
    fn check(&self, _text: &str) -> Verdict {
        Verdict::Allow
    }
}
