//! The peer agent ("Blue"): when it speaks ([`policy`]), what it is told ([`prompt`]), whether
//! the group follows its directives ([`directives`]), and how a reply is streamed from the
//! engine back into the room ([`runner`]).
//!
//! The policy and the directive tracker are pure and clock-driven, so every decision can be
//! unit-tested and replayed; the room actor (`room::agent`) feeds them events and carries out
//! what they decide.

pub mod decision_log;
pub mod directives;
pub mod fallback;
pub mod policy;
pub mod prompt;
pub mod runner;

pub use fallback::Fallbacks;
pub use policy::{decide, Decision, Event, Intent, PolicyConfig, RoomState, Speech, Trigger};
pub use prompt::{PromptError, Templates};
