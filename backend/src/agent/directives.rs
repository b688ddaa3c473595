//! Directives the moderator gives and whether the group follows them.
//!
//! The study behind peerlearn saw children disregard the moderator's instructions. So each
//! directive (inviting a named child, asking for a vote, moving on to the next phase) is
//! watched for a window: if the group follows, it is counted as followed; if not, the agent
//! says it once more, more concretely; if it is still ignored, the facilitator gets a flag.
//! Pure and clock-driven like the policy; the room stores the outcomes.

use std::collections::BTreeSet;

use super::policy::{Intent, Speech};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A named child was invited to speak: followed when that child writes.
    Invite,
    /// The group was asked to vote: followed when at least half the online children answer.
    Vote,
    /// A new phase was announced: followed when at least half the online children take part.
    MoveOn,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invite => "invite",
            Kind::Vote => "vote",
            Kind::MoveOn => "move_on",
        }
    }
}

/// What became of a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Followed,
    FollowedAfterEscalation,
    /// The first window passed: the agent should escalate.
    Escalate,
    /// The second window passed too: flag it for the facilitator.
    Ignored,
    /// A newer directive of the same kind replaced it before the group answered.
    Superseded,
}

impl Outcome {
    pub const ALL: &'static [Outcome] = &[
        Outcome::Followed,
        Outcome::FollowedAfterEscalation,
        Outcome::Escalate,
        Outcome::Ignored,
        Outcome::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Followed => "followed",
            Outcome::FollowedAfterEscalation => "followed_after_escalation",
            Outcome::Escalate => "escalated",
            Outcome::Ignored => "ignored",
            Outcome::Superseded => "superseded",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// The store's id (0 until stored).
    pub id: i64,
    pub kind: Kind,
    pub target: Option<i64>,
    pub given_at_ms: i64,
    pub escalated_at_ms: Option<i64>,
    /// Children needed to follow (Vote, MoveOn).
    pub needed: usize,
    pub answered: BTreeSet<i64>,
}

/// The directive a moderator's message gives, if any.
pub fn directive_of(speech: &Speech, text: &str) -> Option<(Kind, Option<i64>)> {
    match speech.intent {
        Intent::InviteQuiet if speech.target.is_some() => Some((Kind::Invite, speech.target)),
        Intent::AnnouncePhase => Some((Kind::MoveOn, None)),
        Intent::Escalate => None,
        _ if text.to_lowercase().contains("vote") => Some((Kind::Vote, None)),
        _ => None,
    }
}

/// The open directives of one room.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pub window_ms: i64,
    pub open: Vec<Directive>,
}

impl Tracker {
    pub fn new(window_ms: i64) -> Tracker {
        Tracker {
            window_ms,
            open: Vec::new(),
        }
    }

    /// Starts watching a directive; returns the ones of the same kind (and target) it replaces.
    pub fn give(&mut self, mut d: Directive, online_children: usize) -> Vec<Directive> {
        d.needed = match d.kind {
            Kind::Invite => 1,
            Kind::Vote | Kind::MoveOn => online_children.div_ceil(2).max(1),
        };
        let (replaced, kept): (Vec<_>, Vec<_>) = self
            .open
            .drain(..)
            .partition(|o| o.kind == d.kind && (d.kind != Kind::Invite || o.target == d.target));
        self.open = kept;
        self.open.push(d);
        replaced
    }

    /// A child wrote: returns the directives this completes (removed from the open ones).
    pub fn on_child_message(&mut self, child: i64) -> Vec<(Directive, Outcome)> {
        let mut done = Vec::new();
        let mut still = Vec::new();
        for mut d in self.open.drain(..) {
            let follows = match d.kind {
                Kind::Invite => d.target == Some(child),
                Kind::Vote | Kind::MoveOn => {
                    d.answered.insert(child);
                    d.answered.len() >= d.needed
                }
            };
            if follows {
                let outcome = if d.escalated_at_ms.is_some() {
                    Outcome::FollowedAfterEscalation
                } else {
                    Outcome::Followed
                };
                done.push((d, outcome));
            } else {
                still.push(d);
            }
        }
        self.open = still;
        done
    }

    /// The clock moved: directives whose window passed, to escalate (marked escalated now) or
    /// to give up on (removed).
    pub fn on_tick(&mut self, now_ms: i64) -> Vec<(Directive, Outcome)> {
        let mut out = Vec::new();
        let window = self.window_ms;
        self.open.retain_mut(|d| match d.escalated_at_ms {
            None if now_ms - d.given_at_ms >= window => {
                d.escalated_at_ms = Some(now_ms);
                out.push((d.clone(), Outcome::Escalate));
                true
            }
            Some(at) if now_ms - at >= window => {
                out.push((d.clone(), Outcome::Ignored));
                false
            }
            _ => true,
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn directive(kind: Kind, target: Option<i64>, at: i64) -> Directive {
        Directive {
            id: 1,
            kind,
            target,
            given_at_ms: at,
            escalated_at_ms: None,
            needed: 0,
            answered: BTreeSet::new(),
        }
    }

    #[test]
    fn an_invited_child_who_writes_follows_the_directive() {
        let mut t = Tracker::new(60 * S);
        t.give(directive(Kind::Invite, Some(3), 0), 3);
        assert!(
            t.on_child_message(1).is_empty(),
            "someone else writing does not count"
        );
        assert!(t.on_tick(59 * S).is_empty());
        let done = t.on_child_message(3);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].1, Outcome::Followed);
        assert!(t.open.is_empty());
    }

    #[test]
    fn ignored_directives_escalate_once_then_are_flagged() {
        let mut t = Tracker::new(60 * S);
        t.give(directive(Kind::Invite, Some(3), 0), 3);
        let e = t.on_tick(60 * S);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].1, Outcome::Escalate);
        assert!(t.on_tick(61 * S).is_empty(), "escalated only once");
        assert!(t.on_tick(119 * S).is_empty());
        let e = t.on_tick(120 * S);
        assert_eq!(e[0].1, Outcome::Ignored);
        assert!(t.open.is_empty());
    }

    #[test]
    fn following_after_the_escalation_is_counted_separately() {
        let mut t = Tracker::new(30 * S);
        t.give(directive(Kind::Invite, Some(2), 0), 2);
        t.on_tick(30 * S);
        assert_eq!(t.on_child_message(2)[0].1, Outcome::FollowedAfterEscalation);
    }

    #[test]
    fn a_vote_needs_half_the_group() {
        let mut t = Tracker::new(60 * S);
        t.give(directive(Kind::Vote, None, 0), 4);
        assert!(t.on_child_message(1).is_empty());
        assert!(
            t.on_child_message(1).is_empty(),
            "the same child twice counts once"
        );
        assert_eq!(t.on_child_message(2)[0].1, Outcome::Followed);
    }

    #[test]
    fn a_new_directive_of_the_same_kind_supersedes_the_old() {
        let mut t = Tracker::new(60 * S);
        t.give(directive(Kind::MoveOn, None, 0), 2);
        let replaced = t.give(directive(Kind::MoveOn, None, 10 * S), 2);
        assert_eq!(replaced.len(), 1);
        assert_eq!(t.open.len(), 1);
        // Invitations to different children are separate directives.
        t.give(directive(Kind::Invite, Some(1), 0), 2);
        assert!(t.give(directive(Kind::Invite, Some(2), 0), 2).is_empty());
    }

    #[test]
    fn directives_are_read_from_what_the_moderator_said() {
        let invite = Speech {
            intent: Intent::InviteQuiet,
            target: Some(4),
            reply_to: None,
        };
        assert_eq!(
            directive_of(&invite, "Sam, what do you think?"),
            Some((Kind::Invite, Some(4)))
        );
        let phase = Speech {
            intent: Intent::AnnouncePhase,
            target: None,
            reply_to: None,
        };
        assert_eq!(
            directive_of(&phase, "Now we choose."),
            Some((Kind::MoveOn, None))
        );
        let q = Speech {
            intent: Intent::AskQuestion,
            target: None,
            reply_to: None,
        };
        assert_eq!(
            directive_of(&q, "Shall we vote on it?"),
            Some((Kind::Vote, None))
        );
        assert_eq!(directive_of(&q, "What else could we add?"), None);
    }
}
