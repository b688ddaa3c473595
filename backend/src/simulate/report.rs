//! The numbers a simulated session is judged by, computed from what the room stored.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::agent::reply_check::calls_the_wrong_child;
use crate::agent::text::{addresses, language_of_code, surely_not_in};
use crate::agent::Intent;
use crate::store::{
    AgentEvent, AgentRole, DirectiveRecord, Flag, LogDecision, Message, SenderKind,
};

/// `peerlearn simulate --json` prints this.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub agent_role: AgentRole,
    pub elapsed_s: f64,
    pub child_messages: usize,
    pub agent_messages: usize,
    /// Agent messages that are written fallback lines (the model's reply was dropped twice),
    /// not the model's words.
    pub fallback_messages: usize,
    /// Agent messages among all messages.
    pub agent_talk_share: f64,
    /// From the trigger (the message or the timer) to the first token shown to the children.
    pub reply_ms_p50: Option<f64>,
    pub reply_ms_p95: Option<f64>,
    /// The same for answers to a child who named the agent (the study's "timely feedback").
    pub answer_ms_p50: Option<f64>,
    pub answer_ms_p95: Option<f64>,
    pub addressed_replies: usize,
    /// Child messages that named the agent and got no reply.
    pub addressed_unanswered: usize,
    pub invitations: usize,
    pub invited_children_who_then_spoke: usize,
    pub directives: usize,
    pub directives_followed: usize,
    pub escalations: usize,
    pub flags: usize,
    /// 0 when every child wrote as much as the others, towards 1 when one child wrote all.
    pub participation_gini_children: f64,
    pub child_message_counts: BTreeMap<i64, usize>,
    pub phases_completed: usize,
    /// The activity's phases: every one is announced when `phases_completed` reaches it.
    pub phases_in_activity: usize,
    /// Agent messages the language identifier is sure are not in the session's language (the
    /// same judgement as the agent's own check, so this counts what slipped through it).
    pub wrong_language_messages: usize,
    /// Answers that call another child and never name the child who asked.
    pub wrong_child_answers: usize,
    /// What went wrong: scripted messages the room refused, engine errors, failed stores.
    pub errors: usize,
    /// Agent decisions by trigger and outcome (silent ones included).
    pub decisions: BTreeMap<String, usize>,
    /// The agent's messages, in order, for a reader to judge.
    pub agent_texts: Vec<String>,
    /// Every generation the agent logged, said or refused, in order: where a slow reply's time
    /// went (a prompt evaluated again after a phase change shows as few cached tokens).
    pub generations: Vec<Generation>,
}

/// One logged generation of the agent, with the engine's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Generation {
    pub trigger: String,
    pub decision: String,
    /// The message it became, when it was said (a refused first try has none).
    pub message_seq: Option<i64>,
    /// A written line said in place of the model's words.
    pub fallback: bool,
    pub ttft_ms: Option<i64>,
    pub total_ms: Option<i64>,
    /// Prompt tokens the engine had to evaluate, and those it found already in its cache.
    pub prompt_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub generated_tokens: Option<i64>,
}

impl Generation {
    /// The entries of the log that are generations: they carry the engine's figures or a
    /// message; silent decisions and directive outcomes carry neither.
    fn from_log(events: &[AgentEvent]) -> Vec<Generation> {
        events
            .iter()
            .filter(|e| e.message_seq.is_some() || e.ttft_ms.is_some() || e.prompt_tokens.is_some())
            .map(|e| Generation {
                trigger: e.trigger.to_string(),
                decision: e.decision.to_string(),
                message_seq: e.message_seq,
                fallback: e
                    .prompt_version
                    .as_deref()
                    .is_some_and(|v| v.starts_with("fallback-")),
                ttft_ms: e.ttft_ms,
                total_ms: e.total_ms,
                prompt_tokens: e.prompt_tokens,
                cached_tokens: e.cached_tokens,
                generated_tokens: e.generated_tokens,
            })
            .collect()
    }
}

pub struct Inputs<'a> {
    pub scenario: &'a str,
    pub role: AgentRole,
    pub agent_name: &'a str,
    pub messages: &'a [Message],
    pub events: &'a [AgentEvent],
    pub directives: &'a [DirectiveRecord],
    pub flags: &'a [Flag],
    pub child_ids: &'a [i64],
    pub phases_completed: usize,
    pub phases_in_activity: usize,
    /// The session's language (ISO 639-1).
    pub language: &'a str,
    /// Child nicknames by participant id.
    pub nicknames: &'a BTreeMap<i64, String>,
    /// Scripted messages the room refused, plus the engine's error count.
    pub run_errors: usize,
    pub elapsed_s: f64,
}

pub fn build(i: &Inputs<'_>) -> Report {
    let children: Vec<&Message> = i
        .messages
        .iter()
        .filter(|m| m.sender_kind == SenderKind::Child)
        .collect();
    let agent: Vec<&Message> = i
        .messages
        .iter()
        .filter(|m| m.sender_kind == SenderKind::Agent)
        .collect();
    let answered: BTreeSet<i64> = agent.iter().filter_map(|m| m.reply_to).collect();
    let addressed: Vec<i64> = children
        .iter()
        .filter(|m| addresses(&m.text, i.agent_name))
        .map(|m| m.seq)
        .collect();
    let mut ttfts: Vec<f64> = i
        .events
        .iter()
        .filter(|e| e.message_seq.is_some())
        .filter_map(|e| e.ttft_ms.map(|v| v as f64))
        .collect();
    ttfts.sort_by(f64::total_cmp);
    let mut answer_ttfts: Vec<f64> = i
        .events
        .iter()
        .filter(|e| e.message_seq.is_some() && e.decision == LogDecision::Spoke(Intent::Answer))
        .filter_map(|e| e.ttft_ms.map(|v| v as f64))
        .collect();
    answer_ttfts.sort_by(f64::total_cmp);
    let mut counts: BTreeMap<i64, usize> = i.child_ids.iter().map(|id| (*id, 0)).collect();
    for m in &children {
        if let Some(id) = m.sender_id {
            *counts.entry(id).or_default() += 1;
        }
    }
    let mut decisions = BTreeMap::new();
    for e in i.events {
        *decisions
            .entry(format!("{}:{}", e.trigger, e.decision))
            .or_default() += 1;
    }
    let followed =
        |d: &&DirectiveRecord| d.outcome == "followed" || d.outcome == "followed_after_escalation";
    let invited_spoke: BTreeSet<i64> = i
        .directives
        .iter()
        .filter(|d| d.kind == "invite")
        .filter(followed)
        .filter_map(|d| d.target_id)
        .collect();
    let total = children.len() + agent.len();
    let mut names: Vec<&str> = i.nicknames.values().map(String::as_str).collect();
    names.push(i.agent_name);
    let wrong_language_messages = language_of_code(i.language).map_or(0, |lang| {
        agent
            .iter()
            .filter(|m| surely_not_in(&m.text, lang, &names))
            .count()
    });
    let lower_names: Vec<String> = i.nicknames.values().map(|n| n.to_lowercase()).collect();
    let asker = |seq: i64| {
        children
            .iter()
            .find(|m| m.seq == seq)
            .and_then(|m| m.sender_id)
            .and_then(|id| i.nicknames.get(&id))
    };
    let wrong_child_answers = agent
        .iter()
        .filter_map(|m| Some((m, asker(m.reply_to?)?)))
        .filter(|(m, who)| calls_the_wrong_child(&m.text, &who.to_lowercase(), &lower_names))
        .count();
    let store_failures = i
        .events
        .iter()
        .filter(|e| e.decision == LogDecision::StoreFailed)
        .count();
    Report {
        scenario: i.scenario.to_string(),
        agent_role: i.role,
        elapsed_s: (i.elapsed_s * 10.0).round() / 10.0,
        child_messages: children.len(),
        agent_messages: agent.len(),
        fallback_messages: i
            .events
            .iter()
            .filter(|e| e.message_seq.is_some())
            .filter(|e| {
                e.prompt_version
                    .as_deref()
                    .is_some_and(|v| v.starts_with("fallback-"))
            })
            .count(),
        agent_talk_share: if total == 0 {
            0.0
        } else {
            round3(agent.len() as f64 / total as f64)
        },
        reply_ms_p50: percentile(&ttfts, 0.5),
        reply_ms_p95: percentile(&ttfts, 0.95),
        answer_ms_p50: percentile(&answer_ttfts, 0.5),
        answer_ms_p95: percentile(&answer_ttfts, 0.95),
        addressed_replies: addressed.iter().filter(|s| answered.contains(s)).count(),
        addressed_unanswered: addressed.iter().filter(|s| !answered.contains(s)).count(),
        invitations: i
            .events
            .iter()
            .filter(|e| e.decision == LogDecision::Spoke(Intent::InviteQuiet))
            .count(),
        invited_children_who_then_spoke: invited_spoke.len(),
        directives: i.directives.len(),
        directives_followed: i.directives.iter().filter(followed).count(),
        escalations: i
            .directives
            .iter()
            .filter(|d| d.escalated_at.is_some())
            .count(),
        flags: i.flags.len(),
        participation_gini_children: round3(gini(
            &counts.values().map(|v| *v as f64).collect::<Vec<_>>(),
        )),
        child_message_counts: counts,
        phases_completed: i.phases_completed,
        phases_in_activity: i.phases_in_activity,
        wrong_language_messages,
        wrong_child_answers,
        errors: i.run_errors + store_failures,
        decisions,
        agent_texts: agent.iter().map(|m| m.text.clone()).collect(),
        generations: Generation::from_log(i.events),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The Gini coefficient of non-negative values (0 = equal).
pub fn gini(values: &[f64]) -> f64 {
    let n = values.len();
    let sum: f64 = values.iter().sum();
    if n < 2 || sum <= 0.0 {
        return 0.0;
    }
    let mut diffs = 0.0;
    for a in values {
        for b in values {
            diffs += (a - b).abs();
        }
    }
    diffs / (2.0 * n as f64 * sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_and_percentiles() {
        assert_eq!(gini(&[3.0, 3.0, 3.0]), 0.0);
        assert!((gini(&[0.0, 0.0, 9.0]) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(gini(&[]), 0.0);
        let v = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(percentile(&v, 0.5), Some(20.0));
        assert_eq!(percentile(&v, 0.95), Some(40.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    fn message(seq: i64, sender: Option<i64>, text: &str, reply_to: Option<i64>) -> Message {
        Message {
            id: seq,
            group_id: 1,
            seq,
            client_msg_id: format!("m{seq}"),
            sender_kind: if sender.is_some() {
                SenderKind::Child
            } else {
                SenderKind::Agent
            },
            sender_id: sender,
            text: text.into(),
            phase: None,
            created_at: seq,
            reply_to,
            moderation: crate::store::Moderation::Visible,
            moderated_by: None,
            moderated_at: None,
            original_text: None,
            screen_action: "allow".into(),
            screen_category: None,
            screen_reason: None,
        }
    }

    fn report_of(language: &str, messages: &[Message]) -> Report {
        let nicknames: BTreeMap<i64, String> = [(1, "Mia".to_string()), (2, "Leo".to_string())]
            .into_iter()
            .collect();
        build(&Inputs {
            scenario: "t",
            role: AgentRole::Participant,
            agent_name: "Blue",
            messages,
            events: &[],
            directives: &[],
            flags: &[],
            child_ids: &[1, 2],
            phases_completed: 0,
            phases_in_activity: 5,
            language,
            nicknames: &nicknames,
            run_errors: 2,
            elapsed_s: 1.0,
        })
    }

    #[test]
    fn answers_to_the_wrong_child_and_in_the_wrong_language_are_counted() {
        let messages = [
            message(1, Some(2), "Blue do you like slides?", None),
            // Leo asked; the answer calls Mia.
            message(
                2,
                None,
                "Mia, I like slides that are wide and low.",
                Some(1),
            ),
            message(3, Some(1), "@Blue can robots play too?", None),
            // Mia asked and is answered.
            message(4, None, "Mia, yes: a robot could push the swings.", Some(3)),
            // Not an answer: naming anyone is fine.
            message(5, None, "Leo, what would you add to the slide?", None),
            message(
                6,
                None,
                "Hola a todos, me gusta mucho la idea del columpio grande.",
                None,
            ),
        ];
        let r = report_of("en", &messages);
        assert_eq!(r.wrong_child_answers, 1);
        assert_eq!(r.wrong_language_messages, 1);
        assert_eq!((r.errors, r.phases_in_activity), (2, 5));
        // In a Spanish session the Spanish line is right and a long English one is wrong
        // (short ones are not judged: the identifier is unsure of them).
        let spanish = [
            message(
                1,
                None,
                "Hola a todos, me gusta mucho la idea del columpio grande.",
                None,
            ),
            message(
                2,
                None,
                "I think the swings should be wide enough for everyone to sit on together.",
                None,
            ),
        ];
        assert_eq!(report_of("es", &spanish).wrong_language_messages, 1);
        // A language the identifier does not know is not judged.
        assert_eq!(report_of("xx", &messages).wrong_language_messages, 0);
    }
}
