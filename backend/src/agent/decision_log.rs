//! The agent's decision log, typed. Every time the agent is asked to act (a message, the clock,
//! the facilitator) one entry says what set it going and what it did; researchers read the
//! log to see why the agent spoke or stayed silent, the simulator counts it, the dashboard
//! shows it live. The store keeps both as their text form (`"addressed"`, `"dropped_echo"`),
//! so the database stays readable with plain SQL, and every text form parses back to the
//! same value (tested below for each one).

use std::fmt;
use std::str::FromStr;

use super::directives::Outcome;
use super::policy::{Intent, Trigger};
use super::reply_check::Rejection;

/// What set the agent deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTrigger {
    /// The policy was consulted (a message, the clock, a phase, a whisper, a directive).
    Policy(Trigger),
    /// A facilitator's command (pause, resume, a new role).
    Facilitator,
}

/// For building an entry with `..AgentEvent::default()`: the clock, the most common trigger.
impl Default for LogTrigger {
    fn default() -> Self {
        LogTrigger::Policy(Trigger::Tick)
    }
}

/// What the agent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogDecision {
    /// Asked, and stayed silent (the entry's reason says why).
    #[default]
    Silent,
    /// Spoke to the group with this intent (the entry has the message's seq).
    Spoke(Intent),
    /// The model's reply was refused by a check and not shown.
    Dropped(Rejection),
    /// The model's reply came out empty.
    DroppedEmpty,
    /// The whole reply failed the safety screen after its sentences passed one by one: stored
    /// hidden for the facilitator, never shown.
    HeldUnsafe,
    /// Stopped before it was complete (the facilitator paused it, the server stopped).
    Cancelled,
    /// The reply could not be stored, so it was not shown either.
    StoreFailed,
    /// The conversation moved on (`stale_after` newer messages) before the reply's first word:
    /// dropped rather than shown late.
    DroppedStale,
    /// The facilitator paused the agent.
    Paused,
    /// The facilitator resumed the agent.
    Resumed,
    /// The facilitator gave the agent another role.
    SwitchedRole,
    /// The facilitator whispered guidance (the reason holds the text; children never see it).
    Guidance,
    /// What became of a directive the agent gave.
    Directive(Outcome),
}

impl LogTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            LogTrigger::Policy(t) => t.as_str(),
            LogTrigger::Facilitator => "facilitator",
        }
    }
}

impl From<Trigger> for LogTrigger {
    fn from(t: Trigger) -> Self {
        LogTrigger::Policy(t)
    }
}

impl LogDecision {
    pub fn as_string(self) -> String {
        match self {
            LogDecision::Silent => "silent".into(),
            LogDecision::Spoke(intent) => intent.as_str().into(),
            LogDecision::Dropped(why) => why.decision().into(),
            LogDecision::DroppedEmpty => "dropped_empty".into(),
            LogDecision::HeldUnsafe => "held_unsafe".into(),
            LogDecision::Cancelled => "cancelled".into(),
            LogDecision::StoreFailed => "store_failed".into(),
            LogDecision::DroppedStale => "dropped_stale".into(),
            LogDecision::Paused => "paused".into(),
            LogDecision::Resumed => "resumed".into(),
            // The text form predates the enum; stored logs keep it.
            LogDecision::SwitchedRole => "switch_role".into(),
            LogDecision::Guidance => "guidance".into(),
            LogDecision::Directive(outcome) => format!("directive_{}", outcome.as_str()),
        }
    }

    /// Whether the agent's words reached the group.
    pub fn spoke(self) -> bool {
        matches!(self, LogDecision::Spoke(_))
    }

    /// Every value, for tests and for the dashboard's legend.
    pub fn all() -> Vec<LogDecision> {
        let mut all = vec![
            LogDecision::Silent,
            LogDecision::DroppedEmpty,
            LogDecision::HeldUnsafe,
            LogDecision::Cancelled,
            LogDecision::StoreFailed,
            LogDecision::DroppedStale,
            LogDecision::Paused,
            LogDecision::Resumed,
            LogDecision::SwitchedRole,
            LogDecision::Guidance,
        ];
        all.extend(Intent::ALL.into_iter().map(LogDecision::Spoke));
        all.extend(Rejection::ALL.iter().copied().map(LogDecision::Dropped));
        all.extend(Outcome::ALL.iter().copied().map(LogDecision::Directive));
        all
    }
}

impl fmt::Display for LogTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for LogDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl FromStr for LogTrigger {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "facilitator" => Ok(LogTrigger::Facilitator),
            _ => Trigger::ALL
                .iter()
                .find(|t| t.as_str() == s)
                .map(|t| LogTrigger::Policy(*t))
                .ok_or_else(|| format!("unknown agent event trigger {s:?}")),
        }
    }
}

impl FromStr for LogDecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LogDecision::all()
            .into_iter()
            .find(|d| d.as_string() == s)
            .ok_or_else(|| format!("unknown agent decision {s:?}"))
    }
}

macro_rules! text_form {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        /// Compares with a stored text form (tests and ad-hoc reports read naturally).
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                other.parse::<$t>().is_ok_and(|o| o == *self)
            }
        }
    };
}
text_form!(LogTrigger);
text_form!(LogDecision);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_reads_back_from_its_text_form_and_the_forms_are_distinct() {
        let all = LogDecision::all();
        let mut texts: Vec<String> = all.iter().map(|d| d.to_string()).collect();
        for d in &all {
            assert_eq!(d.to_string().parse::<LogDecision>(), Ok(*d), "{d}");
        }
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), all.len(), "two decisions share a text form");
        assert!(texts.iter().all(|t| !t.is_empty()));
    }

    #[test]
    fn every_trigger_reads_back_and_unknown_text_is_an_error() {
        for t in Trigger::ALL {
            let logged = LogTrigger::from(*t);
            assert_eq!(logged.to_string().parse::<LogTrigger>(), Ok(logged));
        }
        assert_eq!("facilitator".parse(), Ok(LogTrigger::Facilitator));
        assert!("sneezed".parse::<LogTrigger>().is_err());
        assert!("dropped_sneeze".parse::<LogDecision>().is_err());
        assert!("directive_".parse::<LogDecision>().is_err());
    }

    #[test]
    fn the_stored_text_forms_of_earlier_versions_still_read() {
        // Written by earlier releases into agent_events.decision: they must keep reading.
        for old in [
            "silent",
            "answer",
            "invite_quiet",
            "cancelled",
            "dropped_echo",
            "dropped_empty",
            "dropped_off_topic",
            "dropped_persona",
            "dropped_repeat",
            "dropped_unsafe",
            "held_unsafe",
            "store_failed",
            "paused",
            "resumed",
            "switch_role",
            "guidance",
            "directive_followed",
            "directive_escalated",
            "directive_ignored",
            "directive_superseded",
            "directive_followed_after_escalation",
        ] {
            let d: LogDecision = old.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(d.to_string(), old);
        }
    }
}
