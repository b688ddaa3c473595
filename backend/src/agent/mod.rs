//! The peer agent ("Blue"), its brain: when it speaks ([`policy`]), what it is told
//! ([`prompt`]), whether what the model wrote may be shown ([`reply_check`]), what it says when
//! the model fails ([`fallback`]), whether the group follows its directives ([`directives`]),
//! how it reads the children's messages ([`text`]), and how a reply is streamed from the engine
//! back into the room ([`runner`]). The agent's seat in a room (`room::agent`) is the other
//! half: it holds a room's agent state and carries out what these modules decide.
//!
//! The policy and the directive tracker are pure and clock-driven, so every decision can be
//! unit-tested and replayed; the room actor (`room::agent`) feeds them events and carries out
//! what they decide.

pub mod decision_log;
pub mod directives;
pub mod fallback;
pub mod policy;
pub mod prompt;
pub mod reply_check;
pub mod runner;
pub mod text;

pub use fallback::Fallbacks;
pub use policy::{decide, Decision, Event, Intent, PolicyConfig, RoomState, Speech, Trigger};
pub use prompt::{PromptError, Templates};
